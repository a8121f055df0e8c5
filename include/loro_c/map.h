/* Map state: last writer wins per key, in an open-addressing table per map container.
 *
 * Ownership: the tables live in LoroDoc.maps (one per Map container, indexed by the
 * container's `ctree` slot) and are freed by LoroDoc (dealloc, rebuild, failed import).
 * Keys are document key indices (OpLog.keys); the winning op is kept as (lamport, peer
 * index, value slot), slot -1 meaning the key was deleted. `live` counts the entries with a
 * value so that len(map) needs no scan; every slot change goes through lc_map_set_slot. */
#ifndef LORO_C_MAP_H
#define LORO_C_MAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LC_NO_KEY 0xFFFFFFFFu

typedef struct {
    uint32_t key;          /* LC_NO_KEY: empty slot */
    uint32_t lamport;
    uint32_t peer;         /* peer index of the winning op */
    uint32_t _pad;
    int64_t slot;          /* value slot of the winning op; -1: deleted */
} lc_map_entry;

typedef struct {
    lc_map_entry *entries; /* capacity is a power of two (or 0) */
    uint32_t cap;
    uint32_t n;            /* used entries, tombstoned keys included */
    uint32_t live;         /* entries whose slot is >= 0 */
} lc_map;

static inline uint32_t lc_map_hash(uint32_t key) {
    return key * 2654435761u;
}

/* The entry of `key`, or NULL. */
static inline lc_map_entry *lc_map_find(const lc_map *m, uint32_t key) {
    uint32_t mask, i;
    if (m->cap == 0) return NULL;
    mask = m->cap - 1;
    for (i = lc_map_hash(key) & mask;; i = (i + 1) & mask) {
        if (m->entries[i].key == key) return &m->entries[i];
        if (m->entries[i].key == LC_NO_KEY) return NULL;
    }
}

/* The entry of `key`, inserted empty (lamport 0, peer LC_NO_KEY, slot -1) when missing;
 * NULL when memory runs out. Entries move when the table grows. */
static inline lc_map_entry *lc_map_upsert(lc_map *m, uint32_t key) {
    uint32_t mask, i, j, old_cap;
    lc_map_entry *old, *fresh;
    lc_map_entry *e = lc_map_find(m, key);
    if (e) return e;
    if ((uint64_t)(m->n + 1) * 4 > (uint64_t)m->cap * 3) {
        old = m->entries;
        old_cap = m->cap;
        m->cap = old_cap ? old_cap * 2 : 8;
        fresh = (lc_map_entry *)malloc((size_t)m->cap * sizeof(lc_map_entry));
        if (!fresh) { m->cap = old_cap; return NULL; }
        memset(fresh, 0xFF, (size_t)m->cap * sizeof(lc_map_entry));
        m->entries = fresh;
        mask = m->cap - 1;
        for (j = 0; j < old_cap; j++) {
            if (old[j].key == LC_NO_KEY) continue;
            for (i = lc_map_hash(old[j].key) & mask; m->entries[i].key != LC_NO_KEY; i = (i + 1) & mask) {}
            m->entries[i] = old[j];
        }
        free(old);
    }
    mask = m->cap - 1;
    for (i = lc_map_hash(key) & mask; m->entries[i].key != LC_NO_KEY; i = (i + 1) & mask) {}
    e = &m->entries[i];
    e->key = key;
    e->lamport = 0;
    e->peer = LC_NO_KEY;
    e->slot = -1;
    m->n++;
    return e;
}

/* Set the winning slot of entry `e` of `m`, keeping `live` in step. */
static inline void lc_map_set_slot(lc_map *m, lc_map_entry *e, int64_t slot) {
    m->live += (slot >= 0) - (e->slot >= 0);
    e->slot = slot;
}

/* Entries with a value, counted (the checker compares this with `live`). */
static inline uint32_t lc_map_count_live(const lc_map *m) {
    uint32_t i, k = 0;
    for (i = 0; i < m->cap; i++)
        k += m->entries[i].key != LC_NO_KEY && m->entries[i].slot >= 0;
    return k;
}

/* Remove `key` from `m` (it must be present) by backward-shift deletion, so that probe
 * chains stay unbroken without tombstones. Used to undo a failed import. */
static inline void lc_map_remove(lc_map *m, uint32_t key) {
    uint32_t mask, i, j, home;
    lc_map_entry *e = lc_map_find(m, key);
    if (!e) return;
    mask = m->cap - 1;
    m->live -= e->slot >= 0;
    i = (uint32_t)(e - m->entries);
    for (j = (i + 1) & mask; m->entries[j].key != LC_NO_KEY; j = (j + 1) & mask) {
        home = lc_map_hash(m->entries[j].key) & mask;
        /* entry j may move to the hole at i when its home is not in (i, j] (cyclically) */
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            m->entries[i] = m->entries[j];
            i = j;
        }
    }
    memset(&m->entries[i], 0xFF, sizeof(lc_map_entry));
    m->n--;
}

/* The journal of a failed import's in-place map writes (see _import.undo): a map entry as it
 * was before the import wrote it (`existed` 0: the key was not in the table). Entries are
 * restored newest first. */
typedef struct {
    uint32_t map;
    uint32_t key;
    uint32_t lamport;
    uint32_t peer;
    int64_t slot;
    uint32_t existed;
    uint32_t _pad;
} lc_map_undo;


/* One map write of the log, for moving a map to another version (checkout): the writes of
 * one key are chained newest-gathered first through `prev` (-1 ends the chain); the chain's
 * head is the `slot` of the key's entry in a second table per map (LoroDoc.hheads), whose
 * `lamport` field marks the key as already queued during one checkout. */
typedef struct {
    uint32_t lamport;
    uint32_t peer;         /* peer index */
    int32_t counter;
    uint32_t _pad;
    int64_t slot;          /* value slot, -1: a delete */
    int64_t prev;          /* the key's previous gathered write, -1: none */
} lc_map_write;


static inline void lc_map_free(lc_map *m) {
    free(m->entries);
    m->entries = NULL;
    m->cap = 0;
    m->n = 0;
    m->live = 0;
}

#endif
