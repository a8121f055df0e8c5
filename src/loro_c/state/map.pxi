# Map state: a last-writer-wins table per map (map.h; `d.maps[d.ctree[c]]`) from key index
# to the winning (Lamport, peer) and value slot (-1: deleted). While an import applies,
# every write is journaled (journal_map_entry) so a rejected import can be undone in place.


cdef int map_state_init(LoroDoc d, uint32_t c) except -1:
    if d.n_maps == d.cap_maps:
        d.maps = <lc_map*>grow(d.maps, &d.cap_maps, d.n_maps + 1, sizeof(lc_map))
    memset(&d.maps[d.n_maps], 0, sizeof(lc_map))
    d.ctree[c] = <uint32_t>d.n_maps
    d.n_maps += 1
    return 0


cdef int map_state_reset(LoroDoc d, uint32_t c) except -1:
    lc_map_free(&d.maps[d.ctree[c]])
    return 0


cdef int map_apply(LoroDoc d, uint32_t c, uint32_t key, uint32_t lamport, uint32_t peer, int64_t slot) except -1 nogil:
    """Last writer wins by (lamport, peer id); slot -1 is a delete."""
    cdef lc_map *m = &d.maps[d.ctree[c]]
    cdef lc_map_entry *e
    if d.journal_on:
        journal_map_entry(d, d.ctree[c], key)
    e = lc_map_upsert(m, key)
    if e == NULL:
        with gil:
            raise MemoryError()
    if (e.peer == LC_NO_KEY or lamport > e.lamport
            or (lamport == e.lamport and d.log.peer_ids[peer] > d.log.peer_ids[e.peer])):
        if d.evlog.on:
            ev_note(d, c, LC_EV_MAP, peer, 0, 1, key, 0.0, -2 if e.peer == LC_NO_KEY else e.slot)
        e.lamport = lamport
        e.peer = peer
        lc_map_set_slot(m, e, slot)
    return 0


cdef int journal_map_entry(LoroDoc d, uint32_t m, uint32_t key) except -1 nogil:
    """Remember map `m`'s entry for `key` as it is, before an import writes it."""
    cdef lc_map_entry *e = lc_map_find(&d.maps[m], key)
    cdef lc_map_undo *j
    if d.n_map_journal == d.cap_map_journal:
        d.map_journal = <lc_map_undo*>grow(d.map_journal, &d.cap_map_journal,
                                              d.n_map_journal + 1, sizeof(lc_map_undo))
    j = &d.map_journal[d.n_map_journal]
    d.n_map_journal += 1
    j.map = m
    j.key = key
    j.existed = e != NULL
    if e != NULL:
        j.lamport = e.lamport
        j.peer = e.peer
        j.slot = e.slot
    return 0


cdef int64_t map_len(LoroDoc d, uint32_t c) noexcept:
    """Keys present in map `c`."""
    return d.maps[d.ctree[c]].live


cdef int64_t map_slot(LoroDoc d, uint32_t c, str key) except -2:
    """Value slot of `key` in map `c`, or -1 when the key is absent or deleted."""
    cdef int64_t found = d.log.key_find(key)
    if found < 0:
        return -1
    cdef lc_map_entry *e = lc_map_find(&d.maps[d.ctree[c]], <uint32_t>found)
    return -1 if e == NULL else e.slot


cdef extern from *:
    PyObject* lc_list_item "PyList_GET_ITEM"(object lst, Py_ssize_t i)
    int lc_str_kind "PyUnicode_KIND"(PyObject* s)
    void* lc_str_data "PyUnicode_DATA"(PyObject* s)
    Py_ssize_t lc_str_len "PyUnicode_GET_LENGTH"(PyObject* s)
    int lc_str_compare "PyUnicode_Compare"(PyObject* a, PyObject* b)
    int LC_1BYTE_KIND "PyUnicode_1BYTE_KIND"
    bint lc_dict_next "PyDict_Next"(object d, Py_ssize_t* pos, PyObject** key, PyObject** value)


ctypedef struct KeySlot:
    PyObject* key       # (borrowed from d.log.keys)
    int64_t slot
    uint64_t pre        # (sort_key_slots' own: the key's first bytes, key_prefix)


