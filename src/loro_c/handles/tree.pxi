# LoroTree: included by _containers.pyx. A movable tree (state/tree.pxi): nodes named by
# TreeID, each with a meta LoroMap; local ops are checked here as loro's handler checks
# them (unknown nodes, deleted targets, cycles, indexes), so a refused op changes nothing.

from loro_c._tree cimport TreeMoves, TreeJitter, TREE_ROOT, TREE_NONE, TREE_DELETED
from loro_c._doc cimport local_tree_move_k
from libc.stdint cimport uint8_t, int32_t, uint64_t
from cpython.object cimport PyObject

_FI_DEFAULT = b"\x80"
from loro_c.events import TreeExternalDiff as _TreeExternalDiff
_TreeDelete = _TreeExternalDiff.Delete


cdef tuple remap_node(tuple k, dict made):
    """A node as an apply_diff's earlier creates renamed it (through its meta map's id)."""
    cid = _types.ContainerID.Normal(k[0], k[1], _types.ContainerType.Map())
    if cid not in made:
        return k
    while cid in made:              # (created anew more than once)
        cid = made[cid]
    return (cid.peer, cid.counter)


# TreeID (a Python class with __slots__ peer and counter) made and read through its slots:
# its __init__ (range checks of values that are in range already) cost more than the rest
# of a create. Without the expected slots, the attribute path is taken.
cdef extern from *:
    """
    #include <structmember.h>
    /* the offset of an object slot named by a member descriptor, or -1 */
    static Py_ssize_t lc_slot_offset(PyObject *descr) {
        PyMemberDef *m;
        if (Py_TYPE(descr) != &PyMemberDescr_Type) return -1;
        m = ((PyMemberDescrObject *)descr)->d_member;
        return m->type == T_OBJECT_EX ? m->offset : -1;
    }
    /* cls() with two slots set, as object.__new__ makes it, no __init__; not tracked by
       the cycle collector: the slots hold ints */
    static PyObject *lc_slots2_new(PyObject *cls, Py_ssize_t off_a, PyObject *a,
                                   Py_ssize_t off_b, PyObject *b) {
        PyTypeObject *tp = (PyTypeObject *)cls;
        PyObject *o = tp->tp_alloc(tp, 0);
        if (o == NULL) return NULL;
        Py_INCREF(a);
        *(PyObject **)((char *)o + off_a) = a;
        Py_INCREF(b);
        *(PyObject **)((char *)o + off_b) = b;
        if (PyObject_GC_IsTracked(o)) PyObject_GC_UnTrack(o);
        return o;
    }
    /* a slot's object (borrowed), NULL while unset */
    static PyObject *lc_slot_get(PyObject *o, Py_ssize_t off) {
        return *(PyObject **)((char *)o + off);
    }
    """
    Py_ssize_t lc_slot_offset(object descr)
    object lc_slots2_new(object cls, Py_ssize_t off_a, object a, Py_ssize_t off_b, object b)
    PyObject *lc_slot_get(object o, Py_ssize_t off)

cdef object _TreeID = _types.TreeID
cdef Py_ssize_t _TID_PEER = lc_slot_offset(_TreeID.__dict__.get("peer"))
cdef Py_ssize_t _TID_COUNTER = lc_slot_offset(_TreeID.__dict__.get("counter"))


cdef object new_tree_id(object peer, object counter):
    if _TID_PEER >= 0 and _TID_COUNTER >= 0:
        return lc_slots2_new(_TreeID, _TID_PEER, peer, _TID_COUNTER, counter)
    return _TreeID(peer, counter)


cdef bint tree_id_c(object t, uint64_t *peer, int32_t *counter) except -1:
    """A TreeID's fields as C ints; False unless `t` is exactly a TreeID with both set (the
    caller then takes the attribute path)."""
    cdef PyObject *p
    cdef PyObject *c
    if type(t) is not _TreeID or _TID_PEER < 0 or _TID_COUNTER < 0:
        return False
    p = lc_slot_get(t, _TID_PEER)
    c = lc_slot_get(t, _TID_COUNTER)
    if p == NULL or c == NULL:
        return False
    peer[0] = <uint64_t><object>p
    counter[0] = <int32_t><object>c
    return True


