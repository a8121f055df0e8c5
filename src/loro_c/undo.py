"""UndoManager: undo and redo of this peer's own edits, in a document others edit too.

How it works (as loro's does, so an undo gives the same document as loro's):

* Each local commit of the document's peer becomes an item on the undo stack: the counter
  span of its ops, and the metadata `on_push` returns. Commits merge into one item inside
  `merge_interval` ms or between `group_start` and `group_end`. Commits whose origin starts
  with an excluded prefix are not recorded; they count as remote edits.
* The stack is split into rows. Each row keeps the composed diff of the remote edits made
  after its items (imports, excluded commits). An item pushed after remote edits starts a
  new row, unless a group is open and the remote edits touched none of its containers.
* Undo pops the top item and computes the diff that reverts its ops: for each piece of the
  span whose deps lie outside it, the diff from the piece's last op back to its deps
  (`LoroDoc.diff`). Later pieces are composed in; the result is transformed over the row's
  remote edits (those win at equal positions) and applied as new local ops, committed with
  origin "undo". The row's remote diff is in turn transformed over the undo, so older items
  of the row are moved past it. The new ops become an item of the redo stack; redo is the
  same with the stacks swapped.
* A checkout clears both stacks, as does a change of the peer id.

Containers that an undo recreates (a deleted map entry holding a text, say) get new ids;
the manager remembers old -> new so that later undos of the old container edit the new one.
"""
import enum
import threading
import time
import weakref

from loro_c import delta_ot, diffs, undo_movable
from loro_c._types import CounterSpan
from loro_c._version import ID, Frontiers
from loro_c.cursor import AbsolutePosition, Cursor
from loro_c.errors import LoroError, LoroTypeError
from loro_c.events import DiffEvent, EventTriggerKind

__all__ = ["UndoManager", "UndoOrRedo", "UndoItemMeta", "CursorWithPos"]


class UndoOrRedo(enum.Enum):
    """Which stack an UndoManager callback is about."""
    Undo = "undo"
    Redo = "redo"

    def opposite(self):
        return UndoOrRedo.Redo if self is UndoOrRedo.Undo else UndoOrRedo.Undo


class CursorWithPos:
    """A cursor saved with an undo item and the position it had (`pos`, AbsolutePosition).
    Both are moved over the remote edits made since, so `on_pop` can restore a selection."""
    __slots__ = ("cursor", "pos")

    def __init__(self, cursor, pos):
        if not isinstance(cursor, Cursor):
            raise LoroTypeError(f"cursor must be a Cursor, not {type(cursor).__name__}")
        self.cursor = cursor
        self.pos = pos

    def __repr__(self):
        return f"CursorWithPos(cursor={self.cursor!r}, pos={self.pos!r})"


class UndoItemMeta:
    """What the application keeps with an undo item: any `value`, and `cursors`
    (CursorWithPos) that are moved over remote edits. `on_push` returns one; `on_pop`
    receives it."""
    __slots__ = ("value", "cursors")

    def __init__(self, value=None, cursors=None):
        self.value = value
        self.cursors = [] if cursors is None else [_cursor_with_pos(c) for c in cursors]

    def add_cursor(self, cursor):
        """Save `cursor`, taken just before the edits of the item, with its position then."""
        self.cursors.append(_cursor_with_pos(cursor))

    def set_value(self, value):
        self.value = value

    def __repr__(self):
        return f"UndoItemMeta(value={self.value!r}, cursors={self.cursors!r})"


def _cursor_with_pos(c):
    if isinstance(c, CursorWithPos):
        return c
    if isinstance(c, Cursor):
        return CursorWithPos(c, AbsolutePosition(c._origin_pos, c.side))
    raise LoroTypeError(f"expected a Cursor or CursorWithPos, not {type(c).__name__}")


def _as_meta(m):
    if m is None:
        return UndoItemMeta()
    if isinstance(m, UndoItemMeta):
        return m
    if isinstance(m, dict):
        return UndoItemMeta(m.get("value"), m.get("cursors"))
    raise LoroTypeError(f"on_push must return an UndoItemMeta, a dict or None, "
                        f"not {type(m).__name__}")


class _Item:
    __slots__ = ("start", "end", "meta")

    def __init__(self, start, end, meta):
        self.start = start
        self.end = end
        self.meta = meta


class _Row:
    __slots__ = ("items", "remote")

    def __init__(self, items=None):
        self.items = [] if items is None else items
        self.remote = delta_ot.Batch()      # remote edits made after these items


