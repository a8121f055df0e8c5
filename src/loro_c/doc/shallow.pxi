# Shallow documents: a document loaded from a shallow snapshot (ExportMode.ShallowSnapshot
# or StateOnly) holds the state at the shallow root S and only the changes from S on, as
# loro's does. The trimmed history, the counters [0, shallow_since_vv[p]) of each peer, is
# the log's *floor* (OpLog.set_floor): every version of the document holds it, no change
# covers it, the version walk never steps into it. The root's own ops (the ids of S) are
# logged with their changes, but their effect is the base state's. The base state is
# loaded as a thin snapshot's is (state/snapshot_load.pxi), then kept: the sequence trees
# hold the root's visible atoms with no tombstones and no tracker records, each atom's
# origin the atom before it (Loro's trackers start from the root as one placeholder run:
# `new_with_unknown`), maps their winners, counters their values; the tracker starts at S.


cdef int shallow_base_load(LoroDoc d) except -1:
    """Build the base state (the state at the shallow root) into the document's empty
    containers and put the tracker at the root."""
    cdef uint32_t c
    cdef int64_t i
    cdef lc_map_entry *e
    cdef dict base_map = {}
    snap_forget(d)      # (states filled without ops)
    cdef list ml_base = []
    cdef dict tree_base = {}
    cdef dict parents = {}
    for cid, kind, payload in d.shallow_rows:
        c = container_index(d, cid, kind)
        # the children the root's state holds (their creating ops may be trimmed)
        # (as the creating op would name them: parent, op kind, map key index)
        if kind == KIND_MAP:
            for row in payload:
                if isinstance(row[2], _types.ContainerID):
                    parents[row[2]] = (c, LC_OP_MAP_SET, d.log.key_index(row[0]))
        elif kind == KIND_LIST or kind == KIND_MOVABLE_LIST:
            for v in payload[0]:
                if isinstance(v, _types.ContainerID):
                    parents[v] = (c, LC_OP_INSERT, 0)
        elif kind == KIND_TREE:
            for row in payload:
                parents[_types.ContainerID.Normal(row[0][0], row[0][1], container_type(KIND_MAP))] = \
                    (c, LC_OP_TREE, 0)
        if kind == KIND_TEXT:
            thin_seq(d, c, payload[1], payload[2], payload[0], None, payload[4], True)
        elif kind == KIND_LIST:
            thin_seq(d, c, payload[1], payload[2], None, payload[0], None, True)
        elif kind == KIND_MAP:
            thin_map(d, c, payload)
            # a checkout falls back to these where no logged write is in the version
            for row in payload:
                key = d.log.key_index(row[0])
                e = lc_map_find(&d.maps[d.ctree[c]], key)
                base_map[(d.ctree[c], key)] = (e.lamport, e.peer, e.slot)
        elif kind == KIND_COUNTER:
            d.ccounter[c] = payload
        elif kind == KIND_MOVABLE_LIST:
            ml_base.append((c, payload, thin_movable_list(d, c, payload, True)))
        elif kind == KIND_TREE:
            thin_tree(d, c, payload)
            tree_base[c] = payload
        else:
            raise LoroError(f"loro_c does not load a shallow snapshot holding a "
                            f"{_TYPE_NAMES[kind]} state yet")
    d.shallow_map_base = base_map
    d.shallow_parents = parents
    # the elements and trees recomputed from the log start from these (ml_recompute,
    # tree_recompute)
    d.shallow_ml = ml_base
    d.shallow_trees = tree_base
    ensure_tvv(d)
    memset(d.tvv, 0, <size_t>d.tvv_cap * sizeof(int32_t))
    for p, end in d.shallow_base.items():
        d.tvv[<uint32_t>p] = <int32_t>end
    n = len(d.shallow_sf_idx)
    if n > d.cap_tfront:
        d.tfront = <lc_id*>grow(d.tfront, &d.cap_tfront, n, sizeof(lc_id))
    for i in range(n):
        p, ctr = d.shallow_sf_idx[i]
        d.tfront[i] = make_id(<uint32_t>p, <int32_t>ctr)
    d.n_tfront = n
    d.tracker_at_head = False
    return 0


