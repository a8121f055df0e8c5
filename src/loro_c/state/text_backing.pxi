# Where the characters of texts' states lie in loro's string storage, where that is not
# where their ops' text lies now.
#
# loro builds a text loaded from a snapshot from the one string its snapshot stores, so the
# characters of its state lie side by side in one buffer, in document order; when a
# checkout shows the text again, loro reports its whole value as inserts joined wherever
# their bytes follow (whole_text_items), which over such a text is everywhere (probed: a
# snapshot load gives one insert where an update import gives three).
#
# Any other character of a state holds the bytes its op had when the character came into
# the state (a local insert, an import, a checkout). Those move when loro re-reads its
# change blocks after a snapshot export or a fork (lstr_flush): the state keeps the old
# bytes, a character a later checkout brings back takes the op's new ones (probed on loro
# 1.17.1: 'ab中' typed, a snapshot export, 'b' deleted, a checkout that shows the text
# again: three inserts 'a', 'b', '中'). So a flush first records where the state's
# characters lie (freeze_text_state).
#
# Characters a checkout brings back into the state (an insert coming into effect, or a
# delete taken out of it) come from their ops' bytes, so they leave the records here. A
# document keeps the runs of ids so recorded with their places: one TextBacking for all
# texts, as ids are unique across containers (a run names its text only for the
# invariant check; offsets are compared within one buffer).


cdef class TextBacking:
    """The ids of texts' characters held where their ops' text no longer is: runs of
    counters of a peer with the place of their first one (in their text's snapshot string,
    or in a buffer of loro's string storage), sorted by (peer, start)."""

    def __dealloc__(self):
        free(self.runs)

    cdef int ready(self) except -1:
        """Read the runs loads left pending (a load takes no time for them: most loaded
        texts are never checked out)."""
        cdef const int32_t *runs
        cdef Py_ssize_t i, n
        cdef int64_t off
        cdef uint64_t *ids
        cdef Py_ssize_t k
        if self.pending is None:
            return 0
        pending = self.pending
        self.pending = None
        for k in range(0, len(pending), 3):
            c, peers, packed = pending[k], pending[k + 1], pending[k + 2]
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

    cdef TextBacking copy(self):
        """Another TextBacking holding the same runs (read or pending) and version."""
        cdef TextBacking b = TextBacking()
        if self.n:
            b.runs = <lc_backing_run*>malloc(<size_t>self.n * sizeof(lc_backing_run))
            if b.runs == NULL:
                raise MemoryError()
            memcpy(b.runs, self.runs, <size_t>self.n * sizeof(lc_backing_run))
            b.n = b.cap = self.n
        b.pending = None if self.pending is None else list(self.pending)
        b.frozen_vv = self.frozen_vv
        b.loaded_vv = self.loaded_vv
        b.revived = self.revived
        return b

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
        self.runs[self.n].buf = 0
        self.runs[self.n].cidx = 0
        self.runs[self.n].op_end = 0
        self.n += 1
        return 0

    cdef int finish(self) noexcept:
        qsort(self.runs, <size_t>self.n, sizeof(lc_backing_run), cmp_backing_run)
        return 0

    cdef int64_t first_after(self, uint64_t peer, int64_t counter, int64_t hi) noexcept:
        """Index of the first run after (peer, counter) among the first `hi` (sorted),
        runs starting there included."""
        cdef int64_t lo = 0, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.runs[mid].peer < peer or (self.runs[mid].peer == peer
                                              and self.runs[mid].start <= counter):
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef int unback(self, uint64_t peer, int64_t lo, int64_t hi, const uint32_t *text) except -1:
        """Counters [lo, hi) of `peer` leave the string."""
        cdef int64_t i, k
        cdef lc_backing_run r
        if lo >= hi:
            return 0
        self.ready()
        i = self.first_after(peer, lo, self.n) - 1
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
                run_skip(&self.runs[i + 1], hi - r.start, text)
                return 0
            if r.start < lo:
                self.runs[i].end = lo
                i += 1
            elif r.end > hi:
                self.runs[i].start = hi
                run_skip(&self.runs[i], hi - r.start, text)
                return 0
            else:
                k = i
                memmove(&self.runs[k], &self.runs[k + 1],
                        <size_t>(self.n - k - 1) * sizeof(lc_backing_run))
                self.n -= 1
        return 0

    cdef int64_t cut(self, uint64_t peer, int64_t counter, int64_t n, int64_t *run) except -1:
        """How many of the `n` atoms from (peer, counter) share the first one's place: all
        in run `run` or all out of the runs (`run` -1)."""
        cdef int64_t i
        self.ready()
        i = self.first_after(peer, counter, self.n)
        run[0] = -1
        if i > 0 and self.runs[i - 1].peer == peer and counter < self.runs[i - 1].end:
            run[0] = i - 1
            return min(n, self.runs[i - 1].end - counter)
        if i < self.n and self.runs[i].peer == peer:
            return min(n, self.runs[i].start - counter)
        return n

    cdef void bounds(self, const uint32_t *text, int64_t i, int64_t counter, int64_t n,
                     int64_t *out) noexcept:
        """Where the `n` atoms from `counter` of run `i` lie: out[0:2] the (buffer, offset)
        of their start, out[2:4] of their end; two pieces' bytes follow when the end of the
        first is the start of the second. A snapshot's string is buffer -2 - its text, in
        code points; a buffer of loro's string storage counts bytes, and a blob's op is
        bounded as _events.stored_bounds bounds it."""
        cdef lc_backing_run *r = &self.runs[i]
        cdef int64_t at
        if r.buf == 0:
            out[0] = out[2] = -2 - <int64_t>r.container
            out[1] = r.offset + counter - r.start
            out[3] = out[1] + n
            return
        at = r.offset + utf8_bytes(&text[r.cidx], counter - r.start)
        out[0] = out[2] = r.buf
        out[1] = at
        out[3] = at + utf8_bytes(&text[r.cidx + counter - r.start], n)
        if r.op_end & 0x80000000:
            if at == 0:
                out[0] = -1
                out[1] = <int64_t>r.buf - 1
            if out[3] == (r.op_end & 0x7FFFFFFF):
                out[2] = -1
                out[3] = r.buf