cdef tuple tree_key(object t, str what):
    if type(t) is not _TreeID and not isinstance(t, _TreeID):
        raise LoroTypeError(f"{what} must be a TreeID, not {type(t).__name__}")
    return (t.peer, t.counter)


cdef object tree_parent_key(object parent):
    return None if parent is None else tree_key(parent, "parent")


cdef object as_tree_id(object k):
    """The TreeID of a key. Its fields are set directly: a key's peer and counter are in
    range already (TreeID.__init__ checks them, and costs more than the rest of a create)."""
    return None if k is None else new_tree_id(k[0], k[1])


cdef object alive_index(object tm, tuple k):
    """The node's index among its siblings, or None when it is unknown or deleted itself
    (its parent is the deleted root); a node under a deleted node still has one."""
    p = tm.parent(k)
    if p == "unexist" or p == "deleted":
        return None
    return tm.index(k)


cdef int64_t children_count(object tm, object parent):
    if parent is not None and not tm.contains(parent):
        return 0
    return tm.child_count(parent)


cdef int check_parent(object tm, tuple target, object parent) except -1:
    """The parent exists and is neither the target nor below it."""
    if parent is None:
        return 0
    if not tm.contains(parent):
        raise LoroValueError(f"the parent {as_tree_id(parent)} of the tree node is not found")
    if tm.is_under(parent, target):
        raise LoroValueError("cycle move: a tree node cannot move under itself or its "
                             "descendants")
    return 0


cdef int check_fi_enabled(LoroDoc d, uint32_t c) except -1:
    """The positional calls (create_at, mov_to, mov_after, mov_before) refuse first of all,
    as loro's do, while fractional indexes are disabled."""
    if d.tree_fi is not None and not d.tree_fi.get(c, True):
        raise LoroValueError("fractional index is not enabled: call "
                             "enable_fractional_index first")
    return 0


cdef list tree_positions_at(LoroDoc d, uint32_t c, object tm, tuple target, object parent,
                            int64_t index, bint throw):
    """(node, fractional index) of each op a local move or create at `index` writes: the
    target, then the siblings loro spreads anew when the neighbours' indexes are equal."""
    if d.tree_fi is not None and not d.tree_fi.get(c, True):
        if throw:
            raise LoroValueError("fractional index is not enabled: call "
                                 "enable_fractional_index first")
        return [(target, _FI_DEFAULT)]
    got = tm.generate_at(parent, index, target, active_jitter(d, c))
    if isinstance(got, list):
        return got
    return [(target, got)]


cdef object active_jitter(LoroDoc d, uint32_t c):
    """Tree `c`'s TreeJitter while it adds bytes, else None."""
    jitter = None if d.tree_jitter is None else d.tree_jitter.get(c)
    if jitter is None or not (<TreeJitter>jitter).jitter or (
            d.tree_fi is not None and not d.tree_fi.get(c, True)):
        return None
    return jitter


cdef int check_parent_drawing(LoroDoc d, uint32_t c, object tm, tuple target,
                              object parent, int64_t index, bint throw) except -1:
    """check_parent, with loro's order of work under jitter: loro makes the fractional index
    before it finds the parent unknown or the move a cycle, so its generator has moved on
    when it raises; draw the same bytes before raising."""
    jitter = active_jitter(d, c)
    if jitter is not None and parent is not None:
        if not tm.contains(parent):
            (<TreeJitter>jitter).draw()     # the index of a node with no siblings
        elif tm.is_under(parent, target):
            tree_positions_at(d, c, tm, target, parent, index, throw)
    return check_parent(tm, target, parent)


