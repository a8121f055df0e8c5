# A MovableList state's list items between the snapshot codec and the document: their one
# place is include/loro_c/ml_items.h.
from libc.stdint cimport uint32_t

cdef extern from "loro_c/ml_items.h":
    uint32_t LC_ML_NO_ELEM
    ctypedef struct lc_ml_item:
        uint32_t lamport
        uint32_t elem_peer
        uint32_t elem_lamport
        uint32_t set_peer
        uint32_t set_lamport
