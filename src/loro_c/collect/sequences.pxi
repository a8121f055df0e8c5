# Included by _events.pyx: a Text's or List's diff from the journal's touched atoms (the
# module docstring's "Sequences"), rich text deltas with their marks, and retain runs.


ctypedef struct ev_point:
    # one end of a range of atoms of `peer`: entering it adds `dnew` to "new" and `ddel`
    # to "deleted by this batch" (leaving subtracts)
    uint32_t peer
    int32_t pos
    int32_t dnew
    int32_t ddel

ctypedef struct ev_piece:
    int64_t abs         # absolute index (tombstones counted): document order
    int64_t vb          # visible atoms before it now (text: code points)
    int64_t ent         # text: visible entities (code points and style anchors) before it
    int64_t content     # content offset of its first atom
    int32_t n
    int32_t ins         # 1 inserted (visible now only), 0 deleted (visible before only)
    uint32_t peer       # id of its first atom
    int32_t counter


cdef struct ev_scratch:
    ev_point *pts
    int64_t n_pts, cap_pts
    ev_piece *pcs
    int64_t n_pcs, cap_pcs


cdef int cmp_point(const void *a, const void *b) noexcept nogil:
    cdef const ev_point *x = <const ev_point*>a
    cdef const ev_point *y = <const ev_point*>b
    if x.peer != y.peer:
        return -1 if x.peer < y.peer else 1
    if x.pos != y.pos:
        return -1 if x.pos < y.pos else 1
    return 0


cdef int cmp_piece(const void *a, const void *b) noexcept nogil:
    cdef const ev_piece *x = <const ev_piece*>a
    cdef const ev_piece *y = <const ev_piece*>b
    if x.abs != y.abs:
        return -1 if x.abs < y.abs else 1
    return 0


ctypedef struct ev_key:
    uint64_t key
    int64_t at


cdef enum:
    RADIX_BITS = 11
    RADIX = 2048


cdef int sort_by_key(void *base, int64_t n, size_t size, ev_key *ks) except -1:
    """Reorder the `n` items of `size` bytes at `base` by ks[i].key, the key of item i
    (ks[i].at == i; `ks` is overwritten). Items of equal keys come in any order. A
    least-significant-digit radix sort that skips the digits all keys share: an import's
    sweep sorts tens of thousands of points, which qsort's calls through a comparison
    function made a tenth of the event's cost."""
    cdef int64_t i, j, d, shift, run
    cdef int64_t counts[RADIX]
    cdef uint64_t kor = 0, kand = <uint64_t>(-1)
    cdef ev_key *src = ks
    cdef ev_key *dst
    cdef ev_key *tmp
    cdef ev_key x
    cdef char *items
    if n < 2:
        return 0
    tmp = <ev_key*>malloc(<size_t>n * sizeof(ev_key))
    items = <char*>malloc(<size_t>n * size)
    if tmp == NULL or items == NULL:
        free(tmp)
        free(items)
        raise MemoryError()
    if n < 48:
        for i in range(1, n):
            x = src[i]
            j = i - 1
            while j >= 0 and src[j].key > x.key:
                src[j + 1] = src[j]
                j -= 1
            src[j + 1] = x
    else:
        for i in range(n):
            kor |= src[i].key
            kand &= src[i].key
        dst = tmp
        for shift in range(0, 64, RADIX_BITS):
            if (((kor ^ kand) >> shift) & (RADIX - 1)) == 0:
                continue
            memset(counts, 0, sizeof(counts))
            for i in range(n):
                counts[(src[i].key >> shift) & (RADIX - 1)] += 1
            run = 0
            for d in range(RADIX):
                j = counts[d]
                counts[d] = run
                run += j
            for i in range(n):
                d = (src[i].key >> shift) & (RADIX - 1)
                dst[counts[d]] = src[i]
                counts[d] += 1
            src, dst = dst, src
    for i in range(n):
        memcpy(items + <size_t>i * size, (<char*>base) + <size_t>src[i].at * size, size)
    memcpy(base, items, <size_t>n * size)
    free(tmp)
    free(items)
    return 0


