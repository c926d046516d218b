/* The test suite's deliberately broken strategies, built as one refstrat plugin.
 *
 * Compiled by tests/test_fuzz_broken.py against the package's own headers and loaded with
 * refstrat._core.load_plugin(); never part of the package, never listed by refstrat.strategies().
 * Each header says what is wrong and which program catches it. The fuzz tests assert that the
 * default test run catches every one (BROKEN_VARIANTS in the test file must match this list).
 */
#include "refstrat/plugin.h"
#include "atomic_split.h"
#include "immortal_decrefs.h"
#include "biased_nonowner_local.h"
#include "biased_no_queue.h"
#include "coalesced_no_epoch.h"
#include "buffered_dec_first.h"

#define RS_BROKEN(RS_X)                                                                            \
    RS_X(broken_atomic_split, 1, 0, "BROKEN: atomic as separate load, add and store", "tests")   \
    RS_X(broken_immortal_decrefs, 1, 2, "BROKEN: immortal that still decrements", "tests")        \
    RS_X(broken_biased_nonowner_local, 1, 0, "BROKEN: biased, non-owners write the local count", "tests") \
    RS_X(broken_biased_no_queue, 1, 0, "BROKEN: biased without the merge queue", "tests")         \
    RS_X(broken_coalesced_no_epoch, 1, 0, "BROKEN: coalesced freeing when the global count reads zero", "tests") \
    RS_X(broken_buffered_dec_first, 1, 0, "BROKEN: buffered applying decrements before increments", "tests")

RS_DEFINE_PLUGIN(RS_BROKEN)
