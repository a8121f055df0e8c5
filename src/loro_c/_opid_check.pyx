# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Refusing an import whose already-known part is different history (reused op ids).

Two documents that share a peer id write different ops under the same op ids. An import
skips the part of each change the document already has (by version vector) and applies the
rest on top of the local history; when that known part is not what the document has, the
rest lands on a state it was not written against and the merge is garbage. loro 1.17.1
refuses such an import ("Every op id should be unique. ID c@p has been used"); so does
loro_c, with the same decision (probed on loro 1.17.1):

* the known part is compared only when the import (in a batch: the blob) brings something
  new; a blob made only of known changes is a no-op, and a duplicate delivery is normal;
* compared, atom by atom: the op's container and content (text, values, map key and
  value, positions, delete targets, counter delta, marks, moves, tree moves) and each
  atom's deps (a change's deps at its start, the previous atom inside it); not the
  Lamport, the timestamp, the message, nor where either side cut its changes or ops;
* history before a shallow root is not held, so not compared;
* import_batch imports blob by blob: a blob's known part is compared with the document
  and with the blobs before it.

The decoders call in op by op while they decode the known part anyway (they must check
it is well formed), with the fields they decoded: the document side is read from the op
arena in place. Nothing runs for the new part of an import beyond one test per op.
"""
from libc.stdint cimport INT32_MAX, uint32_t, int32_t, int64_t, uint64_t
from cpython.unicode cimport PyUnicode_READ_CHAR
from cpython.bytes cimport PyBytes_GET_SIZE, PyBytes_AS_STRING
from libc.string cimport memcmp

from loro_c._seq cimport lc_id
from loro_c._oplog cimport (OpLog, lc_op, lc_change, lc_staged, LC_STAGED_DEAD, LC_OP_INSERT,
                            LC_OP_DELETE, LC_OP_MAP_SET, LC_OP_MAP_DELETE, LC_OP_COUNTER)
from loro_c._kinds cimport (LC_OP_MOVE, LC_OP_SET, LC_OP_MARK_START, LC_OP_MARK_END, LC_OP_TREE,
                            LC_TREE_PARENT_ROOT, LC_TREE_PARENT_DELETED, KIND_TEXT)
from loro_c._doc cimport LoroDoc
from loro_c._version import ID
from loro_c.errors import UsedOpIdError

cdef enum:
    NOT_HELD = 0xFFFFFFFF       # a key the document does not have
    NO_PEER = 0xFFFFFFFF


cdef KnownCheck known_check_new(LoroDoc doc):
    cdef KnownCheck k = KnownCheck.__new__(KnownCheck)
    k.doc = doc
    k.log = doc.log
    k.staged_lo = k.blob_staged = doc.n_staged
    k.peer = NO_PEER
    return k


cdef inline int note_bad(KnownCheck k, int64_t ctr) except -1:
    if not k.bad:
        k.bad = True
        k.bad_peer = k.log.peer_ids[k.peer]
        k.bad_counter = ctr
    return 0


cdef uint32_t known_peer_index(KnownCheck k, uint64_t peer) except? 0xFFFFFFFF:
    """The document's index of `peer` without registering it (NOT_HELD_PEER: it has none,
    which no op names)."""
    found = k.log.peer_map.get(peer)
    return NOT_HELD_PEER if found is None else <uint32_t>found


cdef inline uint32_t key_of(KnownCheck k, object key) except? NOT_HELD:
    cdef int64_t found = k.log.key_find(key)
    return NOT_HELD if found < 0 else <uint32_t>found


cdef uint32_t known_container(KnownCheck k, object cid) except? 0xFFFFFFFF:
    """The document's index of container `cid` without registering it (a container the
    document lacks cannot hold the known op: NOT_HELD_CID compares unequal)."""
    found = k.doc.cid_index.get(cid)
    return NOT_HELD_CID if found is None else <uint32_t>found


cdef bint same_value(object a, object b) except -1:
    """LoroValue equality: the same kind and value (1 is not 1.0 nor True; a NaN equals a
    NaN, as probed)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return a == b or (a != a and b != b)
    if type(a) is list:
        if len(<list>a) != len(<list>b):
            return False
        for x, y in zip(<list>a, <list>b):
            if not same_value(x, y):
                return False
        return True
    if type(a) is dict:
        if (<dict>a).keys() != (<dict>b).keys():
            return False
        for key in <dict>a:
            if not same_value((<dict>a)[key], (<dict>b)[key]):
                return False
        return True
    return a == b