cdef inline void run_skip(lc_backing_run *r, int64_t k, const uint32_t *text) noexcept:
    """Move run `r`'s place past its first `k` atoms (its start already moved)."""
    if r.buf == 0:
        r.offset += k
    else:
        r.offset += utf8_bytes(&text[r.cidx], k)
        r.cidx += k


cdef int cmp_backing_run(const void *a, const void *b) noexcept nogil:
    cdef const lc_backing_run *x = <const lc_backing_run*>a
    cdef const lc_backing_run *y = <const lc_backing_run*>b
    if x.peer != y.peer:
        return -1 if x.peer < y.peer else 1
    return -1 if x.start < y.start else (1 if x.start > y.start else 0)


cdef int backing_from_runs(LoroDoc d, uint32_t c, list peers, bytes packed) except -1:
    """Text `c`'s string from its snapshot's (peer index, counter, len) runs (len 0 and -1
    are style anchors, which take no bytes), read at first use. A text with no characters
    adds none (a backing holds runs, or is None)."""
    cdef const int32_t *runs = <const int32_t*>PyBytes_AS_STRING(packed)
    cdef Py_ssize_t i, n = PyBytes_GET_SIZE(packed) // (3 * sizeof(int32_t))
    for i in range(n):
        if runs[3 * i + 2] > 0:
            break
    else:
        return 0
    if d.text_backing is None:
        d.text_backing = TextBacking()
    if d.text_backing.pending is None:
        d.text_backing.pending = []
    # (flat, c, peers, packed: no tuple per text, of which a load makes thousands)
    pending = d.text_backing.pending
    pending.append(c)
    pending.append(peers)
    pending.append(packed)
    return 0


