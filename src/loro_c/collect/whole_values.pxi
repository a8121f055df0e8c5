# Included by _events.pyx: containers a diff shows whole (a checkout or import that brings a
# container back, a tree's or movable list's diff), and the values wrapped into diffs.


cdef int shown_whole(LoroDoc doc, list out, list reached, PathTable paths, set done,
                     bint zero_counters, set zero_shown=None, bint keep_own=False,
                     list ends=None) except -1:
    """A checkout may show a container again (a list inserts it, a map key holds it once
    more: `reached`): like loro, its diff is then its whole value, from empty, and so on
    for the containers inside it. A checkout leaves out a counter shown again whose value
    is 0 (loro's diff of it is empty), except, as loro, one that only the whole value of a
    container shown again holds: loro's diff calculation does not know it (no op of the
    range names it, or theirs add up to 0, and no diff shows it as a new value), and its
    state shows it whole, 0 too (measured on loro 1.17.1: 14 checkouts in 1,500 random
    sessions, all such counters and only those); and a mergeable child counter, whose id
    is a root's (loro's calculation does not bring those back: 26 of 1,500 sessions of
    test_mergeable)."""
    cdef uint32_t c
    queue = list(reached)
    named = set(reached)        # shown as values by the diffs: loro's calculation knows them
    seen = set()
    rows = {row[2]: k for k, row in enumerate(out)}
    while queue:
        c = queue.pop()
        if c in seen:
            continue
        seen.add(c)
        k = rows.get(c)
        if keep_own and k is not None and not (_import_old_vv is not None
                                               and made_before(doc, doc.cids[c], _import_old_vv)):
            # an import's container with a diff of its own (its ops): loro shows that one,
            # the counters it inserts without their value (as a list's import diff does).
            # (loro's state shows the whole value of every child a diff inserts, not as a
            # move: the same for a new child; one made before the import, whose element a
            # concurrent move brought back from a delete, shows its whole value: latek
            # session 14556)
            continue
        if _own_before_shown is not None:
            _own_before_shown[doc.cids[c]] = None if k is None else out[k][3].diff
        if (_whole_own_shows is not None and k is not None and not keep_own
                and (doc.ckind[c] == KIND_LIST or doc.ckind[c] == KIND_MAP)):
            _whole_own_shows[c] = diff_children(doc, out[k][3].diff)
        d = whole_value_diff(doc, c, queue, zero_counters)
        if d is None and not zero_counters and doc.ckind[c] == KIND_COUNTER and (
                doc.croot[c] == ROOT_MERGEABLE or (k is None and c not in named)
                or (k is None and zero_shown is not None and c in zero_shown)):
            d = Diff.Counter(doc.ccounter[c])
        if (ends is not None and d is not None and doc.ckind[c] == KIND_COUNTER and k is None
                and doc.ccounter[c] == 0 and doc.croot[c] == ROOT_NONE and c not in named
                and reported_new_by_parent(doc, doc.cids[c], ends)):
            # (`ends`: a concurrent import's version before) a zero counter new to it, that
            # the whole value of a container shown again holds: loro's calculator reports it
            # new (its parent map compares values, its parent list inserts it, its movable
            # list's element is new), its diff is empty, even where the parent's diff shows
            # it as a new value; only a counter no calculator knows comes back through
            # loro's state, 0 too
            d = None
            done.add(c)
        if d is not None and k is None and replayed_zero_child(doc, c):
            # (an import after the version whose calculators loro replays: the zero of an
            # element's new counter is left out, as a map's)
            d = None
            done.add(c)
        if k is not None:
            if d is None:
                out[k] = None
            else:
                out[k] = out[k][:3] + (diff_replaced(out[k][3], d),)
            continue
        if d is None:
            continue
        node = path_of(doc, c, paths)
        if node < 0:
            continue
        done.add(c)
        cid = doc.cids[c]
        out.append((paths.depth_of(node), 0 if doc.croot[c] != ROOT_NONE else cid.counter + 1, c,
                    container_diff(cid, paths, node, d)))
    out[:] = [row for row in out if row is not None]
    return 0