class _Stack:
    """The undo or the redo stack (see the module docstring for rows)."""
    __slots__ = ("rows", "size")

    def __init__(self):
        self.clear()

    def clear(self):
        self.rows = [_Row()]
        self.size = 0

    def top_meta(self):
        for row in reversed(self.rows):
            if row.items:
                return row.items[-1].meta
        return None

    def set_top_meta(self, meta):
        if self.rows[-1].items:
            self.rows[-1].items[-1].meta = meta

    def pop(self):
        """(item, its row's remote diff) or None. An emptied row stays until the next pop:
        the cursors of the popped item are moved over its remote diff."""
        rows = self.rows
        while not rows[-1].items and len(rows) > 1:
            row = rows.pop()
            if row.remote.diffs:
                rows[-1].remote.compose(row.remote)
        if len(rows) == 1 and not rows[0].items:
            rows[0].remote.clear()
            return None
        self.size -= 1
        return rows[-1].items.pop(), rows[-1].remote

    def push(self, item, can_merge=False, group=None):
        last = self.rows[-1]
        remote = last.remote.diffs
        disjoint_group = group is not None and all(
            remote.get(cid) is None or delta_ot.is_empty(remote[cid]) for cid in group.touched)
        if remote and not disjoint_group:
            self.rows.append(_Row([item]))
            self.size += 1
            return
        if can_merge and last.items and last.items[-1].end == item.start:
            last.items[-1].end = item.end
            return
        self.size += 1
        last.items.append(item)

    def compose_remote(self, container_diffs):
        if self.size == 0:
            return
        remote = self.rows[-1].remote
        for target, diff in container_diffs:
            remote.add(target, delta_ot.from_public(diff))

    def transform_remote(self, batch):
        if self.size:
            self.rows[-1].remote.transform(batch, False)

    def pop_front(self):
        if self.size == 0:
            return
        rows = self.rows
        while rows and not rows[0].items:
            rows.pop(0)
        self.size -= 1
        rows[0].items.pop(0)
        if not rows[0].items:
            rows.pop(0)
        if not rows:
            rows.append(_Row())


class _Group:
    __slots__ = ("start", "touched")

    def __init__(self, start):
        self.start = start
        self.touched = set()


def _counter_end(doc, peer):
    last = doc.oplog_vv.get_last(peer)
    return 0 if last is None else last + 1


def _remote_diffs(batch):
    """An import's (container, diff) pairs that move the undo items: a container the import
    shows again whole (a mergeable child a remote peer wrote again) counts with the diff of
    its own ops only, from the state it kept while hidden, as loro's undo counts it."""
    own = batch.own_before_shown
    if not own:
        return [(cd.target, cd.diff) for cd in batch.diffs]
    out = []
    for cd in batch.diffs:
        diff = own.get(cd.target, cd.diff)
        if diff is not None:
            out.append((cd.target, diff))
    return out


def _weak_call(obj, method):
    ref = weakref.ref(obj)

    def call(*args):
        target = ref()
        if target is not None:
            return getattr(target, method)(*args)
    return call