cdef int tree_local_move(LoroDoc d, uint32_t c, tuple target, object parent, int64_t index,
                         bint throw) except -1:
    """loro's mov_with_txn (the lock is held)."""
    tm = tree_state(d, c)
    cdef int64_t n = children_count(tm, parent)
    if tm.parent(target) == parent:
        if tm.index(target) == index:
            return 0
        n -= 1
    if index > n:
        raise OutOfBoundsError(f"the index ({index}) should be <= the length of children ({n})")
    if alive_index(tm, target) is None:
        raise LoroValueError(f"tree node {as_tree_id(target)} is deleted or does not exist")
    check_parent_drawing(d, c, tm, target, parent, index, throw)
    old_index = tm.index(target)
    for i, (node, fi) in enumerate(tree_positions_at(d, c, tm, target, parent, index, throw)):
        node = tuple(node)
        old_parent = tm.parent(node)
        local_tree_move(d, c, node, parent, fi)
        # the event item is loro's hint: the requested index, the target's old index
        tree_note_local(d, c, ("move", node, parent, index + i, fi, old_parent, old_index))
    return 0


cdef object tree_local_create(LoroDoc d, uint32_t c, object parent, int64_t index, bint throw):
    """loro's create_with_txn; returns the new node's key (the lock is held)."""
    tm = tree_state(d, c)
    if parent is not None and not tm.contains(parent):
        jitter = active_jitter(d, c)
        if jitter is not None and index == 0:
            (<TreeJitter>jitter).draw()     # loro made the index before finding no parent
        raise LoroValueError(f"the parent {as_tree_id(parent)} of the tree node is not found")
    cdef int64_t n = children_count(tm, parent)
    if index > n:
        raise OutOfBoundsError(f"the index ({index}) should be <= the length of children ({n})")
    check_alive(d, c)
    target = (d.peer, local_next_counter(d))
    for i, (node, fi) in enumerate(tree_positions_at(d, c, tm, target, parent, index, throw)):
        node = tuple(node)
        old_parent = tm.parent(node)
        local_tree_move(d, c, node, parent, fi)
        # the event items are loro's hints (a respread sibling's old index is its new one)
        tree_note_local(d, c, ("create", node, parent, index, fi) if i == 0 else
                        ("move", node, parent, index + i, fi, old_parent, index + i))
    return target



# -- the C path of create and mov: the common case (fractional indexes on, nobody
# subscribed, the neighbours' indexes differ, nothing to refuse) on node indexes; anything
# else goes to tree_local_create / tree_local_move above, which decide it from the start

cdef enum:
    FI_BUF = 256                # longest fractional index the C path writes, plus one


cdef TreeMoves fast_tree(LoroDoc d, uint32_t c):
    """Tree `c`'s TreeMoves, settled, when a local op may take the C path; else None."""
    if d.evlog.on or (d.tree_fi is not None and not d.tree_fi.get(c, True)) or (
            d.tree_jitter is not None and c in d.tree_jitter):
        return None             # event items / the default index / jitter: the general path
    cdef TreeMoves tm = <TreeMoves>tree_state(d, c)
    tm.settle()
    return tm


cdef int64_t fast_parent(TreeMoves tm, bint has_parent, uint64_t peer,
                         int32_t counter) noexcept:
    """The parent (peer, counter) as a node index, or TREE_ROOT without a parent;
    TREE_NONE when it is not a node of the tree (the general path raises)."""
    cdef int64_t p
    if not has_parent:
        return TREE_ROOT
    p = tm.find(peer, counter)
    if p < 0 or tm.nodes[p].parent == TREE_NONE:
        return TREE_NONE
    return p


cdef object fast_tree_create(LoroDoc d, uint32_t c, bint has_parent, uint64_t parent_peer,
                             int32_t parent_counter):
    """create(parent) on the C path: the new node's TreeID, or None for the general path."""
    cdef uint8_t buf[FI_BUF]
    cdef TreeMoves tm = fast_tree(d, c)
    cdef int64_t p, n, t
    cdef int32_t counter
    if tm is None:
        return None
    p = fast_parent(tm, has_parent, parent_peer, parent_counter)
    if p == TREE_NONE:
        return None
    n = tm.local_fi(p, tm.kid_count(p), -1, buf, FI_BUF)
    if n < 0:
        return None
    check_alive(d, c)
    counter = local_next_counter(d)
    t = tm.node(d.peer, counter)
    local_tree_move_k(d, c, tm, t, p, (<char*>buf)[:n], False)
    return new_tree_id(d.peer, counter)