cdef object tree_diff(LoroDoc doc, uint32_t c, int mode, list reached):
    """A tree's Diff.Tree (state/tree.pxi's items), None when an import changed nothing. In
    a checkout or a concurrent import a created node's meta map is shown whole (`reached`),
    as loro shows it."""
    cdef PyObject *v[5]
    items = []
    versions = doc.evs.tree_lca if mode == 2 and doc.evs is not None else None
    if versions is not None and doc.shallow_sv is not None:
        # a shallow document's replay would need the trimmed moves (not modelled): the
        # event lists the same changes in the state's order
        versions = None
    ids = {None: None}      # (peer, counter) -> TreeID, each made once per diff
    for it in tree_event_items(doc, c, mode) if versions is None else \
            tree_checkout_items(doc, c, versions):
        kind = it[0]
        node = tree_id_cached(ids, it[1])
        if kind == "root-create":
            # a shallow load's root state node (tree_event_items, mode 3)
            kind = "create"
            m = doc.cid_index.get(_types.ContainerID.Normal(it[1][0], it[1][1], _types.ContainerType.Map()))
            if m is not None:
                reached.append(m)
        elif kind == "create" and mode >= 2:
            mid = _types.ContainerID.Normal(it[1][0], it[1][1], _types.ContainerType.Map())
            m = doc.cid_index.get(mid)
            if m is not None:
                reached.append(m)
            if versions is not None and _tree_metas is not None and (
                    _calc_from_before is None or c in _calc_from_before):
                _tree_metas.append(mid)
        if (kind == "create" and versions is None and _tree_metas is not None
                and _greater_import is not None and greater_replayed(doc)):
            # an import after the version that loro's search does not find linear runs
            # the tree's calculator in its Crdt mode, which reports each created node's
            # meta map as a checkout's does (kinds session 4365)
            _tree_metas.append(_types.ContainerID.Normal(it[1][0], it[1][1], _types.ContainerType.Map()))
        parent = tree_id_cached(ids, it[2])
        index = it[3]
        v[0] = <PyObject*>parent
        v[1] = <PyObject*>index
        if kind == "delete":
            action = make_value(&TDELETE_SHAPE, TDELETE_SLOTS, v)
        else:
            fi = hex_upper(it[4])
            v[2] = <PyObject*>fi
            if kind == "create":
                action = make_value(&TCREATE_SHAPE, TCREATE_SLOTS, v)
            else:
                old_parent = tree_id_cached(ids, it[5])
                old_index = it[6]
                v[3] = <PyObject*>old_parent
                v[4] = <PyObject*>old_index
                action = make_value(&TMOVE_SHAPE, TMOVE_SLOTS, v)
        v[0] = <PyObject*>node
        v[1] = <PyObject*>action
        items.append(make_value(&TITEM_SHAPE, TITEM_SLOTS, v))
    if not items and mode != 0 and mode != 3:
        return None
    return Diff.Tree(TreeDiff(items))


