# Included by _events.pyx: the order of the containers in an event. loro keeps its
# calculators in a hash map keyed by arena index: hash_rank/import_rank rebuild that order from loro_c's model
# of the arena's numbering (doc/exchange.pxi), and decide which containers loro reports new.


cdef inline object arena_key(LoroDoc doc, uint32_t c, object n):
    """loro's map key of container `c` numbered `n` in its arena (hash_order.container_idx:
    the kinds are loro's type codes)."""
    cdef int code = doc.ckind[c]
    return ((code if code < 6 else 0) << 27) | n


cdef object numbered_key(LoroDoc doc, dict lnum, uint32_t c):
    """Container `c`'s key in loro's maps, numbering it as loro's arena would when it is
    not numbered yet (the caller flushed the pending numbers: lnum_flush)."""
    cid = doc.cids[c]
    n = lnum.get(cid)
    if n is None:
        lnum[cid] = n = len(lnum)
    return arena_key(doc, c, n)


cdef list hash_keys(LoroDoc doc, containers, dict back):
    """loro's map keys of `containers` (noting in `back` which container each one is)."""
    cdef list keys = []
    if doc.meta_n:
        lnum_flush(doc)
    for c in containers:
        k = numbered_key(doc, doc.lnum, <uint32_t>c)
        back[k] = c
        keys.append(k)
    return keys


cdef int arena_depth(LoroDoc doc, uint32_t c) except -1:
    """The depth loro's arena gives a container: by the parents that created it; a
    mergeable child (a root by its id) one more than the map its name points to, shown
    there or not, as loro's arena links it when it registers the child."""
    cdef int d = 1
    cid = doc.cids[c]
    while True:
        if isinstance(cid, _types.ContainerID.Root):
            got = _mergeable_parse(cid)
            if got is None:
                return d
            cid = got[0]
        else:
            p = parent_of(doc, cid)
            if p is None:
                return 1 << 20
            cid = doc.cids[p[0]]
        d += 1


cdef int note_reported(LoroDoc doc, object c, dict back, set calc, set seen, list new,
                       list phantom, list rep) except -1:
    """A container a calculator reports, as its diff meets it: one without a calculator of
    its own (its key not in `calc`, the calculator's map) joins loro's set of reported
    containers there, and the calculator's map after it (`new`), whether the event shows
    it or not; one with a calculator of its own is held in that set until its calculator
    runs (`phantom`); `rep` is every one in the order met."""
    for k in hash_keys(doc, [c], back):
        if k not in calc:
            if k not in seen:
                seen.add(k)
                new.append(k)
                rep.append(k)
        elif k not in phantom:
            phantom.append(k)
            rep.append(k)
    return 0


