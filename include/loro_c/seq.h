/* The sequence index: a B-tree of run-length spans keyed by lengths.
 *
 * Ownership: every struct below lives inside one `SeqArena` (src/loro_c/_seq.pyx), which the
 * document owns.  Nodes are addressed by index into the arena's node array (the array may move
 * when it grows, so no code keeps an lc_node* across an allocation).  All memory is released in
 * SeqArena.__dealloc__ and nowhere else.
 */
#ifndef LORO_C_SEQ_H
#define LORO_C_SEQ_H

#include <stdint.h>

/* A peer index of this value means "no id": the start (origin left) or end (origin right). */
#define LC_NO_PEER 0xFFFFFFFFu
/* A node index of this value means "no node". */
#define LC_NO_NODE 0xFFFFFFFFu
/* Fan-out: spans per leaf and children per internal node. */
#define LC_BT_MAX 32

/* An op id with the peer replaced by its document-local peer index. */
typedef struct {
    uint32_t peer;
    int32_t counter;
} lc_id;

/* A run of atoms inserted by one op, with consecutive ids and one tracker status. */
typedef struct {
    lc_id id;              /* id of the first atom */
    lc_id origin_left;     /* Fugue origin left of the first atom; later atoms have their predecessor */
    lc_id origin_right;    /* Fugue origin right, shared by every atom of the run */
    int32_t len;           /* atoms */
    uint32_t content;      /* offset of the first atom's content (text code points / list values) */
    int32_t utf8_len;      /* UTF-8 bytes of the whole run (text only) */
    int32_t utf16_len;     /* UTF-16 units of the whole run (text only) */
    int16_t deleted;       /* deletes of these atoms that the tracker version includes */
    uint8_t future;        /* 1 when the tracker version does not include the insert */
    uint8_t _pad;
} lc_span;

/* Lengths cached per node: atoms visible at the tracker version, their UTF-8 and UTF-16 sizes,
 * and all atoms (tombstones and future atoms included). */
typedef struct {
    int64_t visible;
    int64_t utf8;
    int64_t utf16;
    int64_t total;
} lc_lens;

typedef union {
    uint32_t children[LC_BT_MAX];
    lc_span spans[LC_BT_MAX];
} lc_node_union;

typedef struct {
    uint32_t tree;         /* the sequence container (tree index) this node belongs to */
    uint32_t parent;       /* LC_NO_NODE for a root */
    uint32_t prev_leaf;    /* leaves only: neighbours in document order */
    uint32_t next_leaf;
    uint16_t n;            /* spans (leaf) or children (internal) */
    uint8_t is_leaf;
    uint8_t _pad;
    lc_lens lens;
    lc_node_union u;
} lc_node;

/* Tracker record: what atoms [counter, counter+len) of one peer did to a sequence.
 * An insert created the atoms themselves; a delete removed `target` atoms, either in the same
 * order (atom counter+i removes target.counter+i) or reversed (removes target.counter+len-1-i). */
enum { LC_REC_INSERT = 1, LC_REC_DELETE = 2, LC_REC_DELETE_REV = 3 };

typedef struct {
    int32_t counter;
    int32_t len;
    lc_id target;
    uint32_t kind;
} lc_record;

/* A growable array of one peer's values (leaf of each atom, or tracker records). */
typedef struct {
    uint32_t *leaf;        /* leaf node of atom `counter` of this peer, or LC_NO_NODE */
    int64_t leaf_len, leaf_cap;
    lc_record *recs;       /* sorted by counter, non-overlapping */
    int64_t rec_len, rec_cap;
} lc_peer_index;

#endif
