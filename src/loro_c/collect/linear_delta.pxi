# An import's Text delta in loro's Linear mode (included by _events.pyx).
#
# loro takes an import whose new changes all continue the version before in one line (the
# version before is a single id and the new one a single id of the same peer, each new
# change depending only on its peer's op before it; or, into an empty document, a history
# that is one chain) as "Linear": its text calculator then builds the diff by applying the
# ops one by one to an empty delta rope, an insert as a text chunk at its position, a delete
# as a delete of its span, instead of comparing the two versions. The items come out as the
# rope leaves them (loro 1.17.1: a text typed and partly deleted again between two syncs
# shows [insert 'b', delete 2] where the comparison would give [delete 2, insert 'b']).
#
# What the rope leaves, once loro's text state has turned it into the event, depends only
# on where its items lie, not on how they are joined: the rope finds a position by the
# items' lengths in the new text, so an insert goes in before the atom at its position,
# after the deletes in front of that atom; a delete turns the old atoms of its span into
# deletes where they are and drops the inserted ones. `LinRuns` keeps that sequence as runs
# (old atoms kept or deleted, inserted atoms, a new mark's anchors) in blocks of at most
# LIN_BLOCK runs, with a Fenwick tree over the blocks' lengths, so an op costs log(blocks)
# steps and a scan of one block. Positions count entities (style anchors too), as the ops
# do. The state then pushes the items onto the event's delta (`lin_event`): a delete joins
# the item before unless it is a retain, an insert joins it when its bytes continue that
# item's in loro's string storage and its styles are the same; a new mark's range is styled
# by a delta composed over the event at the end (`lin_styled`).

cdef int _linear_import = -1    # whether the import being collected is Linear (-1: not asked)


cdef bint import_is_linear(LoroDoc doc) except -1:
    """Whether loro's diff of the import being collected runs in its Linear mode (see the
    top of this file); asked once per import."""
    global _linear_import
    cdef OpLog log = doc.log
    cdef int64_t ch, pos
    cdef lc_change *c
    cdef uint32_t p
    cdef int32_t after, before
    if _linear_import >= 0:
        return _linear_import == 1
    _linear_import = 0
    if _greater_import is None:
        return False
    old, new = _greater_import
    if len(new) != 1 or len(old) > 1:
        return False
    p, after = new[0]
    if not old:
        # into an empty document: the history down from the new version one chain
        ch = log.find_change(p, after)
        while ch >= 0:
            c = &log.changes[ch]
            if c.deps_len == 0:
                _linear_import = 1
                return True
            if c.deps_len != 1:
                return False
            ch = log.find_change(log.deps[c.deps_off].peer, log.deps[c.deps_off].counter)
        return False
    if old[0][0] != p or old[0][1] >= after:
        return False
    before = old[0][1]
    # each change past the version before depends on its peer's op before it, only (the
    # log may hold the first of them joined to the change that ends the version before)
    pos = log.find_change_pos(p, before)
    while 0 <= pos < log.by_peer[p].len:
        c = &log.changes[log.by_peer[p].idx[pos]]
        if c.counter > after:
            break
        if c.counter > before and not (c.deps_len == 1 and log.deps[c.deps_off].peer == p
                                       and log.deps[c.deps_off].counter == c.counter - 1):
            return False
        pos += 1
    _linear_import = 1
    return True



cdef enum:
    LIN_KEPT = 0        # old atoms the import keeps
    LIN_GONE = 1        # old atoms the import deletes
    LIN_NEW = 2         # atoms the import inserts (and keeps)
    LIN_ANCHOR = 3      # a style anchor of a mark the import holds (content 0 start, 1 end)
    LIN_BLOCK = 64      # runs per block (a full block is split in halves)


ctypedef struct lin_run:
    int32_t kind
    uint32_t peer       # LIN_NEW: the id of its first atom, and where its text is;
                        # LIN_ANCHOR: the id of its mark's start op
    int32_t counter
    int64_t content
    int64_t n
    int64_t op          # LIN_NEW: the index of its op in the log (runs of one op join)