cdef inline bint same_bytes(object a, object b) except -1:
    if type(a) is bytes and type(b) is bytes:
        return (PyBytes_GET_SIZE(a) == PyBytes_GET_SIZE(b)
                and memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), PyBytes_GET_SIZE(a)) == 0)
    return a == b


# -- the document's side ----------------------------------------------------------------------

cdef int64_t staged_record(KnownCheck k, int64_t ctr) noexcept:
    """The record an earlier blob of this batch staged holding atom `ctr` of the current
    peer, or -1."""
    cdef LoroDoc doc = k.doc
    cdef lc_staged *st
    cdef int64_t i
    for i in range(k.blob_staged - 1, k.staged_lo - 1, -1):
        st = &doc.staged[i]
        if (st.peer == k.peer and st.counter <= ctr < st.end
                and not (st.flags & LC_STAGED_DEAD)):
            return i
    return -1


cdef const lc_op* held_op(KnownCheck k, int64_t ctr) noexcept:
    """The document's op holding atom `ctr` of the current peer (its log, or a record of an
    earlier blob of the batch), or NULL where it holds none (before a shallow root)."""
    cdef OpLog log = k.log
    cdef const lc_op *o
    cdef int64_t ch, i
    if k.cur_lo <= k.cur_op < k.cur_hi:
        o = &log.ops[k.cur_op]
        if o.counter <= ctr < <int64_t>o.counter + o.len:
            return o
        if k.cur_op + 1 < k.cur_hi:
            o = &log.ops[k.cur_op + 1]
            if o.counter <= ctr < <int64_t>o.counter + o.len:
                k.cur_op += 1
                return o
    k.cur_lo = k.cur_hi = 0
    if ctr < log.vv[k.peer]:
        ch = log.find_change(k.peer, <int32_t>ctr)
        if ch < 0:
            return NULL
        k.cur_lo = log.changes[ch].ops_off
        k.cur_hi = k.cur_lo + log.changes[ch].ops_len
        k.cur_op = log.find_op(ch, <int32_t>ctr)
    else:
        ch = staged_record(k, ctr)
        if ch < 0:
            return NULL
        k.cur_lo = k.doc.staged[ch].ops_off
        k.cur_hi = k.cur_lo + k.doc.staged[ch].ops_len
        k.cur_op = k.cur_lo
        while k.cur_op < k.cur_hi and log.ops[k.cur_op].counter + log.ops[k.cur_op].len <= ctr:
            k.cur_op += 1
    if k.cur_op >= k.cur_hi:
        return NULL
    o = &log.ops[k.cur_op]
    return o if o.counter <= ctr else NULL


cdef const lc_op* held_run(KnownCheck k, int64_t at, int64_t end, int64_t *off,
                          int64_t *m) noexcept:
    """held_op for atom `at`, with `off` that op's atom there and `m` its atoms from there
    up to `end`."""
    cdef const lc_op *o = held_op(k, at)
    if o != NULL:
        off[0] = at - o.counter
        m[0] = <int64_t>o.counter + o.len - at
        if m[0] > end - at:
            m[0] = end - at
    return o


cdef bint doc_change_at(KnownCheck k, int64_t ctr, int64_t *start, int64_t *end,
                        const lc_id **deps, int64_t *n_deps) noexcept:
    """The document's change (or earlier blob's record) holding atom `ctr`: its range and
    deps. False when it holds none."""
    cdef OpLog log = k.log
    cdef int64_t ch
    cdef lc_change *c
    cdef lc_staged *st
    if ctr < log.vv[k.peer]:
        ch = log.find_change(k.peer, <int32_t>ctr)
        if ch < 0:
            return False
        c = &log.changes[ch]
        start[0], end[0] = c.counter, c.end
        deps[0] = &log.deps[c.deps_off]
        n_deps[0] = c.deps_len
        return True
    ch = staged_record(k, ctr)
    if ch < 0:
        return False
    st = &k.doc.staged[ch]
    start[0], end[0] = st.counter, st.end
    deps[0] = &k.doc.sdeps[st.deps_off]
    n_deps[0] = st.deps_len
    return True


cdef int64_t known_end_of(KnownCheck k, uint32_t p) except -1:
    cdef int64_t e = k.log.vv[p]
    if k.batch_end is not None:
        found = k.batch_end.get(p)
        if found is not None and <int64_t>found > e:
            e = found
    return e


