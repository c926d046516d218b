/* broken_buffered_offline_first: a buffered worker that goes offline before its last submit.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: handshake steps reordered (a flag published before
 * the data it stands for). A leaving worker marks itself offline and then submits its last
 * partial batch. A round whose handshake runs in between skips the worker (offline workers have
 * "submitted everything already") and collects without that batch, so its increments are applied
 * a round late, after decrements collected earlier: a count reaches zero while a reference logged
 * in the late batch is alive, and the object is freed early. Single-threaded every batch is still
 * applied, increments a round before decrements, and counts are exact.
 * Exposed by: one worker's leave split by a whole commit round, with its last batch holding an
 * increment of an object another worker drops, e.g.
 *   T0: new(x) inc(x) send(x->T1)    T1: recv(x) dec(x) inc(0) dec(0) inc(0) dec(0)   (shared=1)
 * with T0's leave split by the round that collects T1's dec and the next one that applies it.
 */
#ifndef RS_BROKEN_BUFFERED_OFFLINE_FIRST_H
#define RS_BROKEN_BUFFERED_OFFLINE_FIRST_H

#include "refstrat/buffered.h"
#include "refstrat/pr.h"

static inline void rs_broken_buffered_offline_first_leave(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_pr_store_release(&b->online, 0); /* the bug: before the submission, not after */
    rs_buf_submit(t);
}

#define rs_broken_buffered_offline_first_init rs_buffered_init
#define rs_broken_buffered_offline_first_fini rs_buffered_fini
#define rs_broken_buffered_offline_first_obj_init rs_buffered_obj_init
#define rs_broken_buffered_offline_first_incref rs_buffered_incref
#define rs_broken_buffered_offline_first_decref rs_buffered_decref
#define rs_broken_buffered_offline_first_safepoint rs_buffered_safepoint
#define rs_broken_buffered_offline_first_wait rs_buffered_wait
#define rs_broken_buffered_offline_first_flush rs_buffered_flush
#define rs_broken_buffered_offline_first_enter rs_buffered_enter
#define rs_broken_buffered_offline_first_start rs_buffered_start
#define rs_broken_buffered_offline_first_quiesce rs_buffered_quiesce
#define rs_broken_buffered_offline_first_count rs_buffered_count

#endif
