# cython: language_level=3
"""Container handles: LoroText, LoroList, LoroMap, LoroCounter.

A handle holds its document and the container's index, never a pointer. A handle made with
the class constructor (`LoroText()`) is *detached*: it edits a private document, and
`insert_container` copies its content into the real one.

Every public method holds the document lock while it reads or edits the document (see
doc_acquire in _doc.pxd), so it is atomic with respect to other threads. Arguments are
checked before the lock is taken, and a method never calls another locking method.
"""
from libc.stdint cimport uint16_t, uint32_t, int64_t
from cpython.unicode cimport PyUnicode_KIND, PyUnicode_DATA, PyUnicode_GET_LENGTH

from loro_c._doc cimport (LoroDoc, KIND_MAP, KIND_LIST, KIND_TEXT, KIND_COUNTER, KIND_MOVABLE_LIST, doc_acquire, doc_acquire_read, doc_acquire_value, doc_acquire_one,
                          doc_acquire_map_keys, doc_acquire_map_key,
                          doc_acquire_handles, doc_lock,
                          doc_release, lc_map_entry, lc_map_find, LC_NO_KEY,
                          thin_register_all, lazy_deep_value)
from loro_c._seq cimport UNIT_UNICODE, UNIT_UTF8, UNIT_UTF16
from loro_c._seq cimport to_unicode, from_unicode, visible_content, find_char
from loro_c._doc cimport style_memo, StyleMemo
from loro_c._doc cimport as_str, local_text_mark, detached_text_mark, text_delta_runs, text_insert_entity, text_styles_at, style_walk
from loro_c._doc cimport (local_text_insert, text_value, text_range, local_seq_delete,
                          local_list_insert, local_list_insert_container, list_slots, local_map_set,
                          local_map_set_container, local_map_delete, map_slot, map_len, map_live,
                          map_all_keys, local_counter_add, value_of, resolve_value, reachable,
                          check_alive, map_public_value, sorted_live_value)
from loro_c._doc cimport (local_ml_insert, local_ml_insert_container, local_ml_delete, local_ml_move,
                          local_ml_set, local_ml_set_container, ml_len, ml_slots, ml_item_peers,
                          ml_value_slot_at)
from loro_c._doc cimport (KIND_TREE, tree_state, local_tree_move, local_next_counter,
                          container_index, tree_note_local, tree_nodes_order)     # LoroTree (handles/tree.pxi)
from loro_c._version import ID as _ID
from loro_c._doc import copy_value, container_type as _container_type, _TYPE_NAMES as _KIND_NAMES, kind_of_type

_mergeable = None     # loro_c.mergeable, imported on first use
from loro_c.errors import (LoroError, LoroTypeError, LoroValueError, OutOfBoundsError,
                           ContainerMismatchError, KeyNotFoundError)
from loro_c import _types, _textdiff
from operator import index as _as_int

builtins_len = len
_UNITS = {"unicode": UNIT_UNICODE, "utf8": UNIT_UTF8, "utf16": UNIT_UTF16, "bytes": UNIT_UTF8}
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


cdef bint has_surrogate(str s) noexcept:
    """Whether `s` holds a surrogate code point (only strs wider than Latin-1 can)."""
    cdef int kind = PyUnicode_KIND(s)
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(s)
    cdef const uint16_t* u2
    cdef const uint32_t* u4
    if kind == 1:
        return False
    if kind == 2:
        u2 = <const uint16_t*>PyUnicode_DATA(s)
        for i in range(n):
            if 0xD800 <= u2[i] <= 0xDFFF:
                return True
        return False
    u4 = <const uint32_t*>PyUnicode_DATA(s)
    for i in range(n):
        if 0xD800 <= u4[i] <= 0xDFFF:
            return True
    return False


cdef inline str loro_str(str s):
    """`s` as loro stores a str value (_types.lossy_utf8 when it has a lone surrogate, which
    has no UTF-8 form: kept as given, such a value made the document unexportable)."""
    if PyUnicode_KIND(s) == 1 or not has_surrogate(s):
        return s
    return _types.lossy_utf8(s)


from loro_c._types import MAX_VALUE_NESTING
cdef int max_nesting = MAX_VALUE_NESTING


cpdef object check_value(object v):
    """Validate a Loro value and return a private copy; raises LoroTypeError, or
    LoroValueError when it nests deeper than MAX_VALUE_NESTING."""
    return checked_value(v, 0)


cdef object checked_value(object v, int depth):
    t = type(v)
    if t is str:
        return loro_str(<str>v)
    if v is None or t is bool or t is float or t is bytes:
        return v
    if t is int:
        if not _I64_MIN <= v <= _I64_MAX:
            raise LoroTypeError(f"integer {v} does not fit in a signed 64-bit value")
        return v
    if t is list or t is dict:
        if depth >= max_nesting:
            raise LoroValueError(f"a value nests lists and dicts more than {max_nesting} deep")
        if t is list:
            return [checked_value(x, depth + 1) for x in <list>v]
        out = {}
        for k, x in (<dict>v).items():
            if type(k) is not str:
                raise LoroTypeError(f"map keys must be str, not {type(k).__name__}")
            out[loro_str(<str>k)] = checked_value(x, depth + 1)
        return out
    if isinstance(v, str):
        return loro_str(as_str(v, "a value"))     # a subclass is its str, as in loro
    if isinstance(v, _Handle):
        raise LoroTypeError("use insert_container to put a container into another container")
    raise LoroTypeError(f"{t.__name__} is not a Loro value (None, bool, int, float, str, bytes, list, dict)")


cdef extern from "Python.h":
    long long PyLong_AsLongLongAndOverflow(object o, int *overflow)     # (no error for an int)


cdef inline int64_t as_index(object i, str what) except? -1:
    cdef int overflow = 0
    cdef long long v
    if type(i) is int:
        # the common case in C (a handle method's per-call cost); the rest as before
        v = PyLong_AsLongLongAndOverflow(i, &overflow)
        if overflow == 0 and v >= 0 and v <= <long long>0x7FFFFFFFFFFF:
            return v
    if type(i) is not int:
        if isinstance(i, bool) or not isinstance(i, int):
            raise LoroTypeError(f"{what} must be an int, not {type(i).__name__}")
    if i < 0 or i > 0x7FFFFFFFFFFF:
        raise OutOfBoundsError(f"{what} {i} is out of bounds")
    return i


cdef object list_index(object index):
    """A list index as loro takes it: a non-negative integer below 2**64."""
    try:
        k = _as_int(index)
    except TypeError:
        raise LoroTypeError(f"list indices must be integers or slices, not {type(index).__name__}") from None
    if k < 0 or k >= (1 << 64):
        raise LoroTypeError(f"list index {k} is not a non-negative 64-bit integer")
    return k


def wrap(LoroDoc doc, uint32_t c, int kind):
    """The handle class for a container kind."""
    if kind == KIND_TEXT:
        return LoroText._wrap(doc, c)
    if kind == KIND_LIST:
        return LoroList._wrap(doc, c)
    if kind == KIND_MAP:
        return LoroMap._wrap(doc, c)
    if kind == KIND_MOVABLE_LIST:
        return LoroMovableList._wrap(doc, c)
    if kind == KIND_TREE:
        return LoroTree._wrap(doc, c)
    return LoroCounter._wrap(doc, c)


cdef object _CID_TYPE = _types.ContainerID


cdef object wrap_value(LoroDoc doc, object v):
    """A stored value as ValueOrContainer."""
    if isinstance(v, _CID_TYPE):
        c = doc.cid_index.get(v)
        if c is None:
            # (a child map a snapshot load left unregistered, read through its list
            # without the rest: registered alone, its state still encoded)
            c = container_index(doc, v, kind_of_type(v.container_type))
        return _types.ValueOrContainer.Container(wrap(doc, c, doc.ckind[c]))
    return _types.ValueOrContainer.Value(copy_value(v))


