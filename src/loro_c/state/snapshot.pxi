# The state of every container as a snapshot's state section needs it (issue 11): for each
# container its id, kind, depth and parent, and its state read out of the C structures with
# the ids and Lamports Loro keeps beside the values. The codec (codec/snapshot_encode.pxi)
# writes the bytes; this part only reads the document, at the tracker's (= the log's) head.


from loro_c._tree cimport TREE_NONE as TREE_NONE_NODE, TREE_DELETED as TREE_DELETED_NODE     # meta_rows


# state_listing's answer for a container the state section leaves out
cdef object UNLISTED = object()


cdef class _Chains:
    """Each container's chain of parents as one export finds it, in C arrays by container
    index: its depth (container_depth's) and whether it reaches a root (the entry kept is
    then final). A chain is walked once; the containers on it are noted as it ends."""
    cdef int64_t *memo      # per container: 0 not found yet, else depth * 2 + whole + 1
    cdef int64_t *chain     # the walk's containers (at most every container, once)
    cdef int64_t n

    def __cinit__(self, int64_t n):
        self.n = n
        self.memo = <int64_t*>calloc(<size_t>(n + 1), sizeof(int64_t))
        self.chain = <int64_t*>malloc(<size_t>(n + 2) * sizeof(int64_t))
        if self.memo == NULL or self.chain == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.memo)
        free(self.chain)

    cdef int grow(self, int64_t n) except -1:
        """Room for `n` containers (an export registers none; kept safe if one did)."""
        cdef int64_t *memo
        cdef int64_t *chain
        if n <= self.n:
            raise LoroError("a container index past the document's containers")
        memo = <int64_t*>realloc(self.memo, <size_t>(n + 1) * sizeof(int64_t))
        if memo == NULL:
            raise MemoryError()
        self.memo = memo
        memset(memo + self.n + 1, 0, <size_t>(n - self.n) * sizeof(int64_t))
        chain = <int64_t*>realloc(self.chain, <size_t>(n + 2) * sizeof(int64_t))
        if chain == NULL:
            raise MemoryError()
        self.chain = chain
        self.n = n
        return 0

    cdef int64_t find(self, LoroDoc d, uint32_t c, object link) except 0:
        """The memo of `c`; `link`: its parent container when the caller found it already,
        else None."""
        cdef int64_t n_chain = 0, depth, v
        cdef int64_t whole
        while True:
            if c >= self.n:
                self.grow(d.n_containers)
            v = self.memo[c]
            if v:
                depth = (v - 1) >> 1
                whole = (v - 1) & 1
                break
            if d.croot[c] != ROOT_NONE and d.croot[c] != ROOT_MERGEABLE:
                depth = 1
                whole = 1
                self.memo[c] = 4
                break
            if n_chain > self.n:
                depth = 0       # (a cycle: no log makes one)
                whole = 0
                break
            self.chain[n_chain] = c
            n_chain += 1
            if link is None:
                if d.croot[c] == ROOT_MERGEABLE:
                    got = mergeable_module().parse_child(d.cids[c])
                    link = None if got is None else d.cid_index.get(got[0])
                else:
                    link = parent_container(d, d.cids[c])
                if link is None:
                    depth = 0
                    whole = 0
                    break
            c = <uint32_t>link
            link = None
        v = 0
        while n_chain:
            n_chain -= 1
            depth += 1
            v = depth * 2 + whole + 1
            self.memo[self.chain[n_chain]] = v
        return v if v else depth * 2 + whole + 1

    cdef Py_ssize_t depth(self, LoroDoc d, uint32_t c, object link) except -1:
        """container_depth(d, c)."""
        return (self.find(d, c, link) - 1) >> 1

    cdef bint whole(self, LoroDoc d, uint32_t c) except -1:
        """Whether the chain of parents from `c` reaches a root."""
        return (self.find(d, c, None) - 1) & 1


cdef struct PeerCtr:
    uint64_t peer
    int32_t counter


cdef int _peer_ctr_cmp(const void *a, const void *b) noexcept nogil:
    cdef const PeerCtr *x = <const PeerCtr*>a
    cdef const PeerCtr *y = <const PeerCtr*>b
    if x.peer != y.peer:
        return -1 if x.peer < y.peer else 1
    return (x.counter > y.counter) - (x.counter < y.counter)


cdef class _MapIds:
    """The ids (peer, counter) of the child Map containers among some containers, sorted
    in a C array: meta_rows asks it about every node of a tree (a Python set of pairs cost
    a tuple per container and per node)."""
    cdef PeerCtr *ids
    cdef Py_ssize_t n

    def __cinit__(self, LoroDoc d, list cs):
        cdef Py_ssize_t cap = len(cs)
        cdef uint32_t c
        self.ids = <PeerCtr*>malloc(<size_t>(cap if cap else 1) * sizeof(PeerCtr))
        if self.ids == NULL:
            raise MemoryError()
        self.n = 0
        for x in cs:
            c = <uint32_t>x
            if c >= d.n_containers or d.ckind[c] != KIND_MAP or d.croot[c] != ROOT_NONE:
                continue
            # (a child's id is ContainerID.Normal: its _key is (peer, counter, type))
            key = d.cids[c]._key
            self.ids[self.n].peer = key[0]
            self.ids[self.n].counter = key[1]
            self.n += 1
        if self.n > 1:
            qsort(self.ids, <size_t>self.n, sizeof(PeerCtr), _peer_ctr_cmp)

    def __dealloc__(self):
        free(self.ids)

    cdef bint has(self, uint64_t peer, int32_t counter) noexcept:
        cdef Py_ssize_t lo = 0, hi = self.n, mid
        cdef PeerCtr probe
        cdef int r
        probe.peer = peer
        probe.counter = counter
        while lo < hi:
            mid = (lo + hi) >> 1
            r = _peer_ctr_cmp(&self.ids[mid], &probe)
            if r == 0:
                return True
            if r < 0:
                lo = mid + 1
            else:
                hi = mid
        return False