cdef int sort_points(ev_scratch *sc) except -1:
    """Order the points by peer, then position (the sweep adds up the counts of the points
    at one place, so their order does not matter)."""
    cdef int64_t i, n = sc.n_pts
    cdef ev_key *ks = <ev_key*>malloc(<size_t>(n if n > 0 else 1) * sizeof(ev_key))
    if ks == NULL:
        raise MemoryError()
    for i in range(n):
        ks[i].key = ((<uint64_t>sc.pts[i].peer) << 32) | <uint32_t>sc.pts[i].pos
        ks[i].at = i
    try:
        sort_by_key(sc.pts, n, sizeof(ev_point), ks)
    finally:
        free(ks)
    return 0


cdef int sort_pieces(ev_scratch *sc) except -1:
    """Order the pieces by their absolute index (document order)."""
    cdef int64_t i, n = sc.n_pcs
    cdef ev_key *ks = <ev_key*>malloc(<size_t>(n if n > 0 else 1) * sizeof(ev_key))
    if ks == NULL:
        raise MemoryError()
    for i in range(n):
        ks[i].key = <uint64_t>sc.pcs[i].abs
        ks[i].at = i
    try:
        sort_by_key(sc.pcs, n, sizeof(ev_piece), ks)
    finally:
        free(ks)
    return 0


cdef int add_range(ev_scratch *sc, uint32_t peer, int32_t a, int32_t b, int32_t is_new) except -1:
    if a >= b:
        return 0
    if sc.n_pts + 2 > sc.cap_pts:
        sc.pts = <ev_point*>grow(sc.pts, &sc.cap_pts, sc.n_pts + 2, sizeof(ev_point))
    sc.pts[sc.n_pts].peer = peer
    sc.pts[sc.n_pts].pos = a
    sc.pts[sc.n_pts].dnew = is_new
    sc.pts[sc.n_pts].ddel = 1 - is_new
    sc.pts[sc.n_pts + 1].peer = peer
    sc.pts[sc.n_pts + 1].pos = b
    sc.pts[sc.n_pts + 1].dnew = -is_new
    sc.pts[sc.n_pts + 1].ddel = is_new - 1
    sc.n_pts += 2
    return 0


cdef int64_t first_record(lc_peer_index *pi, int32_t counter) noexcept:
    """The first tracker record of a peer that ends after `counter`."""
    cdef int64_t lo = 0, hi = pi.rec_len, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if pi.recs[mid].counter + pi.recs[mid].len <= counter:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int delete_targets(SeqArena seq, uint32_t peer, int32_t start, int32_t end,
                        ev_scratch *sc) except -1:
    """Add the ranges of atoms that delete ops [start, end) of `peer` removed."""
    cdef lc_peer_index *pi
    cdef int64_t k
    cdef lc_record r
    cdef int32_t a, b
    if peer >= seq.n_peers:
        return 0
    pi = &seq.peers[peer]
    k = first_record(pi, start)
    while k < pi.rec_len:
        r = pi.recs[k]
        if r.counter >= end:
            break
        if r.kind != LC_REC_INSERT:
            a = r.counter if r.counter > start else start
            b = r.counter + r.len if r.counter + r.len < end else end
            if r.kind == LC_REC_DELETE_REV:
                add_range(sc, r.target.peer, r.target.counter + r.len - (b - r.counter),
                          r.target.counter + r.len - (a - r.counter), 0)
            else:
                add_range(sc, r.target.peer, r.target.counter + (a - r.counter),
                          r.target.counter + (b - r.counter), 0)
        k += 1
    return 0


cdef int push_piece(SeqArena seq, ev_scratch *sc, uint32_t leaf, int slot, uint32_t peer,
                    int32_t a, int32_t end, bint now) except -1:
    """Add atoms [a, end) of `peer` (inside the span at `leaf`/`slot`) as a piece whose
    visibility changed: inserted when visible now, else deleted. A style anchor is no
    piece: it has no length in an event (what its mark changes is shown as attributes)."""
    cdef lc_node *node = &seq.nodes[leaf]
    cdef lc_span *s = &node.u.spans[slot]
    cdef ev_piece *pc
    cdef int64_t vis = 0, tot = a - s.id.counter
    cdef int j
    cdef uint32_t nd = leaf, up
    cdef lc_lens *lens
    if s.content >= LC_ANCHOR_MIN:
        return 0
    if sc.n_pcs == sc.cap_pcs:
        sc.pcs = <ev_piece*>grow(sc.pcs, &sc.cap_pcs, sc.n_pcs + 1, sizeof(ev_piece))
    pc = &sc.pcs[sc.n_pcs]
    pc.content = s.content + (a - s.id.counter)
    pc.n = end - a
    pc.ins = now
    pc.peer = peer
    pc.counter = a
    # visible_before and abs_index in one walk up from the leaf (an import makes a piece
    # per visible run, thousands of them)
    if span_visible(s):
        vis = a - s.id.counter
    for j in range(slot):
        tot += node.u.spans[j].len
        if span_visible(&node.u.spans[j]):
            vis += node.u.spans[j].len
    up = node.parent
    while up != LC_NO_NODE:
        node = &seq.nodes[up]
        for j in range(node.n):
            if node.u.children[j] == nd:
                break
            lens = &seq.nodes[node.u.children[j]].lens
            vis += lens.visible
            tot += lens.total
        nd = up
        up = node.parent
    pc.vb = vis
    pc.ent = vis
    if seq.tree_is_text[seq.nodes[leaf].tree] and seq.nodes[seq.roots[seq.nodes[leaf].tree]].lens.anchors:
        pc.vb -= anchors_before(seq, leaf, slot)
    pc.abs = tot
    sc.n_pcs += 1
    return 0


