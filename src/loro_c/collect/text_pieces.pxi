# Included by _events.pyx: a text's delta across a checkout or an import as loro composes it
# (checkout_text_delta), and where each piece's bytes lie in loro's string storage, which
# decides whether two inserts join.


ctypedef struct ev_item:
    # an item of loro's text delta while it is composed: a retain (retain > 0), or the
    # inserted pieces first..last of sc.pcs (-1: none; every inserted piece between them is
    # part of it, the deleted ones are counted in `dels`) and the atoms deleted after them
    int64_t retain
    int64_t first
    int64_t last
    int64_t dels


cdef inline ev_item *push_item(ev_item *items, int64_t *n, int64_t retain, int64_t first,
                               int64_t last, int64_t dels) noexcept:
    cdef ev_item *it = &items[n[0]]
    it.retain = retain
    it.first = first
    it.last = last
    it.dels = dels
    n[0] += 1
    return it


cdef object checkout_text_delta(LoroDoc doc, ev_scratch *sc):
    """A text's delta across a checkout or an import in loro's arrangement. Loro reads the changed atoms
    in document order into a delta whose replace items hold an insert and the deletes that
    follow it (an insert joins the item before only when its ids continue it and its bytes
    follow it in loro's string storage, see lstr_place), then builds the event by applying
    each item as a delete followed by an insert, which joins a delete to the item before
    it and an insert whose bytes follow. So within one gap a delete may come before an
    insert; where, decides how an undo is moved past concurrent inserts.

    An import from scratch has as many items as pieces (5,696 inserts for automerge-paper),
    so both passes run over C arrays and each insert's str is made once from the pieces."""
    cdef SeqArena seq = doc.seq
    cdef int64_t k, j, pos = 0, n_read = 0, n_ev = 0, total, at, cap_buf = 0
    cdef ev_piece *pc
    cdef ev_item *read = NULL
    cdef ev_item *ev
    cdef ev_item *r
    cdef ev_item *e
    cdef uint32_t *buf = NULL
    cdef int64_t *opix
    cdef int gc_was_on = 0
    split_pieces(doc, sc)
    if sc.n_pcs > 1:
        sort_pieces(sc)
    # a piece adds at most a retain and an item to each pass; the event pass may turn an
    # item into two (its deletes joined to the item before, its insert on its own)
    read = <ev_item*>malloc(<size_t>(4 * sc.n_pcs + 2) * sizeof(ev_item))
    opix = <int64_t*>malloc(<size_t>(sc.n_pcs + 1) * sizeof(int64_t))
    if read == NULL or opix == NULL:
        free(read)
        free(opix)
        raise MemoryError()
    ev = read + (2 * sc.n_pcs + 1)
    for k in range(sc.n_pcs):
        opix[k] = -2
    try:
        # where a piece lies in loro's storage is read only when it decides a join (most
        # pieces do not continue the ids before them)
        for k in range(sc.n_pcs):
            pc = &sc.pcs[k]
            if pc.vb > pos:
                if n_read and read[n_read - 1].retain:
                    read[n_read - 1].retain += pc.vb - pos
                else:
                    push_item(read, &n_read, pc.vb - pos, -1, -1, 0)
                pos = pc.vb
            if pc.ins:
                pos += pc.n
                if n_read:
                    r = &read[n_read - 1]
                    if not r.retain and r.last >= 0 and sc.pcs[r.last].peer == pc.peer \
                            and sc.pcs[r.last].counter + sc.pcs[r.last].n == pc.counter \
                            and piece_follows(doc, sc, opix, r.last, k) \
                            and lamport_continues(doc, pc.peer, pc.counter):
                        r.last = k
                        continue
                push_item(read, &n_read, 0, k, k, 0)
            elif n_read and not read[n_read - 1].retain:
                read[n_read - 1].dels += pc.n
            else:
                push_item(read, &n_read, 0, -1, -1, pc.n)
        for k in range(n_read):
            r = &read[k]
            if r.retain:
                if n_ev and ev[n_ev - 1].retain:
                    ev[n_ev - 1].retain += r.retain
                else:
                    push_item(ev, &n_ev, r.retain, -1, -1, 0)
                continue
            if r.dels:
                if n_ev and not ev[n_ev - 1].retain:
                    ev[n_ev - 1].dels += r.dels
                else:
                    push_item(ev, &n_ev, 0, -1, -1, r.dels)
            if r.first >= 0:
                if n_ev:
                    e = &ev[n_ev - 1]
                    if not e.retain and e.last >= 0 \
                            and piece_follows(doc, sc, opix, e.last, r.first):
                        e.last = r.last
                        continue
                push_item(ev, &n_ev, 0, r.first, r.last, 0)
        # the items are acyclic: the cyclic collector need not run while they are made (it
        # would every 700 of them, over every young object; loro's items are not tracked)
        gc_was_on = PyGC_Disable()
        out = []
        for k in range(n_ev):
            e = &ev[k]
            if e.retain:
                out.append(text_retain(e.retain))
                continue
            if e.first >= 0:
                pc = &sc.pcs[e.first]
                if e.first == e.last:
                    s = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &seq.text[pc.content], pc.n)
                else:
                    total = 0
                    for j in range(e.first, e.last + 1):
                        if sc.pcs[j].ins:
                            total += sc.pcs[j].n
                    if total > cap_buf:
                        free(buf)
                        cap_buf = total
                        buf = <uint32_t*>malloc(<size_t>total * sizeof(uint32_t))
                        if buf == NULL:
                            raise MemoryError()
                    at = 0
                    for j in range(e.first, e.last + 1):
                        pc = &sc.pcs[j]
                        if pc.ins:
                            memcpy(&buf[at], &seq.text[pc.content], <size_t>pc.n * sizeof(uint32_t))
                            at += pc.n
                    s = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, total)
                out.append(text_insert(s))
            if e.dels:
                out.append(text_delete(e.dels))
        return text_diff(out)
    finally:
        if gc_was_on:
            PyGC_Enable()
        free(read)
        free(opix)
        free(buf)