cdef object state_listing(LoroDoc d, uint32_t c, bint parent_known):
    """Whether a snapshot's state lists container `c`: UNLISTED, or its parent's ContainerID
    (None for a root). `parent_known`: `c`'s entry was kept from the last export, its
    parent found then (a child keeps it): not looked up again, None returned."""
    cdef uint8_t croot = d.croot[c]
    if croot == ROOT_MERGEABLE:
        # kept while it has state, shown or not (its parent's marker may come back);
        # an empty one has no entry: importers find it from the marker, as in loro
        v = value_of(d, c, False)
        if (v == 0.0 if d.ckind[c] == KIND_COUNTER else len(v) == 0):
            return UNLISTED
        if parent_known:
            return None
        # loro's arena links it to the map its id names, one level below
        got = mergeable_module().parse_child(d.cids[c])
        return None if got is None else got[0]
    if croot != ROOT_NONE:
        if croot != ROOT_SHOWN:
            return UNLISTED
        if d.deleted_roots and d.cids[c] in d.deleted_roots:
            # a root cleared by delete_root_container stays out while it is empty, as
            # in loro's state (and in get_value)
            v = value_of(d, c, False)
            if (v == 0.0 if d.ckind[c] == KIND_COUNTER else len(v) == 0):
                return UNLISTED
        return None
    if d.unstored and d.cids[c] in d.unstored:
        return UNLISTED
    if parent_known:
        return None
    link = parent_container(d, d.cids[c])
    return UNLISTED if link is None else d.cids[<uint32_t>link]


def snapshot_state_rows(LoroDoc d):
    """[(cid, kind, depth, parent cid or None, payload)] of the containers a snapshot's state
    holds: the roots the document lists and every child container loro's store would hold
    (see note_store_entries).
    Payloads: Text (str, runs, marks: see rich_text_chunks; a text without marks packs
    its runs, seq_visible_packed),
    List (list_state_packed), Map ([(key, has value, value, peer,
    lamport)]), Counter (float), MovableList (movable_list_rows), Tree (tree_state_rows)."""
    cdef uint32_t c
    cdef dict depth_of = {}
    cdef list rows = []
    if not d.detached:
        note_store_entries(d)       # (containers a loaded snapshot's history registered since)
    for c in range(<uint32_t>d.n_containers):
        parent = state_listing(d, c, False)
        if parent is UNLISTED:
            continue
        rows.append((d.cids[c], d.ckind[c], container_depth(d, c, depth_of), parent,
                     state_payload(d, c)))
    trees = [row for row in rows if row[1] == KIND_TREE]
    if trees:
        listed = _MapIds(d, [d.cid_index[row[0]] for row in rows])
        for row in trees:
            meta_rows(d, row, listed, rows)
    return rows