cdef int touched_pieces(SeqArena seq, uint32_t peer, int32_t a, int32_t b, bint is_new, int kd,
                        ev_scratch *sc) except -1:
    """Add the pieces of atoms [a, b) of `peer` whose visibility changed in this batch."""
    cdef int32_t c = a, end
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    cdef bint now, before
    cdef ev_piece *pc
    while c < b:
        leaf = locate(seq, make_id(peer, c), &slot)
        s = &seq.nodes[leaf].u.spans[slot]
        end = s.id.counter + s.len
        if end > b:
            end = b
        now = span_visible(s)
        before = not is_new and s.future == 0 and s.deleted == kd
        if now != before:
            push_piece(seq, sc, leaf, slot, peer, c, end, now)
        c = end
    return 0


cdef object seq_diff(LoroDoc doc, uint32_t c, list idxs, list shown, bint is_import=False):
    cdef ev_scratch sc
    memset(&sc, 0, sizeof(ev_scratch))
    try:
        return seq_diff_in(doc, c, idxs, shown, &sc, is_import)
    finally:
        free(sc.pts)
        free(sc.pcs)


cdef object seq_diff_in(LoroDoc doc, uint32_t c, list idxs, list shown, ev_scratch *sc,
                        bint is_import=False):
    cdef SeqArena seq = doc.seq
    cdef lc_ev_note *e
    cdef bint is_text = doc.ckind[c] == KIND_TEXT
    cdef int64_t i, k, pos, vb
    cdef int32_t cur_new = 0, cur_del = 0, prev = 0
    cdef uint32_t peer = 0
    cdef ev_point *pt
    cdef ev_piece *pc
    cdef bint linear = is_import and is_text and import_is_linear(doc)
    # (a linear import keeps elements known before it, and starts them when it brings a
    # text its first anchors in a few ops, as a server's update does: from a fresh element
    # that walks every piece, which a large import is spared: guessed at need)
    cdef bint styled = (linear and _import_stamp is not None
                        and seq.nodes[seq.roots[doc.ctree[c]]].lens.anchors > 0
                        and (len(idxs) <= 64 or style_memo(doc, c) is not None))
    if linear and not styled:
        # (loro applies the ops to a delta: linear_delta.pxi)
        d = linear_text_delta(doc, c, idxs)
        if d is not False:
            return d
    marks = None
    for i in idxs:
        e = &doc.evlog.notes[i]
        if e.kind == LC_EV_INSERT:
            add_range(sc, e.peer, e.counter, e.counter + e.len, 1)
        elif e.kind == LC_EV_DELETE:
            delete_targets(seq, e.peer, e.counter, e.counter + e.len, sc)
        elif e.kind == LC_EV_MARK:
            if marks is None:
                marks = []
            marks.append((e.peer, e.counter, e.key))
    # cut the ranges into pieces covered alike: new or not, and by how many of this batch's
    # deletes (concurrent deletes of one atom both count in its delete count)
    if sc.n_pts == 2:
        pt = &sc.pts[0]
        touched_pieces(seq, pt.peer, pt.pos, sc.pts[1].pos, pt.dnew, pt.ddel, sc)
    elif sc.n_pts > 2:
        sort_points(sc)
        for k in range(sc.n_pts):
            pt = &sc.pts[k]
            if pt.peer != peer:
                peer = pt.peer
                cur_new = cur_del = 0
            elif pt.pos > prev and (cur_new or cur_del):
                touched_pieces(seq, peer, prev, pt.pos, cur_new > 0, cur_del, sc)
            cur_new += pt.dnew
            cur_del += pt.ddel
            prev = pt.pos
    if marks is not None or (is_text and seq.nodes[seq.roots[doc.ctree[c]]].lens.anchors):
        if is_import and _import_stamp is not None:
            # (the style map elements follow every import, a linear one too)
            style_import_text(doc, c, sc, marks)
        if styled:      # (else linear_text_delta already declined above)
            d = linear_text_delta(doc, c, idxs)
            if d is not False:
                return d
        return rich_delta(doc, c, sc, marks, is_import)
    if is_text and is_import and sc.n_pcs:
        # loro composes an import's text delta as a checkout's (a commit's comes from
        # its ops, which pieces_delta joins)
        return checkout_text_delta(doc, sc)
    return pieces_delta(doc, c, sc, shown)


