# Included by _events.pyx: loro's style map elements of a rich text across the state's
# moves (checkouts, imports, the moves LoroDoc.diff makes): which marks each atom carries before and after, replayed
# lazily (defer_style_text) and carried over the texts a move leaves alone.


# the moves whose replay of the style map elements may wait (defer_style_text): past this
# many, the elements are forgotten (guessed at the next drain), which bounds that replay
# and costs nothing to a document whose moves never drain
cdef Py_ssize_t STYLE_MOVES_PENDING = 16


def defer_style_elements(LoroDoc doc):
    """The journal of a state move nobody sees (the moves of LoroDoc.diff other than the
    one its delta shows): each text holding anchors notes the move for its style map
    elements (defer_style_text); then the batch is forgotten."""
    cdef uint32_t c
    try:
        before = doc.evs.before if doc.evs is not None else None
        if before:
            for c, runs in before.items():
                if doc.ckind[c] == KIND_TEXT and doc.seq.tree_is_text[doc.ctree[c]] & TREE_ANCHORED:
                    defer_style_text(doc, c, runs)
    finally:
        batch_done(doc)


cdef int defer_style_text(LoroDoc doc, uint32_t c, list runs) except -1:
    """A journaled move of text `c` (`runs`: its atoms as visible before, checkout_before)
    whose delta, if any, does not depend on loro's style map elements (it drains no end
    anchor): the move is kept with the elements the text had before it, to be replayed
    (loro_c.rich_checkout, without a delta) only when a move that needs them comes
    (style_elems_before). Elements that were not known are guessed where the kept moves
    start, as that move would have guessed them. So the moves of a `diff` (to `a`, back)
    and checkouts that add marks or text cost no replay."""
    cdef StyleMemo m = style_memo(doc, c)
    cdef bint kept = m is not None and memo_at_state(doc, m, <uint32_t>(doc.hist_epoch - 1))
    elems = m.elems if kept else None
    pending = m.pending if kept else None
    if m is not None:
        memo_drop(m)
    if not kept:
        style_memo_state(doc, c, None, [runs], doc.hist_epoch)
        return 0
    if not pending and elems is not None:
        # known elements: the move is applied to them as it changes the text, when it
        # drains no end anchor (else it waits as any other)
        done = apply_style_changes(doc, c, elems, runs)
        if done is False:
            style_memo_state(doc, c, None, [runs], doc.hist_epoch)   # (spoiled: guessed before this move)
            return 0
        if done is not None:
            style_memo_state(doc, c, done, [], doc.hist_epoch)
            return 0
    if len(pending) >= STYLE_MOVES_PENDING:
        return 0        # (forgotten: guessed at the next move that needs them)
    style_memo_state(doc, c, elems, pending + [runs], doc.hist_epoch)
    return 0


cdef object replay_moves(LoroDoc doc, uint32_t c, object elems, list layers, Py_ssize_t n):
    """The style map elements of text `c` after the first `n` of the moves whose runs are
    `layers` (the state is now after the last of `layers`), from `elems` before them (None:
    guessed)."""
    cdef Py_ssize_t k
    layers = [runs_by_peer(r) for r in layers]
    cdef bint disjoint = layers_disjoint(layers)
    for k in range(n):
        out = []
        rich_checkout_delta(layered_elements(doc, c, layers[k:], layers[k + 1:], disjoint),
                            doc.styles, elems, out, False)
        elems = out[0]
    return elems


cdef object style_elems_before(LoroDoc doc, uint32_t c, list runs):
    """loro's style map elements of text `c` before this move (`runs`: its atoms as visible
    before, checkout_before), when the moves of the state since the last replay of the
    text were journaled (loro_c.rich_checkout), else None (they are guessed). The moves
    deferred since (defer_style_text) are replayed first."""
    cdef StyleMemo m = style_memo(doc, c)
    if m is None:
        return None
    cdef bint kept = memo_at_state(doc, m, <uint32_t>(doc.hist_epoch - 1))
    elems = m.elems
    pending = m.pending
    memo_drop(m)
    if not kept:
        return None
    if not pending:
        return elems
    return replay_moves(doc, c, elems, pending + [runs], len(pending))


