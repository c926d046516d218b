/* refstrat/common.h: compiler helpers shared by every header.
 *
 * Memory orders are spelled out at every atomic (GCC/Clang __atomic builtins) so that each header can
 * say what pairs with what; nothing here hides a fence.
 */
#ifndef REFSTRAT_COMMON_H
#define REFSTRAT_COMMON_H

#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <sched.h>

#define RS_CACHELINE 64
#define RS_ALIGNED __attribute__((aligned(RS_CACHELINE)))
#define RS_LIKELY(x) __builtin_expect(!!(x), 1)
#define RS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RS_INLINE static inline __attribute__((always_inline))
#define RS_NOINLINE __attribute__((noinline))
#define RS_UNUSED __attribute__((unused))

#define RS_NIL UINT32_MAX /* "no object" in index-linked lists */

/* No instruction: the compiler may not carry a value of memory across it, nor delete it (rs_spin's
 * work, rs_cpu_relax's fallback). rs_burst puts one between its increments and its decrements.
 * Without it GCC keeps the last increment's result in a register for the first decrement (the same
 * object), and pays for that with a load, add and store per increment and a second induction
 * variable in the decrement loop: 17.7 instructions per operation against the limit kernel's 14.1
 * on private (callgrind; 14.3 with it). The limit's loop compiles to the short form without one,
 * and one there costs it 1-4 % (session 13's bench/session13-before-after.txt). */
#define RS_COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")

/* Cache-line-aligned allocation (C11 aligned_alloc wants a size that is a multiple of it). */
static inline void *rs_aligned_alloc(size_t size)
{
    return aligned_alloc(RS_CACHELINE, (size + RS_CACHELINE - 1) / RS_CACHELINE * RS_CACHELINE);
}

RS_INLINE void rs_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    RS_COMPILER_BARRIER();
#endif
}

RS_INLINE double rs_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
RS_INLINE double rs_now(void) { return rs_clock(CLOCK_MONOTONIC); }
RS_INLINE double rs_thread_cpu(void) { return rs_clock(CLOCK_THREAD_CPUTIME_ID); }

/* xorshift64*: a few cycles per number, enough for choosing objects and pauses. */
RS_INLINE uint64_t rs_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform integer in [0, n) from the high 32 bits of r (Lemire's multiply-shift, no division). */
RS_INLINE uint32_t rs_below(uint64_t r, uint32_t n)
{
    return (uint32_t)(((r >> 32) * (uint64_t)n) >> 32);
}

/* Work the compiler may not delete: stands for the interpreter's non-refcount work in the fib model. */
RS_INLINE void rs_spin(uint32_t iterations)
{
    for (uint32_t i = 0; i < iterations; i++)
        RS_COMPILER_BARRIER();
}

#endif
