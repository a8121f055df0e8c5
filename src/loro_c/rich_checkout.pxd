# loro's style map elements of a text, kept op by op (rich_checkout.pyx); the state's
# local ops update them from C (state/richtext.pxi)

cdef class Elements:
    cdef Py_ssize_t *lens
    cdef Py_ssize_t n, cap
    cdef public list marks
    cdef Py_ssize_t fi, fpos

    cdef int reserve(self, Py_ssize_t more) except -1
    cdef int push(self, Py_ssize_t n, marks) except -1
    cdef int put(self, Py_ssize_t i, Py_ssize_t n, marks) except -1
    cdef int drop(self, Py_ssize_t i) except -1
    cdef Py_ssize_t find(self, Py_ssize_t pos) noexcept
    cpdef insert(self, Py_ssize_t pos, Py_ssize_t n)
    cpdef delete(self, Py_ssize_t pos, Py_ssize_t n)
    cpdef annotate(self, Py_ssize_t start, Py_ssize_t end, sid)
