# cython: language_level=3, boundscheck=False, cdivision=True
"""Diff collection: the journal of one commit or import (include/loro_c/events.h) becomes
one ContainerDiff per changed, reachable container, in the document's coordinates after
the change (events.py holds the types, the dispatch and the async stream).

Sequences. The journal names the atoms each op inserted and, through the tracker records,
the atoms each delete op targeted. With the tracker at the document version, an atom was
visible before the batch when it is not new and its delete count minus this batch's deletes
of it is zero; it is visible now when its span is. The atoms whose visibility changed are
located in the B-tree (abs_index orders them, visible_before gives their position in the
current document) and walked in document order: the visible atoms between two of them are
retained, the newly visible ones inserted, the newly hidden ones deleted. The cost follows
the touched atoms, not the container's length.

Maps: the keys whose winner changed (map_apply journals them), with their current value.
Counters: the summed delta (an import's zero sum is dropped, a commit's is kept, as loro).
Paths: a container's parent is the container of the op that created it (its id is the op
id); the index is that op's map key while the key's winner is still this container, or the
list position of the op's atom while it is visible. A container that cannot be reached from
a root gets no diff, as in loro.
"""
from libc.stdint cimport uint32_t, int32_t, int64_t

from loro_c._doc cimport (LoroDoc, lc_ev_note, lc_map_find, lc_map_entry, KIND_TEXT, KIND_LIST,
                          KIND_MAP, KIND_COUNTER, LC_EV_INSERT, LC_EV_DELETE, LC_EV_MAP, LC_EV_COUNTER,
                          doc_acquire, doc_release)
from loro_c._seq cimport (SeqArena, lc_span, lc_id, lc_record, lc_peer_index, make_id, span_visible,
                          LC_REC_INSERT, LC_REC_DELETE_REV)
from loro_c._oplog cimport OpLog, lc_op, LC_OP_INSERT, LC_OP_MAP_SET

from loro_c import _types
from loro_c.events import (_DocEvents, _Batch, ContainerDiff, PathItem, Diff, TextDelta, ListDiffItem,
                           MapDelta)
from loro_c.paths import Index
from loro_c.errors import LoroTypeError, LoroValueError
from loro_c._doc import Subscription, copy_value

cdef extern from "Python.h":
    object PyUnicode_FromKindAndData(int kind, const void *buffer, Py_ssize_t size)
    int PyUnicode_4BYTE_KIND

# loro drops an imported counter diff smaller than f64::EPSILON
cdef double F64_EPSILON = 2.220446049250313e-16

cdef object _wrap = None


def subscribe(LoroDoc doc, cid, callback):
    """Register a diff-event subscriber (cid None: every event) and start journaling."""
    if not callable(callback):
        raise LoroValueError("callback must be callable")
    if cid is not None and not isinstance(cid, _types.ContainerID):
        raise LoroTypeError(f"expected a ContainerID, not {type(cid).__name__}")
    doc_acquire(doc)
    try:
        if doc.evs is None:
            doc.evs = _DocEvents()
        doc.evlog.on = 1
        reg = doc.evs
        return Subscription(reg.root if cid is None else reg.by_cid.setdefault(cid, []), callback)
    finally:
        doc_release(doc)


def flush(LoroDoc doc, int trigger, origin):
    """End of a commit (trigger 0) or import (1), under the lock: queue the event of the
    journaled ops for delivery and empty the journal."""
    try:
        if doc.evlog.n == 0 or doc.evs is None or not doc.evs.active():
            return
        diffs = collect(doc, trigger == 1)
        if diffs:
            doc.pending_events.append(_Batch(doc.evs, trigger, "" if origin is None else origin, diffs))
    finally:
        doc.evlog.n = 0