ctypedef struct lin_block:
    lin_run runs[LIN_BLOCK]
    int64_t n_runs
    int64_t vis         # entities of its runs in the new text (all but LIN_GONE's)


cdef class LinRuns:
    """The runs of a Linear import's text, in document order, past which the text is old
    atoms kept (see the top of this file)."""
    cdef lin_block **blocks
    cdef int64_t n_blocks, cap_blocks, vis
    # a Fenwick tree over the blocks' visible lengths (fen[1..n_blocks]), rebuilt when
    # blocks come or go (once per LIN_BLOCK / 2 runs at most), so a position is found in
    # log(blocks) steps and a scan of one block
    cdef int64_t *fen
    cdef int64_t cap_fen
    cdef bint fen_ok
    cdef bint bad       # a delete reached a new style anchor: not modelled

    def __dealloc__(self):
        cdef int64_t b
        if self.blocks != NULL:
            for b in range(self.n_blocks):
                free(self.blocks[b])
            free(self.blocks)
        free(self.fen)

    cdef inline void vis_add(self, int64_t b, int64_t d) noexcept:
        """Block b's visible length (and the whole's) changed by d."""
        cdef int64_t k
        self.blocks[b].vis += d
        self.vis += d
        if self.fen_ok:
            k = b + 1
            while k <= self.n_blocks:
                self.fen[k] += d
                k += k & -k

    cdef int fen_build(self) except -1:
        cdef int64_t k, up
        if self.n_blocks + 1 > self.cap_fen:
            self.fen = <int64_t*>grow(self.fen, &self.cap_fen, self.n_blocks + 1, sizeof(int64_t))
        self.fen[0] = 0
        for k in range(1, self.n_blocks + 1):
            self.fen[k] = self.blocks[k - 1].vis
        for k in range(1, self.n_blocks + 1):
            up = k + (k & -k)
            if up <= self.n_blocks:
                self.fen[up] += self.fen[k]
        self.fen_ok = True
        return 0

    cdef int add_block(self, int64_t at) except -1:
        """A new empty block at index `at`."""
        cdef lin_block *blk
        if self.n_blocks == self.cap_blocks:
            self.blocks = <lin_block**>grow(self.blocks, &self.cap_blocks, self.n_blocks + 1,
                                            sizeof(lin_block*))
        blk = <lin_block*>malloc(sizeof(lin_block))
        if blk == NULL:
            raise MemoryError()
        blk.n_runs = 0
        blk.vis = 0
        memmove(&self.blocks[at + 1], &self.blocks[at], <size_t>(self.n_blocks - at) * sizeof(lin_block*))
        self.blocks[at] = blk
        self.n_blocks += 1
        self.fen_ok = False
        return 0

    cdef int put(self, int64_t b, int64_t i, lin_run r, bint join=False) except -1:
        """Insert run r at index i of block b (the block split first when full); with
        `join`, an inserted run that continues the run before it (typing) joins it."""
        cdef lin_block *blk
        cdef lin_block *right
        cdef lin_run *before
        cdef int64_t half, k
        if self.n_blocks == 0:
            self.add_block(0)
            b = 0
            i = 0
        blk = self.blocks[b]
        if join and i > 0 and r.kind == LIN_NEW:
            before = &blk.runs[i - 1]
            if (before.kind == LIN_NEW and before.op == r.op and before.counter + before.n == r.counter
                    and before.content + before.n == r.content):
                before.n += r.n
                self.vis_add(b, r.n)
                return 0
        if blk.n_runs == LIN_BLOCK:
            self.add_block(b + 1)
            blk = self.blocks[b]
            right = self.blocks[b + 1]
            half = LIN_BLOCK // 2
            memcpy(&right.runs[0], &blk.runs[half], <size_t>(LIN_BLOCK - half) * sizeof(lin_run))
            right.n_runs = LIN_BLOCK - half
            blk.n_runs = half
            right.vis = 0
            for k in range(right.n_runs):
                if right.runs[k].kind != LIN_GONE:
                    right.vis += right.runs[k].n
            blk.vis -= right.vis
            if i > half:
                b += 1
                i -= half
                blk = right
        memmove(&blk.runs[i + 1], &blk.runs[i], <size_t>(blk.n_runs - i) * sizeof(lin_run))
        blk.runs[i] = r
        blk.n_runs += 1
        if r.kind != LIN_GONE:
            self.vis_add(b, r.n)
        return 0

    cdef int push(self, lin_run r) except -1:
        """Append run r (joined to the last one when it continues it)."""
        if self.n_blocks == 0:
            return self.put(0, 0, r)
        return self.put(self.n_blocks - 1, self.blocks[self.n_blocks - 1].n_runs, r, True)

    cdef bint find(self, int64_t p, int64_t *b, int64_t *i, int64_t *off) except -1:
        """The run holding visible atom p (p < self.vis) and p's offset in it."""
        cdef int64_t k = 0, j, step = 1
        cdef lin_block *blk
        if not self.fen_ok:
            self.fen_build()
        # the last block whose blocks before it hold at most p visible atoms
        while step * 2 <= self.n_blocks:
            step *= 2
        while step:
            if k + step <= self.n_blocks and self.fen[k + step] <= p:
                k += step
                p -= self.fen[k]
            step //= 2
        # (block k holds it: a block of no visible atoms is never the one)
        blk = self.blocks[k]
        for j in range(blk.n_runs):
            if blk.runs[j].kind != LIN_GONE:
                if p < blk.runs[j].n:
                    b[0] = k
                    i[0] = j
                    off[0] = p
                    return True
                p -= blk.runs[j].n
        return False

    cdef int split_at(self, int64_t b, int64_t i, int64_t off) except -1:
        """Cut run i of block b at `off` (0 < off < its length)."""
        cdef lin_run right = self.blocks[b].runs[i]
        right.n -= off
        if right.kind == LIN_NEW:
            right.counter += <int32_t>off
            right.content += off
        self.blocks[b].runs[i].n = off
        if right.kind != LIN_GONE:
            self.vis_add(b, -right.n)
        return self.put(b, i + 1, right)

    cdef int insert(self, int64_t p, lin_run r) except -1:
        """Put r before the atom at new-text position p, after the deleted atoms in
        front of it (at the end when p is past the runs: old atoms kept up to p)."""
        cdef int64_t b = 0, i = 0, off = 0
        cdef lin_run kept
        if p >= self.vis:
            if p > self.vis:
                kept.kind = LIN_KEPT
                kept.n = p - self.vis
                self.push(kept)
            return self.push(r)
        self.find(p, &b, &i, &off)
        if off:
            self.split_at(b, i, off)
            i += 1
            if i >= self.blocks[b].n_runs:
                # (the split moved the right part to the next block)
                i -= self.blocks[b].n_runs
                b += 1
        return self.put(b, i, r, True)

    cdef int delete(self, int64_t p, int64_t n) except -1:
        """Delete the n atoms at new-text positions [p, p + n): old ones stay as deleted,
        inserted ones go (past the runs: old atoms kept up to p, then deleted)."""
        cdef int64_t b = 0, i = 0, off = 0, take
        cdef lin_block *blk
        cdef lin_run r
        while n > 0 and p < self.vis:
            self.find(p, &b, &i, &off)
            if off:
                self.split_at(b, i, off)
                continue        # (found again: now at the start of a run)
            blk = self.blocks[b]
            if blk.runs[i].kind == LIN_ANCHOR:
                self.bad = True
                return 0
            take = blk.runs[i].n
            if take > n:
                # (found again: a full block split by the cut may have moved the run)
                self.split_at(b, i, n)
                continue
            self.vis_add(b, -take)
            if blk.runs[i].kind == LIN_KEPT:
                blk.runs[i].kind = LIN_GONE
            else:
                memmove(&blk.runs[i], &blk.runs[i + 1], <size_t>(blk.n_runs - i - 1) * sizeof(lin_run))
                blk.n_runs -= 1
            n -= take
        if n > 0:
            if p > self.vis:
                r.kind = LIN_KEPT
                r.n = p - self.vis
                self.push(r)
            r.kind = LIN_GONE
            r.n = n
            self.push(r)
        return 0


