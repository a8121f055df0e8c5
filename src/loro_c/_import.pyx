# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The import pipeline: decoders stage changes (C records, ops straight into the op arena),
then apply_staged() replays every change whose dependencies are met in causal order, each at
its own causal version; the rest wait as pending. A failed import truncates the log back to
where it was and rebuilds the state, so an import is all or nothing."""
from libc.stdlib cimport malloc, free
from libc.string cimport memset, memcpy
from libc.stdint cimport INT32_MAX, uint8_t, uint32_t, int32_t, int64_t, uint64_t
from cpython.unicode cimport PyUnicode_GET_LENGTH

from loro_c._seq cimport lc_id, make_id, grow
from loro_c._oplog cimport (OpLog, lc_op, lc_staged, slice_op, LC_OP_INSERT, LC_OP_DELETE,
                            LC_OP_MAP_SET, LC_OP_MAP_DELETE, LC_OP_COUNTER)
from loro_c._doc cimport (LoroDoc, lc_map_free, KIND_MAP, KIND_LIST, KIND_TEXT, KIND_TREE,
                          KIND_MOVABLE_LIST, KIND_COUNTER, str_to_cps, STACK_CPS)
from loro_c._doc import kind_of_type, _TYPE_NAMES
from loro_c.errors import LoroError, DecodeError
from loro_c import _types

cdef extern from "stdlib.h":
    void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *) noexcept nogil) nogil

ctypedef struct lc_sort_key:
    uint32_t lamport
    uint64_t peer
    int32_t counter
    int64_t idx


cdef int cmp_sort_key(const void *a, const void *b) noexcept nogil:
    """Causal import order: Lamport, then peer id, then counter."""
    cdef const lc_sort_key *x = <const lc_sort_key*>a
    cdef const lc_sort_key *y = <const lc_sort_key*>b
    if x.lamport != y.lamport:
        return -1 if x.lamport < y.lamport else 1
    if x.peer != y.peer:
        return -1 if x.peer < y.peer else 1
    if x.counter != y.counter:
        return -1 if x.counter < y.counter else 1
    return 0


def import_changes(LoroDoc doc, list changes):
    """Import decoded change tuples (see loro_c._json for the layout)."""
    return run_import(doc, changes, None)


def import_blobs(LoroDoc doc, list blobs):
    """Import binary blobs: the codec stages their changes straight into the arenas."""
    return run_import(doc, None, blobs)


cdef object run_import(LoroDoc doc, list changes, list blobs):
    """Stage everything, then apply. All or nothing: on any error the document is left
    exactly as it was and DecodeError is raised."""
    doc._commit()
    cdef OpLog log = doc.log
    cdef int64_t mark_changes = log.n_changes, mark_ops = log.n_ops
    cdef Py_ssize_t mark_values = len(log.values), mark_msgs = len(log.messages)
    cdef int64_t mark_text = doc.seq.text_len, mark_containers = doc.n_containers
    # pending changes sit compacted at the front of the staging arenas; keep a copy so a
    # failed import can put them back exactly (trimming edits them in place)
    cdef int64_t mark_staged = doc.n_staged, mark_sdeps = doc.n_sdeps
    cdef bytes saved_staged = (<char*>doc.staged)[:mark_staged * sizeof(lc_staged)] if mark_staged else b""
    cdef bytes saved_sdeps = (<char*>doc.sdeps)[:mark_sdeps * sizeof(lc_id)] if mark_sdeps else b""
    # container index by id(cid): decoders reuse one ContainerID object per container,
    # and `changes` keeps those objects alive for the whole import
    doc.stage_memo = {}
    doc.n_pending_before = mark_staged
    try:
        if changes is not None:
            for raw in changes:
                stage_tuple(doc, raw)
        else:
            from loro_c import _codec
            _codec.stage_blobs(doc, blobs)
    except Exception as e:
        truncate(doc, mark_changes, mark_ops, mark_values, mark_msgs, mark_text, mark_containers)
        restore_staged(doc, mark_staged, saved_staged, mark_sdeps, saved_sdeps)
        if isinstance(e, (LoroError, MemoryError)):
            raise
        raise DecodeError(f"malformed change: {e}") from e
    try:
        return apply_staged(doc)
    except BaseException as e:
        truncate(doc, mark_changes, mark_ops, mark_values, mark_msgs, mark_text, mark_containers)
        restore_staged(doc, mark_staged, saved_staged, mark_sdeps, saved_sdeps)
        doc.rebuild_state()
        if isinstance(e, (DecodeError, MemoryError, KeyboardInterrupt)):
            raise
        raise DecodeError(f"the update does not fit the document: {e}") from e
    finally:
        doc.stage_memo = None

cdef restore_staged(LoroDoc doc, int64_t n_staged, bytes staged, int64_t n_sdeps, bytes sdeps):
    if n_staged:
        memcpy(doc.staged, <char*>staged, n_staged * sizeof(lc_staged))
    if n_sdeps:
        memcpy(doc.sdeps, <char*>sdeps, n_sdeps * sizeof(lc_id))
    doc.n_staged = n_staged
    doc.n_sdeps = n_sdeps

cdef truncate(LoroDoc doc, int64_t n_changes, int64_t n_ops, Py_ssize_t n_values, Py_ssize_t n_msgs,
              int64_t n_text, int64_t n_containers):
    cdef int64_t i
    doc.log.truncate(n_changes, n_ops)
    del doc.log.values[n_values:]
    del doc.log.messages[n_msgs:]
    doc.seq.truncate_text(n_text)
    for i in range(n_containers, doc.n_containers):
        cid = doc.cids[i]
        del doc.cid_index[cid]
        if isinstance(cid, _types.ContainerID.Root):
            del doc.cid_by_key[(cid.name, doc.ckind[i])]
        else:
            del doc.cid_by_key[(cid.peer, cid.counter, doc.ckind[i])]
    del doc.cids[n_containers:]
    # maps are numbered in container order: drop the tables of the containers cut off
    cdef int64_t n_maps = 0
    for i in range(n_containers):
        if doc.ckind[i] == KIND_MAP:
            n_maps += 1
    for i in range(n_maps, doc.n_maps):
        lc_map_free(&doc.maps[i])
    doc.n_maps = n_maps
    doc.roots = [r for r in doc.roots if r < n_containers]
    doc.n_containers = n_containers

# The staging API: decoders open a change, add its deps and ops, and close it. Ops go
# straight into the op arena; nothing is applied until apply_staged().

cdef int64_t stage_begin(LoroDoc doc, uint64_t peer, int32_t counter, int64_t lamport,
                         int64_t timestamp, int64_t n_deps) except -2:
    """Open a staged change; -1 when that change is already pending (skip its ops)."""
    cdef OpLog log = doc.log
    cdef uint32_t p = log.peer_index(peer)
    cdef int64_t i
    cdef lc_staged *st
    if counter < 0:
        raise DecodeError(f"change {counter}@{peer} has a negative counter")
    if not 0 <= lamport <= 0xFFFFFFFF:
        raise DecodeError(f"lamport {lamport} of change {counter}@{peer} is out of range")
    # a change already pending is not staged twice (duplicates inside one batch are
    # dropped later, as known, once the first copy has applied)
    for i in range(doc.n_pending_before):
        if doc.staged[i].peer == p and doc.staged[i].counter == counter:
            return -1
    if doc.n_staged == doc.cap_staged:
        doc.staged = <lc_staged*>grow(doc.staged, &doc.cap_staged, doc.n_staged + 1, sizeof(lc_staged))
    if n_deps < 0 or n_deps > 0xFFFFFF:
        raise DecodeError(f"change {counter}@{peer} claims {n_deps} dependencies")
    if doc.n_sdeps + n_deps > doc.cap_sdeps:
        doc.sdeps = <lc_id*>grow(doc.sdeps, &doc.cap_sdeps, doc.n_sdeps + n_deps, sizeof(lc_id))
    st = &doc.staged[doc.n_staged]
    memset(st, 0, sizeof(lc_staged))
    st.sort_peer = peer
    st.peer = p
    st.counter = counter
    st.end = counter
    st.lamport = <uint32_t>lamport
    st.timestamp = timestamp
    st.msg = -1
    st.deps_off = doc.n_sdeps
    st.ops_off = log.n_ops
    return doc.n_staged

cdef int stage_dep(LoroDoc doc, uint64_t peer, int32_t counter) except -1:
    """Add a dependency to the open change (capacity was reserved by stage_begin)."""
    if counter < 0:
        raise DecodeError(f"dependency counter {counter} is out of range")
    cdef lc_staged *st = &doc.staged[doc.n_staged]
    doc.sdeps[st.deps_off + st.deps_len] = make_id(doc.log.peer_index(peer), counter)
    st.deps_len += 1
    doc.n_sdeps = st.deps_off + st.deps_len
    return 0

cdef uint32_t stage_container(LoroDoc doc, object cid, uint32_t op_kind) except? 0xFFFFFFFF:
    """The container index for an op of `op_kind` on `cid`, checking the kinds agree."""
    memo = doc.stage_memo.get(id(cid))
    if memo is not None:
        c = (<tuple>memo)[0]
        ckind = (<tuple>memo)[1]
    else:
        ckind = kind_of_type(cid.container_type)
        if ckind == KIND_TREE or ckind == KIND_MOVABLE_LIST:
            raise DecodeError(f"{_TYPE_NAMES[ckind]} containers are not supported by loro_c yet")
        c = doc.container_index(cid, ckind)
        doc.stage_memo[id(cid)] = (c, ckind)
    if op_kind == LC_OP_INSERT or op_kind == LC_OP_DELETE:
        if ckind != KIND_TEXT and ckind != KIND_LIST:
            raise DecodeError(f"a sequence op targets {cid}")
    elif op_kind == LC_OP_MAP_SET or op_kind == LC_OP_MAP_DELETE:
        if ckind != KIND_MAP:
            raise DecodeError(f"a map op targets {cid}")
    elif op_kind == LC_OP_COUNTER:
        if ckind != KIND_COUNTER:
            raise DecodeError(f"a counter op targets {cid}")
    else:
        raise DecodeError(f"unknown op kind {op_kind}")
    return c

cdef lc_op* stage_op(LoroDoc doc, uint32_t c, uint32_t kind, int32_t counter, int64_t n) except NULL:
    """Append an op of `n` atoms to the open change; its counter must continue the
    change's. The caller fills the kind-specific fields."""
    cdef lc_staged *st = &doc.staged[doc.n_staged]
    if counter != st.end:
        raise DecodeError(f"op counter {counter} of change {st.counter}@{doc.log.peer_ids[st.peer]} "
                          f"does not follow {st.end}")
    if n <= 0 or <int64_t>counter + n > INT32_MAX:
        raise DecodeError(f"op {counter}@{doc.log.peer_ids[st.peer]} has a bad length {n}")
    cdef lc_op *op = doc.log.push_op()
    op.container = c
    op.kind = kind
    op.counter = counter
    op.len = <int32_t>n
    st.end = <int32_t>(counter + n)
    return op