cdef class _Handle:
    cdef LoroDoc _doc
    cdef uint32_t idx
    cdef bint attached

    def _init_detached(self, int kind):
        # the private document is made on first use (hdoc): a detached container that is
        # inserted untouched, the common case, never needs one
        self._doc = None
        self.idx = 0            # the index the root gets in a fresh document
        self.attached = False

    @property
    def id(self):
        """The ContainerID of this container."""
        # (a registered container's id: no state read, a snapshot load's left encoded)
        doc_lock(hdoc(self))
        cid = hdoc(self).cids[self.idx]
        doc_release(hdoc(self))
        return cid

    @property
    def is_attached(self):
        """Whether the container belongs to a document (False for `LoroText()` and friends)."""
        return self.attached

    def doc(self):
        """The LoroDoc holding this container, or None for a detached one."""
        return hdoc(self) if self.attached else None

    def subscribe(self, callback):
        """Call `callback(DiffEvent)` after each commit or import that changes this container
        or one nested in it (see LoroDoc.subscribe). Returns a Subscription, or None for a
        detached container (as loro)."""
        if not self.attached:
            return None
        return hdoc(self).subscribe(self.id, callback)

    def events(self, maxsize=1024):
        """This container's DiffEvents (its own changes and those of the containers nested
        in it) as an async stream: `async for ev in text.events():`. See LoroDoc.events;
        beyond loro. A detached container has no events: LoroValueError."""
        if not self.attached:
            raise LoroValueError("a detached container has no events: insert it into a document")
        return hdoc(self).events(self.id, maxsize)

    def get_value(self):
        """The value, with child containers as ContainerIDs."""
        doc_acquire_value(hdoc(self))
        try:
            return value_of(hdoc(self), self.idx, False)
        finally:
            doc_release(hdoc(self))

    def get_deep_value(self):
        """The value with child containers expanded."""
        doc_acquire_value(hdoc(self))
        try:
            return value_of(hdoc(self), self.idx, True)
        finally:
            doc_release(hdoc(self))

    def __eq__(self, other):
        return (type(other) is type(self) and hdoc(<_Handle>other) is hdoc(self)
                and (<_Handle>other).idx == self.idx)

    def __hash__(self):
        return hash((id(hdoc(self)), self.idx))

    def __repr__(self):
        return f"{type(self).__name__}({self.id})"


_lazy_lock = __import__("threading").Lock()


cdef LoroDoc hidden_doc(_Handle h):
    """Make the private document of a detached handle (once, even across threads)."""
    cdef LoroDoc d
    with _lazy_lock:
        if h._doc is None:
            d = LoroDoc()
            h.idx = d._root("detached", kind_of_handle(h))
            h._doc = d
    return h._doc


cdef inline LoroDoc hdoc(_Handle h):
    """The document of a handle (a detached one's is made on first use)."""
    if h._doc is not None:
        return h._doc
    return hidden_doc(h)


cdef inline int text_store_entry(_Handle h) except -1:
    """A local insert or mark on an attached text: loro's handler reads the text's state
    before any check, which gives it an entry in loro's state store even when the op is
    then refused (a deleted text, a position out of bounds); a text created and emptied
    within one import had none (state/snapshot.pxi note_store_entries) and now shows in
    the state of the snapshots exported since (loro 1.17.1; a delete reads nothing, a
    splice only once its range is in bounds)."""
    cdef LoroDoc d
    if h.attached:
        d = hdoc(h)
        if d.unstored:
            d.unstored.discard(d.cids[h.idx])
    return 0


cdef object detached_content(object source):
    """The content of a detached container as a nested (kind, payload) tuple, read under
    its own document's lock; None for an attached one. Reading it first, before the target
    document is locked, means no call ever holds two document locks."""
    cdef _Handle src = <_Handle>source
    cdef int kind
    if src.attached:
        return None
    if src._doc is None:
        kind = kind_of_handle(src)
        if kind != KIND_COUNTER and kind != KIND_TREE:
            return None         # never used, so empty: nothing to copy
    doc_acquire_read(hdoc(src))
    try:
        return content_of(hdoc(src), src.idx)
    finally:
        doc_release(hdoc(src))


cdef tuple content_of(LoroDoc sdoc, uint32_t c):
    cdef int kind = sdoc.ckind[c]
    if kind == KIND_TEXT:
        if sdoc.seq.nodes[sdoc.seq.roots[sdoc.ctree[c]]].lens.anchors:
            # marked: its runs with their attributes, written as marks once attached
            return (kind, text_value(sdoc, c), text_delta_runs(sdoc, c))
        return (kind, text_value(sdoc, c))
    if kind == KIND_COUNTER:
        return (kind, sdoc.ccounter[c])
    if kind == KIND_TREE:
        return (kind, tree_content(sdoc, tree_state(sdoc, c), None))
    items = []
    if kind == KIND_LIST or kind == KIND_MOVABLE_LIST:
        for slot in (list_slots(sdoc, c) if kind == KIND_LIST else ml_slots(sdoc, c)):
            items.append((None, child_content(sdoc, sdoc.log.values[slot])))
    else:
        for k, slot in map_live(sdoc, c):
            items.append((k, child_content(sdoc, sdoc.log.values[slot])))
    return (kind, items)


cdef int copy_text_marks(LoroDoc doc, uint32_t dst, list runs) except -1:
    """Mark an attached copy of a detached text as its runs say (loro writes the detached
    text's delta: each run's attributes, with the target document's style configuration)."""
    cdef int64_t at = 0, n
    for text, attrs in runs:
        n = builtins_len(text)
        from loro_c.hash_order import str_key_order
        for key in str_key_order(attrs):
            local_text_mark(doc, dst, at, at + n, key, attrs[key])
        at += n
    return 0


cdef object child_content(LoroDoc sdoc, object v):
    """A child container's content, or the copied value wrapped in a list."""
    if isinstance(v, _types.ContainerID):
        return content_of(sdoc, sdoc.cid_index[v])
    return [copy_value(v)]


cdef copy_content(LoroDoc doc, uint32_t dst, tuple content):
    """Write detached content into the fresh container `dst` (the lock of `doc` is held)."""
    cdef int kind = content[0]
    cdef uint32_t child
    if kind == KIND_TEXT:
        if content[1]:
            local_text_insert(doc, dst, 0, content[1])
        if len(content) > 2:
            copy_text_marks(doc, dst, content[2])
    elif kind == KIND_COUNTER:
        # loro writes the detached value as one increment, zero included
        local_counter_add(doc, dst, content[1])
    elif kind == KIND_TREE:
        copy_tree(doc, dst, None, content[1])
    elif kind == KIND_LIST:
        for i, (_, x) in enumerate(content[1]):
            if type(x) is tuple:
                child = local_list_insert_container(doc, dst, i, (<tuple>x)[0])
                copy_content(doc, child, x)
            else:
                local_list_insert(doc, dst, i, x)
    elif kind == KIND_MOVABLE_LIST:
        for i, (_, x) in enumerate(content[1]):
            if type(x) is tuple:
                child = local_ml_insert_container(doc, dst, i, (<tuple>x)[0])
                copy_content(doc, child, x)
            else:
                local_ml_insert(doc, dst, i, x)
    else:
        for k, x in content[1]:
            if type(x) is tuple:
                child = local_map_set_container(doc, dst, k, (<tuple>x)[0])
                copy_content(doc, child, x)
            else:
                local_map_set(doc, dst, k, (<list>x)[0])


cdef int kind_of_handle(object c) except -1:
    if isinstance(c, LoroText):
        return KIND_TEXT
    if isinstance(c, LoroList):
        return KIND_LIST
    if isinstance(c, LoroMap):
        return KIND_MAP
    if isinstance(c, LoroCounter):
        return KIND_COUNTER
    if isinstance(c, LoroMovableList):
        return KIND_MOVABLE_LIST
    if isinstance(c, LoroTree):
        return KIND_TREE
    raise LoroTypeError(f"expected a container (LoroText, LoroList, LoroMap, LoroCounter, "
                        f"LoroMovableList), not {type(c).__name__}")