cdef object pieces_delta(LoroDoc doc, uint32_t c, ev_scratch *sc, list shown, list reached=None):
    """The delta of the pieces whose visibility changed: in document order, the visible
    atoms between two pieces retained, the newly visible inserted, the newly hidden
    deleted."""
    cdef SeqArena seq = doc.seq
    cdef bint is_text = doc.ckind[c] == KIND_TEXT
    cdef int64_t k, pos, vb
    cdef ev_piece *pc
    if sc.n_pcs == 0:
        return None
    if sc.n_pcs > 1:
        qsort(sc.pcs, sc.n_pcs, sizeof(ev_piece), cmp_piece)
    ops = []
    pos = 0
    for k in range(sc.n_pcs):
        pc = &sc.pcs[k]
        vb = pc.vb
        if vb > pos:
            if ops and ops[-1][0] == 0:
                ops[-1][1] += vb - pos
            else:
                ops.append([0, vb - pos])
            pos = vb
        if pc.ins:
            pos += pc.n
            if is_text:
                run = (pc.content, pc.n)
            else:
                run = (pc.content, pc.n, pc.peer, pc.counter,
                       doc.log.lamport_of(make_id(pc.peer, pc.counter)))
            if ops and ops[-1][0] == 1:
                ops[-1][1].append(run)
            elif not is_text and ops and ops[-1][0] == 2:
                # lists insert before deleting within one gap (loro's import order)
                if len(ops) >= 2 and ops[-2][0] == 1:
                    ops[-2][1].append(run)
                else:
                    ops.insert(len(ops) - 1, [1, [run]])
            else:
                ops.append([1, [run]])
        elif ops and ops[-1][0] == 2:
            ops[-1][1] += pc.n
        else:
            ops.append([2, pc.n])
    if is_text:
        return text_diff([text_retain(op[1]) if op[0] == 0 else text_delete(op[1])
                          if op[0] == 2 else text_insert(text_of(seq, op[1])) for op in ops])
    values = doc.log.values
    items = []
    for op in ops:
        if op[0] == 0:
            items.append(one_slot(&LIST_RETAIN_SHAPE, RETAIN_SLOTS[:1], op[1]))
        elif op[0] == 2:
            items.append(one_slot(&LIST_DELETE_SHAPE, DELETE_SLOTS, op[1]))
        else:
            for chunk in loro_list_chunks(op[1]):
                items.append(list_insert([wrap_value(doc, values[slot], shown, reached)
                                          for content, n in chunk
                                          for slot in range(content, content + n)]))
    return list_diff(items)


cdef list loro_list_chunks(list runs):
    """The insert items loro's list state makes of one gap's inserted runs (content,
    n, peer, counter, Lamport): its diff joins runs whose ids (Lamport clocks too) and
    values continue, cuts each such
    item into pieces of at most 8 values (its delta rope's array), and adds a piece to the
    item before only while that holds 8 at most (loro 1.17.1: 9 values inserted by one op
    give 8 + 1, two runs of 5 by two peers 5 + 5, of 3 by two peers one item of 6)."""
    joined = []
    for content, n, peer, counter, lamport in runs:
        if joined:
            last = joined[-1]
            if (last[2] == peer and last[3] + last[1] == counter and last[0] + last[1] == content
                    and last[4] + last[1] == lamport):
                joined[-1] = (last[0], last[1] + n, peer, last[3], last[4])
                continue
        joined.append((content, n, peer, counter, lamport))
    out = []
    size = 8
    for content, n, peer, counter, lamport in joined:
        k = 0
        while k < n:
            take = min(8, n - k)
            if size + take <= 8:
                out[-1].append((content + k, take))
                size += take
            else:
                out.append([(content + k, take)])
                size = take
            k += take
    return out


