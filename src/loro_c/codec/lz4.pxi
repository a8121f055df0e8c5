# LZ4 frame decoding (the compressed SSTable blocks of snapshots); the compressor that
# writes them is in snapshot_encode.pxi.

cdef int lz4_block(const unsigned char* src, Py_ssize_t n, Writer* out, Py_ssize_t window_start,
                   Py_ssize_t limit, bint dry=False) except -1:
    """Decompress one raw LZ4 block, appending to ``out`` (at most ``limit`` bytes in total).
    Matches may reach back to ``window_start``. Large blocks run with the GIL released:
    the input is the caller's immutable bytes and ``out`` is private to the call."""
    cdef const char* err
    if dry:
        err = lz4_block_walk_c(src, n, out, window_start, limit)
    elif n < NOGIL_MIN_BYTES:
        err = lz4_block_c(src, n, out, window_start, limit)
    else:
        with nogil:
            err = lz4_block_c(src, n, out, window_start, limit)
    if err == NULL:
        return 0
    if err == LZ4_OOM:
        return raise_writer_error(out)
    return fail((<bytes>err).decode("ascii"))


cdef const char* LZ4_OOM = "out of memory while decompressing"


cdef const char* lz4_block_walk_c(const unsigned char* src, Py_ssize_t n, Writer* out,
                                  Py_ssize_t window_start, Py_ssize_t limit) noexcept nogil:
    """lz4_block_c's checks without its writes: the block's sequences walked and its output
    counted in `out.len` (the change blocks of a snapshot loaded from its state)."""
    cdef Py_ssize_t i = 0, lit, ml, off, produced = out.len
    cdef uint8_t tok, b
    while True:
        if i >= n:
            return "truncated LZ4 block"
        tok = src[i]
        i += 1
        lit = tok >> 4
        if lit == 15:
            while True:
                if i >= n:
                    return "truncated LZ4 literal length"
                b = src[i]
                i += 1
                lit += b
                if lit > limit:
                    return "LZ4 output exceeds its limit"
                if b != 255:
                    break
        if lit > n - i:
            return "truncated LZ4 literals"
        produced += lit
        i += lit
        if produced > limit:
            return "LZ4 output exceeds its limit"
        if i == n:
            out.len = produced
            return NULL
        if n - i < 2:
            return "truncated LZ4 match offset"
        off = src[i] | (<Py_ssize_t>src[i + 1] << 8)
        i += 2
        if off == 0 or off > produced - window_start:
            return "bad LZ4 match offset"
        ml = tok & 15
        if ml == 15:
            while True:
                if i >= n:
                    return "truncated LZ4 match length"
                b = src[i]
                i += 1
                ml += b
                if ml > limit:
                    return "LZ4 output exceeds its limit"
                if b != 255:
                    break
        produced += ml + 4
        if produced > limit:
            return "LZ4 output exceeds its limit"


cdef const char* lz4_block_c(const unsigned char* src, Py_ssize_t n, Writer* out,
                             Py_ssize_t window_start, Py_ssize_t limit) noexcept nogil:
    """lz4_block's loop: NULL on success, else the error message (LZ4_OOM when a write
    failed)."""
    cdef Py_ssize_t i = 0, lit, ml, off, k, src_pos
    cdef uint8_t tok, b
    while True:
        if i >= n:
            return "truncated LZ4 block"
        tok = src[i]
        i += 1
        lit = tok >> 4
        if lit == 15:
            while True:
                if i >= n:
                    return "truncated LZ4 literal length"
                b = src[i]
                i += 1
                lit += b
                if lit > limit:
                    return "LZ4 output exceeds its limit"
                if b != 255:
                    break
        if lit > n - i:
            return "truncated LZ4 literals"
        if lit > limit - out.len:
            return "LZ4 output exceeds its limit"
        if write_bytes(out, src + i, lit) < 0:
            return LZ4_OOM
        i += lit
        if i == n:
            return NULL
        if n - i < 2:
            return "truncated LZ4 match offset"
        off = src[i] | (<Py_ssize_t>src[i + 1] << 8)
        i += 2
        if off == 0 or off > out.len - window_start:
            return "bad LZ4 match offset"
        ml = tok & 15
        if ml == 15:
            while True:
                if i >= n:
                    return "truncated LZ4 match length"
                b = src[i]
                i += 1
                ml += b
                if ml > limit:
                    return "LZ4 output exceeds its limit"
                if b != 255:
                    break
        ml += 4
        if ml > limit - out.len:
            return "LZ4 output exceeds its limit"
        if writer_reserve(out, ml) < 0:
            return LZ4_OOM
        src_pos = out.len - off
        if off >= ml:
            memcpy(out.data + out.len, out.data + src_pos, <size_t>ml)
            out.len += ml
        else:
            # an overlapping match repeats the last `off` bytes: copied byte by byte
            for k in range(ml):
                out.data[out.len] = out.data[src_pos + k]
                out.len += 1


