# cython: language_level=3
"""Container handles: LoroText, LoroList, LoroMap, LoroCounter.

A handle holds its document and the container's index, never a pointer. A handle made with
the class constructor (`LoroText()`) is *detached*: it edits a private document, and
`insert_container` copies its content into the real one.
"""
from libc.stdint cimport uint32_t, int64_t

from loro_c._doc cimport (LoroDoc, KIND_MAP, KIND_LIST, KIND_TEXT, KIND_COUNTER)
from loro_c._seq cimport UNIT_UNICODE, UNIT_UTF8, UNIT_UTF16
from loro_c._doc import copy_value
from loro_c.errors import LoroError, LoroTypeError, OutOfBoundsError, ContainerMismatchError
from loro_c import _types

_UNITS = {"unicode": UNIT_UNICODE, "utf8": UNIT_UTF8, "utf16": UNIT_UTF16, "bytes": UNIT_UTF8}
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


cpdef object check_value(object v):
    """Validate a Loro value and return a private copy; raises LoroTypeError."""
    t = type(v)
    if v is None or t is bool or t is float or t is str or t is bytes:
        return v
    if t is int:
        if not _I64_MIN <= v <= _I64_MAX:
            raise LoroTypeError(f"integer {v} does not fit in a signed 64-bit value")
        return v
    if t is list:
        return [check_value(x) for x in <list>v]
    if t is dict:
        out = {}
        for k, x in (<dict>v).items():
            if type(k) is not str:
                raise LoroTypeError(f"map keys must be str, not {type(k).__name__}")
            out[k] = check_value(x)
        return out
    if isinstance(v, _Handle):
        raise LoroTypeError("use insert_container to put a container into another container")
    raise LoroTypeError(f"{t.__name__} is not a Loro value (None, bool, int, float, str, bytes, list, dict)")


cdef inline int64_t as_index(object i, str what) except? -1:
    if type(i) is not int:
        if isinstance(i, bool) or not isinstance(i, int):
            raise LoroTypeError(f"{what} must be an int, not {type(i).__name__}")
    if i < 0 or i > 0x7FFFFFFFFFFF:
        raise OutOfBoundsError(f"{what} {i} is out of bounds")
    return i


def wrap(LoroDoc doc, uint32_t c, int kind):
    """The handle class for a container kind."""
    if kind == KIND_TEXT:
        return LoroText._wrap(doc, c)
    if kind == KIND_LIST:
        return LoroList._wrap(doc, c)
    if kind == KIND_MAP:
        return LoroMap._wrap(doc, c)
    return LoroCounter._wrap(doc, c)


cdef object wrap_value(LoroDoc doc, object v):
    """A stored value as ValueOrContainer."""
    if isinstance(v, _types.ContainerID):
        c = doc.cid_index[v]
        return _types.ValueOrContainer.Container(wrap(doc, c, doc.ckind[c]))
    return _types.ValueOrContainer.Value(copy_value(v))


cdef class _Handle:
    cdef LoroDoc doc
    cdef uint32_t idx
    cdef bint attached

    def _init_detached(self, int kind):
        self.doc = LoroDoc()
        self.idx = self.doc._root("detached", kind)
        self.attached = False

    @property
    def id(self):
        """The ContainerID of this container."""
        return self.doc.cids[self.idx]

    @property
    def is_attached(self):
        """Whether the container belongs to a document (False for `LoroText()` and friends)."""
        return self.attached

    def get_value(self):
        """The value, with child containers as ContainerIDs."""
        return self.doc.value_of(self.idx, False)

    def get_deep_value(self):
        """The value with child containers expanded."""
        return self.doc.value_of(self.idx, True)

    def __eq__(self, other):
        return (type(other) is type(self) and (<_Handle>other).doc is self.doc
                and (<_Handle>other).idx == self.idx)

    def __hash__(self):
        return hash((id(self.doc), self.idx))

    def __repr__(self):
        return f"{type(self).__name__}({self.id})"


cdef object attach_child(LoroDoc doc, uint32_t child, object source):
    """Handle of a freshly created child, with a detached source's content copied in."""
    cdef _Handle h = wrap(doc, child, doc.ckind[child])
    cdef _Handle src = <_Handle>source
    if not src.attached:
        copy_content(src, h)
    return h