cdef dict runs_by_peer(list runs):
    """{peer: [(start, end, visible)] sorted}, a run recorded twice kept once (a moved
    mark's anchor is also among the moved inserts; layered_pieces skips the copy, and
    without it the runs are disjoint for vis_at)."""
    cdef dict by_peer = {}
    cdef list lst, kept
    cdef tuple run, last
    cdef Py_ssize_t k
    for run in runs:
        lst = by_peer.get(run[0])
        if lst is None:
            lst = by_peer[run[0]] = []
        lst.append(run[1:])
    for peer in list(by_peer):
        lst = by_peer[peer]
        lst.sort()
        kept = [lst[0]]
        last = lst[0]
        for k in range(1, len(lst)):
            run = lst[k]
            if <int32_t>run[0] != <int32_t>last[0] or <int32_t>run[1] != <int32_t>last[1] \
                    or <bint>run[2] != <bint>last[2]:
                kept.append(run)
            last = run
        by_peer[peer] = kept
    return by_peer


cdef bint layers_disjoint(list layers):
    """Whether each layer's runs of a peer are non-empty and do not overlap (then
    vis_at answers as layered_pieces does)."""
    cdef int32_t end
    cdef tuple run
    for layer in layers:
        for recorded in (<dict>layer).values():
            end = INT32_MIN
            for run in <list>recorded:
                if <int32_t>run[0] < end or <int32_t>run[1] <= <int32_t>run[0]:
                    return False
                end = run[1]
    return True


cdef int probe_run(list recorded, int32_t pos, int32_t *end) except -2:
    """Whether atom `pos` was visible by the disjoint sorted runs `recorded` (1, 0), or -1
    when none records it; end[0] is lowered to where that answer may change (the end of
    its run, or the start of the next)."""
    cdef Py_ssize_t lo = 0, hi_k = len(recorded), k
    cdef tuple run
    cdef int32_t ra, rb
    # the first run that ends after pos (disjoint runs: their ends are sorted too)
    while lo < hi_k:
        k = (lo + hi_k) >> 1
        if <int32_t>(<tuple>recorded[k])[1] <= pos:
            lo = k + 1
        else:
            hi_k = k
    if lo < len(recorded):
        run = recorded[lo]
        ra = run[0]
        if ra <= pos:
            rb = run[1]
            if rb < end[0]:
                end[0] = rb
            return 1 if run[2] else 0
        if ra < end[0]:
            end[0] = ra
    return -1


cdef bint vis_at(list recs, int32_t pos, bint now, int32_t *end) except -1:
    """Whether atom `pos` was visible, as the first of the layers' runs `recs` (each a
    layer's runs of the atom's peer, or None) that records it says, else `now`; end[0] is
    lowered to where that answer may change: the end of the deciding run, or the start of
    a run of a layer before it. The runs of each layer must be disjoint
    (layers_disjoint); no list is built, unlike layered_pieces."""
    cdef int got
    for recorded in recs:
        if recorded is not None:
            got = probe_run(<list>recorded, pos, end)
            if got >= 0:
                return got
    return now


cdef list layered_pieces(list layers, Py_ssize_t at, object peer, int32_t a, int32_t b, bint now):
    """[a, b) of `peer` cut by visibility: an atom is as the first of layers[at:] that
    records it says (each recorded a move's atoms as visible before it), else as now."""
    cdef Py_ssize_t n = len(layers), k, m
    cdef int32_t cur = a, ra, rb, hi
    cdef list recorded = None
    cdef tuple run
    while at < n:
        recorded = (<dict>layers[at]).get(peer)
        if recorded is not None:
            break
        at += 1
    if recorded is None:
        return [(a, b, now)]
    m = len(recorded)
    k = run_before(recorded, a)
    out = []
    while k < m and cur < b:
        run = recorded[k]
        ra = run[0]
        rb = run[1]
        k += 1
        if rb <= cur:
            continue
        if ra >= b:
            break
        if ra > cur:
            out.extend(layered_pieces(layers, at + 1, peer, cur, ra, now))
            cur = ra
        hi = rb if rb < b else b
        out.append((cur, hi, run[2]))
        cur = hi
    if cur < b:
        out.extend(layered_pieces(layers, at + 1, peer, cur, b, now))
    return out


