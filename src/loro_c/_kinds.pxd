# Container kinds and op kinds for Cython code: their one place is include/loro_c/kinds.h.
# The Cython names KIND_* stand for the header's LC_KIND_*.

cdef extern from "loro_c/kinds.h":
    enum:
        KIND_MAP "LC_KIND_MAP"
        KIND_LIST "LC_KIND_LIST"
        KIND_TEXT "LC_KIND_TEXT"
        KIND_TREE "LC_KIND_TREE"
        KIND_MOVABLE_LIST "LC_KIND_MOVABLE_LIST"
        KIND_COUNTER "LC_KIND_COUNTER"
        N_KINDS "LC_N_KINDS"
        LC_OP_INSERT
        LC_OP_DELETE
        LC_OP_MAP_SET
        LC_OP_MAP_DELETE
        LC_OP_COUNTER
        LC_OP_MOVE
        LC_OP_SET
        LC_OP_MARK_START
        LC_OP_MARK_END
        LC_OP_TREE
        LC_TREE_PARENT_ROOT
        LC_TREE_PARENT_DELETED

    const char *lc_kind_name(int kind) noexcept nogil
    int lc_kind_historical(int kind) noexcept nogil


# ContainerID.Normal of valid parts (a u64 peer int, an i32 counter int, a ContainerType),
# unchecked: _kinds.normal_cid for C callers
cdef object normal_cid_c(object peer, object counter, object container_type)


# Whether a stored value is a plain scalar, which no container id is: per-value loops test
# this before the ContainerID test (an isinstance walk of Python classes)
cdef inline bint plain_scalar(object v) noexcept:
    cdef object t = type(v)
    return t is int or t is str or t is float or t is bool or v is None
