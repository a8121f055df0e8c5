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
    # `produced` never exceeds `limit`, so a length over `limit` (checked once, after its
    # extension bytes) is too long however the sum went on
    while i < n:
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
                if b != 255 or lit > limit:
                    break
        if lit > n - i:
            return "truncated LZ4 literals"
        if lit > limit - produced:
            return "LZ4 output exceeds its limit"
        produced += lit
        i += lit
        if i == n:
            out.len = produced
            return NULL
        if n - i < 2:
            return "truncated LZ4 match offset"
        off = src[i] | (<Py_ssize_t>src[i + 1] << 8)
        i += 2
        if off == 0 or off > produced - window_start:
            return "bad LZ4 match offset"
        ml = (tok & 15) + 4
        if ml == 19:
            while True:
                if i >= n:
                    return "truncated LZ4 match length"
                b = src[i]
                i += 1
                ml += b
                if b != 255 or ml > limit:
                    break
        if ml > limit - produced:
            return "LZ4 output exceeds its limit"
        produced += ml
    return "truncated LZ4 block"


# bytes written past a block's output by the 16-byte copies of lz4_block_c (the output
# buffer holds them; they are overwritten or lie past the end)
cdef enum:
    LZ4_SLACK = 32


cdef inline void copy16(unsigned char* d, const unsigned char* s) noexcept nogil:
    memcpy(d, s, 16)


cdef const char* lz4_block_c(const unsigned char* src, Py_ssize_t n, Writer* out,
                             Py_ssize_t window_start, Py_ssize_t limit) noexcept nogil:
    """lz4_block's loop: NULL on success, else the error message (LZ4_OOM when the output
    buffer could not grow). The buffer is sized for `limit` bytes up front; short literal
    runs and matches whose source lies 16 bytes back or more are copied 16 bytes at a time
    (the excess lands in LZ4_SLACK spare bytes and is overwritten or past the end)."""
    cdef Py_ssize_t i = 0, lit, ml, off, k, o
    cdef unsigned char* d
    cdef const unsigned char* m
    cdef uint8_t tok, b
    if limit < out.len:
        return "LZ4 output exceeds its limit"
    if writer_reserve(out, limit - out.len + LZ4_SLACK) < 0:
        return LZ4_OOM
    d = out.data
    o = out.len
    while i < n:
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
                if b != 255 or lit > limit:
                    break
        if lit > n - i:
            return "truncated LZ4 literals"
        if lit > limit - o:
            return "LZ4 output exceeds its limit"
        if lit <= 16 and n - i >= 16:
            copy16(d + o, src + i)
        else:
            memcpy(d + o, src + i, <size_t>lit)
        o += lit
        i += lit
        if i == n:
            out.len = o
            return NULL
        if n - i < 2:
            return "truncated LZ4 match offset"
        off = src[i] | (<Py_ssize_t>src[i + 1] << 8)
        i += 2
        if off == 0 or off > o - window_start:
            return "bad LZ4 match offset"
        ml = (tok & 15) + 4
        if ml == 19:
            while True:
                if i >= n:
                    return "truncated LZ4 match length"
                b = src[i]
                i += 1
                ml += b
                if b != 255 or ml > limit:
                    break
        if ml > limit - o:
            return "LZ4 output exceeds its limit"
        m = d + o - off
        if off >= 16:
            # each 16-byte piece reads bytes written before it (the source is 16 or more
            # behind)
            copy16(d + o, m)
            k = 16
            while k < ml:
                copy16(d + o + k, m + k)
                k += 16
        else:
            # an overlapping match repeats the last `off` bytes: copied byte by byte
            for k in range(ml):
                d[o + k] = m[k]
        o += ml
    return "truncated LZ4 block"


cdef int lz4_frame_header(Reader* r, uint8_t* flg_out, Py_ssize_t* block_max,
                          uint64_t* content_size) except -1:
    """Read and check an LZ4 frame's header (magic, descriptor, header checksum)."""
    cdef uint32_t magic = 0
    cdef uint8_t flg = 0, bd = 0, hc = 0
    cdef Py_ssize_t desc_start
    if read_u32_le(r, &magic) < 0:
        raise_reader_error(r)
    if magic != 0x184D2204:
        fail("bad LZ4 frame magic")
    desc_start = r.pos
    r_u8(r, &flg)
    r_u8(r, &bd)
    if (flg >> 6) != 1 or (flg & 0x02) or (flg & 0x01):
        fail("unsupported LZ4 frame flags")
    if (bd & 0x8F) or ((bd >> 4) & 7) < 4:
        fail("bad LZ4 block descriptor")
    block_max[0] = 1 << (8 + 2 * ((bd >> 4) & 7))
    content_size[0] = 0
    if flg & 0x08:
        if read_u64_le(r, content_size) < 0:
            raise_reader_error(r)
    r_u8(r, &hc)
    if hc != ((c_xxh32(r.data + desc_start, r.pos - 1 - desc_start, 0) >> 8) & 0xFF):
        fail("LZ4 frame header checksum mismatch")
    flg_out[0] = flg
    return 0


