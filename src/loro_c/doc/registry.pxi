# Mergeable children are roots named with this prefix (loro_c/mergeable.py).
MERGEABLE_PREFIX = "🤝:"


cdef uint32_t container_index(LoroDoc d, object cid, int kind) except? 0xFFFFFFFF:
    """Index of the container `cid`, registering it (and its state) on first use."""
    # (a child map of a loaded state may not be registered yet: state/snapshot_load.pxi)
    found = cid_lookup(d, cid)
    if found is not None:
        if d.ckind[<uint32_t>found] != kind:
            raise ContainerMismatchError(f"{cid} is a {_TYPE_NAMES[d.ckind[<uint32_t>found]]}, not a {_TYPE_NAMES[kind]}")
        return <uint32_t>found
    return container_register(d, cid, kind)


cdef uint32_t container_register(LoroDoc d, object cid, int kind) except? 0xFFFFFFFF:
    """Register the container `cid`, which the registry does not hold (container_index)."""
    if not kind_has_state(kind):
        raise LoroError(f"{_TYPE_NAMES[kind]} containers are not supported by loro_c yet")
    if d.meta_n and d.import_run is None:
        lnum_flush(d)
    elif d.meta_n and d.meta_q[2] == -2:
        lnum_flush_marked(d)    # (in an import: the meta maps queued before it)
    cdef int64_t i = d.n_containers
    cdef int64_t cap
    if i == d.cap_containers:
        cap = d.cap_containers
        d.ckind = <uint8_t*>grow(d.ckind, &cap, i + 1, sizeof(uint8_t))
        cap = d.cap_containers
        d.croot = <uint8_t*>grow(d.croot, &cap, i + 1, sizeof(uint8_t))
        cap = d.cap_containers
        d.ctree = <uint32_t*>grow(d.ctree, &cap, i + 1, sizeof(uint32_t))
        cap = d.cap_containers
        d.ccounter = <double*>grow(d.ccounter, &cap, i + 1, sizeof(double))
        cap = d.cap_containers
        d.cimp_sum = <double*>grow(d.cimp_sum, &cap, i + 1, sizeof(double))
        cap = d.cap_containers
        d.cimp_set = <uint8_t*>grow(d.cimp_set, &cap, i + 1, sizeof(uint8_t))
        cap = d.cap_containers
        d.ctouched = <uint8_t*>grow(d.ctouched, &cap, i + 1, sizeof(uint8_t))
        cap = d.cap_containers
        d.cshown = <uint8_t*>grow(d.cshown, &cap, i + 1, sizeof(uint8_t))
        d.cap_containers = cap
    d.ckind[i] = kind
    d.ccounter[i] = 0.0
    d.cimp_sum[i] = 0.0
    d.cimp_set[i] = 0
    d.ctouched[i] = 0
    d.cshown[i] = 0
    d.ctree[i] = 0
    state_init(d, <uint32_t>i)
    d.cids.append(cid)
    d.cid_index[cid] = i
    if not d.lnum_hold and cid not in d.lnum:
        lnum_add(d, cid)
    if is_root_cid(cid):
        d.croot[i] = ROOT_MERGEABLE if cid.name.startswith(MERGEABLE_PREFIX) else ROOT_HIDDEN
        d.cid_by_key[(cid.name, kind)] = cid
    else:
        d.croot[i] = ROOT_NONE
        if not d.lnum_hold:
            # (a cache for the change decoder; a loaded state's thousands of children stay
            # out of it: the decoder then makes its own equal id)
            d.cid_by_key[(cid.peer, cid.counter, kind)] = cid
    d.n_containers = i + 1
    return <uint32_t>i


cdef int show_root(LoroDoc d, uint32_t c) except -1:
    """List root container `c` in get_value from now on (no-op for other containers)."""
    if d.croot[c] == ROOT_HIDDEN or d.croot[c] == ROOT_DUE:
        d.croot[c] = ROOT_SHOWN
        d.roots.append(c)
    return 0


cdef bint tree_meta_known(LoroDoc d, object cid) except -1:
    """Whether `cid` names the meta map of a node a tree of the document holds (a container
    the document has, as loro counts it, though nobody asked for it yet)."""
    cdef uint32_t i
    if str(cid.container_type) != "Map":
        return False
    node = (cid.peer, cid.counter)
    for i in range(d.n_containers):
        if d.ckind[i] == KIND_TREE and tree_state(d, i).contains(node):
            return True
    return False


