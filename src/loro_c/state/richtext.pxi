# Rich text (Loro's marks). A mark is two ops, each inserting a style anchor into the text's
# sequence (seq/anchors.pxi): its start anchor at the start entity, its end anchor right after
# the end entity. Every visible entity between a start anchor and its end anchor, both
# included, carries the mark; per key, the mark with the greatest (Lamport, peer) wins, and a
# null winner (an unmark) means the key is absent. Styles are read from the anchors in one
# walk of the text (style_walk); a text without anchors takes none of these paths.
#
# d.styles keeps what each applied mark op said, by its start anchor's id:
# (key, value, info, lamport, peer id, end entity). An id names one op forever, so entries
# left by a rejected import are harmless.


cdef inline uint64_t style_id(uint32_t peer, int32_t counter) noexcept nogil:
    return (<uint64_t>peer << 32) | <uint32_t>counter


cdef int note_style(LoroDoc d, const lc_op *op, uint32_t peer, uint32_t lamport) except -1:
    d.styles[style_id(peer, op.counter)] = (d.log.keys[op.start_id.peer], d.log.values[op.arg],
                                            <int>op.delta, lamport, d.log.peer_ids[peer],
                                            op.start_id.counter)
    return 0


cdef int seq_apply_mark(LoroDoc d, lc_op *op, uint32_t peer, uint32_t lamport) except -1 nogil:
    """Integrate a remote mark op: its start anchor at `op.pos`, or its end anchor after the
    end entity of its start op (the op before it)."""
    cdef uint32_t t = d.ctree[op.container]
    cdef int64_t vis = d.seq.visible_len(t)
    cdef int64_t pos = op.pos
    cdef uint32_t content = LC_ANCHOR_START
    cdef bint bad = False
    with gil:
        if op.kind == LC_OP_MARK_START:
            bad = op.pos < 0 or op.start_id.counter < op.pos or op.start_id.counter > vis
            if not bad:
                note_style(d, op, peer, lamport)
        else:
            st = d.styles.get(style_id(peer, op.counter - 1))
            bad = st is None
            if not bad:
                pos = <int64_t>(<tuple>st)[5] + 1
                bad = pos > vis
            content = LC_ANCHOR_END
        if bad:
            d.apply_rejected = True
            raise DecodeError(f"mark op {op.counter}@{d.log.peer_ids[peer]} does not fit the text "
                              f"(length {vis} at its version)")
    integrate_insert(d.seq, t, make_id(peer, op.counter), pos, 1, content, d.log.peer_ids)
    return 0


cdef tuple anchor_style(LoroDoc d, const lc_span *s):
    """What the mark op of an anchor span said (the start op's entry for both anchors)."""
    cdef int32_t counter = s.id.counter if s.content == LC_ANCHOR_START else s.id.counter - 1
    return <tuple>d.styles[style_id(s.id.peer, counter)]


cdef int64_t text_insert_entity(LoroDoc d, uint32_t t, int64_t p) except -1:
    """The entity index where a local insert at code point `p` goes among the style anchors
    between code points p-1 and p (Loro's find_best_insert_pos): before the first anchor
    that is the start of an unmark (or of a false value), or the start of a style that does
    not expand before, or the end of one that expands after; else after them all."""
    cdef SeqArena a = d.seq
    cdef uint32_t leaf
    cdef int idx
    cdef int64_t off, e
    cdef lc_span *s
    cdef bint is_start
    cdef int info
    if p == 0:
        leaf = a.first_leaf(t)
        idx = 0
        e = 0
    else:
        leaf = find_char(a, t, p - 1, &idx, &off)
        e = entity_at(a, leaf, idx, off) + 1
        if off + 1 < a.nodes[leaf].u.spans[idx].len:
            return e
        idx += 1
    while True:
        if idx >= a.nodes[leaf].n:
            leaf = a.nodes[leaf].next_leaf
            if leaf == LC_NO_NODE:
                return e
            idx = 0
            continue
        s = &a.nodes[leaf].u.spans[idx]
        if span_visible(s):
            if not lc_span_is_anchor(s):
                return e
            st = anchor_style(d, s)
            is_start = s.content == LC_ANCHOR_START
            info = st[2]
            if is_start and (st[1] is None or st[1] is False):
                return e
            if (is_start and not info & 0x02) or (not is_start and info & 0x04):
                return e
            e += 1
        idx += 1


cdef list style_walk(LoroDoc d, uint32_t t):
    """The visible entities of a text in document order, as runs (text or None for an
    anchor, entity length, frozenset of the ids of the marks covering them). A start anchor
    whose end anchor is not visible (a version between the two ops) marks nothing."""
    cdef SeqArena a = d.seq
    cdef uint32_t leaf = a.first_leaf(t)
    cdef int i
    cdef lc_span *s
    cdef set ends = set()
    cdef set opened = set()
    cdef list out = []
    cur = frozenset()
    while leaf != LC_NO_NODE:
        for i in range(a.nodes[leaf].n):
            s = &a.nodes[leaf].u.spans[i]
            if span_visible(s) and s.content == LC_ANCHOR_END:
                ends.add(style_id(s.id.peer, s.id.counter - 1))
        leaf = a.nodes[leaf].next_leaf
    leaf = a.first_leaf(t)
    while leaf != LC_NO_NODE:
        for i in range(a.nodes[leaf].n):
            s = &a.nodes[leaf].u.spans[i]
            if not span_visible(s):
                continue
            if s.content == LC_ANCHOR_START:
                sid = style_id(s.id.peer, s.id.counter)
                if sid in ends:
                    opened.add(sid)
                    cur = frozenset(opened)
                out.append((None, 1, cur))
            elif s.content == LC_ANCHOR_END:
                out.append((None, 1, cur))
                sid = style_id(s.id.peer, s.id.counter - 1)
                if sid in opened:
                    opened.discard(sid)
                    cur = frozenset(opened)
            else:
                out.append((PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &a.text[s.content], s.len),
                            s.len, cur))
        leaf = a.nodes[leaf].next_leaf
    return out