cdef int shallow_apply_root_change(LoroDoc d, int64_t ops_off, uint32_t ops_len, uint32_t peer,
                                   int32_t counter, uint32_t lamport) except -1:
    """A change holding one of the shallow root's ops: the ops up to the root are in the
    base state (a mark's start is noted, its end may follow); the ones after it (the root
    is then the only id of S) apply at the root."""
    cdef int32_t base = <int32_t>d.shallow_base.get(peer, 0)
    cdef int64_t i
    cdef lc_op op
    cdef bint moved = False
    for i in range(ops_off, ops_off + ops_len):
        op = d.log.ops[i]
        if op.counter + op.len <= base:
            if op.kind == LC_OP_MARK_START:
                note_style(d, &op, peer, lamport + <uint32_t>(op.counter - counter))
            continue
        if not moved:
            moved = True
            shallow_tracker_to_root(d)
        if op.counter < base:
            slice_op(&op, base - op.counter)
        if d.croot[op.container] == ROOT_HIDDEN:
            show_root(d, op.container)
        apply_op(d, &op, peer, lamport + <uint32_t>(op.counter - counter))
        d.tvv[peer] = op.counter + op.len
        if d.cap_tfront < 1:
            d.tfront = <lc_id*>grow(d.tfront, &d.cap_tfront, 1, sizeof(lc_id))
        d.tfront[0] = make_id(peer, d.tvv[peer] - 1)
        d.n_tfront = 1
        d.tracker_at_head = False
    return 0


cdef int shallow_tracker_to_root(LoroDoc d) except -1:
    """Move the tracker to the shallow root S."""
    cdef int64_t n = len(d.shallow_sf_idx), i
    cdef lc_id *ids = <lc_id*>malloc((n + 1) * sizeof(lc_id))
    if ids == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            p, ctr = d.shallow_sf_idx[i]
            ids[i] = make_id(<uint32_t>p, <int32_t>ctr)
        move_tracker_to(d, ids, n)
    finally:
        free(ids)
    return 0


cdef object shallow_import(LoroDoc d, bytes blob, tuple parts):
    """Load a shallow snapshot into the empty document `d` (its parts checked by the codec's
    shallow_parts): the base state, the floor, then the retained changes through the
    import pipeline. All or nothing."""
    from loro_c import _import
    rows, sv, sf, root_vv, root_state, later, has_state = parts
    snap_forget(d)
    cdef uint32_t peers0 = d.log.n_peers
    cdef int64_t keys0 = len(d.log.keys), values0 = len(d.log.values)
    cdef int64_t n0 = d.n_containers
    cdef list roots0 = list(d.roots)
    cdef bytes shown0 = (<char*>d.croot)[:n0]
    for cid, kind, payload in rows:
        if kind not in (KIND_TEXT, KIND_LIST, KIND_MAP, KIND_COUNTER, KIND_MOVABLE_LIST,
                        KIND_TREE):
            raise LoroError(f"loro_c does not load a shallow snapshot holding a "
                            f"{_TYPE_NAMES[kind]} state yet")
    try:
        # as in loro, the roots listed are the root state's (roots taken before are empty)
        named = {row[0] for row in rows}
        for c in list(d.roots):
            if d.cids[c] not in named:
                d.croot[<uint32_t>c] = ROOT_HIDDEN
                d.roots.remove(c)
        for cid, kind, payload in rows:
            show_root(d, container_index(d, cid, kind))
        for cid, kind in later:
            container_index(d, cid, kind)
        for p, c in (<VersionVector>sv)._map.items():
            if c > 0:
                d.log.set_floor(d.log.peer_index(p), <int32_t>c)
        d.shallow_base = {d.log.peer_index(p): e for p, e in root_vv.items()}
        d.shallow_sf_idx = [(d.log.peer_index(p), c) for p, c in sf]
        # zero entries kept: loro's shallow_since_vv lists a root op at counter 0 as
        # {peer: 0}, and a document with such a root is shallow all the same
        d.shallow_sv = dict((<VersionVector>sv)._map)
        if (<VersionVector>sv)._zeros:
            for p in (<VersionVector>sv)._zeros:
                d.shallow_sv[p] = 0
        d.shallow_sf = sorted(sf)
        d.shallow_rows = rows
        d.shallow_root_state = root_state
        shallow_base_load(d)
        if d.evs is not None:
            # the trees at the root, with their views, for the load's event
            # (tree_event_items, mode 3)
            d.evlog.on = 1
            views = d.evs.tree_views
            d.evs.tree_views = True
            try:
                for c in range(d.n_containers):
                    if d.ckind[c] == KIND_TREE:
                        tree_note_before(d, <uint32_t>c)
            finally:
                d.evlog.on = 0
                d.evs.tree_views = views
        d.shallow_loading = True
        try:
            _import.import_blobs(d, [blob], False)
        finally:
            d.shallow_loading = False
        move_tracker_to_head(d)
        tree_shallow_maps(d, has_state)     # (loro's maps of tree nodes: state/tree.pxi)
    except BaseException:
        # back to the empty document it was
        d.seq = SeqArena()
        d.styles.clear()
        if d.mls is not None:
            ml_clear(d)
        if d.trees:
            d.trees.clear()
        d.shallow_ml = None
        d.shallow_trees = None
        for i in range(d.n_containers):
            state_reset(d, <uint32_t>i)
        d.log.has_floor = False
        for i in range(d.log.n_peers):
            d.log.floor[i] = 0
            d.log.refresh_vv(<uint32_t>i)
        del d.log.values[values0:]
        d.log.drop_peers(peers0)
        d.log.keys_truncate(keys0)
        d.shallow_base = d.shallow_sf_idx = d.shallow_sv = d.shallow_sf = None
        d.shallow_map_base = None
        d.shallow_rows = None
        d.shallow_root_state = None
        ensure_tvv(d)
        memset(d.tvv, 0, <size_t>d.tvv_cap * sizeof(int32_t))
        d.n_tfront = 0
        d.tracker_at_head = True
        for i in range(d.n_containers):
            d.croot[i] = ROOT_HIDDEN
        memcpy(d.croot, <const char*>shown0, <size_t>n0)
        d.roots[:] = roots0
        raise
    vv = dense_vv_dict(d, d.log.vv)
    return _types.ImportStatus(_types.VersionRange.from_map({p: (0, e) for p, e in vv.items()}),
                               None)