cdef dict import_rank(LoroDoc doc, dict groups, list out, list nopath, list wrapped,
                      set revived=None, list metas=None, list counters=None, set own=None):
    """Ranks of an import's (or checkout's) diffs as loro orders them: its diff calculator
    iterates the set of containers the ops touched, keeps those with a diff and sorts them
    by depth (stable) into a map, adds the containers the diffs create (a set of them,
    keyed by ContainerID: reported_order); its
    state applies the map's diffs sorted by depth again, bringing back after each depth's
    diffs the children they show that no calculator reported (`revived`: a movable list's
    child whose element the version before has; `counters`: those of the counters shown
    only as a new value whose map's calculator does not report them), and the event's map
    takes them in that
    order, leaving out containers without path and those whose diff is empty (an empty
    container an insert brought in: seed 44 of the differential sessions, whose event has
    three diffs and would come in another order from a map of four). `metas`: the meta maps
    (ids) of the nodes a replayed tree diff creates, which its calculator reports too. A
    checkout's map with a key another write of an equal value now wins is in the map too,
    though the event leaves it out (_calc_held). `own`: the containers whose own ops give
    them a diff."""
    back = {}
    depth = {}
    shown = set()
    for x in out:
        depth[x[2]] = x[0]
        shown.add(x[2])
    for c in nopath:
        depth[c] = arena_depth(doc, c)
    keys = hash_keys(doc, groups, back)
    walk = walked_containers(doc, out)
    if walk is not None and _walk_ranges is not None:
        ends = None
        for c in walk:
            if c not in depth and doc.ckind[<uint32_t>c] == KIND_MOVABLE_LIST:
                if ends is None:
                    ends = closure_ends(doc, doc.evs.tree_lca[1])
                # (a checkout's calculator keeps the elements of the walks before it too)
                if ml_keeps_elements(doc, c, _walk_ranges, ends) or (
                        doc.evs.before is not None and ml_kept_alive(doc, c, ends)):
                    depth[c] = arena_depth(doc, c)
    if walk is not None:
        # the containers in the order loro's walk of the version DAG meets them: those the
        # ops of a checkout or concurrent import name, and those of the history walked
        # again from the common ancestor loro's search finds (loro_c._dag_order)
        kc = dict(zip(groups, keys))
        lnum = doc.lnum
        for c in walk:
            if c not in kc:
                n = lnum.get(doc.cids[c])
                if n is not None:
                    kc[c] = k = arena_key(doc, <uint32_t>c, n)
                    back[k] = c
        seen = set()
        keys = []
        for c in walk:
            if c in kc:
                keys.append(kc[c])
                seen.add(c)
        for c in groups:
            if c not in seen:
                keys.append(kc[c])
    walked = set(walk) if walk is not None else None
    if _calc_held:
        # a map whose calculator's diff holds a key won by another write of the same value:
        # in the calculator's map, with nothing for the event (a checkout's where loro's
        # walk of the DAG meets it)
        for c in _calc_held:
            if c not in depth and (doc.evs.before is None or (walked is not None and c in walked)):
                depth[c] = arena_depth(doc, c)
    idle = None
    if revived is None:
        revived = set()
    elif walked is not None:
        # one with a calculator of its own is in the map where its diff is; one whose ops
        # give it none (a counter's adding up to 0) is not, as no calculator reports it new
        # (its element is older): the state brings it back as the others (kinds session 461)
        held = set(_calc_held) if _calc_held else ()
        idle = {c for c in revived if c in walked and own is not None and c not in own
                and c not in held}
        revived = (revived - walked) | idle
    if metas and walked is not None and own is not None:
        # the same for a child with ops walked but no diff of their own inside the whole
        # value of a node's meta map the tree's calculator reports, with no calculator on the
        # way up to it: nothing reports the child, loro's state revives it after the meta map
        # (latek session 19896: a meta map's counter incremented by 0)
        quiet = meta_shown_quiet(doc, out, set(metas), walked, own)
        if quiet:
            idle = (idle or set()) | quiet
            revived = revived | quiet
    if walked is not None:
        # a created child with a calculator of its own (its ops walked) goes in the map when
        # the calculator is, as brought back, even when its diff is empty
        for c in wrapped:
            if c in walked and c not in depth and c not in revived and not fast_map_child(doc, c):
                depth[c] = arena_depth(doc, c)
        if metas:
            for cid in metas:
                c = doc.cid_index.get(cid)
                if c is not None and c in walked and c not in depth:
                    depth[c] = arena_depth(doc, c)
    # a counter shown only as a map's new value (no diff of its own: none of its ops, or
    # ops adding up to 0) that the map's calculator does not report is in no calculator
    # map: loro's state revives it when the map's diff shows it, after the diffs of its
    # depth, as the event's map gets them
    # (a mergeable child's map never reports it: its marker is no container value)
    rev = [c for c in counters if doc.croot[<uint32_t>c] == ROOT_MERGEABLE
           or fast_map_child(doc, c)] if counters else []
    revset = set(rev)
    if rev:
        revived = revived | revset
    if own is not None:
        # the same for a counter shown with ops of its own that add up to nothing (its
        # calculator's diff is empty: loro leaves it out of the map) whose parent's
        # calculator does not report it (kinds session 706: a movable list's new child
        # counter incremented by 0, in an import replayed from the version before)
        for x in out:
            c = x[2]
            if (doc.ckind[<uint32_t>c] == KIND_COUNTER and c not in own and c not in revset
                    and doc.croot[<uint32_t>c] == ROOT_NONE and fast_map_child(doc, c)):
                rev.append(c)
                revset.add(c)
                revived = revived | {c}
    order = iteration_order(keys)
    ans = [k for k in order if back[k] in depth and back[k] not in revset
           and (idle is None or back[k] not in idle)]
    ans.sort(key=lambda k: depth[back[k]])
    seen = set(ans)
    calc = set(ans)     # the containers with a calculator of their own
    new = []
    newcid = {}     # the ids of the unregistered meta maps among `new`
    # the reported containers that have a calculator of their own (in `ans`), and every
    # reported one in the order met: loro's set of reported containers holds those too
    # until their calculators run (reported_order)
    phantom = []
    rep = []
    # (a container shown in the whole value of a created node's meta map, none of them on
    # the way with a calculator of its own: loro's state revives them after the meta map,
    # outside the calculator's map)
    in_metas = set(metas) if metas else None
    if own is not None and wrapped:
        # a child shown in the whole value of a container whose own ops give it no diff (one
        # brought back): that container's calculator reports nothing, loro's state revives
        # the child after the diffs of its depth, unless the child's own ops give it a diff
        # (plain session 3611: an empty list inside a list a checkout restores stays out of
        # the calculator's map; kinds 1386: two children of such a list). The container
        # brought back may have no path (a child of a dead container): loro's calculators
        # know nothing of paths, its children are reported by nobody all the same (plain
        # session 7002: a list a dead map's key holds again, its two child lists)
        whole = {x[2] for x in out if x[2] not in own}
        whole.update(c for c in wrapped if c not in own)
        if whole:
            quiet = set()
            for c in wrapped:
                if doc.croot[<uint32_t>c] != ROOT_NONE:
                    continue        # (a mergeable child: its parent's marker, see below)
                link = parent_of(doc, doc.cids[c])
                if link is not None and link[0] in whole and c not in own:
                    quiet.add(c)
            if quiet:
                revived = revived | quiet
    if own is not None and wrapped and _whole_own_shows:
        # the same for a child in the whole value of a container a checkout brings back
        # whose own ops do give it a diff: its calculator reports only the children that
        # diff shows (a list's inserts, a map's changed keys); the others (inserted before
        # the checkout's span) loro's state revives after the diffs of their depth, outside
        # the calculator's map (plain session 1700: a counter in a list a map's key holds
        # again, the list's diff deleting another element)
        quiet = set()
        for c in wrapped:
            if doc.croot[<uint32_t>c] != ROOT_NONE or c in own:
                continue
            link = parent_of(doc, doc.cids[c])
            if link is None:
                continue
            kids = _whole_own_shows.get(link[0])
            if kids is not None and c not in kids:
                quiet.add(c)
        if quiet:
            revived = revived | quiet
    for c in wrapped:
        if in_metas is not None and c not in depth and under_meta(doc, c, in_metas, depth, walked):
            continue
        if c not in revived and not fast_map_child(doc, c):
            note_reported(doc, c, back, calc, seen, new, phantom, rep)
    if walked is not None and _walk_ranges and doc.mls is not None:
        # a movable list's calculator replaying from an ancestor reports the container value
        # of every element new to the version before that the version after has, deleted
        # there or not (loro's checkout index finds a deleted element's last position too):
        # those the diff does not show are in the calculator's map all the same
        # (kinds session 993: a child text inserted and deleted in the checkout's range)
        for c in ml_dead_children(doc, _walk_ranges, shown):
            if c not in revived:
                note_reported(doc, c, back, calc, seen, new, phantom, rep)
    if metas:
        # loro's tree calculator reports the meta map of each node its replayed diff
        # creates (registered then if it was not; a meta map loro_c never made a container
        # for is no diff: it only takes a key)
        if doc.meta_n:
            lnum_flush(doc)
        lnum = doc.lnum
        for mcid in metas:
            mc = doc.cid_index.get(mcid)
            if mc is not None:
                k = hash_keys(doc, [mc], back)[0]
                if k in calc:
                    if k not in phantom:
                        phantom.append(k)
                        rep.append(k)
                    continue
                if mc in depth and mc in revived:
                    continue
                # (one without a calculator of its own -- its ops all known before -- is a
                # member here, in the tree diff's order, though the event shows it whole:
                # kinds session 1384)
            else:
                n = lnum.get(mcid)
                if n is None:
                    lnum[mcid] = n = len(lnum)
                k = container_idx("Map", n)
                back.setdefault(k, -1)
                newcid[k] = mcid
            if k not in seen:
                seen.add(k)
                new.append(k)
                rep.append(k)
    for x in out:
        # shown whole (a checkout's, a movable list's): brought back, like the created ones
        if x[2] in revived:
            continue
        for k in hash_keys(doc, [x[2]], back):
            if k not in seen:
                seen.add(k)
                new.append(k)
                rep.append(k)
    if len(new) > 1:
        new = reported_order(doc, rep, back, ans, newcid, phantom)
    ans.extend(new)
    nop = set(nopath)
    # loro's state applies the calculator's diffs in its map's order sorted by depth
    # (stably), bringing back after each depth's diffs the children they show that have no
    # diff of their own (a set of them); the event's map takes them in that order
    kept = [k for k in iteration_order(ans) if back[k] not in nop and back[k] in shown]
    rv = None
    if revived:
        rvc = [x[2] for x in out if x[2] in revived]
        # (in the order loro's state meets them, a set per depth: kinds session 1386, two
        # children of a list brought back that share a bucket; mergeable ones measured)
        rvc = revive_sequence(doc, out, rvc, [back[k] for k in ans], depth)
        rv = [k for k in hash_keys(doc, rvc, back) if k not in seen]
    if rv or len({depth[back[k]] for k in kept}) > 1:
        rows = [(depth[back[k]], 0, i, k) for i, k in enumerate(kept)]
        if rv:
            rows.extend((depth[back[k]], 1, i, k) for i, k in enumerate(rv))
        rows.sort()
        kept = [r[3] for r in rows]
    order = iteration_order(kept)
    return {back[k]: r for r, k in enumerate(order)}