cdef dict style_winners(LoroDoc d, frozenset ids):
    """key -> the winning mark's entry among `ids` (greatest Lamport, then peer)."""
    cdef dict best = {}, styles = d.styles
    cdef tuple st
    for sid in ids:
        st = styles[sid]
        old = best.get(st[0])
        # ((Lamport, peer) compared without building the pairs: this runs for every
        # styled insert a subscriber sees)
        if old is None or st[3] > (<tuple>old)[3] or (
                st[3] == (<tuple>old)[3] and st[4] > (<tuple>old)[4]):
            best[st[0]] = st
    return best


cdef dict style_attributes(LoroDoc d, frozenset ids, bint with_null):
    """The attributes a set of marks gives its text: the winners' values, unmarks left out
    (or shown as None when `with_null`, as events show them)."""
    cdef dict out = {}
    for key, st in style_winners(d, ids).items():
        if with_null or (<tuple>st)[1] is not None:
            out[key] = (<tuple>st)[1]
    return out


cdef bint same_value(a, b):
    """LoroValue equality (a bool is not an int)."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return a == b


cdef list text_delta_runs(LoroDoc d, uint32_t c, bint with_null=False):
    """The text as [text, attributes] runs, adjacent runs with equal attributes merged: one
    pass over the spans copying code points into one buffer, Python objects only where the
    set of open marks changes (at anchors) and one string per run. `with_null`: unmarked
    keys shown as None (an event of the whole text, as loro's; to_delta leaves them out)."""
    cdef uint32_t t = d.ctree[c]
    cdef SeqArena a = d.seq
    cdef int64_t total = a.char_len(t), filled = 0, run_start = 0
    cdef uint32_t leaf
    cdef uint32_t *buf
    cdef int i
    cdef lc_span *s
    cdef list out = []
    cdef dict cache = {}
    cdef set opened = set()
    if a.nodes[a.roots[t]].lens.anchors == 0:
        text = text_value(d, c)
        return [[text, {}]] if text else []
    buf = <uint32_t*>malloc(<size_t>(total if total > 0 else 1) * sizeof(uint32_t))
    if buf == NULL:
        raise MemoryError()
    try:
        attrs = {}
        changed = False
        leaf = a.first_leaf(t)
        while leaf != LC_NO_NODE:
            for i in range(a.nodes[leaf].n):
                s = &a.nodes[leaf].u.spans[i]
                if not span_visible(s):
                    continue
                if s.content == LC_ANCHOR_START:
                    if atom_visible(a, make_id(s.id.peer, s.id.counter + 1)):
                        opened.add(style_id(s.id.peer, s.id.counter))
                        changed = True
                    continue
                if s.content == LC_ANCHOR_END:
                    if style_id(s.id.peer, s.id.counter - 1) in opened:
                        opened.discard(style_id(s.id.peer, s.id.counter - 1))
                        changed = True
                    continue
                if changed:
                    changed = False
                    ids = frozenset(opened)
                    fresh = cache.get(ids)
                    if fresh is None:
                        fresh = cache[ids] = style_attributes(d, ids, with_null)
                    if not same_value(fresh, attrs):     # ({'k': 1} is not {'k': True})
                        if filled > run_start:
                            out.append([PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &buf[run_start],
                                                                  filled - run_start), attrs])
                        run_start = filled
                        attrs = fresh
                if filled + s.len > total:
                    raise AssertionError("a text's spans hold more code points than its length")
                memcpy(&buf[filled], &a.text[s.content], <size_t>s.len * sizeof(uint32_t))
                filled += s.len
            leaf = a.nodes[leaf].next_leaf
        if filled > run_start:
            out.append([PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &buf[run_start], filled - run_start),
                        attrs])
    finally:
        free(buf)
    return out


cdef set open_marks_before(LoroDoc d, uint32_t t, int64_t e):
    """Ids of the marks open across the gap before entity `e` (start anchor before it, end
    anchor visible and not before it), found through the style summaries of the text's
    B-tree (seq/anchors.pxi: open_marks_at)."""
    cdef SeqArena a = d.seq
    cdef int64_t n = open_marks_at(a, t, e), i
    return {style_id(<uint32_t>a.runs[2 * i], <int32_t>a.runs[2 * i + 1]) for i in range(n)}


