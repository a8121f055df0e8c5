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


cdef object path_of(LoroDoc doc, uint32_t c, dict cache):
    """Container `c`'s path from its root ([PathItem]), or None when no root reaches it.
    `cache` keeps the paths of `c` and of its parent for the next calls (its siblings).
    The parents are climbed in a loop and no other level's path is built, so a chain of
    any depth has its path in time and memory of its depth."""
    cdef list climbed = []
    cdef object path = None
    cdef uint32_t start = c
    cdef int64_t up, parent = -1
    while c not in cache:
        link = path_link(doc, c)
        if link is None:
            break
        up, item = link
        if not climbed:
            parent = up
        climbed.append(item)
        if up < 0:
            path = []
            break
        c = <uint32_t>up
    else:
        path = cache[c]
    if path is not None and climbed:
        climbed.reverse()
        if parent >= 0 and len(climbed) > 1:
            cache[<uint32_t>parent] = path + climbed[:len(climbed) - 1]
        path = path + climbed
    cache[start] = path
    return path


cdef object path_link(LoroDoc doc, uint32_t c):
    """(parent container or -1 for a root, container `c`'s PathItem) while the parent
    shows `c`; else None."""
    cdef uint32_t parent
    cdef parent_link link
    cdef lc_map_entry *e
    cdef int64_t k
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    cid = doc.cids[c]
    if doc.croot[c] == ROOT_MERGEABLE:
        # a mergeable child sits under its parent map's key while the key shows it
        named = mergeable_parent(doc, c)
        if named is not None:
            return (<int64_t>named[0], path_item(cid, one_slot(&KEY_SHAPE, KEY_SLOTS, named[1])))
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
        return (-1, item)
    else:
        index = None
        if find_parent(doc, cid, &link):
            parent = <uint32_t>link.container
            if link.kind == LC_OP_MAP_SET:
                e = lc_map_find(&doc.maps[doc.ctree[parent]], <uint32_t>link.pos)
                if e != NULL and e.slot >= 0 and doc.log.values[e.slot] == cid:
                    index = one_slot(&KEY_SHAPE, KEY_SLOTS, doc.log.keys[<uint32_t>link.pos])
            elif link.kind == LC_OP_INSERT and doc.ckind[parent] == KIND_LIST:
                leaf = locate(doc.seq, make_id(link.peer, <int32_t>cid.counter), &slot)
                s = &doc.seq.nodes[leaf].u.spans[slot]
                if span_visible(s):
                    index = one_slot(&SEQ_SHAPE, SEQ_SLOTS, visible_before(doc.seq, leaf, slot, <int32_t>cid.counter))
            elif doc.ckind[parent] == KIND_MOVABLE_LIST:
                # created by an insert or a set: where the list holds it now, if it does
                k = ml_index_of(doc, parent, cid)
                if k >= 0:
                    index = one_slot(&SEQ_SHAPE, SEQ_SLOTS, k)
            elif link.kind == LC_OP_TREE and doc.ckind[parent] == KIND_TREE:
                # a tree node's meta map, while the node is shown
                if tree_state(doc, parent).is_alive((cid.peer, cid.counter)):
                    index = one_slot(&NODE_SHAPE, NODE_SLOTS, _types.TreeID(cid.peer, cid.counter))
        if index is not None:
            return (<int64_t>parent, path_item(cid, index))
    return None
