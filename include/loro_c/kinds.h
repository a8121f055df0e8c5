/* Container kinds and op kinds: the one place they are numbered and named.
 *
 * Cython code cimports them from src/loro_c/_kinds.pxd (which declares this header); Python
 * code reads them from the compiled loro_c._kinds (KIND_NAMES, KIND_HISTORICAL, OP_KINDS),
 * from which ContainerType (_types.py) and the documents' kind names (_doc._TYPE_NAMES) are
 * built. tests/test_kinds.py checks that every place agrees with this file and with loro.
 */
#ifndef LORO_C_KINDS_H
#define LORO_C_KINDS_H

/* Container kinds: Loro's raw type bytes (ContainerID bytes, change blocks, snapshots). */
enum {
    LC_KIND_MAP = 0,
    LC_KIND_LIST = 1,
    LC_KIND_TEXT = 2,
    LC_KIND_TREE = 3,
    LC_KIND_MOVABLE_LIST = 4,
    LC_KIND_COUNTER = 5,
    LC_N_KINDS = 6
};

/* The name of a kind (ContainerType's str, the type in container id strings), or NULL. */
static inline const char *lc_kind_name(int kind) {
    static const char *const names[LC_N_KINDS] = {
        "Map", "List", "Text", "Tree", "MovableList", "Counter"};
    return kind >= 0 && kind < LC_N_KINDS ? names[kind] : 0;
}

/* A kind's byte in Loro's older ContainerType order (Text, Map, List, MovableList, Tree,
 * Counter), used where Loro serialises a ContainerID with postcard; -1 for no kind. */
static inline int lc_kind_historical(int kind) {
    static const unsigned char hist[LC_N_KINDS] = {1, 2, 0, 4, 3, 5};
    return kind >= 0 && kind < LC_N_KINDS ? hist[kind] : -1;
}

/* Op kinds: lc_op.kind (oplog.h) and the first field of the codec's change tuples. */
enum {
    LC_OP_INSERT = 1,       /* sequence insert: pos, content offset (text) or value slot (list) */
    LC_OP_DELETE = 2,       /* sequence delete: pos, signed length, start id */
    LC_OP_MAP_SET = 3,      /* map set: key index, value slot */
    LC_OP_MAP_DELETE = 4,   /* map delete: key index */
    LC_OP_COUNTER = 5,      /* counter increment: delta */
    /* MovableList (state/movable_list.pxi): a move deletes the list item at `from` and
     * inserts one at `to` (pos = to, delta = from, arg = the new item's value slot,
     * start_id = the element's (peer index, Lamport)); a set writes the element's value
     * (start_id = the element, arg = value slot). Inserts and deletes are LC_OP_INSERT/DELETE. */
    LC_OP_MOVE = 6,
    LC_OP_SET = 7
};

/* Rich-text op kinds (a separate block: other op kinds are numbered above). A mark is two
 * ops with consecutive counters, each one atom: its start anchor and its end anchor.
 * MARK_START: pos = start entity, arg = value slot, start_id.peer = key index,
 * start_id.counter = end entity, delta = the info byte. MARK_END: nothing (its position is
 * the start op's end + 1). */
enum {
    LC_OP_MARK_START = 16,
    LC_OP_MARK_END = 17
};

/* Tree op kind (a separate block; state/tree.pxi). Create, move and delete are one op, a
 * move of `target` under a parent: start_id = the target (peer index, counter); pos = the
 * parent's peer index, or LC_TREE_PARENT_ROOT (a root) / LC_TREE_PARENT_DELETED (the
 * deleted root: a delete); delta = the parent's counter; arg = the value slot of the
 * fractional index bytes (empty for a delete). */
enum {
    LC_OP_TREE = 8
};
enum {
    LC_TREE_PARENT_ROOT = -1,
    LC_TREE_PARENT_DELETED = -2
};

#endif
