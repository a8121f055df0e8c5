# The postcard LoroValue writer, for the snapshot codec (_codec): a map's state lists its
# values in this encoding, written straight from the document's value slots.
from loro_c._varint cimport Writer

cdef int w_value(Writer* w, object v, int depth) except -1

# The ContainerID.Normal of these parts (`ct`: the historical type byte), the same object
# while its table keeps it (the ids a load decodes and registers; _codec key_cid)
from libc.stdint cimport uint8_t, uint64_t, int32_t
cdef object normal_cid_cached(uint64_t peer, int32_t counter, uint8_t ct)

# An EphemeralStore message's entries, values decoded or only checked (the compiled store
# applies every presence message through it: ephemeral_store.pyx)
cdef list read_entries(data, bint build)
