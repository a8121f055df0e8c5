"""The order in which loro lists the containers of one event or diff batch.

loro collects an event's container diffs in a hash map keyed by its container index (the
container's kind in the top bits, its registration number below), iterates the map, and
then sorts stably by depth. So among containers of equal depth and kind of id, the order
is the map's iteration order. Some results depend on that order: an undo applies its
diffs container by container, and the Lamport clocks of the new ops follow it. This module
replays the map: the hash (rustc-hash 2's FxHasher on a u32) and the bucket layout of
hashbrown (power-of-two tables, 4 and 8 buckets while small, groups of 16 control bytes,
triangular probing, grown by rehashing in iteration order)."""

try:    # the same replay of string keys in C (this module's steps stay the reference)
    import loro_c._hashorder as _fast
except ImportError:     # (a build without it)
    _fast = None

_K = 0xF1357AEA2E62A9C5
_M64 = (1 << 64) - 1
_GROUP = 16

# loro's ContainerType codes, by our kind names
LORO_TYPE_CODE = {"Map": 0, "List": 1, "Text": 2, "Tree": 3, "MovableList": 4, "Counter": 5}


def container_idx(type_name, index):
    return (LORO_TYPE_CODE.get(type_name, 0) << 27) | index


def _hash(key):
    h = (key * _K) & _M64
    return ((h << 26) | (h >> 38)) & _M64


def _buckets_for(capacity):
    if capacity < 8:
        return 4 if capacity < 4 else 8
    want = capacity * 8 // 7
    n = 1
    while n < want:
        n <<= 1
    return n


def _capacity(buckets):
    return buckets - 1 if buckets <= 8 else buckets // 8 * 7


def _slot(table, h):
    n = len(table)
    mask = n - 1
    pos = h & mask
    if n < _GROUP:
        # a group spans the whole small table: the first free bucket from pos, else from 0
        for i in range(pos, n):
            if table[i] is None:
                return i
        return table.index(None)
    stride = 0
    while True:
        for bit in range(_GROUP):
            i = (pos + bit) & mask
            if table[i] is None:
                return i
        stride += _GROUP
        pos = (pos + stride) & mask


def iteration_order(keys):
    """The keys (distinct u32) in the order loro's map yields them after inserting them in
    this order."""
    if _fast is not None:
        return _fast.int_key_order(keys)
    return _table_order(keys, _hash)


def _add(h, i):
    return ((h + i) * _K) & _M64


def _hash_id(pid):
    """FxHasher on an ID (peer u64, then counter as u32)."""
    h = _add(_add(0, pid[0]), pid[1] & 0xFFFFFFFF)
    return ((h << 26) | (h >> 38)) & _M64


# ContainerType's variants in declaration order: derive(Hash) writes their index
_CONTAINER_TYPE_DISCRIMINANT = {"Text": 0, "Map": 1, "List": 2, "MovableList": 3, "Tree": 4,
                                "Counter": 5}


def _hash_container_id(cid):
    """FxHasher on a ContainerID (derive(Hash): the variant's index, then its fields; a
    root's name as a str). `cid`: (name, None, None, type) or (None, peer, counter, type)."""
    name, peer, counter, type_name = cid
    if name is not None:
        h = _add(_add(0, 0), _hash_bytes(name.encode()))
        h = _add(h, 0xFF)
    else:
        h = _add(_add(_add(0, 1), peer), counter & 0xFFFFFFFF)
    h = _add(h, _CONTAINER_TYPE_DISCRIMINANT.get(type_name, 6))
    return ((h << 26) | (h >> 38)) & _M64


def container_id_order(cids):
    """ContainerIDs (tuples as _hash_container_id takes them) in the order loro's
    FxHashSet of them yields them after inserting them in this order."""
    return _table_order(cids, _hash_container_id)


