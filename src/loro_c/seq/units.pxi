# Text units: the UTF-8/UTF-16 lengths cached per text span (and per node, in lc_lens) and the
# conversion of visible positions between code points and UTF-8/UTF-16 units. A span whose
# cached lengths prove one width for all its code points (ASCII, CJK, emoji) needs no scan;
# other spans are scanned from their nearer end.


cdef inline int64_t lens_unit(const lc_lens *l, int unit) noexcept nogil:
    if unit == UNIT_UTF16:
        return l.utf16
    if unit == UNIT_UTF8:
        return l.utf8
    return l.visible - l.anchors


cdef inline int64_t span_unit(const lc_span *s, int unit) noexcept nogil:
    if unit == UNIT_UTF16:
        return s.utf16_len
    if unit == UNIT_UTF8:
        return s.utf8_len
    return s.len


cdef inline int cp_units(uint32_t cp, int unit) noexcept nogil:
    # branch-free so that scans over code points vectorize
    if unit == UNIT_UTF16:
        return 1 + (cp >= 0x10000)
    if unit == UNIT_UTF8:
        return 1 + (cp >= 0x80) + (cp >= 0x800) + (cp >= 0x10000)
    return 1


cdef inline int64_t sum_units(const uint32_t *cps, int64_t n, int unit) noexcept nogil:
    cdef int64_t i, acc = 0
    if unit == UNIT_UTF16:
        for i in range(n):
            acc += 1 + (cps[i] >= 0x10000)
    elif unit == UNIT_UTF8:
        for i in range(n):
            acc += 1 + (cps[i] >= 0x80) + (cps[i] >= 0x800) + (cps[i] >= 0x10000)
    else:
        acc = n
    return acc


cdef inline int span_width(const lc_span *s, int unit) noexcept nogil:
    """The width in `unit` of every code point of a text span when its cached lengths prove
    they are all the same (ASCII, all-BMP 3-byte such as CJK, all astral), else 0. Only the
    extreme averages prove it: an average of 2 UTF-8 bytes may be a mix of 1 and 3."""
    if unit == UNIT_UNICODE or s.len <= 0:
        return 1
    if unit == UNIT_UTF16:
        if s.utf16_len == s.len:
            return 1
        if s.utf16_len == 2 * <int64_t>s.len:
            return 2
        return 0
    if s.utf8_len == s.len:
        return 1
    if s.utf8_len == 4 * <int64_t>s.len:
        return 4
    if s.utf16_len == s.len and s.utf8_len == 3 * <int64_t>s.len:
        return 3
    return 0


cdef void fill_text_lens(SeqArena a, lc_span *s) noexcept nogil:
    # one branch-free pass for both units: every code point is one unit plus its extra
    # UTF-8 bytes, and an astral one is one more UTF-16 unit
    cdef const uint32_t *cps = &a.text[s.content]
    cdef int64_t i, extra8 = 0, astral = 0
    cdef uint32_t cp
    for i in range(s.len):
        cp = cps[i]
        extra8 += (cp >= 0x80) + (cp >= 0x800)
        astral += cp >= 0x10000
    s.utf8_len = <int32_t>(s.len + extra8 + astral)
    s.utf16_len = <int32_t>(s.len + astral)


cdef void split_text_lens(SeqArena a, lc_span *left, lc_span *right) noexcept nogil:
    """Share the cached UTF-8/16 lengths of a text span between its two parts; `left`
    still holds the whole span's lengths. Uniform widths need no scan, otherwise only the
    shorter part is scanned and the other one gets the difference."""
    cdef int64_t whole8 = left.utf8_len, whole16 = left.utf16_len
    cdef int64_t n = <int64_t>left.len + right.len
    cdef lc_span whole = left[0]
    whole.len = <int32_t>n
    cdef int w8 = span_width(&whole, UNIT_UTF8), w16 = span_width(&whole, UNIT_UTF16)
    cdef lc_span *short_part
    cdef lc_span *long_part
    if w8 and w16:
        left.utf8_len = w8 * left.len
        left.utf16_len = w16 * left.len
        right.utf8_len = w8 * right.len
        right.utf16_len = w16 * right.len
        return
    if left.len <= right.len:
        short_part = left
        long_part = right
    else:
        short_part = right
        long_part = left
    fill_text_lens(a, short_part)
    long_part.utf8_len = <int32_t>(whole8 - short_part.utf8_len)
    long_part.utf16_len = <int32_t>(whole16 - short_part.utf16_len)


