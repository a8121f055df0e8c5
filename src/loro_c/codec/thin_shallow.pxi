# A shallow snapshot rooted at the head of a document still thin from a snapshot load
# (doc/exchange.pxi `_export_shallow_thin`). The loaded blob already holds both parts: its
# state section is the state at its frontiers, which is the root state once the children
# no value reaches are left out (loro keeps the loaded entries' bytes in its store and
# writes them back as they are), and the history kept from the root is the head's own
# op, read from the one change block that holds it. Nothing is registered or built.

cdef object _MERGEABLE_ROOT = "🤝:"     # (doc/registry.pxi MERGEABLE_PREFIX)


cdef object state_children(bytes key, bytes value, dict vv):
    """The keys of the child containers one state entry holds as values (a tree: every
    node's metadata map, deleted nodes' too, as loro's store keeps them), or None for a
    kind this walk does not read."""
    cdef Reader r
    cdef uint8_t kind = 0, flag = 0
    cdef uint64_t depth = 0
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
    r_u8(&r, &kind)
    r_uleb(&r, &depth)
    r_u8(&r, &flag)
    if flag == 1:
        skip_postcard_cid(&r)
    elif flag != 0:
        return None
    if kind == KIND_TEXT or kind == KIND_COUNTER:
        return ()
    if kind == KIND_MAP:
        vals = _ephemeral.decode_state_values(value, r.pos, 1)[0].values()
    elif kind == KIND_LIST or kind == KIND_MOVABLE_LIST:
        vals = _ephemeral.decode_state_values(value, r.pos, 0)[0]
    elif kind == KIND_TREE:
        Map = _types.ContainerType.Map()
        return [cid_key_bytes(_types.ContainerID.Normal(node[0], node[1], Map))
                for node in (row[0] for row in decode_tree_state(&r, vv))]
    else:
        return None
    return [cid_key_bytes(v) for v in vals if isinstance(v, _types.ContainerID)]


cdef object alive_state_entries(list entries, dict vv):
    """`entries` (a state section's, in key order) without its "fr" key and the child
    containers no value reaches from a root (LoroDoc dead_container_keys on the built
    state); None when a mergeable child is listed beside other children (reached through
    its marker: the built document answers that) or a kind is not read here."""
    cdef bint children = False, mergeable = False
    cdef bytes key
    kv = {}
    stack = []
    for key, value in entries:
        if key == b"fr":
            continue
        kv[key] = value
        if PyBytes_GET_SIZE(key) > 0 and (<const unsigned char*>PyBytes_AS_STRING(key))[0] & 0x80:
            if cid_of_key(key).name.startswith(_MERGEABLE_ROOT):
                mergeable = True
            else:
                stack.append(key)
        else:
            children = True
    if not children:
        return [e for e in entries if e[0] != b"fr"]
    if mergeable:
        return None
    alive = set()
    while stack:
        key = stack.pop()
        if key in alive:
            continue
        value = kv.get(key)
        if value is None:
            continue        # (named by a value, not listed: nothing to write)
        alive.add(key)
        kids = state_children(key, value, vv)
        if kids is None:
            return None
        stack.extend(kids)
    return [e for e in entries if e[0] in alive]


cdef tuple last_atom_op(tuple o):
    """Op tuple `o` cut to its last atom (the first ones dropped as _oplog slice_op drops
    them)."""
    cdef int64_t n, cut
    kind = o[0]
    if kind == LC_OP_INSERT:
        n = len(o[4])
        cut = n - 1
        if cut <= 0:
            return o
        return (kind, o[1], o[2] + cut, o[3] + cut, o[4][cut:]) + tuple(o[5:])
    if kind == LC_OP_DELETE:
        n = abs(o[4])
        cut = n - 1
        if cut <= 0:
            return o
        if o[4] > 0:
            # a forward delete's later atoms remove the targets after the first ones
            return (kind, o[1], o[2] + cut, o[3], 1, o[5], o[6] + cut)
        # a backward delete's last atom removes its leftmost target
        return (kind, o[1], o[2] + cut, o[3] - cut, -1, o[5], o[6])
    return o