cdef list revive_sequence(LoroDoc doc, list out, list revived, list calc, dict depth):
    """The containers loro's state brings back (`revived`, those of `out` no calculator
    reports) in the order it brings them back. Its state applies the calculator's diffs by
    depth (`calc`: its map's order, sorted by depth) and then those it brought back; each
    diff's container values go into a set for the next depth (a map's in the order its
    diff's keys come), and those of that set no diff of their own took are brought back,
    in the set's order, after the diffs of their depth."""
    rows = {x[2]: x for x in out}
    want = set(revived)
    by_depth = {}
    for c in revived:
        by_depth.setdefault(depth[c], []).append(c)
    done = []
    walk = [None]   # (walk_map_keys, computed when a map's diff first needs it)
    proc = [c for c in calc if c in rows]       # processed, in order (a depth's calculator diffs, then its revived)
    for d in sorted(by_depth):
        seq = []
        met = set()
        for p in proc:
            if depth.get(p) != d - 1:
                continue
            for ch in shown_children(doc, p, rows[p][3], walk):
                if ch not in met:
                    met.add(ch)
                    seq.append(ch)
        layer = []
        if seq:
            kb = {}
            layer = [kb[k] for k in iteration_order(hash_keys(doc, seq, kb))
                     if kb[k] in want and depth.get(kb[k]) == d]
        have = set(layer)
        rest = [c for c in by_depth[d] if c not in have]      # (no parent met: the set's order)
        if rest:
            kb = {}
            layer.extend(kb[k] for k in iteration_order(hash_keys(doc, rest, kb)))
        done.extend(layer)
        proc.extend(layer)
    return done