# bit 31 of a text insert's end offset: its text was decoded from a blob (lstr_place)
cdef int64_t LSTR_BLOB = (<int64_t>1) << 31
cdef int64_t LSTR_MASK = LSTR_BLOB - 1


cdef tuple stored_bytes(LoroDoc doc, ev_piece *pc):
    return stored_bounds(doc, pc.peer, pc.counter, pc.content, pc.n)


cdef inline lc_op *piece_op(OpLog log, ev_scratch *sc, int64_t *opix, int64_t k) noexcept:
    """The insert op of piece k's first atom (NULL when its change is unknown), looked up
    once per piece (opix[k]: -2 not yet, -1 unknown change, else the op's index)."""
    cdef int64_t ch
    if opix[k] == -2:
        ch = log.find_change(sc.pcs[k].peer, sc.pcs[k].counter)
        opix[k] = -1 if ch < 0 else log.find_op(ch, sc.pcs[k].counter)
    return NULL if opix[k] < 0 else &log.ops[opix[k]]


cdef bint piece_follows(LoroDoc doc, ev_scratch *sc, int64_t *opix, int64_t ka, int64_t kb):
    """Whether piece kb's text follows piece ka's in loro's storage: the end bound of `a`
    equals the start bound of `b`, as stored_bounds writes them. The buffers decide most
    cases before any byte is counted (an import's pieces mostly lie in ops of buffers of
    their own), so the UTF-8 lengths of op prefixes are read only where the buffers match.
    A piece may span ops that loro's tracker joins (split_pieces): its end is in the op of
    its last atom."""
    cdef OpLog log = doc.log
    cdef const uint32_t *text = doc.seq.text
    cdef ev_piece *a = &sc.pcs[ka]
    cdef ev_piece *b = &sc.pcs[kb]
    cdef lc_op *opa = piece_op(log, sc, opix, ka)
    cdef lc_op *opb
    cdef int64_t end_a, start_b
    if opa == NULL:
        return False
    if b.peer == a.peer and opa.counter <= b.counter < opa.counter + opa.len \
            and a.content == opa.arg + (a.counter - opa.counter):
        # both in one op, whose text `a` is part of: the bytes before each count the op's
        # atoms before it, so they meet only where the ids do, never at the op's ends (the
        # bounds that buffer -1 stands for)
        return a.counter + a.n == b.counter
    opb = piece_op(log, sc, opix, kb)
    if opb == NULL:
        return False
    if a.counter + a.n > opa.counter + opa.len:
        opa = last_atom_op(log, a.peer, a.counter + a.n - 1)
        if opa == NULL:
            return False
        end_a = opa.start_id.counter + utf8_bytes(&text[opa.arg], a.counter + a.n - opa.counter)
    else:
        end_a = opa.start_id.counter + utf8_bytes(&text[opa.arg], a.counter - opa.counter) \
            + utf8_bytes(&text[a.content], a.n)
    if (<int64_t>opb.delta) & LSTR_BLOB and b.counter == opb.counter and opb.start_id.counter == 0:
        # `b` starts a block-decoded op: its bound is (-1, buffer - 1), which only the end
        # of the block-decoded op just before it in the block matches
        if not ((<int64_t>opa.delta) & LSTR_BLOB) \
                or <int64_t>opa.start_id.peer != <int64_t>opb.start_id.peer - 1:
            return False
        return end_a == ((<int64_t>opa.delta) & LSTR_MASK)
    # `b`'s bound is (its buffer, offset): `a` must end inside the same buffer
    if opa.start_id.peer != opb.start_id.peer:
        return False
    if (<int64_t>opa.delta) & LSTR_BLOB and end_a == ((<int64_t>opa.delta) & LSTR_MASK):
        return False
    start_b = opb.start_id.counter + utf8_bytes(&text[opb.arg], b.counter - opb.counter)
    return end_a == start_b