cdef inline int str_order(PyObject* x, PyObject* y) noexcept:
    """Python's order of two str (code points): bytes compared in C when both are one
    byte per code point, as list.sort compares such str."""
    cdef Py_ssize_t nx, ny
    cdef int r
    if lc_str_kind(x) == LC_1BYTE_KIND and lc_str_kind(y) == LC_1BYTE_KIND:
        nx = lc_str_len(x)
        ny = lc_str_len(y)
        r = memcmp(lc_str_data(x), lc_str_data(y), <size_t>(nx if nx < ny else ny))
        if r != 0:
            return r
        return (nx > ny) - (nx < ny)
    # (str against str: PyUnicode_Compare cannot fail)
    return lc_str_compare(x, y)


cdef inline uint64_t key_prefix(PyObject* s) noexcept:
    """The first 8 bytes of a one-byte-per-code-point str, big-endian, zero-padded: two
    such keys whose prefixes differ are in the prefixes' order (a key that ends first pads
    with zeros, below any byte of the other or equal to a NUL, which then ties)."""
    cdef const unsigned char* p = <const unsigned char*>lc_str_data(s)
    cdef Py_ssize_t n = lc_str_len(s), i
    cdef uint64_t v = 0
    for i in range(8):
        v = (v << 8) | (p[i] if i < n else 0)
    return v


cdef inline int slot_order(const KeySlot* x, const KeySlot* y) noexcept:
    if x.pre != y.pre:
        return -1 if x.pre < y.pre else 1
    return str_order(x.key, y.key)


cdef int sort_key_slots(KeySlot* a, Py_ssize_t n) except -1:
    """Sort `a` by key (str_order; the keys are distinct): insertion sort of runs of 16,
    then bottom-up merges, a merge of two runs already in order a copy. The comparison
    inlined: qsort's call per comparison cost more than list.sort's. When every key is
    one byte per code point, their first 8 bytes decide most comparisons as one integer
    each (key_prefix), without reaching the str objects (a map of 5,000 keys sorted in
    about half the time)."""
    cdef KeySlot* tmp
    cdef KeySlot* src
    cdef KeySlot* dst
    cdef KeySlot* sw
    cdef KeySlot x
    cdef Py_ssize_t i, j, lo, mid, hi, w, p, q, k
    cdef bint bytes1 = True
    for i in range(n):
        if lc_str_kind(a[i].key) != LC_1BYTE_KIND:
            bytes1 = False
            break
    for i in range(n):
        # (all 0 when some key is wider: str_order decides every comparison)
        a[i].pre = key_prefix(a[i].key) if bytes1 else 0
    lo = 0
    while lo < n:
        hi = lo + 16 if lo + 16 < n else n
        for i in range(lo + 1, hi):
            x = a[i]
            j = i - 1
            while j >= lo and slot_order(&a[j], &x) > 0:
                a[j + 1] = a[j]
                j -= 1
            a[j + 1] = x
        lo = hi
    if n <= 16:
        return 0
    tmp = <KeySlot*>malloc(<size_t>n * sizeof(KeySlot))
    if tmp == NULL:
        raise MemoryError()
    src = a
    dst = tmp
    w = 16
    while w < n:
        lo = 0
        while lo < n:
            mid = lo + w if lo + w < n else n
            hi = lo + 2 * w if lo + 2 * w < n else n
            if mid >= hi or slot_order(&src[mid - 1], &src[mid]) <= 0:
                memcpy(&dst[lo], &src[lo], <size_t>(hi - lo) * sizeof(KeySlot))
            else:
                p = lo
                q = mid
                k = lo
                while p < mid and q < hi:
                    if slot_order(&src[q], &src[p]) < 0:
                        dst[k] = src[q]
                        q += 1
                    else:
                        dst[k] = src[p]
                        p += 1
                    k += 1
                while p < mid:
                    dst[k] = src[p]
                    p += 1
                    k += 1
                while q < hi:
                    dst[k] = src[q]
                    q += 1
                    k += 1
            lo = hi
        sw = src
        src = dst
        dst = sw
        w *= 2
    if src != a:
        memcpy(a, src, <size_t>n * sizeof(KeySlot))
    free(tmp)
    return 0