def tree_node_meta(LoroDoc doc, cid):
    """The meta map of the tree node `cid` names (a normal Map id), when a tree of the
    document holds that node (deleted ones too) but the map was never asked for: loro
    counts it as a container the document has (get_container, apply_diff). Else None."""
    cdef Py_ssize_t i
    if cid.is_root or str(cid.container_type) != "Map":
        return None
    trees = [i for i in range(len(doc.cids)) if doc.ckind[i] == KIND_TREE]
    node = _types.TreeID(cid.peer, cid.counter)
    for i in trees:
        t = wrap(doc, <uint32_t>i, KIND_TREE)
        if t.contains(node):
            return t.get_meta(node)
    return None


def container_reachable(LoroDoc doc, cid):
    """Whether the document knows container `cid` and it can be reached from a root."""
    doc_acquire_read(doc)
    try:
        i = doc.cid_index.get(cid)
        return i is not None and reachable(doc, i)
    finally:
        doc_release(doc)


cdef object cursor_of(_Handle h, pos, side):
    """get_cursor of a Text or List handle."""
    cdef int64_t p = as_index(pos, "position")
    from loro_c import cursor as _cursor
    _cursor.check_side(side)
    if not h.attached:
        return None
    return _cursor.cursor_at(hdoc(h), h.idx, h.id, p, side, type(h) is LoroList)


# how LoroText._convert treats a position inside a code point (0: an error)
cdef enum:
    ROUND_DOWN = 1
    ROUND_UP = 2