cdef int64_t known_end_for_peer(KnownCheck k, uint64_t peer) except -1:
    """The end of what the document (with the batch's earlier blobs) has of `peer`."""
    cdef uint32_t p = known_peer_index(k, peer)
    return 0 if p == NOT_HELD_PEER else known_end_of(k, p)


# -- opening a change -------------------------------------------------------------------------

cdef int64_t known_open(KnownCheck k, uint64_t peer, int64_t counter, int64_t end,
                        list deps) except -2:
    """Begin comparing a change of the import that covers [counter, end): compares its deps
    with the document's where either side starts a change, and returns the end of the
    part the document has (counter or less: nothing to compare; its ops are then not
    passed in)."""
    cdef uint32_t p
    cdef int64_t hi, lo = counter, s, ds, de, nd
    cdef const lc_id *dd
    k.peer = NO_PEER
    k.cmp_end = -1
    if k.idle:
        return -1
    p = known_peer_index(k, peer)
    if p == NOT_HELD_PEER:
        k.blob_new = True
        return -1
    hi = known_end_of(k, p)
    if hi < end:
        k.blob_new = True
    if hi <= counter or k.bad:      # (the first conflict is the one reported)
        return -1
    if hi > end:
        hi = end
    if k.doc.shallow_sv is not None:
        # history before the shallow root is not held: compared from the root on
        floor = k.doc.shallow_sv.get(peer)
        if floor is not None and <int64_t>floor > lo:
            lo = floor
            if lo >= hi:
                return -1
    k.peer = p
    k.cmp_end = hi
    k.cur_lo = k.cur_hi = 0
    # the deps of each atom where either side starts a change (inside a change, an atom's
    # dep is the atom before it)
    s = lo
    while s < hi:
        if not doc_change_at(k, s, &ds, &de, &dd, &nd):
            break
        if s == counter or ds == s:
            if not same_deps(k, peer, s, deps if s == counter else None, ds == s, dd, nd):
                note_bad(k, s)
                break
        s = de
    return hi


cdef bint same_deps(KnownCheck k, uint64_t peer, int64_t ctr, list mine, bint theirs_start,
                    const lc_id *theirs, int64_t n_theirs) except -1:
    """Whether atom `ctr`'s deps agree: `mine` the import's (None: the atom before), and
    the document's `theirs` where its change starts there (else the atom before)."""
    cdef OpLog log = k.log
    cdef int64_t i
    if mine is not None and len(mine) == 1:
        d = mine[0]
        if d[0] == peer and d[1] == ctr - 1:
            mine = None
    if theirs_start and n_theirs == 1 and theirs[0].peer == k.peer and theirs[0].counter == ctr - 1:
        theirs_start = False
    if mine is None or not theirs_start:
        return mine is None and not theirs_start
    return set([tuple(d) for d in mine]) == set([(log.peer_ids[theirs[i].peer], theirs[i].counter)
                                                  for i in range(n_theirs)])


# -- the ops ----------------------------------------------------------------------------------

cdef int known_insert(KnownCheck k, int64_t ctr, int64_t n, uint32_t c, int64_t pos,
                      const uint32_t *cps, object content) except -1:
    """A Text insert (its code points `cps`, or `content` a str) or a List/MovableList
    insert (`content` its list of values) of `n` atoms at `pos`, first atom `ctr`."""
    cdef OpLog log = k.log
    cdef const lc_op *o
    cdef int64_t at = ctr, end = ctr + n, off, m, j, x
    cdef bint text = cps != NULL or type(content) is str
    cdef const uint32_t *dtext
    if end > k.cmp_end:
        end = k.cmp_end
    while at < end:
        o = held_run(k, at, end, &off, &m)
        if o == NULL:
            return 0
        x = at - ctr                # the import op's atom
        if (o.kind != LC_OP_INSERT or o.container != c or o.pos + off != pos + x
                or (k.doc.ckind[c] == KIND_TEXT) != text):
            return note_bad(k, at)
        if text:
            dtext = &k.doc.seq.text[o.arg + off]
            for j in range(m):
                if dtext[j] != (cps[x + j] if cps != NULL
                                else <uint32_t>PyUnicode_READ_CHAR(content, x + j)):
                    return note_bad(k, at + j)
        else:
            for j in range(m):
                if not same_value((<list>content)[x + j], log.values[o.arg + off + j]):
                    return note_bad(k, at + j)
        at += m
    return 0


