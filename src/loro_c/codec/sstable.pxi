# Loro's SSTable (the oplog and state sections of a snapshot): "LORO", schema byte, blocks
# (each normal block prefix-compresses its keys against the block's first key; a large
# value gets a block of its own), block metadata with its checksum, metadata offset.

cdef int sst_block_entries(bytes body, bytes first_key, list out) except -1:
    """Entries of a normal SSTable block body (already decompressed)."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(body)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(body), cnt, data_end, i, off, end, pl, sl
    cdef bytes prev = None
    if n < 2:
        fail("SSTable block is too short")
    cnt = p[n - 2] | (<Py_ssize_t>p[n - 1] << 8)
    if cnt == 0 or 2 * (cnt + 1) > n:
        fail("bad SSTable block entry count")
    data_end = n - 2 * (cnt + 1)
    if data_end > 0xFFFF:
        fail("SSTable block is too large")
    for i in range(cnt):
        off = p[data_end + 2 * i] | (<Py_ssize_t>p[data_end + 2 * i + 1] << 8)
        if i + 1 < cnt:
            end = p[data_end + 2 * i + 2] | (<Py_ssize_t>p[data_end + 2 * i + 3] << 8)
        else:
            end = data_end
        if (i == 0 and off != 0) or off > end or end > data_end:
            fail("bad SSTable entry offsets")
        if i == 0:
            key = first_key
            value = PyBytes_FromStringAndSize(<const char*>p + off, end - off)
        else:
            if end - off < 3:
                fail("truncated SSTable entry")
            pl = p[off]
            sl = p[off + 1] | (<Py_ssize_t>p[off + 2] << 8)
            if pl > len(first_key) or sl > end - off - 3:
                fail("bad SSTable entry key")
            key = first_key[:pl] + PyBytes_FromStringAndSize(<const char*>p + off + 3, sl)
            value = PyBytes_FromStringAndSize(<const char*>p + off + 3 + sl, end - off - 3 - sl)
        if not key or (prev is not None and prev >= key):
            fail("SSTable keys are not strictly increasing")
        prev = key
        out.append((key, value))
    return 0


cdef Py_ssize_t sst_block_end(list metas, Py_ssize_t i, Py_ssize_t meta_off) except -2:
    """Where block `i` of sst_metas' list ends (its checksum's end: the next block's start,
    or the metadata's), -1 when that range cannot be a block's."""
    cdef Py_ssize_t off = metas[i][0]
    cdef Py_ssize_t end = metas[i + 1][0] if i + 1 < len(metas) else meta_off
    if off < 5 or end > meta_off or off >= end or end - off < 4:
        return -1
    return end


cdef list sst_entries(Reader* sec, tuple only=None):
    """All ``(key, value)`` pairs of an SSTable section (empty section: no entries). With
    `only` (keys), just the blocks whose key range holds one of them are read; the others
    are checked (checksums, LZ4 frames) and skipped."""
    cdef const unsigned char* p = sec.data
    cdef Py_ssize_t meta_off = 0, nblocks, i, off, end
    cdef uint8_t flags
    cdef list metas, out = []
    cdef Writer plan
    cdef list planned = None
    if sec.len == 0:
        return out
    metas = sst_metas(sec, &meta_off)
    nblocks = len(metas)
    if only is not None:
        # the skipped blocks' LZ4 frames, walked together once all are listed
        if writer_init(&plan, 16 * sizeof(lc_lz4_walk)) < 0:
            raise_writer_error(&plan)
        planned = []
    try:
        for i in range(nblocks):
            off, first_key, flags, last_key = metas[i]
            end = sst_block_end(metas, i, meta_off)
            if end < 0:
                fail("bad SSTable block range")
            if only is not None and not sst_block_may_hold(first_key, last_key, only):
                # a block skipped now is checked (checksum) when it is read; the envelope's
                # checksum already covers its bytes, and its LZ4 frame is walked here
                if flags & 0x7F:
                    lim = (255 * (end - off) + 65536) if (flags & 0x80) else 3 * 65536 + 2
                    if not lz4_frame_plan(p + off, end - off - 4, lim, &plan, planned):
                        lz4_frame(p + off, end - off - 4, lim, True)
                continue
            sst_read_block(p, off, end, first_key, flags, last_key, out)
        if only is not None:
            lz4_walk_plan(&plan, planned)
    finally:
        if only is not None:
            writer_free(&plan)
    return out


cdef list sst_metas(Reader* sec, Py_ssize_t* meta_off_out):
    """The block metadata of a non-empty SSTable section, checked: [(offset, first key,
    flags, last key or None)]; the metadata's offset into `meta_off_out`."""
    cdef const unsigned char* p = sec.data
    cdef Py_ssize_t n = sec.len, meta_off, nblocks, i, off, klen
    cdef Reader m
    cdef uint32_t v32 = 0
    cdef uint16_t v16 = 0
    cdef uint8_t flags
    cdef list metas = []
    cdef const unsigned char* kp = NULL
    if n < 9 or memcmp(p, b"LORO", 4) != 0:
        fail("bad SSTable magic")
    if p[4] != 0:
        fail("unsupported SSTable schema version")
    meta_off = _le32(p + n - 4)
    if meta_off < 5 or meta_off >= n - 4:
        fail("bad SSTable metadata offset")
    reader_init(&m, p + meta_off, n - 4 - meta_off)
    if read_u32_le(&m, &v32) < 0:
        raise_reader_error(&m)
    nblocks = v32
    if nblocks == 0 or nblocks > MAX_SST_BLOCKS or nblocks * 7 > reader_remaining(&m) - 4:
        fail("bad SSTable block count")
    if xxh32_released(m.data + 4, m.len - 8, LORO_SEED) != _le32(m.data + m.len - 4):
        fail("SSTable metadata checksum mismatch")
    m.len -= 4
    for i in range(nblocks):
        if read_u32_le(&m, &v32) < 0:
            raise_reader_error(&m)
        off = v32
        klen = 0
        if read_u16_le_(&m, &v16) < 0:
            raise_reader_error(&m)
        if v16 > reader_remaining(&m):
            fail("truncated SSTable metadata")
        read_bytes(&m, v16, &kp)
        first_key = PyBytes_FromStringAndSize(<const char*>kp, v16)
        r_u8(&m, &flags)
        last_key = None
        if not (flags & 0x80):
            if read_u16_le_(&m, &v16) < 0:
                raise_reader_error(&m)
            if v16 > reader_remaining(&m):
                fail("truncated SSTable metadata")
            read_bytes(&m, v16, &kp)
            last_key = PyBytes_FromStringAndSize(<const char*>kp, v16)
        if (flags & 0x7F) > 1:
            fail("unknown SSTable compression type")
        metas.append((off, first_key, flags, last_key))
    r_end(&m, "the SSTable metadata")
    meta_off_out[0] = meta_off
    return metas