cdef bytes lz4_frame(const unsigned char* p, Py_ssize_t n, Py_ssize_t limit, bint dry=False):
    """The decompressed frame; with `dry` only checked (its structure, block checksums and
    size; not its content checksum, which needs the content) and None returned."""
    cdef Reader r
    cdef uint32_t info = 0, size, ck = 0
    cdef uint8_t flg = 0
    cdef Py_ssize_t block_max = 0, start, i
    cdef uint64_t content_size = 0
    cdef const unsigned char* blk = NULL
    cdef Writer w
    cdef bint independent, block_ck, content_ck, has_size
    reader_init(&r, p, n)
    lz4_frame_header(&r, &flg, &block_max, &content_size)
    independent = (flg & 0x20) != 0
    block_ck = (flg & 0x10) != 0
    has_size = (flg & 0x08) != 0
    content_ck = (flg & 0x04) != 0
    # room for a typical ratio up front (a dry run writes nothing), so that the output
    # is not copied by repeated growth; at least the first block's room, which lz4_block_c
    # reserves whole (a snapshot's 4 KiB SSTable blocks: one realloc each otherwise)
    if writer_init(&w, 256 if dry else max(min(limit, max(<Py_ssize_t>256, 4 * n)),
                                           min(limit, block_max) + LZ4_SLACK)) < 0:
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


# -- walking many frames' blocks at once -------------------------------------------------------
# A snapshot's change blocks are only walked (lz4_block_walk_c) when it loads from its state.
# A walk waits on each token it reads before it can find the next one; two blocks walked
# side by side keep two such chains going at once. lz4_frame_plan checks a frame's
# structure and lists its compressed blocks; lz4_walk_plan walks the listed blocks in pairs,
# then checks each frame's size.

cdef extern from *:
    """
    typedef struct {
        const unsigned char *src;
        Py_ssize_t n;           /* compressed bytes */
        Py_ssize_t limit;       /* most output bytes (the frame's block size) */
        Py_ssize_t produced;
        const char *err;
    } lc_lz4_walk;

    #if defined(__GNUC__)
    #define LC_ALWAYS_INLINE static inline __attribute__((always_inline))
    #else
    #define LC_ALWAYS_INLINE static inline
    #endif

    /* One sequence of an independent LZ4 block (matches reach back within it): 0 while
       more follow, 1 at the block's end, -1 with *err set. Same checks as
       lz4_block_walk_c. */
    LC_ALWAYS_INLINE int lc_lz4_step(const unsigned char *src, Py_ssize_t n, Py_ssize_t limit,
                                     Py_ssize_t *pi, Py_ssize_t *pp, const char **err) {
        Py_ssize_t i = *pi, produced = *pp, lit, ml, off;
        unsigned char tok, b;
        if (i >= n) { *err = "truncated LZ4 block"; return -1; }
        tok = src[i++];
        lit = tok >> 4;
        if (lit == 15) {
            do {
                if (i >= n) { *err = "truncated LZ4 literal length"; return -1; }
                b = src[i++];
                lit += b;
            } while (b == 255 && lit <= limit);
        }
        if (lit > n - i) { *err = "truncated LZ4 literals"; return -1; }
        if (lit > limit - produced) { *err = "LZ4 output exceeds its limit"; return -1; }
        produced += lit;
        i += lit;
        if (i == n) { *pi = i; *pp = produced; return 1; }
        if (n - i < 2) { *err = "truncated LZ4 match offset"; return -1; }
        off = src[i] | ((Py_ssize_t)src[i + 1] << 8);
        i += 2;
        if (off == 0 || off > produced) { *err = "bad LZ4 match offset"; return -1; }
        ml = (tok & 15) + 4;
        if (ml == 19) {
            do {
                if (i >= n) { *err = "truncated LZ4 match length"; return -1; }
                b = src[i++];
                ml += b;
            } while (b == 255 && ml <= limit);
        }
        if (ml > limit - produced) { *err = "LZ4 output exceeds its limit"; return -1; }
        *pi = i;
        *pp = produced + ml;
        return 0;
    }

    /* Walk `a` and, when not NULL, `b` side by side: each gets its output size or err. */
    static void lc_lz4_walk_pair(lc_lz4_walk *a, lc_lz4_walk *b) {
        Py_ssize_t ia = 0, pa = 0, ib = 0, pb = 0;
        int ra = 0, rb = b ? 0 : 1;
        while (ra == 0 && rb == 0) {
            ra = lc_lz4_step(a->src, a->n, a->limit, &ia, &pa, &a->err);
            rb = lc_lz4_step(b->src, b->n, b->limit, &ib, &pb, &b->err);
        }
        while (ra == 0)
            ra = lc_lz4_step(a->src, a->n, a->limit, &ia, &pa, &a->err);
        while (rb == 0)
            rb = lc_lz4_step(b->src, b->n, b->limit, &ib, &pb, &b->err);
        a->produced = pa;
        if (b) b->produced = pb;
    }
    """
    ctypedef struct lc_lz4_walk:
        const unsigned char* src
        Py_ssize_t n
        Py_ssize_t limit
        Py_ssize_t produced
        const char* err
    void lc_lz4_walk_pair(lc_lz4_walk* a, lc_lz4_walk* b) noexcept nogil


