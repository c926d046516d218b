/* The test suite's deliberately broken lock schemes, built as one refstrat plugin (beside
 * broken.c's count schemes, which need none of this).
 *
 * Compiled by tests/test_locks_broken.py against the package's own headers; never part of the
 * package. The plugin's lock schemes come after the built-in ones (RS_EXTRA_LOCKS, refstrat/locks.h)
 * and are choices for this plugin's one strategy, `lockhost`: atomic counts, nothing else. Each
 * header says what is wrong, its bug class and which program catches it; catalog.py's
 * LOCK_CATALOG holds the same as data.
 */
#define RS_EXTRA_LOCKS(L)                                                                          \
    L(broken_mutex_unlock_early, 1, "BROKEN: mutex dropped as soon as it is taken", "tests")      \
    L(broken_pymutex_cas_split, 1, "BROKEN: pymutex taken with a load and a store", "tests")      \
    L(broken_pymutex_lost_wakeup, 1, "BROKEN: pymutex release reading the parking lot unlocked", "tests") \
    L(broken_private_keeps_fast_path, 1, "BROKEN: private owner keeping its private path after promotion", "tests") \
    L(broken_private_promote_ignores_held, 1, "BROKEN: private promotion writing the byte free while held", "tests") \
    L(broken_private_no_handshake, 1, "BROKEN: private promoted by the foreigner without the owner", "tests")

#include "lock_mutex_unlock_early.h"
#include "lock_pymutex_cas_split.h"
#include "lock_pymutex_lost_wakeup.h"
#include "lock_private_keeps_fast_path.h"
#include "lock_private_promote_ignores_held.h"
#include "lock_private_no_handshake.h"


#include "refstrat/plugin.h"
#include "refstrat/atomic.h"

#define rs_lockhost_incref rs_atomic_incref
#define rs_lockhost_decref rs_atomic_decref
#define rs_lockhost_init rs_atomic_init
#define rs_lockhost_fini rs_atomic_fini
#define rs_lockhost_obj_init rs_atomic_obj_init
#define rs_lockhost_safepoint rs_atomic_safepoint
#define rs_lockhost_wait rs_atomic_wait
#define rs_lockhost_enter rs_atomic_enter
#define rs_lockhost_leave rs_atomic_leave
#define rs_lockhost_start rs_atomic_start
#define rs_lockhost_quiesce rs_atomic_quiesce
#define rs_lockhost_flush rs_atomic_flush
#define rs_lockhost_count rs_atomic_count

#define RS_LOCK_HOSTS(RS_X)                                                                        \
    RS_X(lockhost, 1, 0, "atomic counts, hosting the broken lock schemes", "tests")

RS_DEFINE_PLUGIN(RS_LOCK_HOSTS)
