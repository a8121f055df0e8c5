/* The event journal: while someone subscribes to a document's events, every op a
 * transaction or an import applies leaves a note here (C only, callable without the GIL).
 * At the end of the commit or import, _events.pyx turns the notes into per-container diffs
 * in the document's current coordinates. With nobody subscribed `on` is 0 and the hooks
 * cost one branch. */
#ifndef LORO_C_EVENTS_H
#define LORO_C_EVENTS_H

#include <stdint.h>
#include "arena.h"

enum {
    LC_EV_INSERT = 1,   /* sequence insert: atoms (peer, counter .. counter+len) */
    LC_EV_DELETE = 2,   /* sequence delete op (peer, counter .. counter+len); targets from
                           the tracker records */
    LC_EV_MAP = 3,      /* the winner of map key `key` changed */
    LC_EV_COUNTER = 4,  /* counter delta */
    LC_EV_MARK = 5      /* rich-text mark: its start op (peer, counter); key 1 for a local mark */
};

/* A movable list's local op is noted as LC_EV_COUNTER (the note marks it touched), its key
 * the kind of loro's event hint for it (0 for other notes) */
enum {
    ML_HINT_INSERT = 1,
    ML_HINT_DELETE = 2,
    ML_HINT_MOVE = 3,
    ML_HINT_SET = 4
};

typedef struct {
    uint32_t container;
    uint32_t kind;
    uint32_t peer;      /* peer index */
    int32_t counter;
    int32_t len;
    uint32_t key;       /* map key index */
    double delta;       /* counter delta */
    int64_t old;        /* map: the key's value slot before the write (-1 deleted, -2 absent) */
} lc_ev_note;

typedef struct {
    lc_ev_note *notes;
    int64_t n, cap;
    int on;             /* record notes (someone subscribed to diff events) */
    int hooks;          /* first-commit or pre-commit subscribers exist */
} lc_ev_log;

/* Append a note; returns -1 when memory runs out (the caller raises MemoryError). */
static inline int lc_ev_push(lc_ev_log *l, uint32_t container, uint32_t kind, uint32_t peer,
                             int32_t counter, int32_t len, uint32_t key, double delta,
                             int64_t old) {
    lc_ev_note *e;
    if (l->n == l->cap) {
        void *p = lc_grow(l->notes, &l->cap, l->n + 1, sizeof(lc_ev_note));
        if (!p) return -1;
        l->notes = (lc_ev_note *)p;
    }
    e = &l->notes[l->n++];
    e->container = container;
    e->kind = kind;
    e->peer = peer;
    e->counter = counter;
    e->len = len;
    e->key = key;
    e->delta = delta;
    e->old = old;
    return 0;
}

#endif
