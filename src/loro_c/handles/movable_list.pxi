# LoroMovableList: included by _containers.pyx. A list whose items can be moved and set in
# place (state/movable_list.pxi); positions are user positions.


cdef class LoroMovableList(_Handle):
    """A list of Loro values and child containers whose items can be moved (`mov`) and
    replaced (`set`) without deleting them; concurrent moves and sets resolve by last
    writer wins."""

    def __init__(self):
        self._init_detached(KIND_MOVABLE_LIST)

    @staticmethod
    def _wrap(LoroDoc doc, uint32_t c):
        cdef LoroMovableList h = LoroMovableList.__new__(LoroMovableList)
        h._doc = doc
        h.idx = c
        h.attached = True
        return h

    cdef int64_t locked_length(self) except -1:
        # (reads of the list's own state take doc_acquire_handles: a snapshot's load builds
        # the list's items and elements from its state when it registers its containers, so
        # no read needs its history nor the maps it left encoded; a child map an item names
        # registers alone when read, wrap_value)
        doc_acquire_handles(hdoc(self))
        try:
            return ml_len(hdoc(self), self.idx)
        finally:
            doc_release(hdoc(self))

    cdef object item(self, int64_t i):
        """The item at `i` as ValueOrContainer, or None (the lock is held)."""
        cdef int64_t slot = ml_value_slot_at(hdoc(self), self.idx, i)
        if slot < 0:
            return None
        return wrap_value(hdoc(self), hdoc(self).log.values[slot])

    def insert(self, pos, v):
        """Insert value `v` at `pos`."""
        cdef int64_t p = as_index(pos, "position")
        items = [check_value(v)]
        doc_acquire(hdoc(self))
        try:
            local_ml_insert(hdoc(self), self.idx, p, items)
        finally:
            doc_release(hdoc(self))

    def push(self, v):
        """Append value `v`."""
        items = [check_value(v)]
        doc_acquire(hdoc(self))
        try:
            local_ml_insert(hdoc(self), self.idx, ml_len(hdoc(self), self.idx), items)
        finally:
            doc_release(hdoc(self))

    def delete(self, pos, len):
        """Delete `len` items starting at `pos`."""
        cdef int64_t p = as_index(pos, "position"), n = as_index(len, "length")
        doc_acquire(hdoc(self))
        try:
            local_ml_delete(hdoc(self), self.idx, p, n)
        finally:
            doc_release(hdoc(self))

    def mov(self, from_, to):
        """Move the item at `from_` so that it ends up at `to`."""
        cdef int64_t a = as_index(from_, "position"), b = as_index(to, "position")
        doc_acquire(hdoc(self))
        try:
            local_ml_move(hdoc(self), self.idx, a, b)
        finally:
            doc_release(hdoc(self))

    def set(self, pos, value):
        """Replace the value of the item at `pos` (it keeps its identity and place)."""
        cdef int64_t p = as_index(pos, "position")
        v = check_value(value)
        doc_acquire(hdoc(self))
        try:
            local_ml_set(hdoc(self), self.idx, p, v)
        finally:
            doc_release(hdoc(self))

    def get(self, index):
        """The item at `index` as ValueOrContainer, or None when out of range."""
        cdef int64_t i = as_index(index, "index") if index >= 0 else -1
        if i < 0:
            raise OverflowError("can't convert negative int to unsigned")     # as loro
        doc_acquire_handles(hdoc(self))     # (as locked_length)
        try:
            return self.item(i)
        finally:
            doc_release(hdoc(self))

    def pop(self):
        """Remove the last item and return it as ValueOrContainer (None when empty)."""
        cdef int64_t n
        doc_acquire(hdoc(self))
        try:
            n = ml_len(hdoc(self), self.idx)
            if n == 0:
                return None
            v = self.item(n - 1)
            local_ml_delete(hdoc(self), self.idx, n - 1, 1)
            return v
        finally:
            doc_release(hdoc(self))

    def clear(self):
        """Delete every item."""
        doc_acquire(hdoc(self))
        try:
            local_ml_delete(hdoc(self), self.idx, 0, ml_len(hdoc(self), self.idx))
        finally:
            doc_release(hdoc(self))

    def to_vec(self):
        """The items, child containers as ContainerIDs."""
        doc_acquire_handles(hdoc(self))     # (as locked_length)
        try:
            return value_of(hdoc(self), self.idx, False)
        finally:
            doc_release(hdoc(self))

    def get_value(self):
        """The value, with child containers as ContainerIDs."""
        return self.to_vec()

    def get_deep_value(self):
        """The value with child containers expanded."""
        # (the maps a snapshot load left encoded are read from their entries, as by the
        # document's get_deep_value)
        return lazy_deep_value(hdoc(self), self.idx)

    def for_each(self, f):
        """Call `f(item)` for each item (a ValueOrContainer), in order. The items are read
        first, so `f` may edit the document."""
        if not callable(f):
            raise LoroTypeError("for_each takes a callable")
        doc_acquire(hdoc(self))
        try:
            values = hdoc(self).log.values
            items = [wrap_value(hdoc(self), values[s]) for s in ml_slots(hdoc(self), self.idx)]
        finally:
            doc_release(hdoc(self))
        for item in items:
            f(item)

    cdef object _put_container(self, object pos, object child, bint replace):
        """Insert (or, `replace`, set at `pos`) a new child container; its handle."""
        cdef int kind = kind_of_handle(child)
        cdef int64_t p = as_index(pos, "position") if pos is not None else -1
        cdef uint32_t c
        content = detached_content(child)
        doc_acquire(hdoc(self))
        try:
            if replace:
                c = local_ml_set_container(hdoc(self), self.idx, p, kind)
            else:
                c = local_ml_insert_container(hdoc(self), self.idx,
                                              ml_len(hdoc(self), self.idx) if p < 0 else p, kind)
            if content is not None:
                copy_content(hdoc(self), c, content)
            return wrap(hdoc(self), c, kind)
        finally:
            doc_release(hdoc(self))

    def insert_container(self, pos, child):
        """Insert a new child container of `child`'s kind at `pos` and return its handle."""
        return self._put_container(pos, child, False)

    def push_container(self, child):
        """Append a new child container and return its handle."""
        return self._put_container(None, child, False)

    def set_container(self, pos, child):
        """Replace the value at `pos` by a new child container and return its handle."""
        return self._put_container(pos, child, True)

    cdef object peer_at(self, object pos, int which):
        if not isinstance(pos, int) or isinstance(pos, bool):
            raise LoroTypeError(f"pos must be an int, not {type(pos).__name__}")
        if pos < 0:
            raise OverflowError("can't convert negative int to unsigned")     # as loro
        if not self.attached:
            return None
        # (the winners' peers are the state's: as locked_length)
        doc_acquire_handles(hdoc(self))
        try:
            peers = ml_item_peers(hdoc(self), self.idx, min(pos, 1 << 62))
        finally:
            doc_release(hdoc(self))
        return None if peers is None else peers[which]

    def get_creator_at(self, pos):
        """The peer that inserted the item at `pos` (None when out of range)."""
        return self.peer_at(pos, 0)

    def get_last_mover_at(self, pos):
        """The peer that last moved the item at `pos` (its creator if never moved)."""
        return self.peer_at(pos, 1)

    def get_last_editor_at(self, pos):
        """The peer that last set the item at `pos` (its creator if never set)."""
        return self.peer_at(pos, 2)

    def get_cursor(self, pos, side):
        """A Cursor at `pos` (see LoroDoc.get_cursor_pos), or None for a detached list."""
        cdef int64_t p = as_index(pos, "position")
        from loro_c import cursor as _cursor
        _cursor.check_side(side)
        if not self.attached:
            return None
        return _cursor.movable_cursor_at(hdoc(self), self.idx, self.id, p, side)

    def __len__(self):
        return self.locked_length()

    def is_empty(self):
        """Whether the list is empty."""
        return self.locked_length() == 0

    # -- Python protocols, as loro gives them: non-negative int indices (a negative one is a
    # type error there), slices with Python's list semantics; `l[i] = v` is a set

    def __getitem__(self, index):
        if isinstance(index, slice):
            doc_acquire_handles(hdoc(self))     # (as locked_length)
            try:
                values = hdoc(self).log.values
                slots = ml_slots(hdoc(self), self.idx)
                got = range(*index.indices(builtins_len(slots)))
                if builtins_len(got) > 64:
                    # (children by the thousand: registered at once, not one lookup each)
                    thin_register_all(hdoc(self))
                return [wrap_value(hdoc(self), values[slots[i]]) for i in got]
            finally:
                doc_release(hdoc(self))
        k = list_index(index)
        doc_acquire_handles(hdoc(self))     # (as locked_length)
        try:
            v = self.item(min(k, 1 << 62))
            if v is None:
                raise OutOfBoundsError("index out of range")
            return v
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
                n = ml_len(hdoc(self), self.idx)
                a, b, step = index.indices(n)
                if step == 1:
                    if b > a:
                        local_ml_delete(hdoc(self), self.idx, a, b - a)
                    if items:
                        local_ml_insert(hdoc(self), self.idx, a, items)
                    return
                targets = range(a, b, step)
                if builtins_len(targets) != builtins_len(items):
                    raise LoroValueError(f"attempt to assign sequence of size {builtins_len(items)} "
                                         f"to extended slice of size {builtins_len(targets)}")
                for i, v in zip(targets, items):
                    local_ml_set(hdoc(self), self.idx, i, v)
            finally:
                doc_release(hdoc(self))
            return
        k = list_index(index)
        v = check_value(value)
        doc_acquire(hdoc(self))
        try:
            local_ml_set(hdoc(self), self.idx, min(k, 1 << 62), v)
        finally:
            doc_release(hdoc(self))

    def __delitem__(self, index):
        cdef int64_t n, a, b, step
        if isinstance(index, slice):
            doc_acquire(hdoc(self))
            try:
                n = ml_len(hdoc(self), self.idx)
                a, b, step = index.indices(n)
                if step == 1:
                    if b > a:
                        local_ml_delete(hdoc(self), self.idx, a, b - a)
                    return
                for i in sorted(range(a, b, step), reverse=True):
                    local_ml_delete(hdoc(self), self.idx, i, 1)
            finally:
                doc_release(hdoc(self))
            return
        k = list_index(index)
        doc_acquire(hdoc(self))
        try:
            local_ml_delete(hdoc(self), self.idx, min(k, 1 << 62), 1)
        finally:
            doc_release(hdoc(self))
