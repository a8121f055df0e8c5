# LoroTree: included by _containers.pyx. A movable tree (state/tree.pxi): nodes named by
# TreeID, each with a meta LoroMap; local ops are checked here as loro's handler checks
# them (unknown nodes, deleted targets, cycles, indexes), so a refused op changes nothing.

_FI_DEFAULT = b"\x80"
from loro_c.events import TreeExternalDiff as _TreeExternalDiff
_TreeDelete = _TreeExternalDiff.Delete


cdef tuple remap_node(tuple k, dict made):
    """A node as an apply_diff's earlier creates renamed it (through its meta map's id)."""
    cid = made.get(_types.ContainerID.Normal(k[0], k[1], _types.ContainerType.Map()))
    return k if cid is None else (cid.peer, cid.counter)


cdef tuple tree_key(object t, str what):
    if not isinstance(t, _types.TreeID):
        raise LoroTypeError(f"{what} must be a TreeID, not {type(t).__name__}")
    return (t.peer, t.counter)


cdef object tree_parent_key(object parent):
    return None if parent is None else tree_key(parent, "parent")


cdef object as_tree_id(object k):
    return None if k is None else _types.TreeID(k[0], k[1])


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


cdef list tree_positions_at(LoroDoc d, uint32_t c, object tm, tuple target, object parent,
                            int64_t index, bint throw):
    """(node, fractional index) of each op a local move or create at `index` writes: the
    target, then the siblings loro spreads anew when the neighbours' indexes are equal."""
    if d.tree_fi is not None and not d.tree_fi.get(c, True):
        if throw:
            raise LoroValueError("fractional index is not enabled: call "
                                 "enable_fractional_index first")
        return [(target, _FI_DEFAULT)]
    got = tm.generate_at(parent, index, target)
    if isinstance(got, list):
        return got
    return [(target, got)]


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
    check_parent(tm, target, parent)
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
        raise LoroValueError(f"the parent {as_tree_id(parent)} of the tree node is not found")
    cdef int64_t n = children_count(tm, parent)
    if index > n:
        raise OutOfBoundsError(f"the index ({index}) should be <= the length of children ({n})")
    target = (d.peer, local_next_counter(d))
    for i, (node, fi) in enumerate(tree_positions_at(d, c, tm, target, parent, index, throw)):
        node = tuple(node)
        old_parent = tm.parent(node)
        local_tree_move(d, c, node, parent, fi)
        # the event items are loro's hints (a respread sibling's old index is its new one)
        tree_note_local(d, c, ("create", node, parent, index, fi) if i == 0 else
                        ("move", node, parent, index + i, fi, old_parent, index + i))
    return target


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
        return tree_state(self._doc, self.idx)

    def create(self, parent=None):
        """Create a node as the last child of `parent` (None: a root); returns its TreeID."""
        p = tree_parent_key(parent)
        doc_acquire(self._doc)
        try:
            tm = self.state()
            return as_tree_id(tree_local_create(self._doc, self.idx, p,
                                                children_count(tm, p), False))
        finally:
            doc_release(self._doc)

    def create_at(self, index, parent=None):
        """Create a node at `index` among the children of `parent`."""
        cdef int64_t i = as_index(index, "index")
        p = tree_parent_key(parent)
        doc_acquire(self._doc)
        try:
            return as_tree_id(tree_local_create(self._doc, self.idx, p, i, True))
        finally:
            doc_release(self._doc)

    def mov(self, target, parent=None):
        """Move `target` to be the last child of `parent` (None: a root)."""
        t = tree_key(target, "target")
        p = tree_parent_key(parent)
        doc_acquire(self._doc)
        try:
            tm = self.state()
            n = children_count(tm, p)
            if tm.parent(t) == p:
                n -= 1
            tree_local_move(self._doc, self.idx, t, p, n, False)
        finally:
            doc_release(self._doc)

    def mov_to(self, target, to, parent=None):
        """Move `target` to index `to` among the children of `parent`."""
        t = tree_key(target, "target")
        cdef int64_t i = as_index(to, "index")
        p = tree_parent_key(parent)
        doc_acquire(self._doc)
        try:
            tree_local_move(self._doc, self.idx, t, p, i, True)
        finally:
            doc_release(self._doc)

    def mov_after(self, target, after):
        """Move `target` right after the node `after`, under the same parent."""
        self._mov_beside(target, after, 1)

    def mov_before(self, target, before):
        """Move `target` right before the node `before`, under the same parent."""
        self._mov_beside(target, before, 0)

    cdef _mov_beside(self, target, other, int after):
        t = tree_key(target, "target")
        o = tree_key(other, "node")
        doc_acquire(self._doc)
        try:
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
            tree_local_move(self._doc, self.idx, t, p, i, True)
        finally:
            doc_release(self._doc)

    def delete(self, target):
        """Delete `target` (its descendants are hidden with it)."""
        t = tree_key(target, "target")
        doc_acquire(self._doc)
        try:
            tm = self.state()
            i = alive_index(tm, t)
            if i is None:
                raise LoroValueError(f"tree node {as_tree_id(t)} is deleted or does not exist")
            old_parent = tm.parent(t)
            local_tree_move(self._doc, self.idx, t, "deleted", b"")
            tree_note_local(self._doc, self.idx, ("delete", t, old_parent, i))
        finally:
            doc_release(self._doc)

    def get_meta(self, target):
        """The meta LoroMap of node `target` (its ContainerID is the node's id, kind Map)."""
        t = tree_key(target, "target")
        doc_acquire(self._doc)
        try:
            if not self.state().contains(t):
                raise LoroValueError(f"tree node {as_tree_id(t)} does not exist")
            cid = _types.ContainerID.Normal(t[0], t[1], _types.ContainerType.Map())
            return wrap(self._doc, container_index(self._doc, cid, KIND_MAP), KIND_MAP)
        finally:
            doc_release(self._doc)

    def parent(self, target):
        """The parent of `target` (None for a root and for an unknown node)."""
        t = tree_key(target, "target")
        doc_acquire(self._doc)
        try:
            p = self.state().parent(t)
        finally:
            doc_release(self._doc)
        if p == "deleted":
            raise LoroValueError(f"tree node {as_tree_id(t)} is deleted: it has no parent")
        return None if p == "unexist" else as_tree_id(p)

    def contains(self, target):
        """Whether node `target` exists (deleted nodes included)."""
        t = tree_key(target, "target")
        doc_acquire(self._doc)
        try:
            return self.state().contains(t)
        finally:
            doc_release(self._doc)

    def __contains__(self, target):
        return self.contains(target)

    def is_node_deleted(self, target):
        """Whether node `target` is deleted (it or an ancestor was)."""
        t = tree_key(target, "target")
        doc_acquire(self._doc)
        try:
            tm = self.state()
            if not tm.contains(t):
                raise LoroValueError(f"tree node {as_tree_id(t)} doesn't exist")
            return tm.is_deleted(t)
        finally:
            doc_release(self._doc)

    def nodes(self):
        """Every node, deleted ones included."""
        doc_acquire(self._doc)
        try:
            return [as_tree_id(k) for k in self.state().node_ids()]
        finally:
            doc_release(self._doc)

    @property
    def roots(self):
        """The root nodes, in order."""
        doc_acquire(self._doc)
        try:
            return [as_tree_id(k) for k in self.state().children(None)]
        finally:
            doc_release(self._doc)

    def get_nodes(self, with_deleted):
        """The live nodes level by level (roots first) as TreeNode; with `with_deleted`, the
        deleted nodes after them."""
        doc_acquire(self._doc)
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
            doc_release(self._doc)

    def children(self, parent=None):
        """The children of `parent` (None: the roots) in order; None for an unknown node."""
        p = tree_parent_key(parent)
        doc_acquire(self._doc)
        try:
            tm = self.state()
            if p is not None and not tm.contains(p):
                return None
            kids = tm.children(p)
            if not kids and p is not None and not tm.ever_had_children(p):
                return None
            return [as_tree_id(k) for k in kids]
        finally:
            doc_release(self._doc)

    def children_num(self, parent=None):
        """How many children `parent` has; None for an unknown node."""
        got = self.children(parent)
        return None if got is None else builtins_len(got)

    def fractional_index(self, target):
        """The node's fractional index in hex, or None (unknown or deleted node)."""
        t = tree_key(target, "target")
        doc_acquire(self._doc)
        try:
            tm = self.state()
            if alive_index(tm, t) is None:
                return None
            return tm.fractional_index(t).hex().upper()
        finally:
            doc_release(self._doc)

    def get_value_with_meta(self):
        """The forest with each node's meta map as its value."""
        return self.get_deep_value()

    def is_fractional_index_enabled(self):
        doc_acquire(self._doc)
        try:
            return not self._doc.tree_fi or self._doc.tree_fi.get(self.idx, True)
        finally:
            doc_release(self._doc)

    def enable_fractional_index(self, jitter):
        """Generate fractional indexes for local moves (the default). loro_c adds no jitter
        bytes: `jitter` is accepted and ignored."""
        as_index(jitter, "jitter")
        self._set_fi(True)

    def disable_fractional_index(self):
        """Give local creates and moves the default index (80); create_at, mov_to,
        mov_after and mov_before then raise."""
        self._set_fi(False)

    cdef _set_fi(self, bint on):
        doc_acquire(self._doc)
        try:
            if self._doc.tree_fi is None:
                self._doc.tree_fi = {}
            self._doc.tree_fi[self.idx] = on
        finally:
            doc_release(self._doc)

    def is_empty(self):
        """Whether the tree has no live node."""
        doc_acquire(self._doc)
        try:
            return builtins_len(self.state().children(None)) == 0
        finally:
            doc_release(self._doc)

    def get_last_move_id(self, target):
        """The ID of the op that last moved `target` (its create, move or delete)."""
        t = tree_key(target, "target")
        doc_acquire(self._doc)
        try:
            got = self.state().last_move_id(t)
        finally:
            doc_release(self._doc)
        return None if got is None else _ID(got[0], got[1])

    def _apply_diff(self, items, dict made):
        """Apply a Diff.Tree's items as loro's apply_diff does (LoroDoc.apply_diff,
        revert_to): a node named by a create or move is moved to the item's parent and
        fractional index when it is shown, else a new node is created there (its meta map
        standing for the old one's in `made`, old ContainerID -> new); a move to where the
        node is, or under a deleted node, writes nothing; a delete deletes a shown node."""
        doc_acquire(self._doc)
        try:
            for it in items:
                self._apply_item(it, made)
        finally:
            doc_release(self._doc)

    cdef _apply_item(self, it, dict made):
        cdef LoroDoc d = self._doc
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
