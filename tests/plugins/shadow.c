/* A test plugin (tests/test_defence.py) that names its strategy like a built-in, `atomic`: the
 * loader must refuse it rather than let one of the two silently shadow the other. */
#include "refstrat/plugin.h"

#define RS_SHADOW(RS_X) RS_X(atomic, 1, 0, "TEST: a plugin named like a built-in", "tests")

RS_DEFINE_PLUGIN(RS_SHADOW)