cdef uint32_t root_index(LoroDoc d, object name, int kind) except? 0xFFFFFFFF:
    """Index of a root container given by name or ContainerID (registered on first use)."""
    cdef tuple hit
    cdef Py_ssize_t i
    if type(name) is str:
        # get_text("t") in a loop must not build and hash a new ContainerID each time.
        # A failed import may cut the registry back, so an entry counts only while its
        # index still holds the very same id object.
        hit = d.root_cache.get((name, kind))
        if hit is not None:
            i = hit[1]
            if i < d.n_containers and d.cids[i] is hit[0]:
                show_root(d, i)
                if d.lnum_lazy and hit[0] not in d.lnum:
                    lnum_flush(d)
                    d.lnum[hit[0]] = len(d.lnum)    # loro registers it with the handle
                return i
    if isinstance(name, _types.ContainerID):
        cid = name
        if not is_root_cid(cid):
            looked_up_in_history(d, cid)
        if kind_of_type(cid.container_type) != kind:
            raise ContainerMismatchError(f"{cid} is not a {_TYPE_NAMES[kind]}")
        if (not is_root_cid(cid) and cid not in d.cid_index and not tree_meta_known(d, cid)
                and not (d.loaded_store is not None and loaded_listed(d, cid))):
            # (loro panics here; try_get_* and get_container answer None)
            raise UnknownContainerError(
                f"{cid} does not exist in the document (try_get_{_TYPE_NAMES[kind].lower()} "
                f"or get_container check for it)")
    elif isinstance(name, str):
        cid = _ROOT_IDS.get((name, kind))
        if cid is None:
            cid = new_root_id(name, kind)
    else:
        raise LoroValueError(f"a container name must be a str or ContainerID, not {type(name).__name__}")
    i = container_index(d, cid, kind)
    show_root(d, i)
    if d.lnum_rest is not None or d.lnum_lazy:
        handle_registers(d, cid)
    if type(name) is str:
        d.root_cache[(name, kind)] = (d.cids[i], i)
    return i


# Root ids by (name, kind), shared by every document: ids are immutable, and a server that
# opens many documents (or code that makes detached containers, each a small document of its
# own) names the same few roots again and again. Bounded: names may come from users.
cdef dict _ROOT_IDS = {}


cdef object new_root_id(str name, int kind):
    """A checked root ContainerID for `name` (kept in _ROOT_IDS while it has room)."""
    # as in loro, a string is always a root name (never parsed as a container id)
    if not name or "/" in name or "\0" in name:
        raise LoroValueError(f"invalid root container name {name!r}: it must be non-empty "
                             "and contain no '/' or NUL")
    if name.startswith(MERGEABLE_PREFIX):
        raise LoroValueError(f"invalid root container name {name!r}: the prefix "
                             f"{MERGEABLE_PREFIX!r} is reserved for mergeable children "
                             "(LoroMap.ensure_mergeable_*)")
    cid = _types.ContainerID.Root(name, container_type(kind))
    if len(_ROOT_IDS) < 4096:
        _ROOT_IDS[(name, kind)] = cid
    return cid


cdef int meta_queue(LoroDoc d, uint64_t peer, int32_t counter, int64_t at) except -1:
    """Note that tree node counter@peer was created: loro registers its meta map in its
    arena then (numbered at the next lnum_flush; a local op's `at` is -1, an import's the
    length of lnum_pending then). A C queue: a create builds no Python object for it."""
    cdef int64_t n = d.meta_n
    if n + 3 > d.meta_cap:
        d.meta_q = <int64_t*>grow(d.meta_q, &d.meta_cap, n + 3, sizeof(int64_t))
    d.meta_q[n] = <int64_t>peer
    d.meta_q[n + 1] = counter
    d.meta_q[n + 2] = at
    d.meta_n = n + 3
    return 0