cdef bytes lz4_frame(const unsigned char* p, Py_ssize_t n, Py_ssize_t limit, bint dry=False):
    """The decompressed frame; with `dry` only checked (its structure, block checksums and
    size; not its content checksum, which needs the content) and None returned."""
    cdef Reader r
    cdef uint32_t magic = 0, info = 0, size, ck = 0
    cdef uint8_t flg, bd, hc
    cdef Py_ssize_t block_max, desc_start, start, i
    cdef uint64_t content_size = 0
    cdef const unsigned char* blk = NULL
    cdef Writer w
    cdef bint independent, block_ck, content_ck, has_size
    reader_init(&r, p, n)
    if read_u32_le(&r, &magic) < 0:
        raise_reader_error(&r)
    if magic != 0x184D2204:
        fail("bad LZ4 frame magic")
    desc_start = r.pos
    r_u8(&r, &flg)
    r_u8(&r, &bd)
    if (flg >> 6) != 1 or (flg & 0x02) or (flg & 0x01):
        fail("unsupported LZ4 frame flags")
    if (bd & 0x8F) or ((bd >> 4) & 7) < 4:
        fail("bad LZ4 block descriptor")
    block_max = 1 << (8 + 2 * ((bd >> 4) & 7))
    independent = (flg & 0x20) != 0
    block_ck = (flg & 0x10) != 0
    has_size = (flg & 0x08) != 0
    content_ck = (flg & 0x04) != 0
    if has_size:
        if read_u64_le(&r, &content_size) < 0:
            raise_reader_error(&r)
    r_u8(&r, &hc)
    if hc != ((c_xxh32(p + desc_start, r.pos - 1 - desc_start, 0) >> 8) & 0xFF):
        fail("LZ4 frame header checksum mismatch")
    # room for a typical ratio up front (a dry run writes nothing), so that the output
    # is not copied by repeated growth
    if writer_init(&w, 256 if dry else min(limit, max(<Py_ssize_t>256, 4 * n))) < 0:
        raise_writer_error(&w)
    try:
        while True:
            if read_u32_le(&r, &info) < 0:
                raise_reader_error(&r)
            if info == 0:
                break
            size = info & 0x7FFFFFFF
            if size > <uint32_t>block_max or size > <uint32_t>reader_remaining(&r):
                fail("bad LZ4 data block size")
            read_bytes(&r, <Py_ssize_t>size, &blk)
            if block_ck:
                if read_u32_le(&r, &ck) < 0:
                    raise_reader_error(&r)
                if ck != xxh32_released(blk, size, 0):
                    fail("LZ4 block checksum mismatch")
            start = w.len
            if info & 0x80000000:
                if <Py_ssize_t>size > limit - w.len:
                    fail("LZ4 output exceeds its limit")
                if dry:
                    w.len += size
                elif write_bytes(&w, blk, size) < 0:
                    raise_writer_error(&w)
            else:
                lz4_block(blk, size, &w, start if independent else 0,
                          min(limit, start + block_max), dry)
        if dry:
            if has_size and content_size != <uint64_t>w.len:
                fail("LZ4 content size mismatch")
            if content_ck:
                if read_u32_le(&r, &ck) < 0:
                    raise_reader_error(&r)
            r_end(&r, "the LZ4 frame")
            w.len = 0
            return None
        if content_ck:
            if read_u32_le(&r, &ck) < 0:
                raise_reader_error(&r)
            if ck != xxh32_released(w.data, w.len, 0):
                fail("LZ4 content checksum mismatch")
        if has_size and content_size != <uint64_t>w.len:
            fail("LZ4 content size mismatch")
        r_end(&r, "the LZ4 frame")
        return writer_to_bytes(&w)
    finally:
        writer_free(&w)