cdef int stage_end(LoroDoc doc, object msg) except -1:
    """Close the open change: keep it, or drop it when it is already known."""
    cdef OpLog log = doc.log
    cdef lc_staged *st = &doc.staged[doc.n_staged]
    st.ops_len = <uint32_t>(log.n_ops - st.ops_off)
    if st.ops_len == 0:
        raise DecodeError(f"change {st.counter}@{log.peer_ids[st.peer]} has no ops")
    if st.end <= log.vv[st.peer]:
        log.n_ops = st.ops_off
        doc.n_sdeps = st.deps_off
        return 0
    if msg is not None:
        st.msg = len(log.messages)
        log.messages.append(msg)
    doc.n_staged += 1
    return 0

cdef object stage_tuple(LoroDoc doc, tuple raw):
    """Stage one decoded change tuple (the JSON decoder's output)."""
    cdef OpLog log = doc.log
    peer, counter, lamport, timestamp, msg, deps, ops = raw
    cdef lc_op *op
    cdef uint32_t kind, c
    cdef Py_ssize_t n
    cdef uint32_t stack[STACK_CPS]
    cdef uint32_t *cps
    if stage_begin(doc, peer, counter, lamport, timestamp, len(deps)) < 0:
        return None
    for dp, dc in deps:
        stage_dep(doc, dp, dc)
    for o in ops:
        kind = o[0]
        c = stage_container(doc, o[1], kind)
        if kind == LC_OP_INSERT:
            content = o[4]
            if doc.ckind[c] == KIND_TEXT:
                if not isinstance(content, str):
                    raise DecodeError("a text insert needs a string")
                n = PyUnicode_GET_LENGTH(content)
                op = stage_op(doc, c, kind, o[2], n)
                cps = str_to_cps(content, stack, n)
                try:
                    op.arg = doc.seq.append_text(cps, n)
                finally:
                    if cps != stack:
                        free(cps)
            else:
                if not isinstance(content, list):
                    raise DecodeError("a list insert needs a list of values")
                op = stage_op(doc, c, kind, o[2], len(content))
                op.arg = len(log.values)
                for i, v in enumerate(content):
                    stage_value(doc, v, peer, o[2] + i)
                log.values.extend(content)
            op.pos = o[3]
        elif kind == LC_OP_DELETE:
            if o[4] == 0 or not -INT32_MAX <= o[4] <= INT32_MAX:
                raise DecodeError(f"bad delete length {o[4]}")
            op = stage_op(doc, c, kind, o[2], abs(o[4]))
            op.pos = o[3]
            op.arg = o[4]
            op.start_id = make_id(log.peer_index(o[5]), o[6])
        elif kind == LC_OP_MAP_SET:
            op = stage_op(doc, c, kind, o[2], 1)
            op.pos = log.key_index(o[3])
            stage_value(doc, o[4], peer, o[2])
            op.arg = len(log.values)
            log.values.append(o[4])
        elif kind == LC_OP_MAP_DELETE:
            op = stage_op(doc, c, kind, o[2], 1)
            op.pos = log.key_index(o[3])
            op.arg = -1
        else:
            op = stage_op(doc, c, kind, o[2], 1)
            op.delta = o[3]
    stage_end(doc, msg)
    return None

