from libc.stdint cimport uint32_t, int32_t, int64_t, uint64_t
from loro_c._doc cimport LoroDoc
from loro_c._oplog cimport OpLog, lc_op


cdef class KnownCheck:
    """One import's comparison of the ops it carries under ids the document already has
    with the document's own (see _opid_check.pyx). The decoders call it op by op for the
    known part only, with the fields they decoded anyway."""
    cdef LoroDoc doc
    cdef OpLog log
    cdef int64_t staged_lo          # the import's first staged record
    cdef int64_t blob_staged        # the staged records when the current blob began
    cdef bint blob_new              # the blob has a change or part the document lacks
    cdef bint idle                  # the blob brings nothing new (its block headers say so):
                                    # nothing to compare
    cdef dict batch_end             # peer index -> end counter the batch's earlier blobs made known
    # the first conflict of the current blob
    cdef bint bad
    cdef uint64_t bad_peer
    cdef int64_t bad_counter
    # the change being compared: its peer index and the end of its compared part
    cdef uint32_t peer
    cdef int64_t cmp_end
    # the doc's op last found, and the op range [lo, hi) of the change or record holding it
    cdef int64_t cur_op, cur_lo, cur_hi


cdef enum:
    NOT_HELD_CID = 0xFFFFFFFE   # a container the document does not have (no op's container)
    NOT_HELD_PEER = 0xFFFFFFFE  # a peer it does not have (no op names it)


cdef KnownCheck known_check_new(LoroDoc doc)
cdef int64_t known_open(KnownCheck k, uint64_t peer, int64_t counter, int64_t end,
                        list deps) except -2
cdef uint32_t known_container(KnownCheck k, object cid) except? 0xFFFFFFFF
cdef uint32_t known_peer_index(KnownCheck k, uint64_t peer) except? 0xFFFFFFFF
cdef int known_insert(KnownCheck k, int64_t ctr, int64_t n, uint32_t c, int64_t pos,
                      const uint32_t *cps, object content) except -1
cdef int known_delete(KnownCheck k, int64_t ctr, int64_t n, uint32_t c, int64_t pos,
                      int64_t signed_len, uint32_t target_peer, int64_t target_ctr) except -1
cdef int known_map(KnownCheck k, int64_t ctr, uint32_t c, object key, object value,
                   bint is_delete) except -1
cdef int known_counter(KnownCheck k, int64_t ctr, uint32_t c, double delta) except -1
cdef int known_mark(KnownCheck k, int64_t ctr, uint32_t c, bint is_end, int64_t start,
                    int64_t end, object key, object value, int64_t info) except -1
cdef int known_move(KnownCheck k, int64_t ctr, uint32_t c, int64_t from_pos, int64_t to_pos,
                    uint32_t elem_peer, int64_t elem_lamport) except -1
cdef int known_set(KnownCheck k, int64_t ctr, uint32_t c, uint32_t elem_peer,
                   int64_t elem_lamport, object value) except -1
cdef int known_tree(KnownCheck k, int64_t ctr, uint32_t c, uint32_t target_peer,
                    int64_t target_ctr, int64_t parent, int64_t parent_ctr, object fi) except -1
cdef int known_tuple(KnownCheck k, tuple raw) except -1
cdef int known_blob_end(KnownCheck k, bint batch) except -1
cdef int64_t known_end_for_peer(KnownCheck k, uint64_t peer) except -1
cdef int64_t known_end_of(KnownCheck k, uint32_t p) except -1
