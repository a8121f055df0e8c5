# The postcard LoroValue writer, for the snapshot codec (_codec): a map's state lists its
# values in this encoding, written straight from the document's value slots.
from loro_c._varint cimport Writer

cdef int w_value(Writer* w, object v, int depth) except -1
