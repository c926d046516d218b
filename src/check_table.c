/* The check flavour's built-in table: every built-in scheme and its checked trace kernel compiled
 * once more with RS_CHECK_BUILD, so that each rs_pr_* primitive calls into the deterministic
 * scheduler (src/check.c) through rs_chk_api_ptr. Called by the plugin loader's lookup
 * (src/plugins.c: rs_find_check_strategy); its kernels reach src/check.c through rs_chk_api_ptr,
 * which calls nothing here. */
#define _GNU_SOURCE
#define RS_CHECK_BUILD 1 /* also keeps only the checked trace kernels (refstrat/registry.h) */
#include <string.h>

#include "refstrat/core.h"
#include "refstrat/registry.h"
#include "check_internal.h"

RS_DEFINE_STRATEGY_TABLE(RS_STRATEGIES, rs_check_builtins)

const rs_strategy *rs_check_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof rs_check_builtins / sizeof rs_check_builtins[0]; i++)
        if (!strcmp(rs_check_builtins[i].name, name))
            return &rs_check_builtins[i];
    return NULL;
}