cdef class LoroText(_Handle):
    """A text container: positions count Unicode code points unless a method says otherwise."""

    def __init__(self):
        self._init_detached(KIND_TEXT)

    @staticmethod
    def _wrap(LoroDoc doc, uint32_t c):
        cdef LoroText h = LoroText.__new__(LoroText)
        h._doc = doc
        h.idx = c
        h.attached = True
        return h

    cdef uint32_t tree(self):
        return hdoc(self).ctree[self.idx]

    def insert(self, pos, s):
        """Insert `s` at code point `pos`."""
        s = as_str(s, "text")
        cdef int64_t p = as_index(pos, "position")
        doc_acquire(hdoc(self))
        try:
            text_store_entry(self)
            local_text_insert(hdoc(self), self.idx, p, s)
        finally:
            doc_release(hdoc(self))

    def delete(self, pos, len):
        """Delete `len` code points starting at `pos`."""
        cdef int64_t p = as_index(pos, "position"), n = as_index(len, "length")
        doc_acquire(hdoc(self))
        try:
            local_seq_delete(hdoc(self), self.idx, p, n)
        finally:
            doc_release(hdoc(self))

    def push_str(self, s):
        """Append `s`."""
        s = as_str(s, "text")
        doc_acquire(hdoc(self))
        try:
            text_store_entry(self)
            local_text_insert(hdoc(self), self.idx, hdoc(self).seq.char_len(self.tree()), s)
        finally:
            doc_release(hdoc(self))

    def splice(self, pos, len, s):
        """Replace `len` code points at `pos` with `s`; returns the deleted text."""
        s = as_str(s, "text")
        cdef int64_t a = as_index(pos, "position")
        cdef int64_t b = a + as_index(len, "length")
        doc_acquire(hdoc(self))
        try:
            self._check_range(a, b)
            text_store_entry(self)
            deleted = text_range(hdoc(self), self.idx, a, b)
            local_seq_delete(hdoc(self), self.idx, a, b - a)
            local_text_insert(hdoc(self), self.idx, a, s)
            return deleted
        finally:
            doc_release(hdoc(self))

    cdef int _check_range(self, int64_t a, int64_t b) except -1:
        cdef int64_t n = hdoc(self).seq.char_len(self.tree())
        if a > b or b > n:
            raise OutOfBoundsError(f"slice {a}..{b} is out of bounds (length {n})")
        return 0

    cdef int64_t _convert(self, object pos, int unit, int rounding=0) except -1:
        """A position in `unit` as a code point position (the lock is held). Inside a code
        point: OutOfBoundsError (rounding 0), the code point's start (ROUND_DOWN) or the
        next one's (ROUND_UP: loro's marks, whose UTF-8/UTF-16 range cut inside a character
        takes the whole character at its end, none at its start)."""
        cdef int64_t p = as_index(pos, "position")
        cdef int64_t limit = hdoc(self).seq.unit_len(self.tree(), unit)
        if p > limit:
            raise OutOfBoundsError(f"position {p} is out of bounds (length {limit})")
        cdef int64_t u = to_unicode(hdoc(self).seq, self.tree(), p, unit, rounding == ROUND_DOWN)
        if u < 0 and rounding == ROUND_UP:
            u = to_unicode(hdoc(self).seq, self.tree(), p, unit, True) + 1
        elif u < 0:
            raise OutOfBoundsError(f"position {p} falls inside a code point")
        return u

    cdef int _insert_unit(self, object pos, str s, int unit) except -1:
        doc_acquire(hdoc(self))
        try:
            text_store_entry(self)
            local_text_insert(hdoc(self), self.idx, self._convert(pos, unit), s)
        finally:
            doc_release(hdoc(self))
        return 0

    cdef int _delete_unit(self, object pos, object len, int unit) except -1:
        cdef int64_t a, b
        end = as_index(pos, "position") + as_index(len, "length")
        doc_acquire(hdoc(self))
        try:
            a = self._convert(pos, unit)
            b = self._convert(end, unit)
            local_seq_delete(hdoc(self), self.idx, a, b - a)
        finally:
            doc_release(hdoc(self))
        return 0

    def insert_utf8(self, pos, str s):
        """Insert `s` at UTF-8 byte offset `pos`."""
        self._insert_unit(pos, s, UNIT_UTF8)

    def delete_utf8(self, pos, len):
        """Delete UTF-8 bytes [pos, pos+len)."""
        self._delete_unit(pos, len, UNIT_UTF8)

    def insert_utf16(self, pos, str s):
        """Insert `s` at UTF-16 unit offset `pos`."""
        self._insert_unit(pos, s, UNIT_UTF16)

    def delete_utf16(self, pos, len):
        """Delete UTF-16 units [pos, pos+len)."""
        self._delete_unit(pos, len, UNIT_UTF16)

    def slice(self, start, end):
        """Text between code points `start` and `end`."""
        cdef int64_t a = as_index(start, "start"), b = as_index(end, "end")
        doc_acquire_read(hdoc(self))
        try:
            self._check_range(a, b)
            return text_range(hdoc(self), self.idx, a, b)
        finally:
            doc_release(hdoc(self))

    def slice_utf16(self, start, end):
        """Text between UTF-16 offsets `start` and `end`; an offset inside a surrogate pair
        counts as the pair's start, as in loro."""
        cdef int64_t a, b
        doc_acquire_read(hdoc(self))
        try:
            a = self._convert(start, UNIT_UTF16, ROUND_DOWN)
            b = self._convert(end, UNIT_UTF16, ROUND_DOWN)
            self._check_range(a, b)
            return text_range(hdoc(self), self.idx, a, b)
        finally:
            doc_release(hdoc(self))

    def char_at(self, pos):
        """The character at code point `pos`."""
        cdef int64_t p = as_index(pos, "position")
        cdef int64_t n
        doc_acquire_read(hdoc(self))
        try:
            n = hdoc(self).seq.char_len(self.tree())
            if p >= n:
                raise OutOfBoundsError(f"position {p} is out of bounds (length {n})")
            return text_range(hdoc(self), self.idx, p, p + 1)
        finally:
            doc_release(hdoc(self))

    def convert_pos(self, index, from_, to):
        """Convert a position between PositionType units (or "unicode", "utf8"/"bytes",
        "utf16"); None if out of range. A position inside a code point counts as the code
        point's start. As in loro: Event positions are Unicode ones, a position converted to
        its own type is returned as is, and one converted to or from Entity is None."""
        cdef int a = _pos_unit(from_), b = _pos_unit(to)
        if from_ is to or (a == b and type(from_) is str and from_ == to):
            if isinstance(index, bool) or not isinstance(index, int):
                raise LoroTypeError(f"position must be an int, not {type(index).__name__}")
            return int(index) if 0 <= index < _U64_END else None
        if a == UNIT_ENTITY or b == UNIT_ENTITY:
            return None
        doc_acquire_read(hdoc(self))
        try:
            try:
                u = self._convert(index, a, ROUND_DOWN)
            except OutOfBoundsError:
                return None
            return from_unicode(hdoc(self).seq, self.tree(), u, b)
        finally:
            doc_release(hdoc(self))

    def to_string(self):
        """The text."""
        doc_acquire_value(hdoc(self))
        try:
            return text_value(hdoc(self), self.idx)
        finally:
            doc_release(hdoc(self))

    def __str__(self):
        return self.to_string()

    cdef int64_t _unit_len(self, int unit) except -1:
        cdef int64_t n
        doc_acquire_read(hdoc(self))
        if unit == UNIT_UNICODE:
            n = hdoc(self).seq.char_len(self.tree())
        else:
            n = hdoc(self).seq.unit_len(self.tree(), unit)
        doc_release(hdoc(self))
        return n

    @property
    def len_unicode(self):
        """Length in code points."""
        return self._unit_len(UNIT_UNICODE)

    @property
    def len_utf8(self):
        """Length in UTF-8 bytes."""
        return self._unit_len(UNIT_UTF8)

    @property
    def len_utf16(self):
        """Length in UTF-16 units."""
        return self._unit_len(UNIT_UTF16)

    def __len__(self):
        return self._unit_len(UNIT_UNICODE)

    def is_empty(self):
        """Whether the text is empty."""
        return self._unit_len(UNIT_UNICODE) == 0

    def splice_utf16(self, pos, len, str s):
        """Replace UTF-16 units [pos, pos+len) with `s` (positions inside a surrogate pair
        are refused, as in delete_utf16)."""
        cdef int64_t a, b
        end = as_index(pos, "position") + as_index(len, "length")
        doc_acquire(hdoc(self))
        try:
            a = self._convert(pos, UNIT_UTF16)
            b = self._convert(end, UNIT_UTF16)
            text_store_entry(self)
            local_seq_delete(hdoc(self), self.idx, a, b - a)
            local_text_insert(hdoc(self), self.idx, a, s)
        finally:
            doc_release(hdoc(self))

    def get_cursor(self, pos, side):
        """A Cursor at `pos` (a stable position that follows edits; see
        LoroDoc.get_cursor_pos), or None for a detached container."""
        return cursor_of(self, pos, side)

    def get_editor_at_unicode_pos(self, pos):
        """The peer that inserted the character at code point `pos` (None past the end or
        for a detached text)."""
        cdef int64_t p = as_index(pos, "position")
        cdef int slot
        cdef int64_t off
        cdef uint32_t leaf
        if not self.attached:
            return None
        doc_acquire(hdoc(self))
        try:
            if p >= hdoc(self).seq.char_len(self.tree()):
                return None
            leaf = find_char(hdoc(self).seq, self.tree(), p, &slot, &off)
            return hdoc(self).log.peer_ids[hdoc(self).seq.nodes[leaf].u.spans[slot].id.peer]
        finally:
            doc_release(hdoc(self))

    def is_deleted(self):
        """Whether the text is no longer reachable from a root container (its parent entry
        was deleted or overwritten); False for a root or detached text."""
        if not self.attached:
            return False
        doc_acquire(hdoc(self))
        try:
            return not reachable(hdoc(self), self.idx)
        finally:
            doc_release(hdoc(self))

    # -- diffs

    def update(self, text, use_refined_diff=True, timeout_ms=None):
        """Edit the text into `text` with a minimal set of inserts and deletes (Myers' diff
        on code points; `use_refined_diff` prefers fewer, longer runs in small regions).
        Raises LoroValueError("Timeout") when the diff outlasts `timeout_ms`; the text is
        then left unchanged."""
        text = as_str(text, "text")
        t = _textdiff.check_options(use_refined_diff, timeout_ms)
        doc_acquire(hdoc(self))
        try:
            self._apply_edits(_textdiff.text_edits(hdoc(self), self.idx, text,
                                                   use_refined_diff, t))
        finally:
            doc_release(hdoc(self))

    def update_by_line(self, text, use_refined_diff=True, timeout_ms=None):
        """Like update(), but diffing whole lines (each ending after its '\\n'): faster on
        large texts, coarser edits."""
        text = as_str(text, "text")
        t = _textdiff.check_options(use_refined_diff, timeout_ms)
        doc_acquire(hdoc(self))
        try:
            self._apply_edits(_textdiff.doc_line_edits(hdoc(self), self.idx, text,
                                                       use_refined_diff, t))
        finally:
            doc_release(hdoc(self))

    cdef int _apply_edits(self, list edits) except -1:
        """Apply (DELETE, old_pos, count) / (INSERT, old_pos, text) edits given in old-text
        positions, in increasing order (the lock is held)."""
        cdef int64_t cur = 0, last = 0, oi
        for kind, o, payload in edits:
            oi = o
            if kind == _textdiff.DELETE:
                cur += oi - last
                local_seq_delete(hdoc(self), self.idx, cur, payload)
                last = oi + payload
            else:
                if oi > last:
                    cur += oi - last
                    last = oi
                local_text_insert(hdoc(self), self.idx, cur, payload)
                cur += builtins_len(payload)
        return 0

    # -- Python protocols, as loro gives them

    def __getitem__(self, index):
        cdef int64_t n, i
        if isinstance(index, slice):
            doc_acquire_read(hdoc(self))
            try:
                n = hdoc(self).seq.char_len(self.tree())
                a, b, step = index.indices(n)
                if step == 1:
                    return text_range(hdoc(self), self.idx, a, b if b > a else a)
                return text_value(hdoc(self), self.idx)[index]
            finally:
                doc_release(hdoc(self))
        try:
            k = _as_int(index)
        except TypeError:
            raise LoroTypeError("text indices must be integers or slices") from None
        if not _I64_MIN <= k <= _I64_MAX:
            raise LoroTypeError("text indices must be integers or slices")
        doc_acquire_read(hdoc(self))
        try:
            n = hdoc(self).seq.char_len(self.tree())
            i = k + n if k < 0 else k
            if i < 0 or i >= n:
                raise OutOfBoundsError("string index out of range")
            return text_range(hdoc(self), self.idx, i, i + 1)
        finally:
            doc_release(hdoc(self))

    def __contains__(self, item):
        if isinstance(item, LoroText):
            item = item.to_string()
        elif not isinstance(item, str):
            return False
        return item in self.to_string()

    def __add__(self, other):
        if isinstance(other, LoroText):
            return self.to_string() + other.to_string()
        if isinstance(other, str):
            return self.to_string() + other
        raise LoroTypeError("can only concatenate str or LoroText")

    def __radd__(self, other):
        if isinstance(other, str):
            return other + self.to_string()
        raise LoroTypeError("can only concatenate str or LoroText")

    # -- rich text (state/richtext.pxi)

    cdef int _mark(self, object start, object end, str key, object value, int unit) except -1:
        cdef int64_t a, b
        if not isinstance(key, str):
            raise LoroTypeError("style keys must be str")
        value = check_value(value)
        if as_index(start, "position") >= as_index(end, "position"):
            raise LoroValueError("Start must be less than end")
        doc_acquire(hdoc(self))
        try:
            text_store_entry(self)
            a = self._convert(start, unit, ROUND_UP)
            b = self._convert(end, unit, ROUND_UP)
            if self.attached and unit != UNIT_UNICODE:
                # loro's event rounds a bound inside a character down (its anchors up)
                local_text_mark(hdoc(self), self.idx, a, b, key, value,
                                self._convert(start, unit, ROUND_DOWN),
                                self._convert(end, unit, ROUND_DOWN))
            elif self.attached:
                local_text_mark(hdoc(self), self.idx, a, b, key, value)
            else:
                detached_text_mark(hdoc(self), self.idx, a, b, key, value)
        finally:
            doc_release(hdoc(self))
        return 0

    def mark(self, start, end, key, value):
        """Mark code points [start, end) with `key` = `value`; text typed at the range's
        edges joins it as the key's ExpandType says (LoroDoc.config_text_style)."""
        key = as_str(key, "style keys")
        self._mark(start, end, key, value, UNIT_UNICODE)

    def mark_utf8(self, start, end, str key, value):
        """mark() with UTF-8 byte offsets."""
        self._mark(start, end, key, value, UNIT_UTF8)

    def mark_utf16(self, start, end, str key, value):
        """mark() with UTF-16 unit offsets."""
        self._mark(start, end, key, value, UNIT_UTF16)

    def unmark(self, start, end, key):
        """Remove `key` from code points [start, end) (a mark with a null value)."""
        key = as_str(key, "style keys")
        self._mark(start, end, key, None, UNIT_UNICODE)

    def unmark_utf16(self, start, end, str key):
        """unmark() with UTF-16 unit offsets."""
        self._mark(start, end, key, None, UNIT_UTF16)

    def _style_runs(self):
        """(text or None for an anchor, entities, [(key, value, lamport, peer)]) runs of the
        text in document order (for tests)."""
        doc_acquire(hdoc(self))
        try:
            return [(t, n, sorted((hdoc(self).styles[i][:2] + hdoc(self).styles[i][3:5] for i in ids),
                                  key=lambda s: (s[2], s[3])))
                    for t, n, ids in style_walk(hdoc(self), self.tree())]
        finally:
            doc_release(hdoc(self))

    def _style_elements(self):
        """loro's style map elements this text keeps as [entities, frozenset of mark ids]
        (the tail last), or None when it keeps none (guessed at need) (for tests)."""
        doc_acquire(hdoc(self))
        try:
            m = style_memo(hdoc(self), self.idx)
            return None if m is None or m.elems is None or m.pending else m.elems.els
        finally:
            doc_release(hdoc(self))

    cdef list _runs(self):
        doc_acquire_read(hdoc(self))     # a read: a text loaded from a snapshot's state answers
        try:
            return text_delta_runs(hdoc(self), self.idx)
        finally:
            doc_release(hdoc(self))

    def to_delta(self):
        """The text as TextDelta.Insert items carrying their attributes (None when none)."""
        from loro_c.events import TextDelta
        return [TextDelta.Insert(t, a if a else None) for t, a in self._runs()]

    def get_richtext_value(self):
        """The text as [{"insert": str, "attributes": {...}}] (attributes left out when none)."""
        return [{"insert": t, "attributes": a} if a else {"insert": t} for t, a in self._runs()]

    def slice_delta(self, start_index, end_index, pos_type):
        """to_delta() of the text between two positions in `pos_type` ("unicode", "utf16",
        "bytes"/"utf8", or a PositionType)."""
        from loro_c.events import TextDelta
        cdef int unit = _unit_of(pos_type)
        cdef int64_t a, b, at = 0, n
        doc_acquire_read(hdoc(self))
        try:
            a = self._convert(start_index, unit)
            b = self._convert(end_index, unit)
            if a > b:
                raise OutOfBoundsError(f"slice {a}..{b} is out of bounds")
            runs = text_delta_runs(hdoc(self), self.idx)
        finally:
            doc_release(hdoc(self))
        out = []
        for t, attrs in runs:
            n = builtins_len(t)
            if at + n > a and at < b:
                out.append(TextDelta.Insert(t[max(a - at, 0):min(b - at, n)], attrs if attrs else None))
            at += n
        return out

    cdef int _check_delta(self, list delta, object TextDelta) except -1:
        """Refuse a delta that would fail part way (a wrong item, a range past the end, a
        retain of nothing with attributes, a value that is no LoroValue) before it edits
        anything, so that a failed apply_delta leaves the text as it was."""
        cdef int64_t index = 0, n, length = hdoc(self).seq.char_len(self.tree())
        for item in delta:
            if isinstance(item, TextDelta.Insert):
                if not isinstance(item.insert, str):
                    raise LoroTypeError(f"TextDelta.Insert needs a str, not {type(item.insert).__name__}")
                n = builtins_len(item.insert)
                length += n
            elif isinstance(item, TextDelta.Delete):
                n = as_index(item.delete, "length")
                if index + n > length:
                    raise OutOfBoundsError(f"delta range {index}..{index + n} is out of bounds (length {length})")
                length -= n
                continue
            elif isinstance(item, TextDelta.Retain):
                n = as_index(item.retain, "length")
                if index + n > length:
                    raise OutOfBoundsError(f"delta range {index}..{index + n} is out of bounds (length {length})")
                if n == 0 and item.attributes:
                    raise LoroValueError("Start must be less than end")
            else:
                raise LoroTypeError(f"not a TextDelta: {item!r}")
            for k, v in (item.attributes or {}).items():
                if not isinstance(k, str):
                    raise LoroTypeError("style keys must be str")
                check_value(v)
            index += n
        return 0

    def apply_delta(self, delta):
        """Apply Quill-style delta items (TextDelta.Insert/Retain/Delete) as local edits:
        inserts take exactly their attributes, retains with attributes mark (as loro)."""
        from loro_c.events import TextDelta
        from loro_c.hash_order import str_key_order
        cdef int64_t index = 0, n, length, e
        if not self.attached:
            raise LoroError("`apply_delta` on a detached text container is not supported")
        marks = []
        delta = list(delta)
        doc_acquire(hdoc(self))
        try:
            self._check_delta(delta, TextDelta)
            for item in delta:
                if isinstance(item, TextDelta.Insert):
                    n = builtins_len(item.insert)
                    if n == 0:
                        continue
                    length = hdoc(self).seq.char_len(self.tree())
                    if index > length:
                        raise OutOfBoundsError(f"delta position {index} is out of bounds (length {length})")
                    attrs = {k: check_value(v) for k, v in (item.attributes or {}).items()}
                    if hdoc(self).seq.nodes[hdoc(self).seq.roots[self.tree()]].lens.anchors:
                        e = text_insert_entity(hdoc(self), self.tree(), index)
                        current = text_styles_at(hdoc(self), self.tree(), e)
                    else:
                        current = {}
                    pending = {}
                    for k, v in current.items():
                        if k not in attrs or attrs[k] != v:
                            pending[k] = attrs.get(k)
                    for k, v in attrs.items():
                        if k not in current:
                            pending[k] = v
                    local_text_insert(hdoc(self), self.idx, index, item.insert)
                    marks.append((index, index + n, pending))
                    index += n
                elif isinstance(item, TextDelta.Delete):
                    local_seq_delete(hdoc(self), self.idx, index, as_index(item.delete, "length"))
                elif isinstance(item, TextDelta.Retain):
                    n = as_index(item.retain, "length")
                    length = hdoc(self).seq.char_len(self.tree())
                    if index + n > length:
                        raise OutOfBoundsError(f"delta range {index}..{index + n} is out of bounds (length {length})")
                    if item.attributes:
                        marks.append((index, index + n,
                                      {k: check_value(v) for k, v in item.attributes.items()}))
                    index += n
                else:
                    raise LoroTypeError(f"not a TextDelta: {item!r}")
            length = hdoc(self).seq.char_len(self.tree())
            for a, b, attrs in marks:
                if a >= length:
                    local_text_insert(hdoc(self), self.idx, length, "\n" * (a - length + 1))
                    length = a
                if a >= b:
                    raise LoroValueError("Start must be less than end")
                # loro marks a range's keys in the order its hash map of them yields
                for k in str_key_order(attrs):
                    local_text_mark(hdoc(self), self.idx, a, b, k, attrs[k])
        finally:
            doc_release(hdoc(self))


