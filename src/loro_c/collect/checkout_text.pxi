# Included by _events.pyx: the text deltas of checkouts in loro 1.17.1's arrangement of
# inserted text (see checkout_text_delta for a changed text).


cdef list whole_text_items(LoroDoc doc, uint32_t c, bint lengths=False):
    """A plain text's whole value as the inserts of a checkout that shows it again: loro
    reads its spans in document order (joined where the ids continue and the bytes follow
    in its string storage), then builds the event from them, joining an insert to the one
    before whenever its bytes follow (see checkout_text_delta): so adjacent spans are
    joined exactly when their bytes follow. A character lies where its op's text lies
    unless the document recorded another place for it (state/text_backing.pxi: a text
    loaded from a snapshot, whose characters lie in its string; the state's characters
    when a flush moved their ops' text). With `lengths`, the inserts' lengths in code
    points instead."""
    cdef SeqArena seq = doc.seq
    cdef uint32_t leaf = seq.first_leaf(doc.ctree[c])
    cdef int i
    cdef lc_span *s
    cdef ev_piece prev, cur, part
    cdef bint have = False
    cdef int32_t cut
    cdef int64_t ri, prev_ri = -1
    cdef int64_t here[4]
    cdef int64_t before[4]
    cdef TextBacking backing = doc.text_backing
    cdef bint follows
    out = []
    runs = []
    while leaf != LC_NO_NODE:
        for i in range(seq.nodes[leaf].n):
            s = &seq.nodes[leaf].u.spans[i]
            if not span_visible(s) or s.content >= LC_ANCHOR_MIN:
                continue
            cur.peer = s.id.peer
            cur.counter = s.id.counter
            cur.content = s.content
            cur.n = s.len
            while cur.n > 0:
                # a span may hold several ops whose bytes do not follow each other
                cut = next_cut(doc, &cur, False)
                part = cur
                part.n = cut - cur.counter
                ri = -1
                if backing is not None:
                    part.n = <int32_t>backing.cut(doc.log.peer_ids[part.peer], part.counter,
                                                  part.n, &ri)
                if not have:
                    follows = False
                elif ri < 0 and prev_ri < 0:
                    follows = pieces_follow(doc, &prev, &part)
                else:
                    # a recorded place on either side: compare the bounds
                    if ri >= 0:
                        backing.bounds(seq.text, ri, part.counter, part.n, here)
                    else:
                        op_piece_bounds(doc, &part, here)
                    if prev_ri >= 0:
                        backing.bounds(seq.text, prev_ri, prev.counter, prev.n, before)
                    else:
                        op_piece_bounds(doc, &prev, before)
                    follows = before[2] == here[0] and before[3] == here[1]
                if follows:
                    runs.append((part.content, part.n))
                else:
                    if runs:
                        out.append(runs_length(runs) if lengths else text_insert(text_of(seq, runs)))
                    runs = [(part.content, part.n)]
                prev = part
                prev_ri = ri
                have = True
                cur.counter += part.n
                cur.content += part.n
                cur.n -= part.n
        leaf = seq.nodes[leaf].next_leaf
    if runs:
        out.append(runs_length(runs) if lengths else text_insert(text_of(seq, runs)))
    return out


cdef inline int64_t runs_length(list runs):
    cdef int64_t n = 0
    for r in runs:
        n += <int64_t>r[1]
    return n


cdef list whole_rich_items(LoroDoc doc, uint32_t c):
    """A text with style anchors shown whole by a checkout or an import (loro's to_diff):
    its state's text chunks in order, each with the attributes at its start, pushed into a
    delta that joins an insert to the one before when their attributes are equal and
    their bytes follow. So an item ends where the attributes change or the bytes stop
    following (whole_text_items), whichever comes first (probed: '中', 'ayé', 'é' of one
    mark stay three inserts when 'ayé' was typed between the other two)."""
    cdef list runs = text_delta_runs(doc, c, True)
    cdef list cuts
    cdef Py_ssize_t k = 0, n_cuts
    cdef int64_t left, pos, take
    if not runs:
        return []
    cuts = whole_text_items(doc, c, True)
    n_cuts = len(cuts)
    left = cuts[0] if n_cuts else 0
    out = []
    for text, attrs in runs:
        pos = 0
        while pos < len(text):
            while left == 0 and k + 1 < n_cuts:
                k += 1
                left = cuts[k]
            take = len(text) - pos
            if 0 < left < take:
                take = left
            out.append(TextDelta.Insert(text[pos:pos + take], attrs or None))
            pos += take
            left -= take
    return out


cdef void op_piece_bounds(LoroDoc doc, ev_piece *pc, int64_t *out) noexcept:
    """stored_bounds of a piece as TextBacking.bounds writes them: out[0:2] its start,
    out[2:4] its end (a piece of an unknown change follows nothing)."""
    cdef OpLog log = doc.log
    cdef int64_t ch = change_at(log, pc.peer, pc.counter)
    cdef lc_op *op
    if ch < 0:
        out[0] = -3
        out[2] = -4
        out[1] = out[3] = 0
        return
    op = &log.ops[log.find_op(ch, pc.counter)]
    out[0] = out[2] = op.start_id.peer
    out[1] = op.start_id.counter + utf8_bytes(&doc.seq.text[op.arg], pc.counter - op.counter)
    out[3] = out[1] + utf8_bytes(&doc.seq.text[pc.content], pc.n)
    if (<int64_t>op.delta) & LSTR_BLOB and out[1] == 0:
        out[0] = -1
        out[1] = <int64_t>op.start_id.peer - 1
    if pc.counter + pc.n > op.counter + op.len:
        # a piece spanning ops loro's tracker joins (split_pieces) ends in its last op
        ch = change_at(log, pc.peer, pc.counter + pc.n - 1)
        if ch < 0:
            out[2] = -4
            out[3] = 0
            return
        op = &log.ops[log.find_op(ch, pc.counter + pc.n - 1)]
        out[2] = op.start_id.peer
        out[3] = op.start_id.counter + utf8_bytes(&doc.seq.text[op.arg],
                                                  pc.counter + pc.n - op.counter)
    if (<int64_t>op.delta) & LSTR_BLOB and out[3] == ((<int64_t>op.delta) & LSTR_MASK):
        out[2] = -1
        out[3] = op.start_id.peer


