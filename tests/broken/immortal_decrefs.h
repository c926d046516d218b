/* broken_immortal_decrefs: `immortal` whose decref forgets the immortality check.
 *
 * BROKEN ON PURPOSE (tests only). Registered without the kernel's immortality layer: the scheme
 * checks the header's immortal flag itself, in its incref only, so an immortal object loses a
 * count for every inc/dec pair and is freed: an "untouched" singleton gets touched. Caught even
 * on one thread (the final count of an immortal object differs from 1 + its holders, or it is
 * freed).
 */
#ifndef RS_BROKEN_IMMORTAL_DECREFS_H
#define RS_BROKEN_IMMORTAL_DECREFS_H

#include "refstrat/immortal.h"

RS_INLINE void rs_broken_immortal_decrefs_incref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_load_plain(&o->flags) & RS_F_IMMORTAL)
        return;
    rs_immortal_incref(t, o);
}

#define rs_broken_immortal_decrefs_decref rs_immortal_decref /* BUG: no flag check */
#define rs_broken_immortal_decrefs_init rs_immortal_init
#define rs_broken_immortal_decrefs_fini rs_immortal_fini
#define rs_broken_immortal_decrefs_obj_init rs_immortal_obj_init
#define rs_broken_immortal_decrefs_safepoint rs_immortal_safepoint
#define rs_broken_immortal_decrefs_wait rs_immortal_wait
#define rs_broken_immortal_decrefs_enter rs_immortal_enter
#define rs_broken_immortal_decrefs_leave rs_immortal_leave
#define rs_broken_immortal_decrefs_start rs_immortal_start
#define rs_broken_immortal_decrefs_quiesce rs_immortal_quiesce
#define rs_broken_immortal_decrefs_flush rs_immortal_flush
#define rs_broken_immortal_decrefs_count rs_immortal_count

#endif