cdef enum:
    UNIT_ENTITY = -2     # (_pos_unit: convert_pos turns no other unit into it)

_U64_END = 1 << 64
from loro_c.richtext import PositionType as _PT


cdef int _pos_unit(object pos) except -3:
    """convert_pos's unit of `pos`: a PositionType (found by identity: an Enum member's
    hash is a Python call) or its value."""
    if pos is _PT.Utf16:
        return UNIT_UTF16
    if pos is _PT.Unicode or pos is _PT.Event:
        return UNIT_UNICODE
    if pos is _PT.Bytes:
        return UNIT_UTF8
    if pos is _PT.Entity:
        return UNIT_ENTITY
    if type(pos) is str and pos == "entity":
        return UNIT_ENTITY
    return _unit_of(pos)


cdef int _unit_of(object pos_type) except -1:
    u = _UNITS.get(pos_type)
    if u is None:
        name = str(getattr(pos_type, "value", pos_type)).lower()
        u = _UNITS.get(name)
        if u is None:
            if name == "event":
                return UNIT_UNICODE
            raise LoroValueError(f"unsupported position type {pos_type!r}")
    return u


cdef class LoroList(_Handle):
    """A list of Loro values and child containers."""

    def __init__(self):
        self._init_detached(KIND_LIST)

    @staticmethod
    def _wrap(LoroDoc doc, uint32_t c):
        cdef LoroList h = LoroList.__new__(LoroList)
        h._doc = doc
        h.idx = c
        h.attached = True
        return h

    def get_value(self):
        """The value, with child containers as ContainerIDs."""
        cdef LoroDoc d = hdoc(self)
        # (a snapshot load builds its lists when it registers its containers: the maps it
        # keeps encoded, a list's records, stay so)
        doc_acquire_handles(d)
        try:
            return value_of(d, self.idx, False)
        finally:
            doc_release(d)

    cdef int64_t length(self):
        return hdoc(self).seq.visible_len(hdoc(self).ctree[self.idx])

    def get_cursor(self, pos, side):
        """A Cursor at `pos` (a stable position that follows edits; see
        LoroDoc.get_cursor_pos), or None for a detached container."""
        return cursor_of(self, pos, side)

    cdef int64_t locked_length(self) except -1:
        cdef int64_t n
        # (the list's own sequence: a snapshot load builds it when it registers its
        # containers, and its child maps stay encoded, as for get_value)
        doc_acquire_handles(hdoc(self))
        n = self.length()
        doc_release(hdoc(self))
        return n

    def insert(self, pos, v):
        """Insert value `v` at `pos`."""
        cdef int64_t p = as_index(pos, "position")
        items = [check_value(v)]
        doc_acquire(hdoc(self))
        try:
            local_list_insert(hdoc(self), self.idx, p, items)
        finally:
            doc_release(hdoc(self))

    def push(self, v):
        """Append value `v`."""
        items = [check_value(v)]
        doc_acquire(hdoc(self))
        try:
            local_list_insert(hdoc(self), self.idx, self.length(), items)
        finally:
            doc_release(hdoc(self))

    def delete(self, pos, len):
        """Delete `len` items starting at `pos`."""
        cdef int64_t p = as_index(pos, "position"), n = as_index(len, "length")
        doc_acquire(hdoc(self))
        try:
            local_seq_delete(hdoc(self), self.idx, p, n)
        finally:
            doc_release(hdoc(self))

    def get(self, index):
        """The item at `index` as ValueOrContainer, or None when out of range."""
        cdef int64_t i = as_index(index, "index") if index >= 0 else -1
        doc_acquire_handles(hdoc(self))     # (as locked_length; a child map named registers alone)
        try:
            if i < 0 or i >= self.length():
                return None
            slot = visible_content(hdoc(self).seq, hdoc(self).ctree[self.idx], i)
            return wrap_value(hdoc(self), hdoc(self).log.values[slot])
        finally:
            doc_release(hdoc(self))

    def for_each(self, f):
        """Call `f(item)` for each item (a ValueOrContainer), in order. The items are read
        first, so `f` may edit the document."""
        if not callable(f):
            raise LoroTypeError("for_each takes a callable")
        doc_acquire(hdoc(self))
        try:
            values = hdoc(self).log.values
            items = [wrap_value(hdoc(self), values[s]) for s in list_slots(hdoc(self), self.idx)]
        finally:
            doc_release(hdoc(self))
        for item in items:
            f(item)

    def get_id_at(self, pos):
        """The ID of the op that inserted the item at `pos`, or None when out of range."""
        from loro_c._doc import cursor_atom_at
        from loro_c._version import ID
        if not isinstance(pos, int) or isinstance(pos, bool):
            raise LoroTypeError(f"pos must be an int, not {type(pos).__name__}")
        if pos < 0:
            raise OverflowError("can't convert negative int to unsigned")     # as loro
        _, atom = cursor_atom_at(hdoc(self), self.idx, min(pos, 1 << 62), True)
        return None if atom is None else ID(atom[0], atom[1])

    def pop(self):
        """Remove the last item and return its value (None when empty)."""
        cdef int64_t n
        doc_acquire(hdoc(self))
        try:
            n = self.length()
            if n == 0:
                return None
            slot = visible_content(hdoc(self).seq, hdoc(self).ctree[self.idx], n - 1)
            v = resolve_value(hdoc(self), hdoc(self).log.values[slot], False)
            local_seq_delete(hdoc(self), self.idx, n - 1, 1)
            return v
        finally:
            doc_release(hdoc(self))

    def clear(self):
        """Delete every item."""
        doc_acquire(hdoc(self))
        try:
            local_seq_delete(hdoc(self), self.idx, 0, self.length())
        finally:
            doc_release(hdoc(self))

    def to_vec(self):
        """The items, child containers as ContainerIDs."""
        doc_acquire_handles(hdoc(self))     # (as get_value)
        try:
            return value_of(hdoc(self), self.idx, False)
        finally:
            doc_release(hdoc(self))

    def get_deep_value(self):
        """The value with child containers expanded."""
        # (the maps a snapshot load left encoded are read from their entries, as by the
        # document's get_deep_value)
        return lazy_deep_value(hdoc(self), self.idx)

    cdef object _insert_container(self, object pos, object child):
        """Insert a child container at `pos` (None: at the end) and return its handle."""
        cdef int kind = kind_of_handle(child)
        cdef int64_t p = as_index(pos, "position") if pos is not None else -1
        cdef uint32_t c
        content = detached_content(child)
        doc_acquire(hdoc(self))
        try:
            c = local_list_insert_container(hdoc(self), self.idx, self.length() if p < 0 else p, kind)
            if content is not None:
                copy_content(hdoc(self), c, content)
            return wrap(hdoc(self), c, kind)
        finally:
            doc_release(hdoc(self))

    def insert_container(self, pos, child):
        """Insert a new child container of `child`'s kind at `pos` and return its handle."""
        return self._insert_container(pos, child)

    def push_container(self, child):
        """Append a new child container and return its handle."""
        return self._insert_container(None, child)

    def __len__(self):
        return self.locked_length()

    def is_empty(self):
        """Whether the list is empty."""
        return self.locked_length() == 0

    # -- Python protocols, as loro gives them: non-negative int indices (a negative one is a
    # type error there) and slices with Python's list semantics

    def __getitem__(self, index):
        cdef int64_t n, i
        if isinstance(index, slice):
            doc_acquire_handles(hdoc(self))     # (as get)
            try:
                n = self.length()
                got = range(*index.indices(n))
                if builtins_len(got) > 64:
                    # (children by the thousand: registered at once, not one lookup each)
                    thin_register_all(hdoc(self))
                return [wrap_value(hdoc(self), hdoc(self).log.values[
                            visible_content(hdoc(self).seq, hdoc(self).ctree[self.idx], i)])
                        for i in got]
            finally:
                doc_release(hdoc(self))
        k = list_index(index)
        doc_acquire_handles(hdoc(self))     # (as get)
        try:
            if k >= self.length():
                raise OutOfBoundsError("index out of range")
            slot = visible_content(hdoc(self).seq, hdoc(self).ctree[self.idx], k)
            return wrap_value(hdoc(self), hdoc(self).log.values[slot])
        finally:
            doc_release(hdoc(self))

    def __setitem__(self, index, value):
        cdef int64_t n, a, b, step, i
        if isinstance(index, slice):
            try:
                items = list(value)
            except TypeError:
                raise LoroTypeError("can only assign an iterable to a slice") from None
            items = [check_value(v) for v in items]
            doc_acquire(hdoc(self))
            try:
                n = self.length()
                a, b, step = index.indices(n)
                if step == 1:
                    if b > a:
                        local_seq_delete(hdoc(self), self.idx, a, b - a)
                    if items:
                        local_list_insert(hdoc(self), self.idx, a, items)
                    return
                targets = range(a, b, step)
                if builtins_len(targets) != builtins_len(items):
                    raise LoroValueError(f"attempt to assign sequence of size {builtins_len(items)} "
                                         f"to extended slice of size {builtins_len(targets)}")
                for i, v in zip(targets, items):
                    local_seq_delete(hdoc(self), self.idx, i, 1)
                    local_list_insert(hdoc(self), self.idx, i, [v])
            finally:
                doc_release(hdoc(self))
            return
        k = list_index(index)
        items = [check_value(value)]
        doc_acquire(hdoc(self))
        try:
            n = self.length()
            if k >= n:
                raise OutOfBoundsError(f"index {k} is out of bounds (length {n})")
            local_seq_delete(hdoc(self), self.idx, k, 1)
            local_list_insert(hdoc(self), self.idx, k, items)
        finally:
            doc_release(hdoc(self))

    def __delitem__(self, index):
        cdef int64_t n, a, b, step
        if isinstance(index, slice):
            doc_acquire(hdoc(self))
            try:
                n = self.length()
                a, b, step = index.indices(n)
                if step == 1:
                    if b > a:
                        local_seq_delete(hdoc(self), self.idx, a, b - a)
                    return
                # from the back, so earlier deletions do not shift later indices
                for i in sorted(range(a, b, step), reverse=True):
                    local_seq_delete(hdoc(self), self.idx, i, 1)
            finally:
                doc_release(hdoc(self))
            return
        k = list_index(index)
        doc_acquire(hdoc(self))
        try:
            n = self.length()
            if k >= n:
                raise OutOfBoundsError(f"index {k} is out of bounds (length {n})")
            local_seq_delete(hdoc(self), self.idx, k, 1)
        finally:
            doc_release(hdoc(self))