cdef bint layers_cover(list layers, object peer, int32_t a, int32_t b):
    """Whether a run of `peer` in one of `layers` meets [a, b)."""
    cdef Py_ssize_t lo, hi_k, k
    cdef list recorded
    for layer in layers:
        recorded = (<dict>layer).get(peer)
        if recorded is None:
            continue
        # the first run that ends after a
        lo = 0
        hi_k = len(recorded)
        while lo < hi_k:
            k = (lo + hi_k) >> 1
            if <int32_t>(<tuple>recorded[k])[1] <= a:
                lo = k + 1
            else:
                hi_k = k
        if lo < len(recorded) and <int32_t>(<tuple>recorded[lo])[0] < b:
            return True
    return False


cdef list layered_elements(LoroDoc doc, uint32_t c, list before, list after, bint disjoint):
    """rich_elements of a move that is not the state's last: the atoms as visible before
    it by the layers `before`, after it by `after` (see layered_pieces; vis_at when the
    layers are `disjoint`)."""
    cdef int32_t e_was, e_now
    cdef bint was, is_now
    cdef int got
    cdef SeqArena seq = doc.seq
    cdef uint32_t leaf = seq.first_leaf(doc.ctree[c])
    cdef int i
    cdef lc_span *s
    cdef int32_t a, b, lo, hi
    cdef bint now, anchor
    cdef Py_ssize_t ia, ib
    cdef tuple pa, pb
    touched = set()
    for layer in before:
        touched.update((<dict>layer).keys())
    out = []
    while leaf != LC_NO_NODE:
        for i in range(seq.nodes[leaf].n):
            s = &seq.nodes[leaf].u.spans[i]
            now = span_visible(s)
            anchor = s.content >= LC_ANCHOR_MIN
            a = s.id.counter
            b = a + s.len
            if s.id.peer not in touched or not layers_cover(before, s.id.peer, a, b):
                # (no move of these touched these atoms: as they are now)
                if now or anchor:
                    append_rich(out, doc, s, a, b, now, now, False)
                continue
            if disjoint:
                # (a move's own layer, before[0], decides where it records the atom; the
                # layers after it, `after`, decide both elsewhere)
                peer = s.id.peer
                first = (<dict>before[0]).get(peer)
                recs = [(<dict>layer).get(peer) for layer in after]
                lo = a
                while lo < b:
                    e_was = b
                    e_now = b
                    is_now = vis_at(recs, lo, now, &e_now)
                    got = -1 if first is None else probe_run(<list>first, lo, &e_was)
                    if got < 0:
                        was = is_now
                    else:
                        was = got
                    hi = e_was if e_was < e_now else e_now
                    if was or is_now or anchor:
                        append_rich(out, doc, s, lo, hi, was, is_now, False)
                    lo = hi
                continue
            was_p = layered_pieces(before, 0, s.id.peer, a, b, now)
            now_p = layered_pieces(after, 0, s.id.peer, a, b, now)
            # (both cover [a, b): walk their common cuts)
            ia = ib = 0
            lo = a
            while lo < b:
                pa = was_p[ia]
                pb = now_p[ib]
                hi = pa[1] if <int32_t>pa[1] < <int32_t>pb[1] else pb[1]
                if pa[2] or pb[2] or anchor:
                    append_rich(out, doc, s, lo, hi, pa[2], pb[2], False)
                lo = hi
                if <int32_t>pa[1] == hi:
                    ia += 1
                if <int32_t>pb[1] == hi:
                    ib += 1
        leaf = seq.nodes[leaf].next_leaf
    return out


