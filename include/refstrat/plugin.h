/* refstrat/plugin.h: strategies compiled outside the package (the test suite's broken variants,
 * or a user's own scheme) and loaded at run time with refstrat._core.load_plugin(path).
 *
 * A plugin is a shared library built against these same headers:
 *
 *     #include "refstrat/plugin.h"
 *     #include "my_scheme.h"                    // rs_my_scheme_<hook> for every hook
 *     #define MY_LIST(RS_X) RS_X(my_scheme, 1, 0, "summary", "reference")
 *     RS_DEFINE_PLUGIN(MY_LIST)
 *
 * Compile it with -I"$(python -c 'import refstrat; print(refstrat.get_include())')": the headers of
 * the installed refstrat, the ones its core was built from. The loader refuses a plugin whose ABI
 * version or struct sizes differ from the running core's.
 *
 * Check flavour (refstrat.testing.check(..., schedule=...)): compile the same source a second
 * time with -DRS_CHECK_BUILD into another object and link both into the one library; that object
 * defines rs_plugin_check_entry, the loader registers it beside the normal table, and every
 * rs_pr_* primitive of it becomes a scheduling point. refstrat.testing.build_plugin(sources,
 * output) does both compiles. A plugin without the second object runs normally but check()
 * with a schedule refuses it.
 */
#ifndef REFSTRAT_PLUGIN_H
#define REFSTRAT_PLUGIN_H

#include "refstrat/registry.h"

typedef struct rs_plugin {
    uint32_t abi;
    uint32_t sizeof_obj, sizeof_thread, sizeof_run, sizeof_strategy, sizeof_params;
    uint32_t count;
    const rs_strategy *strategies;
} rs_plugin;

/* The check flavour: the same list compiled with -DRS_CHECK_BUILD; the loader fills *api. */
typedef struct rs_plugin_check {
    rs_plugin plugin;
    uint32_t api_version;
    const struct rs_chk_api **api;
} rs_plugin_check;

#define RS_PLUGIN_SYMBOL "rs_plugin_entry"
#define RS_PLUGIN_CHECK_SYMBOL "rs_plugin_check_entry"

#define RS_PLUGIN_HEADER_(table)                                                                   \
    {RS_ABI_VERSION, sizeof(rs_obj), sizeof(rs_thread), sizeof(rs_run), sizeof(rs_strategy),       \
     sizeof(rs_params), sizeof(table) / sizeof(table[0]), table}

#ifndef RS_CHECK_BUILD
#define RS_DEFINE_PLUGIN(LIST)                                                                     \
    RS_DEFINE_STRATEGY_TABLE(LIST, rs_plugin_table_)                                               \
    __attribute__((visibility("default"))) const rs_plugin rs_plugin_entry =                       \
        RS_PLUGIN_HEADER_(rs_plugin_table_);
#else
#define RS_DEFINE_PLUGIN(LIST)                                                                     \
    const rs_chk_api *rs_chk_api_ptr __attribute__((visibility("hidden")));                       \
    RS_DEFINE_STRATEGY_TABLE(LIST, rs_plugin_check_table_)                                         \
    __attribute__((visibility("default"))) const rs_plugin_check rs_plugin_check_entry = {        \
        RS_PLUGIN_HEADER_(rs_plugin_check_table_), RS_CHK_API_VERSION, &rs_chk_api_ptr};
#endif

#endif