cdef list snapshot_state_entries(LoroDoc d):
    """The state section's (key, value) entries in key order: the containers
    snapshot_state_rows lists,
    each encoded as the codec's encode_state_rows does, and their trees' meta maps. The
    entry of a container whose state no op changed since the last export is the one kept
    then (`d.snap_entries`, stale when `d.sdirty` marks it: apply_op, after_local_op and the
    tracker's moves mark the containers they touch; checkouts, rebuilds and undone imports
    keep none), as loro keeps each container's encoded state in its store. An entry is
    kept only when its container's chain of parents reaches a root (its depth is final:
    a parent is the container of the op that created the child, and the log only grows).
    A tree's meta maps are kept too, while the tree and the containers listed stay the
    same. Not detached (the state is the log's head)."""
    cdef uint32_t c
    cdef int64_t n, i, n_plan = 0
    cdef uint8_t *grown
    cdef int64_t *plan = NULL
    cdef _Chains chains
    cdef dict new_meta = {}
    cdef dict old_meta = d.snap_meta
    cdef list entries, listed = [], rows = [], at = [], out, meta_all = []
    cdef set fresh = set()
    cdef list order, result
    cdef bint same_listing, same_meta = True, tree_fresh = False
    cdef bytes listing
    cdef unsigned char *lp
    note_store_entries(d)
    if d.snap_seed is not None:
        seed_loaded_entries(d)
    n = d.n_containers
    entries = d.snap_entries
    if entries is None:
        entries = [None] * n
        d.snap_entries = entries
        old_meta = d.snap_meta = None
        d.snap_listed = None
        d.snap_listing = d.snap_result = None
        d.snap_pos = None
    elif len(entries) < n:
        entries.extend([None] * (n - len(entries)))
    if d.n_sdirty < n:
        grown = <uint8_t*>realloc(d.sdirty, <size_t>n)
        if grown == NULL:
            raise MemoryError()
        memset(grown + d.n_sdirty, 1, <size_t>(n - d.n_sdirty))
        d.sdirty = grown
        d.n_sdirty = n
    # which containers are listed, one byte each: compared with the last export's at C
    # speed (a listing, and so the key order, rarely changes between exports)
    listing = PyBytes_FromStringAndSize(NULL, n)
    lp = <unsigned char*>PyBytes_AS_STRING(listing)
    memset(lp, 0, <size_t>n)
    chains = _Chains(n)
    try:
        for c in range(<uint32_t>n):
            kept = entries[c]
            if kept is not None and d.sdirty[c]:
                kept = None
            if kept is None and d.ckind[c] == KIND_MAP and d.croot[c] == ROOT_NONE:
                # a child map (a record, a tree node's meta: most containers): listed as
                # state_listing says, its depth and parent index planned for the codec,
                # which reads its state from the C map (encode_map_entries)
                if d.unstored and d.cids[c] in d.unstored:
                    continue
                link = parent_container(d, d.cids[c])
                if link is None:
                    continue
                lp[c] = 1
                if plan == NULL:
                    plan = <int64_t*>malloc(<size_t>(3 * (n - c)) * sizeof(int64_t))
                    if plan == NULL:
                        raise MemoryError()
                plan[3 * n_plan] = c
                plan[3 * n_plan + 1] = chains.depth(d, c, link)
                plan[3 * n_plan + 2] = <int64_t>link
                n_plan += 1
                continue
            # (a kept entry's container had its parent then, and keeps it)
            parent = state_listing(d, c, kept is not None)
            if parent is UNLISTED:
                continue
            lp[c] = 1
            if kept is None and d.ckind[c] == KIND_MAP and parent is None:
                # a root map (a server's document of thousands of keys): planned as the
                # child maps are, no Python row per key
                if plan == NULL:
                    plan = <int64_t*>malloc(<size_t>(3 * (n - c)) * sizeof(int64_t))
                    if plan == NULL:
                        raise MemoryError()
                plan[3 * n_plan] = c
                plan[3 * n_plan + 1] = chains.depth(d, c, None)
                plan[3 * n_plan + 2] = -1
                n_plan += 1
                continue
            if kept is None:
                # (a tree goes as its TreeMoves: the codec reads its nodes in C)
                rows.append((d.cids[c], d.ckind[c], chains.depth(d, c, None), parent,
                             tree_state(d, c) if d.ckind[c] == KIND_TREE
                             else state_payload(d, c)))
                at.append(c)
                if d.ckind[c] == KIND_TREE:
                    tree_fresh = True
        planned = (PyBytes_FromStringAndSize(<const char*>plan, n_plan * 3 * sizeof(int64_t))
                   if n_plan else None)
    finally:
        free(plan)
        plan = NULL     # (read from `planned` below)
    if rows:
        encoded = _codec_module().encode_state_rows(rows)
        for i in range(len(rows)):
            c = <uint32_t>at[i]
            entries[c] = encoded[i]
            d.sdirty[c] = 0 if chains.whole(d, c) else 1
            fresh.add(c)
    if n_plan:
        encoded = _codec_module().encode_map_entries(d, planned)
        plan = <int64_t*>PyBytes_AS_STRING(planned)
        for i in range(n_plan):
            c = <uint32_t>plan[3 * i]
            entries[c] = encoded[i]
            d.sdirty[c] = 0 if chains.whole(d, c) else 1
    same_listing = d.snap_listing is not None and listing == d.snap_listing
    if same_listing and not tree_fresh and d.snap_result is not None:
        # the same containers (so the same meta maps and key order) as last time: only
        # the entries encoded afresh move into their places
        result = d.snap_result
        for c in at:
            result[<Py_ssize_t>d.snap_pos[c]] = entries[c]
        for i in range(n_plan):
            c = <uint32_t>plan[3 * i]
            result[<Py_ssize_t>d.snap_pos[c]] = entries[c]
        return result
    for c in range(<uint32_t>n):
        if lp[c]:
            listed.append(c)
    map_ids = None
    for c in listed:
        if d.ckind[c] != KIND_TREE:
            continue
        got = None
        if same_listing and old_meta is not None and c not in fresh:
            got = old_meta.get(c)
        if got is None:
            same_meta = False
            if map_ids is None:
                map_ids = _MapIds(d, listed)
            got = tree_meta_entries(d, c, map_ids, chains.depth(d, c, None))
        new_meta[c] = got
        meta_all.extend(got)
    d.snap_meta = new_meta
    d.snap_listed = listed
    d.snap_listing = listing
    out = [entries[c] for c in listed]
    out.extend(meta_all)
    # in key order: the same keys as last time are in the same order
    order = d.snap_order if same_listing and same_meta else None
    if order is None or len(order) != len(out):
        order = key_order(out)
        d.snap_order = order
    result = [out[i] for i in order]
    pos = {}
    for i in range(len(order)):
        if order[i] < len(listed):
            pos[listed[order[i]]] = i
    d.snap_result = result
    d.snap_pos = pos
    return result


cdef int seed_after_replay(LoroDoc d, bytes blob) except -1:
    """The history of loaded snapshot `blob` was just replayed (thin_materialize), nothing
    changed since: each container's state is the loaded one, so its entry in the blob's
    state section is its snapshot entry, as loro's store keeps a loaded container's bytes
    until it changes. From now on `sdirty` marks the containers that change; the next
    export takes the entries of the others from the blob (seed_loaded_entries), so the
    first export after an edit encodes the edited containers alone. Nothing is read here:
    a load that is edited and never exported pays nothing for it."""
    cdef int64_t n = d.n_containers
    cdef uint8_t *grown
    if d.detached:
        return 0
    snap_forget(d)
    if d.n_sdirty < n:
        grown = <uint8_t*>realloc(d.sdirty, <size_t>n)
        if grown == NULL:
            raise MemoryError()
        d.sdirty = grown
        d.n_sdirty = n
    if d.n_sdirty:
        memset(d.sdirty, 0, <size_t>d.n_sdirty)
    d.snap_seed = blob
    return 0


cdef int seed_loaded_entries(LoroDoc d) except -1:
    """The kept entries seed_after_replay promised (snapshot_state_entries, before anything
    else reads `snap_entries`): the loaded entry of each container not marked since the
    replay. Trees (their meta maps are listed with them) and mergeable children are left
    to the export, and so is a container whose chain of parents does not reach a root."""
    cdef int64_t n = d.n_containers
    cdef uint32_t c
    cdef _Chains chains
    cdef list entries
    blob = d.snap_seed
    d.snap_seed = None
    got = _codec_module().loaded_state_entries(blob)
    if not got:
        return 0
    entries = [None] * n
    chains = _Chains(n)
    index = d.cid_index
    for cid, key, value in got:
        i = index.get(cid)
        if i is None:
            continue
        c = <uint32_t>i
        if (c >= d.n_sdirty or d.sdirty[c] or d.ckind[c] == KIND_TREE
                or d.croot[c] == ROOT_MERGEABLE or not chains.whole(d, c)):
            continue
        entries[c] = (key, value)
    d.snap_entries = entries
    return 0


