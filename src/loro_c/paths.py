"""Paths through a document, as loro names them: `Index` (Key, Seq, Node), and the walks
behind `LoroDoc.get_by_path`, `get_by_str_path`, `get_path_to_container` and
`get_deep_value_with_id`.

These walk the current values from the roots the document lists (plain Python over the
handles: not on any per-op path). Finding a container's path costs a walk of the document
until the container is met; a registry with parent links would make it O(depth).
"""
from loro_c._types import ContainerID, ContainerType, ValueOrContainer

__all__ = ["Index"]


class Index:
    """One step of a path: `Index.Key(key)` into a map, `Index.Seq(index)` into a list or
    text, `Index.Node(target)` into a tree."""
    __slots__ = ()


class _Key(Index):
    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def __eq__(self, other):
        return type(other) is _Key and other.key == self.key

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value types, as in loro

    def __repr__(self):
        return f"Index.Key({self.key!r})"


class _Seq(Index):
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __eq__(self, other):
        return type(other) is _Seq and other.index == self.index

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value types, as in loro

    def __repr__(self):
        return f"Index.Seq({self.index!r})"


class _Node(Index):
    __slots__ = ("target",)

    def __init__(self, target):
        self.target = target

    def __eq__(self, other):
        return type(other) is _Node and other.target == self.target

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value types, as in loro

    def __repr__(self):
        return f"Index.Node({self.target!r})"


Index.Key = _Key  # type: ignore[attr-defined]
Index.Seq = _Seq  # type: ignore[attr-defined]
Index.Node = _Node  # type: ignore[attr-defined]


def _roots(doc):
    """(name, ContainerID) of the roots the document lists, in its order."""
    return [(name, cid) for name, cid in doc.get_value().items() if isinstance(cid, ContainerID)]


def _children(doc, cid):
    """(Index, child ContainerID) of the child containers `cid` holds now (a tree: the meta
    maps of its shown nodes, level by level)."""
    handle = doc._known_container(cid)
    if _kind(handle) == "Tree":
        out = []
        for node in handle.get_nodes(False):
            meta = ContainerID.Normal(node.id.peer, node.id.counter, ContainerType.Map())
            if doc._known_container(meta) is not None:
                out.append((Index.Node(node.id), meta))
        return out
    if _kind(handle) == "Map":
        # items() shows a mergeable child's marker as the child (loro_c/mergeable.py)
        return [(Index.Key(k), v.container.id) for k, v in handle.items()
                if ValueOrContainer.is_container(v)]
    value = handle.get_value()
    if isinstance(value, list):
        return [(Index.Seq(i), v) for i, v in enumerate(value) if isinstance(v, ContainerID)]
    return []


def path_to_container(doc, cid):
    """[(container, its Index in its parent)] from a root down to `cid`, or None when the
    container is not reachable from the roots (deleted, or unknown here)."""
    if not isinstance(cid, ContainerID):
        from loro_c.errors import LoroTypeError
        raise LoroTypeError(f"expected a ContainerID, not {type(cid).__name__}")
    if isinstance(cid, ContainerID.Root) and not cid.name.startswith("🤝:"):
        return [(cid, Index.Key(cid.name))]
    # (each step links to its parent's step, not a copy of its path: a chain of any depth
    # is searched in time of its size)
    stack = [((root, Index.Key(name)), None) for name, root in reversed(_roots(doc))]
    while stack:
        step = stack.pop()
        for idx, child in reversed(_children(doc, step[0][0])):
            if child == cid:
                return _unlinked(((child, idx), step))
            stack.append(((child, idx), step))
    return None


def _unlinked(step):
    """The path a linked step ends, from its root."""
    path = []
    while step is not None:
        path.append(step[0])
        step = step[1]
    path.reverse()
    return path