cdef class LoroMap(_Handle):
    """A map from str keys to Loro values and child containers (last writer wins)."""

    def __init__(self):
        self._init_detached(KIND_MAP)

    @staticmethod
    def _wrap(LoroDoc doc, uint32_t c):
        cdef LoroMap h = LoroMap.__new__(LoroMap)
        h._doc = doc
        h.idx = c
        h.attached = True
        return h

    def _live(self):
        doc_acquire_read(hdoc(self))
        try:
            return map_live(hdoc(self), self.idx)
        finally:
            doc_release(hdoc(self))

    def insert(self, key, v):
        """Set `key` to value `v` (nothing is written when it already holds an equal value)."""
        key = as_str(key, "map keys")
        value = check_value(v)
        doc_acquire(hdoc(self))
        try:
            local_map_set(hdoc(self), self.idx, key, value)
        finally:
            doc_release(hdoc(self))

    def _insert_always(self, key, v):
        """Set `key` to `v` even when it holds an equal value (apply_diff and undo write
        every key of a diff, as loro's do)."""
        key = as_str(key, "map keys")
        value = check_value(v)
        doc_acquire(hdoc(self))
        try:
            local_map_set(hdoc(self), self.idx, key, value, False)
        finally:
            doc_release(hdoc(self))

    def delete(self, key):
        """Delete `key`."""
        key = as_str(key, "map keys")
        doc_acquire(hdoc(self))
        try:
            local_map_delete(hdoc(self), self.idx, key)
        finally:
            doc_release(hdoc(self))

    def clear(self):
        """Delete every key. Like loro, this writes a delete for every key the map has ever
        held (deleted ones too), in sorted order."""
        doc_acquire(hdoc(self))
        try:
            for k in map_all_keys(hdoc(self), self.idx):
                local_map_delete(hdoc(self), self.idx, k)
        finally:
            doc_release(hdoc(self))

    def get_value(self):
        """The value, with child containers as ContainerIDs."""
        cdef LoroDoc d = hdoc(self)
        # (only this map's state: while a snapshot load keeps it encoded, its keys decoded
        # once and kept, the map left unbuilt and its children unregistered)
        cdef dict live = doc_acquire_map_keys(d, self.idx, True)
        try:
            if live is not None:
                return sorted_live_value(live)
            return value_of(d, self.idx, False)
        finally:
            doc_release(d)

    def get(self, key):
        """The entry for `key` as ValueOrContainer, or None."""
        key = as_str(key, "map keys")
        return self._get(key)

    cdef object _get(self, str key):
        cdef int64_t slot
        cdef LoroDoc d = hdoc(self)
        cdef dict live
        # (only this map's state, this key's value alone while a snapshot load keeps it
        # encoded: a child is a handle)
        cdef int got = doc_acquire_map_key(d, self.idx, key)
        try:
            v = d.lazy_got
            d.lazy_got = None
            if got == 1:
                return None
            if got == 2:
                return wrap_value(d, v)
            live = <dict>v
            if live is not None:
                if key not in live:
                    return None
                return wrap_value(d, live[key])
            slot = map_slot(hdoc(self), self.idx, key)
            if slot < 0:
                return None
            return wrap_value(hdoc(self), map_public_value(hdoc(self), self.idx, key,
                                                          hdoc(self).log.values[slot]))
        finally:
            doc_release(hdoc(self))

    def for_each(self, f):
        """Call `f(key, value)` for each entry (the value a ValueOrContainer), in key order.
        The entries are read first, so `f` may edit the document."""
        if not callable(f):
            raise LoroTypeError("for_each takes a callable")
        doc_acquire(hdoc(self))
        try:
            values = hdoc(self).log.values
            items = [(k, wrap_value(hdoc(self), map_public_value(hdoc(self), self.idx, k, values[s])))
                     for k, s in map_live(hdoc(self), self.idx)]
        finally:
            doc_release(hdoc(self))
        for k, v in items:
            f(k, v)

    def get_last_editor(self, key):
        """The peer id of the write that decides `key` (a delete too), or None when the key
        was never written at the state's version."""
        key = as_str(key, "map keys")
        cdef lc_map_entry *e
        cdef LoroDoc d = hdoc(self)
        doc_acquire_read(d)
        try:
            found = d.log.key_find(key)
            if found < 0:
                return None
            e = lc_map_find(&d.maps[d.ctree[self.idx]], <uint32_t>found)
            if e == NULL or e.peer == LC_NO_KEY:
                return None
            return hdoc(self).log.peer_ids[e.peer]
        finally:
            doc_release(hdoc(self))

    def keys(self):
        """Keys present in the map."""
        return [k for k, _ in self._live()]

    def values(self):
        """Entries as ValueOrContainer."""
        doc_acquire_read(hdoc(self))
        try:
            values = hdoc(self).log.values
            return [wrap_value(hdoc(self), map_public_value(hdoc(self), self.idx, k, values[s]))
                    for k, s in map_live(hdoc(self), self.idx)]
        finally:
            doc_release(hdoc(self))

    def items(self):
        """(key, ValueOrContainer) pairs."""
        doc_acquire_read(hdoc(self))
        try:
            values = hdoc(self).log.values
            return [(k, wrap_value(hdoc(self), map_public_value(hdoc(self), self.idx, k, values[s])))
                    for k, s in map_live(hdoc(self), self.idx)]
        finally:
            doc_release(hdoc(self))

    def insert_container(self, key, child):
        """Set `key` to a new child container of `child`'s kind and return its handle."""
        key = as_str(key, "map keys")
        cdef int kind = kind_of_handle(child)
        cdef uint32_t c
        content = detached_content(child)
        doc_acquire(hdoc(self))
        try:
            c = local_map_set_container(hdoc(self), self.idx, key, kind)
            if content is not None:
                copy_content(hdoc(self), c, content)
            return wrap(hdoc(self), c, kind)
        finally:
            doc_release(hdoc(self))

    def get_or_create_container(self, key, child):
        """The child container at `key`, created when absent; raises ContainerMismatchError
        when `key` holds something else."""
        key = as_str(key, "map keys")
        cdef int kind = kind_of_handle(child)
        cdef int64_t slot
        cdef uint32_t c
        content = detached_content(child)
        doc_acquire(hdoc(self))
        try:
            slot = map_slot(hdoc(self), self.idx, key)
            if slot >= 0:
                v = map_public_value(hdoc(self), self.idx, key, hdoc(self).log.values[slot])
                if isinstance(v, _types.ContainerID):
                    c = hdoc(self).cid_index[v]
                    if hdoc(self).ckind[c] == kind:
                        return wrap(hdoc(self), c, kind)
                raise ContainerMismatchError(f"key {key!r} holds {v!r}, not a {type(child).__name__}")
            c = local_map_set_container(hdoc(self), self.idx, key, kind)
            if content is not None:
                copy_content(hdoc(self), c, content)
            return wrap(hdoc(self), c, kind)
        finally:
            doc_release(hdoc(self))

    cdef object _ensure_mergeable(self, str key, int kind):
        # loro_c/mergeable.py: the child's id comes from (this map, key, kind), so peers that
        # ensure the same child concurrently edit one container
        global _mergeable
        if not self.attached:
            raise LoroError("The given method (ensure_mergeable_container) is not allowed when "
                            "the container is detached. You should insert the container to "
                            "the doc first.")
        if _mergeable is None:
            from loro_c import mergeable
            _mergeable = mergeable
        cdef int64_t slot
        cdef uint32_t c
        doc_acquire(hdoc(self))
        try:
            parent = hdoc(self).cids[self.idx]
            marker = _mergeable.marker(parent, key, kind)
            slot = map_slot(hdoc(self), self.idx, key)
            current = None if slot < 0 else hdoc(self).log.values[slot]
            if current is not None and _mergeable.marker_kind(parent, key, current) is None:
                raise LoroValueError(
                    f"Cannot create a mergeable {_KIND_NAMES[kind]} at key {key!r}: the key "
                    f"already holds a non-mergeable value")
            if current != marker:
                # another kind's marker is a deliberate change of kind, as in loro
                local_map_set(hdoc(self), self.idx, key, marker)
            c = container_index(hdoc(self), _mergeable.child_cid(parent, key, _container_type(kind)),
                                kind)
            return wrap(hdoc(self), c, kind)
        finally:
            doc_release(hdoc(self))

    def ensure_mergeable_map(self, key):
        """The mergeable child Map at `key`: every peer that ensures it edits the same map
        (its id comes from this map, the key and the kind; the key holds a marker). Raises
        LoroValueError when `key` holds any other value; a child of another kind at `key`
        is hidden (kept, and shown again when ensured again)."""
        key = as_str(key, "map keys")
        return self._ensure_mergeable(key, KIND_MAP)

    def ensure_mergeable_list(self, key):
        """The mergeable child List at `key` (see ensure_mergeable_map)."""
        key = as_str(key, "map keys")
        return self._ensure_mergeable(key, KIND_LIST)

    def ensure_mergeable_text(self, key):
        """The mergeable child Text at `key` (see ensure_mergeable_map)."""
        key = as_str(key, "map keys")
        return self._ensure_mergeable(key, KIND_TEXT)

    def ensure_mergeable_tree(self, key):
        """The mergeable child Tree at `key` (see ensure_mergeable_map)."""
        key = as_str(key, "map keys")
        return self._ensure_mergeable(key, KIND_TREE)

    def ensure_mergeable_movable_list(self, key):
        """The mergeable child MovableList at `key` (see ensure_mergeable_map)."""
        key = as_str(key, "map keys")
        return self._ensure_mergeable(key, KIND_MOVABLE_LIST)

    def ensure_mergeable_counter(self, key):
        """The mergeable child Counter at `key` (see ensure_mergeable_map)."""
        key = as_str(key, "map keys")
        return self._ensure_mergeable(key, KIND_COUNTER)

    def __contains__(self, key):
        cdef LoroDoc d = hdoc(self)
        cdef int got
        key = as_str(key, "map keys")
        # (only this map's state, as get: while a snapshot load keeps it encoded, the key
        # looked up in its entry)
        got = doc_acquire_map_key(d, self.idx, key)
        try:
            v = d.lazy_got
            d.lazy_got = None
            if got != 0:
                return got == 2
            if v is not None:
                return key in <dict>v
            return map_slot(d, self.idx, key) >= 0
        finally:
            doc_release(d)

    cdef int64_t locked_len(self) except -1:
        # under the lock: an importing thread writes map state with the GIL released
        cdef int64_t n
        cdef LoroDoc d = hdoc(self)
        # (only this map's state: while a snapshot load keeps it encoded, its keys)
        cdef dict live = doc_acquire_map_keys(d, self.idx)
        try:
            n = len(live) if live is not None else map_len(d, self.idx)
        finally:
            doc_release(d)
        return n

    def __len__(self):
        return self.locked_len()

    def is_empty(self):
        """Whether the map has no keys."""
        return self.locked_len() == 0

    def __getitem__(self, key):
        key = as_str(key, "map keys")
        v = self._get(key)
        if v is None:
            raise KeyNotFoundError(f"Key {key} not found")
        return v

    def __setitem__(self, key, value):
        key = as_str(key, "map keys")
        v = check_value(value)
        doc_acquire(hdoc(self))
        try:
            local_map_set(hdoc(self), self.idx, key, v)
        finally:
            doc_release(hdoc(self))

    def __delitem__(self, key):
        key = as_str(key, "map keys")
        doc_acquire(hdoc(self))
        try:
            if map_slot(hdoc(self), self.idx, key) < 0:
                raise KeyNotFoundError(f"Key {key} not found")
            local_map_delete(hdoc(self), self.idx, key)
        finally:
            doc_release(hdoc(self))

    def __iter__(self):
        # loro's map is not iterable (keys(), values(), items() are the way)
        raise LoroTypeError("'LoroMap' object is not iterable")