cdef bint loaded_entry(LoroDoc d, tuple entry) except -1:
    """Whether `entry` is the very entry of the loaded snapshot's state section (kept by
    seed_loaded_entries: loro's bytes when loro wrote the blob, e.g. a map's keys in its
    order)."""
    if d.loaded_store is None or type(d.loaded_store[1]) is not bytes:
        return False
    for cid, key, value in _codec_module().loaded_state_entries(d.loaded_store[1]) or ():
        if key == entry[0]:
            return value == entry[1]
    return False


cdef list tree_meta_entries(LoroDoc d, uint32_t c, _MapIds listed, Py_ssize_t depth):
    """The encoded entries of tree `c` (at `depth`)'s meta maps that meta_rows adds."""
    cdef list rows = []
    meta_rows(d, (d.cids[c], KIND_TREE, depth, None, None), listed, rows)
    return _codec_module().encode_state_rows(rows) if rows else []


cdef int check_snapshot_entries(LoroDoc d) except -1:
    """Each snapshot entry kept and not marked stale is its container's state encoded now,
    and each tree's kept meta maps are what meta_rows lists for the containers listed
    then (run by check_invariants, at the log's head)."""
    cdef uint32_t c
    cdef int64_t i, n = d.n_containers
    cdef dict depth_of = {}
    cdef list entries = d.snap_entries, rows = [], at = []
    if entries is None or d.detached or d.thin_blob is not None:
        return 0
    for i in range(min(len(entries), n)):
        c = <uint32_t>i
        if entries[c] is None or (c < d.n_sdirty and d.sdirty[c]):
            continue
        cid = d.cids[c]
        if d.croot[c] == ROOT_MERGEABLE:
            got = mergeable_module().parse_child(cid)
            parent = None if got is None else got[0]
        elif d.croot[c] != ROOT_NONE:
            parent = None
        else:
            link = parent_container(d, cid)
            if link is None:
                raise AssertionError(f"a snapshot entry is kept for {cid}, which has no parent")
            parent = d.cids[<uint32_t>link]
        rows.append((cid, d.ckind[c], container_depth(d, c, depth_of), parent,
                     state_payload(d, c)))
        at.append(c)
    encoded = _codec_module().encode_state_rows(rows) if rows else []
    for i in range(len(rows)):
        if encoded[i] != entries[<uint32_t>at[i]] and not loaded_entry(d, entries[<uint32_t>at[i]]):
            raise AssertionError(f"the snapshot entry kept for {rows[i][0]} is stale")
    if d.snap_meta and d.snap_listed is not None:
        listed_ids = _MapIds(d, [k for k in d.snap_listed if k < n])
        for c, got in d.snap_meta.items():
            if c < d.n_sdirty and d.sdirty[c]:
                continue
            if tree_meta_entries(d, c, listed_ids, container_depth(d, c, depth_of)) != got:
                raise AssertionError(f"the meta map entries kept for {d.cids[c]} are stale")
    return 0


cdef class MetaMapKey:
    """The state key of a tree node's meta map no op touched, as ContainerID.to_bytes
    writes it: a snapshot lists one per node, so none of them is made a ContainerID."""
    cdef bytes key

    def to_bytes(self):
        return self.key


cdef int meta_rows(LoroDoc d, tuple tree_row, _MapIds listed, list rows) except -1:
    """An empty state for each node's meta map the rows leave out (`listed`: the Map
    containers they list): loro's store holds the
    meta map of every node created (a create ensures it), edited or not, the node deleted
    or not (measured on loro 1.17.1), but for a node that loro's tree diff brought in only
    inside the deleted subtree (TreeMoves.unensured: kinds session 1054); a peer that
    loads the snapshot numbers containers in the order of this listing. A fork_at or a
    shallow export made the maps of the nodes of its version (tree_ensure_at)."""
    cdef TreeMoves tm = <TreeMoves>tree_state(d, d.cid_index[tree_row[0]])
    cdef int64_t k
    cdef int j
    cdef uint64_t peer
    cdef uint32_t counter
    cdef unsigned char key[13]
    cdef MetaMapKey mk
    cdef dict ensured = d.metas_ensured    # (nodes a fork_at or shallow export made maps for)
    key[0] = <unsigned char>(KIND_MAP & 0x7F)
    depth = tree_row[2] + 1
    tm.settle()
    for k in range(tm.n_nodes):
        if tm.nodes[k].parent == TREE_NONE_NODE:
            continue
        peer = tm.nodes[k].peer
        counter = <uint32_t>tm.nodes[k].counter
        if listed.has(peer, <int32_t>counter):
            continue
        if ensured is None or counter >= <uint32_t>ensured.get(peer, 0):
            if tm.unensured and (peer, <int32_t>counter) in tm.unensured:
                continue
            if (d.loaded_store is not None and tm.top_of(k) == TREE_DELETED_NODE
                    and from_loaded(d, _types.ContainerID.Normal(peer, counter, _types.ContainerType.Map()))
                    and not loaded_listed(d, _types.ContainerID.Normal(peer, counter, _types.ContainerType.Map()))):
                # (a deleted node of the snapshot loaded whose map its state did not list:
                # a load that replaced its trees by the history's replay no longer knows it)
                continue
        # kind, peer u64 and counter i32, little-endian
        for j in range(8):
            key[1 + j] = <unsigned char>((peer >> (8 * j)) & 0xFF)
        for j in range(4):
            key[9 + j] = <unsigned char>((counter >> (8 * j)) & 0xFF)
        mk = MetaMapKey.__new__(MetaMapKey)
        mk.key = (<char*>key)[:13]
        rows.append((mk, KIND_MAP, depth, tree_row[0], []))
    return 0


