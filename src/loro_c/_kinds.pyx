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
    counter, type) of a normal id), set once by cid_fill."""
    cdef readonly object _key
    cdef readonly Py_hash_t _hash

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
            and (<CidCore>other)._key == self._key)


def cid_fill(CidCore cid not None, tuple key not None, Py_hash_t h):
    """Set the identity of a ContainerID being built (once, by _types)."""
    cid._key = key
    cid._hash = h


cdef extern from "Python.h":
    int PyObject_GenericSetAttr(object o, object name, object value) except -1


cdef object _normal_cls = None


def cid_classes(normal_cls):
    """_types registers ContainerID.Normal here once it is defined (normal_cid builds it)."""
    global _normal_cls
    _normal_cls = normal_cls


def normal_cid(peer, counter, container_type):
    """ContainerID.Normal for parts the engine already holds as valid (a u64 peer, an
    i32 counter, a ContainerType), without its checks: every created container and
    every child a load names makes one. The id equals, and hashes as, the checked one."""
    cdef CidCore o = CidCore.__new__(_normal_cls)
    # (the slots are set past the frozen __setattr__, as object.__setattr__ does)
    PyObject_GenericSetAttr(o, "peer", peer)
    PyObject_GenericSetAttr(o, "counter", counter)
    PyObject_GenericSetAttr(o, "container_type", container_type)
    o._key = (peer, counter, container_type)
    o._hash = hash(("Normal", peer, counter, container_type._tyhash))
    return o