cdef list collect(LoroDoc doc, bint is_import):
    cdef int64_t i
    cdef uint32_t c
    cdef lc_ev_note *e
    cdef double total
    groups = {}
    for i in range(doc.evlog.n):
        c = doc.evlog.notes[i].container
        g = groups.get(c)
        if g is None:
            groups[c] = g = []
        g.append(i)
    paths = {}
    out = []
    for c, idxs in groups.items():
        path = path_of(doc, c, paths)
        if path is None:
            continue
        kind = doc.ckind[c]
        if kind == KIND_TEXT or kind == KIND_LIST:
            d = seq_diff(doc, c, idxs)
        elif kind == KIND_MAP:
            d = map_diff(doc, c, idxs)
        elif kind == KIND_COUNTER:
            total = 0.0
            for i in idxs:
                total += doc.evlog.notes[i].delta
            d = None if is_import and -F64_EPSILON < total < F64_EPSILON else Diff.Counter(total)
        else:
            d = None
        if d is None:
            continue
        cid = doc.cids[c]
        # loro's order: by depth, then roots before the others, which go by creation counter
        out.append((len(path), 0 if cid.is_root else cid.counter + 1, c,
                    ContainerDiff(cid, path, False, d)))
    out.sort(key=lambda x: x[:3])
    return [x[3] for x in out]


cdef object wrap_value(LoroDoc doc, object v):
    global _wrap
    if isinstance(v, _types.ContainerID):
        if _wrap is None:
            from loro_c._containers import wrap
            _wrap = wrap
        c = doc.cid_index[v]
        return _types.ValueOrContainer.Container(_wrap(doc, c, doc.ckind[<uint32_t>c]))
    return _types.ValueOrContainer.Value(copy_value(v))


# ---------------------------------------------------------------------------- paths

cdef object parent_of(LoroDoc doc, object cid):
    """(parent index, op kind, key index, atom peer index, counter) of the op that created
    `cid`, or None when the document does not have it."""
    cdef OpLog log = doc.log
    cdef int64_t ch, k
    cdef lc_op *op
    found = log.peer_map.get(cid.peer)
    if found is None:
        return None
    ch = log.find_change(<uint32_t>found, <int32_t>cid.counter)
    if ch < 0:
        return None
    k = log.find_op(ch, <int32_t>cid.counter)
    op = &log.ops[k]
    if op.counter > cid.counter:
        return None
    return (op.container, op.kind, op.pos, found)


cdef object path_of(LoroDoc doc, uint32_t c, dict cache):
    cdef uint32_t parent
    cdef lc_map_entry *e
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    if c in cache:
        return cache[c]
    cid = doc.cids[c]
    path = None
    if cid.is_root:
        path = [PathItem(cid, Index.Key(cid.name))]
    else:
        link = parent_of(doc, cid)
        index = None
        if link is not None:
            parent = link[0]
            if link[1] == LC_OP_MAP_SET:
                e = lc_map_find(&doc.maps[doc.ctree[parent]], <uint32_t>link[2])
                if e != NULL and e.slot >= 0 and doc.log.values[e.slot] == cid:
                    index = Index.Key(doc.log.keys[<uint32_t>link[2]])
            elif link[1] == LC_OP_INSERT and doc.ckind[parent] == KIND_LIST:
                leaf = doc.seq.locate(make_id(<uint32_t>link[3], <int32_t>cid.counter), &slot)
                s = &doc.seq.nodes[leaf].u.spans[slot]
                if span_visible(s):
                    index = Index.Seq(doc.seq.visible_before(leaf, slot, <int32_t>cid.counter))
        if index is not None:
            up = path_of(doc, parent, cache)
            if up is not None:
                path = up + [PathItem(cid, index)]
    cache[c] = path
    return path


# ---------------------------------------------------------------------------- maps

cdef object map_diff(LoroDoc doc, uint32_t c, list idxs):
    cdef lc_map_entry *e
    cdef uint32_t key
    updated = {}
    for i in idxs:
        key = doc.evlog.notes[<int64_t>i].key
        name = doc.log.keys[key]
        if name in updated:
            continue
        e = lc_map_find(&doc.maps[doc.ctree[c]], key)
        updated[name] = None if e == NULL or e.slot < 0 else wrap_value(doc, doc.log.values[e.slot])
    return Diff.Map(MapDelta(updated)) if updated else None


# ---------------------------------------------------------------------------- sequences

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


cdef int delete_targets(SeqArena seq, uint32_t peer, int32_t start, int32_t end, list out) except -1:
    """Append (target peer, first, end, 0) for the atoms that delete ops [start, end) of
    `peer` removed."""
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
                out.append((r.target.peer, r.target.counter + r.len - (b - r.counter),
                            r.target.counter + r.len - (a - r.counter), 0))
            else:
                out.append((r.target.peer, r.target.counter + (a - r.counter),
                            r.target.counter + (b - r.counter), 0))
        k += 1
    return 0