cdef int shallow_check_version(LoroDoc d, object ids, str what) except -1:
    """Raise OutdatedVersionError when the version of `ids` ((peer, counter) pairs, all in
    the history) does not include a shallow document's root."""
    from loro_c.errors import OutdatedVersionError
    if d.shallow_sv is None:
        return 0
    got = {}
    for p, c in ids:
        if got.get(p, -1) < c:
            got[p] = c
    # an id after the root (not one of its ops, not trimmed): its version holds the root
    for p, c in got.items():
        pi = d.log.peer_map.get(p)
        if pi is not None and c >= d.shallow_base.get(pi, 0):
            return 0
    for p, c in d.shallow_sf:
        if got.get(p, -1) < c:
            raise OutdatedVersionError(what)
    return 0


cdef bint shallow_root_op(LoroDoc d, uint32_t peer, int32_t counter) noexcept:
    """Whether an op of the log is one of the shallow root's own (its effect is the base
    state's: recomputations from the log skip it)."""
    if d.shallow_base is None:
        return False
    return counter < <int32_t>d.shallow_base.get(peer, 0)


cdef int shallow_rebuild(LoroDoc d) except -1:
    """rebuild_state for a shallow document: the base state, then the log replayed from
    the root (the containers were reset)."""
    cdef int64_t i
    cdef lc_change *ch
    shallow_base_load(d)
    for i in range(d.log.n_changes):
        ch = &d.log.changes[i]
        if ch.counter < <int32_t>d.shallow_base.get(ch.peer, 0):
            shallow_apply_root_change(d, ch.ops_off, ch.ops_len, ch.peer, ch.counter, ch.lamport)
            continue
        move_tracker_to_change(d, &d.log.deps[ch.deps_off], ch.deps_len, ch.peer, ch.counter)
        ch = &d.log.changes[i]
        apply_change_ops(d, ch.ops_off, ch.ops_len, ch.peer, ch.counter, ch.lamport)
    return 0


cdef dict shallow_clamp(LoroDoc d, dict start):
    """`start` ({peer: counter}) raised to a shallow document's start version where it is
    below it: exports hold the retained history only, as loro's (the same dict when no
    peer moves)."""
    cdef dict out = None
    for p, c in d.shallow_sv.items():
        if start.get(p, 0) < c:
            if out is None:
                out = dict(start)
            out[p] = c
    return start if out is None else out