cdef KeySlot* map_sorted(LoroDoc d, uint32_t c, Py_ssize_t* n_out) except NULL:
    """The keys present in map `c` and their value slots, sorted by key (freed by the
    caller): no (key, slot) pair built and compared per key."""
    cdef lc_map *m = &d.maps[d.ctree[c]]
    cdef uint32_t i
    cdef Py_ssize_t n = 0
    cdef list keys = d.log.keys
    cdef KeySlot* ks = <KeySlot*>malloc((<size_t>m.live + 1) * sizeof(KeySlot))
    if ks == NULL:
        raise MemoryError()
    for i in range(m.cap):
        if m.entries[i].key != LC_NO_KEY and m.entries[i].slot >= 0 and n < m.live:
            ks[n].key = lc_list_item(keys, m.entries[i].key)
            ks[n].slot = m.entries[i].slot
            n += 1
    sort_key_slots(ks, n)
    n_out[0] = n
    return ks


cdef list map_live(LoroDoc d, uint32_t c):
    """(key, value slot) of the keys present, sorted by key."""
    cdef Py_ssize_t n = 0, i
    cdef KeySlot* ks = map_sorted(d, c, &n)
    try:
        return [(<object>ks[i].key, ks[i].slot) for i in range(n)]
    finally:
        free(ks)


cdef dict map_flat_value(LoroDoc d, uint32_t c):
    """map_value(d, c, False) of a built map (resolve_value's copies: a child's id and
    every scalar shown as it is, lists and dicts copied)."""
    cdef Py_ssize_t n = 0, i
    cdef list values = d.log.values
    cdef KeySlot* ks = map_sorted(d, c, &n)
    cdef dict out
    try:
        out = lc_dict_presized(n)
        for i in range(n):
            v = <object>lc_list_item(values, ks[i].slot)
            if type(v) is list or type(v) is dict:
                v = copy_value(v)
            out[<object>ks[i].key] = v
        return out
    finally:
        free(ks)


cdef dict sorted_by_key(dict live):
    """`live` ({str: value}) rebuilt in key order: its pairs sorted in C (sort_key_slots;
    no list of keys, no lookup per key)."""
    cdef Py_ssize_t n = len(live), i = 0, pos = 0
    cdef PyObject* k
    cdef PyObject* v
    cdef KeySlot* ks = <KeySlot*>malloc((<size_t>n + 1) * sizeof(KeySlot))
    cdef dict out
    if ks == NULL:
        raise MemoryError()
    try:
        while i < n and lc_dict_next(live, &pos, &k, &v):
            ks[i].key = k
            ks[i].slot = <int64_t><size_t>v        # (the value's pointer: held by `live`)
            i += 1
        sort_key_slots(ks, i)
        out = lc_dict_presized(i)
        for n in range(i):
            out[<object>ks[n].key] = <object><PyObject*><size_t>ks[n].slot
        return out
    finally:
        free(ks)


cdef dict sorted_live_value(dict live):
    """live_flat_value of `live` already in key order (lazy_vals): a copy of the dict
    (its table copied whole, no key inserted again), its lists and dicts copied."""
    cdef dict out = live.copy()
    for k, v in live.items():
        if type(v) is list or type(v) is dict:
            out[k] = copy_value(v)
    return out


cdef dict live_flat_value(dict live):
    """map_flat_value of a map read from its encoded entry (its keys present, `live`:
    lazy_map_live), in key order."""
    return sorted_live_value(sorted_by_key(live))


cdef list map_all_keys(LoroDoc d, uint32_t c):
    """Every key the map has held, deleted ones included, sorted."""
    cdef lc_map *m = &d.maps[d.ctree[c]]
    cdef uint32_t i
    cdef list keys = d.log.keys
    return sorted([keys[m.entries[i].key] for i in range(m.cap) if m.entries[i].key != LC_NO_KEY])


