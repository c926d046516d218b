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
 * The loader refuses a plugin whose ABI version or struct sizes differ from the running core's.
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

#define RS_PLUGIN_SYMBOL "rs_plugin_entry"

#define RS_DEFINE_PLUGIN(LIST)                                                                     \
    RS_DEFINE_STRATEGY_TABLE(LIST, rs_plugin_table_)                                               \
    __attribute__((visibility("default"))) const rs_plugin rs_plugin_entry = {                     \
        RS_ABI_VERSION, sizeof(rs_obj), sizeof(rs_thread), sizeof(rs_run), sizeof(rs_strategy),    \
        sizeof(rs_params), sizeof(rs_plugin_table_) / sizeof(rs_plugin_table_[0]),                 \
        rs_plugin_table_};

#endif