def container_id_order_ops(ops):
    """The same for a set that also loses members: `ops` are (ContainerID tuple, added),
    in order; the members left, in the set's order. A member taken out frees its bucket
    (hashbrown marks it empty unless a full run of a group's width surrounds it, then
    deleted: reusable, but the room it took stays used), but the table keeps the size it
    grew to."""
    table = []
    room = 0
    where = {}
    for key, added in ops:
        if added:
            if key in where:
                continue
            if room == 0:
                table, room = _grown(table, _hash_container_id)
                where = {k: i for i, k in enumerate(table) if k is not None}
            i = _slot(table, _hash_container_id(key))
            table[i] = key
            where[key] = i
            room -= 1
        else:
            i = where.pop(key, None)
            if i is None:
                continue
            table[i] = None
            if not _erased_as_deleted(table, i):
                room += 1
    return [k for k in table if k is not None]


def _erased_as_deleted(table, i):
    """Whether hashbrown marks bucket `i` (just emptied) deleted: the full buckets just
    before it and from it on span a group's width (never in a table smaller than one)."""
    n = len(table)
    if n < _GROUP:
        return False
    before = 0
    while before < _GROUP and table[(i - 1 - before) % n] is not None:
        before += 1
    after = 1       # (bucket i itself was full when loro looked)
    while after < _GROUP and table[(i + after) % n] is not None:
        after += 1
    return before + after >= _GROUP


# -- string keys (the keys of a text's attributes) -------------------------------------

_SEED1 = 0x243F6A8885A308D3
_SEED2 = 0x13198A2E03707344
_NO_COLLAPSE = 0xA4093822299F31D0


def _mix(x, y):
    full = x * y
    return (full & _M64) ^ (full >> 64)