def by_path(doc, path):
    """The value or container at `path` (a sequence of Index), or None."""
    path = list(path)
    if not path or not isinstance(path[0], _Key):
        return None
    roots = dict(_roots(doc))
    cid = roots.get(path[0].key)
    if cid is None:
        return None
    cur = ValueOrContainer.Container(doc._known_container(cid))
    for step in path[1:]:
        cur = _step(cur, step)
        if cur is None:
            return None
    return cur


def by_str_path(doc, s):
    """`by_path` for a "/"-separated path: map keys, and list/text indices in decimal."""
    if not isinstance(s, str) or not s:
        return None
    parts = s.split("/")
    path = [Index.Key(parts[0])]
    for p in parts[1:]:
        node = _tree_id(p)
        path.append(Index.Seq(int(p)) if p.isdigit() else node if node is not None
                    else Index.Key(p))
    got = by_path(doc, path[:1])
    for step in path[1:]:
        if got is None or not ValueOrContainer.is_container(got):
            return None
        if isinstance(step, _Seq) and _kind(got.container) == "Map":
            step = Index.Key(str(step.index))
        if isinstance(step, _Node) and _kind(got.container) == "Map":
            step = Index.Key(f"{step.target.counter}@{step.target.peer}")
        got = _step(got, step)
    return got


def _kind(handle):
    return str(handle.id.container_type)


def _tree_id(part):
    """A "counter@peer" path part as a tree node step, or None."""
    counter, at, peer = part.partition("@")
    if not at or not counter.isdigit() or not peer.isdigit():
        return None
    from loro_c._types import TreeID
    return Index.Node(TreeID(int(peer), int(counter)))


def _step(cur, step):
    if not ValueOrContainer.is_container(cur):
        return None
    h = cur.container
    kind = _kind(h)
    if isinstance(step, _Key) and kind == "Map":
        return h.get(step.key)
    if isinstance(step, _Seq) and kind in ("List", "MovableList"):
        if not 0 <= step.index < len(h):
            return None
        return h.get(step.index)
    if isinstance(step, _Node) and kind == "Tree":
        # a shown node's meta map
        if not h.contains(step.target) or h.is_node_deleted(step.target):
            return None
        return ValueOrContainer.Container(h.get_meta(step.target))
    if isinstance(step, _Seq) and kind == "Text":
        s = h.to_string()
        if not 0 <= step.index < len(s):
            return None
        return ValueOrContainer.Value(s[step.index])
    return None


def deep_value_with_id(doc):
    """The deep value with each container as {"value": ..., "cid": "cid:..."}."""
    # (depth first, in the order a recursive walk reads the containers, with a stack of
    # the places still to fill instead of the call stack: a chain of any depth reads)
    out = {}
    todo = []
    for name, cid in _roots(doc):
        out[name] = None
        todo.append((out, name, cid))
    todo.reverse()
    while todo:
        holder, at, cid = todo.pop()
        holder[at] = _with_id(doc, cid, todo)
    return out


def _with_id(doc, cid, todo):
    """Container `cid` as {"value": ..., "cid": ...}, its children's places left None and
    pushed on `todo` (first child last, so it is filled first)."""
    handle = doc._known_container(cid)
    if isinstance(cid, ContainerID.Root) and cid.name.startswith("🤝:"):
        value = handle.get_value()
        if value in ("", [], {}, 0.0) and not doc._has_ops(cid):
            return value        # ensured, never edited: loro holds no state for it
    if _kind(handle) == "Tree":
        # loro shows a tree's meta maps as plain deep values here
        return {"value": handle.get_deep_value(), "cid": str(cid)}
    kids = []
    if _kind(handle) == "Map":
        value = {}
        for k, v in handle.items():
            if ValueOrContainer.is_container(v):
                value[k] = None
                kids.append((value, k, v.container.id))
            else:
                value[k] = v.value
    else:
        value = handle.get_value()
        if isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, ContainerID):
                    value[i] = None
                    kids.append((value, i, v))
    kids.reverse()
    todo.extend(kids)
    return {"value": value, "cid": str(cid)}