cdef object apply_style_changes(LoroDoc doc, uint32_t c, object elems, list runs):
    """loro's style map elements of text `c` after a change of the state that drains no end
    anchor (an import, or a move: `runs` are the atoms whose visibility may have changed,
    as visible before), from `elems` before it (None: the text held no anchor, one
    element): the changed atoms only, applied in document order as loro applies its delta
    (loro_c.rich_checkout, _apply_items: each replace drains, then inserts; a text joins
    the one before when ids and bytes continue; an inserted end anchor annotates its
    mark). Returns the elements, None when the change drains an end anchor (elems
    untouched), False when they do not come out the text's length (elems spoiled)."""
    cdef SeqArena seq = doc.seq
    cdef uint32_t t = doc.ctree[c], leaf, peer
    cdef int slot, kind
    cdef lc_span *s
    cdef int32_t a, b, hi
    cdef int64_t ent, prev_end = -1, pos = 0, dels = 0, ins_n = 0, total, abs_prev = -1
    cdef int mode = 0, ins_kind = -1
    cdef bint now, was
    cdef tuple p, q
    pieces = []
    for run in runs:
        peer = (<tuple>run)[0]
        a = (<tuple>run)[1]
        b = (<tuple>run)[2]
        was = (<tuple>run)[3]
        while a < b:
            leaf = locate(seq, make_id(peer, a), &slot)
            s = &seq.nodes[leaf].u.spans[slot]
            hi = s.id.counter + s.len
            if hi > b:
                hi = b
            now = span_visible(s)
            if now != was:
                kind = 1 if s.content == LC_ANCHOR_START else 2 if s.content == LC_ANCHOR_END else 0
                if kind == 2 and not now:
                    return None
                # (abs, entity now, kind, n, mark id, visible before, peer, counter, content)
                pieces.append((abs_index(seq, make_id(peer, a)), visible_before(seq, leaf, slot, a),
                               kind, hi - a,
                               None if kind == 0 else (<uint64_t>peer << 32) | <uint32_t>(s.id.counter - (kind == 2)),
                               was, peer, a, s.content + (a - s.id.counter)))
            a = hi
    pieces.sort()
    clean = []
    for p in pieces:
        if <int64_t>p[0] < abs_prev:
            q = clean[len(clean) - 1]
            if q[0] == p[0] and q[3] == p[3]:
                continue        # (a run recorded twice: a moved mark's anchor)
            return None         # (runs that overlap otherwise: elems untouched)
        clean.append(p)
        abs_prev = <int64_t>p[0] + <int64_t>p[3]
    if elems is None:
        total = seq.visible_len(t)
        for p in clean:
            total += <int64_t>p[3] if p[5] else -<int64_t>p[3]
        elems = StyleElements.fresh(total)
    starts = {}
    ins_sid = None
    last = None         # the last inserted text piece of the open item
    for p in clean:
        kind = p[2]
        ent = p[1]
        if mode and ent != prev_end:
            apply_style_replace(doc, elems, starts, pos, dels, ins_kind, ins_n, ins_sid)
            mode = 0
        if p[5]:
            if mode:
                dels += <int64_t>p[3]
            else:
                mode = 1
                pos = ent
                dels = p[3]
                ins_kind = -1
            prev_end = ent
            continue
        if mode and kind == 0 and ins_kind == 0 and pieces_join(doc, last, p):
            ins_n += <int64_t>p[3]
        else:
            if mode:
                apply_style_replace(doc, elems, starts, pos, dels, ins_kind, ins_n, ins_sid)
            mode = 1
            pos = ent
            dels = 0
            ins_kind = kind
            ins_n = p[3]
            ins_sid = p[4]
        last = p
        prev_end = ent + <int64_t>p[3]
    if mode:
        apply_style_replace(doc, elems, starts, pos, dels, ins_kind, ins_n, ins_sid)
    if elems.total() != seq.visible_len(t):
        return False
    return elems


cdef bint pieces_join(LoroDoc doc, tuple a, tuple b) except -1:
    """Whether inserted text piece `b` continues piece `a` in ids and in loro's string
    storage (rich_checkout._follows), pieces as apply_style_changes lists them."""
    if a[6] != b[6] or <int32_t>a[7] + <int32_t>a[3] != <int32_t>b[7]:
        return False
    pa = stored_bounds(doc, a[6], a[7], a[8], a[3])
    pb = stored_bounds(doc, b[6], b[7], b[8], b[3])
    return pa[0] is not None and pa[0] == pb[0] and pa[2] == pb[1]