cdef copy_content(_Handle src, _Handle dst):
    cdef int kind = src.doc.ckind[src.idx]
    cdef LoroDoc sdoc = src.doc
    if kind == KIND_TEXT:
        s = sdoc.text_value(src.idx)
        if s:
            dst.doc.local_text_insert(dst.idx, 0, s)
    elif kind == KIND_COUNTER:
        # loro writes the detached value as one increment, zero included
        dst.doc.local_counter_add(dst.idx, sdoc.ccounter[src.idx])
    elif kind == KIND_LIST:
        for i, slot in enumerate(sdoc.list_slots(src.idx)):
            v = sdoc.log.values[slot]
            if isinstance(v, _types.ContainerID):
                c = sdoc.cid_index[v]
                child = dst.doc.local_list_insert_container(dst.idx, i, sdoc.ckind[c])
                copy_content(wrap(sdoc, c, sdoc.ckind[c]), wrap(dst.doc, child, dst.doc.ckind[child]))
            else:
                dst.doc.local_list_insert(dst.idx, i, [copy_value(v)])
    else:
        for k, slot in sdoc.map_live(src.idx):
            v = sdoc.log.values[slot]
            if isinstance(v, _types.ContainerID):
                c = sdoc.cid_index[v]
                child = dst.doc.local_map_set_container(dst.idx, k, sdoc.ckind[c])
                copy_content(wrap(sdoc, c, sdoc.ckind[c]), wrap(dst.doc, child, dst.doc.ckind[child]))
            else:
                dst.doc.local_map_set(dst.idx, k, copy_value(v))


cdef int kind_of_handle(object c) except -1:
    if isinstance(c, LoroText):
        return KIND_TEXT
    if isinstance(c, LoroList):
        return KIND_LIST
    if isinstance(c, LoroMap):
        return KIND_MAP
    if isinstance(c, LoroCounter):
        return KIND_COUNTER
    raise LoroTypeError(f"expected a container (LoroText, LoroList, LoroMap, LoroCounter), not {type(c).__name__}")


cdef class LoroText(_Handle):
    """A text container: positions count Unicode code points unless a method says otherwise."""

    def __init__(self):
        self._init_detached(KIND_TEXT)

    @staticmethod
    def _wrap(LoroDoc doc, uint32_t c):
        cdef LoroText h = LoroText.__new__(LoroText)
        h.doc = doc
        h.idx = c
        h.attached = True
        return h

    cdef uint32_t tree(self):
        return self.doc.ctree[self.idx]

    def insert(self, pos, str s):
        """Insert `s` at code point `pos`."""
        self.doc.local_text_insert(self.idx, as_index(pos, "position"), s)

    def delete(self, pos, len):
        """Delete `len` code points starting at `pos`."""
        self.doc.local_seq_delete(self.idx, as_index(pos, "position"), as_index(len, "length"))

    def push_str(self, str s):
        """Append `s`."""
        self.doc.local_text_insert(self.idx, self.doc.seq.visible_len(self.tree()), s)

    def splice(self, pos, len, str s):
        """Replace `len` code points at `pos` with `s`; returns the deleted text."""
        deleted = self.slice(pos, as_index(pos, "position") + as_index(len, "length"))
        self.delete(pos, len)
        self.insert(pos, s)
        return deleted

    cdef int64_t _convert(self, object pos, int unit, bint floor=False) except -1:
        cdef int64_t p = as_index(pos, "position")
        cdef int64_t limit = self.doc.seq.unit_len(self.tree(), unit)
        if p > limit:
            raise OutOfBoundsError(f"position {p} is out of bounds (length {limit})")
        cdef int64_t u = self.doc.seq.to_unicode(self.tree(), p, unit, floor)
        if u < 0:
            raise OutOfBoundsError(f"position {p} falls inside a code point")
        return u

    def insert_utf8(self, pos, str s):
        """Insert `s` at UTF-8 byte offset `pos`."""
        self.doc.local_text_insert(self.idx, self._convert(pos, UNIT_UTF8), s)

    def delete_utf8(self, pos, len):
        """Delete UTF-8 bytes [pos, pos+len)."""
        cdef int64_t a = self._convert(pos, UNIT_UTF8)
        cdef int64_t b = self._convert(as_index(pos, "position") + as_index(len, "length"), UNIT_UTF8)
        self.doc.local_seq_delete(self.idx, a, b - a)

    def insert_utf16(self, pos, str s):
        """Insert `s` at UTF-16 unit offset `pos`."""
        self.doc.local_text_insert(self.idx, self._convert(pos, UNIT_UTF16), s)

    def delete_utf16(self, pos, len):
        """Delete UTF-16 units [pos, pos+len)."""
        cdef int64_t a = self._convert(pos, UNIT_UTF16)
        cdef int64_t b = self._convert(as_index(pos, "position") + as_index(len, "length"), UNIT_UTF16)
        self.doc.local_seq_delete(self.idx, a, b - a)

    def slice(self, start, end):
        """Text between code points `start` and `end`."""
        cdef int64_t a = as_index(start, "start"), b = as_index(end, "end")
        cdef int64_t n = self.doc.seq.visible_len(self.tree())
        if a > b or b > n:
            raise OutOfBoundsError(f"slice {a}..{b} is out of bounds (length {n})")
        return self.doc.text_range(self.idx, a, b)

    def slice_utf16(self, start, end):
        """Text between UTF-16 offsets `start` and `end`; an offset inside a surrogate pair
        counts as the pair's start, as in loro."""
        return self.slice(self._convert(start, UNIT_UTF16, True), self._convert(end, UNIT_UTF16, True))

    def char_at(self, pos):
        """The character at code point `pos`."""
        cdef int64_t p = as_index(pos, "position")
        if p >= self.doc.seq.visible_len(self.tree()):
            raise OutOfBoundsError(f"position {p} is out of bounds (length {self.doc.seq.visible_len(self.tree())})")
        return self.doc.text_range(self.idx, p, p + 1)

    def convert_pos(self, index, from_, to):
        """Convert a position between "unicode", "utf8", "utf16" units (None if out of range).
        A position inside a code point counts as the code point's start, as in loro."""
        a = _UNITS.get(from_)
        if a is None:
            a = _UNITS[str(from_).lower().split(".")[-1]]
        b = _UNITS.get(to)
        if b is None:
            b = _UNITS[str(to).lower().split(".")[-1]]
        try:
            u = self._convert(index, a, True)
        except OutOfBoundsError:
            return None
        return self.doc.seq.from_unicode(self.tree(), u, b)

    def to_string(self):
        """The text."""
        return self.doc.text_value(self.idx)

    def __str__(self):
        return self.to_string()

    @property
    def len_unicode(self):
        """Length in code points."""
        return self.doc.seq.visible_len(self.tree())

    @property
    def len_utf8(self):
        """Length in UTF-8 bytes."""
        return self.doc.seq.unit_len(self.tree(), UNIT_UTF8)

    @property
    def len_utf16(self):
        """Length in UTF-16 units."""
        return self.doc.seq.unit_len(self.tree(), UNIT_UTF16)

    def __len__(self):
        return self.doc.seq.visible_len(self.tree())

    def is_empty(self):
        """Whether the text is empty."""
        return self.doc.seq.visible_len(self.tree()) == 0