cdef bint fast_tree_mov(LoroDoc d, uint32_t c, uint64_t target_peer, int32_t target_counter,
                        bint has_parent, uint64_t parent_peer,
                        int32_t parent_counter) except -1:
    """mov(target, parent) (to the end of parent's children) on the C path; False for the
    general path (a refused move among others)."""
    cdef uint8_t buf[FI_BUF]
    cdef TreeMoves tm = fast_tree(d, c)
    cdef int64_t t, p, n, now
    if tm is None:
        return False
    t = tm.find(target_peer, target_counter)
    if t < 0:
        return False
    now = tm.nodes[t].parent
    if now == TREE_NONE or now == TREE_DELETED:
        return False
    p = fast_parent(tm, has_parent, parent_peer, parent_counter)
    if p == TREE_NONE:
        return False
    n = tm.kid_count(p)
    if now == p:
        n -= 1
        if tm.slot_of(t) == n:
            return True         # already the last child: nothing written
    if p >= 0 and tm.creates_cycle(t, p):
        return False
    n = tm.local_fi(p, n, t, buf, FI_BUF)
    if n < 0:
        return False
    local_tree_move_k(d, c, tm, t, p, (<char*>buf)[:n], True)
    return True


cdef list tree_content(LoroDoc sdoc, object tm, object parent):
    """A detached tree's shown nodes under `parent`, in order, as (meta map content or
    None, children) for insert_container (the lock of `sdoc` is held)."""
    out = []
    for k in tm.children(parent):
        i = sdoc.cid_index.get(_types.ContainerID.Normal(k[0], k[1], _types.ContainerType.Map()))
        out.append((None if i is None else content_of(sdoc, <uint32_t>i),
                    tree_content(sdoc, tm, k)))
    return out


cdef int copy_tree(LoroDoc doc, uint32_t dst, object parent, list nodes) except -1:
    """Create a detached tree's nodes in tree `dst` as loro copies them: level by level,
    each node as the last child of its parent followed by its meta map's content."""
    cdef uint32_t meta
    queue = [(parent, content, kids) for content, kids in nodes]
    at = 0
    while at < builtins_len(queue):
        parent, content, kids = queue[at]
        at += 1
        tm = tree_state(doc, dst)
        node = tree_local_create(doc, dst, parent, children_count(tm, parent), False)
        if content is not None:
            meta = container_index(doc, _types.ContainerID.Normal(
                node[0], node[1], _types.ContainerType.Map()), KIND_MAP)
            copy_content(doc, meta, content)
        queue += [(node, c, k) for c, k in kids]
    return 0