cdef int apply_style_replace(LoroDoc doc, object elems, dict starts, int64_t pos, int64_t dels,
                             int ins_kind, int64_t ins_n, object sid) except -1:
    """One item of loro's delta applied to the elements: drain `dels` entities at `pos`,
    then insert `ins_n` of kind `ins_kind` (-1: none; an end anchor annotates its mark from
    its start anchor, inserted by this change or visible before it)."""
    cdef SeqArena seq = doc.seq
    cdef uint32_t leaf
    cdef int slot
    cdef lc_span *s
    cdef int32_t counter
    if dels:
        elems.delete(pos, dels)
    if ins_kind < 0:
        return 0
    elems.insert(pos, ins_n)
    if ins_kind == 1:
        starts[sid] = pos
    elif ins_kind == 2:
        start = starts.pop(sid, None)
        if start is None:
            counter = <int32_t>(<uint32_t>(<uint64_t>sid & 0xFFFFFFFF))
            leaf = locate(seq, make_id(<uint32_t>(<uint64_t>sid >> 32), counter), &slot)
            s = &seq.nodes[leaf].u.spans[slot]
            if not span_visible(s):
                return 0
            start = visible_before(seq, leaf, slot, counter)
        elems.annotate(start, pos + 1, sid)
    return 0


def style_replay_pending(LoroDoc doc, uint32_t c, elems, list layers):
    """The style map elements of text `c` after the moves `layers` waiting since `elems`
    (the state is after them): for a local op, which needs them now
    (state/richtext.pxi style_edit_begin)."""
    return replay_moves(doc, c, elems, layers, len(layers))


cdef tuple _import_stamp = None     # during an import's collect: the state stamp before it


cdef int style_import_text(LoroDoc doc, uint32_t c, ev_scratch *sc, list marks) except -1:
    """An import changed text `c` (the journal's pieces `sc`, its mark ops `marks`): its
    style map elements, known before it or none (the text held no anchor), follow it."""
    cdef int64_t k
    cdef ev_piece *pc
    cdef StyleMemo got
    cdef bint kept
    if doc.evs is None or _import_stamp is None:
        return 0
    got = style_memo(doc, c)
    anchors = set()
    for m in marks or ():
        anchors.add((m[0], m[1]))
    if got is None:
        if not anchors or doc.seq.nodes[doc.seq.roots[doc.ctree[c]]].lens.anchors != 2 * len(anchors):
            return 0
        elems = None
    else:
        kept = not got.pending and got.elems is not None and same_stamp(got, _import_stamp)
        elems = got.elems
        memo_drop(got)
        if not kept:
            return 0
    runs = []
    for k in range(sc.n_pcs):
        pc = &sc.pcs[k]
        runs.append((pc.peer, pc.counter, pc.counter + pc.n, not pc.ins))
    for peer, counter in anchors:
        # (its end op follows it in its change, unless the import cut the change there)
        runs.append((peer, counter, counter + (2 if doc.log.vv[<uint32_t>peer] > counter + 1 else 1),
                     False))
    done = apply_style_changes(doc, c, elems, runs)
    if done is not None and done is not False:
        style_memo_state(doc, c, done, [], doc.hist_epoch)
    return 0


cdef bint same_stamp(StyleMemo m, tuple pre) except -1:
    """Whether `m` is of the state `pre` ((epoch, frontiers as a set))."""
    cdef int64_t i
    if m.kind != STYLE_STATE or m.epoch != <uint32_t>pre[0]:
        return False
    if m.chain != 0 and m.chain == <uint64_t>pre[2]:
        return True     # of the run of local commits that ended there
    if m.n_heads != len(pre[1]):
        return False
    for i in range(m.n_heads):
        if (m.heads[i].peer, m.heads[i].counter) not in pre[1]:
            return False
    return True


