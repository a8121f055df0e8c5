# Texts whose state loro decoded from a snapshot. loro builds such a text from the one
# string its snapshot stores, so the characters of its state lie side by side in one buffer,
# in document order; when a checkout shows the text again, loro reports its whole value as
# inserts joined wherever their bytes follow (whole_text_items), which over such a text is
# everywhere (probed: a snapshot load gives one insert where an update import gives three).
# Characters a checkout brings back into the state (an insert coming into effect, or a
# delete taken out of it) come from their ops' bytes instead, so they leave the buffer here.
# A document keeps, for the texts it loaded so (a snapshot into an empty document, a fork),
# the runs of ids still held in their buffers with their offsets there: one TextBacking for
# all of them, as ids are unique across containers (a run names its text only for the
# invariant check; offsets are compared within one text).


cdef class TextBacking:
    """The ids of the loaded texts still held in their snapshot's strings: runs of counters
    of a peer with the offset (code points) of their first one in their text's string,
    sorted by (peer, start)."""

    def __dealloc__(self):
        free(self.runs)

    cdef int ready(self) except -1:
        """Read the runs loads left pending (a load takes no time for them: most loaded
        texts are never checked out)."""
        cdef const int32_t *runs
        cdef Py_ssize_t i, n
        cdef int64_t off
        cdef uint64_t *ids
        if self.pending is None:
            return 0
        pending = self.pending
        self.pending = None
        for c, peers, packed in pending:
            runs = <const int32_t*>PyBytes_AS_STRING(packed)
            n = PyBytes_GET_SIZE(packed) // (3 * sizeof(int32_t))
            ids = <uint64_t*>malloc((len(peers) + 1) * sizeof(uint64_t))
            if ids == NULL:
                raise MemoryError()
            try:
                for i in range(len(peers)):
                    ids[i] = peers[i]
                off = 0
                for i in range(n):
                    if runs[3 * i + 2] > 0:
                        self.add(<uint32_t>c, ids[runs[3 * i]], runs[3 * i + 1], runs[3 * i + 2], off)
                        off += runs[3 * i + 2]
            finally:
                free(ids)
        self.finish()
        return 0

    cdef int add(self, uint32_t c, uint64_t peer, int64_t start, int64_t n, int64_t offset) except -1:
        """Append a run of text `c` (they come in document order: finish sorts them)."""
        if self.n == self.cap:
            self.runs = <lc_backing_run*>grow(self.runs, &self.cap, self.n + 1,
                                              sizeof(lc_backing_run))
        self.runs[self.n].peer = peer
        self.runs[self.n].start = start
        self.runs[self.n].end = start + n
        self.runs[self.n].offset = offset
        self.runs[self.n].container = c
        self.n += 1
        return 0

    cdef int finish(self) noexcept:
        qsort(self.runs, <size_t>self.n, sizeof(lc_backing_run), cmp_backing_run)
        return 0

    cdef int64_t first_after(self, uint64_t peer, int64_t counter) noexcept:
        """Index of the first run after (peer, counter) in the order, runs starting there
        included."""
        cdef int64_t lo = 0, hi = self.n, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.runs[mid].peer < peer or (self.runs[mid].peer == peer
                                              and self.runs[mid].start <= counter):
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef int unback(self, uint64_t peer, int64_t lo, int64_t hi) except -1:
        """Counters [lo, hi) of `peer` leave the string."""
        cdef int64_t i, k
        cdef lc_backing_run r
        if lo >= hi:
            return 0
        self.ready()
        i = self.first_after(peer, lo) - 1
        if i < 0 or self.runs[i].peer != peer or self.runs[i].end <= lo:
            i += 1
        while i < self.n and self.runs[i].peer == peer and self.runs[i].start < hi:
            r = self.runs[i]
            if r.start < lo and r.end > hi:
                # the range cuts the run in two
                if self.n == self.cap:
                    self.runs = <lc_backing_run*>grow(self.runs, &self.cap, self.n + 1,
                                                      sizeof(lc_backing_run))
                memmove(&self.runs[i + 1], &self.runs[i],
                        <size_t>(self.n - i) * sizeof(lc_backing_run))
                self.n += 1
                self.runs[i].end = lo
                self.runs[i + 1].start = hi
                self.runs[i + 1].offset = r.offset + hi - r.start
                return 0
            if r.start < lo:
                self.runs[i].end = lo
                i += 1
            elif r.end > hi:
                self.runs[i].start = hi
                self.runs[i].offset = r.offset + hi - r.start
                return 0
            else:
                k = i
                memmove(&self.runs[k], &self.runs[k + 1],
                        <size_t>(self.n - k - 1) * sizeof(lc_backing_run))
                self.n -= 1
        return 0

    cdef int64_t cut(self, uint64_t peer, int64_t counter, int64_t n, int64_t *offset) except -1:
        """How many of the `n` atoms from (peer, counter) share the first one's place: all
        in one run (`offset` its offset in the string) or all out of it (`offset` -1)."""
        cdef int64_t i
        self.ready()
        i = self.first_after(peer, counter)
        offset[0] = -1
        if i > 0 and self.runs[i - 1].peer == peer and counter < self.runs[i - 1].end:
            offset[0] = self.runs[i - 1].offset + counter - self.runs[i - 1].start
            return min(n, self.runs[i - 1].end - counter)
        if i < self.n and self.runs[i].peer == peer:
            return min(n, self.runs[i].start - counter)
        return n