cdef int known_delete(KnownCheck k, int64_t ctr, int64_t n, uint32_t c, int64_t pos,
                      int64_t signed_len, uint32_t target_peer, int64_t target_ctr) except -1:
    """A sequence delete of `n` atoms: atom i of a forward one (signed_len > 0) removes
    target_ctr + i at pos; of a backward one, target_ctr + n - 1 - i at pos - i."""
    cdef const lc_op *o
    cdef int64_t at = ctr, end = ctr + n, off, m, j, x, dn, mine_pos, mine_t
    if end > k.cmp_end:
        end = k.cmp_end
    while at < end:
        o = held_run(k, at, end, &off, &m)
        if o == NULL:
            return 0
        x = at - ctr                # the import op's atom
        if o.kind != LC_OP_DELETE or o.container != c or o.start_id.peer != target_peer:
            return note_bad(k, at)
        dn = o.len
        for j in range(m):
            if signed_len > 0:
                mine_pos, mine_t = pos, target_ctr + x + j
            else:
                mine_pos, mine_t = pos - (x + j), target_ctr + n - 1 - (x + j)
            if o.arg > 0:
                if mine_pos != o.pos or mine_t != o.start_id.counter + off + j:
                    return note_bad(k, at + j)
            elif (mine_pos != o.pos - (off + j)
                    or mine_t != o.start_id.counter + dn - 1 - (off + j)):
                return note_bad(k, at + j)
        at += m
    return 0


cdef const lc_op* held_single(KnownCheck k, int64_t ctr, uint32_t c, uint32_t kind) except? NULL:
    """The document's one-atom op at `ctr` when it has the same container and kind; NULL
    (the conflict noted) when it has another, or none to compare."""
    cdef const lc_op *o
    if ctr >= k.cmp_end:
        return NULL
    o = held_op(k, ctr)
    if o == NULL:
        return NULL
    if o.kind != kind or o.container != c:
        note_bad(k, ctr)
        return NULL
    return o


cdef int known_map(KnownCheck k, int64_t ctr, uint32_t c, object key, object value,
                   bint is_delete) except -1:
    cdef const lc_op *o = held_single(k, ctr, c, LC_OP_MAP_DELETE if is_delete else LC_OP_MAP_SET)
    if o != NULL and (o.pos != key_of(k, key)
                      or not (is_delete or same_value(value, k.log.values[o.arg]))):
        note_bad(k, ctr)
    return 0


cdef int known_counter(KnownCheck k, int64_t ctr, uint32_t c, double delta) except -1:
    cdef const lc_op *o = held_single(k, ctr, c, LC_OP_COUNTER)
    if o != NULL and not (o.delta == delta or (o.delta != o.delta and delta != delta)):
        note_bad(k, ctr)
    return 0


cdef int known_mark(KnownCheck k, int64_t ctr, uint32_t c, bint is_end, int64_t start,
                    int64_t end, object key, object value, int64_t info) except -1:
    cdef const lc_op *o = held_single(k, ctr, c, LC_OP_MARK_END if is_end else LC_OP_MARK_START)
    if o != NULL and not is_end and (
            o.pos != start or o.start_id.counter != end or o.start_id.peer != key_of(k, key)
            or <int64_t>o.delta != info or not same_value(value, k.log.values[o.arg])):
        note_bad(k, ctr)
    return 0


cdef int known_move(KnownCheck k, int64_t ctr, uint32_t c, int64_t from_pos, int64_t to_pos,
                    uint32_t elem_peer, int64_t elem_lamport) except -1:
    cdef const lc_op *o = held_single(k, ctr, c, LC_OP_MOVE)
    if o != NULL and (<int64_t>o.delta != from_pos or o.pos != to_pos
                      or o.start_id.peer != elem_peer
                      or <uint32_t>o.start_id.counter != elem_lamport):
        note_bad(k, ctr)
    return 0


cdef int known_set(KnownCheck k, int64_t ctr, uint32_t c, uint32_t elem_peer,
                   int64_t elem_lamport, object value) except -1:
    cdef const lc_op *o = held_single(k, ctr, c, LC_OP_SET)
    if o != NULL and (o.start_id.peer != elem_peer
                      or <uint32_t>o.start_id.counter != elem_lamport
                      or not same_value(value, k.log.values[o.arg])):
        note_bad(k, ctr)
    return 0