cdef stage_value(LoroDoc doc, v, peer, counter):
    """A container value must name the container its op creates."""
    if isinstance(v, _types.ContainerID):
        if (not isinstance(v, _types.ContainerID.Normal) or v.peer != peer
                or v.counter != counter):
            raise DecodeError(f"a created child container must be {counter}@{peer}, not {v}")
        doc.container_index(v, kind_of_type(v.container_type))

cdef object apply_staged(LoroDoc doc):
    """Apply every staged change whose dependencies are met, in causal order (sorted by
    the sender's Lamport, then peer, then counter, and retried until nothing more
    applies); the rest stay pending. Returns the ImportStatus."""
    cdef OpLog log = doc.log
    cdef int64_t n = doc.n_staged, i, k, kept
    cdef lc_sort_key *keys = <lc_sort_key*>malloc((n + 1) * sizeof(lc_sort_key))
    cdef uint8_t *done = <uint8_t*>malloc(n + 1)
    cdef int32_t *lo = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    cdef int32_t *hi = <int32_t*>malloc((log.n_peers + 1) * sizeof(int32_t))
    cdef bint progress = True
    cdef int state
    cdef lc_staged *st
    if keys == NULL or done == NULL or lo == NULL or hi == NULL:
        free(keys); free(done); free(lo); free(hi)
        raise MemoryError()
    try:
        for i in range(n):
            keys[i].lamport = doc.staged[i].lamport
            keys[i].peer = doc.staged[i].sort_peer
            keys[i].counter = doc.staged[i].counter
            keys[i].idx = i
            done[i] = 0
        qsort(keys, n, sizeof(lc_sort_key), cmp_sort_key)
        for i in range(log.n_peers):
            lo[i] = INT32_MAX
            hi[i] = 0
        doc.ensure_tvv()
        while progress:
            progress = False
            for i in range(n):
                k = keys[i].idx
                if done[k]:
                    continue
                state = ready(doc, k)
                if state == 0:
                    continue
                done[k] = 1
                if state == 1:
                    st = &doc.staged[k]
                    if st.counter < lo[st.peer]:
                        lo[st.peer] = st.counter
                    if st.end > hi[st.peer]:
                        hi[st.peer] = st.end
                    apply_one(doc, k)
                    progress = True
        doc.move_tracker_to_head()
        # keep only the still-pending changes, compacted at the front
        kept = 0
        pend = {}
        for i in range(n):
            if done[i]:
                continue
            st = &doc.staged[i]
            pid = log.peer_ids[st.peer]
            old = pend.get(pid)
            pend[pid] = (st.counter if old is None else min(old[0], st.counter),
                         st.end if old is None else max(old[1], st.end))
            doc.staged[kept] = st[0]
            kept += 1
        doc.n_staged = kept
        if kept == 0:
            doc.n_sdeps = 0
        success = {log.peer_ids[i]: (lo[i], hi[i]) for i in range(log.n_peers) if hi[i] > 0}
        return _types.ImportStatus(_types.VersionRange.from_map(success),
                                   _types.VersionRange.from_map(pend) if pend else None)
    finally:
        free(keys)
        free(done)
        free(lo)
        free(hi)