cdef int sst_read_block(const unsigned char* p, Py_ssize_t off, Py_ssize_t end, bytes first_key,
                        uint8_t flags, bytes last_key, list out) except -1:
    """Check (its checksum) and decode one SSTable block at [off, end), appending its
    entries to `out`."""
    cdef Py_ssize_t start
    body = sst_block_body(p, off, end, flags)
    start = len(out)
    if flags & 0x80:
        if not first_key or (out and out[len(out) - 1][0] >= first_key):
            fail("SSTable keys are not strictly increasing")
        out.append((first_key, body))
    else:
        sst_block_entries(body, first_key, out)
        if (start > 0 and out[start - 1][0] >= out[start][0]) or out[len(out) - 1][0] != last_key:
            fail("SSTable block keys do not match their metadata")
    return 0



cdef bytes sst_block_body(const unsigned char* p, Py_ssize_t off, Py_ssize_t end, uint8_t flags):
    """The body of the SSTable block at [off, end), its checksum checked, decompressed."""
    if xxh32_released(p + off, end - off - 4, LORO_SEED) != _le32(p + end - 4):
        fail("SSTable block checksum mismatch")
    if flags & 0x7F:
        return lz4_frame(p + off, end - off - 4,
                         (255 * (end - off) + 65536) if (flags & 0x80) else 3 * 65536 + 2)
    return PyBytes_FromStringAndSize(<const char*>p + off, end - off - 4)

cdef inline int read_u16_le_(Reader* r, uint16_t* out) noexcept nogil:
    if r.len - r.pos < 2:
        return reader_fail(r, "unexpected end of input")
    out[0] = r.data[r.pos] | (<uint16_t>r.data[r.pos + 1] << 8)
    r.pos += 2
    return 0


cdef bint sst_block_may_hold(bytes first_key, bytes last_key, tuple keys):
    for k in keys:
        if k == first_key or (last_key is not None and first_key <= k <= last_key):
            return True
    return False