cdef int local_map_set(LoroDoc d, uint32_t c, str key, object value,
                       bint skip_same=True) except -1:
    """Write `key` = `value`. Like loro's insert, a value equal to the current one writes
    nothing, unless `skip_same` is off (loro's apply_diff and undo always write)."""
    cdef int64_t cur = map_slot(d, c, key)
    if d.detached and not d.txn_open:
        check_detached_edit(d)      # loro refuses even a set that would change nothing
    if cur >= 0 and skip_same:
        old = d.log.values[cur]
        if type(old) is type(value) and not isinstance(old, _types.ContainerID) and old == value:
            return 0
    check_alive(d, c)
    open_txn(d)
    cdef uint32_t k = d.log.key_index(key)
    # a key that holds no child loses none to this write: the containers known reachable
    # stay so (building a chain of nested maps climbed the whole chain per op)
    cdef bint unlinks_none = (alive_cache_current(d) and
                              (cur < 0 or holds_no_child(d.log.values[cur])))
    cdef int64_t slot = len(d.log.values)
    d.log.values.append(value)
    cdef int32_t counter = d.log.vv[d.self_idx]
    cdef lc_op *op = d.log.push_op()
    op.container = c
    op.kind = LC_OP_MAP_SET
    op.counter = counter
    op.len = 1
    op.pos = k
    op.arg = slot
    map_apply(d, c, k, d.txn_lamport + <uint32_t>(counter - d.txn_counter), d.self_idx, slot)
    after_local_op(d, 1)
    if unlinks_none:
        alive_stamp(d)
    return 0


cdef uint32_t local_map_set_container(LoroDoc d, uint32_t c, str key, int kind) except? 0xFFFFFFFF:
    check_alive(d, c)
    open_txn(d)
    cid = _normal_cid(d.peer, d.log.vv[d.self_idx], _TYPE_BY_KIND[kind])
    cdef uint32_t child = container_index(d, cid, kind)
    local_map_set(d, c, key, cid)
    if alive_cache_current(d):
        d.alive_known.add(child)        # (held by reachable `c`, which nothing unlinked)
    return child


cdef int local_map_delete(LoroDoc d, uint32_t c, str key) except -1:
    check_alive(d, c)
    open_txn(d)
    cdef uint32_t k = d.log.key_index(key)
    cdef int32_t counter = d.log.vv[d.self_idx]
    cdef lc_op *op = d.log.push_op()
    op.container = c
    op.kind = LC_OP_MAP_DELETE
    op.counter = counter
    op.len = 1
    op.pos = k
    op.arg = -1
    map_apply(d, c, k, d.txn_lamport + <uint32_t>(counter - d.txn_counter), d.self_idx, -1)
    after_local_op(d, 1)
    return 0


cdef dict lazy_map_live(LoroDoc d, uint32_t c):
    """{key: value} of the keys present in map `c` when a snapshot load left its state
    encoded (thin_lazy) and reading it needs no more than its values; else None (its
    state is then built: thin_decode_lazy). A bytes value may be a mergeable child's
    marker and a child not registered is one the state does not list: both are left to
    the built state. The map stays encoded, as loro keeps a state it only read."""
    if d.thin_lazy is None:
        return None
    got = d.thin_lazy.get(c)
    if got is None:
        return None
    if d.lazy_live is not None:
        # (taken when the read began, with every map then encoded: this one was)
        return d.lazy_live.get(c)
    return lazy_live_usable(d, _codec_module().decode_lazy_maps_live([got])[0])


cdef dict lazy_live_usable(LoroDoc d, dict live, bint *holds=NULL):
    """`live` when its values answer a read without the built state (lazy_map_live), else
    None; `holds`, when given, tells whether one of them is a child container."""
    cdef object cid_type = _CID_TYPE
    cdef dict index = d.cid_index
    cdef bint child = False
    if d.thin_unreg is not None and len(live) > 64:
        # (a map naming children by the thousand, its keys decoded for a loop of reads:
        # all registered at once, not one lookup each)
        for v in live.values():
            if isinstance(v, cid_type):
                thin_register_rest(d)
                index = d.cid_index         # (the registry was resized)
                break
    for v in live.values():
        if type(v) is bytes:
            return None
        if isinstance(v, cid_type):
            if v not in index and cid_lookup(d, v) is None:
                return None
            child = True
    if holds != NULL:
        holds[0] = child
    return live