cdef struct KeyAt:
    uint64_t w0, w1         # the key's first 16 bytes, big-endian, zero-padded
    const char *p
    Py_ssize_t n
    Py_ssize_t i


cdef int _key_at_cmp(const void *a, const void *b) noexcept nogil:
    # bytes order: the padded words decide unless equal (then the rest, then the length:
    # a zero pad equals a zero byte, and the shorter key is the smaller)
    cdef const KeyAt *x = <const KeyAt*>a
    cdef const KeyAt *y = <const KeyAt*>b
    cdef Py_ssize_t n
    cdef int r
    if x.w0 != y.w0:
        return -1 if x.w0 < y.w0 else 1
    if x.w1 != y.w1:
        return -1 if x.w1 < y.w1 else 1
    n = x.n if x.n < y.n else y.n
    if n > 16:
        r = memcmp(x.p + 16, y.p + 16, <size_t>(n - 16))
        if r != 0:
            return r
    if x.n != y.n:
        return (x.n > y.n) - (x.n < y.n)
    return (x.i > y.i) - (x.i < y.i)


cdef list key_order(list entries):
    """The positions of (key bytes, value) `entries` in key order (then by position), as
    sorting (key, position) pairs gives them, sorted in C."""
    cdef Py_ssize_t n = len(entries), i, j
    cdef KeyAt *keys = <KeyAt*>malloc(<size_t>(n if n else 1) * sizeof(KeyAt))
    cdef bytes k
    if keys == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            k = entries[i][0]      # (checked: bytes)
            keys[i].p = PyBytes_AS_STRING(k)
            keys[i].n = PyBytes_GET_SIZE(k)
            keys[i].i = i
            keys[i].w0 = keys[i].w1 = 0
            for j in range(16 if keys[i].n > 16 else keys[i].n):
                if j < 8:
                    keys[i].w0 |= (<uint64_t>(<unsigned char>keys[i].p[j])) << (8 * (7 - j))
                else:
                    keys[i].w1 |= (<uint64_t>(<unsigned char>keys[i].p[j])) << (8 * (15 - j))
        if n > 1:
            qsort(keys, <size_t>n, sizeof(KeyAt), _key_at_cmp)
        return [keys[i].i for i in range(n)]
    finally:
        free(keys)


cdef int note_store_entries(LoroDoc d) except -1:
    """After an import or a checkout: note the child containers loro's state store still
    does not hold. loro's store gets an entry for a container when a local op creates or
    edits it, when an applied diff of its own is not empty, or when a diff applied to a
    container in the store names it as a value (alive, or inside a dead container whose own
    diff was not empty), diffs being computed over the whole import. So a child created
    and deleted within one import with nothing left in it (a counter back at 0, an emptied
    text or list, a map no key was ever written in) has none, and loro's snapshot leaves
    it out of its state (measured on loro 1.17.1). Only the containers registered since the
    last look, and those still left out, are looked at: nothing per op."""
    cdef int64_t c, n = d.n_containers
    cdef list more = d.thin_listed_more
    cdef Py_ssize_t m = 0
    if d.unstored:
        for cid in list(d.unstored):
            got = d.cid_index.get(cid)
            if got is None or own_diff_nonempty(d, <uint32_t>got) or held_in_store(d, <uint32_t>got):
                d.unstored.discard(cid)
    for c in range(d.store_seen, n):
        if d.croot[c] != ROOT_NONE:
            continue
        if d.ckind[c] == KIND_TREE:
            continue        # (not measured: kept)
        if d.loaded_store is not None and d.thin_listed_lo <= c < d.thin_listed_hi:
            continue        # (registered from the loaded state: listed there)
        if more is not None:
            # (and those registered from it later: ranges in index order)
            while m < len(more) and more[m][1] <= c:
                m += 1
            if m < len(more) and more[m][0] <= c and d.loaded_store is not None:
                continue
        if d.loaded_store is not None and loaded_listed(d, d.cids[c]):
            continue
        if own_diff_nonempty(d, <uint32_t>c) or held_in_store(d, <uint32_t>c):
            continue
        if d.unstored is None:
            d.unstored = set()
        d.unstored.add(d.cids[c])
    if n > d.store_seen:
        d.store_seen = n
    d.thin_listed_lo = d.thin_listed_hi = 0     # (below store_seen now: never looked at again)
    d.thin_listed_more = None
    return 0


cdef int note_loaded_store(LoroDoc d, object blob, dict end_vv=None,
                           set listing=None) except -1:
    """A snapshot was loaded into this empty document: its containers, however lazily
    registered, are in loro's store when its state lists them. `end_vv`: its version
    ({peer: end}) when the caller read its metadata already (else from_loaded reads it);
    `listing`: the containers its state lists, likewise (else loaded_listing reads them)."""
    d.loaded_store = [end_vv, blob, listing]
    return 0


cdef bint from_loaded(LoroDoc d, object cid) except -1:
    """Whether the child `cid` was created in the history of the snapshot loaded."""
    if d.loaded_store is None or isinstance(cid, _types.ContainerID.Root):
        return False
    if d.loaded_store[0] is None:
        # (a thin load has not parsed its history: the blob's header says its version)
        try:
            meta = _codec_module().decode_blob_meta(d.loaded_store[1], False)
        except LoroError:
            meta = None
        if meta is None or meta.mode is not _types.EncodedBlobMode.Snapshot:
            d.loaded_store = None       # an updates blob: its containers are looked at
            return False
        d.loaded_store[0] = meta.partial_end_vv.to_dict()
    return cid.counter < d.loaded_store[0].get(cid.peer, 0)


