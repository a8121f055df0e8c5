# Included by _events.pyx: the atoms a checkout's notes insert or delete in each sequence,
# as runs of one visibility taken before the tracker moves, and a sequence's diff across a checkout.


def checkout_before(LoroDoc doc):
    """During a checkout, before the tracker moves (under the lock): for each sequence the
    journal touches, the atoms its moved ops insert or delete, cut into runs of one
    visibility at the old version: {container: [(peer, start, end, visible)]}."""
    if doc.evs is None:
        return
    doc.evs.before = notes_before(doc, 0)


def notes_before(LoroDoc doc, int64_t first):
    """checkout_before's runs of the journal's notes from `first` on, as the tracker sees
    them now."""
    cdef ev_scratch sc
    cdef lc_ev_note *e
    cdef int64_t i
    ranges = {}
    for i in range(first, doc.evlog.n):
        e = &doc.evlog.notes[i]
        if e.kind == LC_EV_INSERT or e.kind == LC_EV_DELETE:
            ranges.setdefault(e.container, []).append(i)
    before = {}
    memset(&sc, 0, sizeof(ev_scratch))
    try:
        for c, idxs in ranges.items():
            sc.n_pts = 0
            before[c] = visibility_runs(doc, idxs, &sc)
    finally:
        free(sc.pts)
        free(sc.pcs)
    for i in range(first, doc.evlog.n):
        e = &doc.evlog.notes[i]
        if e.kind == LC_EV_MARK:
            # the two anchors of a moved mark, as visible before (a rich text's event
            # replays loro's state through them: loro_c.rich_checkout)
            before.setdefault(e.container, []).extend(
                anchor_run(doc, e.peer, e.counter + k) for k in range(2))
    return before


cdef tuple anchor_run(LoroDoc doc, uint32_t peer, int32_t counter):
    cdef int slot
    cdef uint32_t leaf = locate(doc.seq, make_id(peer, counter), &slot)
    return (peer, counter, counter + 1, span_visible(&doc.seq.nodes[leaf].u.spans[slot]))


cdef list visibility_runs(LoroDoc doc, list idxs, ev_scratch *sc):
    """The atoms the notes `idxs` insert or delete (merged), as runs of one visibility."""
    cdef SeqArena seq = doc.seq
    cdef lc_ev_note *e
    cdef int64_t k
    cdef int32_t depth = 0, start = 0, c, end
    cdef uint32_t peer = 0
    cdef ev_point *pt
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    for i in idxs:
        e = &doc.evlog.notes[<int64_t>i]
        if e.kind == LC_EV_INSERT:
            add_range(sc, e.peer, e.counter, e.counter + e.len, 1)
        else:
            delete_targets(seq, e.peer, e.counter, e.counter + e.len, sc)
    qsort(sc.pts, sc.n_pts, sizeof(ev_point), cmp_point)
    out = []
    for k in range(sc.n_pts):
        pt = &sc.pts[k]
        if pt.peer != peer:
            peer = pt.peer
            depth = 0
        # a point opens (dnew + ddel = 1) or closes (-1) a range; covered where depth > 0
        if depth > 0 and pt.pos > start:
            c = start
            while c < pt.pos:
                leaf = locate(seq, make_id(peer, c), &slot)
                s = &seq.nodes[leaf].u.spans[slot]
                end = s.id.counter + s.len
                if end > pt.pos:
                    end = pt.pos
                out.append((peer, c, end, span_visible(s)))
                c = end
        depth += pt.dnew + pt.ddel
        start = pt.pos
    return out


cdef object seq_diff_checkout(LoroDoc doc, uint32_t c, list runs, list reached, list idxs):
    """A sequence's diff across a checkout: the runs whose visibility changed (and, in a
    text, the marks among the journaled ops `idxs`)."""
    cdef ev_scratch sc
    cdef SeqArena seq = doc.seq
    cdef int32_t a, b, end
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    cdef ev_piece *pc
    cdef bint now
    memset(&sc, 0, sizeof(ev_scratch))
    try:
        for peer, a0, b0, was in runs:
            a = a0
            b = b0
            while a < b:
                leaf = locate(seq, make_id(<uint32_t>peer, a), &slot)
                s = &seq.nodes[leaf].u.spans[slot]
                end = s.id.counter + s.len
                if end > b:
                    end = b
                now = span_visible(s)
                if now != was:
                    push_piece(seq, &sc, leaf, slot, <uint32_t>peer, a, end, now)
                a = end
        if doc.ckind[c] == KIND_TEXT and seq.tree_is_text[doc.ctree[c]] & TREE_ANCHORED:
            # a text that holds style anchors: loro's state application, replayed
            elements = rich_elements(doc, c, runs)
            for e in elements:
                if e[0] == 2 and e[4] and not e[5]:
                    # an end anchor is drained: the delta shows where loro's elements are
                    after = []
                    items = rich_checkout_delta(elements, doc.styles, style_elems_before(doc, c, runs),
                                                after)
                    style_memo_state(doc, c, after[0], [], doc.hist_epoch)
                    break
            else:
                defer_style_text(doc, c, runs)
                items = rich_checkout_delta(elements, doc.styles)
            if not items:
                return None
            return Diff.Text([TextDelta.Retain(x[1], x[2]) if x[0] == "r" else
                              TextDelta.Insert(x[1], x[2]) if x[0] == "i" else TextDelta.Delete(x[1])
                              for x in items])
        if doc.ckind[c] == KIND_TEXT and sc.n_pcs:
            return checkout_text_delta(doc, &sc)
        return pieces_delta(doc, c, &sc, None, reached)
    finally:
        free(sc.pts)
        free(sc.pcs)
