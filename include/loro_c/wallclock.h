/* The wall clock in milliseconds since the Unix epoch, read without a Python call: the
 * presence store stamps and checks every message with it (what time.time_ns() // 10**6
 * gives, from the same system clock). */
#ifndef LORO_C_WALLCLOCK_H
#define LORO_C_WALLCLOCK_H

#include <stdint.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN     /* (no rpcndr.h macros such as `small` in the module) */
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
static inline int64_t lc_wall_ms(void) {
    FILETIME ft;
    uint64_t t;
    GetSystemTimePreciseAsFileTime(&ft);
    /* 100 ns ticks since 1601-01-01; the epochs are 11,644,473,600 s apart */
    t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return (int64_t)((t - 116444736000000000ULL) / 10000);
}
#else
#include <time.h>
static inline int64_t lc_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#endif

#endif