cdef int carry_import_style_elems(LoroDoc doc) except -1:
    """After an import's collect: the texts it left alone keep their elements."""
    cdef int64_t i
    cdef StyleMemo m
    if not doc.style_texts:
        return 0
    touched = {doc.evlog.notes[i].container for i in range(doc.evlog.n)}
    for c in doc.style_texts:
        m = doc.style_slots[c]
        if c not in touched and m.kind != STYLE_NONE and not m.pending and same_stamp(m, _import_stamp):
            memo_stamp_state(doc, m, doc.hist_epoch)
    return 0


cdef int carry_style_elems(LoroDoc doc, dict before) except -1:
    """After a journaled move: the texts it did not touch keep the style map elements the
    last replay left them (loro applies no diff to their states)."""
    cdef StyleMemo m
    for c in doc.style_texts:
        m = doc.style_slots[c]
        if c not in before and memo_at_state(doc, m, <uint32_t>(doc.hist_epoch - 1)):
            memo_stamp_state(doc, m, doc.hist_epoch)
    return 0




ctypedef struct rich_vis_run:
    # a run of atoms of `peer` whose visibility may have changed, as visible before
    uint32_t peer
    int32_t a
    int32_t b
    int32_t vis


cdef int cmp_vis_run(const void *x, const void *y) noexcept nogil:
    cdef const rich_vis_run *p = <const rich_vis_run*>x
    cdef const rich_vis_run *q = <const rich_vis_run*>y
    if p.peer != q.peer:
        return -1 if p.peer < q.peer else 1
    if p.a != q.a:
        return -1 if p.a < q.a else 1
    if p.b != q.b:
        return -1 if p.b < q.b else 1
    return p.vis - q.vis


cdef inline Py_ssize_t vis_run_lower_bound(const rich_vis_run *arr, Py_ssize_t n, uint32_t peer,
                                           int32_t a) noexcept nogil:
    """The first of the sorted runs `arr[:n]` at or after (peer, a), else n."""
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if arr[mid].peer < peer or (arr[mid].peer == peer and arr[mid].a < a):
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef list rich_elements(LoroDoc doc, uint32_t c, list runs):
    """A text's atoms visible at either version of a checkout, in document order, as
    loro_c.rich_checkout takes them: (kind, entities, text of a newly visible text, mark id
    of an anchor, visible before, visible now, place in loro's string storage of a newly
    visible text). `runs`
    are the atoms whose visibility may have changed, as visible before (checkout_before);
    the others were as they are now. (The runs are sorted by peer and start in a C array:
    every span of the text looks its atoms up there.)"""
    cdef SeqArena seq = doc.seq
    cdef uint32_t leaf = seq.first_leaf(doc.ctree[c])
    cdef int i
    cdef lc_span *s
    cdef int32_t a, b, cur, ra, rb, hi
    cdef bint now, anchor
    cdef Py_ssize_t n_runs = len(runs), k, lo_k, first = 0, count = 0
    cdef uint32_t peer, last_peer = 0
    cdef bint have_last = False
    cdef rich_vis_run *arr = <rich_vis_run*>malloc(<size_t>(n_runs if n_runs > 0 else 1) * sizeof(rich_vis_run))
    cdef rich_vis_run *rec
    if arr == NULL:
        raise MemoryError()
    out = []
    try:
        k = 0
        for run in runs:
            arr[k].peer = (<tuple>run)[0]
            arr[k].a = (<tuple>run)[1]
            arr[k].b = (<tuple>run)[2]
            arr[k].vis = 1 if (<tuple>run)[3] else 0
            k += 1
        qsort(arr, <size_t>n_runs, sizeof(rich_vis_run), cmp_vis_run)
        while leaf != LC_NO_NODE:
            for i in range(seq.nodes[leaf].n):
                s = &seq.nodes[leaf].u.spans[i]
                now = span_visible(s)
                anchor = s.content >= LC_ANCHOR_MIN
                a = s.id.counter
                b = a + s.len
                peer = s.id.peer
                if not have_last or peer != last_peer:
                    # (the runs of this peer: arr[first:first + count])
                    lo_k = first = vis_run_lower_bound(arr, n_runs, peer, INT32_MIN)
                    while lo_k < n_runs and arr[lo_k].peer == peer:
                        lo_k += 1
                    count = lo_k - first
                    last_peer = peer
                    have_last = True
                if count == 0:
                    # (no atom of this peer changed: the span is as it is now)
                    if now or anchor:
                        append_rich(out, doc, s, a, b, now, now)
                    continue
                # [a, b) cut by the recorded runs: (lo, hi, visible before); elsewhere as
                # now. An anchor visible at neither version still cuts loro's style map
                # where the state once held it.
                rec = &arr[first]
                # the last run that starts before a, else the first
                lo_k = vis_run_lower_bound(rec, count, peer, a)
                k = lo_k - 1 if lo_k > 0 else 0
                cur = a
                while k < count and cur < b:
                    ra = rec[k].a
                    rb = rec[k].b
                    if rb <= cur:
                        k += 1
                        continue
                    if ra >= b:
                        break
                    if ra > cur:
                        if now or anchor:
                            append_rich(out, doc, s, cur, ra, now, now)
                        cur = ra
                    hi = rb if rb < b else b
                    if rec[k].vis or now or anchor:
                        append_rich(out, doc, s, cur, hi, rec[k].vis != 0, now)
                    cur = hi
                    k += 1
                if cur < b and (now or anchor):
                    append_rich(out, doc, s, cur, b, now, now)
            leaf = seq.nodes[leaf].next_leaf
    finally:
        free(arr)
    return out


