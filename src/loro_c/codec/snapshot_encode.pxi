# Writing FastSnapshot (mode 3) bodies: the oplog SSTable (change blocks keyed by their first
# id, plus "vv" and "fr"), the state SSTable (each container's state in Loro's encoding, from
# the rows _doc.snapshot_state_rows reads), an empty shallow-root section. SSTable blocks are
# LZ4-framed when that is not larger, as Loro stores them.

cdef enum:
    SST_BLOCK_SIZE = 4096        # Loro's target block size for both stores
    LZ4_TABLE_SLOTS = 4096       # lz4_flex's frame encoder table
    SNAPSHOT_BLOCK_OPS = 1024    # change-block cut (arena ops), near Loro's 4 KiB estimate


# -- LZ4 ----------------------------------------------------------------------------------------
# Loro frames its blocks with the Rust crate lz4_flex (0.11.5 in loro 1.17.1). To give the
# same bytes as Loro this compressor takes the same decisions as that crate's fast encoder
# (our own code, same rules): a 4096-slot table of u32 stream positions kept across the
# independent blocks of one frame, keyed by a multiplicative hash of the next five bytes
# (64-bit build), one probe per position, a step that grows by one every 32 misses,
# backward extension of a found match down to the pending literals, forward extension up
# to six bytes before the end, then the position two bytes before the match end rehashed.

cdef extern from *:
    """
    #include <string.h>
    #if defined(_MSC_VER)
    #include <intrin.h>
    #endif
    static inline uint64_t lc_rd64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
    /* how many bytes are equal at the start of two 8-byte runs whose loaded words xor to
       x (x != 0) */
    static inline int lc_same_bytes(uint64_t x) {
    #if defined(_MSC_VER)
        unsigned long i; _BitScanForward64(&i, x); return (int)(i >> 3);
    #elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        return __builtin_clzll(x) >> 3;
    #else
        return __builtin_ctzll(x) >> 3;
    #endif
    }
    """
    uint64_t lc_rd64(const unsigned char *p) noexcept nogil
    int lc_same_bytes(uint64_t x) noexcept nogil


cdef inline uint32_t _rd32(const unsigned char* p) noexcept nogil:
    return p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef inline uint32_t _lz4_slot(const unsigned char* p) noexcept nogil:
    # five bytes, little-endian, in the top of a 64-bit word times lz4_flex's prime; the
    # slot is the product's top 12 bits
    cdef uint64_t v = (<uint64_t>p[0] | (<uint64_t>p[1] << 8) | (<uint64_t>p[2] << 16)
                       | (<uint64_t>p[3] << 24) | (<uint64_t>p[4] << 32))
    return <uint32_t>(((v << 24) * <uint64_t>889523592379ULL) >> 52)


cdef inline Py_ssize_t _lz4_len_ext(unsigned char* dst, Py_ssize_t o, Py_ssize_t v) noexcept nogil:
    while v >= 255:
        dst[o] = 255
        o += 1
        v -= 255
    dst[o] = <unsigned char>v
    return o + 1


cdef inline Py_ssize_t _lz4_last_literals(const unsigned char* src, Py_ssize_t n, Py_ssize_t anchor,
                                          unsigned char* dst, Py_ssize_t o) noexcept nogil:
    cdef Py_ssize_t lit = n - anchor
    dst[o] = <unsigned char>((15 if lit >= 15 else lit) << 4)
    o += 1
    if lit >= 15:
        o = _lz4_len_ext(dst, o, lit - 15)
    memcpy(dst + o, src + anchor, lit)
    return o + lit


cdef Py_ssize_t lz4_compress_block(const unsigned char* src, Py_ssize_t n, unsigned char* dst,
                                   uint32_t* table, Py_ssize_t stream_off) noexcept nogil:
    """Compress one frame block of `n` bytes that starts `stream_off` bytes into the frame;
    `table` (LZ4_TABLE_SLOTS u32, zeroed at the frame start) carries over between blocks,
    whose older positions are then never matched (blocks are independent). `dst` holds at
    least n + n / 255 + 16 bytes. Returns the compressed size."""
    cdef Py_ssize_t o = 0, anchor = 0, cur = 0, nxt, step, misses, cand, start, lit, ml, off
    cdef uint64_t x
    cdef Py_ssize_t end_check = n - 12, match_end = n - 6
    cdef uint32_t h
    if n < 13:
        return _lz4_last_literals(src, n, 0, dst, 0)
    if stream_off == 0:
        # a frame cannot start with a match
        table[_lz4_slot(src)] = 0
        cur = 1
    while True:
        misses = 32
        nxt = cur
        while True:
            step = misses >> 5
            misses += 1
            cur = nxt
            nxt += step
            if cur > end_check:
                return _lz4_last_literals(src, n, anchor, dst, o)
            h = _lz4_slot(src + cur)
            cand = table[h]
            table[h] = <uint32_t>(cur + stream_off)
            if stream_off + cur - cand > 65535 or cand < stream_off:
                continue
            cand -= stream_off
            if _rd32(src + cand) == _rd32(src + cur):
                break
        while cand > 0 and cur > anchor and src[cur - 1] == src[cand - 1]:
            cur -= 1
            cand -= 1
        lit = cur - anchor
        off = cur - cand
        cur += 4
        cand += 4
        start = cur
        # (8 bytes at a time, then byte by byte: the same length, found sooner)
        while cur + 8 <= match_end:
            x = lc_rd64(src + cur) ^ lc_rd64(src + cand)
            if x != 0:
                cur += lc_same_bytes(x)
                cand = -1
                break
            cur += 8
            cand += 8
        if cand >= 0:
            while cur < match_end and src[cur] == src[cand]:
                cur += 1
                cand += 1
        ml = cur - start
        table[_lz4_slot(src + cur - 2)] = <uint32_t>(cur - 2 + stream_off)
        dst[o] = <unsigned char>(((15 if lit >= 15 else lit) << 4) | (15 if ml >= 15 else ml))
        o += 1
        if lit >= 15:
            o = _lz4_len_ext(dst, o, lit - 15)
        memcpy(dst + o, src + anchor, lit)
        o += lit
        dst[o] = <unsigned char>(off & 0xFF)
        dst[o + 1] = <unsigned char>(off >> 8)
        o += 2
        if ml >= 15:
            o = _lz4_len_ext(dst, o, ml - 15)
        anchor = cur