cdef object rich_delta(LoroDoc doc, uint32_t c, ev_scratch *sc, list marks, bint is_import=False):
    """The text delta of a batch in a text with style anchors: inserted text carries the
    marks covering it (unmarks as None), and each mark op of the batch retains its range
    with its attributes (a local mark: its own key, as loro's; an imported one: every
    mark covering each part of its range). Reads the marks at each piece and over each
    mark's range only (open_marks_before, styled_text), never the whole text. The items
    are loro's (docs/ARCHITECTURE.md, "Text with style anchors")."""
    cdef SeqArena seq = doc.seq
    cdef uint32_t t = doc.ctree[c]
    cdef int64_t k, pos = 0
    cdef ev_piece *pc
    cdef int slot
    cdef uint32_t leaf
    cdef int64_t reach = 0, e_start, e_end
    cache = {}

    def attrs_of(ids):
        a = cache.get(ids)
        if a is None:
            a = cache[ids] = style_attributes(doc, ids, True)
        return a or None

    cdef int64_t *opix
    cdef int64_t j, last
    # the structural delta in loro's arrangement, as checkout_text_delta composes it: the
    # read pass joins an insert to the one before when ids, Lamport clocks and bytes
    # continue (deletes follow their insert), the event pass applies each item as its
    # deletes, then its insert, which joins the item before when its bytes follow and its
    # marks are the same
    new_marks = frozenset([(<uint64_t>m[0] << 32) | <uint32_t>m[1] for m in marks or ()])
    split_pieces(doc, sc)
    if sc.n_pcs > 1:
        sort_pieces(sc)
    opix = <int64_t*>malloc(<size_t>(sc.n_pcs + 1) * sizeof(int64_t))
    if opix == NULL:
        raise MemoryError()
    for k in range(sc.n_pcs):
        opix[k] = -2
    # the style anchors this batch inserted are items of loro's delta too (entities without
    # text): in document order, (absolute index, entity position)
    anchors = []
    for m in marks or ():
        for j in range(2):
            leaf = locate(seq, make_id(<uint32_t>m[0], <int32_t>m[1] + <int32_t>j), &slot)
            if span_visible(&seq.nodes[leaf].u.spans[slot]):
                anchors.append((abs_index(seq, make_id(<uint32_t>m[0], <int32_t>m[1] + <int32_t>j)),
                                visible_before(seq, leaf, slot, <int32_t>m[1] + <int32_t>j)))
    anchors.sort()
    cdef Py_ssize_t na = 0
    cdef int64_t ent_pos = 0
    read = []       # [retain n], [first piece, last piece, deleted after] (first -2: an
                    # anchor), or [] (anchors kept: they part the items but show no text)
    try:
        for k in range(sc.n_pcs + 1):
            pc = &sc.pcs[k] if k < sc.n_pcs else NULL
            while na < len(anchors) and (pc == NULL or <int64_t>anchors[na][0] < pc.abs):
                e_start = anchors[na][1]
                if e_start > ent_pos and read and len(read[len(read) - 1]) != 1:
                    read.append([])
                e_end = e_start - anchors_in_prefix(seq, t, e_start)    # (its code point)
                if e_end > pos:
                    if read and len(read[len(read) - 1]) == 1:
                        read[len(read) - 1][0] += e_end - pos
                    else:
                        read.append([e_end - pos])
                    pos = e_end
                # (an import's anchors part loro's structural items only: its event
                # pushes the text and retains on either side as they come, which join,
                # and only the composed annotations cut them, below)
                read.append([] if is_import else [-2, -2, 0])
                ent_pos = e_start + 1
                na += 1
            if pc == NULL:
                break
            if pc.ent - ent_pos > pc.vb - pos and read and len(read[len(read) - 1]) == 3:
                read.append([])         # (an anchor kept between: no join across it)
            if pc.vb > pos:
                if read and len(read[len(read) - 1]) == 1:
                    read[len(read) - 1][0] += pc.vb - pos
                else:
                    read.append([pc.vb - pos])
                pos = pc.vb
            ent_pos = pc.ent + (pc.n if pc.ins else 0)
            if pc.ins:
                pos += pc.n
                if read and len(read[len(read) - 1]) == 3:
                    r = read[len(read) - 1]
                    last = r[1]
                    if (last >= 0 and r[2] == 0 and sc.pcs[last].peer == pc.peer
                            and sc.pcs[last].counter + sc.pcs[last].n == pc.counter
                            and piece_follows(doc, sc, opix, last, k)
                            and lamport_continues(doc, pc.peer, pc.counter)):
                        r[1] = k
                        continue
                read.append([k, k, 0])
            elif read and len(read[len(read) - 1]) == 3:
                read[len(read) - 1][2] += pc.n
            else:
                read.append([-1, -1, pc.n])
        ops = []        # [kind, payload, attributes]: 0 retain n, 1 insert str, 2 delete n
        ev_ins = -1     # the insert op of the last event item (-1: it has none)
        ev_last = -1    # the last piece of that insert
        anchor_before = False    # an anchor's item since the last op: retains stay apart
        for r in read:
            if len(r) == 0:
                continue
            if len(r) == 1:
                if ops and ops[len(ops) - 1][0] == 0 and not anchor_before:
                    ops[len(ops) - 1][1] += r[0]
                else:
                    ops.append([0, r[0], None])
                ev_ins = -1
                anchor_before = False
                continue
            anchor_before = False
            if r[2]:
                # the deletes join the event item before (its insert stays first)
                if ops and ops[len(ops) - 1][0] == 2:
                    ops[len(ops) - 1][1] += r[2]
                else:
                    if not ops or ops[len(ops) - 1][0] == 0:
                        ev_ins = -1
                    ops.append([2, r[2], None])
            if r[0] == -2:
                ev_ins = -1     # (an anchor's item: no text for the next insert to join)
                anchor_before = True
            elif r[0] >= 0:
                pc = &sc.pcs[r[0]]
                # the marks the text had when loro inserted it: the batch's own marks
                # come after, composed over the delta (overlay below)
                a = attrs_of(frozenset(open_marks_before(doc, t, pc.ent)) - new_marks)
                parts = []
                for j in range(r[0], r[1] + 1):
                    if sc.pcs[j].ins:
                        parts.append(PyUnicode_FromKindAndData(
                            PyUnicode_4BYTE_KIND, &seq.text[sc.pcs[j].content], sc.pcs[j].n))
                s = "".join(parts)
                if (ev_ins >= 0 and same_value(ops[ev_ins][2], a)
                        and piece_follows(doc, sc, opix, ev_last, r[0])):
                    ops[ev_ins][1] += s
                else:
                    ops.append([1, s, a])
                    ev_ins = len(ops) - 1
                ev_last = r[1]
    finally:
        free(opix)
    styled = None       # the imported marks' retains, composed (RichDelta)
    anns = []           # (their end anchors' place, retains)
    # loro annotates an imported mark's range when it inserts its end anchor, in document
    # order: the marks of this import whose end anchors come later are not on the text yet
    ends = {}           # an imported mark -> its end anchor's place
    for peer, counter, local in marks or ():
        if not local:
            leaf = locate(seq, make_id(peer, counter + 1), &slot)
            if span_visible(&seq.nodes[leaf].u.spans[slot]):
                ends[(<uint64_t>peer << 32) | <uint32_t>counter] = abs_index(
                    seq, make_id(<uint32_t>peer, <int32_t>counter + 1))
    for peer, counter, local in marks or ():
        st = doc.styles.get((peer << 32) | counter)
        if st is None:
            continue
        leaf = locate(seq, make_id(peer, counter), &slot)
        if not span_visible(&seq.nodes[leaf].u.spans[slot]):
            continue
        e_start = visible_before(seq, leaf, slot, counter)
        if not local:
            reach = max(reach, e_start - anchors_in_prefix(seq, t, e_start))
        leaf = locate(seq, make_id(peer, counter + 1), &slot)
        if not span_visible(&seq.nodes[leaf].u.spans[slot]):
            continue
        e_end = visible_before(seq, leaf, slot, counter + 1)
        if not local:
            reach = max(reach, e_end - anchors_in_prefix(seq, t, e_end))
        # (runs that carry the same marks are one retain of loro's: it cuts only where
        # the marks change)
        runs = []
        mine = ends.get((<uint64_t>peer << 32) | <uint32_t>counter, 0)
        for lo, hi, ids in styled_text(doc, t, e_start, e_end + 1):
            if not local and any([ends.get(i, -1) > mine for i in ids]):
                ids = frozenset([i for i in ids if ends.get(i, -1) <= mine])
            a = {st[0]: st[1]} if local else attrs_of(ids)
            if runs and runs[len(runs) - 1][1] == lo and same_value(runs[len(runs) - 1][2], a):
                runs[len(runs) - 1][1] = hi
            else:
                runs.append([lo, hi, a])
        if local:
            for lo, hi, a in runs:
                overlay(ops, lo, hi, a)
            continue
        # an imported mark's retains are composed with those of the marks whose end
        # anchors come before its own (loro annotates as it inserts each end anchor, in
        # document order) first, then over the delta: past the end of the ones before, a
        # retain joins the one before it with the same attributes
        ann = RichDelta()
        cut = 0
        for lo, hi, a in runs:
            ann.retain(lo - cut)
            ann.retain(hi - lo, a)
            cut = hi
        ann.chop()
        anns.append((abs_index(seq, make_id(<uint32_t>peer, <int32_t>counter + 1)), ann))
    anns.sort(key=_first)
    if anns:
        styled_runs = RetainRuns()
        for _, ann in anns:
            (<RetainRuns>styled_runs).compose(ann.items)
        ops = overlay_all(ops, (<RetainRuns>styled_runs).ranges())
    joined = []
    for op in ops:
        # (inserts and retains stay the items they were made: composing cuts loro's
        # items, it never joins them again)
        if joined and op[0] == 2 and joined[len(joined) - 1][0] == 2:
            joined[len(joined) - 1][1] += op[1]
        else:
            joined.append(op)
    ops = joined
    while ops and ops[len(ops) - 1][0] == 0 and not ops[len(ops) - 1][2]:
        ops.pop()
    # loro applies an import to its state item by item, retaining up to each style anchor
    # it inserts: its delta reaches the last new anchor (so an import that only adds
    # anchors around deleted text still reports a plain retain)
    pos = 0
    for op in ops:
        if op[0] != 2:
            pos += op[1] if op[0] == 0 else len(op[1])
    if reach > pos:
        ops.append([0, reach - pos, None])
    if not ops:
        return None
    return text_diff([text_retain(op[1], op[2]) if op[0] == 0 else text_delete(op[1])
                      if op[0] == 2 else text_insert(op[1], op[2]) for op in ops])