def _hash_bytes(b):
    """rustc-hash 2's hash of a byte string."""
    n = len(b)
    s0, s1 = _SEED1, _SEED2
    le = int.from_bytes
    if n <= 16:
        if n >= 8:
            s0 ^= le(b[0:8], "little")
            s1 ^= le(b[n - 8:], "little")
        elif n >= 4:
            s0 ^= le(b[0:4], "little")
            s1 ^= le(b[n - 4:], "little")
        elif n > 0:
            s0 ^= b[0]
            s1 ^= (b[n - 1] << 8) | b[n // 2]
    else:
        bulk = b[:n - 1]
        while len(bulk) >= 16:
            x = le(bulk[0:8], "little")
            y = le(bulk[8:16], "little")
            s0, s1 = s1, _mix(s0 ^ x, _NO_COLLAPSE ^ y)
            bulk = bulk[16:]
        s0 ^= le(b[n - 16:n - 8], "little")
        s1 ^= le(b[n - 8:], "little")
    return _mix(s0, s1) ^ n


def _hash_str(s):
    """FxHasher (rustc-hash 2) on a str as Rust hashes one: its bytes, then 0xff."""
    h = (_hash_bytes(s.encode()) * _K) & _M64
    h = ((h + 0xFF) * _K) & _M64
    return ((h << 26) | (h >> 38)) & _M64


def _table_order(keys, hash_of, touches=(), preloaded=0):
    """Insert `keys` in order; after the k-th insert, for k in `touches`, reserve a slot
    as an insert of a key already held does (the table grows when full). The first
    `preloaded` keys go into a table made with room for them all."""
    table = []
    room = 0
    if preloaded:
        table = [None] * _buckets_for(preloaded)
        room = _capacity(len(table))
    for n, key in enumerate(keys, 1):
        if room == 0:
            table, room = _grown(table, hash_of)
        table[_slot(table, hash_of(key))] = key
        room -= 1
        if room == 0 and n in touches:
            table, room = _grown(table, hash_of)
    return [k for k in table if k is not None]


def _grown(table, hash_of):
    """hashbrown's resize of a full table: the next size, filled in iteration order."""
    old = [k for k in table if k is not None]
    size = _buckets_for(max(len(old) + 1, (_capacity(len(table)) if table else 0) + 1))
    table = [None] * size
    for k in old:
        table[_slot(table, hash_of(k))] = k
    return table, _capacity(size) - len(old)


def vv_iteration_order(peers, touches, loaded=0):
    """The peers (u64 ids) of loro's version vector in its hash map's order, inserted in
    this order, where a local op updated the map while it held `k` peers for each k in
    `touches` (an insert reserves a slot first, even for a key the map holds, so a full
    map grows then). The first `loaded` peers came from a snapshot load, which makes the
    map with room for all of them (measured on loro 1.17.1: 300 of 300 loads of up to 12
    peers agree; a map grown as they came agreed on 262)."""
    return _table_order(peers, _hash, frozenset(touches), loaded)


def str_key_order(keys):
    """String keys in the order loro's FxHashMap of them yields them. Which of two keys
    that share a bucket comes first depends on their insertion order; loro fills such a
    map from another one of the same keys, so the order is taken as the map's own
    iteration order (inserted twice)."""
    keys = list(keys)
    if len(keys) < 2:
        return keys
    if _fast is not None:
        return _fast.key_order(keys, "gg")
    return _table_order(_table_order(keys, _hash_str), _hash_str)


def map_value_key_order(keys):
    """The keys of a map's value in the order loro's deep value walks them: the value is
    built from the map's entries in key order (a BTreeMap, as its state and its lazily
    decoded snapshot value keep them) into a hash map made with room for all of them."""
    keys = sorted(keys)
    if len(keys) < 2:
        return keys
    if _fast is not None:
        return _fast.key_order(keys, "f")
    return _fixed_table_order(keys, _hash_str)


def map_diff_key_order(walked, changed):
    """The keys of a map's checkout or import diff (`changed`, a set) in the order loro's
    diff yields them, given the keys of the map's ops in the order loro's walk of the
    version DAG meets them (`walked`, each once; keys missing there go last): its map
    calculator notes them in a map grown as they come, keeps those whose value changed in
    that map's order, puts them in a map made with room for all of them, and its state
    copies that one into a map grown as they come (measured on loro 1.17.1: two keys
    sharing a bucket come in the order the walk met them)."""
    if _fast is not None:
        first = _fast.key_order(walked, "g") if len(walked) > 1 else list(walked)
    else:
        first = _table_order(walked, _hash_str)
    seen = set(first)
    keys = [k for k in first if k in changed] + [k for k in changed if k not in seen]
    if len(keys) < 2:
        return keys
    if _fast is not None:
        return _fast.key_order(keys, "fg")
    return _table_order(_fixed_table_order(keys, _hash_str), _hash_str)


def _fixed_table_order(keys, hash_of):
    """Iteration order of a map made with room for all `keys` (no growth), filled in order."""
    table = [None] * _buckets_for(len(keys))
    for key in keys:
        table[_slot(table, hash_of(key))] = key
    return [k for k in table if k is not None]


def undo_key_order(keys):
    """The order in which loro's undo writes a map diff's keys, given the order its diff
    met them (the ops' order): the keys go through a map grown as they come, a map made
    with room for all of them, then a grown map again, and are written as the last yields
    them (measured on loro 1.17.1: 300 of 300 random undos of one commit agree)."""
    keys = list(keys)
    if len(keys) < 2:
        return keys
    if _fast is not None:
        return _fast.key_order(keys, "gfg")
    order = _table_order(keys, _hash_str)
    order = _fixed_table_order(order, _hash_str)
    return _table_order(order, _hash_str)


def frontiers_map_order(pairs):
    """(peer, counter) pairs in the order loro's Frontiers yields them when built from a
    list of ids (Frontiers::from(Vec<ID>): a single id as is, more inserted in this order
    into an FxHashMap of peer to counter through the entry API, which keeps the greatest
    counter of a peer and reserves room only for a peer new to the map)."""
    pairs = list(pairs)
    if len(pairs) < 2:
        return pairs
    best = {}
    for p, c in pairs:
        if p not in best or c > best[p]:
            best[p] = c
    return [(p, best[p]) for p in _table_order(list(best), _hash)]