cdef object linear_text_delta(LoroDoc doc, uint32_t c, list idxs):
    """The delta of a text that a Linear import changed, from its ops in the order applied
    (None when they leave nothing, as an insert deleted again); False when a note is not an
    insert or a delete, a mark (then the versions are compared)."""
    cdef OpLog log = doc.log
    cdef lc_ev_note *e
    cdef lc_op *op
    cdef int64_t i, off, at = -1, at_end = 0, ch
    cdef uint32_t at_peer = 0xFFFFFFFFU
    cdef LinRuns runs = LinRuns()
    cdef lin_run r
    cdef set marks = set()     # the style ids of the import's marks
    for i in idxs:
        e = &doc.evlog.notes[i]
        if e.kind != LC_EV_INSERT and e.kind != LC_EV_DELETE and e.kind != LC_EV_MARK:
            return False
        # (the notes follow the ops of a change in order: the next op is tried first)
        if not (e.peer == at_peer and at + 1 < at_end
                and log.ops[at + 1].counter <= e.counter < log.ops[at + 1].counter + log.ops[at + 1].len):
            ch = log.find_change(e.peer, e.counter)
            if ch < 0:
                return False
            at = log.find_op(ch, e.counter) - 1
            at_end = log.changes[ch].ops_off + log.changes[ch].ops_len
            at_peer = e.peer
        at += 1
        op = &log.ops[at]
        if e.counter + e.len > op.counter + op.len:
            return False
        off = e.counter - op.counter
        if e.kind == LC_EV_MARK:
            # loro's rope takes the start anchor at the mark's start, the end anchor (the
            # op after it) past its end, the start anchor counted
            if op.kind != LC_OP_MARK_START:
                return False
            r.kind = LIN_ANCHOR
            r.peer = e.peer
            r.counter = e.counter
            r.content = 0
            r.n = 1
            r.op = at
            runs.insert(op.pos, r)
            r.content = 1
            runs.insert(op.start_id.counter + 1, r)
            marks.add((<uint64_t>e.peer << 32) | <uint32_t>e.counter)
        elif e.kind == LC_EV_INSERT:
            r.kind = LIN_NEW
            r.peer = e.peer
            r.counter = e.counter
            r.content = op.arg + off
            r.n = e.len
            r.op = at
            runs.insert(op.pos + off, r)
        elif op.arg > 0:
            # a forward span deletes each atom at its position
            runs.delete(op.pos, e.len)
        else:
            # a backward one (negative length, its position the last) one further left
            runs.delete(op.pos - off - e.len + 1, e.len)
    if runs.bad:
        return False
    return lin_event(doc, c, runs, marks)