cdef int64_t _cut_change = -1      # next_cut's last change (pieces come peer by peer)


cdef inline int64_t change_at(OpLog log, uint32_t peer, int32_t counter) noexcept:
    """log.find_change, trying the change found last first (pieces come peer by peer,
    in counter order)."""
    global _cut_change
    cdef int64_t ch = _cut_change
    if 0 <= ch < log.n_changes and log.changes[ch].peer == peer \
            and log.changes[ch].counter <= counter < log.changes[ch].end:
        return ch
    ch = log.find_change(peer, counter)
    if ch >= 0:
        _cut_change = ch
    return ch


cdef inline bint op_bytes_follow(const lc_op *a, const lc_op *b) noexcept:
    """Whether op `b`'s text starts where op `a`'s ends in loro's string storage (as
    piece_follows reads lstr_place's record: a blob's ops are numbered one after another
    within a change block, the arena's text goes by byte offset in one buffer)."""
    cdef int64_t da = <int64_t>a.delta, db = <int64_t>b.delta
    if (da & LSTR_BLOB) != (db & LSTR_BLOB):
        return False
    if da & LSTR_BLOB:
        return b.start_id.peer == a.start_id.peer + 1
    return b.start_id.peer == a.start_id.peer and b.start_id.counter == (da & LSTR_MASK)


cdef bint lamport_continues(LoroDoc doc, uint32_t peer, int32_t counter) noexcept:
    """Whether atom `counter` of `peer` has the Lamport clock after atom `counter - 1`'s
    (they differ only where `counter` starts a change made after the document saw other
    peers' ops). Loro's tracker joins two of its inserts only when their ids, Lamport
    clocks included, continue."""
    cdef OpLog log = doc.log
    cdef int64_t cb = change_at(log, peer, counter), ca
    if cb < 0:
        return False
    if log.changes[cb].counter < counter:
        return True         # one change holds both
    ca = change_at(log, peer, counter - 1)
    if ca < 0:
        return False
    return (log.changes[ca].lamport + <uint32_t>(counter - log.changes[ca].counter)
            == log.changes[cb].lamport)


cdef int32_t next_cut(LoroDoc doc, ev_piece *pc, bint lamports) noexcept:
    """The first counter inside piece `pc` where an op starts whose bytes do not follow the
    op before in loro's string storage (or, with `lamports`, whose Lamport clock does not
    continue it), else the piece's end: loro keeps those apart where these do not hold.
    The ops of the piece's atoms are walked in counter order (one text's atoms with
    consecutive counters are consecutive ops of a change)."""
    cdef OpLog log = doc.log
    cdef int32_t end = pc.counter + pc.n, at
    cdef int64_t ch = change_at(log, pc.peer, pc.counter), ch2, k, k2
    if ch < 0 or log.changes[ch].end >= end and log.changes[ch].ops_len == 1:
        return end
    k = log.find_op(ch, pc.counter)
    while True:
        at = log.ops[k].counter + log.ops[k].len
        if at >= end:
            return end
        if at < log.changes[ch].end:
            k2 = k + 1
            if log.ops[k2].counter != at:
                k2 = log.find_op(ch, at)
        else:
            ch2 = change_at(log, pc.peer, at)
            if ch2 < 0:
                return at
            if lamports and (log.changes[ch].lamport + <uint32_t>(at - log.changes[ch].counter)
                             != log.changes[ch2].lamport + <uint32_t>(at - log.changes[ch2].counter)):
                return at
            ch = ch2
            k2 = log.find_op(ch, at)
        if not op_bytes_follow(&log.ops[k], &log.ops[k2]):
            return at
        k = k2


cdef int split_pieces(LoroDoc doc, ev_scratch *sc) except -1:
    """Cut the pieces where loro's tracker holds them apart (next_cut): it joins two
    inserts only when their ids, Lamport clocks and bytes continue, and a piece of
    loro_c's may span ops that loro keeps apart."""
    cdef int64_t k, n = sc.n_pcs
    cdef int32_t cut, off
    cdef ev_piece *pc
    cdef ev_piece rest
    for k in range(n):
        if sc.pcs[k].n == 1:
            continue
        rest = sc.pcs[k]
        cut = next_cut(doc, &rest, True)
        if cut == rest.counter + rest.n:
            continue
        sc.pcs[k].n = cut - rest.counter
        while True:
            off = cut - rest.counter
            rest.counter = cut
            rest.content += off
            rest.n -= off
            rest.abs += off
            if rest.ins:
                rest.vb += off
                rest.ent += off
            cut = next_cut(doc, &rest, True)
            if sc.n_pcs == sc.cap_pcs:
                sc.pcs = <ev_piece*>grow(sc.pcs, &sc.cap_pcs, sc.n_pcs + 1, sizeof(ev_piece))
            pc = &sc.pcs[sc.n_pcs]
            pc[0] = rest
            pc.n = cut - rest.counter
            sc.n_pcs += 1
            if cut == rest.counter + rest.n:
                break
    return 0