cdef list tree_checkout_items(LoroDoc doc, uint32_t c, tuple versions):
    """A checkout's (or concurrent import's) items in loro 1.17.1's order. `versions`: the
    ids (peer index, counter) of the version before and the version after. loro replays
    its tree diff from a base version: the ops both versions hold whose Lamport is below
    every op only one of them holds (`lmin`). So the moves of the version before from
    `lmin` on are taken back, latest first, and those of the version after applied
    (TreeMoves.replay_items, on a scratch copy holding the tree's moves of both)."""
    cdef OpLog log = doc.log
    cdef int64_t ci, i, n, m
    cdef uint32_t p, lmin = 0xFFFFFFFF, lam
    cdef int32_t end
    cdef lc_change *ch
    cdef lc_op *op
    cdef lc_id *ids = NULL
    cdef int32_t *fa = NULL
    cdef int32_t *fb = NULL
    cdef uint8_t *in_to = NULL
    cdef int64_t cap_in_to = 0
    cdef TreeMoves r
    cdef bytes fi
    cdef int64_t parent_kind
    cdef uint64_t parent_peer
    a, b = versions
    n = max(len(a), len(b), 1)
    ids = <lc_id*>malloc(<size_t>n * sizeof(lc_id))
    fa = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    fb = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    try:
        if ids == NULL or fa == NULL or fb == NULL:
            raise MemoryError()
        for i, (pk, k) in enumerate(a):
            ids[i] = make_id(pk, k)
        log.closure(ids, len(a), make_id(LC_NO_PEER, 0), fa)
        for i, (pk, k) in enumerate(b):
            ids[i] = make_id(pk, k)
        log.closure(ids, len(b), make_id(LC_NO_PEER, 0), fb)
        for p in range(log.n_peers):
            if fa[p] != fb[p]:
                lam = log.lamport_of(make_id(p, fa[p] if fa[p] < fb[p] else fb[p]))
                if lam < lmin:
                    lmin = lam
        if lmin == 0xFFFFFFFFU:
            return []
        r = TreeMoves()
        for ci in range(log.n_changes):
            ch = &log.changes[ci]
            end = fa[ch.peer] if fa[ch.peer] > fb[ch.peer] else fb[ch.peer]
            if ch.counter >= end:
                continue
            for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
                op = &log.ops[i]
                if op.kind != LC_OP_TREE or op.container != c or op.counter >= end:
                    continue
                fi = <bytes>log.values[op.arg]
                if op.pos == LC_TREE_PARENT_ROOT:
                    parent_kind = TREE_ROOT
                elif op.pos == LC_TREE_PARENT_DELETED:
                    parent_kind = TREE_DELETED
                else:
                    parent_kind = r.node(log.peer_ids[op.pos], <int32_t>op.delta)
                m = r._log_move(ch.lamport + <uint32_t>(op.counter - ch.counter),
                                log.peer_ids[ch.peer], op.counter,
                                r.node(log.peer_ids[op.start_id.peer], op.start_id.counter),
                                parent_kind, <const uint8_t*><char*>fi, <int32_t>len(fi))
                r._set_excluded(&r.moves[m], op.counter >= fa[ch.peer])
                if m >= cap_in_to:
                    in_to = <uint8_t*>grow(in_to, &cap_in_to, m + 1, 1)
                in_to[m] = op.counter < fb[ch.peer]
        if r.n_moves == 0:
            return []
        return r.replay_items(r.sort_log(), lmin, in_to)
    finally:
        free(ids)
        free(fa)
        free(fb)
        free(in_to)


cdef object hex_upper(object b):
    """b.hex().upper() of a fractional index's bytes, without the two method calls (a
    tree event's item each)."""
    cdef const unsigned char *p
    cdef char buf[128]
    cdef Py_ssize_t n, i
    if type(b) is not bytes or len(<bytes>b) > 64:
        return b.hex().upper()
    n = len(<bytes>b)
    p = <const unsigned char*><char*><bytes>b
    for i in range(n):
        buf[2 * i] = _HEX_UPPER[p[i] >> 4]
        buf[2 * i + 1] = _HEX_UPPER[p[i] & 15]
    return PyUnicode_DecodeASCII(buf, 2 * n, NULL)


cdef const char *_HEX_UPPER = b"0123456789ABCDEF"


cdef object tree_id_cached(dict ids, object k):
    cdef PyObject *v[2]
    found = ids.get(k, ids)
    if found is ids:
        peer = k[0]
        counter = k[1]
        v[0] = <PyObject*>peer
        v[1] = <PyObject*>counter
        found = ids[k] = make_value(&TID_SHAPE, TID_SLOTS, v)
    return found


cdef object ml_diff(LoroDoc doc, uint32_t c, list shown, list reached, bint is_import,
                    list idxs=None, bint checkout=False):
    """A MovableList's diff: its items before the batch against after (ml_event_ops); an
    import's (`idxs`: its journal notes of `c`) or a `checkout`'s split into items as
    loro's (ml_import_split: loro's steps replayed, at a cost that grows with the changed
    elements times the log of the list's length)."""
    values = doc.log.values
    if checkout or idxs is not None:
        ops = ml_import_split(doc, c, idxs)
    else:
        ops = ml_event_ops(doc, c, is_import)
    if not ops:
        return None if is_import else list_diff([])
    return list_diff([one_slot(&LIST_RETAIN_SHAPE, RETAIN_SLOTS[:1], op[1]) if op[0] == 0
                      else one_slot(&LIST_DELETE_SHAPE, DELETE_SLOTS, op[1]) if op[0] == 2
                      else ml_list_insert(
                          [wrap_value(doc, values[slot], None if is_import else shown,
                                      None if op[2] else reached)      # a moved one is unchanged
                           for slot in op[1]], op[2]) for op in ops])