cdef class LoroTree(_Handle):
    """A movable tree: nodes (TreeID) under parents or as roots, ordered among their siblings
    by fractional indexes; concurrent moves converge as loro's (a move that would make a
    cycle has no effect). Each node has a meta map (`get_meta`)."""

    def __init__(self):
        self._init_detached(KIND_TREE)

    @staticmethod
    def _wrap(LoroDoc doc, uint32_t c):
        cdef LoroTree h = LoroTree.__new__(LoroTree)
        h._doc = doc
        h.idx = c
        h.attached = True
        return h

    cdef object state(self):
        return tree_state(hdoc(self), self.idx)

    def create(self, parent=None):
        """Create a node as the last child of `parent` (None: a root); returns its TreeID."""
        cdef uint64_t pp = 0
        cdef int32_t pc = 0
        cdef bint direct = parent is None or tree_id_c(parent, &pp, &pc)
        p = None if direct else tree_parent_key(parent)
        doc_acquire(hdoc(self))
        try:
            if direct:
                made = fast_tree_create(hdoc(self), self.idx, parent is not None, pp, pc)
                if made is not None:
                    return made
                p = tree_parent_key(parent)
            tm = self.state()
            return as_tree_id(tree_local_create(hdoc(self), self.idx, p,
                                                children_count(tm, p), False))
        finally:
            doc_release(hdoc(self))

    def create_at(self, index, parent=None):
        """Create a node at `index` among the children of `parent`."""
        cdef int64_t i = as_index(index, "index")
        p = tree_parent_key(parent)
        doc_acquire(hdoc(self))
        try:
            check_fi_enabled(hdoc(self), self.idx)
            return as_tree_id(tree_local_create(hdoc(self), self.idx, p, i, True))
        finally:
            doc_release(hdoc(self))

    def mov(self, target, parent=None):
        """Move `target` to be the last child of `parent` (None: a root)."""
        cdef uint64_t tp = 0, pp = 0
        cdef int32_t tc = 0, pc = 0
        cdef bint direct = (tree_id_c(target, &tp, &tc)
                            and (parent is None or tree_id_c(parent, &pp, &pc)))
        if not direct:
            t = tree_key(target, "target")
            p = tree_parent_key(parent)
        doc_acquire(hdoc(self))
        try:
            if direct:
                if fast_tree_mov(hdoc(self), self.idx, tp, tc, parent is not None, pp, pc):
                    return
                t = tree_key(target, "target")
                p = tree_parent_key(parent)
            tm = self.state()
            n = children_count(tm, p)
            if tm.parent(t) == p:
                n -= 1
            tree_local_move(hdoc(self), self.idx, t, p, n, False)
        finally:
            doc_release(hdoc(self))

    def mov_to(self, target, to, parent=None):
        """Move `target` to index `to` among the children of `parent`."""
        t = tree_key(target, "target")
        cdef int64_t i = as_index(to, "index")
        p = tree_parent_key(parent)
        doc_acquire(hdoc(self))
        try:
            check_fi_enabled(hdoc(self), self.idx)
            tree_local_move(hdoc(self), self.idx, t, p, i, True)
        finally:
            doc_release(hdoc(self))

    def mov_after(self, target, after):
        """Move `target` right after the node `after`, under the same parent."""
        self._mov_beside(target, after, 1)

    def mov_before(self, target, before):
        """Move `target` right before the node `before`, under the same parent."""
        self._mov_beside(target, before, 0)

    cdef _mov_beside(self, target, other, int after):
        t = tree_key(target, "target")
        o = tree_key(other, "node")
        doc_acquire(hdoc(self))
        try:
            check_fi_enabled(hdoc(self), self.idx)
            tm = self.state()
            p = tm.parent(o)
            if p == "unexist":
                raise LoroValueError(f"tree node {as_tree_id(o)} does not exist")
            i = alive_index(tm, o)
            if i is None:
                raise LoroValueError(f"tree node {as_tree_id(o)} is deleted or does not exist")
            i += after
            if tm.parent(t) == p and (after or i >= 1):
                ti = tm.index(t)
                if ti is not None and ti < i:
                    i -= 1
            tree_local_move(hdoc(self), self.idx, t, p, i, True)
        finally:
            doc_release(hdoc(self))

    def delete(self, target):
        """Delete `target` (its descendants are hidden with it)."""
        t = tree_key(target, "target")
        doc_acquire(hdoc(self))
        try:
            tm = self.state()
            i = alive_index(tm, t)
            if i is None:
                raise LoroValueError(f"tree node {as_tree_id(t)} is deleted or does not exist")
            old_parent = tm.parent(t)
            local_tree_move(hdoc(self), self.idx, t, "deleted", b"")
            tree_note_local(hdoc(self), self.idx, ("delete", t, old_parent, i))
        finally:
            doc_release(hdoc(self))

    def get_meta(self, target):
        """The meta LoroMap of node `target` (its ContainerID is the node's id, kind Map)."""
        t = tree_key(target, "target")
        doc_acquire(hdoc(self))
        try:
            if not self.state().contains(t):
                raise LoroValueError(f"tree node {as_tree_id(t)} does not exist")
            cid = _types.normal_cid(t[0], t[1], _types.TYPE_BY_KIND[KIND_MAP])
            return wrap(hdoc(self), container_index(hdoc(self), cid, KIND_MAP), KIND_MAP)
        finally:
            doc_release(hdoc(self))

    def parent(self, target):
        """The parent of `target` (None for a root and for an unknown node)."""
        t = tree_key(target, "target")
        doc_acquire(hdoc(self))
        try:
            p = self.state().parent(t)
        finally:
            doc_release(hdoc(self))
        if p == "deleted":
            raise LoroValueError(f"tree node {as_tree_id(t)} is deleted: it has no parent")
        return None if p == "unexist" else as_tree_id(p)

    def contains(self, target):
        """Whether node `target` exists (deleted nodes included)."""
        t = tree_key(target, "target")
        doc_acquire(hdoc(self))
        try:
            return self.state().contains(t)
        finally:
            doc_release(hdoc(self))

    def __contains__(self, target):
        return self.contains(target)

    def is_node_deleted(self, target):
        """Whether node `target` is deleted (it or an ancestor was)."""
        t = tree_key(target, "target")
        doc_acquire(hdoc(self))
        try:
            tm = self.state()
            if not tm.contains(t):
                raise LoroValueError(f"tree node {as_tree_id(t)} doesn't exist")
            return tm.is_deleted(t)
        finally:
            doc_release(hdoc(self))

    def nodes(self):
        """Every node, deleted ones included."""
        doc_acquire(hdoc(self))
        try:
            return [as_tree_id(k) for k in tree_nodes_order(hdoc(self), self.idx)]
        finally:
            doc_release(hdoc(self))

    @property
    def roots(self):
        """The root nodes, in order."""
        doc_acquire(hdoc(self))
        try:
            return [as_tree_id(k) for k in self.state().children(None)]
        finally:
            doc_release(hdoc(self))

    def get_nodes(self, with_deleted):
        """The live nodes level by level (roots first) as TreeNode; with `with_deleted`, the
        deleted nodes after them."""
        doc_acquire(hdoc(self))
        try:
            tm = self.state()
            out = []
            queue = [(k, None) for k in tm.children(None)]
            if with_deleted:
                queue += [(k, "deleted") for k in tm.children("deleted")]
            at = 0
            while at < builtins_len(queue):
                k, p = queue[at]
                at += 1
                out.append(_types.TreeNode(as_tree_id(k), None if p is None or p == "deleted"
                                           else as_tree_id(p),
                                           tm.fractional_index(k).hex().upper(), tm.index(k)))
                queue += [(ch, k) for ch in tm.children(k)]
            return out
        finally:
            doc_release(hdoc(self))

    def children(self, parent=None):
        """The children of `parent` (None: the roots) in order; None for an unknown node."""
        p = tree_parent_key(parent)
        doc_acquire(hdoc(self))
        try:
            tm = self.state()
            if p is not None and not tm.contains(p):
                return None
            kids = tm.children(p)
            if not kids and p is not None and not tm.ever_had_children(p):
                return None
            return [as_tree_id(k) for k in kids]
        finally:
            doc_release(hdoc(self))

    def children_num(self, parent=None):
        """How many children `parent` has; None for an unknown node."""
        got = self.children(parent)
        return None if got is None else builtins_len(got)

    def fractional_index(self, target):
        """The node's fractional index in hex, or None (unknown or deleted node)."""
        t = tree_key(target, "target")
        doc_acquire(hdoc(self))
        try:
            tm = self.state()
            if alive_index(tm, t) is None:
                return None
            return tm.fractional_index(t).hex().upper()
        finally:
            doc_release(hdoc(self))

    def get_value_with_meta(self):
        """The forest with each node's meta map as its value."""
        return self.get_deep_value()

    def is_fractional_index_enabled(self):
        doc_acquire(hdoc(self))
        try:
            return not hdoc(self).tree_fi or hdoc(self).tree_fi.get(self.idx, True)
        finally:
            doc_release(hdoc(self))

    def enable_fractional_index(self, jitter):
        """Generate fractional indexes for local moves (the default), with `jitter` (0 to
        255) random bytes after each, as loro adds them: the same bytes as loro's, drawn
        from the tree's generator (seeded 0, or with the peer id when generation is enabled
        again after disable_fractional_index), so that peers placing nodes between the same
        neighbours concurrently rarely pick equal indexes."""
        cdef int64_t j = as_index(jitter, "jitter")
        if j > 255:
            raise OverflowError("number too large to fit in target type")
        doc_acquire(hdoc(self))
        try:
            d = hdoc(self)
            if d.tree_jitter is None:
                d.tree_jitter = {}
            current = d.tree_jitter.get(self.idx)
            if d.tree_fi is not None and not d.tree_fi.get(self.idx, True):
                d.tree_jitter[self.idx] = TreeJitter(d.peer, j)    # a new generator, as loro's
            elif current is None:
                if j:
                    d.tree_jitter[self.idx] = TreeJitter(0, j)
            else:
                (<TreeJitter>current).jitter = j
        finally:
            doc_release(hdoc(self))
        self._set_fi(True)

    def disable_fractional_index(self):
        """Give local creates and moves the default index (80); create_at, mov_to,
        mov_after and mov_before then raise."""
        self._set_fi(False)

    cdef _set_fi(self, bint on):
        doc_acquire(hdoc(self))
        try:
            if hdoc(self).tree_fi is None:
                hdoc(self).tree_fi = {}
            hdoc(self).tree_fi[self.idx] = on
        finally:
            doc_release(hdoc(self))

    def is_empty(self):
        """Whether the tree has no live node."""
        doc_acquire(hdoc(self))
        try:
            return builtins_len(self.state().children(None)) == 0
        finally:
            doc_release(hdoc(self))

    def get_last_move_id(self, target):
        """The ID of the op that last moved `target` (its create, move or delete)."""
        t = tree_key(target, "target")
        doc_acquire(hdoc(self))
        try:
            got = self.state().last_move_id(t)
        finally:
            doc_release(hdoc(self))
        return None if got is None else _ID(got[0], got[1])

    def _apply_diff(self, items, dict made):
        """Apply a Diff.Tree's items as loro's apply_diff does (LoroDoc.apply_diff,
        revert_to): a node named by a create or move is moved to the item's parent and
        fractional index when it is shown, else a new node is created there (its meta map
        standing for the old one's in `made`, old ContainerID -> new); a move to where the
        node is, or under a deleted node, writes nothing; a delete deletes a shown node."""
        doc_acquire(hdoc(self))
        try:
            for it in items:
                self._apply_item(it, made)
        finally:
            doc_release(hdoc(self))

    cdef _apply_item(self, it, dict made):
        cdef LoroDoc d = hdoc(self)
        tm = self.state()
        a = it.action
        target = remap_node(tree_key(it.target, "target"), made)
        if isinstance(a, _TreeDelete):
            if tm.is_alive(target):
                old_parent, i = tm.parent(target), tm.index(target)
                local_tree_move(d, self.idx, target, "deleted", b"")
                tree_note_local(d, self.idx, ("delete", target, old_parent, i))
            return
        parent = None if a.parent is None else remap_node(tree_key(a.parent, "parent"), made)
        fi = bytes.fromhex(a.fractional_index)
        if parent is not None and not tm.is_alive(parent):
            return                                  # under a deleted node: nothing
        if tm.is_alive(target):
            if tm.parent(target) == parent and tm.fractional_index(target) == fi:
                return
            check_parent(tm, target, parent)
            old_parent, old_index = tm.parent(target), tm.index(target)
            local_tree_move(d, self.idx, target, parent, fi)
            tree_note_local(d, self.idx, ("move", target, parent, tm.index(target), fi,
                                          old_parent, old_index))
            return
        new = (d.peer, local_next_counter(d))
        local_tree_move(d, self.idx, new, parent, fi)
        tree_note_local(d, self.idx, ("create", new, parent, tm.index(new), fi))
        cid = _types.ContainerID.Normal(new[0], new[1], _types.ContainerType.Map())
        container_index(d, cid, KIND_MAP)
        made[_types.ContainerID.Normal(target[0], target[1], _types.ContainerType.Map())] = cid

    def get_attached(self):
        """The attached tree (this one), or None for a detached one."""
        return self if self.attached else None
