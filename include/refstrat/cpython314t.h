/* cpython314t: CPython 3.14t's reference counting, composed rather than implemented.
 *
 * biased's hooks with every layer on (its registry entry forces RS_F_IMMORTAL, RS_F_DEFERRED and
 * RS_F_SHARDED): immortal literals and singletons (refstrat/immortal.h), deferred functions, code
 * and module dicts (refstrat/deferred.h), per-thread counts for code and the globals and builtins
 * dicts (refstrat/sharded.h), biased counting for everything else (refstrat/biased.h). The same
 * composition is `biased+immortal+deferred+sharded` in the bench, or run("biased", immortal=True,
 * deferred=True, sharded=True); this entry is its registered name.
 * Sources: PEP 703, PEP 683, PEP 779; CPython 3.14 InternalDocs/free_threading.md.
 */
#ifndef REFSTRAT_CPYTHON314T_H
#define REFSTRAT_CPYTHON314T_H

#include "refstrat/biased.h"

#define rs_cpython314t_incref rs_biased_incref
#define rs_cpython314t_decref rs_biased_decref
#define rs_cpython314t_init rs_biased_init
#define rs_cpython314t_fini rs_biased_fini
#define rs_cpython314t_obj_init rs_biased_obj_init
#define rs_cpython314t_safepoint rs_biased_safepoint
#define rs_cpython314t_wait rs_biased_wait
#define rs_cpython314t_enter rs_biased_enter
#define rs_cpython314t_leave rs_biased_leave
#define rs_cpython314t_start rs_biased_start
#define rs_cpython314t_quiesce rs_biased_quiesce
#define rs_cpython314t_flush rs_biased_flush
#define rs_cpython314t_count rs_biased_count

#endif