cdef object lin_event(LoroDoc doc, uint32_t c, LinRuns runs, set marks):
    """The event loro's text state pushes while applying the runs: kept atoms retained
    (only before something else), a delete joined to the item before unless that is a
    retain, an insert joined to it when its bytes continue the item's text in loro's string
    storage (a delete in between or not) and its styles are the same. The runs count
    entities (style anchors too); the event counts code points. An insert carries the
    styles open where it went in, of the marks annotated by then: the text's older ones and
    those of the import (`marks`) whose end anchor came before it. At a new end anchor the
    state annotates the mark's range, and the event gets a delta of the range's styles then
    (retains with attributes), all of them composed over the event at the end."""
    cdef SeqArena seq = doc.seq
    cdef uint32_t t = doc.ctree[c]
    cdef bint anchored = seq.nodes[seq.roots[t]].lens.anchors != 0
    # every anchor the import's (no older mark styles the text: inserts carry no styles)
    cdef bint fresh = seq.nodes[seq.roots[t]].lens.anchors == 2 * len(marks)
    cdef int64_t b, j, event = 0, entity = 0, at
    cdef lin_block *blk
    cdef lin_run *r
    cdef lin_run prev          # the last inserted run of the item before, if it has one
    # [retain n] or [[content runs], deleted, attributes]; the bounds of `prev` are read
    # only when an insert follows it
    cdef list out = []
    cdef list last
    cdef bint last_replace = False, last_insert = False, gc_was_on
    cdef dict cache = {}
    cdef set pending = set(marks)      # the import's marks not annotated yet
    cdef dict starts = {}              # style id -> (entity, event) of its new start anchor
    cdef list styles = []              # the style deltas: [(start, [(n, attributes)])]
    cdef int64_t shown_anchors = -1    # the anchors before the last insert that read its
    shown_attrs = None                  # styles, and those styles
    cdef dict older = {}                # marks -> the styles of those older than the import
    cdef LinStyleMap annotated = LinStyleMap() if fresh else None
    # (the items are acyclic: the cyclic collector need not run while they are made)
    gc_was_on = PyGC_Disable()
    try:
        for b in range(runs.n_blocks):
            blk = runs.blocks[b]
            for j in range(blk.n_runs):
                r = &blk.runs[j]
                if r.n == 0:
                    continue
                if r.kind == LIN_KEPT:
                    entity += r.n
                    continue
                at = entity - anchors_in_prefix(seq, t, entity) if anchored else entity
                if at > event:
                    out.append([at - event])
                    event = at
                    last_replace = last_insert = False
                if r.kind == LIN_ANCHOR:
                    sid = (<uint64_t>r.peer << 32) | <uint32_t>r.counter
                    if r.content == 0:
                        starts[sid] = (entity, at)
                    else:
                        if sid in pending:
                            pending.discard(sid)
                            cache.clear()
                        es, ev = starts.get(sid, (None, None))
                        if es is None:
                            return False
                        if fresh:
                            segs = annotated.annotate(ev, at, doc.styles[sid])
                        else:
                            segs = []
                            for lo, hi, ids in styled_text(doc, t, es + 1, entity):
                                attrs = lin_attrs(doc, ids, pending, cache)
                                if segs and ld_attrs_eq(segs[len(segs) - 1][1], attrs):
                                    segs[len(segs) - 1][0] += hi - lo
                                else:
                                    segs.append([hi - lo, attrs])
                        while segs and segs[len(segs) - 1][1] is None:
                            segs.pop()      # (loro chops the plain retains at the end)
                        if segs:
                            styles.append((ev, segs))
                    entity += 1
                    continue
                if r.kind == LIN_GONE:
                    if last_replace:
                        last = out[len(out) - 1]
                        last[1] = <int64_t>last[1] + r.n
                    else:
                        out.append([None, r.n, None])
                        last_replace = True
                    continue
                attrs = None
                if anchored and not fresh:
                    # (the import's marks open here end further on, so none is annotated
                    # yet: the styles are the older marks', the same while no anchor comes
                    # between, i.e. while the count of anchors before the place holds)
                    if entity - at != shown_anchors:
                        shown_attrs = lin_attrs(doc, frozenset(open_marks_before(doc, t, entity)),
                                                marks, older)
                        shown_anchors = entity - at
                    attrs = shown_attrs
                event += r.n
                entity += r.n
                # (JSON text lies in one arena in the order applied, so another peer's
                # insert may continue it; a peer's own earlier text cannot)
                if last_insert and (r.peer != prev.peer or r.counter >= prev.counter + prev.n):
                    last = out[len(out) - 1]
                    if ld_attrs_eq(last[2], attrs):
                        hi = stored_bounds(doc, prev.peer, prev.counter, prev.content, <int32_t>prev.n)[2]
                        if hi is not None and hi == stored_bounds(doc, r.peer, r.counter, r.content, <int32_t>r.n)[1]:
                            (<list>last[0]).append((r.content, r.n))
                            prev = r[0]
                            continue
                out.append([[(r.content, r.n)], 0, attrs])
                last_replace = last_insert = True
                prev = r[0]
        if styles:
            return lin_styled(doc, out, styles)
        items = []
        for last in out:
            if len(last) == 1:
                items.append(text_retain(last[0], None))
                continue
            if last[0] is not None:
                items.append(text_insert(text_of(doc.seq, last[0]), last[2]))
            if last[1]:
                items.append(text_delete(last[1]))
        return text_diff(items) if items else None
    finally:
        if gc_was_on:
            PyGC_Enable()