cdef int lazy_live_fill(LoroDoc d) except -1:
    """Decode the keys of every map still encoded in one codec call, for a read of the
    whole document (get_deep_value); dropped after it. A map whose keys do not answer
    (lazy_map_live) is kept as None: it is built when reached (a child registered
    meanwhile would only have let it answer)."""
    cdef list cs = d.thin_lazy.indices()
    cdef list lives = _codec_module().decode_lazy_maps_live(d.thin_lazy.entries())
    cdef dict out = {}
    cdef set holders = set()
    cdef Py_ssize_t i
    cdef bint holds
    for i in range(len(cs)):
        # (noting the maps that hold a child: number_reached walks them)
        holds = False
        live = lazy_live_usable(d, <dict>lives[i], &holds)
        if holds and live is not None:
            # (in key order: the numbering walk's key order and the value's sort each
            # find one run)
            live = sorted_by_key(live)
            holders.add(cs[i])
        out[cs[i]] = live
    d.lazy_live = out
    d.lazy_holders = holders
    return 0


cdef object map_value(LoroDoc d, uint32_t c, bint deep):
    cdef list values = d.log.values
    cdef int64_t child
    cdef dict live
    if d.thin_lazy is not None and d.thin_lazy.has(c):
        live = lazy_map_live(d, c)
        if live is not None:
            if deep and d.lazy_holders is not None and c not in d.lazy_holders:
                # (decoded for this deep read alone, which shows each map once, and holding
                # no child: its values are the read's own, no copies needed)
                if len(live) < 2:
                    return live
                return {k: live[k] for k in sorted(live)}
            if not deep:
                return live_flat_value(live)
            # (its values are private: resolve_value copies them, as from the slots)
            return {k: resolve_value(d, live[k], deep) for k in sorted(live)}
        thin_decode_lazy(d, c)
    if not deep:
        # as loro's get_value: a mergeable child's marker shows as its raw bytes
        return map_flat_value(d, c)
    out = {}
    for k, slot in map_live(d, c):
        v = values[slot]
        if type(v) is bytes:
            child = mergeable_child_index(d, c, k, v)
            if child >= 0:
                out[k] = value_of(d, <uint32_t>child, True)
                continue
        out[k] = resolve_value(d, v, True)
    return out


# -- mergeable children (loro_c/mergeable.py) ------------------------------------------------
# A marker in a slot shows the mergeable child it names. Reads translate it here, registering
# the child (with empty state) the first time it is shown, so handles and events can name it.

cdef object _mergeable = None


cdef object mergeable_module():
    global _mergeable
    if _mergeable is None:
        from loro_c import mergeable
        _mergeable = mergeable
    return _mergeable


cdef int64_t mergeable_child_index(LoroDoc d, uint32_t c, str key, object v) except -2:
    """Index of the mergeable child that value `v` at `key` of map `c` shows, or -1 when
    `v` is not its marker."""
    if type(v) is not bytes or len(<bytes>v) != 8 or not (<bytes>v).startswith(b"\x00LM\x01"):
        return -1
    m = mergeable_module()
    parent = d.cids[c]
    kind = m.marker_kind(parent, key, v)
    if kind is None or not kind_has_state(kind):
        return -1
    return container_index(d, m.child_cid(parent, key, container_type(kind)), kind)


cdef object map_public_value(LoroDoc d, uint32_t c, str key, object v):
    """`v` as the map's readers see it: a marker becomes its child's ContainerID."""
    cdef int64_t child
    if type(v) is bytes:
        child = mergeable_child_index(d, c, key, v)
        if child >= 0:
            return d.cids[child]
    return v


cdef object mergeable_parent(LoroDoc d, uint32_t c):
    """(parent map index, key) of mergeable child `c` while its parent's slot shows it,
    else None (hidden, or the parent is unknown)."""
    cdef int64_t slot
    got = mergeable_module().parse_child(d.cids[c])
    if got is None:
        return None
    parent, key = got
    p = cid_lookup(d, parent)
    if p is None or d.ckind[<uint32_t>p] != KIND_MAP:
        return None
    slot = map_slot(d, <uint32_t>p, key)
    if slot < 0 or mergeable_child_index(d, <uint32_t>p, key, d.log.values[slot]) != c:
        return None
    return (p, key)