cdef list styled_text(LoroDoc d, uint32_t t, int64_t es, int64_t ee):
    """The text among entities [es, ee) as (first code point, end code point, frozenset of
    the marks covering it) runs, one per stretch between anchors that change the marks:
    the marks open at es, then a walk of that stretch only."""
    cdef SeqArena a = d.seq
    cdef uint32_t leaf
    cdef int i
    cdef int64_t off, e, cp, lo, hi
    cdef lc_span *s
    cdef set opened
    cdef list out = []
    cdef int64_t run_lo = 0, run_hi = -1
    if es >= ee:
        return out
    opened = open_marks_before(d, t, es)
    cur = frozenset(opened)
    run_ids = cur
    cp = es - anchors_in_prefix(a, t, es)
    leaf = a.find_visible(t, es, &i, &off)
    e = es - off
    while leaf != LC_NO_NODE and e < ee:
        while i < a.nodes[leaf].n and e < ee:
            s = &a.nodes[leaf].u.spans[i]
            i += 1
            if not span_visible(s):
                continue
            if s.content == LC_ANCHOR_START:
                if atom_visible(a, make_id(s.id.peer, s.id.counter + 1)):
                    opened.add(style_id(s.id.peer, s.id.counter))
                    cur = frozenset(opened)
                e += 1
            elif s.content == LC_ANCHOR_END:
                sid = style_id(s.id.peer, s.id.counter - 1)
                if sid in opened:
                    opened.discard(sid)
                    cur = frozenset(opened)
                e += 1
            else:
                # (spans with no anchor between them make one run)
                lo = max(e, es)
                hi = min(e + s.len, ee)
                if run_hi != cp or run_ids is not cur:
                    if run_hi > run_lo:
                        out.append((run_lo, run_hi, run_ids))
                    run_lo = cp
                    run_ids = cur
                cp += hi - lo
                run_hi = cp
                e += s.len
        leaf = a.nodes[leaf].next_leaf
        i = 0
    if run_hi > run_lo:
        out.append((run_lo, run_hi, run_ids))
    return out


cdef bint mark_is_noop(LoroDoc d, uint32_t t, int64_t es, int64_t ee, str key, object value) except -1:
    """Loro writes no mark when `key`'s winner already has this value on every entity of
    [es, ee) (other keys, and which marks give the value, do not matter: measured on loro
    1.17.1), nor an unmark where no mark of `key` covers them. Costs the marks open at `es`
    and the spans of the range, touching Python objects at style anchors and per distinct
    set of marks (not per span)."""
    cdef SeqArena a = d.seq
    cdef uint32_t leaf
    cdef int i
    cdef lc_span *s
    cdef int64_t e, n, off
    cdef bint all_same = True, has_key = False
    cdef set opened = open_marks_before(d, t, es)
    cdef dict cache = {}
    cur = frozenset(opened)
    leaf = a.find_visible(t, es, &i, &off)
    e = es - off
    while leaf != LC_NO_NODE and e < ee:
        while i < a.nodes[leaf].n:
            s = &a.nodes[leaf].u.spans[i]
            i += 1
            if not span_visible(s):
                continue
            n = 1 if s.content >= LC_ANCHOR_MIN else s.len
            if s.content == LC_ANCHOR_START and atom_visible(a, make_id(s.id.peer, s.id.counter + 1)):
                opened.add(style_id(s.id.peer, s.id.counter))
                cur = frozenset(opened)
            same = cache.get(cur)
            if same is None:
                st = style_winners(d, cur).get(key)
                if st is not None:
                    has_key = True
                same = cache[cur] = st is not None and same_value((<tuple>st)[1], value)
            if not same:
                all_same = False
            if s.content == LC_ANCHOR_END:
                sid = style_id(s.id.peer, s.id.counter - 1)
                if sid in opened:
                    opened.discard(sid)
                    cur = frozenset(opened)
            e += n
            if e >= ee:
                break
        leaf = a.nodes[leaf].next_leaf
        i = 0
    if value is None and not has_key:
        return True
    return all_same


cdef int local_text_mark(LoroDoc d, uint32_t c, int64_t start, int64_t end, str key,
                         object value, int64_t ev_start=-1, int64_t ev_end=-1) except -1:
    """Mark code points [start, end) with key = value (None: unmark), as Loro's
    mark_with_txn: nothing when it would change nothing, else a start and an end anchor.
    `ev_start`/`ev_end`: the code points loro's event gives the range when they differ (a
    UTF-8 or UTF-16 bound inside a character, rounded down there but up for the anchors)."""
    cdef uint32_t t = d.ctree[c]
    cdef int64_t n = d.seq.char_len(t), es, ee
    if start > end:
        raise LoroValueError("Start must be less than end")
    if end > n:
        raise OutOfBoundsError(f"mark range {start}..{end} is out of bounds (length {n})")
    es = text_insert_entity(d, t, start)
    ee = text_insert_entity(d, t, end)
    # an empty range (a UTF-8/16 range inside one character) is written all the same, as
    # loro writes it
    if es < ee and mark_is_noop(d, t, es, ee, key, value):
        return 0
    write_text_mark(d, c, es, ee, key, value)
    if ev_start >= 0 and d.evlog.on:
        # the start op's note (the end op has none): the range of loro's event hint
        for k in range(d.evlog.n - 1, -1, -1):
            if d.evlog.notes[k].kind == LC_EV_MARK and d.evlog.notes[k].container == c:
                d.evlog.notes[k].old = ev_start | (ev_end << 32)
                break
    return 0