cdef class LinStyleMap(RetainRuns):
    """The styles loro's text state has annotated so far, as runs over the new text's code
    points (RetainRuns' runs and cuts; a run's entry is (attributes, key -> (Lamport,
    peer) of the mark that set it), None while it has none), for an import holding every
    mark of its text (the state's style map starts empty): a mark annotates its range when
    its end anchor comes, which gives the range's styles then without reading the marks
    open at each stretch."""

    def __cinit__(self):
        self.starts = [0]
        self.attrs = [None]

    cdef list annotate(self, int64_t lo, int64_t hi, tuple style):
        """Annotate [lo, hi) with a mark (its doc.styles entry): a key the mark loses on
        keeps its value. The range's [length, attributes] segments, equal neighbours
        joined, as loro's state reports them."""
        cdef list segs = []
        cdef Py_ssize_t i, j
        cdef int64_t n
        cdef tuple got
        if lo >= hi:
            return segs
        key = style[0]
        mine = (style[3], style[4])
        i = self.cut(lo)
        j = self.cut(hi)
        bare = None         # (runs without styles share one new entry)
        for k in range(i, j):
            got = self.attrs[k]
            if got is None:
                if bare is None:
                    bare = ({key: style[1]}, {key: mine})
                got = self.attrs[k] = bare
            else:
                won = (<dict>got[1]).get(key)
                if won is None or mine > won:
                    a = dict(got[0])
                    a[key] = style[1]
                    w = dict(got[1])
                    w[key] = mine
                    got = self.attrs[k] = (a, w)
            n = <int64_t>self.starts[k + 1] - <int64_t>self.starts[k]
            if segs and ld_attrs_eq(segs[len(segs) - 1][1], got[0]):
                segs[len(segs) - 1][0] += n
            else:
                segs.append([n, got[0]])
        return segs


