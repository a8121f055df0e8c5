/* The document lock's fast path: a counter changed with one atomic instruction (a
 * "benaphore"). 0 = free, 1 = held, n > 1 = held with n - 1 threads waiting or about to
 * wait on the document's semaphore, which the releasing thread posts once per waiter.
 * Uncontended acquire + release cost two atomic ops and no system call; the waiting path
 * is in _doc.pxd (it blocks with the GIL released). */
#ifndef LORO_C_LOCK_H
#define LORO_C_LOCK_H

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
/* returns 1 when the lock was free (now held by the caller) */
static inline int lc_lock_enter(volatile long *count) { return _InterlockedIncrement(count) == 1; }
/* returns 1 when a thread is waiting and must be woken */
static inline int lc_lock_leave(volatile long *count) { return _InterlockedDecrement(count) > 0; }
#else
static inline int lc_lock_enter(volatile long *count) {
    return __atomic_add_fetch(count, 1, __ATOMIC_ACQUIRE) == 1;
}
static inline int lc_lock_leave(volatile long *count) {
    return __atomic_sub_fetch(count, 1, __ATOMIC_RELEASE) > 0;
}
#endif

#endif
