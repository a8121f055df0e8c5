# cython: language_level=3
"""Text diffs for LoroText.update / update_by_line (the algorithm is in textdiff.h).

The diff is computed completely before anything is edited, so a timeout leaves the text as
it was.
"""
from libc.stdint cimport uint32_t, int64_t
from libc.stdlib cimport malloc, free
from cpython.unicode cimport PyUnicode_KIND, PyUnicode_DATA, PyUnicode_READ

cdef extern from "Python.h":
    object PyUnicode_FromKindAndData(int kind, const void *buf, Py_ssize_t size)
    enum:
        PyUnicode_4BYTE_KIND

from loro_c.errors import LoroValueError, LoroTypeError
from loro_c._doc cimport LoroDoc
from loro_c._seq cimport copy_visible

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
    int64_t td_cut_lines(const uint32_t *a, int64_t n, int64_t **starts) nogil
    int td_line_ids(const uint32_t *a, const int64_t *sa, int64_t na, const uint32_t *b,
                    const int64_t *sb, int64_t nb, uint32_t *ida, uint32_t *idb) nogil

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


def text_edits(LoroDoc doc, uint32_t c, str new, bint refined=True, timeout_ms=None):
    """char_edits(text of container `c`, new) read straight from the document's sequence
    (the caller holds its lock), without building the old text as a str."""
    cdef uint32_t tree = doc.ctree[c]
    cdef int64_t n = doc.seq.char_len(tree), m = len(new), p = 0, sfx = 0, lim, i
    cdef int kind = PyUnicode_KIND(new)
    cdef void *data = PyUnicode_DATA(new)
    cdef uint32_t *a = <uint32_t*>malloc(<size_t>(n if n > 0 else 1) * sizeof(uint32_t))
    cdef uint32_t *b = NULL
    cdef uint32_t ch
    if a == NULL:
        raise MemoryError()
    try:
        copy_visible(doc.seq, tree, 0, n, a)
        lim = n if n < m else m
        while p < lim and a[p] == PyUnicode_READ(kind, data, p):
            p += 1
        while sfx < lim - p and a[n - 1 - sfx] == PyUnicode_READ(kind, data, m - 1 - sfx):
            sfx += 1
        b = <uint32_t*>malloc(<size_t>(m - p - sfx + 1) * sizeof(uint32_t))
        if b == NULL:
            raise MemoryError()
        for i in range(m - p - sfx):
            ch = PyUnicode_READ(kind, data, p + i)
            if 0xD800 <= ch <= 0xDFFF:
                raise LoroValueError("text with a lone surrogate code point cannot be stored")
            b[i] = ch
        edits = run_diff(a + p, n - p - sfx, b, m - p - sfx, refined, timeout_ms)
    finally:
        free(a)
        free(b)
    return [(k, p + oi, k_n if k == TD_DELETE else new[p + ni:p + ni + k_n])
            for k, oi, ni, k_n in edits]


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
    cdef uint32_t *a = code_points(old, False)
    try:
        return lines_diff(a, len(old), new, refined, timeout_ms)
    finally:
        free(a)


def doc_line_edits(LoroDoc doc, uint32_t c, str new, bint refined=True, timeout_ms=None):
    """line_edits(text of container `c`, new), read from the document as text_edits does."""
    cdef uint32_t tree = doc.ctree[c]
    cdef int64_t n = doc.seq.char_len(tree)
    cdef uint32_t *a = <uint32_t*>malloc(<size_t>(n if n > 0 else 1) * sizeof(uint32_t))
    if a == NULL:
        raise MemoryError()
    try:
        copy_visible(doc.seq, tree, 0, n, a)
        return lines_diff(a, n, new, refined, timeout_ms)
    finally:
        free(a)


cdef list lines_diff(const uint32_t *old, int64_t n, str new, bint refined, object timeout_ms):
    cdef int kind = PyUnicode_KIND(new)
    cdef void *data = PyUnicode_DATA(new)
    cdef int64_t m = len(new), p = 0, sfx = 0, lim = n if n < m else m, sa, sb, i
    cdef uint32_t NL = 10
    while p < lim and old[p] == PyUnicode_READ(kind, data, p):
        p += 1
    while sfx < lim - p and old[n - 1 - sfx] == PyUnicode_READ(kind, data, m - 1 - sfx):
        sfx += 1
    # widen the common ends to whole lines: the same cut in both, as they are equal there
    while p > 0 and old[p - 1] != NL:
        p -= 1
    # the suffix must start a line in both texts; past its first '\n' it does
    sa = n - sfx
    while sa < n:
        sb = m - (n - sa)
        if (sa == 0 or old[sa - 1] == NL) and (sb == 0 or PyUnicode_READ(kind, data, sb - 1) == NL):
            break
        while sa < n and old[sa] != NL:
            sa += 1
        if sa < n:
            sa += 1
    sb = m - (n - sa)
    mid_new = new[p:sb]
    return line_diff_middle(old + p, sa - p, p, mid_new, refined, timeout_ms)


cdef list line_diff_middle(const uint32_t *old, int64_t n, int64_t base, str new, bint refined,
                           object timeout_ms):
    """Line edits turning old[0,n) into `new`, positions offset by `base`."""
    cdef uint32_t *b = code_points(new, True)
    cdef int64_t m = len(new), no, nn
    cdef int64_t *sa = NULL
    cdef int64_t *sb = NULL
    cdef uint32_t *ida = NULL
    cdef uint32_t *idb = NULL
    try:
        no = td_cut_lines(old, n, &sa)
        nn = td_cut_lines(b, m, &sb)
        ida = <uint32_t*>malloc(<size_t>(no + 1) * sizeof(uint32_t))
        idb = <uint32_t*>malloc(<size_t>(nn + 1) * sizeof(uint32_t))
        if no < 0 or nn < 0 or ida == NULL or idb == NULL:
            raise MemoryError()
        if td_line_ids(old, sa, no, b, sb, nn, ida, idb) != TD_OK:
            raise MemoryError()
        edits = run_diff(ida, no, idb, nn, refined, timeout_ms)
        return [(k, base + sa[oi], sa[oi + c] - sa[oi] if k == TD_DELETE
                 else new[sb[ni]:sb[ni + c]]) for k, oi, ni, c in edits]
    finally:
        free(b)
        free(sa)
        free(sb)
        free(ida)
        free(idb)