def backing_from_snapshot(LoroDoc d, bytes blob):
    """The texts of a snapshot just loaded into the empty `d` (its state as their buffers).
    The state section is decoded again (a load that replayed the history)."""
    version = []
    rows = _codec_module().snapshot_text_runs(blob, version)
    if not rows:
        return
    for cid, peers, packed in rows:
        c = d.cid_index.get(cid)
        if c is not None:
            backing_from_runs(d, <uint32_t>c, peers, packed)
    if version:
        backing_loaded_at(d, version[0])


cdef int backing_loaded_at(LoroDoc d, dict vv) except -1:
    """The runs a load into the empty `d` just left pending are its texts' visible
    characters in its state at version `vv` ({peer id: end}): all a freeze at `vv` would
    have recorded. The first freeze then needs to record only the characters of ops past
    `vv`, as any later one (freeze_text_state). A version by peer id, not by peer index:
    a thin document's history, once imported, numbers its peers anew."""
    cdef TextBacking b = d.text_backing
    if b is not None and b.n == 0 and b.frozen_vv is None and not b.revived:
        b.loaded_vv = vv
    return 0


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
        # (every visible character recorded: as a freeze at this version would leave them)
        b.frozen_vv = PyBytes_FromStringAndSize(<char*>d.log.vv, d.log.n_peers * sizeof(int32_t))
        d.text_backing = b
    return 0


cdef int unback_moved_op(LoroDoc d, const lc_op *op, uint32_t p, int32_t lo, int32_t hi,
                         bint forward) except -1:
    """A checkout moves text op `op` (its atoms in [lo, hi) of peer index `p`): the
    characters it shows again leave their snapshot string. (A delete's targets leave it
    whole: those it still hides stay hidden, and come back only by another such move.)"""
    cdef TextBacking b = d.text_backing
    b.revived = True
    if forward and op.kind == LC_OP_INSERT:
        b.unback(d.log.peer_ids[p], max(op.counter, lo), min(op.counter + op.len, hi), d.seq.text)
    elif not forward and op.kind == LC_OP_DELETE:
        b.unback(d.log.peer_ids[op.start_id.peer], op.start_id.counter,
                 op.start_id.counter + op.len, d.seq.text)
    else:
        return 0
    if not b.n and b.pending is None:
        d.text_backing = None
    return 0


cdef dict backing_places(TextBacking b, const uint32_t *text):
    """{(peer, counter): place} of every character the runs record, however they are cut
    into runs (tests): its text and (string, code point) or (buffer, byte offset, op end
    record, content index)."""
    cdef int64_t i, k, at
    cdef lc_backing_run *r
    cdef dict out = {}
    b = b.copy()        # (its pending runs read, not `b`'s)
    b.ready()
    for i in range(b.n):
        r = &b.runs[i]
        at = r.offset
        for k in range(r.end - r.start):
            if r.buf == 0:
                out[(r.peer, r.start + k)] = (r.container, 0, r.offset + k)
            else:
                out[(r.peer, r.start + k)] = (r.container, r.buf, at, r.op_end, r.cidx + k)
                at += utf8_bytes(&text[r.cidx + k], 1)
    return out


