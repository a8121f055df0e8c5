# A snapshot loaded from its state section (issue 11, phase 2; the codec decoded and checked
# it in codec/snapshot_state.pxi). The document is then *thin*: its containers hold the
# snapshot's visible state, its log is empty and `thin_blob` keeps the snapshot. Reads are
# served from that state (public reads take the lock with doc_acquire_read); every other
# operation takes it with doc_acquire, which first *materializes*: the thin state is
# dropped and the blob imported as history (the replay an import of a snapshot into an
# empty document does), so history, remote integration, checkouts, exports and local edits
# see exactly the document the replay builds.


cdef class LazyMaps:
    """The maps a deferred load left encoded, by container index (see _doc.pxd)."""

    def __cinit__(self, Py_ssize_t size=0):
        self.payloads = [None] * size
        self.n = 0

    def __len__(self):
        return self.n

    cdef object get(self, uint32_t c):
        if c < <uint32_t>len(self.payloads):
            return self.payloads[c]
        return None

    cdef bint has(self, uint32_t c) noexcept:
        return c < <uint32_t>len(self.payloads) and self.payloads[c] is not None

    cdef int put(self, uint32_t c, object payload) except -1:
        cdef Py_ssize_t k = len(self.payloads)
        if c >= <uint32_t>k:
            self.payloads.extend([None] * (c + 1 - k + k // 2))
        if self.payloads[c] is None:
            self.n += 1
        self.payloads[c] = payload
        return 0

    cdef int reserve(self, Py_ssize_t size) except -1:
        cdef Py_ssize_t k = len(self.payloads)
        if size > k:
            self.payloads.extend([None] * (size - k))
        return 0

    cdef int drop(self, uint32_t c) except -1:
        if self.has(c):
            self.payloads[c] = None
            self.n -= 1
        return 0

    cdef list indices(self):
        """The containers still encoded, in index order (the state's)."""
        cdef Py_ssize_t i
        cdef list payloads = self.payloads
        return [i for i in range(len(payloads)) if payloads[i] is not None]

    cdef list entries(self):
        """Their (entry, position), in the same order."""
        return [p for p in self.payloads if p is not None]


cdef int thin_load(LoroDoc d, list rows, bytes blob, dict vv, list fr,
                   bint lists=True) except -1:
    """Build the states of `rows` [(cid, kind, payload)] (see the codec) into the empty
    document `d`, in one pass per container, and keep `blob` for materialization (its
    version `vv` and frontiers `fr` answer the version queries meanwhile). Nothing
    here can fail on the data (the codec checked it), only on memory. Without `lists`
    the Lists' states are left empty: the caller replays the history at once, which
    drops the loaded state (thin_materialize)."""
    cdef uint32_t c
    snap_forget(d)      # (states filled without ops)
    d.thin_values0 = len(d.log.values)
    lnum_flush(d)
    cdef int64_t n_before = len(d.lnum)
    # as in loro, the roots listed are the state's: roots taken before (all empty, the
    # document has no ops) are listed again when taken again
    if d.roots:
        named = {row[0] for row in rows}
        for c in list(d.roots):
            if d.cids[c] not in named:
                d.croot[<uint32_t>c] = ROOT_HIDDEN
                d.roots.remove(c)
    d.thin_peers0 = d.log.n_peers
    d.thin_keys0 = len(d.log.keys)
    d.thin_listed_lo = d.n_containers
    # (loro numbers none of them at the load: see below)
    d.lnum_hold = True
    try:
        thin_load_states(d, rows, lists)
    finally:
        d.lnum_hold = False
    backing_loaded_at(d, dict(vv))      # (its texts' runs are the state's at vv)
    d.thin_vv = vv
    d.thin_fr = sorted(fr)
    d.thin_blob = blob
    d.thin_roots = tuple(d.roots)
    # loro's arena now holds what it held before and what parsing the frontiers' change
    # blocks registered; it reads the rest of the state lazily and registers a container
    # when something first touches it (a handle, an op, a parsed block, an event). The
    # frontier blocks are decoded only once numbers are read (lnum_settle)
    keep = [cid for cid, k in sorted(d.lnum.items(), key=lambda kv: kv[1]) if k < n_before]
    d.lnum.clear()
    for cid in keep:
        d.lnum[cid] = len(d.lnum)
    d.lazy_first = (blob, len(d.lnum))
    d.lnum_lazy = True
    d.lnum_visited = False
    d.lazy_roots = [row[0] for row in rows if is_root_cid(row[0])]
    return 0


cdef enum:
    NO_ROW = 0xFFFFFFFF


cdef int thin_load_states(LoroDoc d, list rows, bint lists) except -1:
    cdef uint32_t c
    cdef tuple row
    cdef int kind
    cdef Py_ssize_t i, n = len(rows)
    cdef LazyMaps lazy = d.thin_lazy
    cdef dict grown
    # each row's container index, or NO_ROW for a map left encoded (a C array: a row of
    # 5,000 small containers made a tuple each here)
    cdef uint32_t *at = <uint32_t*>malloc(<size_t>(n if n > 0 else 1) * sizeof(uint32_t))
    if at == NULL:
        raise MemoryError()
    try:
        if n > 64:
            # the registry gets a row each: sized once, not grown by doubling (each growth
            # moves every entry again)
            grown = lc_dict_presized(len(d.cid_index) + n)
            grown.update(d.cid_index)
            d.cid_index = grown
        seq_reserve_roots(d, rows)
        # every container registered before any state is built (a state's children are
        # found registered); a map left encoded has nothing to build
        for i in range(n):
            row = <tuple>rows[i]
            kind = row[1]
            c = container_index(d, row[0], kind)
            show_root(d, c)
            payload = row[2]
            if kind == KIND_MAP and type(payload) is tuple:
                # (encoded: decoded when first read, thin_decode_lazy)
                if lazy is None:
                    # (each row registers one container at most)
                    lazy = d.thin_lazy = LazyMaps(d.n_containers + n)
                lazy.put(c, payload)
                at[i] = NO_ROW
            else:
                at[i] = c
        d.thin_listed_hi = d.n_containers
        for i in range(n):
            if at[i] != NO_ROW:
                row = <tuple>rows[i]
                thin_load_state(d, at[i], row[1], row[2], lists)
    finally:
        free(at)
    return 0


cdef int seq_reserve_roots(LoroDoc d, list rows) except -1:
    """Room in the sequence arena for the root node each Text, List and MovableList of
    `rows` gets when registered (seq_state_init): the node array grown once, not doubled
    and copied along the way (a state of thousands of small texts and lists)."""
    cdef int64_t more = 0
    cdef int kind
    for row in rows:
        kind = (<tuple>row)[1]
        if kind == KIND_TEXT or kind == KIND_LIST or kind == KIND_MOVABLE_LIST:
            more += 1
    if more > 64:
        d.seq.reserve_nodes(more)
    return 0


cdef int thin_load_state(LoroDoc d, uint32_t c, int kind, object payload,
                         bint lists) except -1:
    """Build container `c`'s state from its row's payload (thin_load_states)."""
    if kind == KIND_TEXT:
        # its tree waits until a read needs more than the whole value (thin_build_texts)
        if d.thin_texts is None:
            d.thin_texts = {}
        d.thin_texts[c] = payload
        backing_from_runs(d, c, payload[1], payload[2])     # state/text_backing.pxi
    elif kind == KIND_LIST:
        if not lists:
            return 0
        values = payload[0]
        if values is None:
            # (a deferred load's list, its values checked and left encoded by the
            # import's check pass: codec/state_check.pxi checked_list_row)
            values = _codec_module().checked_list_values(payload[3], payload[4])
        thin_seq(d, c, payload[1], payload[2], None, values)
    elif kind == KIND_MAP:
        thin_map(d, c, payload)
    elif kind == KIND_TREE:
        thin_tree(d, c, payload)
    elif kind == KIND_MOVABLE_LIST:
        thin_movable_list(d, c, payload)
    else:
        d.ccounter[c] = payload
    return 0


cdef int thin_defer(LoroDoc d, bytes blob, dict vv, list fr, dict pre=None,
                    list bodies=None) except -1:
    """The load of a snapshot into the empty document `d` whose state section the codec
    checked whole (codec/state_check.pxi): its state stays encoded, as loro keeps it, until
    the document is first locked for more than its snapshot export (the blob again) and
    its versions (`vv`, `fr`). Every other lock taker decodes it first (doc_acquire_value:
    thin_build_pending), so it finds the document thin_load builds at the import. `pre`:
    the rows of the lists the check decoded (codec ListCheck); `bodies`: the state section's
    blocks the check decompressed."""
    snap_forget(d)
    d.thin_pending = blob
    d.thin_pre = pre
    d.thin_bodies = bodies
    d.thin_blob = blob
    d.thin_vv = vv
    d.thin_fr = sorted(fr)
    return 0


cdef int thin_build_pending(LoroDoc d, bint lists=True) except -1:
    """thin_load of the state thin_defer left encoded, each map's state still encoded (as
    loro keeps a container's state until it is read): every container is registered and
    numbered as the eager load does, and a map is built the first time something reads it
    (thin_decode_lazy; thin_force for all). The codec checked the section whole at the
    import: decoding fails only on memory (or on a bug of that check, raised as LoroError).
    Without `lists`, for the replay that follows at once (thin_materialize), the Lists are
    registered but not built (see thin_load)."""
    cdef bytes blob = d.thin_pending
    cdef bint was_on = d.evlog.on
    cdef int64_t n_ev = d.evlog.n
    cdef int64_t i
    cdef bint children = True
    for i in range(d.n_containers):
        if d.croot[i] == ROOT_NONE:
            # (a child handle taken before the import: registered, so never looked up in
            # thin_unreg; every child is registered now, as before)
            children = False
            break
    # the child maps are registered when first named (thin_register_listed), not here:
    # loro reads a state's entries when they are touched
    got = _codec_module().deferred_state_rows(blob, d.thin_vv, True, d.thin_pre,
                                              d.thin_bodies, children)
    rows, kids = got if children else (got, None)
    d.evlog.on = 0
    try:
        d.thin_pending = None
        d.thin_pre = None
        d.thin_bodies = None
        if kids is not None and len(kids):
            d.thin_unreg = kids
            d.thin_lazy = LazyMaps(d.n_containers + len(rows) + 16)
        thin_load(d, rows, blob, d.thin_vv, list(d.thin_fr), lists)
        if d.trees:
            # what the import did to the trees an eager load builds (doc/exchange.pxi
            # import_locked), found none then
            tree_load_maps(d)
            tree_loaded_unensured(d)
        if d.thin_lazy is None and not d.detached:
            note_store_entries(d)
    finally:
        d.evlog.on = was_on
        d.evlog.n = n_ev
    return 0


cdef object cid_lookup(LoroDoc d, object cid):
    """The index of container `cid`, registered from thin_unreg when its state lists it
    and nothing registered it yet; None when the document does not know it."""
    found = d.cid_index.get(cid)
    if found is None and d.thin_unreg is not None:
        found = thin_register_listed(d, cid)
    if found is None and d.thin_list_kids is not None and not is_root_cid(cid):
        # (perhaps a child a list names that the state does not list: the eager load
        # registered it with the list, unnumbered; the lists' children all registered)
        thin_register_list_kids(d)
        found = d.cid_index.get(cid)
    return found


cdef object thin_register_listed(LoroDoc d, object cid):
    """Register child map `cid` from thin_unreg (its state still encoded, in thin_lazy),
    as thin_load would have (numbered by nothing: see lnum_hold); its index, or None when
    thin_unreg does not hold it. Its index comes later than the eager load gave it: the
    registry's order is seen by no reader (values, exports and events follow the ids and
    loro's numbering, lnum)."""
    cdef uint32_t c
    row = d.thin_unreg.find(cid)
    if row is None:
        return None
    if not len(d.thin_unreg):
        d.thin_unreg = None
    hold = d.lnum_hold
    d.lnum_hold = True
    try:
        c = container_register(d, row[0], KIND_MAP)
    finally:
        d.lnum_hold = hold
    thin_note_listed(d, c, c + 1)
    d.thin_lazy.put(c, row[2])
    return c


cdef int thin_note_listed(LoroDoc d, int64_t lo, int64_t hi) except -1:
    """Containers lo..hi-1 registered from the loaded state (so in loro's store)."""
    cdef list more = d.thin_listed_more
    cdef Py_ssize_t k
    if more is None:
        more = d.thin_listed_more = []
    k = len(more) - 1
    if k >= 0 and more[k][1] == lo:
        more[k] = (more[k][0], hi)
        return 0
    more.append((lo, hi))
    return 0


cdef int thin_register_rest(LoroDoc d) except -1:
    """Register every child map thin_unreg still holds, in the state's order, before a
    read of more than a few maps (thin_force, a deep read) looks them up by the thousand."""
    cdef int64_t lo = d.n_containers
    cdef dict grown
    kids = d.thin_unreg
    cdef Py_ssize_t n = len(kids)
    d.thin_unreg = None
    if n > 64:
        grown = lc_dict_presized(len(d.cid_index) + n)
        grown.update(d.cid_index)
        d.cid_index = grown
        d.thin_lazy.reserve(d.n_containers + n)
    hold = d.lnum_hold
    d.lnum_hold = True
    try:
        # (none of them is registered: a listed child registers only through thin_unreg,
        # and thin_build_pending found no child registered before the load)
        kids.register_rest(d)
    finally:
        d.lnum_hold = hold
    thin_note_listed(d, lo, d.n_containers)
    if d.thin_list_kids is not None:
        thin_register_list_kids(d)
    return 0


cdef int thin_register_all(LoroDoc d) except -1:
    """Register every container the load left unregistered: the child maps thin_unreg
    holds and the children the lists name (thin_list_kids)."""
    if d.thin_unreg is not None:
        thin_register_rest(d)
    if d.thin_list_kids is not None:
        thin_register_list_kids(d)
    return 0


cdef object lazy_deep_value(LoroDoc d, uint32_t c):
    """The deep value of container `c` (a list's or a movable list's handle): the maps a
    snapshot load left encoded are read from their entries, as the document's deep read
    reads them (lazy_live_fill), and stay encoded. Takes and releases the lock."""
    doc_acquire_handles(d)
    try:
        if d.thin_lazy is not None:
            thin_register_all(d)
            lazy_live_fill(d)
        return value_of(d, c, True)
    finally:
        d.lazy_live = None
        d.lazy_holders = None
        doc_release(d)


cdef int thin_register_list_kids(LoroDoc d) except -1:
    """Register the children the lists of a deferred load name (thin_list_kids), as that
    load registered them with each list: unnumbered, no event; a child the state does
    not list gets an empty state, as there."""
    cdef list pending = d.thin_list_kids
    cdef bint was_on = d.evlog.on
    cdef int64_t n_ev = d.evlog.n
    d.thin_list_kids = None
    hold = d.lnum_hold
    d.lnum_hold = True
    d.evlog.on = 0
    try:
        for values in pending:
            thin_register_children(d, <list>values)
    finally:
        d.lnum_hold = hold
        d.evlog.on = was_on
        d.evlog.n = n_ev
    return 0


cdef int thin_decode_lazy(LoroDoc d, uint32_t c) except -1:
    """Build the state of map `c` if the load left it encoded; the store notes the import
    takes after a load once no map is left encoded (doc/exchange.pxi import_locked)."""
    cdef LazyMaps lazy = d.thin_lazy
    cdef bint was_on = d.evlog.on
    cdef int64_t n_ev = d.evlog.n
    cdef Py_ssize_t n_num
    got = lazy.get(c)
    if got is not None:
        rows = _codec_module().decode_lazy_map(got[0], got[1], d.thin_vv)
        n_num = len(d.lnum)
        d.evlog.on = 0
        try:
            thin_map(d, c, rows)
            lazy.drop(c)
            if d.lazy_keys is not None:
                d.lazy_keys.pop(c, None)
            if d.lazy_vals is not None:
                d.lazy_vals.pop(c, None)
            if d.lazy_scans is not None:
                d.lazy_scans.pop(c, None)
            # a child the state does not list (a dead one) registers here; the eager load
            # registered it before its numbering, which keeps no number for it
            while len(d.lnum) > n_num:
                d.lnum.popitem()
        finally:
            d.evlog.on = was_on
            d.evlog.n = n_ev
    if lazy.n == 0 and d.thin_unreg is None:
        if d.thin_list_kids is not None:
            # (the store notes below look at every container the load registers)
            thin_register_list_kids(d)
        d.thin_lazy = None
        d.lazy_keys = None
        d.lazy_vals = None
        d.lazy_scans = None
        if not d.detached:
            d.evlog.on = 0
            try:
                note_store_entries(d)
            finally:
                d.evlog.on = was_on
                d.evlog.n = n_ev
    return 0


cdef int thin_force(LoroDoc d) except -1:
    """Decode whatever the load left encoded (in the state's order, as the eager load)."""
    if d.thin_pending is not None:
        thin_build_pending(d)
    thin_register_all(d)
    if d.thin_lazy is not None:
        for c in d.thin_lazy.indices():
            thin_decode_lazy(d, <uint32_t>c)
    return 0


cdef int thin_force_locked(LoroDoc d) except -1:
    try:
        return thin_force(d)
    except BaseException:
        doc_release(d)
        raise


cdef int thin_build_pending_locked(LoroDoc d) except -1:
    try:
        return thin_build_pending(d)
    except BaseException:
        doc_release(d)
        raise


cdef int thin_decode_one_locked(LoroDoc d, uint32_t c) except -1:
    try:
        if d.thin_pending is not None:
            thin_build_pending(d)
        if d.thin_lazy is not None:
            thin_decode_lazy(d, c)
        return 0
    except BaseException:
        doc_release(d)
        raise


cdef dict lazy_map_keys_locked(LoroDoc d, uint32_t c):
    """The keys present of map `c` when the load left it encoded and they answer a read
    (lazy_map_live; kept in lazy_keys), else None with the map built (thin_decode_lazy).
    Releases the lock when it fails."""
    cdef dict live
    try:
        if d.thin_pending is not None:
            thin_build_pending(d)
        if d.thin_lazy is None:
            return None
        if d.lazy_keys is not None:
            live = d.lazy_keys.get(c)
            if live is not None:
                return live
        live = None
        if d.lazy_vals is not None and d.lazy_live is None:
            # (decoded for get_value: checked here, not decoded again)
            live = d.lazy_vals.get(c)
            if live is not None:
                live = lazy_live_usable(d, live)
        if live is None:
            live = lazy_map_live(d, c)
        if live is None:
            thin_decode_lazy(d, c)
            return None
        if d.lazy_keys is None:
            d.lazy_keys = {}
        d.lazy_keys[c] = live
        return live
    except BaseException:
        doc_release(d)
        raise


cdef dict lazy_map_vals_locked(LoroDoc d, uint32_t c):
    """The keys present of map `c` and their values, in key order, when the load left it
    encoded (kept in lazy_vals; the entry does not change while it stays encoded: any
    edit or import loads the history first), else None. Its children are not looked up
    or registered (lazy_map_keys_locked does, for handles): its shallow value shows a
    child's id, and a mergeable child's marker as its bytes, as the entry holds them.
    Releases the lock when it fails."""
    cdef dict live
    try:
        if d.thin_pending is not None:
            thin_build_pending(d)
        if d.thin_lazy is None:
            return None
        if d.lazy_vals is not None:
            live = d.lazy_vals.get(c)
            if live is not None:
                return live
        got = d.thin_lazy.get(c)
        if got is None:
            return None
        live = d.lazy_keys.get(c) if d.lazy_keys is not None else None
        if live is None:
            live = _codec_module().decode_lazy_maps_live([got])[0]
        # (kept in key order: a later read's sort then finds one run)
        live = sorted_by_key(live)
        if d.lazy_vals is None:
            d.lazy_vals = {}
        d.lazy_vals[c] = live
        return live
    except BaseException:
        doc_release(d)
        raise


cdef enum:
    # reads of one key from an encoded map's entry before its keys are decoded whole
    LAZY_SCANS_MAX = 8


cdef int lazy_map_key_locked(LoroDoc d, uint32_t c, str key) except -1:
    """One key of map `c` while a snapshot load keeps maps encoded (doc_acquire_map_key):
    the first few reads of a map look the key up in its entry, decoding that value alone
    (as loro reads one key of a map it has not decoded); a value that needs the built
    state (bytes, perhaps a mergeable child's marker; a child the state does not list)
    and later reads go through lazy_map_keys_locked. The document is the same either way:
    a map's keys and values are read, never kept, until lazy_map_keys_locked keeps them.
    Releases the lock when it fails."""
    cdef dict scans
    cdef object n
    try:
        if d.thin_pending is not None:
            thin_build_pending(d)
        if (key is not None and d.thin_lazy is not None
                and (d.lazy_keys is None or c not in d.lazy_keys)):
            got = d.thin_lazy.get(c)
            if got is not None:
                scans = d.lazy_scans
                if scans is None:
                    scans = d.lazy_scans = {}
                n = scans.get(c, 0)
                if <long>n < LAZY_SCANS_MAX:
                    scans[c] = n + 1
                    v = _codec_module().find_lazy_map_key(got[0], got[1], key)
                    if v is None:
                        return 1
                    if v is not False:
                        v = (<tuple>v)[0]
                        if not (isinstance(v, _CID_TYPE) and cid_lookup(d, v) is None):
                            d.lazy_got = v
                            return 2
    except BaseException:
        doc_release(d)
        raise
    d.lazy_got = lazy_map_keys_locked(d, c)
    if d.lazy_got is None and d.thin_texts is not None:
        thin_build_texts_locked(d)
    return 0


cdef int thin_register_children(LoroDoc d, list values) except -1:
    if d.thin_unreg is not None and len(values) > 64:
        # (a list or map naming children by the thousand: the child maps the load left
        # unregistered are registered all at once, not one lookup each)
        thin_register_rest(d)
    cdef object cid_type = _types.ContainerID
    for v in values:
        if plain_scalar(v):
            continue
        if isinstance(v, cid_type):
            container_index(d, v, kind_of_type(v.container_type))
    return 0


cdef int thin_seq(LoroDoc d, uint32_t c, list peers, bytes packed, str text, list values,
                  list marks=None, bint chain=False) except -1:
    """A Text (`text`) or List (`values`) from its packed (peer index, counter,
    len) runs: list items with consecutive ids join one span, as their slots follow. A
    text's runs of len 0 and -1 are the style anchors of `marks` (see thin_note_marks)."""
    cdef SeqArena a = d.seq
    cdef const int32_t *runs = <const int32_t*>PyBytes_AS_STRING(packed)
    cdef int64_t n = PyBytes_GET_SIZE(packed) // 12, i, k = 0
    cdef int64_t content
    cdef int32_t ln
    cdef uint32_t *pmap = <uint32_t*>malloc((len(peers) + 1) * sizeof(uint32_t))
    cdef lc_span *spans = <lc_span*>calloc(<size_t>(n if n > 0 else 1), sizeof(lc_span))
    cdef lc_span *s
    cdef lc_id none = make_id(LC_NO_PEER, 0)
    try:
        if pmap == NULL or spans == NULL:
            raise MemoryError()
        for i in range(len(peers)):
            pmap[i] = d.log.peer_index(peers[i])
        if text is not None:
            content = thin_text_content(a, text)
        else:
            content = len(d.log.values)
            if d.thin_unreg is not None:
                # (a deferred load registering child maps when named: so are the list's,
                # by item reads through wrap_value; thin_register_all for the rest)
                if d.thin_list_kids is None:
                    d.thin_list_kids = []
                d.thin_list_kids.append(values)
            else:
                thin_register_children(d, values)
            d.log.values.extend(values)
        for i in range(n):
            ln = runs[3 * i + 2]
            if (text is None and k > 0 and spans[k - 1].id.peer == pmap[runs[3 * i]]
                    and spans[k - 1].id.counter + spans[k - 1].len == runs[3 * i + 1]):
                spans[k - 1].len += ln
            else:
                s = &spans[k]
                s.id = make_id(pmap[runs[3 * i]], runs[3 * i + 1])
                s.origin_left = none
                if chain and k > 0:
                    # a shallow root's content is one run to Loro's tracker (its
                    # placeholder span): each atom's origin is the atom before it
                    s.origin_left = make_id(spans[k - 1].id.peer,
                                            spans[k - 1].id.counter + spans[k - 1].len - 1)
                s.origin_right = none
                if ln <= 0:
                    # a style anchor: one atom, no code point
                    s.len = 1
                    s.content = LC_ANCHOR_START if ln == 0 else LC_ANCHOR_END
                    k += 1
                    continue
                s.len = ln
                s.content = <uint32_t>content
                k += 1
            content += ln
        if marks:
            thin_note_marks(d, pmap, runs, peers, marks)
        bulk_fill(a, d.ctree[c], spans, k)
    finally:
        free(pmap)
        free(spans)
    return 0


cdef int thin_note_marks(LoroDoc d, const uint32_t *pmap, const int32_t *runs, list peers,
                         list marks) except -1:
    """What each style start's mark op said, as the op would have noted it (note_style),
    by the start anchor's id; its end entity is not known and not needed: a thin document
    integrates no op (the history's replay notes every mark again)."""
    cdef int64_t i
    for i, key, value, info, lamport in marks:
        d.styles[style_id(pmap[runs[3 * i]], runs[3 * i + 1])] = (
            key, value, <int>info, lamport, peers[runs[3 * i]], -1)
    return 0


cdef int64_t thin_text_content(SeqArena a, str text) except -1:
    """Append the code points of `text` to the arena's content; returns the first's offset."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef int64_t at
    a.reserve_text(n)
    at = a.text_len
    for i in range(n):
        a.text[at + i] = PyUnicode_READ(kind, data, i)
    a.text_len += n
    if a.text_len >= LC_ANCHOR_MIN:
        raise MemoryError("text content arena exceeds 2**32 - 3 code points")
    return at


cdef int thin_build_texts(LoroDoc d) except -1:
    """Build the trees of the texts loaded from a snapshot's state (a read needs them)."""
    cdef dict pending = d.thin_texts
    d.thin_texts = None
    for c, payload in pending.items():
        thin_seq(d, <uint32_t>c, payload[1], payload[2], payload[0], None, payload[4])
    return 0


cdef int thin_build_texts_locked(LoroDoc d) except -1:
    try:
        return thin_build_texts(d)
    except BaseException:
        doc_release(d)
        raise


cdef int thin_map(LoroDoc d, uint32_t c, list rows) except -1:
    cdef lc_map *m
    cdef lc_map_entry *e
    cdef int64_t slot
    cdef uint32_t key, peer
    thin_register_children(d, [row[2] for row in rows])
    for name, has, value, peer_id, lamport in rows:
        key = d.log.key_index(name)
        peer = d.log.peer_index(peer_id)
        slot = -1
        if has:
            slot = len(d.log.values)
            d.log.values.append(value)
        m = &d.maps[d.ctree[c]]
        e = lc_map_upsert(m, key)
        if e == NULL:
            raise MemoryError()
        e.lamport = <uint32_t>lamport
        e.peer = peer
        lc_map_set_slot(m, e, slot)
    return 0


cdef int thin_tree(LoroDoc d, uint32_t c, list rows) except -1:
    """A tree from its nodes: each node's last move logged as its only move, in the log's
    (Lamport, peer) order (the state's parents come before their children, so no move
    makes a cycle). A node under the deleted root gets no fractional index, as a delete
    op has none."""
    tm = _TreeMoves()
    thin_tree_into(d, tm, rows)
    tree_put(d, c, tm)
    return 0


def _tree_move_order(row):
    return (row[2][2], row[2][0])


cdef int thin_movable_list(LoroDoc d, uint32_t c, tuple payload, bint chain=False) except -1:
    """A MovableList from its list items: one value slot per item (the element's value on
    the item it stands on, None on an item none stands on), the items built as a List's
    are, and each element standing on its item with its value there (the winners' Lamports
    and peers from the state). Returns the first item's value slot."""
    cdef int64_t base = len(d.log.values)
    values, peers, packed, recs = payload
    thin_seq(d, c, peers, packed, None, ml_slot_values(values, recs), None, chain)
    thin_ml_elems(d, c, payload, base)
    return base


cdef list ml_slot_values(list values, bytes recs):
    """The value of each list item of a MovableList state (codec lc_ml_item records): the
    next of `values` where an element stands, None elsewhere."""
    cdef const lc_ml_item *items = <const lc_ml_item*>PyBytes_AS_STRING(recs)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(recs) // sizeof(lc_ml_item), k, j = 0
    if n == len(values):
        return values       # (every item has its element)
    out = [None] * n
    for k in range(n):
        if items[k].elem_peer != LC_ML_NO_ELEM:
            out[k] = values[j]
            j += 1
    return out


cdef int thin_ml_elems(LoroDoc d, uint32_t c, tuple payload, int64_t base) except -1:
    """The elements of a MovableList state whose items' value slots start at `base`."""
    cdef MovableState ms = ml_state(d)
    cdef lc_ml_elem *el
    cdef const lc_ml_item *items
    cdef const lc_ml_item *it
    cdef const int32_t *runs
    cdef int64_t k, e, slot, n
    cdef uint32_t *pmap
    cdef uint32_t ep, ip
    values, peers, packed, recs = payload
    runs = <const int32_t*>PyBytes_AS_STRING(packed)
    items = <const lc_ml_item*>PyBytes_AS_STRING(recs)
    n = PyBytes_GET_SIZE(recs) // sizeof(lc_ml_item)
    ml_reserve_slots(ms, base + n)
    for k in range(n):
        ms.slot_elem[base + k] = -1
    if ms.n_elems + len(values) > ms.cap_elems:
        # (one element per value: grown once, not by doubling)
        ms.elems = <lc_ml_elem*>grow(ms.elems, &ms.cap_elems, ms.n_elems + len(values),
                                     sizeof(lc_ml_elem))
    ml_invalidate(d, c)
    d.cshown[c] = 0         # (not known until a walk finds it)
    pmap = <uint32_t*>malloc((len(peers) + 1) * sizeof(uint32_t))
    if pmap == NULL:
        raise MemoryError()
    try:
        for k in range(len(peers)):
            pmap[k] = d.log.peer_index(peers[k])
        for k in range(n):
            it = &items[k]
            if it.elem_peer == LC_ML_NO_ELEM:
                continue
            slot = base + k
            ip = pmap[runs[3 * k]]
            ep = pmap[it.elem_peer]
            # (an element's counter is known here only while it stands on its insert's item)
            e = ml_new_elem(d, c, ep,
                            runs[3 * k + 1] if ep == ip and it.elem_lamport == it.lamport else -1,
                            it.elem_lamport, slot)
            el = &ms.elems[e]
            el.pos_slot = slot
            ms.pointed[slot] = 1        # (reserved by ml_new_elem)
            el.pos_lamport = it.lamport
            el.pos_peer = ip
            el.pos_counter = runs[3 * k + 1]
            el.val_slot = slot
            el.val_lamport = it.set_lamport
            el.val_peer = pmap[it.set_peer]
    finally:
        free(pmap)
    return 0


cdef int thin_tree_into(LoroDoc d, object tm, list rows) except -1:
    for node, parent, last, fi in sorted(rows, key=_tree_move_order):
        tm.apply(last[2], last[0], last[1], node, parent, b"" if parent == "deleted" else fi)
    return 0


cdef int thin_drop_state(LoroDoc d) except -1:
    """Empty every container's state (a fresh sequence arena; the thin values go, and the
    peers and keys the state registered, so that the history registers them in its own
    order, as a replayed import does: peer and key indices decide orders users see)."""
    cdef int64_t i
    snap_forget(d)
    d.seq = SeqArena()
    d.thin_texts = None
    d.thin_lazy = None
    d.thin_unreg = None     # (thin_force registered them all first; the state goes anyway)
    d.thin_list_kids = None
    d.lazy_keys = None
    d.lazy_vals = None
    d.lazy_scans = None
    # the document had no ops before the load: its notes of mark ops and its list
    # elements are the state's
    d.styles.clear()
    if d.mls is not None:
        ml_clear(d)
    d.thin_vv = d.thin_fr = None
    for i in range(d.n_containers):
        state_reset(d, <uint32_t>i)
    del d.log.values[d.thin_values0:]
    d.log.drop_peers(d.thin_peers0)
    d.log.keys_truncate(d.thin_keys0)
    return 0


cdef int thin_materialize(LoroDoc d) except -1:
    """Called by doc_acquire holding the lock (and releasing it when this fails): replace
    the thin state by the replay of the kept snapshot. The roots listed stay as the thin
    document listed them. If the history turns out malformed (its blocks were checked
    only by their checksums) the thin state is rebuilt and the error raised."""
    if d.thin_pending is not None:
        # its containers registered as the load listed them, its Lists not built (the
        # replay drops the state: decoding their values would be wasted)
        thin_build_pending(d, False)
    cdef bytes blob = d.thin_blob
    cdef int64_t n = d.n_containers, i
    cdef bytes shown = (<char*>d.croot)[:n]
    cdef list roots = list(d.roots)
    cdef bint was_on = d.evlog.on
    cdef int64_t n_ev = d.evlog.n
    # unchanged since the load: the replay's snapshot export is the blob again (as loro's)
    cdef bint exports_blob = thin_exports_blob(d)
    from loro_c import _import, _codec
    d.evlog.on = 0
    d.thin_blob = None
    d.thin_materializing = True
    try:
        thin_drop_state(d)
        # the replay numbers every container of the history; loro's arena holds only the
        # ones numbered so far (see thin_load), the others wait to be touched
        lnum_flush(d)
        numbers = dict(d.lnum)
        first = d.lazy_first
        listed = d.lazy_roots
        try:
            lnum_settle(d)
            settled = dict(d.lnum)
            _import.import_blobs(d, [blob], False)
            d.log.frontiers_loaded()
        except BaseException:
            d.snap_roots = None
            thin_drop_state(d)
            # (built now: the numbering restored below is the one it built)
            _codec.load_snapshot_state(d, blob, False)
            d.lnum.clear()
            d.lnum.update(numbers)
            d.lazy_first = first
            d.lazy_roots = listed
            memcpy(d.croot, <const char*>shown, <size_t>n)
            d.roots[:] = roots
            raise
        # the history's containers loro's arena has not registered yet wait, as
        # those of a recorded load's dead children do (doc/exchange.pxi number_as_loaded):
        # a parse of their change blocks (an export, a lookup by id, a checkout, a
        # change joining the block, the history cache) registers them, a handle too
        # (in the order a visit of every block registers them: codec snapshot_block_cids)
        lnum_flush(d)
        waiting = [cid for cid in sorted(d.lnum, key=d.lnum.__getitem__)
                   if cid not in settled and not is_root_cid(cid)]
        if waiting:
            # (a second decode of every block: paid only when some container waits)
            unordered = set(waiting)
            visited = _codec.snapshot_block_cids(blob) or []
            ordered = [cid for cid in visited if cid in unordered]
            seen = set(ordered)
            waiting = ordered + [cid for cid in waiting if cid not in seen]
        d.lnum.clear()
        d.lnum.update(settled)
        if waiting:
            if d.lnum_rest is not None:
                before = set(d.lnum_rest)
                waiting = d.lnum_rest + [cid for cid in waiting if cid not in before]
            d.lnum_rest = waiting
        if not d.detached:
            note_store_entries(d)       # (the history's containers, by the loaded state)
        if d.snap_roots is not None:
            hide_unnamed_roots(d)
        for i in range(n, d.n_containers):
            if d.croot[i] == ROOT_SHOWN and i not in d.roots:
                roots.append(i)
        memcpy(d.croot, <const char*>shown, <size_t>n)
        d.roots[:] = roots
        if exports_blob:
            d.snapshot_cache = (snapshot_stamp(d), blob)
        seed_after_replay(d, blob)
        d.loaded_blocks = (d.log.serial, blob)
    finally:
        d.thin_materializing = False
        d.evlog.on = was_on
        d.evlog.n = n_ev
    return 0


cdef int thin_materialize_locked(LoroDoc d) except -1:
    try:
        return thin_materialize(d)
    except BaseException:
        doc_release(d)
        raise


cdef bint vv_load_reorders(list loaded) except -1:
    """Whether loro's version map, made by a snapshot load that lists the peers `loaded`,
    yields them in another order."""
    from loro_c.hash_order import vv_iteration_order
    return len(loaded) > 1 and vv_iteration_order(loaded, (), len(loaded)) != loaded


cdef int thin_exports_blob(LoroDoc d) except -1:
    """Whether a snapshot export of the thin document is its blob again: nothing but reads
    since the load, and the same roots listed (a root taken since is listed in the state).
    loro re-exports an unchanged loaded snapshot byte for byte too, so the history need
    not be materialized for it. Not after a shallow export of a loaded tree
    (tree_ensure_thin): loro's store then holds maps the blob does not list. Nor when
    the load reordered the version: loro writes the "vv" entry in its map's order, and
    the map the load made yields colliding peers the other way round."""
    if d.thin_relisted:
        return False
    if vv_load_reorders(list(d.thin_vv) if d.thin_vv is not None else d.vv_loaded or []):
        return False
    if d.thin_pending is not None:
        return True     # (nothing but the export and versions looked at it)
    return (d.thin_blob is not None and not d.deleted_roots
            and d.thin_roots == tuple(d.roots))