cdef set diff_children(LoroDoc doc, object d):
    """The containers a list's or map's diff shows as values (inserted, or a key's value)."""
    out = set()
    vals = []
    if isinstance(d, Diff.Map):
        vals = list(d.diff.updated.values())
    elif isinstance(d, Diff.List):
        for it in d.diff:
            if isinstance(it, ListDiffItem.Insert):
                vals.extend(it.insert)
    for v in vals:
        if isinstance(v, _types.ValueOrContainer.Container) and _wrapped_at:
            c = _wrapped_at.get(id(v.container))
            if c is not None:
                out.add(c)
    return out


cdef list shown_children(LoroDoc doc, uint32_t p, object cd, list walk):
    """The containers the diff `cd` of `p` shows as values, in the order loro's state meets
    them (a list's inserts in order, a map's keys in the order of its diff's hash map). That map is filled from the
    calculator's map of changed keys, which takes the keys as loro's walk of the version DAG
    meets their ops (`walk[0]`: walk_map_keys, filled on first use), so two keys sharing a
    bucket come in that order (mergeable sessions 69, 365: a concurrent peer's op met before
    older local ones)."""
    cdef int64_t slot
    d = cd.diff
    out = []
    if isinstance(d, Diff.Map) and doc.ckind[p] == KIND_MAP:
        upd = d.diff.updated
        ranks = None
        if len(upd) > 1:
            if walk[0] is None:
                walk[0] = walk_map_keys(doc)
            ranks = walk[0].get(p)
        if ranks:
            keys = map_diff_key_order(list(ranks), upd)
        else:
            keys = str_key_order(list(upd))
        for key in keys:
            v = upd[key]
            if v is None or not isinstance(v, _types.ValueOrContainer.Container):
                continue
            slot = map_slot(doc, p, key)
            if slot < 0:
                continue
            cid = map_public_value(doc, p, key, doc.log.values[slot])
            if isinstance(cid, _types.ContainerID):
                c = doc.cid_index.get(cid)
                if c is not None:
                    out.append(c)
    elif isinstance(d, Diff.List):
        # (a list's or movable list's inserted values, in order)
        for it in d.diff:
            if isinstance(it, ListDiffItem.Insert):
                for v in it.insert:
                    if isinstance(v, _types.ValueOrContainer.Container) and _wrapped_at:
                        c = _wrapped_at.get(id(v.container))
                        if c is not None:
                            out.append(c)
    return out


cdef dict walk_map_keys(LoroDoc doc):
    """For each map with ops between the two versions of the checkout or import being
    collected, its keys in the order loro's walk of the version DAG first meets their ops
    ({} when there is no such walk: a shallow history, or no versions noted)."""
    cdef lc_range_ops it
    cdef lc_op *op
    cdef OpLog log = doc.log
    if doc.evs is None or doc.shallow_sv is not None:
        return {}
    versions = doc.evs.tree_lca if doc.evs.tree_lca is not None else _greater_import
    if versions is None:
        return {}
    ranges = []
    dag_walk(log, list(versions[0]), list(versions[1]), ranges, None, doc.vv_touches,
             doc.vv_loaded, False, False, cold=cold_index(doc))
    # (the walk may start below both versions: ops both have are replayed, not changes)
    be = closure_ends(doc, list(versions[0]))
    ae = closure_ends(doc, list(versions[1]))
    out = {}
    keys = log.keys
    for r in ranges:
        lo = min(be[r[0]], ae[r[0]]) if r[0] < len(be) and r[0] < len(ae) else 0
        if r[2] <= lo:
            continue
        range_ops_start(log, &it, r[0], max(r[1], lo), r[2])
        op = range_ops_next(log, &it)
        while op != NULL:
            if ((op.kind == LC_OP_MAP_SET or op.kind == LC_OP_MAP_DELETE)
                    and doc.ckind[op.container] == KIND_MAP):
                ranks = out.get(op.container)
                if ranks is None:
                    out[op.container] = ranks = {}
                k = keys[<uint32_t>op.pos]
                if k not in ranks:
                    ranks[k] = len(ranks)
            op = range_ops_next(log, &it)
    return out


