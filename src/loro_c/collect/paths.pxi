# Included by _events.pyx: a container's path from its root (parent_of, path_of), as an
# event's ContainerDiff.path gives it.


cdef struct parent_link:
    int64_t container       # the parent's index
    int kind                # the creating op's kind
    int64_t pos             # its key index (a map set) or position
    uint32_t peer           # the peer index of the id


cdef bint find_parent(LoroDoc doc, object cid, parent_link *out) except -1:
    """Fill `out` from the op that created `cid`; False when the document does not have
    it. (In C: an event's path asks this of every container it names.)"""
    cdef OpLog log = doc.log
    cdef int64_t ch, k
    cdef int32_t counter = cid.counter
    cdef lc_op *op
    found = log.peer_map.get(cid.peer)
    if found is None:
        return False
    out.peer = <uint32_t>found
    ch = log.find_change(out.peer, counter)
    if ch < 0 or (doc.shallow_parents is not None
                  and counter < <int32_t>doc.shallow_base.get(out.peer, 0)):
        # a shallow document's container made before its root: as its state says
        link = doc.shallow_parents.get(cid) if doc.shallow_parents is not None else None
        if link is None:
            return False
        out.container, out.kind, out.pos = link
        return True
    k = log.find_op(ch, counter)
    op = &log.ops[k]
    if op.counter > counter:
        return False
    out.container = op.container
    out.kind = op.kind
    out.pos = op.pos
    return True


cdef object parent_of(LoroDoc doc, object cid):
    """(parent index, op kind, key index or position, peer index) of the op that created
    `cid` (find_parent's link), or None when the document does not have it."""
    cdef parent_link link
    if not find_parent(doc, cid, &link):
        return None
    return (link.container, link.kind, link.pos, link.peer)


cdef enum:
    STEP_NONE = 0       # the parent does not show the container: no path
    STEP_ROOT = 1       # a root: its PathItem, built once per root (_root_items)
    STEP_KEY = 2        # Index.Key(key) in a map
    STEP_SEQ = 3        # Index.Seq(position) in a list
    STEP_NODE = 4       # Index.Node(the TreeID of the meta map's id) in a tree


cdef struct path_step:
    int step
    int64_t parent      # the parent container (-1 for a root)
    int64_t pos         # STEP_SEQ's position


@cython.no_gc
@cython.final
cdef class PathTable:
    """The paths of one event's diffs, as a tree of steps: node k is one container, its
    step in its parent (`step`, `pos`, and in `objs` its id and its map key) and its
    parent's node (`up`, -1 under a root). Sibling diffs share their parents' nodes, and
    no PathItem is built until a diff's path is read (ContainerDiff.path), as loro builds
    its Python objects when they are read. It holds ids, keys and root items only, so the
    cycle collector need not track it."""
    cdef int32_t *up
    cdef int32_t *depth
    cdef uint32_t *container
    cdef uint8_t *step
    cdef int64_t *pos
    cdef int32_t n, cap
    cdef list objs              # per node: the container's id (a root's PathItem), its key
    cdef dict of_container      # container index -> its node (-1: it has no path)

    def __cinit__(self):
        self.objs = []
        # (it holds ids, keys and root items only, which refer to no list)
        PyObject_GC_UnTrack(<PyObject*>self.objs)
        self.of_container = {}

    def __dealloc__(self):
        free(self.up)
        free(self.depth)
        free(self.container)
        free(self.step)
        free(self.pos)

    cdef int reserve(self) except -1:
        cdef int32_t cap
        if self.n < self.cap:
            return 0
        cap = 2 * self.cap if self.cap else 64
        self.up = <int32_t*>grown(self.up, cap * sizeof(int32_t))
        self.depth = <int32_t*>grown(self.depth, cap * sizeof(int32_t))
        self.container = <uint32_t*>grown(self.container, cap * sizeof(uint32_t))
        self.step = <uint8_t*>grown(self.step, cap * sizeof(uint8_t))
        self.pos = <int64_t*>grown(self.pos, cap * sizeof(int64_t))
        self.cap = cap
        return 0

    def items(self, node):
        """Node `node`'s path: new PathItems, from the root down (ContainerDiff.path)."""
        if not 0 <= node < self.n:
            raise IndexError(f"no path node {node!r} in this event")
        return self.path_items(<int32_t>node)

    cdef list path_items(self, int32_t node):
        cdef int32_t k = node, i
        cdef list out = [None] * self.depth[node]
        for i in range(self.depth[node] - 1, -1, -1):
            out[i] = self.item(k)
            k = self.up[k]
        return out

    cdef object item(self, int32_t k):
        first, key = self.objs[2 * k], self.objs[2 * k + 1]
        if self.step[k] == STEP_ROOT:
            return first
        if self.step[k] == STEP_KEY:
            return path_item(first, one_slot(&KEY_SHAPE, KEY_SLOTS, key))
        if self.step[k] == STEP_SEQ:
            return path_item(first, one_slot(&SEQ_SHAPE, SEQ_SLOTS, self.pos[k]))
        return path_item(first, one_slot(&NODE_SHAPE, NODE_SLOTS,
                                         _types.TreeID(first.peer, first.counter)))

    cdef int32_t depth_of(self, int32_t node) noexcept:
        return self.depth[node]


