/* src/internal.h: declarations shared between the core's units and no one else (the public entry
 * points are in include/refstrat/core.h). Who calls whom, with no circle:
 *     plugins.c  -> registry.c, check_table.c, check.c (the check API handed to a plugin)
 *     step.c     -> runner.c, registry.c
 *     runner.c   -> registry.c, explain.c
 *     check.c    -> runner.c, check_races.c, check_c11.c
 *     check_table.c -> check.c (its kernels' primitives call through rs_chk_api_ptr)
 * tests/test_c_units.py derives this graph from the objects and fails on a circle. */
#ifndef REFSTRAT_SRC_INTERNAL_H
#define REFSTRAT_SRC_INTERNAL_H

#include "refstrat/core.h"

/* src/registry.c: whether s is one of the two limit rows (their kernels keep the slots they take
 * to themselves, so the runner's final checks skip the pools). */
int rs_limit_row_is(const rs_strategy *s);
/* src/registry.c: rs_layers_quiesce(r), the layers' last collection (see there why it lives
 * beside the kernels). */
void rs_layers_quiesce_run(rs_run *r);

/* src/runner.c: a run with its arena and threads, for rs_run_create() and rs_step_create(); NULL
 * with *code and err set when memory is short (the arena is refused up front when it would not
 * fit in 3/4 of the machine's memory: RS_ERR_CONFIG). */
rs_run *rs_run_alloc(const rs_strategy *s, const rs_params *p, uint64_t capacity, uint32_t nsetup,
                     int *code, char *err, size_t errlen);

#endif