cdef double counter_operand(object other) except? -1.0:
    if isinstance(other, LoroCounter):
        return (<LoroCounter>other)._value()
    if isinstance(other, (int, float)):
        return float(other)
    raise LoroTypeError("expected a number or LoroCounter")


cdef class LoroCounter(_Handle):
    """A counter: the sum of every peer's increments (f64)."""

    def __init__(self):
        self._init_detached(KIND_COUNTER)

    @staticmethod
    def _wrap(LoroDoc doc, uint32_t c):
        cdef LoroCounter h = LoroCounter.__new__(LoroCounter)
        h._doc = doc
        h.idx = c
        h.attached = True
        return h

    cdef int _add(self, object value, double sign) except -1:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LoroTypeError(f"a counter takes a number, not {type(value).__name__}")
        cdef double d = sign * float(value)
        doc_acquire(hdoc(self))
        try:
            local_counter_add(hdoc(self), self.idx, d)
        finally:
            doc_release(hdoc(self))
        return 0

    def increment(self, value):
        """Add `value` (int or float)."""
        self._add(value, 1.0)

    def decrement(self, value):
        """Subtract `value` (int or float)."""
        self._add(value, -1.0)

    cdef double _value(self) except? -1:
        cdef double v
        doc_acquire_read(hdoc(self))
        v = hdoc(self).ccounter[self.idx]
        doc_release(hdoc(self))
        return v

    @property
    def value(self):
        """The current sum."""
        return self._value()

    def __float__(self):
        return self._value()

    def __int__(self):
        return int(self._value())

    # arithmetic gives plain floats and never edits the counter (loro has no in-place
    # operators, so `c += 1` rebinds `c` to a float)

    def __add__(self, other):
        return self._value() + counter_operand(other)

    def __radd__(self, other):
        return counter_operand(other) + self._value()

    def __sub__(self, other):
        return self._value() - counter_operand(other)

    def __rsub__(self, other):
        return counter_operand(other) - self._value()

    def __neg__(self):
        return -self._value()

    def __abs__(self):
        return abs(self._value())


include "handles/movable_list.pxi"
include "handles/tree.pxi"