cdef int lnum_add(LoroDoc d, object cid) except -1:
    """Number `cid` (not numbered yet) next in loro's arena. A mergeable child's parent map
    is named by the child's id, and loro's arena links the two when it registers the
    child: a parent not numbered yet takes the next number right after the child (and its
    own parent after it, and so on). So an import whose first op on a mergeable child comes
    before any on its parent numbers the child, then the parent, then the containers of
    the later ops, and hash_order's ranks follow those numbers (test_mergeable's random
    session 1962: two sibling children listed in the other order)."""
    lnum = d.lnum
    while True:
        lnum[cid] = len(lnum)
        if not is_root_cid(cid) or not (<str>cid.name).startswith(MERGEABLE_PREFIX):
            return 0
        got = mergeable_module().parse_child(cid)
        if got is None:
            return 0
        cid = got[0]
        if cid in lnum:
            return 0


cdef int lnum_flush(LoroDoc d) except -1:
    """Number the meta maps of the tree nodes meta_queue noted, in order; an import's
    among its created children (lnum_pending), each where its op came."""
    cdef int64_t n = d.meta_n, k = 0
    if n == 0 and not d.lnum_pending:
        return 0
    lnum = d.lnum
    pending = d.lnum_pending
    d.meta_n = 0
    d.lnum_pending = []
    Map = _types.ContainerType.Map()
    for j, cid in enumerate(pending):
        while k < n and d.meta_q[k + 2] <= j:
            meta = _normal_cid(<uint64_t>d.meta_q[k], <int32_t>d.meta_q[k + 1], Map)
            if meta not in lnum:
                lnum[meta] = len(lnum)
            k += 3
        if cid not in lnum:
            lnum[cid] = len(lnum)
    while k < n:
        meta = _normal_cid(<uint64_t>d.meta_q[k], <int32_t>d.meta_q[k + 1], Map)
        if meta not in lnum:
            lnum[meta] = len(lnum)
        k += 3
    return 0


cdef int lnum_flush_marked(LoroDoc d) except -1:
    """Number only the meta maps queued before the running import (marked -2: they lead
    the queue), not the children the import created so far (numbered after their block)."""
    cdef int64_t n = d.meta_n, k = 0
    lnum = d.lnum
    Map = _types.ContainerType.Map()
    while k < n and d.meta_q[k + 2] == -2:
        meta = _normal_cid(<uint64_t>d.meta_q[k], <int32_t>d.meta_q[k + 1], Map)
        if meta not in lnum:
            lnum[meta] = len(lnum)
        k += 3
    if k:
        memmove(d.meta_q, &d.meta_q[k], <size_t>(n - k) * sizeof(int64_t))
        d.meta_n = n - k
    return 0


cdef int lnum_settle(LoroDoc d) except -1:
    """Number the containers of the frontier blocks of a snapshot loaded lazily (thin_load)
    where loro registered them: right after those numbered before the load, ahead of the
    ones numbered since (a handle, a listing of the roots)."""
    if d.lazy_first is None:
        return 0
    blob, n_before = d.lazy_first
    d.lazy_first = None
    first = _codec_module().snapshot_frontier_cids(blob)
    if not first:
        return 0
    lnum = d.lnum
    order = sorted(lnum, key=lnum.__getitem__)
    new = {}
    for cid in order[:n_before]:
        new[cid] = len(new)
    for cid in first:
        if cid not in new:
            new[cid] = len(new)
    for cid in order[n_before:]:
        if cid not in new:
            new[cid] = len(new)
    lnum.clear()
    lnum.update(new)
    return 0


cdef int number_lazy_roots(LoroDoc d, bint deep, dict plain=None) except -1:
    """Listing the roots (a document's value) makes loro read the root entries of a lazily
    loaded state: it registers each, in the state's key order. Its deep value then
    registers every container it reaches, root by root in their numbers' order, depth
    first (a list's items in order, a map's entries in its value's hash map's order:
    hash_order.map_value_key_order; a tree's
    live nodes in its value's order, each node's meta map and what that map reaches
    before the node's children). `plain` gets the value of each list the walk read that
    holds no child, by container: its deep value too, not read again (get_deep_value's
    deep_plain)."""
    if d.lazy_roots is None:
        return 0
    for cid in d.lazy_roots:
        if cid not in d.lnum:
            d.lnum[cid] = len(d.lnum)
    if not deep:
        d.lazy_roots = []
        return 0
    d.lazy_roots = None
    lnum = d.lnum
    for r in sorted(d.roots, key=lambda r: lnum.get(d.cids[r], 1 << 30)):
        number_reached(d, r, plain)
    return 0


