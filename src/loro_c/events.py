"""Diff events: loro's event types, the subscriber registry and its dispatch, and an asyncio
stream of events.

When events fire (as in loro): a commit (explicit, or implied by export/import), an import
that applied something. One DiffEvent covers one commit or one import; it lists a
ContainerDiff per changed container that can be reached from a root, parents before
children, with its path from the root and a diff in the document's coordinates after the
change (Text: TextDelta list in code points; List: ListDiffItem list; Map: the keys whose
winning value changed; Counter: the summed delta).

A commit's Text, List and MovableList deltas are loro's item for item: built from the
transaction's ops as loro composes them (so an insert may follow a delete in one gap, and
adjacent items stay apart where loro's do, e.g. list inserts in runs of 8). Other deltas may
split or order the items of a gap otherwise than loro's; applying either to the old value
gives the same new value.

How callbacks run: events are queued while the document is locked and delivered when the
public call that produced them returns, without the lock, so a callback may read and edit
the document (its own commit is delivered after the current event, in order). Container
subscribers are called before root subscribers. If callbacks raise, every subscriber still
gets the event and the call then raises CallbackError from the first exception (loro raises
a PanicException there). A callback may unsubscribe itself or others: an unsubscribed
callback is not called again, even for the event being delivered.
"""
import collections
import enum
import sys
import threading

from loro_c.errors import LoroError, LoroTypeError, LoroValueError
from loro_c._types import check_utf8

__all__ = ["EventTriggerKind", "DiffEvent", "ContainerDiff", "PathItem", "Diff", "TextDelta",
           "ListDiffItem", "MapDelta", "EventStream", "EventStreamOverflow",
           "ChangeModifier"]


class EventStreamOverflow(LoroError):
    """An EventStream fell more than `maxsize` events behind: it has stopped (events after
    the gap would not apply to a mirror built from the ones before). Resynchronise from the
    document's value and open a new stream."""


class EventTriggerKind(enum.Enum):
    """What produced an event."""
    Local = "local"
    Import = "import"
    Checkout = "checkout"


def _nest(outer, inner, name):
    inner.__name__ = name
    inner.__qualname__ = f"{outer.__name__}.{name}"
    setattr(outer, name, inner)


class _Value:
    """Plain value objects compared by their fields (`_fields`, else their slots)."""
    __slots__ = ()

    def _field_names(self):
        return getattr(type(self), "_fields", None) or self.__slots__

    def __eq__(self, other):
        return type(other) is type(self) and all(getattr(self, f) == getattr(other, f)
                                                 for f in self._field_names())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self):
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._field_names())
        return f"{type(self).__qualname__}({fields})"


class PathItem(_Value):
    """One step of an event path: a container and its index in its parent (a root's index
    is Index.Key(name))."""
    __slots__ = ("container", "index")

    def __init__(self, container, index):
        object.__setattr__(self, "container", container)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        # immutable: a root's path item is shared by the events of every document
        raise AttributeError(f"PathItem.{name} is read-only")


class MapDelta(_Value):
    """The keys of a map whose value changed: key -> ValueOrContainer, or None if deleted."""
    __slots__ = ("updated",)

    def __init__(self, updated):
        self.updated = updated


class TextDelta(_Value):
    """A Quill-style text delta item (positions in Unicode code points)."""
    __slots__ = ()


class _TextRetain(TextDelta):
    __slots__ = ("retain", "attributes")

    def __init__(self, retain, attributes=None):
        self.retain = retain
        self.attributes = attributes


class _TextInsert(TextDelta):
    __slots__ = ("insert", "attributes")

    def __init__(self, insert, attributes=None):
        self.insert = insert
        self.attributes = attributes


class _TextDelete(TextDelta):
    __slots__ = ("delete",)

    def __init__(self, delete):
        self.delete = delete


_nest(TextDelta, _TextRetain, "Retain")
_nest(TextDelta, _TextInsert, "Insert")
_nest(TextDelta, _TextDelete, "Delete")


