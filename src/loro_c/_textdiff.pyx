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


cdef Py_ssize_t common_prefix(str a, str b, Py_ssize_t lim):
    cdef int ka = PyUnicode_KIND(a), kb = PyUnicode_KIND(b)
    cdef void *da = PyUnicode_DATA(a)
    cdef void *db = PyUnicode_DATA(b)
    cdef Py_ssize_t i = 0
    if ka == kb and ka == 1:
        while i < lim and (<unsigned char*>da)[i] == (<unsigned char*>db)[i]:
            i += 1
    elif ka == kb and ka == 2:
        while i < lim and (<unsigned short*>da)[i] == (<unsigned short*>db)[i]:
            i += 1
    elif ka == kb:
        while i < lim and (<uint32_t*>da)[i] == (<uint32_t*>db)[i]:
            i += 1
    else:
        while i < lim and PyUnicode_READ(ka, da, i) == PyUnicode_READ(kb, db, i):
            i += 1
    return i


cdef Py_ssize_t common_suffix(str a, str b, Py_ssize_t lim):
    cdef int ka = PyUnicode_KIND(a), kb = PyUnicode_KIND(b)
    cdef void *da = PyUnicode_DATA(a)
    cdef void *db = PyUnicode_DATA(b)
    cdef Py_ssize_t n = len(a), m = len(b), i = 0
    while i < lim and PyUnicode_READ(ka, da, n - 1 - i) == PyUnicode_READ(kb, db, m - 1 - i):
        i += 1
    return i


def affixes(str a, str b):
    """(common prefix, common suffix) lengths of `a` and `b`, not overlapping."""
    cdef Py_ssize_t lim = min(len(a), len(b))
    cdef Py_ssize_t p = common_prefix(a, b, lim)
    return p, common_suffix(a, b, lim - p)


def char_edits(str old, str new, bint refined=True, timeout_ms=None):
    """Edits turning `old` into `new`, in code points: a list of (DELETE, pos, count) and
    (INSERT, pos, text) with `pos` in `old`, in increasing order. Raises LoroValueError
    ("Timeout") when the search outlasts `timeout_ms`, and for a lone surrogate in the
    inserted text."""
    cdef uint32_t *a = NULL
    cdef uint32_t *b = NULL
    # the common ends are settled here, so only the middle is copied out
    p, sfx = affixes(old, new)
    mid_old = old[p:len(old) - sfx]
    mid_new = new[p:len(new) - sfx]
    b = code_points(mid_new, True)
    try:
        a = code_points(mid_old, False)
        edits = run_diff(a, len(mid_old), b, len(mid_new), refined, timeout_ms)
    finally:
        free(a)
        free(b)
    return [(k, p + oi, n if k == TD_DELETE else mid_new[ni:ni + n]) for k, oi, ni, n in edits]


def split_lines(str s):
    """`s` cut after every '\\n' (the last piece may lack one; no empty last piece)."""
    parts = s.split("\n")
    last = parts.pop()
    out = [p + "\n" for p in parts]
    if last:
        out.append(last)
    return out


def line_edits(str old, str new, bint refined=True, timeout_ms=None):
    """Like char_edits, but diffing whole lines (each ending after its '\\n')."""
    cdef Py_ssize_t n = len(old), m = len(new), i
    p, sfx = affixes(old, new)
    # widen the common ends to whole lines: the same cut in both, as they are equal there
    p = old.rfind("\n", 0, p) + 1
    # the suffix must start a line in both texts; past its first '\n' it does
    sa = n - sfx
    while sa < n:
        sb = m - (n - sa)
        if (sa == 0 or old[sa - 1] == "\n") and (sb == 0 or new[sb - 1] == "\n"):
            break
        j = old.find("\n", sa)
        sa = n if j < 0 else j + 1
    sb = m - (n - sa)
    mid_new = new[p:sb]
    try:
        mid_new.encode("utf-8")
    except UnicodeEncodeError:
        raise LoroValueError("text with a lone surrogate code point cannot be stored") from None
    old_lines = split_lines(old[p:sa])
    new_lines = split_lines(mid_new)
    cdef dict ids = {}
    cdef Py_ssize_t no = len(old_lines), nn = len(new_lines)
    cdef uint32_t *a = <uint32_t*>malloc(<size_t>(no + 1) * sizeof(uint32_t))
    cdef uint32_t *b = <uint32_t*>malloc(<size_t>(nn + 1) * sizeof(uint32_t))
    try:
        if a == NULL or b == NULL:
            raise MemoryError()
        for i in range(no):
            a[i] = ids.setdefault(old_lines[i], len(ids))
        for i in range(nn):
            b[i] = ids.setdefault(new_lines[i], len(ids))
        edits = run_diff(a, no, b, nn, refined, timeout_ms)
    finally:
        free(a)
        free(b)
    if not edits:
        return []
    starts = [p]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    return [(k, starts[oi], starts[oi + c] - starts[oi] if k == TD_DELETE
             else "".join(new_lines[ni:ni + c])) for k, oi, ni, c in edits]