cdef Py_ssize_t run_before(list recorded, int32_t a) except -1:
    """The index of the last run of `recorded` (sorted (start, end, ...) tuples) that
    starts before `a`, else 0."""
    cdef Py_ssize_t lo = 0, hi = len(recorded), k
    while lo < hi:
        k = (lo + hi) >> 1
        if <int32_t>(<tuple>recorded[k])[0] < a:
            lo = k + 1
        else:
            hi = k
    return lo - 1 if lo > 0 else 0


cdef tuple rich_element(LoroDoc doc, lc_span *s, int32_t lo, int32_t hi, bint was, bint now,
                        bint with_text=True):
    cdef int64_t content
    cdef ev_piece pc
    if s.content == LC_ANCHOR_START:
        return (1, 1, None, (<uint64_t>s.id.peer << 32) | <uint32_t>s.id.counter, was, now, None)
    if s.content == LC_ANCHOR_END:
        return (2, 1, None, (<uint64_t>s.id.peer << 32) | <uint32_t>(s.id.counter - 1), was, now, None)
    content = s.content + (lo - s.id.counter)
    text = None         # (only an inserted text is shown)
    place = None
    if now and not was:
        if with_text:     # (a quiet replay, layered_elements, wants only the place)
            text = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &doc.seq.text[content], hi - lo)
        pc.peer = s.id.peer
        pc.counter = lo
        pc.content = content
        pc.n = hi - lo
        buf, start, end = stored_bytes(doc, &pc)
        # (loro's tracker joins an insert to the one before only when the Lamport clocks
        # continue too, rich_checkout._follows)
        lamport_on = lamport_continues(doc, s.id.peer, lo)
        place = (s.id.peer, lo, hi, buf, start, end, lamport_on)
    return (0, hi - lo, text, None, was, now, place)


cdef int append_rich(list out, LoroDoc doc, lc_span *s, int32_t lo, int32_t hi, bint was,
                     bint now, bint with_text=True) except -1:
    """Append rich_element for atoms [lo, hi) of span `s`; a newly visible text is cut
    where loro keeps its ops apart (next_cut: bytes or Lamport clocks that do not continue),
    as split_pieces cuts a plain text's pieces."""
    cdef ev_piece pc
    cdef int32_t cut
    if not now or was or s.content >= LC_ANCHOR_MIN or hi - lo < 2:
        out.append(rich_element(doc, s, lo, hi, was, now, with_text))
        return 0
    pc.peer = s.id.peer
    while lo < hi:
        pc.counter = lo
        pc.n = hi - lo
        cut = next_cut(doc, &pc, True)
        out.append(rich_element(doc, s, lo, cut, was, now, with_text))
        lo = cut
    return 0