cdef inline bint kind_is_leaf(int kind) noexcept:
    """A kind whose deep value reaches no container (reached_children finds none)."""
    return not (kind == KIND_LIST or kind == KIND_MOVABLE_LIST or kind == KIND_MAP
                or kind == KIND_TREE)


cdef int number_reached(LoroDoc d, uint32_t c, dict plain) except -1:
    """Number what container `c`'s deep value reaches, depth first (number_lazy_roots).
    The walk keeps its own stack, not the C stack: a chain of any depth numbers."""
    cdef list stack = [(reached_children(d, c, plain), 0)]
    cdef list kids
    cdef Py_ssize_t at, top
    while stack:
        top = len(stack) - 1
        kids, at = stack[top]
        if at == len(kids):
            stack.pop()
            continue
        stack[top] = (kids, at + 1)
        x = kids[at]
        if x not in d.lnum:
            d.lnum[x] = len(d.lnum)
        i = d.cid_index.get(x)
        if i is not None and not kind_is_leaf(d.ckind[<uint32_t>i]):
            stack.append((reached_children(d, <uint32_t>i, plain), 0))
    return 0


cdef list reached_children(LoroDoc d, uint32_t c, dict plain):
    """The ContainerIDs container `c`'s deep value reads, in the order loro's reads them (a
    list's items in order, a map's entries in its value's hash map's order, a tree's live
    nodes' meta maps in its value's order). `plain` gets the value of a list that holds no
    child."""
    cdef int kind = d.ckind[c]
    cdef list kids = []
    if kind == KIND_LIST or kind == KIND_MOVABLE_LIST:
        items = value_of(d, c, False)
    elif kind == KIND_MAP:
        live = lazy_map_live(d, c) if d.thin_lazy is not None else None
        if live is not None:
            # (still encoded: its keys as read, no value built; value_of lists them sorted)
            if d.lazy_holders is not None:
                if c not in d.lazy_holders:
                    return kids
            else:
                for x in live.values():
                    if isinstance(x, _CID_TYPE):
                        break
                else:
                    return kids
            v = live
        else:
            if not map_holds_cid(d, c):
                return kids     # (a map of plain values, as most children are: no order needed)
            v = value_of(d, c, False)
        from loro_c.hash_order import map_value_key_order
        items = [v[k] for k in map_value_key_order(list(v))]
    elif kind == KIND_TREE:
        # (each live node's meta map, and then what the map reaches, before the node's
        # children)
        tree_state(d, c).value(functools.partial(_note_meta, kids))
        return kids
    else:
        return kids
    for x in items:
        t = type(x)
        if t is int or t is str or t is float or t is bool or x is None:
            continue    # (most items: isinstance looks ContainerID's hook up, ~0.1 us each)
        if isinstance(x, _CID_TYPE):
            kids.append(x)
    if plain is not None and not kids and (kind == KIND_LIST or kind == KIND_MOVABLE_LIST):
        plain[c] = items        # (a fresh list, its lists and dicts copied: value_of's)
    return kids


def _note_meta(list kids, peer, counter):
    kids.append(_normal_cid(peer, counter, _TYPE_BY_KIND[KIND_MAP]))
    return None


cdef bint map_holds_cid(LoroDoc d, uint32_t c) except -1:
    """Whether a key present in map `c` holds a child container (its value not built)."""
    cdef lc_map *m
    cdef list values = d.log.values
    cdef uint32_t i
    cdef object cid_type = _CID_TYPE
    if d.thin_lazy is not None and d.thin_lazy.has(c):
        live = lazy_map_live(d, c)
        if live is not None:
            for v in live.values():
                if isinstance(v, cid_type):
                    return True
            return False
        thin_decode_lazy(d, c)
    m = &d.maps[d.ctree[c]]
    for i in range(m.cap):
        if m.entries[i].key != LC_NO_KEY and m.entries[i].slot >= 0:
            if isinstance(values[m.entries[i].slot], cid_type):
                return True
    return False


cdef int ensure_tvv(LoroDoc d) except -1:
    cdef int64_t old = d.tvv_cap
    if d.log.n_peers > d.tvv_cap:
        d.tvv = <int32_t*>grow(d.tvv, &d.tvv_cap, d.log.n_peers, sizeof(int32_t))
        memset(&d.tvv[old], 0, <size_t>(d.tvv_cap - old) * sizeof(int32_t))
    return 0