class ListDiffItem(_Value):
    """A list delta item."""
    __slots__ = ()


class _ListInsert(ListDiffItem):
    __slots__ = ("insert", "is_move")

    def __init__(self, insert, is_move=False):
        self.insert = insert
        self.is_move = is_move


class _ListDelete(ListDiffItem):
    __slots__ = ("delete",)

    def __init__(self, delete):
        self.delete = delete


class _ListRetain(ListDiffItem):
    __slots__ = ("retain",)

    def __init__(self, retain):
        self.retain = retain


_nest(ListDiffItem, _ListInsert, "Insert")
_nest(ListDiffItem, _ListDelete, "Delete")
_nest(ListDiffItem, _ListRetain, "Retain")


class Diff(_Value):
    """The change of one container: Diff.Text, Diff.List, Diff.Map, Diff.Tree,
    Diff.Counter or Diff.Unknown; the content is in `diff`."""
    __slots__ = ()


def _diff_kind(name, doc):
    def __init__(self, diff):
        self.diff = diff
    cls = type(name, (Diff,), {"__slots__": ("diff",), "__init__": __init__, "__doc__": doc})
    _nest(Diff, cls, name)


_diff_kind("List", "A list diff: `diff` is a list of ListDiffItem.")
_diff_kind("Text", "A text diff: `diff` is a list of TextDelta.")
_diff_kind("Map", "A map diff: `diff` is a MapDelta.")
_diff_kind("Tree", "A tree diff: `diff` is a TreeDiff.")
_diff_kind("Counter", "A counter diff: `diff` is the float added.")


class _DiffUnknown(Diff):
    __slots__ = ()


_nest(Diff, _DiffUnknown, "Unknown")


class DiffBatch:
    """The diffs of several containers, in order (LoroDoc.diff builds one; LoroDoc.apply_diff
    applies one)."""
    __slots__ = ("_items", "_idlp")

    def __init__(self):
        self._items = []
        self._idlp = None       # see loro_c._events.diff_batch

    def push(self, cid, diff):
        """Add the diff of container `cid` (it is applied after those pushed before)."""
        if not isinstance(diff, Diff):
            raise LoroTypeError(f"push takes a Diff, not {type(diff).__name__}")
        self._items.append((cid, diff))

    def get_diff(self):
        """[(ContainerID, Diff)] in order."""
        return list(self._items)

    def __repr__(self):
        return f"DiffBatch({self._items!r})"


class ContainerDiff(_Value):
    """The diff of one container: `target` (ContainerID), `path` (list of PathItem, from
    the root down to the target), `is_unknown`, `diff` (a Diff)."""
    # An event's diffs keep their paths as nodes of one table (_events.PathTable: `_path`
    # the table, `_node` the diff's node), built into PathItems when read, a new list per
    # read as loro's; a diff made here keeps its list (`_node` None).
    __slots__ = ("target", "_path", "_node", "is_unknown", "diff")
    _fields = ("target", "path", "is_unknown", "diff")

    def __init__(self, target, path, is_unknown, diff):
        self.target = target
        self._path = list(path)
        self._node = None
        self.is_unknown = is_unknown
        self.diff = diff

    @property
    def path(self):
        """The PathItems from the root down to the target (a new list per read)."""
        if self._node is None:
            return list(self._path)
        return self._path.items(self._node)


class DiffEvent(_Value):
    """What a subscriber receives: `triggered_by` (EventTriggerKind), `origin` (str),
    `current_target` (the subscribed ContainerID, None for subscribe_root) and `events`
    (list of ContainerDiff)."""
    __slots__ = ("triggered_by", "origin", "current_target", "events")

    def __init__(self, triggered_by, origin, current_target, events):
        self.triggered_by = triggered_by
        self.origin = origin
        self.current_target = current_target
        self.events = events


_TRIGGERS = (EventTriggerKind.Local, EventTriggerKind.Import, EventTriggerKind.Checkout)


