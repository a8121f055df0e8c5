/* The sequence index: a B-tree of run-length spans keyed by lengths.
 *
 * Ownership: every struct below lives inside one `SeqArena` (src/loro_c/seq/btree.pxi), which the
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

/* Style summaries (seq/anchors.pxi). A node of a tree holding style anchors lists the visible
 * start anchors in its subtree whose end anchor lies outside it (to its right): the marks that
 * leave the subtree open. The marks open at a gap are among those listed by the subtrees left
 * of it, so a search for them skips every subtree whose marks all close inside it. A list
 * longer than LC_STYLE_SLOTS is not kept (OVERFLOW: search inside). DIRTY: the list is stale;
 * any change under a node makes it and its ancestors dirty, so a clean node has a clean
 * subtree. Nodes are allocated dirty. The flags live in the node; the lists in a side array of
 * the arena indexed like the nodes, grown only once a text holds anchors, so that plain texts
 * and lists pay nothing for them. */
#define LC_STYLE_SLOTS 12
#define LC_STYLE_DIRTY 1
#define LC_STYLE_OVERFLOW 2

typedef struct {
    uint32_t n;                         /* entries of open */
    lc_id open[LC_STYLE_SLOTS];
} lc_style_summary;

/* Rich-text style anchors are text atoms of their own (one per mark op, never merged, never
 * deleted) whose `content` is one of these values instead of a code point offset. They take
 * an entity position but no UTF-8/UTF-16/Unicode length. The values keep `content + len`
 * contiguity (the merge rule) from ever joining an anchor with a neighbour. */
#define LC_ANCHOR_START 0xFFFFFFFFu
#define LC_ANCHOR_END 0xFFFFFFFDu
#define LC_ANCHOR_MIN 0xFFFFFFFDu
#define lc_span_is_anchor(s) ((s)->content >= LC_ANCHOR_MIN)

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
 * all atoms (tombstones and future atoms included), and the visible style anchors among the
 * visible atoms (text: code points = visible - anchors; zero in plain text and lists).
 * anchor_balance is visible start anchors less visible end anchors: summed over the entities
 * before a gap it counts the marks open across that gap, so a search for them knows when it
 * has found them all. */
typedef struct {
    int64_t visible;
    int64_t utf8;
    int64_t utf16;
    int64_t total;
    int64_t anchors;
    int64_t anchor_balance;
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
    uint8_t style_flags;   /* LC_STYLE_DIRTY, LC_STYLE_OVERFLOW (trees with style anchors only) */
    lc_lens lens;
    lc_node_union u;
} lc_node;

/* Tracker record: what atoms [counter, counter+len) of one peer did to a sequence.
 * An insert created the atoms themselves; a delete removed `target` atoms, either in the same
 * order (atom counter+i removes target.counter+i) or reversed (removes target.counter+len-1-i). */
enum { LC_REC_INSERT = 1, LC_REC_DELETE = 2, LC_REC_DELETE_REV = 3 };
/* A MovableList move: its one atom inserted itself (a new list item) and deleted `target`
 * (the element's previous item); never merged with other records (seq/move.pxi). */
enum { LC_REC_MOVE = 4 };

typedef struct {
    int32_t counter;
    int32_t len;
    lc_id target;
    uint32_t kind;
} lc_record;

/* One peer's atom index and tracker records.
 *
 * The spans of one peer partition its sequence atoms into counter ranges, so the span that
 * holds atom c is the one with the greatest first atom <= c. The index keeps a bit per atom
 * (set at the first atom of each span), a summary bit per 64-bit word of those bits (set
 * when the word is not zero) and, at each span's first atom, the span's leaf. A leaf split
 * then rewrites one slot per moved span instead of one per atom, and a lookup costs two
 * word scans plus one summary word per 4,096 atoms of the span it lands in. */
typedef struct {
    uint32_t *leaf;        /* at a span's first atom: the span's leaf; elsewhere unused */
    int64_t leaf_len, leaf_cap;   /* atoms covered (every atom below leaf_len has a bit) */
    uint64_t *starts;      /* bit c % 64 of word c / 64: atom c starts a span */
    int64_t starts_cap;    /* words */
    uint64_t *summary;     /* bit w % 64 of word w / 64: starts[w] != 0 */
    int64_t summary_cap;   /* words */
    lc_record *recs;       /* sorted by counter, non-overlapping */
    int64_t rec_len, rec_cap;
} lc_peer_index;

/* Ask for the cache line holding p ahead of a read (a hint: nothing where the compiler has
 * none). The one prefetch of the project: walks over cold spans, elements and objects. */
#if defined(__GNUC__) || defined(__clang__)
#define lc_prefetch(p) __builtin_prefetch((const void *)(p))
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <xmmintrin.h>
#define lc_prefetch(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#else
#define lc_prefetch(p) ((void)(p))
#endif

static inline int lc_msb64(uint64_t x) {  /* x != 0 */
#if defined(__GNUC__) || defined(__clang__)
    return 63 - __builtin_clzll(x);
#else
    int r = 0;
    while (x >>= 1) r++;
    return r;
#endif
}

static inline int lc_popcount64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_popcountll(x);
#else
    int r = 0;
    for (; x; x &= x - 1) r++;
    return r;
#endif
}

/* The greatest span start <= c, or -1. The caller checks 0 <= c < leaf_len. */
static inline int64_t lc_prev_start(const lc_peer_index *pi, int64_t c) {
    int64_t w = c >> 6, sw = w >> 6;
    uint64_t m = pi->starts[w] & (~0ULL >> (63 - (c & 63)));
    if (m) return (w << 6) + lc_msb64(m);
    m = pi->summary[sw] & ((1ULL << (w & 63)) - 1);
    while (!m) {
        if (sw == 0) return -1;
        m = pi->summary[--sw];
    }
    w = (sw << 6) + lc_msb64(m);
    return (w << 6) + lc_msb64(pi->starts[w]);
}

/* Atom c (below leaf_len) starts a span of leaf `leaf`. */
static inline void lc_set_start(lc_peer_index *pi, int64_t c, uint32_t leaf) {
    int64_t w = c >> 6;
    pi->starts[w] |= 1ULL << (c & 63);
    pi->summary[w >> 6] |= 1ULL << (w & 63);
    pi->leaf[c] = leaf;
}

/* Atom c (below leaf_len) no longer starts a span. */
static inline void lc_clear_start(lc_peer_index *pi, int64_t c) {
    int64_t w = c >> 6;
    pi->starts[w] &= ~(1ULL << (c & 63));
    if (!pi->starts[w]) pi->summary[w >> 6] &= ~(1ULL << (w & 63));
    pi->leaf[c] = LC_NO_NODE;
}

/* The least span start >= c, or -1 (none below leaf_len). */
static inline int64_t lc_next_start(const lc_peer_index *pi, int64_t c) {
    int64_t w, words = (pi->leaf_len + 63) >> 6;
    uint64_t m;
    if (c >= pi->leaf_len) return -1;
    w = c >> 6;
    m = pi->starts[w] & (~0ULL << (c & 63));
    while (!m) {
        if (++w >= words) return -1;
        m = pi->starts[w];
    }
#if defined(__GNUC__) || defined(__clang__)
    return (w << 6) + __builtin_ctzll(m);
#else
    {
        int r = 0;
        while (!(m & 1)) { m >>= 1; r++; }
        return (w << 6) + r;
    }
#endif
}

static inline int lc_is_start(const lc_peer_index *pi, int64_t c) {
    return (int)((pi->starts[c >> 6] >> (c & 63)) & 1);
}

#endif