cdef int write_text_mark(LoroDoc d, uint32_t c, int64_t es, int64_t ee, str key,
                         object value) except -1:
    """Write a mark of entities [es, ee) as its start and end ops (anchors at es and after
    ee); LoroError when the key has no style configuration."""
    cdef uint32_t t = d.ctree[c]
    cdef lc_op piece
    cdef int32_t counter
    cdef uint32_t lamport
    if d.text_styles is None:
        from loro_c.richtext import TextStyles
        d.text_styles = TextStyles()
    info = d.text_styles.info(key, value is None)
    if info is None:
        raise LoroError(f'Style configuration missing for "{key}". Please provide the style '
                        f'configuration using `config_text_style` on your Loro doc.')
    check_alive(d, c)
    open_txn(d)
    # (loro's style map elements follow: state/richtext.pxi style_edit_begin)
    cdef bint styled = d.evs is not None
    if styled:
        style_edit_begin(d, c, not (d.seq.tree_is_text[t] & TREE_ANCHORED))
    counter = d.log.vv[d.self_idx]
    lamport = d.txn_lamport + <uint32_t>(counter - d.txn_counter)
    memset(&piece, 0, sizeof(lc_op))
    piece.container = c
    piece.kind = LC_OP_MARK_START
    piece.counter = counter
    piece.len = 1
    piece.pos = es
    piece.arg = len(d.log.values)
    piece.start_id = make_id(d.log.key_index(key), <int32_t>ee)
    piece.delta = <double>info
    d.log.values.append(value)
    note_style(d, &piece, d.self_idx, lamport)
    integrate_insert(d.seq, t, make_id(d.self_idx, counter), es, 1, LC_ANCHOR_START, d.log.peer_ids)
    record_local_op(d, &piece)
    memset(&piece, 0, sizeof(lc_op))
    piece.container = c
    piece.kind = LC_OP_MARK_END
    piece.counter = counter + 1
    piece.len = 1
    integrate_insert(d.seq, t, make_id(d.self_idx, counter + 1), ee + 1, 1, LC_ANCHOR_END,
                     d.log.peer_ids)
    record_local_op(d, &piece)
    if styled:
        style_edit_end(d, c, 2, es, ee, style_id(d.self_idx, counter))
    return 0


cdef dict text_styles_at(LoroDoc d, uint32_t t, int64_t e):
    """key -> value of the marks a text inserted at entity `e` takes (those covering both
    the entity before it and the one after it), unmarks included as None."""
    if d.seq.nodes[d.seq.roots[t]].lens.anchors == 0 or e == 0 or e >= d.seq.visible_len(t):
        return {}
    return style_attributes(d, frozenset(open_marks_before(d, t, e)), True)


cdef int note_insert_styles(LoroDoc d, uint32_t t, const lc_op *piece) except -1:
    """Keep, for the event note just written of a local insert into a text with style
    anchors, the styles the text took (loro's StyleMeta of its event hint: the winning mark
    of each key, unmarks included): ((key, lamport, peer) of each, {key: value}), in
    `d.evs.local_styles` by note index, with the op's peer index and counter (_events:
    local_delta.pxi)."""
    cdef int64_t e = piece.pos
    if d.evs is None or e == 0 or e >= d.seq.visible_len(t) - piece.len:
        return 0
    winners = style_winners(d, frozenset(open_marks_before(d, t, e)))
    if not winners:
        return 0
    ident = tuple(sorted([(k, (<tuple>st)[3], (<tuple>st)[4]) for k, st in winners.items()]))
    d.evs.local_styles[d.evlog.n - 1] = (d.self_idx, piece.counter, ident,
                                         {k: (<tuple>st)[1] for k, st in winners.items()})
    return 0


cdef int check_open_marks(LoroDoc d, uint32_t t) except -1:
    """The marks found open across each gap of a text (open_marks_before, through the style
    summaries) are those a walk over the whole text has open there: after each anchor, and
    after the first and the last entity of each text span."""
    cdef SeqArena a = d.seq
    cdef uint32_t leaf
    cdef int i
    cdef lc_span *s
    cdef int64_t e = 0
    cdef set opened = set()
    leaf = a.first_leaf(t)
    while leaf != LC_NO_NODE:
        for i in range(a.nodes[leaf].n):
            s = &a.nodes[leaf].u.spans[i]
            if not span_visible(s):
                continue
            if s.content == LC_ANCHOR_START and atom_visible(a, make_id(s.id.peer, s.id.counter + 1)):
                opened.add(style_id(s.id.peer, s.id.counter))
            elif s.content == LC_ANCHOR_END:
                opened.discard(style_id(s.id.peer, s.id.counter - 1))
            gaps = [e + 1, e + s.len] if s.len > 1 else [e + 1]
            e += s.len
            for g in gaps:
                got = open_marks_before(d, t, g)
                if got != opened:
                    raise AssertionError(f"marks open before entity {g}: found {sorted(got)}, "
                                         f"the text has {sorted(opened)}")
        leaf = a.nodes[leaf].next_leaf
    return 0