cdef bytes lz4_compress_frame(const unsigned char* src, Py_ssize_t n):
    """An LZ4 frame as lz4_flex's FrameEncoder writes one (FLG 0x60: independent blocks,
    no checksums): its block size chosen from the whole input's length (64 KiB up to
    64 KiB, 256 KiB up to 256 KiB, else 4 MiB), each data block stored raw when
    compression does not shrink it."""
    cdef Writer w
    cdef Py_ssize_t bsize = 65536
    cdef unsigned char bd = 0x40
    if n > 262144:
        bsize = 4194304
        bd = 0x70
    elif n > 65536:
        bsize = 262144
        bd = 0x50
    cdef unsigned char* tmp = <unsigned char*>xalloc(min(n, bsize) + min(n, bsize) // 255 + 16, 1)
    cdef uint32_t table[LZ4_TABLE_SLOTS]
    cdef Py_ssize_t pos = 0, chunk, m
    cdef unsigned char desc[2]
    memset(table, 0, sizeof(table))
    try:
        if writer_init(&w, n // 2 + 32) < 0:
            raise_writer_error(&w)
        try:
            wchk(&w, write_u32_le(&w, 0x184D2204))
            desc[0] = 0x60
            desc[1] = bd
            wchk(&w, write_bytes(&w, desc, 2))
            wchk(&w, write_u8(&w, <uint8_t>((c_xxh32(desc, 2, 0) >> 8) & 0xFF)))
            while pos < n:
                chunk = min(n - pos, bsize)
                m = lz4_compress_block(src + pos, chunk, tmp, table, pos)
                if m < chunk:
                    wchk(&w, write_u32_le(&w, <uint32_t>m))
                    wchk(&w, write_bytes(&w, tmp, m))
                else:
                    wchk(&w, write_u32_le(&w, <uint32_t>chunk | 0x80000000u))
                    wchk(&w, write_bytes(&w, src + pos, chunk))
                pos += chunk
            wchk(&w, write_u32_le(&w, 0))
            return writer_to_bytes(&w)
        finally:
            writer_free(&w)
    finally:
        free(tmp)


def _lz4_compress_frame(bytes data not None):
    """The LZ4 frame of `data` as snapshots store it (tests)."""
    return lz4_compress_frame(<const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


def _lz4_roundtrip(bytes data not None):
    """Compress into a frame and decompress again (for tests)."""
    cdef bytes frame = lz4_compress_frame(<const unsigned char*>PyBytes_AS_STRING(data),
                                          PyBytes_GET_SIZE(data))
    return lz4_frame(<const unsigned char*>PyBytes_AS_STRING(frame), PyBytes_GET_SIZE(frame),
                     PyBytes_GET_SIZE(data))


# -- SSTable ------------------------------------------------------------------------------------

cdef int sst_store_block(Writer* out, bytes raw, list metas, bytes first_key, bytes last_key,
                         bint large, dict frames=None, dict given=None) except -1:
    """Append one block (LZ4 when not larger) and its checksum; note its metadata. A large
    block's stored form is looked up in (and kept in) `frames`, by its bytes object, else
    taken from `given` (frames read from a loaded blob, not kept)."""
    cdef bytes frame = None if frames is None else frames.get(raw)
    if frame is None and given is not None:
        frame = given.get(raw)
    if frame is None:
        frame = lz4_compress_frame(<const unsigned char*>PyBytes_AS_STRING(raw),
                                   PyBytes_GET_SIZE(raw))
        if frames is not None:
            frames[raw] = frame
    cdef bint packed = PyBytes_GET_SIZE(frame) <= PyBytes_GET_SIZE(raw)
    cdef bytes stored = frame if packed else raw
    metas.append((out.len, first_key, (0x80 if large else 0) | (1 if packed else 0), last_key))
    wchk(out, write_bytes(out, <const unsigned char*>PyBytes_AS_STRING(stored), PyBytes_GET_SIZE(stored)))
    wchk(out, write_u32_le(out, xxh32_released(<const unsigned char*>PyBytes_AS_STRING(stored),
                                                PyBytes_GET_SIZE(stored), LORO_SEED)))
    return 0


cdef enum:
    SST_MAX_ENTRIES = 2048      # entries of one normal block: each takes 5 bytes at least


cdef int sst_finish_block(Writer* out, Writer* blk, const uint16_t* offs, Py_ssize_t n_off,
                          list metas, bytes first_key, bytes last_key, tuple blocks,
                          tuple members) except -1:
    """Store the normal block in `blk`: its entries, their offsets, their count (u16 LE).
    `blocks` (old, new): the (bytes, stored form, packed, checksum, entry objects, content
    length) of each normal block of the last build, in order, and this build's: a block
    equal to the last build's block at its place is stored as it was (compared, not
    compressed and hashed again). `members`: the entry objects the block holds."""
    cdef Py_ssize_t i, k, content = blk.len
    cdef bytes raw, stored
    cdef tuple got = None
    cdef list old
    if writer_reserve(blk, 2 * n_off + 2) < 0:
        raise_writer_error(blk)
    for i in range(n_off):
        blk.data[blk.len + 2 * i] = <unsigned char>(offs[i] & 0xFF)
        blk.data[blk.len + 2 * i + 1] = <unsigned char>(offs[i] >> 8)
    blk.len += 2 * n_off
    blk.data[blk.len] = <unsigned char>(n_off & 0xFF)
    blk.data[blk.len + 1] = <unsigned char>(n_off >> 8)
    blk.len += 2
    raw = PyBytes_FromStringAndSize(<const char*>blk.data, blk.len)
    if blocks is None:
        return sst_store_block(out, raw, metas, first_key, last_key, False)
    old = <list>blocks[0]
    k = len(<list>blocks[1])
    if k < len(old) and (<tuple>old[k])[0] == raw:
        got = <tuple>old[k]
        got = (got[0], got[1], got[2], got[3], members, content)
    if got is None:
        stored = lz4_compress_frame(<const unsigned char*>PyBytes_AS_STRING(raw),
                                    PyBytes_GET_SIZE(raw))
        packed = PyBytes_GET_SIZE(stored) <= PyBytes_GET_SIZE(raw)
        if not packed:
            stored = raw
        got = (raw, stored, packed, xxh32_released(<const unsigned char*>PyBytes_AS_STRING(stored),
                                                   PyBytes_GET_SIZE(stored), LORO_SEED),
               members, content)
    (<list>blocks[1]).append(got)
    stored = got[1]
    metas.append((out.len, first_key, 1 if got[2] else 0, last_key))
    wchk(out, write_bytes(out, <const unsigned char*>PyBytes_AS_STRING(stored), PyBytes_GET_SIZE(stored)))
    wchk(out, write_u32_le(out, <uint32_t>got[3]))
    return 0


cdef Py_ssize_t sst_reuse_block(Writer* out, list entries, Py_ssize_t i, tuple blocks,
                                list metas) except -1:
    """When the last build's normal block at this place held the very entry objects that
    start at `i` (a kept state entry is the same object from export to export) and it
    would end at the same entry, store it as it was and return how many entries it holds;
    else 0 (the block is built and compared: sst_finish_block)."""
    cdef list old = <list>blocks[0]
    cdef Py_ssize_t k = len(<list>blocks[1]), m, j, n = len(entries)
    cdef tuple got, members, nxt
    if k >= len(old):
        return 0
    got = <tuple>old[k]
    members = <tuple>got[4]
    m = len(members)
    if m == 0 or i + m > n:
        return 0
    for j in range(m):
        if entries[i + j] is not members[j]:
            return 0
    if i + m < n:
        # the entry after it must still not fit (sst_build's rule for closing a block)
        nxt = <tuple>entries[i + m]
        if (<Py_ssize_t>got[5] + 2 * m + 2 + 5 + PyBytes_GET_SIZE(<bytes>nxt[0])
                + PyBytes_GET_SIZE(<bytes>nxt[1]) <= SST_BLOCK_SIZE):
            return 0
    (<list>blocks[1]).append(got)
    stored = <bytes>got[1]
    metas.append((out.len, (<tuple>members[0])[0], 1 if got[2] else 0, (<tuple>members[m - 1])[0]))
    wchk(out, write_bytes(out, <const unsigned char*>PyBytes_AS_STRING(stored), PyBytes_GET_SIZE(stored)))
    wchk(out, write_u32_le(out, <uint32_t>got[3]))
    return m


cdef bytes sst_build(list entries, dict frames=None, tuple blocks=None, bint presorted=False,
                     dict given=None):
    """An SSTable of (key, value) pairs of bytes (sorted here); empty bytes for no entries
    (`frames`, `given`: see sst_store_block). A normal block holds its first entry's value, then
    per entry its key's prefix length shared with the first key, the rest of the key and
    the value; the blocks are filled in C (a state section has an entry per container).
    `blocks`: see sst_finish_block; `presorted`: the entries are in key order already."""
    cdef Writer w, blk
    cdef list metas = []
    cdef uint16_t offs[SST_MAX_ENTRIES]
    cdef Py_ssize_t n_off = 0, prefix, lim, klen, vlen
    cdef bytes key, value, first_key = None, last_key = None
    cdef const unsigned char* kp
    cdef const unsigned char* fp
    cdef unsigned char* p
    cdef bint open_blk = False
    cdef Py_ssize_t i, n, m, blk_start = 0
    cdef tuple entry
    if not entries:
        return b""
    if not presorted:
        entries = sorted(entries)
    if writer_init(&w, 4096) < 0:
        raise_writer_error(&w)
    if writer_init(&blk, SST_BLOCK_SIZE + 64) < 0:
        writer_free(&w)
        raise_writer_error(&blk)
    try:
        wchk(&w, write_bytes(&w, <const unsigned char*>b"LORO\x00", 5))
        n = len(entries)
        i = 0
        while i < n:
            entry = <tuple>entries[i]
            key = <bytes>entry[0]
            value = <bytes>entry[1]
            klen = PyBytes_GET_SIZE(key)
            vlen = PyBytes_GET_SIZE(value)
            if open_blk and blk.len + 2 * n_off + 2 + 5 + klen + vlen > SST_BLOCK_SIZE:
                sst_finish_block(&w, &blk, offs, n_off, metas, first_key, last_key, blocks,
                                 tuple(entries[blk_start:i]) if blocks is not None else None)
                open_blk = False
            if not open_blk:
                if vlen > SST_BLOCK_SIZE:
                    sst_store_block(&w, value, metas, key, None, True, frames, given)
                    i += 1
                    continue
                if blocks is not None:
                    m = sst_reuse_block(&w, entries, i, blocks, metas)
                    if m > 0:
                        i += m
                        continue
                blk.len = 0
                wchk(&blk, write_bytes(&blk, <const unsigned char*>PyBytes_AS_STRING(value), vlen))
                offs[0] = 0
                n_off = 1
                first_key = last_key = key
                open_blk = True
                blk_start = i
                i += 1
                continue
            kp = <const unsigned char*>PyBytes_AS_STRING(key)
            fp = <const unsigned char*>PyBytes_AS_STRING(first_key)
            lim = min(klen, PyBytes_GET_SIZE(first_key), 255)
            prefix = 0
            while prefix < lim and kp[prefix] == fp[prefix]:
                prefix += 1
            offs[n_off] = <uint16_t>blk.len
            n_off += 1
            if writer_reserve(&blk, 3 + klen - prefix + vlen) < 0:
                raise_writer_error(&blk)
            p = blk.data + blk.len
            p[0] = <unsigned char>prefix
            p[1] = <unsigned char>((klen - prefix) & 0xFF)
            p[2] = <unsigned char>((klen - prefix) >> 8)
            memcpy(p + 3, kp + prefix, klen - prefix)
            memcpy(p + 3 + klen - prefix, PyBytes_AS_STRING(value), vlen)
            blk.len += 3 + klen - prefix + vlen
            last_key = key
            i += 1
        if open_blk:
            sst_finish_block(&w, &blk, offs, n_off, metas, first_key, last_key, blocks,
                             tuple(entries[blk_start:n]) if blocks is not None else None)
        meta_off = w.len
        meta = bytearray()
        for off, first_key, flags, last_key in metas:
            meta += int(off).to_bytes(4, "little")
            meta += len(first_key).to_bytes(2, "little") + first_key
            meta.append(flags)
            if not (flags & 0x80):
                meta += len(last_key).to_bytes(2, "little") + last_key
        meta_b = bytes(meta)
        wchk(&w, write_u32_le(&w, <uint32_t>len(metas)))
        wchk(&w, write_bytes(&w, <const unsigned char*>PyBytes_AS_STRING(meta_b), len(meta_b)))
        wchk(&w, write_u32_le(&w, xxh32_released(<const unsigned char*>PyBytes_AS_STRING(meta_b),
                                                  len(meta_b), LORO_SEED)))
        wchk(&w, write_u32_le(&w, <uint32_t>meta_off))
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)
        writer_free(&blk)


# -- the oplog section --------------------------------------------------------------------------

cdef bytes change_block_bytes(list block):
    """One change block's postcard bytes (encode_block writes them length-prefixed)."""
    cdef Writer w
    cdef Reader r
    cdef Reader body
    if writer_init(&w, 1024) < 0:
        raise_writer_error(&w)
    try:
        encode_block(&w, block)
        reader_init(&r, w.data, w.len)
        r_slice(&r, &body)
        return PyBytes_FromStringAndSize(<const char*>body.data, body.len)
    finally:
        writer_free(&w)


# Encoded change blocks of the logs exported last, as Loro keeps its change store's blocks
# encoded: {log serial: {(peer, first counter, end counter, changes, ops): bytes}} (a
# change's ops never change once its id range is fixed: a change that grows has another
# end). The compressed form of a large block is kept beside it, by the block's bytes
# object (hashed once). A few logs at most, the most recent ones.
cdef dict _block_cache = {}
cdef dict _frame_cache = {}
cdef enum:
    BLOCK_CACHE_LOGS = 2


cdef dict block_cache_of(uint64_t serial):
    cdef dict found = _block_cache.pop(serial, None)
    if found is None:
        found = {}
        while len(_block_cache) >= BLOCK_CACHE_LOGS:
            stale = _block_cache.pop(next(iter(_block_cache)))
            for raw in stale.values():
                _frame_cache.pop(raw, None)
    _block_cache[serial] = found         # most recent last
    return found


cdef bytes cached_block_bytes(list block, Py_ssize_t ops, dict cache):
    if cache is None:
        return change_block_bytes(block)
    first = block[0]
    last = block[len(block) - 1]
    key = (first[0], first[1], last[1] + change_len(last), len(block), ops)
    raw = cache.get(key)
    if raw is None:
        raw = cache[key] = change_block_bytes(block)
    return raw


cdef bytes block_bytes(list block, Py_ssize_t ops, dict cache, dict loaded):
    """A block's bytes: the loaded block of exactly its changes (`loaded`, from
    loaded_block_map), else cached_block_bytes'."""
    cdef tuple got
    if loaded is not None:
        first = block[0]
        last = block[len(block) - 1]
        got = loaded.get((first[0], first[1]))
        if got is not None and got[0] == last[1] + change_len(last):
            return got[1]
    return cached_block_bytes(block, ops, cache)


cdef list oplog_entries(list changes, bytes vv_bytes, bytes fr_bytes, dict cache=None,
                        dict kept=None, dict loaded=None, dict written=None):
    """The change store's entries: blocks of one peer's consecutive changes, keyed by the
    12-byte id (peer and counter, big-endian) of their first change (`cache`: the log's
    blocks encoded by earlier exports; `kept`: peer -> the counters where loro's change
    store starts a block, LoroDoc.kept_blocks)."""
    cdef list out = [(b"vv", vv_bytes), (b"fr", fr_bytes)]
    cdef list block = []
    cdef Py_ssize_t ops_in_block = 0
    cdef set used = set() if cache is not None else None
    cdef object starts = None
    if kept:
        starts = {(p, c) for p, cs in kept.items() for c in cs}
    for ch in split_changes(changes):
        if block:
            last = block[len(block) - 1]
            if (ch[0] != last[0] or ch[1] != last[1] + change_len(last)
                    or ops_in_block + len(ch[6]) > SNAPSHOT_BLOCK_OPS
                    or (starts is not None and (ch[0], ch[1]) in starts)):
                out.append((_id_key(block[0]), block_bytes(block, ops_in_block, cache, loaded)))
                if written is not None:
                    written[(block[0][0], block[0][1])] = (last[1] + change_len(last),
                                                           out[len(out) - 1][1])
                block = []
                ops_in_block = 0
        block.append(ch)
        ops_in_block += len(ch[6])
    if block:
        out.append((_id_key(block[0]), block_bytes(block, ops_in_block, cache, loaded)))
        if written is not None:
            last = block[len(block) - 1]
            written[(block[0][0], block[0][1])] = (last[1] + change_len(last), out[len(out) - 1][1])
    if cache is not None and len(cache) > len(out):
        # blocks that grew since: keep only what this export used
        for k, raw in out[2:]:
            used.add(id(raw))
        for key in [key for key, raw in cache.items() if id(raw) not in used]:
            _frame_cache.pop(cache.pop(key), None)
    return out


cdef bytes _id_key(tuple ch):
    return int(ch[0]).to_bytes(8, "big") + int(ch[1]).to_bytes(4, "big", signed=True)


# -- the state section --------------------------------------------------------------------------

cdef int w_postcard_cid(Writer* w, object cid) except -1:
    """A ContainerID as postcard writes it (historical kind byte)."""
    cdef int64_t ctr
    if isinstance(cid, _types.ContainerID.Root):
        wchk(w, write_u8(w, 0))
        w_str(w, cid.name)
    else:
        wchk(w, write_u8(w, 1))
        wchk(w, write_uleb64(w, <uint64_t>cid.peer))
        ctr = cid.counter
        wchk(w, write_zigzag64(w, ctr))
    return wchk(w, write_u8(w, <uint8_t>cid.container_type._historical))   # (to_historical_byte())


cdef int w_peer_table(Writer* w, list peers) except -1:
    wchk(w, write_uleb64(w, <uint64_t>len(peers)))
    for p in peers:
        wchk(w, write_u64_le(w, <uint64_t>p))
    return 0


cdef int w_delta_rle_column(Writer* w, list col) except -1:
    """One DeltaRle column of a columnar vec, length-prefixed."""
    cdef Py_ssize_t n = len(col), i
    cdef int64_t* v = <int64_t*>xalloc(n if n > 0 else 1, sizeof(int64_t))
    try:
        for i in range(n):
            v[i] = col[i]
        w_delta_rle_array(w, v, n)
    finally:
        free(v)
    return 0


cdef int w_delta_rle_array(Writer* w, int64_t* v, Py_ssize_t n) except -1:
    """w_delta_rle_column of `n` values in a C array."""
    cdef Writer tmp
    if writer_init(&tmp, 16 + n) < 0:
        raise_writer_error(&tmp)
    try:
        enc_delta_rle(&tmp, v, n)
        w_section(w, &tmp)
    finally:
        writer_free(&tmp)
    return 0


cdef int w_id_columns(Writer* w, object ids, bint with_len) except -1:
    """The peer table, then the columnar ids (peer index, counter, lamport - counter[, len])
    of List and Text states: `ids` a list of (peer, counter, lamport[, len]) tuples, or
    runs packed as int64 quads (peer id as uint64, counter, lamport, len: seq_visible_packed)
    which a Text writes one row each and a List one row per atom (a List's ids have no len
    column). The columns go straight into C arrays (a text's runs are many)."""
    cdef dict peer_idx = {}
    cdef list peers = []
    cdef bint packed = type(ids) is bytes
    cdef Py_ssize_t n_in = PyBytes_GET_SIZE(ids) // 32 if packed else len(ids), n = 0, i, j
    cdef const int64_t* q = <const int64_t*>PyBytes_AS_STRING(ids) if packed else NULL
    cdef int64_t* cols = NULL
    cdef int64_t* pcol
    cdef int64_t* ccol
    cdef int64_t* lcol
    cdef int64_t* ncol
    cdef int64_t last_idx = -1, k
    cdef uint64_t last_peer = 0
    cdef tuple row
    if packed and PyBytes_GET_SIZE(ids) % 32:
        raise LoroError("packed ids are int64 quads")
    if packed and not with_len:
        # one row per atom: the runs' lengths (a visible run is never empty)
        for i in range(n_in):
            if q[4 * i + 3] <= 0:
                raise LoroError("a packed run of a list is empty")
            n += q[4 * i + 3]
    else:
        n = n_in
    # (every row of the columns read below is written first: no zeroing)
    cols = <int64_t*>xalloc_raw(4 * n if n > 0 else 1, sizeof(int64_t))
    pcol = cols
    ccol = cols + n
    lcol = cols + 2 * n
    ncol = cols + 3 * n
    try:
        j = 0
        for i in range(n_in):
            if packed:
                if last_idx < 0 or <uint64_t>q[4 * i] != last_peer:
                    last_peer = <uint64_t>q[4 * i]
                    p = last_peer
                    got = peer_idx.get(p)
                    if got is None:
                        got = peer_idx[p] = len(peers)
                        peers.append(p)
                    last_idx = got
                if with_len:
                    pcol[i] = last_idx
                    ccol[i] = q[4 * i + 1]
                    lcol[i] = q[4 * i + 2] - q[4 * i + 1]
                    ncol[i] = q[4 * i + 3]
                    continue
                # a run's atoms: counters and Lamports both step by one, so their
                # difference is the run's
                for k in range(q[4 * i + 3]):
                    pcol[j] = last_idx
                    ccol[j] = q[4 * i + 1] + k
                    lcol[j] = q[4 * i + 2] - q[4 * i + 1]
                    j += 1
                continue
            row = ids[i]
            p = row[0]
            got = peer_idx.get(p)
            if got is None:
                got = peer_idx[p] = len(peers)
                peers.append(p)
            pcol[i] = got
            ccol[i] = row[1]
            lcol[i] = <int64_t>row[2] - ccol[i]
            if with_len:
                ncol[i] = row[3]
        w_peer_table(w, peers)
        if with_len:
            wchk(w, write_uleb64(w, 3))      # EncodedText: spans, style keys, marks
        else:
            wchk(w, write_uleb64(w, 1))      # EncodedListIds: ids
        wchk(w, write_uleb64(w, 4 if with_len else 3))
        w_delta_rle_array(w, pcol, n)
        w_delta_rle_array(w, ccol, n)
        w_delta_rle_array(w, lcol, n)
        if with_len:
            w_delta_rle_array(w, ncol, n)
    finally:
        free(cols)
    return 0


cdef extern from *:
    """
    #define snap_list_items(l) (((PyListObject *)(l))->ob_item)
    """
    PyObject **snap_list_items(object l) noexcept

# how many items ahead w_list_state asks for a value object (and twice that for its
# pointer in the log's list)
cdef enum:
    LIST_VALUES_AHEAD = 12


cdef int w_list_state(Writer* w, tuple payload) except -1:
    """List: its values (a postcard Vec<LoroValue>), then its ids. `payload` is
    (the log's value list, the items' slots in it as native uint32s, their id runs packed
    as seq_visible_packed packs them): each value is read by its slot and written as
    w_postcard_values writes a list's items, with no copy or list of the values made."""
    cdef list values = payload[0]
    cdef bytes slots = payload[1], runs = payload[2]
    cdef Py_ssize_t n = PyBytes_GET_SIZE(slots) // 4, i, atoms = 0, nv
    cdef const uint32_t* sl = <const uint32_t*>PyBytes_AS_STRING(slots)
    cdef const int64_t* q = <const int64_t*>PyBytes_AS_STRING(runs)
    cdef PyObject **items
    if PyBytes_GET_SIZE(slots) % 4 or PyBytes_GET_SIZE(runs) % 32:
        raise LoroError("a list's slots are uint32s and its runs int64 quads")
    for i in range(PyBytes_GET_SIZE(runs) // 32):
        atoms += q[4 * i + 3]
    if atoms != n:
        raise LoroError("a list's id runs do not cover its items")
    wchk(w, write_uleb64(w, <uint64_t>n))
    # The items' slots are in the order the values were inserted, not the list's, so
    # each value object (and its pointer in the log's list) is a cache miss: asked for
    # ahead, the misses overlap. (The list's size and array are read afresh per item, as
    # a value's writer may run Python code; every slot read is checked against them.)
    for i in range(n):
        nv = PyList_GET_SIZE(values)
        items = snap_list_items(values)
        if i + 2 * LIST_VALUES_AHEAD < n and sl[i + 2 * LIST_VALUES_AHEAD] < nv:
            lc_prefetch(&items[sl[i + 2 * LIST_VALUES_AHEAD]])
        if i + LIST_VALUES_AHEAD < n and sl[i + LIST_VALUES_AHEAD] < nv:
            lc_prefetch(items[sl[i + LIST_VALUES_AHEAD]])
        if sl[i] >= nv:
            raise LoroError("a list's slot is past the log's values")
        eph_w_value(w, <object>items[sl[i]], 1)
    return w_id_columns(w, runs, False)


cdef object _ephemeral_mod = None


cdef int w_postcard_values(Writer* w, object values) except -1:
    """A postcard Vec<LoroValue> (list) or map (dict): the LoroValue encoding of the whole
    list or map without its tag byte."""
    cdef bytes raw = _ephemeral_codec().encode_value(values)
    return wchk(w, write_bytes(w, <const unsigned char*>PyBytes_AS_STRING(raw) + 1,
                               PyBytes_GET_SIZE(raw) - 1))


cdef list map_value_order(list keys, list items):
    """`items` (one per key of `keys`, given in key order) in the order of loro's map
    value: its map state keeps the entries by key and builds the value as a hash map made
    with room for the live keys and filled in key order (MapState::to_map), which a
    snapshot writes as it yields them (probed on loro 1.17.1: 300 random maps, keys set in
    any order, some deleted; kinds late session 2951: keys 'c' then 'b', one bucket)."""
    from loro_c import _hashorder
    at = {k: i for i, k in enumerate(keys)}
    return [items[at[k]] for k in _hashorder.key_order(keys, "f")]


cdef int w_map_state(Writer* w, list rows) except -1:
    # loro's map state keeps its entries by key: the live keys with their values (in its
    # value's order, map_value_order), the dead keys, the peers by first use, and each
    # key's (peer, lamport), all by key
    cdef dict live = {}, peer_idx = {}
    cdef list dead = [], peers = [], live_keys = []
    if len(rows) > 1:
        rows = sorted(rows, key=_utf8_key)
    for key, has, value, peer, lamport in rows:
        if has:
            live_keys.append(key)
        else:
            dead.append(key)
        if peer not in peer_idx:
            peer_idx[peer] = len(peers)
            peers.append(peer)
    by_key = {row[0]: row[2] for row in rows if row[1]}
    if len(live_keys) > 1:
        live_keys = map_value_order(live_keys, live_keys)
    for key in live_keys:
        live[key] = by_key[key]
    w_postcard_values(w, live)
    wchk(w, write_uleb64(w, <uint64_t>len(dead)))     # Vec<String>: no value tags
    for key in dead:
        w_str(w, key)
    w_peer_table(w, peers)
    for key, has, value, peer, lamport in rows:
        wchk(w, write_uleb64(w, <uint64_t>peer_idx[peer]))
        wchk(w, write_uleb64(w, <uint64_t>lamport))
    return 0


def _utf8_key(row):
    return row[0].encode("utf-8")


cdef int w_text_state(Writer* w, tuple payload) except -1:
    """Text: its UTF-8, the chunks' ids (a style start has len 0, its end -1), the style
    keys in order of first use, one mark row (key index, value, info) per style start."""
    cdef dict key_idx = {}
    cdef list keys = []
    cdef bytes raw
    text, chunks, marks = payload
    w_str(w, text)
    w_id_columns(w, chunks, True)
    for key, value, info in marks:
        if key not in key_idx:
            key_idx[key] = len(keys)
            keys.append(key)
    wchk(w, write_uleb64(w, <uint64_t>len(keys)))
    for key in keys:
        w_str(w, key)
    wchk(w, write_uleb64(w, <uint64_t>len(marks)))
    for key, value, info in marks:
        wchk(w, write_uleb64(w, 3))      # the row's fields
        wchk(w, write_uleb64(w, <uint64_t>key_idx[key]))
        raw = _ephemeral_codec().encode_value(value)
        wchk(w, write_bytes(w, <const unsigned char*>PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw)))
        wchk(w, write_u8(w, <uint8_t>info))
    return 0


cdef object _ephemeral_codec():
    global _ephemeral_mod
    if _ephemeral_mod is None:
        from loro_c import ephemeral_codec
        _ephemeral_mod = ephemeral_codec
    return _ephemeral_mod


cdef class _PeerRegister:
    """Peers numbered in order of first use."""
    cdef dict index
    cdef list peers

    def __cinit__(self):
        self.index = {}
        self.peers = []

    cdef int64_t of(self, object peer) except -1:
        i = self.index.get(peer)
        if i is None:
            i = self.index[peer] = len(self.peers)
            self.peers.append(peer)
        return i


cdef int w_bool_rle_column(Writer* w, list col) except -1:
    cdef Py_ssize_t n = len(col), i
    cdef uint8_t* v = <uint8_t*>xalloc(n, 1)
    cdef Writer tmp
    if writer_init(&tmp, 16) < 0:
        free(v)
        raise_writer_error(&tmp)
    try:
        for i in range(n):
            v[i] = 1 if col[i] else 0
        enc_bool_rle(&tmp, v, n)
        w_section(w, &tmp)
    finally:
        free(v)
        writer_free(&tmp)
    return 0


cdef int w_movable_list_state(Writer* w, tuple payload) except -1:
    """MovableList: the values, then its list items as four streams: per item group (a
    sentinel, then one per value) the items after it no element stands on and whether the
    element and its last set share the item's id; every item's id; the element ids and
    last-set ids that differ."""
    cdef _PeerRegister reg = _PeerRegister()
    cdef list invisible = [0], pos_eq = [True], set_eq = [True]
    cdef list ip = [], ic = [], il = [], ep = [], el = [], sp = [], sl = []
    values, items = payload
    w_postcard_values(w, values)
    for peer, counter, lamport, elem, last_set in items:
        if elem is None:
            invisible[len(invisible) - 1] += 1
            ip.append(reg.of(peer))
            ic.append(counter)
            il.append(lamport - counter)
            continue
        invisible.append(0)
        ip.append(reg.of(peer))
        ic.append(counter)
        il.append(lamport - counter)
        pos_eq.append(elem[0] == peer and elem[1] == lamport)
        if not pos_eq[len(pos_eq) - 1]:
            ep.append(reg.of(elem[0]))
            el.append(elem[1])
        set_eq.append(last_set == elem)
        if last_set != elem:
            sp.append(reg.of(last_set[0]))
            sl.append(last_set[1])
    w_peer_table(w, reg.peers)
    wchk(w, write_uleb64(w, 4))
    wchk(w, write_uleb64(w, 3))
    w_delta_rle_column(w, invisible)
    w_bool_rle_column(w, pos_eq)
    w_bool_rle_column(w, set_eq)
    wchk(w, write_uleb64(w, 3))
    w_delta_rle_column(w, ip)
    w_delta_rle_column(w, ic)
    w_delta_rle_column(w, il)
    for peers_col, lamports in ((ep, el), (sp, sl)):
        wchk(w, write_uleb64(w, 2))
        w_delta_rle_column(w, peers_col)
        w_delta_rle_column(w, lamports)
    return 0


cdef int w_tree_state(Writer* w, list rows) except -1:
    """Tree: the node ids (their peers registered first, then the last moves' peers), one
    row per node (parent index + 2, or 0 for a root, 1 under the deleted root; its last
    move; its fractional index's rank among the sorted distinct ones), the positions
    arena, and an empty reserved field."""
    cdef _PeerRegister reg = _PeerRegister()
    cdef dict row_of = {}
    cdef list np_ = [], nc = [], parent_col = [], mp = [], mc = [], ml = []
    cdef Writer tmp
    for k in range(len(rows)):
        node = rows[k][0]
        row_of[node] = k
        np_.append(reg.of(node[0]))
        nc.append(node[1])
    ranks = {fi: k for k, fi in enumerate(sorted({row[3] for row in rows}))}
    for node, parent, last, fi in rows:
        parent_col.append(0 if parent is None else 1 if parent == "deleted" else row_of[parent] + 2)
        mp.append(reg.of(last[0]))
        mc.append(last[1])
        ml.append(last[2] - last[1])
    w_peer_table(w, reg.peers)
    wchk(w, write_uleb64(w, 4))
    wchk(w, write_uleb64(w, 2))
    w_delta_rle_column(w, np_)
    w_delta_rle_column(w, nc)
    wchk(w, write_uleb64(w, 5))
    w_delta_rle_column(w, parent_col)
    w_delta_rle_column(w, mp)
    w_delta_rle_column(w, mc)
    w_delta_rle_column(w, ml)
    if writer_init(&tmp, 16 + 2 * len(rows)) < 0:
        raise_writer_error(&tmp)
    try:
        wchk(&tmp, write_uleb64(&tmp, <uint64_t>len(rows)))     # Generic: a postcard Vec
        for row in rows:
            wchk(&tmp, write_uleb64(&tmp, <uint64_t>ranks[row[3]]))
        w_section(w, &tmp)
    finally:
        writer_free(&tmp)
    arena = positions_section(ranks) if ranks else b"\x01\x02\x00\x01\x00"
    wchk(w, write_uleb64(w, <uint64_t>len(arena)))
    wchk(w, write_bytes(w, <const unsigned char*>PyBytes_AS_STRING(arena), len(arena)))
    return wchk(w, write_uleb64(w, 0))


cdef struct FiRow:
    const unsigned char *fi     # a row's fractional index (its move's bytes, or 0x80)
    Py_ssize_t n
    int64_t row


cdef int _fi_row_cmp(const void *a, const void *b) noexcept nogil:
    # bytes order, as Python sorts the rows' index bytes
    cdef const FiRow *x = <const FiRow*>a
    cdef const FiRow *y = <const FiRow*>b
    cdef Py_ssize_t n = x.n if x.n < y.n else y.n
    cdef int r = memcmp(x.fi, y.fi, <size_t>n)
    if r != 0:
        return r
    if x.n != y.n:
        return (x.n > y.n) - (x.n < y.n)
    return (x.row > y.row) - (x.row < y.row)


cdef unsigned char _FI_DEFAULT = 0x80     # Loro's index of a node without one


cdef int w_tree_moves(Writer* w, TreeMoves tm) except -1:
    """w_tree_state of tm.state_rows(), read from the tree's C arrays: the same walk (the
    shown nodes, then the deleted ones, each parent's children in sibling order, depth
    first), its columns kept in C (a tree lists every node it ever had)."""
    cdef _PeerRegister reg = _PeerRegister()
    cdef int64_t n, rows = 0, n_stack, p, k, i, m, nd, last_key = 0, last_idx = -1
    cdef int64_t *buf = NULL
    cdef int64_t *order
    cdef int64_t *row_of
    cdef int64_t *stack
    cdef int64_t *parent_col
    cdef int64_t *np_
    cdef int64_t *nc
    cdef int64_t *mp
    cdef int64_t *mc
    cdef int64_t *ml
    cdef int64_t *rank
    cdef FiRow *fis = NULL
    cdef const unsigned char **ps = NULL
    cdef Py_ssize_t *ns = NULL
    cdef child_list *kids
    cdef tree_move *mv
    cdef Writer tmp
    cdef uint64_t peer
    tm.settle()
    n = tm.n_nodes
    nd = n if n > 0 else 1
    buf = <int64_t*>xalloc(10 * nd + 2, sizeof(int64_t))
    memset(&tmp, 0, sizeof(Writer))
    try:
        order = buf
        row_of = buf + nd
        parent_col = buf + 2 * nd
        np_ = buf + 3 * nd
        nc = buf + 4 * nd
        mp = buf + 5 * nd
        mc = buf + 6 * nd
        ml = buf + 7 * nd
        rank = buf + 8 * nd
        stack = buf + 9 * nd            # (n + 2 slots: it ends the buffer)
        for top in (TREE_ROOT, TREE_DELETED):
            stack[0] = top
            n_stack = 1
            while n_stack:
                n_stack -= 1
                p = stack[n_stack]
                kids = tm.sorted_kids(p)
                if kids == NULL or kids.n == 0:
                    continue
                for i in range(kids.n):
                    k = kids.items[i]
                    if k < 0 or k >= n or rows >= n:
                        raise LoroError("a tree's child lists name a node twice")
                    order[rows] = k
                    row_of[k] = rows
                    parent_col[rows] = 0 if p == TREE_ROOT else 1 if p == TREE_DELETED else row_of[p] + 2
                    rows += 1
                if n_stack + kids.n > n + 1:
                    raise LoroError("a tree's child lists name a node twice")
                for i in range(kids.n - 1, -1, -1):
                    stack[n_stack] = kids.items[i]
                    n_stack += 1
        # the node ids' peers are registered before the moves' (w_tree_state's order)
        for i in range(rows):
            k = order[i]
            peer = tm.nodes[k].peer
            if last_idx < 0 or <int64_t>peer != last_key:
                last_key = <int64_t>peer
                last_idx = reg.of(peer)
            np_[i] = last_idx
            nc[i] = tm.nodes[k].counter
        fis = <FiRow*>xalloc(rows if rows else 1, sizeof(FiRow))
        last_idx = -1
        for i in range(rows):
            m = tm.nodes[order[i]].last_move
            if m < 0 or m >= tm.n_moves:
                raise LoroError("a tree node has no last move")
            mv = &tm.moves[m]
            if last_idx < 0 or <int64_t>mv.peer != last_key:
                last_key = <int64_t>mv.peer
                last_idx = reg.of(mv.peer)
            mp[i] = last_idx
            mc[i] = mv.counter
            ml[i] = <int64_t>mv.lamport - mv.counter
            if mv.fi_len:
                if mv.fi_off < 0 or mv.fi_len < 0 or mv.fi_off + mv.fi_len > tm.n_fis:
                    raise LoroError("a tree move's index is out of its arena")
                fis[i].fi = tm.fis + mv.fi_off
                fis[i].n = mv.fi_len
            else:
                fis[i].fi = &_FI_DEFAULT
                fis[i].n = 1
            fis[i].row = i
        # each row's index ranked among the distinct ones, in bytes order
        if rows > 1:
            qsort(fis, <size_t>rows, sizeof(FiRow), _fi_row_cmp)
        ps = <const unsigned char**>xalloc(rows if rows else 1, sizeof(unsigned char*))
        ns = <Py_ssize_t*>xalloc(rows if rows else 1, sizeof(Py_ssize_t))
        m = 0
        for i in range(rows):
            if (m == 0 or fis[i].n != ns[m - 1]
                    or memcmp(fis[i].fi, ps[m - 1], <size_t>fis[i].n) != 0):
                ps[m] = fis[i].fi
                ns[m] = fis[i].n
                m += 1
            rank[fis[i].row] = m - 1
        w_peer_table(w, reg.peers)
        wchk(w, write_uleb64(w, 4))
        wchk(w, write_uleb64(w, 2))
        w_delta_rle_array(w, np_, rows)
        w_delta_rle_array(w, nc, rows)
        wchk(w, write_uleb64(w, 5))
        w_delta_rle_array(w, parent_col, rows)
        w_delta_rle_array(w, mp, rows)
        w_delta_rle_array(w, mc, rows)
        w_delta_rle_array(w, ml, rows)
        if writer_init(&tmp, 16 + 2 * rows) < 0:
            raise_writer_error(&tmp)
        wchk(&tmp, write_uleb64(&tmp, <uint64_t>rows))     # Generic: a postcard Vec
        for i in range(rows):
            wchk(&tmp, write_uleb64(&tmp, <uint64_t>rank[i]))
        w_section(w, &tmp)
        arena = positions_section_of(ps, ns, m) if m else b"\x01\x02\x00\x01\x00"
        wchk(w, write_uleb64(w, <uint64_t>len(arena)))
        wchk(w, write_bytes(w, <const unsigned char*>PyBytes_AS_STRING(arena), len(arena)))
        return wchk(w, write_uleb64(w, 0))
    finally:
        free(buf)
        free(fis)
        free(ps)
        free(ns)
        writer_free(&tmp)


cdef bytes container_state_bytes(tuple row):
    """Loro's ContainerWrapper: raw kind, depth, postcard Option<parent>, then the state."""
    cdef Writer w
    cdef int kind
    cdef double counter
    cid, kind, depth, parent, payload = row
    if writer_init(&w, 64) < 0:
        raise_writer_error(&w)
    try:
        wchk(&w, write_u8(&w, <uint8_t>kind))
        wchk(&w, write_uleb64(&w, <uint64_t>depth))
        if parent is None:
            wchk(&w, write_u8(&w, 0))
        else:
            wchk(&w, write_u8(&w, 1))
            w_postcard_cid(&w, parent)
        if kind == KIND_TEXT:
            w_text_state(&w, payload)
        elif kind == KIND_LIST:
            w_list_state(&w, payload)
        elif kind == KIND_MAP:
            w_map_state(&w, payload)
        elif kind == KIND_COUNTER:
            counter = payload
            wchk(&w, write_bytes(&w, <const unsigned char*>&counter, 8))   # f64 LE (x86/ARM)
        elif kind == KIND_MOVABLE_LIST:
            w_movable_list_state(&w, payload)
        elif kind == KIND_TREE:
            if type(payload) is TreeMoves:
                w_tree_moves(&w, <TreeMoves>payload)
            else:
                w_tree_state(&w, payload)
        else:
            raise LoroError(f"no snapshot state for kind {kind}")
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)


# -- Map states straight from the document ----------------------------------------------------

cdef struct MapKeyRow:
    const char *key         # the key's UTF-8 (the key table's str holds it)
    Py_ssize_t key_len
    uint64_t head           # its first 8 bytes, big-endian, zero-padded (_key_head)
    uint32_t key_id         # its index in the log's key table
    uint32_t peer           # its writer's peer index, then its place in the peer table
    uint32_t lamport
    int64_t slot            # its value's slot, < 0 for a deleted key


cdef inline uint64_t _key_head(const char *key, Py_ssize_t n) noexcept nogil:
    """The first 8 bytes of a key as a big-endian number, zero-padded: heads compare as
    the keys' first bytes do (a shorter key padded with zeros sorts before any key it is
    a prefix of, as it should), so equal heads alone need the keys read."""
    cdef uint64_t h = 0
    cdef Py_ssize_t i
    for i in range(8):
        h = (h << 8) | (<uint8_t>key[i] if i < n else 0)
    return h


cdef int _map_key_row_cmp(const void *a, const void *b) noexcept nogil:
    # the keys' UTF-8 in byte order, as Python compares the encoded keys
    cdef const MapKeyRow *x = <const MapKeyRow*>a
    cdef const MapKeyRow *y = <const MapKeyRow*>b
    if x.head != y.head:
        return -1 if x.head < y.head else 1
    cdef Py_ssize_t n = x.key_len if x.key_len < y.key_len else y.key_len
    cdef int r = memcmp(x.key, y.key, <size_t>n)
    if r != 0:
        return r
    return (x.key_len > y.key_len) - (x.key_len < y.key_len)


cdef enum:
    # below this many keys a map's rows are sorted by comparisons alone
    MAP_RADIX_MIN = 48
    # how many rows ahead encode_map_entries asks for a key's and a value's object
    MAP_OBJECTS_AHEAD = 8


cdef void _sort_key_rows(MapKeyRow *rows, Py_ssize_t n, MapKeyRow *spare) noexcept nogil:
    """Sort `rows` by key as _map_key_row_cmp does (`spare`: room for `n` rows). A large
    map's rows go through a radix sort of their heads (a byte whose value all rows share
    takes no pass: short keys of one prefix need few), then each run of equal heads (keys
    that share their first 8 bytes) is sorted by comparing the keys: qsort calling the
    comparison for every pair read the keys' bytes from all over memory."""
    cdef size_t count[256]
    cdef size_t at, c
    cdef Py_ssize_t i, j
    cdef int shift, b
    cdef MapKeyRow *src = rows
    cdef MapKeyRow *dst = spare
    cdef MapKeyRow *t
    if n < MAP_RADIX_MIN:
        if n > 1:
            qsort(rows, <size_t>n, sizeof(MapKeyRow), _map_key_row_cmp)
        return
    for shift in range(0, 64, 8):
        memset(count, 0, sizeof(count))
        for i in range(n):
            count[(src[i].head >> shift) & 0xFF] += 1
        if count[(src[0].head >> shift) & 0xFF] == <size_t>n:
            continue
        at = 0
        for b in range(256):
            c = count[b]
            count[b] = at
            at += c
        for i in range(n):
            b = (src[i].head >> shift) & 0xFF
            dst[count[b]] = src[i]
            count[b] += 1
        t = src
        src = dst
        dst = t
    if src != rows:
        memcpy(rows, src, <size_t>n * sizeof(MapKeyRow))
    i = 0
    while i < n:
        j = i + 1
        while j < n and rows[j].head == rows[i].head:
            j += 1
        if j - i > 1:
            qsort(&rows[i], <size_t>(j - i), sizeof(MapKeyRow), _map_key_row_cmp)
        i = j


cdef const char *_key_utf8(object key, Py_ssize_t *n) except NULL:
    try:
        return PyUnicode_AsUTF8AndSize(key, n)
    except UnicodeEncodeError:
        raise LoroValueError("a string with lone surrogates cannot be encoded") from None


def encode_map_entries(LoroDoc d, bytes plan not None):
    """The state entries (key, ContainerWrapper bytes) of the Map containers `plan` lists,
    as int64 triples (container index, depth, parent container index or -1): the bytes
    container_state_bytes writes for their snapshot_state_rows rows, read here from each
    map's C state (a snapshot lists one map per tree node or record: a Python row per key,
    a dict of its values and a call to the value encoder per map cost more than the
    bytes). Values go through the ephemeral codec's writer, as w_postcard_values does."""
    cdef Py_ssize_t n_plan = PyBytes_GET_SIZE(plan) // 24, i, r, n_rows, cap_rows = 16
    cdef const int64_t *q = <const int64_t*>PyBytes_AS_STRING(plan)
    cdef OpLog log = d.log
    cdef list keys = log.keys, values = log.values, out = []
    cdef Py_ssize_t n_keys = len(keys), n_values = len(values)
    cdef uint32_t n_peers = log.n_peers, n_used, live, j
    cdef int64_t c, p, depth, last_parent = -2
    cdef lc_map *m
    cdef lc_map_entry *e
    cdef Writer w, pw
    cdef int32_t *peer_slot = NULL
    cdef uint32_t *used = NULL
    cdef MapKeyRow *rows = NULL
    cdef MapKeyRow *spare = NULL        # (the radix sort's other half)
    cdef MapKeyRow *grown
    cdef int64_t *order = NULL
    if PyBytes_GET_SIZE(plan) % 24:
        raise LoroError("a map plan is int64 triples")
    if writer_init(&w, 64) < 0:
        raise_writer_error(&w)
    if writer_init(&pw, 32) < 0:
        writer_free(&w)
        raise_writer_error(&pw)
    try:
        peer_slot = <int32_t*>xalloc(n_peers + 1, sizeof(int32_t))
        used = <uint32_t*>xalloc(n_peers + 1, sizeof(uint32_t))
        rows = <MapKeyRow*>xalloc(cap_rows, sizeof(MapKeyRow))
        spare = <MapKeyRow*>xalloc(cap_rows, sizeof(MapKeyRow))
        memset(peer_slot, 0xFF, (n_peers + 1) * sizeof(int32_t))      # -1: not in the table
        for i in range(n_plan):
            c = q[3 * i]
            depth = q[3 * i + 1]
            p = q[3 * i + 2]
            if (c < 0 or c >= d.n_containers or d.ckind[c] != KIND_MAP or depth < 0
                    or p < -1 or p >= d.n_containers or d.ctree[c] >= d.n_maps):
                raise LoroError(f"map plan entry {i} names no map")
            w.len = 0
            wchk(&w, write_u8(&w, <uint8_t>KIND_MAP))
            wchk(&w, write_uleb64(&w, <uint64_t>depth))
            if p < 0:
                wchk(&w, write_u8(&w, 0))
            else:
                if p != last_parent:
                    # (a tree's meta maps share their parent: its id is written once)
                    pw.len = 0
                    w_postcard_cid(&pw, d.cids[p])
                    last_parent = p
                wchk(&w, write_u8(&w, 1))
                wchk(&w, write_bytes(&w, pw.data, pw.len))
            m = &d.maps[d.ctree[c]]
            # the keys with a winner, in table order (w_map_state's row order)
            n_rows = 0
            live = 0
            for j in range(m.cap):
                e = &m.entries[j]
                if e.key == LC_NO_KEY or e.peer == LC_NO_KEY:
                    continue
                if e.key >= <uint64_t>n_keys or e.peer >= n_peers or e.slot >= n_values:
                    raise LoroError("a map entry is out of the log's tables")
                if n_rows == cap_rows:
                    grown = <MapKeyRow*>realloc(rows, <size_t>(2 * cap_rows) * sizeof(MapKeyRow))
                    if grown == NULL:
                        raise MemoryError()
                    rows = grown
                    grown = <MapKeyRow*>realloc(spare, <size_t>(2 * cap_rows) * sizeof(MapKeyRow))
                    if grown == NULL:
                        raise MemoryError()
                    spare = grown
                    cap_rows *= 2
                rows[n_rows].key_id = e.key
                rows[n_rows].peer = e.peer
                rows[n_rows].lamport = e.lamport
                rows[n_rows].slot = e.slot
                if e.slot >= 0:
                    live += 1
                n_rows += 1
            # loro's map state keeps its entries by key: the keys in key order (the table
            # is in hash order, so each key's object is a cache miss: they are asked for a
            # few rows ahead; indices checked above: the log's tables only grow)
            for r in range(n_rows):
                if r + MAP_OBJECTS_AHEAD < n_rows:
                    lc_prefetch(snap_list_items(keys)[rows[r + MAP_OBJECTS_AHEAD].key_id])
                rows[r].key = _key_utf8(<object>PyList_GET_ITEM(keys, rows[r].key_id),
                                        &rows[r].key_len)
                rows[r].head = _key_head(rows[r].key, rows[r].key_len)
            _sort_key_rows(rows, n_rows, spare)
            # the live keys with their values, in the order of the hash map of them loro
            # builds for the value (room for all, filled in key order: map_value_order)
            wchk(&w, write_uleb64(&w, live))
            if live > 1:
                order = <int64_t*>xalloc(live, sizeof(int64_t))
                live_rows_value_order(rows, n_rows, live, order)
                for j in range(live):
                    r = <Py_ssize_t>order[j]
                    wchk(&w, write_uleb64(&w, <uint64_t>rows[r].key_len))
                    wchk(&w, write_bytes(&w, <const unsigned char*>rows[r].key, rows[r].key_len))
                    eph_w_value(&w, <object>PyList_GET_ITEM(values, rows[r].slot), 1)
                free(order)
                order = NULL
            else:
                for r in range(n_rows):
                    if rows[r].slot >= 0:
                        wchk(&w, write_uleb64(&w, <uint64_t>rows[r].key_len))
                        wchk(&w, write_bytes(&w, <const unsigned char*>rows[r].key, rows[r].key_len))
                        eph_w_value(&w, <object>PyList_GET_ITEM(values, rows[r].slot), 1)
            # then the dead keys, by key
            wchk(&w, write_uleb64(&w, <uint64_t>(n_rows - live)))     # Vec<String>: no tags
            for r in range(n_rows):
                if rows[r].slot < 0:
                    wchk(&w, write_uleb64(&w, <uint64_t>rows[r].key_len))
                    wchk(&w, write_bytes(&w, <const unsigned char*>rows[r].key, rows[r].key_len))
            n_used = 0
            # peers in order of first use by key, then each key's (peer, lamport) by key
            for r in range(n_rows):
                if peer_slot[rows[r].peer] < 0:
                    peer_slot[rows[r].peer] = <int32_t>n_used
                    used[n_used] = rows[r].peer
                    n_used += 1
                rows[r].peer = <uint32_t>peer_slot[rows[r].peer]
            wchk(&w, write_uleb64(&w, n_used))
            for j in range(n_used):
                wchk(&w, write_u64_le(&w, log.peer_ids[used[j]]))
                peer_slot[used[j]] = -1
            for r in range(n_rows):
                wchk(&w, write_uleb64(&w, rows[r].peer))
                wchk(&w, write_uleb64(&w, rows[r].lamport))
            out.append((cid_key_bytes(d.cids[c]), writer_to_bytes(&w)))
        return out
    finally:
        free(order)
        free(peer_slot)
        free(used)
        free(rows)
        free(spare)
        writer_free(&w)
        writer_free(&pw)


cdef int live_rows_value_order(const MapKeyRow *rows, Py_ssize_t n_rows, Py_ssize_t live,
                               int64_t *order) except -1:
    """Write to `order` the live rows (slot >= 0) of `rows`, which are in key order, in the
    order of loro's map value: map_value_order's hash map made with room for the live keys
    and filled in key order, replayed on the keys' UTF-8 bytes (no Python object per key)."""
    cdef uint64_t *hashes = <uint64_t*>xalloc(live, sizeof(uint64_t))
    cdef int64_t *at = NULL
    cdef Py_ssize_t r, k = 0
    try:
        at = <int64_t*>xalloc(live, sizeof(int64_t))
        for r in range(n_rows):
            if rows[r].slot >= 0:
                at[k] = r
                hashes[k] = utf8_key_hash(<const unsigned char*>rows[r].key, rows[r].key_len)
                k += 1
        fixed_table_order(hashes, live, order)
        for r in range(live):
            order[r] = at[order[r]]
    finally:
        free(hashes)
        free(at)
    return 0


def encode_state_rows(list rows not None):
    """The state section's (key, value) entry of each row of _doc.snapshot_state_rows (a
    document keeps them per container: _doc.snapshot_state_entries)."""
    return [(cid_key_bytes(row[0]), container_state_bytes(row)) for row in rows]


_NormalCidType = type(_types.ContainerID.Normal(0, 0, _types.ContainerType.Map()))


cdef bytes cid_key_bytes(object cid):
    """cid.to_bytes(), made here for a Normal id (a snapshot's state lists one per child
    container: the Python method's byte concatenations cost more than the entry's state)."""
    cdef tuple parts
    cdef unsigned char key[13]
    cdef uint64_t peer
    cdef uint32_t counter
    cdef int j
    if type(cid) is not _NormalCidType:
        return cid.to_bytes()
    parts = cid._key        # (peer, counter, type)
    peer = parts[0]
    counter = <uint32_t><int32_t>parts[1]
    key[0] = <unsigned char>(<int>parts[2]._kind & 0x7F)
    for j in range(8):
        key[1 + j] = <unsigned char>((peer >> (8 * j)) & 0xFF)
    for j in range(4):
        key[9 + j] = <unsigned char>((counter >> (8 * j)) & 0xFF)
    return (<char*>key)[:13]


# The LZ4 frames of the large state values of the last snapshot exported, by their bytes
# (equal bytes compress to the same frame): a container unchanged since that export is
# hashed and compared instead of compressed again (a text's state is one large value).
# Its normal blocks likewise, in order: bytes, stored form, packed or not, checksum
# (sst_finish_block).
cdef dict _state_frames = {}
cdef list _state_blocks = []


cdef bytes state_sst(list entries, bint presorted=False):
    """sst_build of a state section, its large values' frames and its normal blocks taken
    from (and kept for the next export in) _state_frames and _state_blocks."""
    global _state_frames, _state_blocks
    cdef dict frames = {}
    cdef list blocks = []
    cdef bytes value
    for key, value in entries:
        if PyBytes_GET_SIZE(value) > SST_BLOCK_SIZE:
            frame = _state_frames.get(value)
            if frame is not None:
                frames[value] = frame
    state = sst_build(entries, frames, (_state_blocks, blocks), presorted)
    _state_frames = frames
    _state_blocks = blocks
    return state


# -- the blob -----------------------------------------------------------------------------------

cdef list sst_section_entries(bytes sec):
    """The (key, value) entries of an SSTable section."""
    cdef Reader r
    reader_init(&r, <const unsigned char*>PyBytes_AS_STRING(sec), PyBytes_GET_SIZE(sec))
    return list(sst_entries(&r))


def encode_snapshot(list changes not None, bytes vv_bytes not None, bytes fr_bytes not None,
                    list state_rows, tuple shallow=None, uint64_t log_serial=0,
                    list state_entries=None, dict kept_blocks=None, list latest_rows=None,
                    list root_entries=None, dict root_frames=None, dict loaded_blocks=None,
                    dict written_blocks=None):
    """A mode-3 snapshot: `changes` (the document's changes as Loro groups them, DocOps
    ranges), its version and frontiers (postcard), and the state rows of
    _doc.snapshot_state_rows. A shallow one passes `shallow` = (start vv bytes, start
    frontiers bytes, the state rows at the start) and `state_rows` None: its state section
    is then "E" (the importer replays the retained changes from the shallow root) when
    there are changes, else empty (no overlay). `log_serial` (nonzero) names the log the
    changes are whole history of: its blocks encoded by earlier exports are reused.
    `state_entries` (with `state_rows` None): the state section's entries already encoded
    (encode_state_rows), in key order. `kept_blocks`: peer -> the counters where loro's
    change store starts a block (a change there starts one here too). `latest_rows` (with
    `shallow`): the latest state, written as its entries that differ from the root
    state's (loro's shallow snapshot past 256 ops after its root, and StateOnly at the
    latest version: [] when that is the root), no bytes when none differs. `root_entries` (with
    `shallow`): the root state's entries already encoded, in key order (the document's
    own state, its root being the head), and `root_frames` the stored LZ4 frames of their
    large values, by value object (sst_store_block). `loaded_blocks` (with `log_serial`):
    the change blocks of the snapshot the log was loaded from (loaded_block_map), written
    back as loaded where a block holds exactly their changes; `written_blocks` (a dict)
    receives the change blocks written, in the same form."""
    cdef Writer w
    cdef uint32_t h
    cdef Py_ssize_t i
    cdef dict cache = block_cache_of(log_serial) if log_serial else None
    entries = oplog_entries(changes, vv_bytes, fr_bytes, cache, kept_blocks,
                            loaded_blocks if log_serial else None, written_blocks)
    root = b""
    if shallow is not None:
        sv_bytes, sf_bytes, root_rows = shallow
        entries += [(b"sv", sv_bytes), (b"sf", sf_bytes)]
        if isinstance(root_rows, bytes):
            root = root_rows    # a shallow document's own root state section, as imported
            root_entries = None
        elif root_entries is not None:
            root = sst_build(root_entries + [(b"fr", sf_bytes)], root_frames)
        else:
            root_entries = [(row[0].to_bytes(), container_state_bytes(row)) for row in root_rows]
            root = sst_build(root_entries + [(b"fr", sf_bytes)])
        if latest_rows is not None:
            if root_entries is None:
                root_entries = sst_section_entries(root)
            at_root = dict(root_entries)
            differ = sorted(e for e in ((row[0].to_bytes(), container_state_bytes(row))
                                        for row in latest_rows)
                            if at_root.get(e[0]) != e[1])
            # (loro writes an empty store as no bytes at all: StateOnly at the root)
            state = state_sst(differ) if differ else b""
        else:
            state = b"E" if changes else b""
    elif state_entries is not None:
        state = state_sst(state_entries, True)
    else:
        state = state_sst([(row[0].to_bytes(), container_state_bytes(row)) for row in state_rows])
    given = None
    if loaded_blocks and log_serial:
        given = {got[1]: got[2] for got in loaded_blocks.values()
                 if len(got) > 2 and got[2] is not None}
    oplog = sst_build(entries, _frame_cache if cache is not None else None, None, False, given)
    if writer_init(&w, 64 + len(oplog) + len(state)) < 0:
        raise_writer_error(&w)
    try:
        wchk(&w, write_bytes(&w, <const unsigned char*>b"loro", 4))
        for i in range(16):
            wchk(&w, write_u8(&w, 0))
        wchk(&w, write_u16_be(&w, MODE_SNAPSHOT))
        for sec in (oplog, state, root):
            wchk(&w, write_u32_le(&w, <uint32_t>len(sec)))
            wchk(&w, write_bytes(&w, <const unsigned char*>PyBytes_AS_STRING(sec), len(sec)))
        h = xxh32_released(w.data + 20, w.len - 20, LORO_SEED)
        for i in range(4):
            w.data[16 + i] = <unsigned char>((h >> (8 * i)) & 0xFF)
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)


def _clear_block_cache():
    """Forget every encoded change block and state frame (tests compare warm exports with
    cold ones)."""
    global _state_frames, _state_blocks
    _block_cache.clear()
    _frame_cache.clear()
    _state_frames = {}
    _state_blocks = []
