# cython: language_level=3
"""Container kinds and op kinds for Python code, read from include/loro_c/kinds.h (their one
place): ContainerType (_types.py) and the kind names of the document and the codecs
(_doc._TYPE_NAMES) are built from these."""

# The name of each container kind, indexed by its raw type byte.
KIND_NAMES = tuple(lc_kind_name(k).decode("ascii") for k in range(N_KINDS))
# Each kind's byte in Loro's historical ContainerType order, indexed by raw type byte.
KIND_HISTORICAL = tuple(lc_kind_historical(k) for k in range(N_KINDS))
# The op kinds (lc_op.kind, the first field of the codec's change tuples) by name.
OP_KINDS = {"insert": LC_OP_INSERT, "delete": LC_OP_DELETE, "map_set": LC_OP_MAP_SET,
            "map_delete": LC_OP_MAP_DELETE, "counter": LC_OP_COUNTER,
            "move": LC_OP_MOVE, "set": LC_OP_SET,
            "mark_start": LC_OP_MARK_START, "mark_end": LC_OP_MARK_END,
            "tree": LC_OP_TREE}


cimport cython


@cython.auto_pickle(False)
cdef class CidCore:
    """The identity of a ContainerID (_types.ContainerID derives from it): its hash and
    equality in C. Ids key the document's registries and every import and load looks
    them up, thousands of times per document; a Python __hash__/__eq__ costs a frame
    per lookup. `_key` holds what equality compares ((name, type) of a root, (peer,
    counter, type) of a normal id), set once by cid_fill; an id normal_cid_c makes
    builds it from its slots when first asked (a load makes thousands of ids that are
    only hashed and compared by identity)."""
    cdef object _k
    cdef readonly Py_hash_t _hash

    @property
    def _key(self):
        return _key_of(self)

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return _cid_eq(self, other)

    def __ne__(self, other):
        # The negation of __eq__, so the two can never disagree; NotImplemented passes
        # through for Python to try the other operand.
        r = _cid_eq(self, other)
        if r is NotImplemented:
            return r
        return not r


cdef inline object _cid_eq(CidCore self, object other):
    if other is self:
        return True
    if not isinstance(other, CidCore):
        return NotImplemented
    return (type(other) is type(self) and (<CidCore>other)._hash == self._hash
            and _key_of(<CidCore>other) == _key_of(self))


def cid_fill(CidCore cid not None, tuple key not None, Py_hash_t h):
    """Set the identity of a ContainerID being built (once, by _types)."""
    cid._k = key
    cid._hash = h


cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    ctypedef size_t Py_uhash_t
    void PyObject_GC_UnTrack(void* o)
    int PyObject_GenericSetAttr(object o, object name, object value) except -1

from cpython.ref cimport PyObject, Py_INCREF


cdef object _normal_cls = None
# Where ContainerID.Normal keeps its three slots (its member descriptors' offsets): a load
# makes one id per child container, by the thousand, and setting a slot by name looks
# its descriptor up each time. -1: not known (the slots are then set by name).
cdef Py_ssize_t _off_peer = -1, _off_counter = -1, _off_ct = -1
cdef Py_hash_t _normal_lane = 0     # hash("Normal")
# (type, hash of its _tyhash) of the container types met, so an id's hash is computed in C
cdef object _ty_seen = [None] * 8
cdef Py_hash_t _ty_lane[8]
cdef bint _fast_hash = False


def cid_classes(normal_cls):
    """_types registers ContainerID.Normal here once it is defined (normal_cid builds it)."""
    global _normal_cls, _off_peer, _off_counter, _off_ct, _normal_lane, _fast_hash
    _normal_cls = normal_cls
    _off_peer = _slot_offset(normal_cls, "peer")
    _off_counter = _slot_offset(normal_cls, "counter")
    _off_ct = _slot_offset(normal_cls, "container_type")
    _normal_lane = hash("Normal")
    # the C hash below is the tuple hash of the running Python; checked once here, else
    # the tuple is hashed (hash(tuple) is what _types' checked constructor uses)
    _fast_hash = True
    for parts in ((0, 0, 7), (1, -1, 123456789), ((1 << 64) - 1, (1 << 31) - 1, -5),
                  (987654321987, -(1 << 31), 1 << 40)):
        if _normal_hash(parts[0], parts[1], hash(parts[2])) != hash(("Normal",) + parts):
            _fast_hash = False


cdef Py_ssize_t _slot_offset(object cls, str name):
    d = cls.__dict__.get(name)
    if d is None or type(d).__name__ != "member_descriptor":
        return -1
    return (<PyMemberDescrObject*><PyObject*>d).d_member.offset


cdef inline Py_uhash_t _rotl31(Py_uhash_t x) noexcept:
    return (x << 31) | (x >> (8 * sizeof(Py_uhash_t) - 31))