def _first(pair):
    return pair[0]


cdef class RetainRuns:
    """A delta of retains as loro's DeltaRope composes them (rich_checkout._Delta.compose
    over retains alone), kept as runs by their start for the imported marks' deltas: a
    retain with attributes cuts the runs at its ends and gives them its keys, a plain one
    cuts nothing, and past the end a retain joins the last run when their attributes are
    equal. Each delta finds its place by bisection, so composing one costs its own runs
    and not the whole delta (an import of 1,500 marks: 58 ms before, loro 15 ms)."""
    cdef list starts        # each run's first position
    cdef list attrs         # its attributes ({}: none)
    cdef int64_t total

    def __cinit__(self):
        self.starts = []
        self.attrs = []
        self.total = 0

    cdef Py_ssize_t cut(self, int64_t pos):
        """The index of the run starting at `pos` (inside the runs), cutting one there if
        needed (the new run takes the entry of the one it was cut from)."""
        cdef Py_ssize_t i = bisect_right(self.starts, pos) - 1
        if <int64_t>self.starts[i] == pos:
            return i
        self.starts.insert(i + 1, pos)
        self.attrs.insert(i + 1, self.attrs[i])
        return i + 1

    cdef int push(self, int64_t n, dict attrs) except -1:
        cdef Py_ssize_t last = len(self.starts) - 1
        if n <= 0:
            return 0
        if last >= 0 and same_value(self.attrs[last], attrs):
            self.attrs[last] = attrs
        else:
            self.starts.append(self.total)
            self.attrs.append(dict(attrs))
        self.total += n
        return 0

    cdef int compose(self, list items) except -1:
        """Compose a delta's ["r", n, attributes] items over the runs."""
        cdef int64_t pos = 0, n
        cdef Py_ssize_t i, j, k
        cdef bint rest = False
        cdef list it
        if not self.starts:
            for it in items:
                self.starts.append(self.total)
                self.attrs.append(it[2])
                self.total += <int64_t>it[1]
            return 0
        for it in items:
            n = it[1]
            a = it[2]
            if not rest and pos >= self.total:
                self.push(pos - self.total, {})
                rest = True
            if rest:
                self.push(n, a)
                pos += n
                continue
            if self.total < pos + n:
                # (the last run grows when plain, else a plain one follows it)
                if self.attrs[len(self.attrs) - 1]:
                    self.starts.append(self.total)
                    self.attrs.append({})
                self.total = pos + n
            if a:
                i = self.cut(pos)
                j = self.cut(pos + n) if pos + n < self.total else len(self.starts)
                for k in range(i, j):
                    merged = dict(self.attrs[k])
                    merged.update(a)
                    self.attrs[k] = merged
            pos += n
        return 0

    cdef list ranges(self):
        """[(start, end, attributes)] of the runs with attributes, in order."""
        cdef list out = []
        cdef Py_ssize_t k, n = len(self.starts)
        for k in range(n):
            if self.attrs[k]:
                out.append((self.starts[k], self.starts[k + 1] if k + 1 < n else self.total,
                            self.attrs[k]))
        return out