def thin_head_parts(bytes data not None, uint64_t peer, int64_t counter, dict vv not None):
    """The parts of ShallowSnapshot/StateOnly rooted at the single head counter@peer of a
    loaded (non-shallow) snapshot `data` whose version is `vv`: (its state section's
    entries alive at the head, in key order, without "fr"; the head's change cut to the
    head's op, a change tuple). None when they cannot be read so (the caller replays the
    history): no state section, a shallow blob, the head not the end of a change, a mark's
    start at the head, a mergeable child or a kind the liveness walk does not read. The
    blob is the one the document loaded (its checksum and blocks checked then)."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    cdef const unsigned char* kp
    cdef uint64_t kpeer
    cdef int64_t kctr, start, end
    cdef int j
    cdef Py_ssize_t budget, meta_off = 0, i, pick = -1, nblocks, off
    cdef uint8_t flags
    cdef list oplog_entries = []
    parse_envelope(data, False, &mode, &body)
    if mode == MODE_UPDATES:
        return None
    snapshot_sections(&body, secs)
    if secs[2].len > 0 or secs[1].len == 0 or (secs[1].len == 1 and secs[1].data[0] == 0x45):
        return None
    found = None
    # only the change block that would hold the head (the last whose first key is at most
    # the head's: the greatest key up to it is there) and those that may hold "sv" or "sf"
    # are read; a history of thousands of blocks was decompressed whole for one change
    target = peer.to_bytes(8, "big") + (<uint32_t>counter).to_bytes(4, "big")
    if secs[0].len:
        metas = sst_metas(&secs[0], &meta_off)
        nblocks = len(metas)
        for i in range(nblocks):
            if metas[i][1] <= target:
                pick = i
        for i in range(nblocks):
            off, first_key, flags, last_key = metas[i]
            end = sst_block_end(metas, i, meta_off)
            if end < 0:
                fail("bad SSTable block range")
            if i == pick or sst_block_may_hold(first_key, last_key, (b"sv", b"sf")):
                sst_read_block(secs[0].data, off, end, first_key, flags, last_key, oplog_entries)
    for key, value in oplog_entries:
        if len(key) == 12:
            kp = <const unsigned char*>PyBytes_AS_STRING(key)
            kpeer = 0
            for j in range(8):
                kpeer = (kpeer << 8) | kp[j]
            kctr = (<int64_t>kp[8] << 24) | (<int64_t>kp[9] << 16) | (<int64_t>kp[10] << 8) | kp[11]
            if kpeer == peer and kctr <= counter:
                found = value       # (keys ascend: the last one holding the counter)
        elif key in (b"sv", b"sf"):
            return None
    if found is None:
        return None
    changes = []
    budget = DEC_BLOB_OPS + 4 * PyBytes_GET_SIZE(found)
    decode_block(<const unsigned char*>PyBytes_AS_STRING(found), len(found), True, changes,
                 &budget)
    head = None
    for ch in changes:
        start = ch[1]
        end = start + tuple_ops_len(ch[6])
        if start <= counter < end:
            if end != counter + 1 or not ch[6]:
                return None
            head = ch
            break
    if head is None:
        return None
    o = head[6][len(head[6]) - 1]
    if o[0] == LC_OP_MARK_START:
        return None     # (its end follows it: the head is never one)
    start = head[1]
    if counter > start:
        change = (head[0], counter, head[2] + (counter - start), head[3], head[4],
                  [(head[0], counter - 1)], [last_atom_op(o)])
    else:
        # (its deps as loro's change keeps them once decoded, the order its export writes:
        # _import.deps_as_kept)
        deps = head[5]
        if len(deps) > 1:
            from loro_c.hash_order import frontiers_map_order
            deps = frontiers_map_order(deps)
        change = (head[0], counter, head[2], head[3], head[4], deps, [o])
    state = sst_entries(&secs[1])
    entries = alive_state_entries(state, vv)
    if entries is None:
        return None
    # the stored LZ4 frames of the state's large values (a text's), by value: the root
    # state section writes them again, as loro writes its loaded blocks back, instead of
    # compressing them anew (most of the export's time)
    frames = {}
    metas = sst_metas(&secs[1], &meta_off)
    values = dict(state)
    for i in range(len(metas)):
        off, first_key, flags, last_key = metas[i]
        end = sst_block_end(metas, i, meta_off)
        if end > 0 and (flags & 0x81) == 0x81 and first_key in values:
            frames[values[first_key]] = PyBytes_FromStringAndSize(
                <const char*>secs[1].data + off, end - off - 4)
    return entries, change, frames


def loaded_state_entries(bytes data not None):
    """[(ContainerID, key, value)] of the state section of a loaded (non-shallow) snapshot,
    in key order, "fr" left out; None for another blob (the checksum was checked at the
    load)."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    parse_envelope(data, False, &mode, &body)
    if mode == MODE_UPDATES:
        return None
    snapshot_sections(&body, secs)
    if secs[2].len > 0 or secs[1].len == 0 or (secs[1].len == 1 and secs[1].data[0] == 0x45):
        return None
    return [(cid_of_key(key), key, value) for key, value in sst_entries(&secs[1])
            if key != b"fr"]