cdef class LoroList(_Handle):
    """A list of Loro values and child containers."""

    def __init__(self):
        self._init_detached(KIND_LIST)

    @staticmethod
    def _wrap(LoroDoc doc, uint32_t c):
        cdef LoroList h = LoroList.__new__(LoroList)
        h.doc = doc
        h.idx = c
        h.attached = True
        return h

    cdef int64_t length(self):
        return self.doc.seq.visible_len(self.doc.ctree[self.idx])

    def insert(self, pos, v):
        """Insert value `v` at `pos`."""
        self.doc.local_list_insert(self.idx, as_index(pos, "position"), [check_value(v)])

    def push(self, v):
        """Append value `v`."""
        self.doc.local_list_insert(self.idx, self.length(), [check_value(v)])

    def delete(self, pos, len):
        """Delete `len` items starting at `pos`."""
        self.doc.local_seq_delete(self.idx, as_index(pos, "position"), as_index(len, "length"))

    def get(self, index):
        """The item at `index` as ValueOrContainer, or None when out of range."""
        cdef int64_t i = as_index(index, "index") if index >= 0 else -1
        if i < 0 or i >= self.length():
            return None
        slot = self.doc.seq.visible_content(self.doc.ctree[self.idx], i)
        return wrap_value(self.doc, self.doc.log.values[slot])

    def pop(self):
        """Remove the last item and return its value (None when empty)."""
        cdef int64_t n = self.length()
        if n == 0:
            return None
        slot = self.doc.seq.visible_content(self.doc.ctree[self.idx], n - 1)
        v = self.doc._resolve(self.doc.log.values[slot], False)
        self.doc.local_seq_delete(self.idx, n - 1, 1)
        return v

    def clear(self):
        """Delete every item."""
        self.doc.local_seq_delete(self.idx, 0, self.length())

    def to_vec(self):
        """The items, child containers as ContainerIDs."""
        return self.doc.value_of(self.idx, False)

    def insert_container(self, pos, child):
        """Insert a new child container of `child`'s kind at `pos` and return its handle."""
        cdef uint32_t c = self.doc.local_list_insert_container(self.idx, as_index(pos, "position"),
                                                               kind_of_handle(child))
        return attach_child(self.doc, c, child)

    def push_container(self, child):
        """Append a new child container and return its handle."""
        return self.insert_container(self.length(), child)

    def __len__(self):
        return self.length()

    def is_empty(self):
        """Whether the list is empty."""
        return self.length() == 0