cdef list overlay_all(list ops, list ranges):
    """overlay() of each (start, end, attributes) range in turn, the ranges in order and
    apart, in one pass over the delta's items."""
    cdef list out = []
    cdef int64_t pos = 0, n, start, lo, hi, a, b
    cdef Py_ssize_t r = 0, nr = len(ranges)
    for op in ops:
        if op[0] == 2:
            out.append(op)
            continue
        n = op[1] if op[0] == 0 else len(op[1])
        start = pos
        while r < nr and <int64_t>ranges[r][0] < pos + n:
            a = ranges[r][0]
            b = ranges[r][1]
            lo = a if a > start else start
            hi = b if b < pos + n else pos + n
            if lo < hi:
                if lo > start:
                    out.append(_piece(op, start - pos, lo - start, op[2]))
                merged = dict(op[2] or {})
                merged.update(ranges[r][2] or {})
                out.append(_piece(op, lo - pos, hi - lo, merged or None))
                start = hi
            if b > pos + n:
                break           # (it goes on over the next item)
            r += 1
        if start == pos:
            out.append(op)
        elif start < pos + n:
            out.append(_piece(op, start - pos, pos + n - start, op[2]))
        pos += n
    while r < nr:
        a = ranges[r][0]
        b = ranges[r][1]
        if pos < b:
            if pos < a:
                out.append([0, a - pos, None])
                pos = a
            out.append([0, b - pos, ranges[r][2] or None])
            pos = b
        r += 1
    return out