cdef int check_text_backing(LoroDoc d) except -1:
    """The runs: sorted, not empty, of texts, not overlapping in ids nor, per text, in its
    snapshot string."""
    cdef TextBacking b = d.text_backing
    cdef int64_t i
    if b is None:
        return 0
    if not b.n and b.pending is None:
        raise AssertionError("an empty text_backing is kept (None expected)")
    # (runs a load left pending are not read here: those read, and the ones freezes added
    # beside them, are checked)
    spans = []
    for i in range(b.n):
        if d.ckind[b.runs[i].container] != KIND_TEXT:
            raise AssertionError(f"backing run {b.runs[i]} is not of a text")
        if b.runs[i].start >= b.runs[i].end or b.runs[i].offset < 0:
            raise AssertionError(f"empty or misplaced backing run {b.runs[i]}")
        if i and (b.runs[i - 1].peer, b.runs[i - 1].end) > (b.runs[i].peer, b.runs[i].start):
            raise AssertionError(f"backing runs out of order at {i}")
        if b.runs[i].buf == 0:
            # (a snapshot's string, in code points; a buffer's bytes may be read again)
            spans.append((b.runs[i].container, b.runs[i].offset,
                          b.runs[i].offset + b.runs[i].end - b.runs[i].start))
    spans.sort()
    for i in range(1, len(spans)):
        if spans[i - 1][0] == spans[i][0] and spans[i - 1][2] > spans[i][1]:
            raise AssertionError(f"backing runs overlap in the string: {spans[i - 1:i + 1]}")
    return 0


# tests: an incremental freeze also runs the full walk on a copy of the runs and compares
# (_freeze_cross_check)
cdef bint freeze_cross_check = False
cdef int64_t freeze_cross_checked = 0


def _freeze_cross_check(bint on):
    """Make every freeze that records only the characters of new ops also walk every text
    from a copy of the runs before it, and raise AssertionError when the two record
    another place for any character (tests); returns how many were compared so far."""
    global freeze_cross_check
    freeze_cross_check = on
    return freeze_cross_checked


cdef int freeze_text_state(LoroDoc d) except -1:
    """Record where the visible characters of every text lie, before lstr_flush moves their
    ops' text (loro's state keeps the bytes it holds): a run per op piece not recorded
    yet, merged with the one before when it continues it in the same op."""
    global freeze_cross_checked
    cdef TextBacking b = d.text_backing
    cdef TextBacking full
    cdef int64_t n_old
    if b is None:
        b = TextBacking()
    if b.loaded_vv is not None:
        if b.frozen_vv is None and not b.revived:
            b.frozen_vv = vv_by_peer_index(d.log, b.loaded_vv)
        b.loaded_vv = None
    if (b.frozen_vv is not None and not b.revived and not d.thin_texts
            and d.shallow_sv is None):
        # Only the characters of ops new since the last freeze (or the load) can be
        # unrecorded: every character below that version that is visible now was visible
        # then (a delete is never undone but by a checkout, which sets `revived`), and so
        # recorded. The runs a load left pending stay so (read when a checkout needs them).
        full = b.copy() if freeze_cross_check else None
        n_old = b.n
        freeze_new_ops(d, b, n_old)
        freeze_done(d, b, n_old)
        if full is not None:
            full.ready()
            n_old = full.n
            freeze_walk(d, full, n_old)
            if full.n > n_old:
                merge_new_runs(full, n_old)
            if backing_places(full, d.seq.text) != backing_places(b, d.seq.text):
                raise AssertionError("an incremental freeze records other places than a full one")
            freeze_cross_checked += 1
        return 0
    b.ready()
    n_old = b.n
    freeze_walk(d, b, n_old)
    return freeze_done(d, b, n_old)