class UndoManager:
    """Undo and redo this document's local edits (only the local peer's; remote edits are
    kept). See the module docstring for how undo works with concurrent edits."""

    def __init__(self, doc):
        from loro_c import _events
        self._doc = doc
        self._lock = threading.RLock()
        self._peer = doc.peer_id
        self._remap = {}
        self._elem_remap = {}           # movable list elements revived by undo: old -> new
        self._next_counter = _counter_end(doc, self._peer)
        self._undo = _Stack()
        self._redo = _Stack()
        self._processing = False
        self._last_push_time = 0.0
        self._merge_interval = 0
        self._max_steps = 100          # as loro's Python binding
        self._exclude = []
        self._last_popped_cursors = None
        self._on_push = None
        self._on_pop = None
        self._group = None
        self._event_sub = _events.subscribe_hook(doc, _weak_call(self, "_on_event"))
        self._peer_sub = doc.subscribe_peer_id_change(_weak_call(self, "_on_peer_change"))

    # -- events

    def _on_event(self, batch):
        with self._lock:
            if batch.trigger == 0:
                if self._processing or batch.to is None or batch.to.peer != self._peer:
                    return
                if any(batch.origin.startswith(p) for p in self._exclude):
                    # not undoable: it moves the items below it like a remote edit
                    remote = _remote_diffs(batch)
                    self._undo.compose_remote(remote)
                    self._redo.compose_remote(remote)
                    self._next_counter = batch.to.counter
                else:
                    self._record(batch.to.counter,
                                 DiffEvent(EventTriggerKind.Local, batch.origin, None,
                                           list(batch.diffs)))
            elif batch.trigger == 1:
                group = self._group
                disjoint = group is not None and all(cd.target not in group.touched
                                                     for cd in batch.diffs)
                remote = _remote_diffs(batch)
                self._undo.compose_remote(remote)
                self._redo.compose_remote(remote)
                if not disjoint:
                    self._group = None
            else:
                self._undo.clear()
                self._redo.clear()
                self._next_counter = None

    def _on_peer_change(self, id):
        with self._lock:
            self._undo.clear()
            self._redo.clear()
            self._next_counter = id.counter
            self._peer = id.peer
        return True

    def _record(self, latest, event):
        """A checkpoint: the local ops since the last one become an undo item."""
        previous = self._next_counter
        if latest == previous:
            return
        if previous is None:
            self._next_counter = latest
            return
        group = self._group
        if group is not None and event is not None:
            group.touched.update(cd.target for cd in event.events)
        now = time.time() * 1000.0
        meta = (_as_meta(self._on_push(UndoOrRedo.Undo, CounterSpan(previous, latest), event))
                if self._on_push is not None else UndoItemMeta())
        in_interval = now - self._last_push_time < self._merge_interval
        group_merges = group is not None and previous != group.start
        item = _Item(previous, latest, meta)
        if self._undo.size and (in_interval or group_merges):
            self._undo.push(item, True, group)
        else:
            self._last_push_time = now
            self._undo.push(item)
        self._next_counter = latest
        self._redo.clear()
        while self._undo.size > self._max_steps:
            self._undo.pop_front()

    # -- undo and redo

    def undo(self):
        """Undo the last undoable change of this peer. Returns whether anything changed."""
        return self._perform(UndoOrRedo.Undo)

    def redo(self):
        """Redo the last undone change. Returns whether anything changed."""
        return self._perform(UndoOrRedo.Redo)

    def _stacks(self, kind):
        if kind is UndoOrRedo.Undo:
            return self._undo, self._redo
        return self._redo, self._undo

    def _perform(self, kind):
        doc = self._doc
        self.record_new_checkpoint()
        end = _counter_end(doc, self._peer)
        stack, opposite = self._stacks(kind)
        with self._lock:
            self._processing = True
            try:
                top = stack.pop()
                if top is None:
                    return False
                item, remote = top
                self._revert(item, remote.copy(), stack)
                next_cursors = None
                if self._on_pop is not None:
                    for c in item.meta.cursors:
                        self._move_cursor(c, remote)
                    self._on_pop(kind, CounterSpan(item.start, item.end), item.meta)
                    next_cursors = self._last_popped_cursors
                    self._last_popped_cursors = item.meta.cursors
                new_end = _counter_end(doc, self._peer)
                if new_end == end:
                    return False        # the item changed nothing (loro drops it too)
                meta = (_as_meta(self._on_push(kind.opposite(), CounterSpan(end, new_end), None))
                        if self._on_push is not None else UndoItemMeta())
                if not (kind is UndoOrRedo.Undo and opposite.size == 0) \
                        and next_cursors is not None:
                    # in an undo/redo loop the selection saved with the item popped before
                    # is the one to restore
                    meta.cursors = next_cursors
                opposite.push(_Item(end, new_end, meta))
                self._next_counter = new_end
                return True
            finally:
                self._processing = False

    def _revert(self, item, remote, stack):
        """Apply, as local ops, the inverse of the item's ops moved over `remote`."""
        doc = self._doc
        if doc.is_detached() and not doc.is_detached_editing_enabled():
            raise LoroError("cannot undo while the document is detached (checkout_to_latest "
                            "first, or enable detached editing)")
        doc.commit()
        peer = self._peer
        if _counter_end(doc, peer) < item.end:
            raise LoroError(f"undo span {peer}:{item.start}..{item.end} is not in the document")
        pieces = [(ID(peer, last), deps)
                  for last, deps in doc._undo_pieces(peer, item.start, item.end)]
        last_c = None
        for i, (last_id, deps) in enumerate(pieces):
            a = self._diff(Frontiers.from_ids([last_id]), deps)
            if i + 1 < len(pieces):
                b = self._diff(Frontiers.from_ids([last_id]),
                               Frontiers.from_ids([pieces[i + 1][0]]))
            else:
                b = remote
            if last_c is not None:
                last_c.transform(a, True)
                a.compose(last_c)
            if i == len(pieces) - 1:
                stack.transform_remote(a)
            a.transform(b, True)
            last_c = a
        spans = [(deps, Frontiers.from_ids([last_id])) for last_id, deps in pieces]
        plans = {cid: undo_movable.Plans(doc, cid, spans)
                 for cid in undo_movable.movable_lists(
                     doc.get_changed_containers_in(ID(peer, item.start), item.end - item.start))}
        diffs.apply_for_undo(doc, last_c.pairs(), self._remap, plans, self._elem_remap)
        doc._commit_with_default_origin("undo")

    def _diff(self, a, b):
        return delta_ot.Batch.from_diff_batch(self._doc.diff(a, b))

    def _move_cursor(self, cwp, remote):
        cid = cwp.cursor.container
        moved = False
        while cid in self._remap:
            cid = self._remap[cid]
            moved = True
        if cwp.cursor.id is None:
            if moved:
                cwp.cursor = Cursor(None, cid, cwp.cursor.side, cwp.cursor._origin_pos)
            return
        d = remote.diffs.get(cid)
        if d is not None:
            cwp.pos.pos = delta_ot.transform_pos(d, cwp.pos.pos, False)
        h = self._doc._known_container(cid)
        if h is not None and hasattr(h, "get_cursor"):
            try:
                c = h.get_cursor(cwp.pos.pos, cwp.pos.side)
            except LoroError:
                c = None
            if c is not None:
                cwp.cursor = c

    # -- checkpoints, groups, settings

    def record_new_checkpoint(self):
        """Commit, and make the local ops since the last checkpoint an undo item."""
        self._doc.commit()
        with self._lock:
            self._record(_counter_end(self._doc, self._peer), None)

    def group_start(self):
        """Start a group: the following commits become one undo item, until group_end or
        an import that touches the group's containers."""
        with self._lock:
            if self._group is not None:
                raise LoroError("an undo group is already started")
            if self._next_counter is None:
                raise LoroError("UndoManager is not ready (the document was checked out)")
            self._group = _Group(self._next_counter)

    def group_end(self):
        """End the current group."""
        with self._lock:
            self._group = None

    def peer(self):
        """The peer whose edits are undone."""
        return self._peer

    def set_merge_interval(self, interval):
        """Merge commits less than `interval` ms apart into one undo item (0: never)."""
        with self._lock:
            self._merge_interval = int(interval)

    def set_max_undo_steps(self, size):
        """Keep at most `size` undo items, the oldest dropped (100 by default, as in loro)."""
        if size < 0:
            raise OverflowError("max undo steps cannot be negative")
        with self._lock:
            self._max_steps = int(size)

    def add_exclude_origin_prefix(self, prefix):
        """Do not record local commits whose origin starts with `prefix`."""
        with self._lock:
            self._exclude.append(str(prefix))

    def set_on_push(self, on_push):
        """`on_push(UndoOrRedo, CounterSpan, DiffEvent or None)` is called when an item is
        pushed; it returns the item's UndoItemMeta (or None, or a dict with value/cursors)."""
        with self._lock:
            self._on_push = on_push

    def set_on_pop(self, on_pop):
        """`on_pop(UndoOrRedo, CounterSpan, UndoItemMeta)` is called when an item is undone
        or redone, its cursors moved over the edits made since."""
        with self._lock:
            self._on_pop = on_pop

    # -- state

    def can_undo(self):
        return self._undo.size > 0

    def can_redo(self):
        return self._redo.size > 0

    def undo_count(self):
        return self._undo.size

    def redo_count(self):
        return self._redo.size

    def top_undo_meta(self):
        """The metadata of the item undo would pop, or None."""
        return self._undo.top_meta()

    def top_redo_meta(self):
        return self._redo.top_meta()

    def top_undo_value(self):
        m = self._undo.top_meta()
        return None if m is None else m.value

    def top_redo_value(self):
        m = self._redo.top_meta()
        return None if m is None else m.value

    def set_top_undo_meta(self, meta):
        with self._lock:
            self._undo.set_top_meta(_as_meta(meta))

    def set_top_redo_meta(self, meta):
        with self._lock:
            self._redo.set_top_meta(_as_meta(meta))

    def clear(self):
        """Empty both stacks."""
        with self._lock:
            self._undo.clear()
            self._redo.clear()

    def clear_undo(self):
        with self._lock:
            self._undo.clear()

    def clear_redo(self):
        with self._lock:
            self._redo.clear()