cdef list key_coverage(LoroDoc d, uint32_t t, int64_t start, int64_t end, str key, object value):
    """Over the entities of code points [start, end) (the style anchors among them
    included, as loro's entity range has them): whether every one has `key` = `value`,
    whether any has a mark of `key`, and the code point ranges no mark of `key` covers."""
    cdef SeqArena a = d.seq
    cdef int64_t es = text_insert_entity(d, t, start), ee = text_insert_entity(d, t, end)
    cdef int64_t off, e, n, cp = start, lo, hi
    cdef uint32_t leaf
    cdef int i
    cdef lc_span *s
    cdef set opened = open_marks_before(d, t, es)
    cdef list gaps = []
    cdef bint all_same = True, has_key = False
    cur = frozenset(opened)
    cache = {}
    leaf = a.find_visible(t, es, &i, &off)
    e = es - off
    while leaf != LC_NO_NODE and e < ee:
        while i < a.nodes[leaf].n and e < ee:
            s = &a.nodes[leaf].u.spans[i]
            i += 1
            if not span_visible(s):
                continue
            n = 1 if s.content >= LC_ANCHOR_MIN else s.len
            if s.content == LC_ANCHOR_START and atom_visible(a, make_id(s.id.peer, s.id.counter + 1)):
                opened.add(style_id(s.id.peer, s.id.counter))
                cur = frozenset(opened)
            st = cache.get(cur, False)
            if st is False:
                st = cache[cur] = style_winners(d, cur).get(key)
            if st is None:
                all_same = False
            else:
                has_key = True
                if not same_value((<tuple>st)[1], value):
                    all_same = False
            if s.content == LC_ANCHOR_END:
                opened.discard(style_id(s.id.peer, s.id.counter - 1))
                cur = frozenset(opened)
            elif s.content < LC_ANCHOR_MIN:
                lo = cp
                hi = min(end, cp + s.len - max(es - e, 0))
                cp = hi
                if st is None and hi > lo:
                    if gaps and gaps[len(gaps) - 1][1] == lo:
                        gaps[len(gaps) - 1][1] = hi
                    else:
                        gaps.append([lo, hi])
            e += n
        leaf = a.nodes[leaf].next_leaf
        i = 0
    return [all_same, has_key, gaps]


cdef int detached_text_mark(LoroDoc d, uint32_t c, int64_t start, int64_t end, str key,
                            object value) except -1:
    """A mark on a detached text, as loro's detached texts behave: every detached mark has
    the same priority and expands like bold, so the first mark of a key on a character
    keeps it (a later mark or unmark of the key changes only characters no mark of the key
    covers yet), and an unmark where the key is nowhere does nothing. Emulated on the
    detached text's own document: real marks written over the uncovered stretches only."""
    cdef uint32_t t = d.ctree[c]
    cdef int64_t n = d.seq.char_len(t)
    if start >= end:
        raise LoroValueError("Start must be less than end")
    if end > n:
        raise OutOfBoundsError(f"mark range {start}..{end} is out of bounds (length {n})")
    if d.text_styles is None:
        from loro_c.richtext import TextStyles, StyleConfigMap, ExpandType
        d.text_styles = TextStyles()
        d.text_styles.map = StyleConfigMap()
        d.text_styles.default = ExpandType.After
    all_same, has_key, gaps = key_coverage(d, t, start, end, key, value)
    if all_same or (value is None and not has_key):
        return 0
    for lo, hi in gaps:
        write_text_mark(d, c, text_insert_entity(d, d.ctree[c], lo), text_insert_entity(d, d.ctree[c], hi),
                        key, value)
    return 0


# loro's style map elements (docs/ARCHITECTURE.md, "Rich text"): in a document with an event
# registry, each text keeps a StyleMemo (d.style_slots): its elements, the moves waiting and
# the state they are of; a local op of a text holding anchors applies itself to them
# (loro_c.rich_checkout.Elements), so a later checkout starts from loro's elements rather
# than a guess. Their state: STYLE_STATE after a move, import or commit (the epoch of the
# moves and the log's frontiers); STYLE_TXN while the open transaction's ops keep them. The
# ops compare integers there, so an edit costs no lookup and no tuple.


cdef class StyleMemo:
    def __dealloc__(self):
        free(self.heads)


cdef StyleMemo style_memo(LoroDoc d, uint32_t c):
    """Text `c`'s StyleMemo, None when it keeps no elements."""
    cdef StyleMemo m
    if c >= <uint32_t>len(d.style_slots):
        return None
    m = d.style_slots[c]
    if m is None or m.kind == STYLE_NONE:
        return None
    return m


cdef StyleMemo style_memo_new(LoroDoc d, uint32_t c, object elems, list pending):
    """Text `c` keeps `elems` with the moves `pending` (STYLE_OPEN: its caller stamps it)."""
    cdef StyleMemo m
    cdef Py_ssize_t n = len(d.style_slots)
    if c >= n:
        d.style_slots.extend([None] * (c + 1 - n))
    m = d.style_slots[c]
    if m is None:
        m = StyleMemo.__new__(StyleMemo)
        d.style_slots[c] = m
        d.style_texts.append(c)
    m.elems = elems
    m.pending = pending
    m.kind = STYLE_OPEN
    return m


cdef int style_memo_state(LoroDoc d, uint32_t c, object elems, list pending, uint32_t epoch) except -1:
    """Text `c` keeps `elems` with the moves `pending`, of the state of `epoch` now."""
    memo_stamp_state(d, style_memo_new(d, c, elems, pending), epoch)
    return 0