cdef bint loaded_listed(LoroDoc d, object cid) except -1:
    """Whether the state of the snapshot loaded lists `cid`."""
    if not from_loaded(d, cid):
        return False
    return cid in loaded_listing(d)


cdef set loaded_listing(LoroDoc d):
    """The ids the state of the snapshot loaded lists (d.loaded_store set), read once."""
    if d.loaded_store[2] is None:
        d.loaded_store[2] = set(_codec_module().snapshot_state_containers(d.loaded_store[1]) or ())
    return d.loaded_store[2]


cdef object forked_unstored(LoroDoc d, object own):
    """The set a fork of `d` keeps: `d`'s (loro forks through a snapshot of its store),
    and, of those the fork's one import left out (`own`), the ones `d` has not looked at
    yet that its loaded snapshot did not list, or, `d` detached, that an import while
    detached brought: loro's snapshot of a detached document moves its state to the
    latest version first, and that move's diffs name them no more than the fork's import
    does (latek session 19975: a text whose map key a concurrent write took)."""
    cdef set out = set(d.unstored) if d.unstored else set()
    if own and (d.loaded_store is not None or d.detached):
        for cid in own:
            got = d.cid_index.get(cid)
            if got is not None and <int64_t>got < d.store_seen:
                continue
            if d.loaded_store is not None and from_loaded(d, cid):
                if not loaded_listed(d, cid):
                    out.add(cid)
            elif d.detached:
                out.add(cid)
    return out or None


cdef bint own_diff_nonempty(LoroDoc d, uint32_t c) except -1:
    """Whether a container with no store entry gets a non-empty diff of its own from its
    state now (its state as loro's diff from nothing to here)."""
    cdef int kind = d.ckind[c]
    cdef lc_map *m
    cdef uint32_t i
    if kind == KIND_COUNTER:
        return d.ccounter[c] != 0.0
    if kind == KIND_TEXT or kind == KIND_LIST:
        return d.seq.visible_len(d.ctree[c]) > 0
    if kind == KIND_MOVABLE_LIST:
        # its diff names every element an op made, deleted ones too: any item at all
        leaf = d.seq.first_leaf(d.ctree[c])
        return leaf != LC_NO_NODE and d.seq.nodes[leaf].n > 0
    if kind == KIND_MAP:
        # a map's diff names every key written, deleted ones too
        m = &d.maps[d.ctree[c]]
        for i in range(m.cap):
            if m.entries[i].key != LC_NO_KEY:
                return True
        return False
    return True


cdef bint held_in_store(LoroDoc d, uint32_t c) except -1:
    """Whether the container that created `c` is in loro's store and holds `c` now. A map
    parent is asked for the creating op's key, a list for the element the op inserted, a
    movable list for the element the op inserted or set: each in O(log n), since the
    children left out are asked again at every import."""
    cdef OpLog log = d.log
    cdef int64_t k, el, vslot
    cdef uint32_t p, found
    cdef MovableState s
    cdef int kind
    cdef lc_span *sp
    cid = d.cids[c]
    k = child_op(d, cid, &found, False)     # (doc/liveness.pxi)
    if k == -3:
        return True
    if k < 0:
        # no op of the log creates it: no parent's diff named it
        return False
    p = log.ops[k].container
    if d.croot[p] == ROOT_NONE and d.unstored and d.cids[p] in d.unstored:
        return False
    kind = d.ckind[p]
    if kind == KIND_MAP:
        # the creating op's value is the key's only when that op still wins it
        return map_key_holds(d, p, &log.ops[k])
    if kind == KIND_LIST:
        # a list's element has its creating op's id: alive, it holds the child (found in
        # the atom index, not by reading the list: dead children recheck at every import)
        sp = list_atom(d, p, found, <int32_t>cid.counter)
        return sp != NULL and span_visible(sp)
    if kind != KIND_MOVABLE_LIST:
        return True
    # a movable list's diff names the value of every element an op of it touched, deleted
    # elements too (probed on loro 1.17.1: a child inserted and deleted within one import
    # is stored, one whose value a later set of that import replaced is not): it holds the
    # child while the element the op gave it to keeps this op's value
    s = ml_state(d)
    el = ml_elem_of_op(d, s, p, &log.ops[k], <int32_t>cid.counter, &vslot)
    return el >= 0 and s.elems[el].val_slot == vslot


cdef object parent_container(LoroDoc d, object cid):
    """Index of the container whose op created the child container `cid`, or None."""
    cdef OpLog log = d.log
    cdef int64_t ch, k
    cdef int32_t counter
    cdef tuple parts = cid._key        # (peer, counter, type): read once (a snapshot asks per child)
    found = log.peer_map.get(parts[0])
    if found is None:
        return None
    counter = parts[1]
    ch = log.find_change(<uint32_t>found, counter)
    if ch < 0 or (d.shallow_base is not None
                  and counter < <int32_t>d.shallow_base.get(<uint32_t>found, 0)):
        # a shallow document's container created before its root: the root's state says
        link = d.shallow_parents.get(cid) if d.shallow_parents is not None else None
        return None if link is None else link[0]
    k = log.find_op(ch, counter)
    if k >= <int64_t>(log.changes[ch].ops_off + log.changes[ch].ops_len) or log.ops[k].counter > counter:
        return None
    return log.ops[k].container


cdef Py_ssize_t container_depth(LoroDoc d, uint32_t c, dict depth_of) except -1:
    """Loro's arena depth: 1 for a root, its parent's plus one for a child (iterative: a
    chain of nested containers may be deep)."""
    cdef list chain = []
    cdef Py_ssize_t depth
    while True:
        got = depth_of.get(c)
        if got is not None:
            depth = got
            break
        if d.croot[c] != ROOT_NONE and d.croot[c] != ROOT_MERGEABLE:
            depth = 1
            depth_of[c] = 1
            break
        chain.append(c)
        if d.croot[c] == ROOT_MERGEABLE:
            got = mergeable_module().parse_child(d.cids[c])
            link = None if got is None else d.cid_index.get(got[0])
        else:
            link = parent_container(d, d.cids[c])
        if link is None:
            depth = 0
            break
        c = <uint32_t>link
    for c in reversed(chain):
        depth += 1
        depth_of[c] = depth
    return depth