cdef class LoroMap(_Handle):
    """A map from str keys to Loro values and child containers (last writer wins)."""

    def __init__(self):
        self._init_detached(KIND_MAP)

    @staticmethod
    def _wrap(LoroDoc doc, uint32_t c):
        cdef LoroMap h = LoroMap.__new__(LoroMap)
        h.doc = doc
        h.idx = c
        h.attached = True
        return h

    def _live(self):
        return self.doc.map_live(self.idx)

    def insert(self, str key, v):
        """Set `key` to value `v`."""
        self.doc.local_map_set(self.idx, key, check_value(v))

    def delete(self, str key):
        """Delete `key`."""
        self.doc.local_map_delete(self.idx, key)

    def clear(self):
        """Delete every key. Like loro, this writes a delete for every key the map has ever
        held (deleted ones too), in sorted order."""
        for k in self.doc.map_all_keys(self.idx):
            self.doc.local_map_delete(self.idx, k)

    def get(self, str key):
        """The entry for `key` as ValueOrContainer, or None."""
        cdef int64_t slot = self.doc.map_slot(self.idx, key)
        if slot < 0:
            return None
        return wrap_value(self.doc, self.doc.log.values[slot])

    def keys(self):
        """Keys present in the map."""
        return [k for k, _ in self._live()]

    def values(self):
        """Entries as ValueOrContainer."""
        return [wrap_value(self.doc, self.doc.log.values[s]) for _, s in self._live()]

    def items(self):
        """(key, ValueOrContainer) pairs."""
        return [(k, wrap_value(self.doc, self.doc.log.values[s])) for k, s in self._live()]

    def insert_container(self, str key, child):
        """Set `key` to a new child container of `child`'s kind and return its handle."""
        cdef uint32_t c = self.doc.local_map_set_container(self.idx, key, kind_of_handle(child))
        return attach_child(self.doc, c, child)

    def get_or_create_container(self, str key, child):
        """The child container at `key`, created when absent; raises ContainerMismatchError
        when `key` holds something else."""
        cdef int kind = kind_of_handle(child)
        cdef int64_t slot = self.doc.map_slot(self.idx, key)
        if slot >= 0:
            v = self.doc.log.values[slot]
            if isinstance(v, _types.ContainerID):
                c = self.doc.cid_index[v]
                if self.doc.ckind[c] == kind:
                    return wrap(self.doc, c, kind)
            raise ContainerMismatchError(f"key {key!r} holds {v!r}, not a {type(child).__name__}")
        return self.insert_container(key, child)

    def __contains__(self, key):
        return isinstance(key, str) and self.doc.map_slot(self.idx, key) >= 0

    def __len__(self):
        return self.doc.map_len(self.idx)

    def is_empty(self):
        """Whether the map has no keys."""
        return self.doc.map_len(self.idx) == 0


cdef class LoroCounter(_Handle):
    """A counter: the sum of every peer's increments (f64)."""

    def __init__(self):
        self._init_detached(KIND_COUNTER)

    @staticmethod
    def _wrap(LoroDoc doc, uint32_t c):
        cdef LoroCounter h = LoroCounter.__new__(LoroCounter)
        h.doc = doc
        h.idx = c
        h.attached = True
        return h

    def increment(self, value):
        """Add `value` (int or float)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LoroTypeError(f"a counter takes a number, not {type(value).__name__}")
        self.doc.local_counter_add(self.idx, float(value))

    def decrement(self, value):
        """Subtract `value` (int or float)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LoroTypeError(f"a counter takes a number, not {type(value).__name__}")
        self.doc.local_counter_add(self.idx, -float(value))

    @property
    def value(self):
        """The current sum."""
        return self.doc.ccounter[self.idx]

    def __float__(self):
        return self.doc.ccounter[self.idx]

    def __int__(self):
        return int(self.doc.ccounter[self.idx])