cdef void *grown(void *p, size_t size) except NULL:
    cdef void *q = realloc(p, size)
    if q == NULL:
        raise MemoryError()
    return q


cdef int32_t path_of(LoroDoc doc, uint32_t c, PathTable t) except -2:
    """Container `c`'s node in `t` (its path from its root), -1 when no root reaches it.
    The parents are climbed in a loop until one known to `t`, each climbed container
    getting its node, so a chain of any depth costs time and memory of its depth once."""
    cdef path_step s
    cdef int32_t first = t.n, top, i
    got = t.of_container.get(c)
    if got is not None:
        return <int32_t>got
    while True:
        obj = path_link(doc, c, &s)
        if s.step == STEP_NONE:
            top = -2
            break
        t.reserve()
        i = t.n
        t.container[i] = c
        t.step[i] = <uint8_t>s.step
        t.pos[i] = s.pos
        t.objs.append(doc.cids[c] if s.step != STEP_ROOT else obj)
        t.objs.append(obj if s.step == STEP_KEY else None)
        t.n = i + 1
        if s.parent < 0:
            top = -1
            break
        c = <uint32_t>s.parent
        got = t.of_container.get(c)
        if got is not None:
            top = <int32_t>got if got >= 0 else -2      # (-1 there: no path)
            break
    if top != -2:
        # (the climbed nodes were added child first: each one's parent is the next)
        for i in range(t.n - 1, first - 1, -1):
            t.up[i] = i + 1 if i + 1 < t.n else top
            t.depth[i] = 1 + (t.depth[t.up[i]] if t.up[i] >= 0 else 0)
            t.of_container[t.container[i]] = i
        return first
    # no root reaches the last container climbed, nor those below it
    t.of_container[c] = -1
    for i in range(first, t.n):
        t.of_container[t.container[i]] = -1
    t.n = first
    del t.objs[2 * first:]
    return -1


cdef object path_link(LoroDoc doc, uint32_t c, path_step *out):
    """Fill `out` with container `c`'s step in its parent while the parent shows `c`
    (STEP_NONE otherwise); returns the step's object: a root's PathItem, a map key."""
    cdef uint32_t parent
    cdef parent_link link
    cdef lc_map_entry *e
    cdef int64_t k
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    out.step = STEP_NONE
    out.pos = 0
    cid = doc.cids[c]
    if doc.croot[c] == ROOT_MERGEABLE:
        # a mergeable child sits under its parent map's key while the key shows it
        named = mergeable_parent(doc, c)
        if named is not None:
            out.step, out.parent = STEP_KEY, <int64_t>named[0]
            return named[1]
    elif doc.croot[c] != ROOT_NONE:
        # (by identity first: an id's hash and equality are Python calls, and a document
        # asks for its roots' items on every event)
        got = _root_items_by_id.get(id(cid))
        if got is not None and (<tuple>got)[0] is cid:
            item = (<tuple>got)[1]
        else:
            item = _root_items.get(cid)
            if item is None:
                if len(_root_items) > 4096:
                    _root_items.clear()
                    _root_items_by_id.clear()
                item = _root_items[cid] = path_item(cid, one_slot(&KEY_SHAPE, KEY_SLOTS, cid.name))
            if len(_root_items_by_id) > 4096:
                _root_items_by_id.clear()
            _root_items_by_id[id(cid)] = (cid, item)    # (holds cid: its id stays its own)
        out.step, out.parent = STEP_ROOT, -1
        return item
    elif find_parent(doc, cid, &link):
        parent = <uint32_t>link.container
        out.parent = parent
        if link.kind == LC_OP_MAP_SET:
            e = lc_map_find(&doc.maps[doc.ctree[parent]], <uint32_t>link.pos)
            if e != NULL and e.slot >= 0 and doc.log.values[e.slot] == cid:
                out.step = STEP_KEY
                return doc.log.keys[<uint32_t>link.pos]
        elif link.kind == LC_OP_INSERT and doc.ckind[parent] == KIND_LIST:
            leaf = locate(doc.seq, make_id(link.peer, <int32_t>cid.counter), &slot)
            s = &doc.seq.nodes[leaf].u.spans[slot]
            if span_visible(s):
                out.step = STEP_SEQ
                out.pos = visible_before(doc.seq, leaf, slot, <int32_t>cid.counter)
        elif doc.ckind[parent] == KIND_MOVABLE_LIST:
            # created by an insert or a set: where the list holds it now, if it does
            k = ml_index_of(doc, parent, cid)
            if k >= 0:
                out.step, out.pos = STEP_SEQ, k
        elif link.kind == LC_OP_TREE and doc.ckind[parent] == KIND_TREE:
            # a tree node's meta map, while the node is shown
            if tree_state(doc, parent).is_alive((cid.peer, cid.counter)):
                out.step = STEP_NODE
    return None