cdef int freeze_walk(LoroDoc d, TextBacking b, int64_t n_old) except -1:
    """freeze_text_state walking every visible character of every text: each one not in
    the first `n_old` runs (sorted) gets a run appended."""
    cdef SeqArena seq = d.seq
    cdef OpLog log = d.log
    cdef uint32_t c, leaf, p
    cdef int i
    cdef int64_t k, ri, ch = -1, oi = -1, off
    cdef int64_t memo_op = -1, memo_off = 0
    cdef int32_t memo_counter = 0
    cdef int32_t counter, n
    cdef int64_t content
    cdef uint64_t peer
    cdef lc_span *s
    cdef lc_op *op
    cdef lc_backing_run *last
    for c in range(<uint32_t>d.n_containers):
        if d.ckind[c] != KIND_TEXT:
            continue
        leaf = seq.first_leaf(d.ctree[c])
        while leaf != LC_NO_NODE:
            for i in range(seq.nodes[leaf].n):
                s = &seq.nodes[leaf].u.spans[i]
                if not span_visible(s) or s.content >= LC_ANCHOR_MIN:
                    continue
                p = s.id.peer
                peer = log.peer_ids[p]
                counter = s.id.counter
                content = s.content
                n = s.len
                while n > 0:
                    k = n
                    if n_old:
                        # (the runs recorded before are sorted, the new ones come after)
                        ri = b.first_after(peer, counter, n_old)
                        if ri > 0 and b.runs[ri - 1].peer == peer and counter < b.runs[ri - 1].end:
                            k = min(k, b.runs[ri - 1].end - counter)
                            counter += <int32_t>k
                            content += k
                            n -= <int32_t>k
                            continue
                        if ri < n_old and b.runs[ri].peer == peer:
                            k = min(k, b.runs[ri].start - counter)
                    if not (0 <= ch < log.n_changes and log.changes[ch].peer == p
                            and log.changes[ch].counter <= counter < log.changes[ch].end):
                        ch = log.find_change(p, counter)
                        oi = -1
                    if ch < 0:
                        counter += <int32_t>k        # (no op: a shallow root's state)
                        content += k
                        n -= <int32_t>k
                        continue
                    if not (0 <= oi and log.ops[oi].counter <= counter < log.ops[oi].counter + log.ops[oi].len
                            and log.changes[ch].ops_off <= oi < log.changes[ch].ops_off + log.changes[ch].ops_len):
                        oi = log.find_op(ch, counter)
                    op = &log.ops[oi]
                    k = min(k, op.counter + op.len - counter)
                    if oi == memo_op and counter >= memo_counter:
                        # (a long op cut into many spans: its prefix counted once, in order)
                        off = memo_off + utf8_bytes(&seq.text[op.arg + memo_counter - op.counter],
                                                    counter - memo_counter)
                    else:
                        off = op.start_id.counter + utf8_bytes(&seq.text[op.arg], counter - op.counter)
                    memo_op = oi
                    memo_counter = counter
                    memo_off = off
                    last = &b.runs[b.n - 1] if b.n > n_old else NULL
                    if (last != NULL and last.peer == peer and last.end == counter
                            and last.buf == op.start_id.peer and last.op_end == <int64_t>op.delta
                            and last.container == c and last.cidx + (last.end - last.start) == content):
                        last.end += k
                    else:
                        b.add(c, peer, counter, k, off)
                        last = &b.runs[b.n - 1]
                        last.buf = op.start_id.peer
                        last.cidx = content
                        last.op_end = <int64_t>op.delta
                    counter += <int32_t>k
                    content += k
                    n -= <int32_t>k
            leaf = seq.nodes[leaf].next_leaf
    return 0