class _DocEvents:
    """A document's diff-event subscribers: root ones, and per ContainerID; and the
    peer-id-change subscribers."""
    __slots__ = ("root", "by_cid", "peer", "first", "first_done", "pre", "busy", "before",
                 "hooks", "tree_lca", "lca_ordered", "lca_after_ordered", "ml_walk", "tree_views",
                 "local_styles")

    def __init__(self):
        self.root = []
        self.hooks = []            # the library's own listeners (UndoManager): get the _Batch
        self.by_cid = {}
        self.peer = []
        self.first = []
        self.first_done = None     # the peer whose first commit was announced
        self.pre = []
        self.busy = False          # first-commit or pre-commit callbacks are running
        self.before = None         # during a checkout: visibility of the touched atoms before it
        # during a checkout or a concurrent import: the ids of the versions before and after
        # it, between which loro's tree diff is replayed (_events.tree_checkout_items); None
        # otherwise
        self.tree_lca = None
        # tree_lca's first version is a checkout's from the latest version, in the order
        # loro's map of the log's frontiers yields them (its state's frontiers are that map)
        self.lca_ordered = False
        self.lca_after_ordered = False
        # during an import that follows the version before and brings ops of several peers:
        # the same two versions (state/movable_local.pxi ml_calc_elements); None otherwise
        self.ml_walk = None
        # during LoroDoc.diff: trees keep their view before the move (state/tree.pxi), which
        # that diff's sequence starts from
        self.tree_views = False
        # journal note index -> (op counter, style identity, attributes) of a local insert
        # into a text with style anchors (state/richtext.pxi: note_insert_styles); checked by
        # counter when read, so entries of earlier batches never apply
        self.local_styles = {}

    def active(self):
        return bool(self.root) or bool(self.hooks) or any(self.by_cid.values())


class _Batch:
    """One event waiting in the document's queue (built under the lock, dispatched
    without it). `to` is, for a commit, the ID just past its last op."""
    __slots__ = ("reg", "trigger", "origin", "diffs", "to", "event", "own_before_shown")

    def __init__(self, reg, trigger, origin, diffs, to=None):
        self.reg = reg
        self.trigger = trigger
        self.origin = origin
        self.diffs = diffs
        self.to = to
        self.event = None       # built ahead by _events for a lone root subscriber
        # an import's containers shown again whole -> their own ops' diff (_events)
        self.own_before_shown = None

    def dispatch(self):
        """Call the subscribers; returns the first exception a callback raised, or None."""
        reg = self.reg
        if not reg.hooks and not reg.by_cid and len(reg.root) == 1:
            # the common case: one root subscriber
            sub = reg.root[0]
            if not sub.active:
                return None
            event = self.event
            if event is None:
                event = DiffEvent(_TRIGGERS[self.trigger], self.origin, None, self.diffs)
            try:
                sub.callback(event)
            except Exception as e:
                return e
            return None
        first = None
        kind = _TRIGGERS[self.trigger]
        calls = []
        for sub in list(self.reg.hooks):
            # before the user's callbacks, so that they see e.g. the undo stack updated
            if sub.active:
                try:
                    sub.callback(self)
                except Exception as e:
                    if first is None:
                        first = e
        if self.reg.by_cid:
            holders = None      # per diff, the containers on its path
            for cid, subs in list(self.reg.by_cid.items()):
                if not subs:
                    continue
                if holders is None:
                    holders = [{p.container for p in d.path} for d in self.diffs]
                mine = [d for d, on_path in zip(self.diffs, holders) if cid in on_path]
                if mine:
                    calls.append((cid, mine, list(subs)))
        if self.reg.root:
            if not calls and len(self.reg.root) == 1 and first is None:
                # the common case: one root subscriber
                sub = self.reg.root[0]
                if not sub.active:
                    return None
                try:
                    sub.callback(DiffEvent(kind, self.origin, None, self.diffs))
                except Exception as e:
                    return e
                return None
            calls.append((None, self.diffs, list(self.reg.root)))
        for cid, diffs, subs in calls:
            for sub in subs:
                if not sub.active:
                    continue
                try:
                    sub.callback(DiffEvent(kind, self.origin, cid, list(diffs)))
                except Exception as e:
                    if first is None:
                        first = e
        return first