cdef inline object ml_list_insert(list items, object is_move):
    cdef PyObject *v[2]
    v[0] = <PyObject*>items
    v[1] = <PyObject*>is_move
    return make_value(&LIST_INSERT_SHAPE, LIST_INSERT_SLOTS, v)


cdef object whole_value_diff(LoroDoc doc, uint32_t c, list queue, bint zero_counters=True):
    """Container `c`'s whole value as a diff from empty (None when empty); the containers
    it holds go to `queue`."""
    cdef int kind = doc.ckind[c]
    values = doc.log.values
    if kind == KIND_TEXT:
        if not _shallow_trees and not doc.seq.nodes[doc.seq.roots[doc.ctree[c]]].lens.anchors:
            items = whole_text_items(doc, c)
            return text_diff(items) if items else None
        if _shallow_trees:
            runs = text_delta_runs(doc, c, True)
            return Diff.Text([TextDelta.Insert(t, a or None) for t, a in runs])
        items = whole_rich_items(doc, c)
        return Diff.Text(items) if items else None
    if kind == KIND_COUNTER:
        # a checkout leaves a zero out (an import that shows a mergeable child again
        # does not), as loro
        return Diff.Counter(doc.ccounter[c]) if zero_counters or doc.ccounter[c] != 0 else None
    if kind == KIND_LIST or kind == KIND_MOVABLE_LIST:
        items = [wrap_value(doc, values[slot], None, queue)
                 for slot in (list_slots(doc, c) if kind == KIND_LIST else ml_slots(doc, c))]
        if not items and not _shallow_trees:
            return None
        # loro's delta rope holds at most 8 values per insert item (local_delta.pxi)
        return Diff.List([ListDiffItem.Insert(items[k:k + 8], False)
                          for k in range(0, len(items), 8)])
    if kind == KIND_TREE:
        # its nodes created from the empty tree, parents first (their meta maps whole); a
        # shallow load's: the root's nodes, then the moves after it (tree_event_items)
        if _shallow_trees:
            return tree_diff(doc, c, 3, queue)
        saved = (doc.tree_ev, doc.evs.tree_lca if doc.evs is not None else None)
        doc.tree_ev = None
        if doc.evs is not None:
            doc.evs.tree_lca = None
        try:
            return tree_diff(doc, c, 2, queue)
        finally:
            doc.tree_ev = saved[0]
            if doc.evs is not None:
                doc.evs.tree_lca = saved[1]
    # every key the version has a write of: a deleted one as None, as loro reports it
    cdef lc_map *m = &doc.maps[doc.ctree[c]]
    cdef uint32_t i
    updated = {}
    for i in range(m.cap):
        if m.entries[i].key != LC_NO_KEY:
            slot = m.entries[i].slot
            key = doc.log.keys[m.entries[i].key]
            updated[key] = (None if slot < 0 else
                            wrap_value(doc, map_public_value(doc, c, key, values[slot]), None, queue))
    # (a shallow load's event shows every container of the state, empty ones too, as loro's)
    return map_diff_of(updated) if updated or _shallow_trees else None


cdef object wrap_value(LoroDoc doc, object v, list shown, list reached=None):
    global _wrap
    t = type(v)
    if t is int or t is str or t is float or t is bool or v is None or t is bytes:
        # (a scalar: no container, and copy_value's own answer; its module lookups and
        # Python call were most of a map event's cost per key)
        return one_slot(&VALUE_SHAPE, VALUE_SLOTS, v)
    if isinstance(v, _types.ContainerID):
        if _wrap is None:
            from loro_c._containers import wrap
            _wrap = wrap
        c = doc.cid_index[v]
        if shown is not None and doc.ckind[<uint32_t>c] == KIND_COUNTER:
            shown.append(c)
        if reached is not None:
            reached.append(c)
        h = _wrap(doc, c, doc.ckind[<uint32_t>c])
        if _wrapped is not None:
            _wrapped.append(c)
            _wrapped_at[id(h)] = c
        return _types.ValueOrContainer.Container(h)
    return one_slot(&VALUE_SHAPE, VALUE_SLOTS, copy_value(v))