cdef Py_hash_t _normal_hash(object peer, object counter, Py_hash_t tylane) except? -1:
    """hash(("Normal", peer, counter, tyhash)) where tylane is hash(tyhash): CPython's
    tuple hash (xxHash's round, 64-bit primes) over the four items' hashes."""
    cdef Py_uhash_t acc = <Py_uhash_t>2870177450012600261ULL       # XXPRIME_5
    cdef Py_uhash_t lane
    cdef Py_hash_t lanes[4]
    cdef int k
    lanes[0] = _normal_lane
    lanes[1] = hash(peer)
    lanes[2] = hash(counter)
    lanes[3] = tylane
    for k in range(4):
        lane = <Py_uhash_t>lanes[k]
        acc += lane * <Py_uhash_t>14029467366897019727ULL           # XXPRIME_2
        acc = _rotl31(acc)
        acc *= <Py_uhash_t>11400714785074694791ULL                  # XXPRIME_1
    acc += <Py_uhash_t>4 ^ (<Py_uhash_t>2870177450012600261ULL ^ <Py_uhash_t>3527539UL)
    if acc == <Py_uhash_t>-1:
        return 1546275796
    return <Py_hash_t>acc


cdef Py_hash_t _type_lane(object container_type) except? -1:
    cdef int k
    for k in range(8):
        if _ty_seen[k] is container_type:
            return _ty_lane[k]
        if _ty_seen[k] is None:
            _ty_lane[k] = hash(container_type._tyhash)
            _ty_seen[k] = container_type
            return _ty_lane[k]
    return hash(container_type._tyhash)


cdef inline object _get_slot(object o, Py_ssize_t off):
    cdef PyObject* v = (<PyObject**>((<char*><PyObject*>o) + off))[0]
    if v == NULL:
        raise AttributeError("a ContainerID slot is not set")
    return <object>v


cdef inline void _put_slot(object o, Py_ssize_t off, object v) noexcept:
    Py_INCREF(v)
    (<PyObject**>((<char*><PyObject*>o) + off))[0] = <PyObject*>v


cdef object _key_of(CidCore o):
    if o._k is None:
        # (a normal id from normal_cid_c: its parts are its slots)
        if _off_peer >= 0 and _off_counter >= 0 and _off_ct >= 0:
            key = (_get_slot(o, _off_peer), _get_slot(o, _off_counter), _get_slot(o, _off_ct))
        else:
            key = (getattr(o, "peer"), getattr(o, "counter"), getattr(o, "container_type"))
        PyObject_GC_UnTrack(<PyObject*>key)     # (ints and a type: in no cycle)
        o._k = key
    return o._k


cdef extern from *:
    """
    /* CidCore's own tp_new on a subclass (what CidCore.__new__(sub) runs, without the
       call through tp_new_wrapper and its argument tuple) */
    static PyObject *lc_new_via(PyObject *base, PyObject *sub, PyObject *args) {
        return ((PyTypeObject *)base)->tp_new((PyTypeObject *)sub, args, NULL);
    }
    """
    object lc_new_via(object base, object sub, object args)


cdef object normal_cid_c(object peer, object counter, object container_type):
    """normal_cid for C callers (the codecs: one id per child container a load names)."""
    if _normal_cls is None:
        raise RuntimeError("loro_c._types registers ContainerID.Normal first")
    cdef CidCore o = <CidCore>lc_new_via(CidCore, _normal_cls, ())
    if _off_peer >= 0 and _off_counter >= 0 and _off_ct >= 0:
        # (a fresh object: its slots are empty, nothing to release)
        _put_slot(o, _off_peer, peer)
        _put_slot(o, _off_counter, counter)
        _put_slot(o, _off_ct, container_type)
    else:
        # (the slots are set past the frozen __setattr__, as object.__setattr__ does)
        PyObject_GenericSetAttr(o, "peer", peer)
        PyObject_GenericSetAttr(o, "counter", counter)
        PyObject_GenericSetAttr(o, "container_type", container_type)
    if _fast_hash:
        o._hash = _normal_hash(peer, counter, _type_lane(container_type))
    else:
        o._hash = hash(("Normal", peer, counter, container_type._tyhash))
    # an id holds ints and its (immutable) type: it is in no cycle, so the cyclic
    # collector need not walk it (a load makes thousands of them)
    PyObject_GC_UnTrack(<PyObject*>o)
    return o


def normal_cid(peer, counter, container_type):
    """ContainerID.Normal for parts the engine already holds as valid (a u64 peer, an
    i32 counter, a ContainerType), without its checks: every created container and
    every child a load names makes one. The id equals, and hashes as, the checked one."""
    return normal_cid_c(peer, counter, container_type)