cdef int known_tree(KnownCheck k, int64_t ctr, uint32_t c, uint32_t target_peer,
                    int64_t target_ctr, int64_t parent, int64_t parent_ctr, object fi) except -1:
    """A tree op: its target node, its parent as the op arena holds it (LC_TREE_PARENT_ROOT,
    LC_TREE_PARENT_DELETED, or the parent's peer index with `parent_ctr`) and its
    fractional index bytes (a delete has none)."""
    cdef const lc_op *o = held_single(k, ctr, c, LC_OP_TREE)
    if o == NULL:
        return 0
    if (o.start_id.peer != target_peer or o.start_id.counter != target_ctr or o.pos != parent
            or (parent >= 0 and <int32_t>o.delta != parent_ctr)):
        return note_bad(k, ctr)
    if parent != LC_TREE_PARENT_DELETED and not same_bytes(k.log.values[o.arg], fi):
        return note_bad(k, ctr)
    return 0


# -- decoded change tuples (JSON updates; a snapshot into a document with history) ------------

cdef int known_tuple(KnownCheck k, tuple raw) except -1:
    """Compare the known part of a change tuple ``(peer, counter, lamport, timestamp, msg,
    deps, ops)`` (layout in codec/json.py)."""
    peer, counter, _, _, _, deps, ops = raw
    cdef int64_t ctr = counter, n, end = counter
    cdef uint32_t c
    for o in ops:
        kind = o[0]
        end += len(o[4]) if kind == LC_OP_INSERT else abs(o[4]) if kind == LC_OP_DELETE else 1
    if known_open(k, peer, counter, end, list(deps)) < 0:
        return 0
    for o in ops:
        if k.bad or ctr >= k.cmp_end:
            break
        kind = o[0]
        c = known_container(k, o[1])
        if kind == LC_OP_INSERT:
            n = len(o[4])
            known_insert(k, ctr, n, c, o[3], NULL, o[4])
        elif kind == LC_OP_DELETE:
            n = abs(o[4])
            known_delete(k, ctr, n, c, o[3], o[4], known_peer_index(k, o[5]), o[6])
        else:
            n = 1
            if kind == LC_OP_MAP_SET:
                known_map(k, ctr, c, o[3], o[4], False)
            elif kind == LC_OP_MAP_DELETE:
                known_map(k, ctr, c, o[3], None, True)
            elif kind == LC_OP_MARK_START:
                known_mark(k, ctr, c, False, o[3], o[4], o[5], o[6], o[7])
            elif kind == LC_OP_MARK_END:
                known_mark(k, ctr, c, True, 0, 0, None, None, 0)
            elif kind == LC_OP_MOVE:
                known_move(k, ctr, c, o[3], o[4], known_peer_index(k, o[5]), o[6])
            elif kind == LC_OP_SET:
                known_set(k, ctr, c, known_peer_index(k, o[3]), o[4], o[5])
            elif kind == LC_OP_TREE:
                parent = o[5]
                if parent is None:
                    known_tree(k, ctr, c, known_peer_index(k, o[3]), o[4], LC_TREE_PARENT_ROOT, 0, o[6])
                elif type(parent) is str:
                    known_tree(k, ctr, c, known_peer_index(k, o[3]), o[4], LC_TREE_PARENT_DELETED, 0, o[6])
                else:
                    known_tree(k, ctr, c, known_peer_index(k, o[3]), o[4],
                               known_peer_index(k, parent[0]), parent[1], o[6])
            else:
                known_counter(k, ctr, c, o[3])
        ctr += n
    return 0


# -- the decision, blob by blob ---------------------------------------------------------------

cdef int known_blob_end(KnownCheck k, bint batch) except -1:
    """After a blob is staged: refuse it when it brought something new (a change or part
    of one the document, with the blobs before it, lacks) on top of a known part that
    differs. In a batch, what its
    changes continue becomes known to the next blob (loro imports it first)."""
    cdef LoroDoc doc = k.doc
    cdef lc_staged *st
    cdef int64_t i
    cdef bint grew
    if k.bad and k.blob_new:
        raise UsedOpIdError(
            f"Every op id should be unique. ID {k.bad_counter}@{k.bad_peer} has been used. "
            f"You should use a new PeerID to edit the content.", ID(k.bad_peer, k.bad_counter))
    k.bad = k.blob_new = k.idle = False
    if batch:
        if k.batch_end is None:
            k.batch_end = {}
        grew = True
        while grew:
            grew = False
            for i in range(k.blob_staged, doc.n_staged):
                st = &doc.staged[i]
                if st.flags & LC_STAGED_DEAD:
                    continue
                if st.counter <= known_end_of(k, st.peer) < st.end:
                    k.batch_end[st.peer] = st.end
                    grew = True
    k.blob_staged = doc.n_staged
    return 0