cdef list reported_order(LoroDoc doc, list new, dict back, list ans, dict newcid,
                         list phantom=None):
    """The containers loro's calculators report as created (`new`, keys of `back`, in the
    order met) in the order of the set loro collects them in: keyed by ContainerID, filled
    as the calculators run (in `ans` order, each reporting its children in its diff's
    order). `phantom`: those of `new` (in `ans`) that have a calculator of their own, left
    out of the result: loro takes each
    out of the set when that calculator runs (it brings the container back there), but
    the set has grown with it and its other members sit where they went in (kinds session
    1023: a list's child counter with an op of its own made the set of three meta maps
    grow)."""
    rank = {back[k]: i for i, k in enumerate(ans)}
    cids = []
    for k in new:
        c = back[k]
        cid = doc.cids[c] if c >= 0 else newcid[k]
        if isinstance(cid, _types.ContainerID.Root):
            # a mergeable child: reported by the map its parent's slot names
            p = mergeable_parent(doc, <uint32_t>c) if c >= 0 else None
        else:
            p = parent_of(doc, cid)
        cids.append((rank.get(p[0], len(ans)) if p is not None else len(ans), len(cids), k, cid))
    cids.sort()
    by_id = {}
    tup = {}
    for _, _, k, cid in cids:
        if isinstance(cid, _types.ContainerID.Root):
            t = (cid.name, None, None, str(cid.container_type))
        else:
            t = (None, cid.peer, cid.counter, str(cid.container_type))
        by_id[t] = k
        tup[k] = t
    if not phantom:
        return [by_id[t] for t in container_id_order(list(by_id))]
    gone = {tup[k]: rank.get(back[k], len(ans)) for k in phantom}
    ops = []
    j = 0
    for i in range(len(ans) + 1):
        t = tup.get(ans[i]) if i < len(ans) else None
        if t is not None and t in gone and gone[t] == i:
            ops.append((t, False))
        while j < len(cids) and cids[j][0] == i:
            ops.append((tup[cids[j][2]], True))
            j += 1
    while j < len(cids):
        ops.append((tup[cids[j][2]], True))
        j += 1
    return [by_id[t] for t in container_id_order_ops(ops) if t not in gone]


cdef set meta_shown_quiet(LoroDoc doc, list out, set metas, set walked, set own):
    """The containers of `out` with ops walked but no diff of their own whose parents up to
    a meta map in `metas` (ids) have no ops walked, the meta map neither."""
    quiet = set()
    for x in out:
        c = x[2]
        if c not in walked or c in own:
            continue
        p = parent_of(doc, doc.cids[c])
        while p is not None:
            pc = p[0]
            if pc in walked:
                break
            if doc.cids[pc] in metas:
                quiet.add(c)
                break
            p = parent_of(doc, doc.cids[pc])
    return quiet


cdef bint under_meta(LoroDoc doc, uint32_t c, set metas, dict depth, set walked) except -1:
    """Whether `c` hangs under one of the meta maps (ids) `metas` through containers that
    have no diff and no ops walked."""
    p = parent_of(doc, doc.cids[c])
    while p is not None:
        pc = p[0]
        if doc.cids[pc] in metas:
            return pc not in depth and (walked is None or pc not in walked)
        if pc in depth or (walked is not None and pc in walked):
            return False
        p = parent_of(doc, doc.cids[pc])
    return False


cdef bint fast_map_child(LoroDoc doc, uint32_t c) except -1:
    """Whether `c` is a child a map's diff creates that loro's calculator does not report:
    its map calculator reports them only when it replays the map from an ancestor (a
    checkout, a concurrent import whose base loro lowers, a map edited on both sides), not
    when it hands on the changed keys as they are (an import that holds the document's
    version, or whose concurrency is on maps and counters only, for the maps not edited on
    both sides: diverged_containers)."""
    if _greater_import is None and _compared_maps is None and _calc_from_before is None:
        return False
    if doc.croot[c] != ROOT_NONE:
        # a root (a mergeable child among them) is made by no op of a map
        return False
    p = parent_of(doc, doc.cids[c])
    if p is None:
        return False
    if doc.ckind[<uint32_t>p[0]] == KIND_MOVABLE_LIST:
        # (a movable list's calculator reports the new values of elements only when it
        # replays the list from an ancestor: a checkout or a concurrent import from a
        # lowered base)
        return (_greater_import is not None and not greater_replayed(doc)) or (
            _calc_from_before is not None and p[0] not in _calc_from_before)
    if _greater_import is None and _compared_maps is None:
        return False
    if doc.ckind[<uint32_t>p[0]] != KIND_MAP:
        return False
    if _greater_import is not None:
        # (unless loro replays the maps of an import that follows the version)
        return not greater_replayed(doc)
    return p[0] not in _compared_maps


cdef object walked_containers(LoroDoc doc, list out):
    """The containers loro's diff calculator meets, in order, for the checkout or concurrent
    import being collected (doc.evs.tree_lca holds its two versions), or None when the
    event's order does not depend on it (no two diffs tie on depth and counter) or the
    history is shallow. The walk (loro_c._dag_order) keeps the log's DAG across events and
    costs about what loro's own walk does."""
    if doc.evs is None or doc.shallow_sv is not None:
        return None
    versions = doc.evs.tree_lca if doc.evs.tree_lca is not None else _greater_import
    if versions is None:
        return None
    ties = set()
    for x in out:
        t = (x[0], x[1])
        if t in ties:
            break
        ties.add(t)
    else:
        return None
    before, after = versions
    global _walk_ranges
    # (the ranges are for ml_keeps_elements: only a document with movable lists needs them)
    _walk_ranges = [] if doc.evs.tree_lca is not None and doc.mls is not None else None
    return dag_walk(doc.log, list(before), list(after), _walk_ranges, None, doc.vv_touches,
                    doc.vv_loaded, doc.evs.tree_lca is not None and doc.evs.lca_ordered,
                    doc.evs.tree_lca is not None and doc.evs.lca_after_ordered, cold=cold_index(doc))