cdef bint lz4_frame_plan(const unsigned char* p, Py_ssize_t n, Py_ssize_t limit, Writer* blocks,
                         list frames) except -1:
    """For an independent-block frame: check its structure as lz4_frame's dry run does and
    append its compressed blocks (lc_lz4_walk records) to `blocks` and (first record, record
    count, stored bytes, content size or -1, limit) to `frames`; returns True. False for a
    frame of dependent blocks (the caller walks it with lz4_frame)."""
    cdef Reader r
    cdef uint32_t info = 0, size, ck = 0
    cdef uint8_t flg = 0
    cdef Py_ssize_t block_max = 0, stored = 0, first
    cdef uint64_t content_size = 0
    cdef const unsigned char* blk = NULL
    cdef lc_lz4_walk rec
    reader_init(&r, p, n)
    lz4_frame_header(&r, &flg, &block_max, &content_size)
    if not (flg & 0x20):
        return False
    first = blocks.len // sizeof(lc_lz4_walk)
    while True:
        if read_u32_le(&r, &info) < 0:
            raise_reader_error(&r)
        if info == 0:
            break
        size = info & 0x7FFFFFFF
        if size > <uint32_t>block_max or size > <uint32_t>reader_remaining(&r):
            fail("bad LZ4 data block size")
        read_bytes(&r, <Py_ssize_t>size, &blk)
        if flg & 0x10:
            if read_u32_le(&r, &ck) < 0:
                raise_reader_error(&r)
            if ck != xxh32_released(blk, size, 0):
                fail("LZ4 block checksum mismatch")
        if info & 0x80000000:
            stored += size
        else:
            rec.src = blk
            rec.n = size
            rec.limit = block_max
            rec.produced = 0
            rec.err = NULL
            if write_bytes(blocks, <const unsigned char*>&rec, sizeof(lc_lz4_walk)) < 0:
                raise_writer_error(blocks)
    if flg & 0x04:
        if read_u32_le(&r, &ck) < 0:
            raise_reader_error(&r)
    r_end(&r, "the LZ4 frame")
    frames.append((first, blocks.len // sizeof(lc_lz4_walk) - first, stored,
                   <int64_t>content_size if flg & 0x08 else -1, limit))
    return True


cdef int lz4_walk_plan(Writer* blocks, list frames) except -1:
    """Walk the blocks lz4_frame_plan listed, two at a time, then check each frame's output
    against its limit and its content size."""
    cdef lc_lz4_walk* recs = <lc_lz4_walk*>blocks.data
    cdef Py_ssize_t nrec = blocks.len // sizeof(lc_lz4_walk), i, total
    i = 0
    while i < nrec:
        lc_lz4_walk_pair(&recs[i], &recs[i + 1] if i + 1 < nrec else NULL)
        i += 2
    for first, count, stored, content_size, limit in frames:
        total = stored
        for i in range(first, first + count):
            if recs[i].err != NULL:
                fail((<bytes>recs[i].err).decode("ascii"))
            total += recs[i].produced
        if total > limit:
            fail("LZ4 output exceeds its limit")
        if content_size >= 0 and content_size != total:
            fail("LZ4 content size mismatch")
    return 0


def _lz4_decode(bytes frame not None, Py_ssize_t limit, int how):
    """Decode (how 0), walk (1: lz4_frame's dry run) or walk as a snapshot load does (2:
    lz4_frame_plan then lz4_walk_plan) one LZ4 frame (tests). Returns the bytes, or None
    for a walk that found the frame valid."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(frame)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(frame)
    cdef Writer plan
    if how == 0:
        return lz4_frame(p, n, limit)
    if how == 1:
        return lz4_frame(p, n, limit, True)
    planned = []
    if writer_init(&plan, 64) < 0:
        raise_writer_error(&plan)
    try:
        if not lz4_frame_plan(p, n, limit, &plan, planned):
            return lz4_frame(p, n, limit, True)
        lz4_walk_plan(&plan, planned)
    finally:
        writer_free(&plan)
    return None