cdef int cmp_backing_run(const void *a, const void *b) noexcept nogil:
    cdef const lc_backing_run *x = <const lc_backing_run*>a
    cdef const lc_backing_run *y = <const lc_backing_run*>b
    if x.peer != y.peer:
        return -1 if x.peer < y.peer else 1
    return -1 if x.start < y.start else (1 if x.start > y.start else 0)


cdef int backing_from_runs(LoroDoc d, uint32_t c, list peers, bytes packed) except -1:
    """Text `c`'s string from its snapshot's (peer index, counter, len) runs (len 0 and -1
    are style anchors, which take no bytes), read at first use."""
    if d.text_backing is None:
        d.text_backing = TextBacking()
    if d.text_backing.pending is None:
        d.text_backing.pending = []
    d.text_backing.pending.append((c, peers, packed))
    return 0


def backing_from_snapshot(LoroDoc d, bytes blob):
    """The texts of a snapshot just loaded into the empty `d` (its state as their buffers).
    The state section is decoded again (a load that replayed the history)."""
    rows = _codec_module().snapshot_text_runs(blob)
    if not rows:
        return
    for cid, peers, packed in rows:
        c = d.cid_index.get(cid)
        if c is not None:
            backing_from_runs(d, <uint32_t>c, peers, packed)


cdef int backing_from_state(LoroDoc d) except -1:
    """Every text of `d` as a snapshot of its state would load it (a fork's texts)."""
    cdef uint32_t c, leaf
    cdef int i
    cdef int64_t off
    cdef lc_span *s
    cdef SeqArena seq = d.seq
    cdef TextBacking b = TextBacking()
    for c in range(<uint32_t>d.n_containers):
        if d.ckind[c] != KIND_TEXT:
            continue
        off = 0
        leaf = seq.first_leaf(d.ctree[c])
        while leaf != LC_NO_NODE:
            for i in range(seq.nodes[leaf].n):
                s = &seq.nodes[leaf].u.spans[i]
                if span_visible(s) and s.content < LC_ANCHOR_MIN:
                    b.add(c, d.log.peer_ids[s.id.peer], s.id.counter, s.len, off)
                    off += s.len
            leaf = seq.nodes[leaf].next_leaf
    if b.n:
        b.finish()
        d.text_backing = b
    return 0


cdef int unback_moved_op(LoroDoc d, const lc_op *op, uint32_t p, int32_t lo, int32_t hi,
                         bint forward) except -1:
    """A checkout moves text op `op` (its atoms in [lo, hi) of peer index `p`): the
    characters it shows again leave their snapshot string. (A delete's targets leave it
    whole: those it still hides stay hidden, and come back only by another such move.)"""
    cdef TextBacking b = d.text_backing
    if forward and op.kind == LC_OP_INSERT:
        b.unback(d.log.peer_ids[p], max(op.counter, lo), min(op.counter + op.len, hi))
    elif not forward and op.kind == LC_OP_DELETE:
        b.unback(d.log.peer_ids[op.start_id.peer], op.start_id.counter,
                 op.start_id.counter + op.len)
    else:
        return 0
    if not b.n and b.pending is None:
        d.text_backing = None
    return 0


cdef int check_text_backing(LoroDoc d) except -1:
    """The runs: sorted, not empty, of texts, not overlapping in ids nor, per text, in its
    string."""
    cdef TextBacking b = d.text_backing
    cdef int64_t i
    if b is None or b.pending is not None:
        return 0
    if not b.n:
        raise AssertionError("an empty text_backing is kept (None expected)")
    spans = []
    for i in range(b.n):
        if d.ckind[b.runs[i].container] != KIND_TEXT:
            raise AssertionError(f"backing run {b.runs[i]} is not of a text")
        if b.runs[i].start >= b.runs[i].end or b.runs[i].offset < 0:
            raise AssertionError(f"empty or misplaced backing run {b.runs[i]}")
        if i and (b.runs[i - 1].peer, b.runs[i - 1].end) > (b.runs[i].peer, b.runs[i].start):
            raise AssertionError(f"backing runs out of order at {i}")
        spans.append((b.runs[i].container, b.runs[i].offset,
                      b.runs[i].offset + b.runs[i].end - b.runs[i].start))
    spans.sort()
    for i in range(1, len(spans)):
        if spans[i - 1][0] == spans[i][0] and spans[i - 1][2] > spans[i][1]:
            raise AssertionError(f"backing runs overlap in the string: {spans[i - 1:i + 1]}")
    return 0