cdef dict cold_index(LoroDoc doc):
    """LoroDoc.dag_cold by peer index, for a walk (None: every block read)."""
    if not doc.dag_cold:
        return None
    cdef dict pm = doc.log.peer_map
    out = {}
    for pid, end in doc.dag_cold.items():
        got = pm.get(pid)
        if got is not None:
            out[got] = end
    return out or None


cdef object _walk_ranges = None     # the id ranges the last walked_containers visited


cdef list ml_dead_children(LoroDoc doc, list ranges, set shown):
    """The child containers (not in `shown`) held at the version after by the movable list
    elements the walked id `ranges` insert that are new to the version before (the two
    versions of doc.evs.tree_lca), of the lists whose calculator replays them from an
    ancestor (see fast_map_child)."""
    cdef OpLog log = doc.log
    cdef MovableState s = doc.mls
    cdef lc_range_ops it
    cdef lc_change *ch
    cdef lc_op *op
    cdef lc_ml_elem *el
    cdef uint32_t p
    cdef int32_t s0, s1, lo, hi, a0, a1, i
    cdef int64_t e
    out = []
    if s is None or doc.evs is None or doc.evs.tree_lca is None or _greater_import is not None:
        return out
    be = closure_ends(doc, list(doc.evs.tree_lca[0]))
    ae = closure_ends(doc, list(doc.evs.tree_lca[1]))
    values = log.values
    for p, s0, s1 in ranges:
        lo = max(s0, be[p] if p < len(be) else 0)
        hi = min(s1, ae[p] if p < len(ae) else 0)
        if hi <= lo:
            continue
        range_ops_start(log, &it, p, lo, hi)
        op = range_ops_next(log, &it)
        while op != NULL:
            if (op.kind == LC_OP_INSERT and doc.ckind[op.container] == KIND_MOVABLE_LIST
                    and (_calc_from_before is None or op.container in _calc_from_before)):
                ch = it.change
                a0 = max(op.counter, lo)
                a1 = min(op.counter + op_atoms(op), hi)
                for i in range(a0, a1):
                    e = ml_elem_lookup(s, (<uint64_t>p << 32) | (ch.lamport + <uint32_t>(i - ch.counter)))
                    if e < 0:
                        continue
                    el = &s.elems[e]
                    if el.val_slot < 0:
                        continue
                    v = values[el.val_slot]
                    if isinstance(v, _types.ContainerID):
                        c = doc.cid_index.get(v)
                        if c is not None and c not in shown:
                            out.append(c)
            op = range_ops_next(log, &it)
    return out


cdef bint ml_keeps_elements(LoroDoc doc, uint32_t c, list ranges, list ends) except -1:
    """Whether the ops of movable list `c` in the walked `ranges` insert, move or set an
    element version `ends` has: loro's calculator then holds that element in its diff
    (unchanged or not), so the list is in its map of diffs even when the event shows
    nothing of it."""
    cdef OpLog log = doc.log
    cdef lc_range_ops it
    cdef lc_op *op
    cdef int32_t s0
    cdef uint32_t p
    cdef MovableState st = doc.mls
    cdef lc_ml_elem *el
    cdef int64_t e
    for r in ranges:
        p = r[0]
        s0 = r[1]
        range_ops_start(log, &it, p, s0, r[2])
        op = range_ops_next(log, &it)
        while op != NULL:
            if op.container != c:
                pass
            elif op.kind == LC_OP_INSERT:
                if max(op.counter, s0) < <int32_t>ends[p]:
                    return True
            elif (op.kind == LC_OP_MOVE or op.kind == LC_OP_SET) and st is not None:
                e = ml_elem_lookup(st, (<uint64_t>op.start_id.peer << 32) | <uint32_t>op.start_id.counter)
                if e >= 0:
                    el = &st.elems[e]
                    if el.peer < len(ends) and el.counter < ends[el.peer]:
                        return True
            op = range_ops_next(log, &it)
    return False


cdef int arena_hashes(LoroDoc doc, const uint32_t *containers, Py_ssize_t n,
                      uint64_t *hashes) except -1:
    """Write the hash of loro's map key (arena_key) of each of the `n` containers,
    numbering those not numbered yet as loro's arena would."""
    cdef Py_ssize_t i
    if doc.meta_n:
        lnum_flush(doc)
    for i in range(n):
        hashes[i] = fx_finish(fx_add(0, <uint64_t>numbered_key(doc, doc.lnum, containers[i])))
    return 0


cdef struct place_table:
    # container -> its place in the order met: open addressing, linear probing
    uint32_t *keys          # the container + 1 (0: a free slot)
    int64_t *places
    uint64_t mask


cdef int place_table_init(place_table *t, Py_ssize_t n) except -1:
    cdef uint64_t size = 16
    while size < <uint64_t>(2 * n + 2):
        size <<= 1
    t.keys = <uint32_t*>calloc(size, sizeof(uint32_t))
    t.places = <int64_t*>malloc(size * sizeof(int64_t))
    t.mask = size - 1
    if t.keys == NULL or t.places == NULL:
        raise MemoryError()
    return 0