cdef int ready(LoroDoc doc, int64_t k) except -1:
    """0: wait, 1: apply now, 2: drop (already known). Trims a partly known change."""
    cdef OpLog log = doc.log
    cdef lc_staged *st = &doc.staged[k]
    cdef int32_t known = log.vv[st.peer]
    cdef int64_t i
    cdef lc_op *op
    if st.end <= known:
        return 2
    if st.counter > known:
        return 0
    for i in range(st.deps_off, st.deps_off + st.deps_len):
        if not log.includes(doc.sdeps[i]):
            return 0
    if st.counter < known:
        # drop the known prefix: whole ops, then a slice of the op that straddles `known`
        i = st.ops_off
        while log.ops[i].counter + log.ops[i].len <= known:
            i += 1
        op = &log.ops[i]
        if known > op.counter:
            slice_op(op, known - op.counter)
        st.ops_len -= <uint32_t>(i - st.ops_off)
        st.ops_off = i
        st.counter = known
        # the rest depends on the known prefix only
        if doc.n_sdeps == doc.cap_sdeps:
            doc.sdeps = <lc_id*>grow(doc.sdeps, &doc.cap_sdeps, doc.n_sdeps + 1, sizeof(lc_id))
            st = &doc.staged[k]
        doc.sdeps[doc.n_sdeps] = make_id(st.peer, known - 1)
        st.deps_off = doc.n_sdeps
        st.deps_len = 1
        doc.n_sdeps += 1
    return 1

