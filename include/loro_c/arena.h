/* Growable arrays: the one growth rule every arena of loro_c uses. */
#ifndef LORO_C_ARENA_H
#define LORO_C_ARENA_H

#include <stdint.h>
#include <stdlib.h>

/* Grow `ptr` (an array of `*cap` items of `item` bytes) to hold at least `need` items, by
 * doubling from 16. Returns the new array and updates `*cap`, or returns NULL (leaving `ptr`
 * and `*cap` untouched) when memory runs out or the size would overflow. */
static inline void *lc_grow(void *ptr, int64_t *cap, int64_t need, size_t item) {
    int64_t c = *cap > 0 ? *cap : 16;
    void *p;
    if (need < 0 || (uint64_t)need > (uint64_t)(SIZE_MAX / 2) / item) return NULL;
    while (c < need) c *= 2;
    p = realloc(ptr, (size_t)c * item);
    if (p) *cap = c;
    return p;
}

#endif