cdef void place_table_free(place_table *t) noexcept:
    free(t.keys)
    free(t.places)


cdef int64_t place_of(place_table *t, uint32_t c, int64_t new) noexcept:
    """Container `c`'s place; an absent one takes place `new` (the table is never more
    than half full)."""
    cdef uint64_t h = (<uint64_t>c * <uint64_t>0x9E3779B97F4A7C15) >> 32
    while True:
        h &= t.mask
        if t.keys[h] == c + 1:
            return t.places[h]
        if t.keys[h] == 0:
            t.keys[h] = c + 1
            t.places[h] = new
            return new
        h += 1


cdef dict hash_rank(LoroDoc doc, list containers):
    """Each container's place in loro's order of `containers` (given in the order met)
    after they went through a hash map (hash_order.iteration_order's steps)."""
    cdef dict places = {}
    for c in containers:
        if c not in places:
            places[c] = len(places)
    cdef list met = list(places)
    cdef Py_ssize_t n = len(met), r
    cdef uint64_t *hashes = <uint64_t *>malloc((n + 1) * sizeof(uint64_t))
    cdef int64_t *order = <int64_t *>malloc((n + 1) * sizeof(int64_t))
    cdef uint32_t *conts = <uint32_t *>malloc((n + 1) * sizeof(uint32_t))
    try:
        if hashes == NULL or order == NULL or conts == NULL:
            raise MemoryError()
        for r in range(n):
            conts[r] = <uint32_t>met[r]
        arena_hashes(doc, conts, n, hashes)
        hb_table_order(hashes, n, order)
        return {met[order[r]]: r for r in range(n)}
    finally:
        free(hashes)
        free(order)
        free(conts)


cdef struct ranked_diff:
    int64_t depth
    int64_t first       # 0 for a root, else its id's counter + 1
    int64_t rank        # its place in loro's hash maps' order
    int64_t at          # its place in collect's list


cdef int ranked_cmp(const void *a, const void *b) noexcept nogil:
    cdef const ranked_diff *x = <const ranked_diff *>a
    cdef const ranked_diff *y = <const ranked_diff *>b
    if x.depth != y.depth:
        return -1 if x.depth < y.depth else 1
    if x.first != y.first:
        return -1 if x.first < y.first else 1
    return -1 if x.rank < y.rank else (1 if x.rank > y.rank else 0)


cdef list commit_order(LoroDoc doc, dict groups, list out):
    """The diffs of a commit (collect's `out`: (depth, 0 for a root else the id's counter
    + 1, container, diff)) in loro's order: by depth, roots first and the others by
    creation counter, then as loro's two hash maps yield them (the transaction's map of
    event hints, filled as the ops met the containers, iterated into the event's map,
    which takes those with a path: `out`'s). In C, as an event of thousands of containers
    is ordered on every commit."""
    cdef Py_ssize_t n_out = len(out), n = 0, i, j, m
    cdef int64_t k
    cdef place_table places
    cdef uint64_t *hashes = NULL
    cdef int64_t *ints = NULL
    cdef int64_t *first_order
    cdef int64_t *kept
    cdef int64_t *second_order
    cdef int64_t *rank
    cdef int64_t *in_event
    cdef int64_t *out_place
    cdef uint32_t *met = NULL          # the containers in the order the ops met them
    cdef ranked_diff *ranked = NULL
    cdef Py_ssize_t cap = len(groups) + n_out
    places.keys = NULL
    places.places = NULL
    try:
        place_table_init(&places, cap)
        met = <uint32_t *>malloc((cap + 1) * sizeof(uint32_t))
        hashes = <uint64_t *>malloc((2 * cap + 1) * sizeof(uint64_t))
        ints = <int64_t *>calloc(6 * cap + 1, sizeof(int64_t))
        ranked = <ranked_diff *>malloc((n_out + 1) * sizeof(ranked_diff))
        if met == NULL or hashes == NULL or ints == NULL or ranked == NULL:
            raise MemoryError()
        first_order, kept, second_order = ints, ints + cap, ints + 2 * cap
        rank, in_event, out_place = ints + 3 * cap, ints + 4 * cap, ints + 5 * cap
        for c in groups:
            place_of(&places, <uint32_t>c, n)
            met[n] = <uint32_t>c
            n += 1
        for i in range(n_out):
            k = place_of(&places, <uint32_t>(<tuple>out[i])[2], n)
            if k == n:
                met[n] = <uint32_t>(<tuple>out[i])[2]
                n += 1
            out_place[i] = k
            in_event[k] = 1
        arena_hashes(doc, met, n, hashes)
        hb_table_order(hashes, n, first_order)
        # the event's map is filled as the first one iterates, with those it takes
        m = 0
        for j in range(n):
            k = first_order[j]
            if in_event[k]:
                hashes[n + m] = hashes[k]
                kept[m] = k
                m += 1
        hb_table_order(hashes + n, m, second_order)
        for j in range(m):
            rank[kept[second_order[j]]] = j
        for i in range(n_out):
            x = out[i]
            ranked[i].depth = (<tuple>x)[0]
            ranked[i].first = (<tuple>x)[1]
            ranked[i].rank = rank[out_place[i]]
            ranked[i].at = i
        qsort(ranked, n_out, sizeof(ranked_diff), ranked_cmp)
        return [(<tuple>out[ranked[i].at])[3] for i in range(n_out)]
    finally:
        place_table_free(&places)
        free(met)
        free(hashes)
        free(ints)
        free(ranked)


