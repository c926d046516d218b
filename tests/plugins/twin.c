/* A test plugin (tests/test_defence.py): the atomic scheme registered as `plugin_twin`. The test
 * builds it twice under two file names, so that the second library's strategy clashes with the
 * first one's, and loads the first library twice, which must register nothing new. */
#include "refstrat/plugin.h"

#define RS_TWIN(RS_X) RS_X(plugin_twin, 1, 0, "TEST: atomic under another name", "tests")
#define rs_plugin_twin_init rs_atomic_init
#define rs_plugin_twin_fini rs_atomic_fini
#define rs_plugin_twin_obj_init rs_atomic_obj_init
#define rs_plugin_twin_enter rs_atomic_enter
#define rs_plugin_twin_leave rs_atomic_leave
#define rs_plugin_twin_start rs_atomic_start
#define rs_plugin_twin_quiesce rs_atomic_quiesce
#define rs_plugin_twin_flush rs_atomic_flush
#define rs_plugin_twin_count rs_atomic_count
#define rs_plugin_twin_incref rs_atomic_incref
#define rs_plugin_twin_decref rs_atomic_decref
#define rs_plugin_twin_safepoint rs_atomic_safepoint
#define rs_plugin_twin_wait rs_atomic_wait

RS_DEFINE_PLUGIN(RS_TWIN)
