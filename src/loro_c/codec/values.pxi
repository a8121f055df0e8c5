# Nested LoroValues (the payload of list inserts and map sets), both ways. Map keys are
# indices into the block's key arena; a child container is written as its kind only, its id
# being the op that creates it (peer, counter of the op, + the item index in a list insert).

# -- decoding ---------------------------------------------------------------------------------

@cython.final
cdef class _BlockKeys:
    """A change block's key arena: each key's UTF-8 bytes, checked when the block is read,
    and its str, made on first use. A map op finds the document's key by the bytes, so most
    keys of a replayed history never become a str. `slices` points into the block's arrays
    and bytes: it lives for one decode_block_ops call, as the _OpPayloads that holds it."""
    cdef const KeySlice* slices
    cdef Py_ssize_t n
    cdef list strs

    cdef object get(self, Py_ssize_t i):
        """Key `i` (0 <= i < n) as a str."""
        if self.strs is None:
            self.strs = [None] * self.n
        key = self.strs[i]
        if key is None:
            key = self.strs[i] = PyUnicode_DecodeUTF8(
                <const char*>self.slices[i].p, self.slices[i].n, "strict")
        return key


cdef object read_value(Reader* r, _BlockKeys keys, uint64_t peer, int64_t ctx, int depth, bint top):
    """A nested LoroValue. Containers are rebuilt as ``Normal(peer, ctx)``; the items of
    a top-level list use ``ctx + i``."""
    cdef uint8_t tag, kind
    cdef uint64_t n, kidx
    cdef int64_t iv
    cdef double dv
    cdef Py_ssize_t i
    cdef const unsigned char* p = NULL
    cdef list lst
    cdef dict dct
    if depth > MAX_VALUE_DEPTH:
        fail("value is nested too deeply")
    r_u8(r, &tag)
    if tag == LV_NULL:
        return None
    if tag == LV_TRUE:
        return True
    if tag == LV_FALSE:
        return False
    if tag == LV_I64:
        r_sleb(r, &iv)
        return iv
    if tag == LV_F64:
        if read_f64_be(r, &dv) < 0:
            raise_reader_error(r)
        return dv
    if tag == LV_STR or tag == LV_BINARY:
        r_uleb(r, &n)
        if n > <uint64_t>reader_remaining(r):
            fail("string runs past the end of the values")
        read_bytes(r, <Py_ssize_t>n, &p)
        if tag == LV_STR:
            return utf8_str(p, <Py_ssize_t>n, "a string value")
        return PyBytes_FromStringAndSize(<const char*>p, <Py_ssize_t>n)
    if tag == LV_LIST:
        r_uleb(r, &n)
        if n > <uint64_t>reader_remaining(r) or n > MAX_COLLECTION:
            fail("list length runs past the end of the values")
        lst = []
        for i in range(<Py_ssize_t>n):
            lst.append(read_value(r, keys, peer, ctx + i if top else ctx, depth + 1, False))
        return lst
    if tag == LV_MAP:
        r_uleb(r, &n)
        if n > <uint64_t>(reader_remaining(r) // 2) or n > MAX_COLLECTION:
            fail("map length runs past the end of the values")
        dct = {}
        for i in range(<Py_ssize_t>n):
            r_uleb(r, &kidx)
            if kidx >= <uint64_t>keys.n:
                fail("map key index is out of range")
            dct[keys.get(<Py_ssize_t>kidx)] = read_value(r, keys, peer, ctx, depth + 1, False)
        return dct
    if tag == LV_CONTAINER:
        r_u8(r, &kind)
        if (kind != KIND_MAP and kind != KIND_LIST and kind != KIND_TEXT and kind != KIND_COUNTER
                and kind != KIND_MOVABLE_LIST and kind != KIND_TREE):
            unsupported_kind(kind)
        if ctx > INT32_MAX:
            fail("child container id overflows i32")
        if ctx < 0:
            return CID_NORMAL(peer, ctx, container_type(kind))
        # (a u64 peer, an i32 counter, a known kind: the unchecked constructor, an equal id)
        return normal_cid_c(peer, ctx, container_type(kind))
    fail(f"unknown value tag {tag}")


# -- encoding ---------------------------------------------------------------------------------

# The block's tables that values and ops refer into, filled in first-use order while a block
# is encoded.
@cython.final
cdef class _Registers:
    """Per-block registers: peers, keys and containers in first-use order."""
    cdef dict peer_idx
    cdef list peers
    cdef dict key_idx
    cdef list keys
    cdef dict cid_idx
    cdef list cids
    cdef dict slot_idx             # a document's container index -> cids index (DocOps)
    cdef object slot_doc           # the document those indexes are of
    cdef bint slot_only            # every cid came by slot: cid_idx not filled yet
    cdef object last_cid           # one-entry cache in front of cid() for op tuples
    cdef Py_ssize_t last_idx
    cdef dict positions            # tree fractional index -> arena index (codec/tree_payloads.pxi)

    def __cinit__(self):
        self.peer_idx = {}
        self.peers = []
        self.key_idx = {}
        self.keys = []
        self.cid_idx = {}
        self.cids = []
        self.slot_idx = {}
        self.slot_only = True

    cdef Py_ssize_t peer(self, object p) except -1:
        i = self.peer_idx.get(p)
        if i is None:
            i = self.peer_idx[p] = len(self.peers)
            self.peers.append(p)
        return i

    cdef Py_ssize_t key(self, str k) except -1:
        i = self.key_idx.get(k)
        if i is None:
            i = self.key_idx[k] = len(self.keys)
            self.keys.append(k)
        return i

    cdef Py_ssize_t cid(self, object c) except -1:
        # one probe (a ContainerID hashes through Python)
        cdef Py_ssize_t n = len(self.cids)
        cdef Py_ssize_t i
        if self.slot_only:
            # the ids registered by slot, unhashed until now (one document's slots name
            # distinct containers)
            self.slot_only = False
            for i in range(n):
                self.cid_idx[self.cids[i]] = i
        i = self.cid_idx.setdefault(c, n)
        if i == n:
            self.cids.append(c)
        return i

    cdef Py_ssize_t cid_of_slot(self, object doc, uint32_t slot, object c) except -1:
        """cid() for container `c`, container number `slot` of document `doc`: an int
        probe, and no ContainerID hashed while a block's ops all come from one document."""
        cdef Py_ssize_t i
        got = self.slot_idx.get(slot)
        if got is not None:
            return <Py_ssize_t>got
        if self.slot_doc is None:
            self.slot_doc = doc
        if doc is not self.slot_doc:
            return self.cid(c)          # (another document's numbering: not kept)
        if self.slot_only:
            i = len(self.cids)
            self.cids.append(c)
        else:
            i = self.cid(c)
        self.slot_idx[slot] = i
        return i

    cdef Py_ssize_t cid_of_op(self, object c) except -1:
        """cid() for the container of an op tuple: ContainerID hashing is slow, and most
        runs of ops share one container object."""
        if c is not self.last_cid:
            self.last_cid = c
            self.last_idx = self.cid(c)
        return self.last_idx


cdef int enc_value(Writer* w, object v, _Registers reg, object peer, int64_t ctx, int depth,
                   bint top) except -1:
    """Nested LoroValue (tag byte + payload)."""
    cdef double d
    cdef int64_t i
    cdef Py_ssize_t k
    t = type(v)
    if depth > MAX_VALUE_DEPTH:
        raise LoroValueError("value is nested too deeply to encode")
    if v is None:
        return wchk(w, write_u8(w, LV_NULL))
    if t is bool:
        return wchk(w, write_u8(w, LV_TRUE if v else LV_FALSE))
    if isinstance(v, int) and t is not bool:
        if not (-(1 << 63) <= v < (1 << 63)):
            raise LoroValueError(f"integer {v} does not fit in i64")
        wchk(w, write_u8(w, LV_I64))
        return wchk(w, write_sleb64(w, <int64_t>v))
    if isinstance(v, float):
        d = v
        wchk(w, write_u8(w, LV_F64))
        return wchk(w, write_f64_be(w, d))
    if isinstance(v, str):
        wchk(w, write_u8(w, LV_STR))
        return w_str(w, v)
    if isinstance(v, bytes):
        wchk(w, write_u8(w, LV_BINARY))
        wchk(w, write_uleb64(w, <uint64_t>len(v)))
        return wchk(w, write_bytes(w, <const unsigned char*>PyBytes_AS_STRING(v), len(v)))
    if isinstance(v, list):
        wchk(w, write_u8(w, LV_LIST))
        wchk(w, write_uleb64(w, <uint64_t>len(v)))
        for k in range(len(v)):
            enc_value(w, v[k], reg, peer, ctx + k if top else ctx, depth + 1, False)
        return 0
    if isinstance(v, dict):
        wchk(w, write_u8(w, LV_MAP))
        wchk(w, write_uleb64(w, <uint64_t>len(v)))
        for key, x in v.items():
            if not isinstance(key, str):
                raise LoroValueError("map keys must be strings")
            wchk(w, write_uleb64(w, <uint64_t>reg.key(key)))
            enc_value(w, x, reg, peer, ctx, depth + 1, False)
        return 0
    if isinstance(v, _types.ContainerID):
        if (not isinstance(v, CID_NORMAL) or v.peer != peer or v.counter != ctx):
            raise LoroValueError(f"child container {v} is not the one created by op {ctx}@{peer}")
        wchk(w, write_u8(w, LV_CONTAINER))
        return wchk(w, write_u8(w, <uint8_t>v.container_type.kind))
    raise LoroValueError(f"cannot encode a value of type {t.__name__}")