cdef int map_check(LoroDoc d, uint32_t c) except -1:
    if lc_map_count_live(&d.maps[d.ctree[c]]) != d.maps[d.ctree[c]].live:
        raise AssertionError("cached count of live map keys is stale")
    return 0


# -- moving a map to another version (checkout) ----------------------------------------------
# Every map write of the log, gathered on the first checkout and extended from where the
# last gathering stopped (a failed import drops them all), chained per key: a key is moved to
# a version by the latest of its writes that the version holds, so a checkout costs the ops
# between the two versions plus the writes of the keys they touch. All of it is C.

cdef int map_history_drop(LoroDoc d) noexcept:
    """Forget the gathered writes (a failed import may have cut back the changes they
    came from; free_history_cache)."""
    cdef int64_t i
    for i in range(d.n_hheads):
        lc_map_free(&d.hheads[i])
    d.n_hheads = 0
    d.n_hwrites = 0
    d.hist_changes = 0
    d.hist_last_ops = 0
    d.hist_on = False
    return 0


cdef int map_history_write(LoroDoc d, uint32_t m, uint32_t key, uint32_t lamport, uint32_t peer,
                           int32_t counter, int64_t slot) except -1:
    cdef lc_map_entry *head = lc_map_upsert(&d.hheads[m], key)
    cdef lc_map_write *w
    if head == NULL:
        raise MemoryError()
    if d.n_hwrites == d.cap_hwrites:
        d.hwrites = <lc_map_write*>grow(d.hwrites, &d.cap_hwrites, d.n_hwrites + 1, sizeof(lc_map_write))
    w = &d.hwrites[d.n_hwrites]
    w.lamport = lamport
    w.peer = peer
    w.counter = counter
    w.slot = slot
    w.prev = head.slot
    head.slot = d.n_hwrites
    d.n_hwrites += 1
    return 0


cdef int map_history_update(LoroDoc d) except -1:
    """Gather the map writes of the changes logged since the last gathering."""
    cdef int64_t ci, i, start
    cdef lc_change *ch
    cdef lc_op *op
    if d.hist_changes > d.log.n_changes:
        map_history_drop(d)
    if d.n_hheads < d.n_maps:
        if d.n_maps > d.cap_hheads:
            d.hheads = <lc_map*>grow(d.hheads, &d.cap_hheads, d.n_maps, sizeof(lc_map))
        memset(&d.hheads[d.n_hheads], 0, <size_t>(d.n_maps - d.n_hheads) * sizeof(lc_map))
        d.n_hheads = d.n_maps
    d.hist_on = True
    ci = d.hist_changes - 1 if d.hist_changes > 0 else 0
    while ci < d.log.n_changes:
        ch = &d.log.changes[ci]
        # the last gathered change may have grown since (a local commit merged into it)
        start = ch.ops_off + (d.hist_last_ops if ci == d.hist_changes - 1 else 0)
        for i in range(start, ch.ops_off + ch.ops_len):
            op = &d.log.ops[i]
            if ((op.kind == LC_OP_MAP_SET or op.kind == LC_OP_MAP_DELETE)
                    and not shallow_root_op(d, ch.peer, op.counter)):
                # (a shallow root's own writes are in its base entries: shallow_map_base)
                map_history_write(d, d.ctree[op.container], <uint32_t>op.pos,
                                  ch.lamport + <uint32_t>(op.counter - ch.counter), ch.peer,
                                  op.counter, op.arg)
        ci += 1
    d.hist_changes = d.log.n_changes
    d.hist_last_ops = d.log.changes[d.log.n_changes - 1].ops_len if d.log.n_changes else 0
    return 0


cdef int64_t map_winner_at(LoroDoc d, int64_t w) noexcept:
    """Along the chain from write `w`: the latest write (by Lamport, then peer id) that the
    tracker's version holds, or -1."""
    cdef int64_t best = -1
    cdef lc_map_write *x
    cdef lc_map_write *b
    while w >= 0:
        x = &d.hwrites[w]
        if x.counter < d.tvv[x.peer]:
            if best < 0:
                best = w
            else:
                b = &d.hwrites[best]
                if x.lamport > b.lamport or (x.lamport == b.lamport
                                             and d.log.peer_ids[x.peer] > d.log.peer_ids[b.peer]):
                    best = w
        w = x.prev
    return best