cdef set created_before(LoroDoc doc, list containers):
    """The counters among `containers` that the version a checkout leaves has (their
    creating op in it, or the element a movable list's set gave one): a movable list that
    shows one again in a checkout reports it whole, 0 too, as loro, unless the list's
    element is new to that version (loro's calculator brings it back then, with an empty
    diff: measured on loro 1.17.1)."""
    out = set()
    if doc.evs is None or doc.evs.tree_lca is None:
        return out
    ends = closure_ends(doc, doc.evs.tree_lca[0])
    # (a counter a set gave an element that version has is not new to it either)
    out = ml_elems_before(doc, containers, ends)
    for c in containers:
        if doc.ckind[<uint32_t>c] != KIND_COUNTER:
            continue
        cid = doc.cids[c]
        p = doc.log.peer_map.get(cid.peer)
        if p is not None and cid.counter < ends[<uint32_t>p]:
            out.add(c)
    return out


cdef list before_ends(LoroDoc doc):
    """Per peer index, the end counter of the version a concurrent import started from
    (None for other batches)."""
    if doc.evs is None or doc.evs.tree_lca is None or doc.shallow_sv is not None:
        return None
    return closure_ends(doc, doc.evs.tree_lca[0])


cdef list closure_ends(LoroDoc doc, list version):
    """Per peer index, the end counter of the history of `version` [(peer index, counter)]."""
    cdef OpLog log = doc.log
    cdef int64_t i, n = len(version)
    cdef lc_id *ids = <lc_id*>malloc(<size_t>(n + 1) * sizeof(lc_id))
    cdef int32_t *fc = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    try:
        if ids == NULL or fc == NULL:
            raise MemoryError()
        for i in range(n):
            ids[i] = make_id(version[i][0], version[i][1])
        log.closure(ids, n, make_id(LC_NO_PEER, 0), fc)
        return [fc[i] for i in range(log.n_peers)]
    finally:
        free(ids)
        free(fc)


cdef bint made_before(LoroDoc doc, object cid, list ends):
    """Whether the op creating child container `cid` is in the version `ends`."""
    p = doc.log.peer_map.get(cid.peer)
    return p is not None and <uint32_t>p < len(ends) and cid.counter < ends[<uint32_t>p]


cdef bint reported_new_by_parent(LoroDoc doc, object cid, list ends):
    """Whether child `cid` was created after the version `ends` by a parent whose
    calculator reports it new: a map whose import diff compares values
    (diverged_containers), a list (loro's list calculator reports every container its
    diff inserts, in any mode; `cid` is created by its insert, so the diff has it), a
    movable list whose element holding it is new (ml_elems_before)."""
    if made_before(doc, cid, ends):
        return False
    link = parent_of(doc, cid)
    if link is None:
        return False
    if link[1] == LC_OP_INSERT and (doc.ckind[<uint32_t>link[0]] == KIND_LIST
                                    or doc.ckind[<uint32_t>link[0]] == KIND_MOVABLE_LIST):
        return True
    if link[1] == LC_OP_SET and doc.ckind[<uint32_t>link[0]] == KIND_MOVABLE_LIST:
        # (a set: reported when its element is new too)
        c = doc.cid_index[cid]
        return c not in ml_elems_before(doc, [c], ends, False)
    if link[1] != LC_OP_MAP_SET or doc.ckind[<uint32_t>link[0]] != KIND_MAP:
        return False
    return _compared_maps is None or link[0] in _compared_maps


cdef set ml_elems_before(LoroDoc doc, list containers, list ends, bint counters_only=True):
    """The counters among `containers` (any of them: not `counters_only`) held by a movable
    list element that the version `ends` has (inserted in it; a set may have given it the
    counter since): loro's calculator does not report them new (it reports new elements)."""
    cdef OpLog log = doc.log
    cdef int64_t ch, k, e
    cdef lc_op *op
    cdef MovableState s = doc.mls
    cdef lc_ml_elem *el
    out = set()
    for c in containers:
        if counters_only and doc.ckind[<uint32_t>c] != KIND_COUNTER:
            continue
        cid = doc.cids[c]
        p = log.peer_map.get(cid.peer)
        if p is None:
            continue
        ch = log.find_change(<uint32_t>p, <int32_t>cid.counter)
        if ch < 0:
            continue
        k = log.find_op(ch, <int32_t>cid.counter)
        op = &log.ops[k]
        if op.counter > cid.counter or doc.ckind[op.container] != KIND_MOVABLE_LIST:
            continue
        if op.kind == LC_OP_SET:
            if s is None:
                continue
            e = ml_elem_lookup(s, (<uint64_t>op.start_id.peer << 32) | <uint32_t>op.start_id.counter)
            if e < 0:
                continue
            el = &s.elems[e]
            if el.peer < len(ends) and el.counter < ends[el.peer]:
                out.add(c)
        elif made_before(doc, cid, ends):
            out.add(c)
    return out