class _PeerChange:
    """A peer id change waiting in the document's queue."""
    __slots__ = ("reg", "id")

    def __init__(self, reg, id):
        self.reg = reg
        self.id = id

    def dispatch(self):
        first = None
        for sub in list(self.reg.peer):
            if not sub.active:
                continue
            try:
                if sub.callback(self.id) is False:
                    sub.unsubscribe()
            except Exception as e:
                if first is None:
                    first = e
        return first


class ChangeModifier:
    """Lets a pre-commit subscriber set the message and the timestamp of the change being
    committed."""
    __slots__ = ("_message", "_timestamp")

    def __init__(self):
        self._message = None
        self._timestamp = None

    def set_message(self, msg):
        """Use `msg` as the change's commit message."""
        if not isinstance(msg, str):
            raise LoroTypeError("the message must be a str")
        self._message = check_utf8(msg, "the message")

    def set_timestamp(self, timestamp):
        """Use `timestamp` (seconds) as the change's timestamp."""
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise LoroTypeError("the timestamp must be an int")
        self._timestamp = timestamp


class _Raised:
    """A callback exception raised outside the delivery (first-commit subscribers),
    reported at the end of the call like a delivery's."""
    __slots__ = ("error",)

    def __init__(self, error):
        self.error = error

    def dispatch(self):
        return self.error