cdef object lin_attrs(LoroDoc doc, frozenset ids, set pending, dict cache):
    """The attributes of the marks `ids` less those not annotated yet (None: none); the
    cache is emptied whenever `pending` shrinks."""
    try:
        return cache[ids]
    except KeyError:
        pass
    attrs = cache[ids] = style_attributes(doc, frozenset(ids - pending) if pending else ids,
                                          True) or None
    return attrs


cdef object lin_styled(LoroDoc doc, list out, list styles):
    """The event's items with the style deltas composed over them (loro composes them
    among themselves first, then over the event), on a model of loro's delta rope."""
    cdef LocalRope ev = LocalRope(True), st = LocalRope(True)
    cdef LdItem x
    cdef int64_t k = 0
    for last in out:
        if len(last) == 1:
            ev.push_retain(last[0])
            continue
        if last[0] is not None:
            x = LdItem.__new__(LdItem)
            x.val = text_of(doc.seq, last[0])
            x.attrs = last[2]
            x.owned = False
            x.buf = -1      # (bounds that never meet: the items are as pushed)
            x.lo = 2 * k
            x.hi = 2 * k + 1
            k += 1
            x.n = last[1]
            ev.tree_push(x)
        else:
            ev.tree_push(ld_delete(True, last[1], LD_CAP_DEFAULT))
    for start, segs in styles:
        delta = [ld_retain(start)] if start else []
        for n, attrs in segs:
            x = ld_retain(n)
            x.attrs = attrs
            delta.append(x)
        st.compose(delta)
    # (loro's compose of a delta chopped of its plain retains at the end)
    x = st.last_item()
    while x is not None and x.retain and not x.attrs:
        st.remove_leaf(x)
        x = st.last_item()
    ev.compose([x.copy() for x in st.to_list()])
    items = ld_text_items(ev)
    return text_diff(items) if items else None