cdef void memo_drop(StyleMemo m) noexcept:
    """Its text keeps no elements (unknown, stale, or left open by an op that failed)."""
    m.kind = STYLE_NONE
    m.elems = None
    m.pending = None


cdef inline bint chain_heads_are(LoroDoc d, const lc_id *ids, int64_t n) noexcept:
    """Whether `ids` are the log's frontiers after the last commit of the current run."""
    cdef bytes h = d.style_chain_heads
    if d.style_chain == 0 or h is None or len(h) != n * <int64_t>sizeof(lc_id):
        return False
    return n == 0 or memcmp(<const char*>h, ids, <size_t>n * sizeof(lc_id)) == 0


cdef uint64_t style_chain_at(LoroDoc d, object heads) except? 0:
    """The current run of local commits when it ended at `heads` (a set of (peer index,
    counter), the frontiers before an import), else 0."""
    cdef bytes h = d.style_chain_heads
    cdef const lc_id *ids
    cdef Py_ssize_t i, n
    if d.style_chain == 0 or h is None:
        return 0
    n = len(h) // <Py_ssize_t>sizeof(lc_id)
    if n != len(heads):
        return 0
    ids = <const lc_id*><const char*>h
    for i in range(n):
        if (ids[i].peer, ids[i].counter) not in heads:
            return 0
    return d.style_chain


cdef int memo_stamp_state(LoroDoc d, StyleMemo m, uint32_t epoch) except -1:
    """`m` is of the state: the moves of the state (`epoch`, one each) and the history (the
    log's frontiers now, or the run of local commits they end) must not change for it to
    stay so."""
    cdef int64_t n = d.log.n_frontiers
    cdef lc_id *heads
    if n > m.cap_heads:
        heads = <lc_id*>realloc(m.heads, <size_t>n * sizeof(lc_id))
        if heads == NULL:
            raise MemoryError()
        m.heads = heads
        m.cap_heads = n
    if n:
        memcpy(m.heads, d.log.frontiers, <size_t>n * sizeof(lc_id))
    m.n_heads = n
    m.epoch = epoch
    m.kind = STYLE_STATE
    m.chain = d.style_chain if chain_heads_are(d, d.log.frontiers, n) else 0
    return 0


cdef inline bint memo_heads_are(StyleMemo m, const lc_id *ids, int64_t n) noexcept:
    cdef int64_t i
    if m.n_heads != n:
        return False
    for i in range(n):
        if m.heads[i].peer != ids[i].peer or m.heads[i].counter != ids[i].counter:
            return False
    return True


cdef inline bint memo_of_heads(LoroDoc d, StyleMemo m, const lc_id *ids, int64_t n) noexcept:
    """Whether `m` is of the history `ids`: stamped there, or in the run of local commits
    that ends there (the commits since left its text alone: style_commit)."""
    return (memo_heads_are(m, ids, n)
            or (m.chain != 0 and m.chain == d.style_chain and chain_heads_are(d, ids, n)))


cdef bint memo_at_state(LoroDoc d, StyleMemo m, uint32_t epoch) noexcept:
    """Whether `m` is of the state of `epoch` with the log's frontiers now."""
    return m.kind == STYLE_STATE and m.epoch == epoch and memo_of_heads(d, m, d.log.frontiers, d.log.n_frontiers)


cdef inline bint memo_in_txn(LoroDoc d, StyleMemo m) noexcept:
    """Whether the ops of the open transaction keep `m` (nothing else changes the state
    before it commits: imports and checkouts commit first)."""
    return (m.kind == STYLE_TXN and m.epoch == d.hist_epoch and m.txn_peer == d.self_idx
            and m.txn_counter == d.txn_counter)


cdef inline bint memo_pre_txn(LoroDoc d, StyleMemo m) noexcept:
    """Whether `m` is of the state before the open transaction (its deps are the log's
    frontiers then, in their order)."""
    return (m.kind == STYLE_STATE and m.epoch == d.hist_epoch
            and memo_of_heads(d, m, d.txn_deps, d.n_txn_deps))


cdef frozenset heads_by_peer_id(LoroDoc d):
    """The log's frontiers as (peer id, counter) pairs (a thin document's as loaded: its
    history, once imported, numbers its peers anew)."""
    cdef int64_t i
    if d.thin_blob is not None:
        return frozenset(d.thin_fr)
    return frozenset([(d.log.peer_ids[d.log.frontiers[i].peer], d.log.frontiers[i].counter)
                      for i in range(d.log.n_frontiers)])


cdef int style_note_load(LoroDoc d) except -1:
    """A snapshot was just loaded into the empty `d`. loro builds each text's style map
    elements from the loaded state, not op by op: its loader annotates every mark's range
    (start anchor to end anchor, both included) over one element, so they are cut at each
    start anchor and after each end anchor. Elements a subscribed load kept op by op are
    dropped; the first journaled change of the loaded state takes the loader's
    (style_load_memos)."""
    style_memos_clear(d)
    d.style_loaded = None if d.detached or d.shallow_sv is not None else (d.hist_epoch, heads_by_peer_id(d))
    return 0


