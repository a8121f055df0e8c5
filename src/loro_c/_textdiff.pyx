# cython: language_level=3
"""Text diffs for LoroText.update / update_by_line (the algorithm is in textdiff.h).

The diff is computed completely before anything is edited, so a timeout leaves the text as
it was.
"""
from libc.stdint cimport uint32_t, int64_t
from libc.stdlib cimport malloc, free
from cpython.unicode cimport PyUnicode_KIND, PyUnicode_DATA, PyUnicode_READ

from loro_c.errors import LoroValueError, LoroTypeError

cdef extern from "loro_c/textdiff.h":
    enum:
        TD_DELETE
        TD_INSERT
        TD_OK
        TD_TIMEOUT
        TD_NOMEM
    ctypedef struct td_edit:
        int kind
        int64_t old_index
        int64_t new_index
        int64_t len
    ctypedef struct td_edits:
        td_edit *items
        int64_t n, cap
    int td_diff(const uint32_t *a, int64_t n, const uint32_t *b, int64_t m, int refined,
                int timed, double timeout_ms, td_edits *out) nogil
    void td_free(td_edits *e) nogil

DELETE = TD_DELETE
INSERT = TD_INSERT


def check_options(use_refined_diff, timeout_ms):
    """Validate update()'s options as loro does: a real bool and a real number or None.
    Returns the timeout as a float, or None."""
    if type(use_refined_diff) is not bool:
        raise LoroTypeError(f"use_refined_diff must be a bool, not {type(use_refined_diff).__name__}")
    if timeout_ms is None:
        return None
    if isinstance(timeout_ms, (str, bytes, complex)):
        raise LoroTypeError(f"timeout_ms must be a real number, not {type(timeout_ms).__name__}")
    try:
        return float(timeout_ms)
    except (TypeError, ValueError):
        raise LoroTypeError(f"timeout_ms must be a real number, not {type(timeout_ms).__name__}") from None


cdef uint32_t *code_points(str s, bint check) except NULL:
    cdef Py_ssize_t i, n = len(s)
    cdef int kind = PyUnicode_KIND(s)
    cdef void *data = PyUnicode_DATA(s)
    cdef uint32_t *buf = <uint32_t*>malloc(<size_t>(n if n > 0 else 1) * sizeof(uint32_t))
    if buf == NULL:
        raise MemoryError()
    for i in range(n):
        buf[i] = PyUnicode_READ(kind, data, i)
        if check and 0xD800 <= buf[i] <= 0xDFFF:
            free(buf)
            raise LoroValueError("text with a lone surrogate code point cannot be stored")
    return buf


cdef list run_diff(const uint32_t *a, int64_t n, const uint32_t *b, int64_t m, bint refined,
                   object timeout_ms):
    cdef td_edits out
    cdef int r
    cdef int timed = timeout_ms is not None
    cdef double t = timeout_ms if timed else 0.0
    cdef int64_t i
    out.items = NULL
    out.n = out.cap = 0
    with nogil:
        r = td_diff(a, n, b, m, refined, timed, t, &out)
    try:
        if r == TD_TIMEOUT:
            raise LoroValueError("Timeout")
        if r != TD_OK:
            raise MemoryError()
        return [(out.items[i].kind, out.items[i].old_index, out.items[i].new_index,
                 out.items[i].len) for i in range(out.n)]
    finally:
        td_free(&out)


def char_edits(str old, str new, bint refined=True, timeout_ms=None):
    """Edits turning `old` into `new`, in code points: a list of (kind, old_index,
    new_index, len) in increasing old_index, kind DELETE or INSERT. Raises LoroValueError
    ("Timeout") when the search outlasts `timeout_ms`, and for a lone surrogate in `new`."""
    cdef uint32_t *a = NULL
    cdef uint32_t *b = code_points(new, True)
    try:
        a = code_points(old, False)
        return run_diff(a, len(old), b, len(new), refined, timeout_ms)
    finally:
        free(a)
        free(b)


def split_lines(str s):
    """`s` cut after every '\\n' (the last piece may lack one; no empty last piece)."""
    parts = s.split("\n")
    last = parts.pop()
    out = [p + "\n" for p in parts]
    if last:
        out.append(last)
    return out


def line_edits(list old_lines, list new_lines, bint refined=True, timeout_ms=None):
    """Edits turning the line list `old_lines` into `new_lines`, in line units."""
    cdef dict ids = {}
    cdef Py_ssize_t n = len(old_lines), m = len(new_lines), i
    cdef uint32_t *a = <uint32_t*>malloc(<size_t>(n + 1) * sizeof(uint32_t))
    cdef uint32_t *b = <uint32_t*>malloc(<size_t>(m + 1) * sizeof(uint32_t))
    try:
        if a == NULL or b == NULL:
            raise MemoryError()
        for i in range(n):
            a[i] = ids.setdefault(old_lines[i], len(ids))
        for i in range(m):
            b[i] = ids.setdefault(new_lines[i], len(ids))
        return run_diff(a, n, b, m, refined, timeout_ms)
    finally:
        free(a)
        free(b)