cdef int64_t to_unicode(SeqArena a, uint32_t t, int64_t pos, int unit, bint floor) except -2:
    """Convert a visible position in `unit` to code points. A position inside a code point
    gives -1, or the code point's start when `floor` (as loro's convert_pos). The caller
    checks 0 <= pos <= unit_len."""
    if unit == UNIT_UNICODE:
        return pos
    cdef uint32_t nd = a.roots[t]
    cdef lc_node *node
    cdef int i
    cdef int64_t v, acc = 0
    cdef lc_span *s
    while True:
        node = &a.nodes[nd]
        if node.is_leaf:
            break
        for i in range(node.n):
            v = lens_unit(&a.nodes[node.u.children[i]].lens, unit)
            if pos < v or i == node.n - 1:
                nd = node.u.children[i]
                break
            pos -= v
            acc += a.nodes[node.u.children[i]].lens.visible - a.nodes[node.u.children[i]].lens.anchors
    for i in range(node.n):
        s = &node.u.spans[i]
        if not span_visible(s) or lc_span_is_anchor(s):
            continue
        v = span_unit(s, unit)
        if pos >= v:
            pos -= v
            acc += s.len
            continue
        return span_to_unicode(a, s, pos, v, unit, acc, floor)
    return acc if pos == 0 else -1


cdef int64_t span_to_unicode(SeqArena a, const lc_span *s, int64_t pos, int64_t v, int unit,
                             int64_t acc, bint floor) noexcept:
    """acc + the code points of visible span `s` before its unit offset `pos` (0 <= pos <
    v, its length in units); inside a code point: -1, or its start when `floor`. Scans
    from the nearer end unless every code point has the same width."""
    cdef int64_t k, c, rem
    cdef int w = span_width(s, unit)
    cdef const uint32_t *cps = &a.text[s.content]
    if w:
        return -1 if pos % w and not floor else acc + pos // w
    if pos <= v - pos:
        k = 0
        while pos > 0:
            c = cp_units(cps[k], unit)
            if c > pos:
                return acc + k if floor else -1
            pos -= c
            k += 1
        return acc + k
    rem = v - pos
    k = s.len
    while rem > 0:
        c = cp_units(cps[k - 1], unit)
        if c > rem:
            return acc + k - 1 if floor else -1
        rem -= c
        k -= 1
    return acc + k


cdef int64_t from_unicode(SeqArena a, uint32_t t, int64_t pos, int unit) except -2:
    """Convert a visible code point position to `unit`. The caller checks the range."""
    if unit == UNIT_UNICODE:
        return pos
    cdef uint32_t nd = a.roots[t]
    cdef lc_node *node
    cdef int i
    cdef int64_t v, acc = 0
    cdef int w
    cdef lc_span *s
    while True:
        node = &a.nodes[nd]
        if node.is_leaf:
            break
        for i in range(node.n):
            v = a.nodes[node.u.children[i]].lens.visible - a.nodes[node.u.children[i]].lens.anchors
            if pos < v or i == node.n - 1:
                nd = node.u.children[i]
                break
            pos -= v
            acc += lens_unit(&a.nodes[node.u.children[i]].lens, unit)
    for i in range(node.n):
        s = &node.u.spans[i]
        if not span_visible(s) or lc_span_is_anchor(s):
            continue
        if pos >= s.len:
            pos -= s.len
            acc += span_unit(s, unit)
            continue
        w = span_width(s, unit)
        if w:
            return acc + w * pos
        # from the nearer end of the span
        if pos <= s.len - pos:
            return acc + sum_units(&a.text[s.content], pos, unit)
        return acc + span_unit(s, unit) - sum_units(&a.text[s.content + pos], s.len - pos, unit)
    return acc