cdef int style_note_batch(LoroDoc d, dict snap_vv) except -1:
    """import_batch loaded a snapshot (its version `snap_vv`, by peer id) into the empty
    `d` and took the rest of the batch with it, nobody subscribed. loro loads the
    snapshot's state (its loader's elements) and then moves that state to the latest
    version, which applies itself to those elements: the first journaled change of this
    state takes them (style_memos_moved); a guess at every anchor would miss the elements
    that move cut."""
    style_note_load(d)
    if d.style_loaded is not None and d.thin_blob is None:
        d.style_loaded = d.style_loaded + (snap_vv,)
    else:
        d.style_loaded = None
    return 0


cdef int style_memos_moved(LoroDoc d, dict snap_vv) except -1:
    """style_memos_loaded after a batch (style_note_batch): the loader's elements at the
    snapshot's version `snap_vv`, then the move from there to the state now replayed on
    them as a journaled move's is (_events.style_replay_pending). Only the sequence
    tracker visits the snapshot's version, to read the texts and the atoms the move
    changes as they were there: the state does not move (a move would also feed the
    MovableList maps of loro's checkout calculator a walk loro never made)."""
    cdef int64_t c, k, n_saved = 0, n0 = d.evlog.n
    cdef uint32_t p
    cdef int32_t lo
    cdef lc_id *snap_ids = NULL
    cdef lc_id *saved = NULL
    cdef bint at_head = d.tracker_at_head
    cdef lc_range_ops it
    cdef lc_op *op
    cdef list texts = unkept_marked_texts(d)
    if not texts:
        return 0
    peers = d.log.peer_map
    vv = {p_id: e for p_id, e in snap_vv.items() if e > 0 and p_id in peers}
    ids = [(peers[p_id], ctr) for p_id, ctr in vv_frontier_ids(d, vv)]
    dense = {peers[p_id]: e for p_id, e in vv.items()}
    wanted = set(texts)
    snap_ids = <lc_id*>malloc((len(ids) + 1) * sizeof(lc_id))
    if not at_head:
        n_saved = d.n_tfront
        saved = <lc_id*>malloc(<size_t>(n_saved + 1) * sizeof(lc_id))
    try:
        if snap_ids == NULL or (not at_head and saved == NULL):
            raise MemoryError()
        for k in range(len(ids)):
            snap_ids[k].peer = ids[k][0]
            snap_ids[k].counter = ids[k][1]
        if not at_head:
            memcpy(saved, d.tfront, <size_t>n_saved * sizeof(lc_id))
        move_tracker_to(d, snap_ids, len(ids))
        try:
            before = {c: loaded_elements(d, d.ctree[c]) for c in texts}
            # the texts' ops past the snapshot, journaled as that move journals them, read
            # where the tracker is
            for p in range(d.log.n_peers):
                lo = dense.get(p, 0)
                if lo >= d.log.vv[p]:
                    continue
                range_ops_start(d.log, &it, p, lo, d.log.vv[p])
                op = range_ops_next(d.log, &it)
                while op != NULL:
                    if op.container in wanted:
                        note_moved_op(d, op, p, lo, d.log.vv[p], True)
                    op = range_ops_next(d.log, &it)
            runs = events_module().notes_before(d, n0)
        finally:
            d.evlog.n = n0
            if at_head:
                move_tracker_to(d, d.log.frontiers, d.log.n_frontiers)
                d.tracker_at_head = True
            else:
                move_tracker_to(d, saved, n_saved)
    finally:
        free(snap_ids)
        free(saved)
    for c in texts:
        elems = before[c]
        moved = runs.get(c)
        if moved:
            elems = events_module().style_replay_pending(d, <uint32_t>c, elems, [moved])
        style_memo_state(d, <uint32_t>c, elems, [], d.hist_epoch)
    return 0


cdef list unkept_marked_texts(LoroDoc d):
    """The texts holding anchors that keep no style map elements."""
    cdef int64_t c
    return [c for c in range(d.n_containers)
            if d.ckind[c] == KIND_TEXT and d.seq.tree_is_text[d.ctree[c]] & TREE_ANCHORED
            and style_memo(d, <uint32_t>c) is None]


cdef int style_memos_loaded(LoroDoc d) except -1:
    """Every text holding anchors that keeps no elements keeps those loro's snapshot loader
    builds from the state now, of the state now."""
    for c in unkept_marked_texts(d):
        style_memo_state(d, <uint32_t>c, loaded_elements(d, d.ctree[<uint32_t>c]), [], d.hist_epoch)
    return 0


cdef object loaded_elements(LoroDoc d, uint32_t t):
    """loro's style map elements of text tree `t` as its snapshot loader builds them from
    the state now (style_note_load)."""
    cdef SeqArena a = d.seq
    cdef uint32_t leaf = a.first_leaf(t)
    cdef int i
    cdef lc_span *s
    cdef int64_t pos = 0
    cdef dict starts = {}
    cdef list ranges = []
    while leaf != LC_NO_NODE:
        for i in range(a.nodes[leaf].n):
            s = &a.nodes[leaf].u.spans[i]
            if not span_visible(s):
                continue
            if s.content == LC_ANCHOR_START:
                starts[style_id(s.id.peer, s.id.counter)] = pos
            elif s.content == LC_ANCHOR_END:
                sid = style_id(s.id.peer, s.id.counter - 1)
                start = starts.pop(sid, None)
                if start is not None:
                    ranges.append((start, pos + 1, sid))
            pos += s.len
        leaf = a.nodes[leaf].next_leaf
    elems = Elements.fresh(pos)
    for start, end, sid in ranges:
        (<Elements>elems).annotate(start, end, sid)
    return elems