cdef int apply_one(LoroDoc doc, int64_t k) except -1:
    """Integrate staged change k (its dependencies are in the log) and log it."""
    cdef OpLog log = doc.log
    cdef lc_staged st = doc.staged[k]
    cdef const lc_id *deps = &doc.sdeps[st.deps_off]
    cdef uint32_t lamport = 0, lp
    cdef uint32_t i
    for i in range(st.deps_len):
        lp = log.lamport_of(deps[i]) + 1
        if lp > lamport:
            lamport = lp
    doc.move_tracker_to_change(deps, st.deps_len, st.peer, st.counter)
    doc.apply_change_ops(st.ops_off, st.ops_len, st.peer, st.counter, lamport)
    msg = log.messages[st.msg] if st.msg >= 0 else None
    if log.can_extend(st.peer, st.counter, lamport, st.timestamp, deps, st.deps_len, st.ops_off, msg):
        # like loro, a change continuing the peer's last one joins it
        log.extend_last_change(st.end, st.ops_len)
    else:
        log.add_change(st.peer, st.counter, st.end, lamport, st.timestamp, deps, st.deps_len,
                       st.ops_off, st.ops_len, st.msg)
    log.update_frontiers(deps, st.deps_len, make_id(st.peer, st.end - 1))
    return 0