cdef bytes vv_by_peer_index(OpLog log, dict vv):
    """Version `vv` ({peer id: end}) as frozen_vv holds one: an int32 end per peer index."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, log.n_peers * sizeof(int32_t))
    cdef int32_t *ends = <int32_t*>PyBytes_AS_STRING(out)
    cdef uint32_t p
    for p in range(log.n_peers):
        ends[p] = vv.get(log.peer_ids[p], 0)
    return out


cdef int freeze_done(LoroDoc d, TextBacking b, int64_t n_old) except -1:
    if b.n > n_old:
        merge_new_runs(b, n_old)
    b.frozen_vv = PyBytes_FromStringAndSize(<char*>d.log.vv, d.log.n_peers * sizeof(int32_t))
    b.revived = False
    if b.n and d.text_backing is None:
        d.text_backing = b
    return 0


cdef int freeze_new_ops(LoroDoc d, TextBacking b, int64_t n_old) except -1:
    """freeze_text_state for the visible characters of the text inserts logged since the
    last freeze (found by id: those before are recorded, or were not visible then and no
    checkout has brought them back)."""
    cdef SeqArena seq = d.seq
    cdef OpLog log = d.log
    cdef const int32_t *frozen = <const int32_t*>PyBytes_AS_STRING(b.frozen_vv)
    cdef int64_t n_frozen = PyBytes_GET_SIZE(b.frozen_vv) // sizeof(int32_t)
    cdef uint32_t p, leaf
    cdef int slot
    cdef int32_t lo, counter, end
    cdef int64_t pos, k, m, content, off
    cdef uint64_t peer
    cdef lc_change *ch
    cdef lc_op *op
    cdef lc_span *s
    cdef lc_backing_run *last
    for p in range(log.n_peers):
        lo = frozen[p] if p < n_frozen else 0
        if log.vv[p] <= lo:
            continue
        peer = log.peer_ids[p]
        pos = log.find_change_pos(p, lo)
        if pos < 0:
            continue
        while pos < log.by_peer[p].len:
            ch = &log.changes[log.by_peer[p].idx[pos]]
            pos += 1
            if ch.end <= lo:
                continue
            for k in range(ch.ops_off, ch.ops_off + ch.ops_len):
                op = &log.ops[k]
                if op.kind != LC_OP_INSERT or d.ckind[op.container] != KIND_TEXT:
                    continue
                counter = max(op.counter, lo)
                end = op.counter + op.len
                while counter < end:
                    leaf = locate(seq, make_id(p, counter), &slot)
                    s = &seq.nodes[leaf].u.spans[slot]
                    m = min(end, s.id.counter + s.len) - counter
                    if span_visible(s) and s.content < LC_ANCHOR_MIN:
                        content = s.content + (counter - s.id.counter)
                        off = op.start_id.counter + utf8_bytes(&seq.text[op.arg], counter - op.counter)
                        last = &b.runs[b.n - 1] if b.n > n_old else NULL
                        if (last != NULL and last.peer == peer and last.end == counter
                                and last.buf == op.start_id.peer and last.op_end == <int64_t>op.delta
                                and last.container == op.container
                                and last.cidx + (last.end - last.start) == content):
                            last.end += m
                        else:
                            b.add(op.container, peer, counter, m, off)
                            last = &b.runs[b.n - 1]
                            last.buf = op.start_id.peer
                            last.cidx = content
                            last.op_end = <int64_t>op.delta
                    counter += <int32_t>m
    return 0


cdef int merge_new_runs(TextBacking b, int64_t n_old) except -1:
    """Sort the runs after the first `n_old` (sorted) into them: the new ones sorted, then
    merged from the first old run they precede (a freeze after a few edits adds a few
    runs to many: no sort of them all)."""
    cdef int64_t i0, i, j, k, n_tail
    cdef lc_backing_run *tmp
    qsort(&b.runs[n_old], <size_t>(b.n - n_old), sizeof(lc_backing_run), cmp_backing_run)
    if n_old == 0 or cmp_backing_run(&b.runs[n_old - 1], &b.runs[n_old]) <= 0:
        return 0
    i0 = b.first_after(b.runs[n_old].peer, b.runs[n_old].start, n_old)
    n_tail = b.n - i0
    tmp = <lc_backing_run*>malloc(<size_t>n_tail * sizeof(lc_backing_run))
    if tmp == NULL:
        raise MemoryError()
    i = i0
    j = n_old
    k = 0
    while i < n_old and j < b.n:
        if cmp_backing_run(&b.runs[i], &b.runs[j]) <= 0:
            tmp[k] = b.runs[i]
            i += 1
        else:
            tmp[k] = b.runs[j]
            j += 1
        k += 1
    while i < n_old:
        tmp[k] = b.runs[i]
        i += 1
        k += 1
    while j < b.n:
        tmp[k] = b.runs[j]
        j += 1
        k += 1
    memcpy(&b.runs[i0], tmp, <size_t>n_tail * sizeof(lc_backing_run))
    free(tmp)
    return 0
