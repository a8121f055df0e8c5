/* The operation log: peers, changes, ops and causal versions, all in growable arenas.
 *
 * Ownership: every array below belongs to one `OpLog` (src/loro_c/_oplog.pyx), which the
 * document owns; OpLog.__dealloc__ frees them all.  Records refer to each other by index
 * (never by pointer) because arenas move when they grow.  Peers are stored as document-local
 * peer indices (`lc_id.peer`); `OpLog.peer_ids` maps an index back to the 64-bit peer id.
 */
#ifndef LORO_C_OPLOG_H
#define LORO_C_OPLOG_H

#include <stdint.h>
#include "loro_c/seq.h"
#include "loro_c/kinds.h"   /* LC_OP_*: the kinds of lc_op */

typedef struct {
    uint32_t container;     /* container index in the document */
    uint32_t kind;          /* LC_OP_* */
    int32_t counter;        /* counter of the first atom */
    int32_t len;            /* atoms: characters / values inserted, |signed len| deleted, else 1 */
    int64_t pos;            /* sequence: entity position (backward delete: its last position); map: key index */
    int64_t arg;            /* insert: content offset or value slot; delete: signed length; map set: value slot */
    lc_id start_id;         /* delete: id of the leftmost deleted atom; insert: where Loro's
                               arena holds its content (LC_LSTR_MIN_CAP below) */
    double delta;           /* counter: the increment; insert: end of its content in Loro's arena */
} lc_op;

/* Loro folds two inserts into one op only when their content is adjacent in its arena: list
 * values in one vector, text bytes in one buffer of its string arena (an append-only buffer
 * of 32 bytes that moves to a fresh allocation of twice the size when a write does not fit).
 * Whether ops fold decides how big Loro estimates a change, hence where its changes and
 * blocks end (docs/ARCHITECTURE.md, "Change grouping"), so an insert records where Loro
 * would hold its content: `start_id.counter` the start offset and `delta` the end offset
 * (values or bytes, modulo 2**31), `start_id.peer` the text buffer (0 for list values). */
#define LC_LSTR_MIN_CAP 32
/* `start_id.peer` of list inserts: values of a local insert, and of an imported one, which
 * Loro folds by other rules (docs/ARCHITECTURE.md, "Change grouping"; an imported insert
 * whose `start_id.counter` is -1 folds into the op before it). Text buffers are numbered
 * between the two. */
#define LC_VAL_LOCAL 0u
#define LC_VAL_IMPORTED 0xFFFFFFFFu
#define lc_insert_is_text(op) ((op)->start_id.peer != LC_VAL_LOCAL && (op)->start_id.peer != LC_VAL_IMPORTED)

typedef struct {
    uint32_t peer;          /* peer index */
    int32_t counter;        /* first counter */
    int32_t end;            /* exclusive end counter */
    uint32_t lamport;       /* Lamport of the first atom */
    int64_t timestamp;      /* seconds; 0 unless recorded */
    int64_t deps_off;       /* into OpLog.deps */
    int64_t ops_off;        /* into OpLog.ops */
    uint32_t deps_len;
    uint32_t ops_len;
    int32_t msg;            /* index into the message table, -1 for none */
} lc_change;

/* A decoded change waiting to be applied (its ops already sit in the op arena). */
typedef struct {
    uint64_t sort_peer;     /* real peer id, for the causal sort */
    uint32_t peer;          /* peer index */
    int32_t counter;
    int32_t end;
    uint32_t lamport;       /* as sent; only used to order the import */
    int64_t timestamp;
    int64_t deps_off;       /* into LoroDoc.sdeps */
    int64_t ops_off;
    uint32_t deps_len;
    uint32_t ops_len;
    int32_t msg;            /* index into the message table, -1 for none */
    uint32_t flags;         /* LC_STAGED_* */
} lc_staged;

/* lc_staged.flags */
enum {
    LC_STAGED_DEAD = 1,     /* superseded by a longer copy of the same change: never applied */
    LC_STAGED_DONE = 2      /* applied by a later import: a hole until the records are compacted */
};