cdef inline list _piece(list op, int64_t off, int64_t m, object attrs):
    return [op[0], op[1][off:off + m] if op[0] == 1 else m, attrs]


cdef int overlay(list ops, int64_t a, int64_t b, object attrs) except -1:
    """Give the new-text range [a, b) of a delta these attributes (later ones win)."""
    cdef int64_t pos = 0, n, lo, hi
    cdef Py_ssize_t i = 0
    while i < len(ops) and pos < b:
        op = ops[i]
        if op[0] == 2:
            i += 1
            continue
        n = op[1] if op[0] == 0 else len(op[1])
        lo = a if a > pos else pos
        hi = b if b < pos + n else pos + n
        if lo < hi:
            merged = dict(op[2] or {})
            merged.update(attrs or {})
            parts = [(lo - pos, op[2]), (hi - lo, merged or None), (pos + n - hi, op[2])]
            pieces = []
            cut = 0
            for m, at in parts:
                if m > 0:
                    pieces.append([op[0], op[1][cut:cut + m] if op[0] == 1 else m, at])
                    cut += m
            ops[i:i + 1] = pieces
            i += len(pieces)
        else:
            i += 1
        pos += n
    if pos < b:
        if pos < a:
            ops.append([0, a - pos, None])
            pos = a
        ops.append([0, b - pos, attrs or None])
    return 0


cdef str text_of(SeqArena seq, list runs):
    """The code points of the runs (content offset, length), as one str."""
    cdef int64_t content, n, total = 0, at = 0
    cdef uint32_t *buf
    if len(runs) == 1:
        content, n = runs[0]
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &seq.text[content], n)
    for content, n in runs:
        total += n
    buf = <uint32_t*>malloc(<size_t>(total if total > 0 else 1) * sizeof(uint32_t))
    if buf == NULL:
        raise MemoryError()
    try:
        for content, n in runs:
            memcpy(&buf[at], &seq.text[content], <size_t>n * sizeof(uint32_t))
            at += n
        return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, total)
    finally:
        free(buf)