def _running_loop():
    """The running event loop as (its identity, an Event class, a thread-safe way to call a
    function in it): asyncio's or trio's, so that anyio works on either of its backends.
    Neither library is imported here: one that is not imported yet is not running."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return loop, asyncio.Event, loop.call_soon_threadsafe
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            token = trio.lowlevel.current_trio_token()
        except RuntimeError:
            pass
        else:
            return token, trio.Event, token.run_sync_soon
    raise RuntimeError("an EventStream is read from a running asyncio or trio event loop "
                       "(directly or through anyio)")


class EventStream:
    """`async for event in doc.events():` — the document's DiffEvents as an async stream
    (use `doc.events(container_id)`, or a container's `events()`, for one container and
    its descendants). It runs on asyncio and on trio, directly or through anyio.

    Events are buffered in arrival order, at most `maxsize` of them. Overflow policy: when an
    event arrives with the buffer full, the stream stops listening and drops it; the
    consumer still receives the buffered events, then `EventStreamOverflow` (after a gap,
    later diffs would not apply to a mirror built from earlier ones: resynchronise from the
    document's value). Callbacks never block the thread that edits the document.

    Cancellation-safe: cancelling a task waiting in `__anext__` (a task's cancel, anyio's
    cancel scopes, trio's) loses no event (events stay in the buffer until returned).
    Events may be produced on any thread; several tasks may wait on one stream (each event
    goes to one of them). `aclose()` (or
    leaving `async with doc.events() as stream:`) unsubscribes; dropping the stream does too.
    """

    def __init__(self, doc, container_id=None, maxsize=1024):
        if not isinstance(maxsize, int) or isinstance(maxsize, bool) or maxsize < 1:
            raise LoroValueError("maxsize must be a positive int")
        self._buf = collections.deque()
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._loop = None       # the identity of the loop of the last wait (_running_loop)
        self._call_soon = None  # that loop's thread-safe scheduler
        self._wake = None       # the Event the waiting tasks wait on (None or set: none waits)
        self._overflow = False
        self._closed = False
        if container_id is None:
            self._sub = doc.subscribe_root(self._push)
        else:
            self._sub = doc.subscribe(container_id, self._push)

    def _push(self, event):
        with self._lock:
            if self._closed or self._overflow:
                return
            if len(self._buf) >= self._maxsize:
                self._overflow = True
                self._sub.unsubscribe()
            else:
                self._buf.append(event)
            self._notify()

    def _notify(self):
        # under self._lock: wake the waiting tasks in their loop's thread (an Event is not
        # thread-safe); a closed loop has nobody waiting
        if self._wake is not None and not self._wake.is_set():
            try:
                self._call_soon(self._wake.set)
            except RuntimeError:
                pass

    def __aiter__(self):
        return self

    async def __anext__(self):
        loop, event_class, call_soon = _running_loop()
        while True:
            with self._lock:
                if self._buf:
                    return self._buf.popleft()
                if self._overflow:
                    self._overflow = False
                    self._closed = True
                    raise EventStreamOverflow(
                        f"the event stream fell more than {self._maxsize} events behind")
                if self._closed:
                    raise StopAsyncIteration
                if self._loop is not loop or self._wake is None or self._wake.is_set():
                    # trio's Events cannot be cleared: each round of waits gets a new one,
                    # which every task waiting in it shares
                    self._loop, self._call_soon = loop, call_soon
                    self._wake = event_class()
                wake = self._wake
            await wake.wait()

    async def aclose(self):
        """Stop the stream: unsubscribe, and end iteration once the buffer is drained."""
        self.close()

    def close(self):
        """Like aclose(), callable from synchronous code."""
        with self._lock:
            self._closed = True
            self._notify()
        self._sub.unsubscribe()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        return False



# -- LoroTree diffs (Diff.Tree holds a TreeDiff; state/tree.pxi and _events.pyx make them) ---

class TreeExternalDiff(_Value):
    """What happened to a tree node: Create, Move or Delete (indexes among the siblings at
    that point of the diff; fractional indexes in hex)."""
    __slots__ = ()


class _TreeCreate(TreeExternalDiff):
    __slots__ = ("parent", "index", "fractional_index")

    def __init__(self, parent, index, fractional_index):
        self.parent = parent
        self.index = index
        self.fractional_index = fractional_index

    def __repr__(self):
        return (f"Create(parent={self.parent!r}, index={self.index}, "
                f"fractional_index={self.fractional_index!r})")


class _TreeMove(TreeExternalDiff):
    __slots__ = ("parent", "index", "fractional_index", "old_parent", "old_index")

    def __init__(self, parent, index, fractional_index, old_parent, old_index):
        self.parent = parent
        self.index = index
        self.fractional_index = fractional_index
        self.old_parent = old_parent
        self.old_index = old_index

    def __repr__(self):
        return (f"Move(parent={self.parent!r}, index={self.index}, fractional_index="
                f"{self.fractional_index!r}, old_parent={self.old_parent!r}, "
                f"old_index={self.old_index})")


class _TreeDelete(TreeExternalDiff):
    __slots__ = ("old_parent", "old_index")

    def __init__(self, old_parent, old_index):
        self.old_parent = old_parent
        self.old_index = old_index

    def __repr__(self):
        return f"Delete(old_parent={self.old_parent!r}, old_index={self.old_index})"


_nest(TreeExternalDiff, _TreeCreate, "Create")
_nest(TreeExternalDiff, _TreeMove, "Move")
_nest(TreeExternalDiff, _TreeDelete, "Delete")


class TreeDiffItem(_Value):
    """One node's change: `target` (TreeID) and `action` (TreeExternalDiff)."""
    __slots__ = ("target", "action")

    def __init__(self, target, action):
        self.target = target
        self.action = action

    def __repr__(self):
        return f"TreeDiffItem(target={self.target!r}, action={self.action!r})"


class TreeDiff(_Value):
    """A tree's diff: `diff`, the TreeDiffItems in the order they apply."""
    __slots__ = ("diff",)

    def __init__(self, diff):
        self.diff = diff

    def __repr__(self):
        return f"TreeDiff(diff={self.diff!r})"

__all__ += ["TreeDiff", "TreeDiffItem", "TreeExternalDiff"]