cdef bint style_load_memos(LoroDoc d) except -1:
    """Before the first journaled import, move or local edit since a snapshot load (none
    of its ops applied yet): when the state is still the loaded one, every text holding
    anchors that keeps no elements keeps the loader's, of the state now (after a batch,
    moved from the snapshot's version: style_memos_moved). The mark is used
    once: after this change the elements follow op by op, or the state has moved on.
    Returns whether the state was the loaded one."""
    cdef object loaded = d.style_loaded
    d.style_loaded = None
    if (loaded is None or d.detached or (<tuple>loaded)[0] != d.hist_epoch
            or (d.txn_open and d.log.n_ops != d.txn_ops_off)
            or (<tuple>loaded)[1] != heads_by_peer_id(d)):
        return False
    if len(<tuple>loaded) > 2:
        style_memos_moved(d, (<tuple>loaded)[2])
    else:
        style_memos_loaded(d)
    return True


cdef int style_memos_clear(LoroDoc d) except -1:
    """The registry that kept them is gone."""
    d.style_slots = []
    d.style_texts = []
    d.style_txn_texts = []
    d.style_chain += 1
    d.style_chain_heads = None
    return 0


cdef int style_edit_begin(LoroDoc d, uint32_t c, bint first_mark) except -1:
    """Before a local op on text `c` (holding style anchors, or getting its first with
    `first_mark`; d.evs is set): its elements, when known, made those of the state now
    (the moves waiting replayed, _events.style_replay_pending); unknown or stale ones are
    dropped (guessed later)."""
    cdef StyleMemo m = style_memo(d, c)
    if m is None and d.style_loaded is not None and not first_mark and style_load_memos(d):
        m = style_memo(d, c)
    if m is None:
        if first_mark:
            style_memo_new(d, c, Elements.fresh(d.seq.visible_len(d.ctree[c])), [])
        return 0
    if not m.pending:
        if memo_in_txn(d, m):
            return 0
        if m.elems is None or not memo_pre_txn(d, m):
            memo_drop(m)
            return 0
    else:
        if not memo_pre_txn(d, m):
            memo_drop(m)
            return 0
        m.elems = events_module().style_replay_pending(d, c, m.elems, m.pending)
        m.pending = []
    m.kind = STYLE_OPEN
    return 0


cdef int style_edit_end(LoroDoc d, uint32_t c, int kind, int64_t pos, int64_t n, object sid,
                        bint last=True) except -1:
    """After a local op on text `c` (style_edit_begin before it): the op applied to the
    elements as loro's state applies it: an insert of `n` entities at `pos` (kind 0), a
    delete of entities [pos, pos + n) (1), or a mark `sid` of entities [pos, n) (2: its end
    anchor inserted at n, its start anchor at pos, then entities [pos, n + 2) annotated).
    With `last` (no more ops of the call follow) they are stamped for the transaction."""
    cdef Elements elems
    cdef StyleMemo m = style_memo(d, c)
    if m is None or (m.kind != STYLE_OPEN and not memo_in_txn(d, m)):
        return 0
    elems = m.elems
    if kind == 0:
        elems.insert(pos, n)
    elif kind == 1:
        elems.delete(pos, n)
    else:
        elems.insert(n, 1)
        elems.insert(pos, 1)
        elems.annotate(pos, n + 2, sid)
    if last and m.kind == STYLE_OPEN:
        d.style_txn_texts.append(c)
        m.kind = STYLE_TXN
        m.epoch = d.hist_epoch
        m.txn_peer = d.self_idx
        m.txn_counter = d.txn_counter
    return 0


cdef int style_commit(LoroDoc d) except -1:
    """A transaction committed (its deps still those it started from): the elements kept
    through its ops, and those of texts it left alone, are the state's now. When it
    continues the run of local commits, the texts it left alone stay of the state through
    the run (memo_of_heads) and only those it edited are stamped; else every text is
    looked at once and the run starts here."""
    cdef StyleMemo m
    cdef list live, stamp = []
    cdef int64_t n = d.log.n_frontiers, n_dead = 0
    cdef bint run_goes_on = chain_heads_are(d, d.txn_deps, d.n_txn_deps)
    if run_goes_on:
        for c in d.style_txn_texts:
            m = d.style_slots[c]
            if m is not None and memo_in_txn(d, m):
                stamp.append(m)
    else:
        live = []
        for c in d.style_texts:
            m = d.style_slots[c]
            if memo_in_txn(d, m) or memo_pre_txn(d, m):
                stamp.append(m)
                live.append(c)
            else:
                # dropped, or of a state before the commit's: its stamp can never match
                # again (the log's frontiers only move on)
                d.style_slots[c] = None
                n_dead += 1
        d.style_texts = live
        d.style_chain += 1
    d.style_walked += len(d.style_txn_texts) if run_goes_on else len(stamp) + n_dead
    d.style_txn_texts = []
    d.style_chain_heads = PyBytes_FromStringAndSize(<const char*>d.log.frontiers, n * <Py_ssize_t>sizeof(lc_id)) if n else b""
    for m in stamp:
        memo_stamp_state(d, m, d.hist_epoch)
    return 0