cdef int map_mark_dirty(LoroDoc d, lc_op *op) except -1:
    """Queue the key an op writes for map_resolve_keys (once per checkout)."""
    cdef uint32_t m = d.ctree[op.container]
    cdef lc_map_entry *head = lc_map_find(&d.hheads[m], <uint32_t>op.pos)
    if head == NULL or head.lamport == d.hist_epoch:
        return 0        # not gathered (cannot happen for a logged op) or already queued
    head.lamport = d.hist_epoch
    if d.n_hdirty == d.cap_hdirty:
        d.hdirty = <uint64_t*>grow(d.hdirty, &d.cap_hdirty, d.n_hdirty + 1, sizeof(uint64_t))
    d.hdirty[d.n_hdirty] = (<uint64_t>m << 32) | <uint32_t>op.pos
    d.n_hdirty += 1
    return 0


cdef int map_resolve_keys(LoroDoc d) except -1:
    """Set each queued key to its winner at the tracker's version (removed when that
    version has no write of it)."""
    cdef int64_t i, w
    cdef uint32_t m, key
    cdef lc_map_entry *head
    cdef lc_map_entry *e
    cdef lc_map_write *x
    for i in range(d.n_hdirty):
        m = <uint32_t>(d.hdirty[i] >> 32)
        key = <uint32_t>(d.hdirty[i] & 0xFFFFFFFF)
        head = lc_map_find(&d.hheads[m], key)
        w = map_winner_at(d, head.slot)
        if w < 0:
            base = d.shallow_map_base.get((m, key)) if d.shallow_map_base is not None else None
            if base is None:
                lc_map_remove(&d.maps[m], key)
            else:
                # a shallow document's key keeps its entry at the root (no write logged)
                e = lc_map_upsert(&d.maps[m], key)
                if e == NULL:
                    raise MemoryError()
                e.lamport = <uint32_t>base[0]
                e.peer = <uint32_t>base[1]
                lc_map_set_slot(&d.maps[m], e, <int64_t>base[2])
            continue
        x = &d.hwrites[w]
        e = lc_map_upsert(&d.maps[m], key)
        if e == NULL:
            raise MemoryError()
        e.lamport = x.lamport
        e.peer = x.peer
        lc_map_set_slot(&d.maps[m], e, x.slot)
    d.n_hdirty = 0
    return 0


cdef int map_check_version(LoroDoc d) except -1:
    """Every map entry is its key's winner at the tracker's version, and no key with a
    write in that version is missing (the gathered writes are brought up to date first)."""
    cdef int64_t m, i, w
    cdef lc_map *heads
    cdef lc_map_entry *e
    cdef lc_map_write *x
    map_history_update(d)
    for m in range(d.n_maps):
        heads = &d.hheads[m]
        for i in range(heads.cap):
            if heads.entries[i].key == LC_NO_KEY:
                continue
            w = map_winner_at(d, heads.entries[i].slot)
            e = lc_map_find(&d.maps[m], heads.entries[i].key)
            if w < 0:
                if e != NULL and (d.shallow_map_base is None
                                  or (m, heads.entries[i].key) not in d.shallow_map_base):
                    raise AssertionError(f"map {m} key {heads.entries[i].key} has an entry but "
                                         "no write in the version")
                continue
            x = &d.hwrites[w]
            if e == NULL or e.lamport != x.lamport or e.peer != x.peer or e.slot != x.slot:
                raise AssertionError(f"map {m} key {heads.entries[i].key} is not its winner at "
                                     "the version")
        for i in range(d.maps[m].cap):
            if (d.maps[m].entries[i].key != LC_NO_KEY
                    and lc_map_find(heads, d.maps[m].entries[i].key) == NULL
                    and (d.shallow_map_base is None
                         or (m, d.maps[m].entries[i].key) not in d.shallow_map_base)):
                raise AssertionError(f"map {m} key {d.maps[m].entries[i].key} has no write")
    return 0