def loaded_block_map(bytes data not None):
    """The change blocks of a loaded snapshot: (peer, first counter) -> (end counter, the
    block's bytes, its stored LZ4 frame or None), None for a shallow snapshot or another
    mode. An export writes a block it would make of exactly those changes as loaded, as
    loro's change store writes a loaded block back until its peer adds a change to it (its
    bytes are loro's when loro wrote the blob; LoroDoc.loaded_blocks keeps the map), and a
    block stored alone as an LZ4 frame goes back as that frame, not compressed anew (most
    of the first export's time after a load)."""
    cdef uint16_t mode
    cdef Reader body
    cdef Reader secs[3]
    cdef const unsigned char* kp
    cdef uint64_t kpeer
    cdef int64_t kctr
    cdef int j
    parse_envelope(data, False, &mode, &body)
    if mode == MODE_UPDATES:
        return None
    snapshot_sections(&body, secs)
    if secs[2].len > 0:
        return None
    vv = None
    starts = []
    for key, value in sst_entries(&secs[0]):
        if len(key) == 12:
            kp = <const unsigned char*>PyBytes_AS_STRING(key)
            kpeer = 0
            for j in range(8):
                kpeer = (kpeer << 8) | kp[j]
            kctr = (<int64_t>kp[8] << 24) | (<int64_t>kp[9] << 16) | (<int64_t>kp[10] << 8) | kp[11]
            starts.append((kpeer, kctr, value))
        elif key == b"vv":
            vv = (<VersionVector>decode_vv_bytes(value, "the snapshot version"))._map
        elif key in (b"sv", b"sf"):
            return None
    if vv is None:
        return None
    frames = loaded_large_frames(&secs[0])
    blocks = {}
    for i in range(len(starts)):
        peer, start, raw = starts[i]
        # (keys ascend: a peer's next block starts where this one ends)
        if i + 1 < len(starts) and starts[i + 1][0] == peer:
            end = starts[i + 1][1]
        else:
            end = vv.get(peer, 0)
        blocks[(peer, start)] = (end, raw, frames.get(_id_key((peer, start))))
    return blocks


cdef dict loaded_large_frames(Reader* sec):
    """key -> the stored LZ4 frame of each large value of an SSTable section (checked
    when its entries were read)."""
    cdef Py_ssize_t meta_off = 0, i, end, off
    cdef dict frames = {}
    if sec.len == 0:
        return frames
    metas = sst_metas(sec, &meta_off)
    for i in range(len(metas)):
        off, first_key, flags, last_key = metas[i]
        end = sst_block_end(metas, i, meta_off)
        if end > 0 and (flags & 0x81) == 0x81:
            frames[first_key] = PyBytes_FromStringAndSize(<const char*>sec.data + off,
                                                          end - off - 4)
    return frames