cdef int touched_pieces(SeqArena seq, uint32_t peer, int32_t a, int32_t b, bint is_new, int kd,
                        list pieces) except -1:
    """Append (absolute index, visible atoms before, inserted?, content, length) for the
    atoms [a, b) of `peer` whose visibility changed in this batch."""
    cdef int32_t c = a, end
    cdef int slot
    cdef uint32_t leaf
    cdef lc_span *s
    cdef bint now, before
    while c < b:
        leaf = seq.locate(make_id(peer, c), &slot)
        s = &seq.nodes[leaf].u.spans[slot]
        end = s.id.counter + s.len
        if end > b:
            end = b
        now = span_visible(s)
        before = not is_new and s.future == 0 and s.deleted == kd
        if now != before:
            pieces.append((seq.abs_index(make_id(peer, c)), seq.visible_before(leaf, slot, c), now,
                           s.content + (c - s.id.counter), end - c))
        c = end
    return 0


cdef object seq_diff(LoroDoc doc, uint32_t c, list idxs):
    cdef SeqArena seq = doc.seq
    cdef lc_ev_note *e
    cdef bint is_text = doc.ckind[c] == KIND_TEXT
    ranges = []
    for i in idxs:
        e = &doc.evlog.notes[<int64_t>i]
        if e.kind == LC_EV_INSERT:
            ranges.append((e.peer, e.counter, e.counter + e.len, 1))
        elif e.kind == LC_EV_DELETE:
            delete_targets(seq, e.peer, e.counter, e.counter + e.len, ranges)
    # cut the ranges into pieces covered alike: new or not, and by how many of this batch's
    # deletes (concurrent deletes of one atom both count in its delete count)
    points = {}
    for p, a, b, new in ranges:
        lst = points.get(p)
        if lst is None:
            points[p] = lst = []
        lst.append((a, new, 1 - new))
        lst.append((b, -new, new - 1))
    pieces = []
    for p, lst in points.items():
        lst.sort()
        cur_new = cur_del = 0
        prev = None
        for x, dn, dd in lst:
            if prev is not None and x > prev and (cur_new or cur_del):
                touched_pieces(seq, p, prev, x, cur_new > 0, cur_del, pieces)
            cur_new += dn
            cur_del += dd
            prev = x
    if not pieces:
        return None
    pieces.sort()
    ops = []
    pos = 0
    for _, vb, ins, content, n in pieces:
        if vb > pos:
            if ops and ops[-1][0] == 0:
                ops[-1][1] += vb - pos
            else:
                ops.append([0, vb - pos])
            pos = vb
        if ins:
            pos += n
            if ops and ops[-1][0] == 1:
                ops[-1][1].append((content, n))
            elif not is_text and ops and ops[-1][0] == 2:
                # lists insert before deleting within one gap (loro's import order)
                if len(ops) >= 2 and ops[-2][0] == 1:
                    ops[-2][1].append((content, n))
                else:
                    ops.insert(len(ops) - 1, [1, [(content, n)]])
            else:
                ops.append([1, [(content, n)]])
        elif ops and ops[-1][0] == 2:
            ops[-1][1] += n
        else:
            ops.append([2, n])
    if is_text:
        return Diff.Text([TextDelta.Retain(op[1]) if op[0] == 0 else TextDelta.Delete(op[1])
                          if op[0] == 2 else TextDelta.Insert(text_of(seq, op[1])) for op in ops])
    values = doc.log.values
    return Diff.List([ListDiffItem.Retain(op[1]) if op[0] == 0 else ListDiffItem.Delete(op[1])
                      if op[0] == 2 else ListDiffItem.Insert(
                          [wrap_value(doc, values[slot]) for content, n in op[1]
                           for slot in range(content, content + n)], False) for op in ops])


cdef str text_of(SeqArena seq, list runs):
    cdef int64_t content, n
    parts = []
    for content, n in runs:
        parts.append(PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &seq.text[content], n))
    return "".join(parts)
