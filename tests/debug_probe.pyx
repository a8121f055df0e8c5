# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled only by a debug build (LORO_C_DEBUG=1, see setup.py), as loro_c._debug_probe.

It has the same "# cython:" header as the engine's modules and goes through the same
rewrite and flags, so tests/test_debug_build.py can show what the debug build catches:
Python-sequence indexing out of range (Cython's checks) and, with LORO_C_SANITIZE=address,
a C array read past its end (AddressSanitizer). Release builds and wheels never have it.
"""
from libc.stdlib cimport malloc, free


def list_item(list items, Py_ssize_t i):
    """items[i] as the engine indexes its typed lists."""
    return items[i]


def c_array_item(Py_ssize_t n, Py_ssize_t i):
    """Element i of a malloc'd array of n elements (0, 1, ... n - 1)."""
    cdef Py_ssize_t *a = <Py_ssize_t *>malloc(n * sizeof(Py_ssize_t))
    cdef Py_ssize_t k, v
    if a == NULL:
        raise MemoryError()
    for k in range(n):
        a[k] = k
    v = a[i]
    free(a)
    return v