cdef object state_payload(LoroDoc d, uint32_t c):
    cdef int kind = d.ckind[c]
    if kind == KIND_TEXT:
        if d.seq.nodes[d.seq.roots[d.ctree[c]]].lens.anchors:
            return rich_text_chunks(d, c)
        return (text_value(d, c), seq_visible_packed(d, c, NULL, 0), [])
    if kind == KIND_MOVABLE_LIST:
        return movable_list_rows(d, c)
    if kind == KIND_TREE:
        return tree_state_rows(d, c)
    if kind == KIND_LIST:
        # no Python object per item: the codec reads each value from the log's list by
        # its slot, and the ids from the runs (a list of 20,000 items made 20,000 slot
        # ints, value copies and id tuples)
        return list_state_packed(d, c)
    if kind == KIND_MAP:
        return map_state_rows(d, c)
    if kind == KIND_COUNTER:
        return d.ccounter[c]
    raise SnapshotStateUnsupported(
        f"{_TYPE_NAMES[kind]} containers have no snapshot state in loro_c yet")


class SnapshotStateUnsupported(LoroError):
    """A container kind whose state loro_c cannot write in a snapshot's state section:
    ExportMode.Snapshot then falls back to the whole history as updates (every kind has a
    state writer now; kept for kinds to come)."""



cdef tuple list_state_packed(LoroDoc d, uint32_t c):
    """List `c`'s state payload: (the log's value list, the value slots of its visible
    items in order as native uint32s, their id runs as seq_visible_packed packs them),
    read in one walk of its spans."""
    cdef int64_t n = d.seq.visible_len(d.ctree[c])
    cdef bytes slots = PyBytes_FromStringAndSize(NULL, n * sizeof(uint32_t))
    runs = seq_visible_packed(d, c, <uint32_t*>PyBytes_AS_STRING(slots), n)
    return (d.log.values, slots, runs)


cdef bytes seq_visible_packed(LoroDoc d, uint32_t c, uint32_t *slots, int64_t n_slots):
    """Ids of the visible atoms of a Text or List in document order, as runs of one op
    joined with the next when ids and Lamports continue, packed as int64 quads (peer id as
    uint64, counter, lamport, len): a text has thousands of runs, and a tuple each made
    the export allocate (and the collector visit) that many objects. With `slots` (a
    List's, room for its `n_slots` visible atoms, which it must hold exactly), each atom's
    content (its value's slot in `d.log.values`) is written there in the same walk: the
    spans are read from memory once."""
    cdef SeqArena a = d.seq
    cdef OpLog log = d.log
    cdef uint32_t leaf = a.first_leaf(d.ctree[c])
    cdef lc_span *s
    cdef int i
    cdef uint32_t lam, run_peer = LC_NO_PEER, run_lam = 0
    cdef int64_t run_ctr = 0, run_len = 0, k = 0, j
    # (a list's runs are at most its items: room for them, within reason, from the start)
    cdef _Quads out = _Quads(min(n_slots, 1 << 16))
    cdef uint32_t next_leaf
    cdef size_t line
    while leaf != LC_NO_NODE:
        # the next leaf is anywhere in the node arena: its spans are asked for while
        # this leaf's are read
        next_leaf = a.nodes[leaf].next_leaf
        if next_leaf != LC_NO_NODE:
            for line in range(0, sizeof(lc_node), 64):
                lc_prefetch(<const char*>&a.nodes[next_leaf] + line)
        for i in range(a.nodes[leaf].n):
            s = &a.nodes[leaf].u.spans[i]
            if not span_visible(s):
                continue
            if slots != NULL:
                if k + s.len > n_slots:
                    raise LoroError("a list's visible atoms are more than its length")
                for j in range(s.len):
                    slots[k + j] = s.content + <uint32_t>j
                k += s.len
            lam = log.lamport_of(s.id)
            if (s.id.peer == run_peer and s.id.counter == run_ctr + run_len
                    and lam == run_lam + <uint32_t>run_len):
                run_len += s.len
                continue
            if run_peer != LC_NO_PEER:
                out.push(<int64_t>log.peer_ids[run_peer], run_ctr, run_lam, run_len)
            run_peer = s.id.peer
            run_ctr = s.id.counter
            run_lam = lam
            run_len = s.len
        leaf = next_leaf
    if run_peer != LC_NO_PEER:
        out.push(<int64_t>log.peer_ids[run_peer], run_ctr, run_lam, run_len)
    if slots != NULL and k != n_slots:
        raise LoroError("a list's visible atoms are fewer than its length")
    return out.to_bytes()


cdef extern from "Python.h":
    PyObject *PyBytes_New "PyBytes_FromStringAndSize" (const char *s, Py_ssize_t n)
    int _PyBytes_Resize(PyObject **b, Py_ssize_t n) except -1
    void Py_XDECREF_raw "Py_XDECREF" (PyObject *o)