/* Versions are not stored per change: a change's causal version is the closure of its deps
 * (which imply its own peer's previous op; imports reject a change whose deps do not).
 * OpLog.walk_diff finds what separates two versions by walking the dependency graph from
 * both ends (see docs/ARCHITECTURE.md, "Versions").
 *
 * A step of that walk: the prefix of `peer` up to `counter` belongs to one side (LC_SIDE_*).
 * Steps leave a max-heap by `key` = (index of the change holding the id << 31) + (offset of
 * the id in that change).  The log appends every change after its dependencies, so the key
 * is a topological order: whatever a step reaches has a smaller key than the step. */
enum { LC_SIDE_TARGET = 0, LC_SIDE_TRACKER = 1 };

typedef struct {
    int64_t key;
    int64_t change;         /* index of the change holding (peer, counter) */
    uint32_t peer;
    int32_t counter;
    uint32_t side;          /* LC_SIDE_* */
    uint32_t _pad;
} lc_walk_step;

/* A tracker move found by a walk: the version's end counter of `peer` goes from `old_end`
 * to `new_end` (a retreat when it shrinks, an advance when it grows). */
typedef struct {
    uint32_t peer;
    int32_t old_end;
    int32_t new_end;
} lc_move;

/* Per-peer scratch of one walk; every slot touched is reset before the walk returns. */
typedef struct {
    int32_t cov;            /* the target version holds this peer's counters [0, cov) */
    int32_t low_target;     /* target side: changes from here up were expanded (INT32_MAX: none) */
    int32_t low_tracker;    /* tracker side: the same */
    uint32_t flags;         /* LC_WALK_* */
} lc_walk_peer;

enum { LC_WALK_TOUCHED = 1, LC_WALK_RETREAT = 2 };

/* A change as Loro groups it ("logical change"). The records above (lc_change) are storage:
 * each keeps its ops contiguous in the op arena. Loro merges a change into the same peer's
 * previous change whenever its rule allows, even when other peers' changes were applied in
 * between, so one logical change may cover several records of its peer (consecutive in
 * OpLog.by_peer). Logical changes are what len_changes counts, what get_change returns and
 * what the binary encoder exports. */
typedef struct {
    int32_t counter;        /* first counter */
    int32_t end;            /* exclusive end counter */
    uint32_t lamport;       /* Lamport of the first atom */
    int32_t msg;            /* index into the message table, -1 for none */
    int64_t timestamp;
    int64_t deps_off;       /* into OpLog.gdeps */
    uint32_t deps_len;
    uint32_t _pad;
} lc_group;

/* One peer's logical changes by ascending counter, the estimated size (Loro's
 * estimate_storage_size) of the change block its last change sits in, and the peer's last op
 * as Loro holds it (imported ops stay separate in the op arena, but Loro folds them, and
 * whether the next one folds depends on that folded op). */
typedef struct {
    lc_group *items;
    int64_t len, cap;
    int64_t block_size;
    lc_op last_op;
    int32_t has_last_op;
} lc_group_list;

/* Undo record of one grouping step, so a failed import can put the groups back: the state
 * of the peer's list before the step. `key` is the op-arena offset of the change's ops. */
typedef struct {
    int64_t key;
    int64_t len;            /* the peer's group count before */
    int64_t block_size;
    int64_t n_gdeps;
    int32_t end;            /* end of the peer's last group before (when len > 0) */
    uint32_t peer;
    lc_op last_op;
    int32_t has_last_op;
} lc_group_undo;

/* A slot of the map key table (OpLog.kslots; open addressing, linear probing, at most half
 * full), keyed by the key's UTF-8 bytes. It holds what a lookup compares without reading the
 * key's str object, which in a server's many documents is a cache miss: the hash of the
 * bytes, their first 8 bytes (zero padded), and `meta` = (key index + 1) << 6 | their length
 * (63: more than 8 bytes, then compared through the str). meta 0: an empty slot. */
typedef struct {
    uint64_t head;
    uint32_t hash;
    uint32_t meta;
} lc_key_slot;

#define LC_KEY_MAX ((1u << 26) - 1)     /* key indexes fit meta's 26 high bits */

/* One peer's changes, by ascending counter (indices into OpLog.changes). */
typedef struct {
    int64_t *idx;
    int64_t len, cap;
} lc_change_list;

#endif