cdef inline lc_op *last_atom_op(OpLog log, uint32_t peer, int32_t counter) noexcept:
    """The op holding atom (peer, counter), NULL when its change is unknown."""
    cdef int64_t ch = log.find_change(peer, counter)
    return NULL if ch < 0 else &log.ops[log.find_op(ch, counter)]


cdef bint pieces_follow(LoroDoc doc, ev_piece *a, ev_piece *b):
    """piece_follows for two pieces outside a scratch's piece array."""
    cdef ev_piece two[2]
    cdef int64_t opix[2]
    cdef ev_scratch tmp
    two[0] = a[0]
    two[1] = b[0]
    opix[0] = opix[1] = -2
    tmp.pcs = two
    tmp.n_pcs = 2
    return piece_follows(doc, &tmp, opix, 0, 1)


cdef tuple stored_bounds(LoroDoc doc, uint32_t peer, int32_t counter, int64_t content,
                         int32_t n):
    """(0, start, end) of an inserted piece in loro's string storage (None for the first
    when it has none): a piece follows another when the first's end equals the second's
    start. A bound is (buffer, byte offset).

    Text decoded from a blob has a buffer number per op (lstr_place), but loro holds a
    block's text in one buffer, ops side by side, so a piece that starts its op follows
    one that ends the op with the number before (the numbers of one block are
    consecutive, blocks are a number apart: decode_block_ops). Those bounds are written
    (-1, number - 1) and (-1, number); lstr_place marks such ops."""
    cdef OpLog log = doc.log
    cdef int64_t ch = log.find_change(peer, counter)
    cdef lc_op *op
    cdef int64_t at, end
    cdef uint32_t buf
    if ch < 0:
        return (None, 0, 0)
    op = &log.ops[log.find_op(ch, counter)]
    buf = op.start_id.peer
    at = op.start_id.counter + utf8_bytes(&doc.seq.text[op.arg], counter - op.counter)
    if (<int64_t>op.delta) & LSTR_BLOB and at == 0:
        lo = (-1, buf - 1)
    else:
        lo = (buf, at)
    if counter + n > op.counter + op.len:
        # (a piece spanning ops loro's tracker joins ends in the op of its last atom)
        op = last_atom_op(log, peer, counter + n - 1)
        if op == NULL:
            return (None, 0, 0)
        buf = op.start_id.peer
        end = op.start_id.counter + utf8_bytes(&doc.seq.text[op.arg], counter + n - op.counter)
    else:
        end = at + utf8_bytes(&doc.seq.text[content], n)
    hi = (buf, end)
    if (<int64_t>op.delta) & LSTR_BLOB and end == ((<int64_t>op.delta) & LSTR_MASK):
        hi = (-1, buf)
    return (0, lo, hi)