cdef class _Quads:
    """A growable array of int64 quads, held in the bytes object it becomes: a list's
    runs are as many as its items, and copying them into a bytes object at the end cost
    as much as the walk that found them."""
    cdef PyObject *buf      # a bytes object no one else holds yet: resized in place
    cdef int64_t *q
    cdef int64_t n, cap

    def __cinit__(self, int64_t cap_hint):
        self.cap = cap_hint if cap_hint > 0 else 256
        self.buf = PyBytes_New(NULL, self.cap * 4 * sizeof(int64_t))
        if self.buf == NULL:
            raise MemoryError()
        self.q = <int64_t*>PyBytes_AS_STRING(<object>self.buf)

    def __dealloc__(self):
        Py_XDECREF_raw(self.buf)

    cdef int push(self, int64_t a, int64_t b, int64_t c, int64_t e) except -1:
        if self.n == self.cap:
            if self.buf == NULL:
                raise LoroError("the quads were handed over already")
            _PyBytes_Resize(&self.buf, 2 * self.cap * 4 * sizeof(int64_t))  # (NULL on failure)
            self.cap *= 2
            self.q = <int64_t*>PyBytes_AS_STRING(<object>self.buf)
        self.q[4 * self.n] = a
        self.q[4 * self.n + 1] = b
        self.q[4 * self.n + 2] = c
        self.q[4 * self.n + 3] = e
        self.n += 1
        return 0

    cdef bytes to_bytes(self):
        """The quads pushed, as a bytes object; the array is handed over (no more pushes)."""
        if self.buf == NULL:
            raise LoroError("the quads were handed over already")
        _PyBytes_Resize(&self.buf, self.n * 4 * sizeof(int64_t))
        out = <bytes>self.buf
        Py_XDECREF_raw(self.buf)
        self.buf = NULL
        self.q = NULL
        self.n = self.cap = 0
        return out


cdef list map_state_rows(LoroDoc d, uint32_t c):
    """(key, has value, value, peer id, lamport) of every key the map holds a winner for."""
    cdef lc_map *m = &d.maps[d.ctree[c]]
    cdef uint32_t i
    cdef list keys = d.log.keys, values = d.log.values
    cdef list out = []
    for i in range(m.cap):
        if m.entries[i].key == LC_NO_KEY or m.entries[i].peer == LC_NO_KEY:
            continue
        if m.entries[i].slot >= 0:
            out.append((keys[m.entries[i].key], True,
                        resolve_value(d, values[m.entries[i].slot], False),
                        d.log.peer_objs[m.entries[i].peer], m.entries[i].lamport))
        else:
            out.append((keys[m.entries[i].key], False, None,
                        d.log.peer_objs[m.entries[i].peer], m.entries[i].lamport))
    return out


cdef tuple rich_text_chunks(LoroDoc d, uint32_t c):
    """A text with marks as Loro's state holds it: (str, chunks, marks). Chunks are the
    visible atoms in document order, (peer id, counter, lamport, len) with len > 0 for code
    points, 0 for a style start and -1 for a style end; marks are (key, value, info), one
    per style start in chunk order."""
    cdef SeqArena a = d.seq
    cdef OpLog log = d.log
    cdef uint32_t leaf = a.first_leaf(d.ctree[c])
    cdef lc_span *s
    cdef int i
    cdef uint32_t lam
    cdef list chunks = [], marks = []
    while leaf != LC_NO_NODE:
        for i in range(a.nodes[leaf].n):
            s = &a.nodes[leaf].u.spans[i]
            if not span_visible(s):
                continue
            lam = log.lamport_of(s.id)
            pid = log.peer_objs[s.id.peer]
            if not lc_span_is_anchor(s):
                chunks.append((pid, s.id.counter, lam, s.len))
            elif s.content == LC_ANCHOR_START:
                st = anchor_style(d, s)
                chunks.append((pid, s.id.counter, lam, 0))
                marks.append((st[0], st[1], st[2] & 0xFF))
            else:
                chunks.append((pid, s.id.counter, lam, -1))
        leaf = a.nodes[leaf].next_leaf
    return (text_value(d, c), chunks, marks)


cdef tuple movable_list_rows(LoroDoc d, uint32_t c):
    """A MovableList as Loro's state holds it: (values, items). Items are its visible list
    items in order, (peer id, counter, lamport, element, last set): the element standing
    on the item as its IdLp (peer id, lamport), or None for an item no element stands on;
    last set the IdLp of the op that gave the element its value."""
    cdef MovableState ms = ml_state(d)
    cdef SeqArena a = d.seq
    cdef OpLog log = d.log
    cdef uint32_t leaf = a.first_leaf(d.ctree[c])
    cdef lc_span *s
    cdef lc_ml_elem *e
    cdef int i
    cdef int32_t k
    cdef int64_t slot, ei
    cdef uint32_t lam
    cdef list values = log.values, out_values = [], items = []
    ml_resolve(d)
    while leaf != LC_NO_NODE:
        for i in range(a.nodes[leaf].n):
            s = &a.nodes[leaf].u.spans[i]
            if not span_visible(s):
                continue
            lam = log.lamport_of(s.id)
            pid = log.peer_objs[s.id.peer]
            for k in range(s.len):
                slot = <int64_t>s.content + k
                ei = ms.slot_elem[slot] if slot < ms.cap_slot else -1
                if ei >= 0 and ms.elems[ei].pos_slot == slot:
                    e = &ms.elems[ei]
                    items.append((pid, s.id.counter + k, lam + <uint32_t>k,
                                  (log.peer_objs[e.peer], e.lamport),
                                  (log.peer_objs[e.val_peer], e.val_lamport)))
                    out_values.append(resolve_value(d, values[e.val_slot], False))
                else:
                    items.append((pid, s.id.counter + k, lam + <uint32_t>k, None, None))
        leaf = a.nodes[leaf].next_leaf
    return (out_values, items)


cdef list tree_state_rows(LoroDoc d, uint32_t c):
    """A tree as Loro's state holds it: every node, the live ones first, then the deleted
    ones, each group listed as Loro walks it (a parent's children in sibling order, then
    each child's children the same way), as (node id, parent, last move (peer, counter,
    lamport), fractional index bytes); parent None for a root, "deleted" under the
    deleted root, else a node id. A node without a fractional index (a delete) has
    Loro's default one, 0x80. (The move's own Lamport: a shallow document's base moves are
    in no change.) TreeMoves.state_rows walks it in C."""
    return tree_state(d, c).state_rows()
