# loro's string hashing in C, for the modules that order str keys as loro's maps do without
# a Python object per key (the codec's snapshot of a large map: encode_map_entries).
from libc.stdint cimport uint64_t, int64_t

cdef uint64_t hash_bytes(const unsigned char *b, int64_t n) noexcept nogil
cdef uint64_t utf8_key_hash(const unsigned char *b, int64_t n) noexcept nogil
cdef int fixed_table_order(const uint64_t *hashes, int64_t n, int64_t *out) except -1 nogil
