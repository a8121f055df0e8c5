from libc.stdint cimport uint32_t, int32_t, int64_t, uint64_t
from loro_c._doc cimport LoroDoc
from loro_c._oplog cimport lc_op
from loro_c._opid_check cimport KnownCheck

# The staging API used by the decoders (see _import.pyx).
cdef int64_t stage_begin(LoroDoc doc, uint64_t peer, int32_t counter, int64_t end, int64_t lamport,
                         int64_t timestamp, int64_t n_deps) except -2
cdef int stage_dep(LoroDoc doc, uint64_t peer, int32_t counter) except -1
cdef uint32_t stage_container(LoroDoc doc, object cid, uint32_t op_kind) except? 0xFFFFFFFF
cdef lc_op* stage_op(LoroDoc doc, uint32_t c, uint32_t kind, int32_t counter, int64_t n) except NULL
cdef bint stage_dropped(LoroDoc doc, const lc_op *op) noexcept
cdef int stage_tree_created(LoroDoc doc, const lc_op *op) except -1
cdef int stage_end(LoroDoc doc, object msg) except -1
cdef object stage_tuple(LoroDoc doc, tuple raw)
cdef int64_t tuple_ops_len(object ops) except -1
cdef stage_value(LoroDoc doc, v, peer, counter)
cdef KnownCheck import_known(LoroDoc doc)
cdef int import_blob_end(LoroDoc doc, bint batch) except -1
