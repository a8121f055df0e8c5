"""The order in which loro lists the containers of one event or diff batch.

loro collects an event's container diffs in a hash map keyed by its container index (the
container's kind in the top bits, its registration number below), iterates the map, and
then sorts stably by depth. So among containers of equal depth and kind of id, the order
is the map's iteration order. Some results depend on that order: an undo applies its
diffs container by container, and the Lamport clocks of the new ops follow it. This module
replays the map: the hash (rustc-hash 2's FxHasher on a u32) and the bucket layout of
hashbrown (power-of-two tables, 4 and 8 buckets while small, groups of 16 control bytes,
triangular probing, grown by rehashing in iteration order)."""

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
    table = []
    room = 0
    for key in keys:
        if room == 0:
            old = [k for k in table if k is not None]
            size = _buckets_for(max(len(old) + 1, (_capacity(len(table)) if table else 0) + 1))
            table = [None] * size
            for k in old:
                table[_slot(table, _hash(k))] = k
            room = _capacity(size) - len(old)
        table[_slot(table, _hash(key))] = key
        room -= 1
    return [k for k in table if k is not None]
