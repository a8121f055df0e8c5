"""The algebra of container diffs that undo needs: compose two diffs one after the other,
transform a diff over a concurrent one, carry a position over a diff.

An undo is computed as a diff of versions (the inverse of the undone ops) and must then be
moved past whatever happened since: remote edits, and other undos. These are the rules loro
uses for that (its delta crate's compose/transform/transform_pos, its map and counter
rules), written over plain lists so the result of an undo equals loro's:

* A sequence diff (Text, List) is a list of items ``[kind, payload, attrs]``: RETAIN with a
  length, INSERT with a str (text) or a list of values (list), DELETE with a length.
  Adjacent items of one kind merge and transform chops trailing plain retains, as loro's
  delta rope does. Within one gap the order of inserts and deletes is kept (it decides how a
  diff moves past concurrent inserts there); a composition puts inserts first.
* A map diff is ``{key: (value or None, idlp)}``, idlp the (Lamport, peer) of the write
  the value comes from when known (diffs of versions know it, event diffs do not). Composing
  keeps, per key, the value of the later write, as loro does; a transform looks at keys only.
* A counter diff is a float; counters commute.

Diffs are converted from and to the public ``Diff`` objects at the edges
(:func:`from_public`, :func:`to_public`)."""
from loro_c.events import Diff, ListDiffItem, MapDelta, TextDelta

RETAIN, INSERT, DELETE = 0, 1, 2
_INF = float("inf")

SEQ, MAP, COUNTER, OTHER = "seq", "map", "counter", "other"


def _no_attrs(attrs):
    return not attrs


def same_attrs(a, b):
    """Attributes (or values) equal as LoroValues: {"k": 1} and {"k": True} differ."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same_attrs(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(same_attrs(x, y) for x, y in zip(a, b))
    return a == b


def push(items, kind, payload, attrs=None, insert_before_delete=False):
    """Append an item, merging it with the last one as loro's delta rope merges. An insert
    after a delete stays after it (loro keeps a pure delete and a following insert apart),
    except in a composition, which puts it before the delete as Quill does."""
    if kind == RETAIN:
        if payload == 0:
            return
        if items and items[-1][0] == RETAIN and same_attrs(items[-1][2], attrs):
            items[-1][1] += payload
        else:
            items.append([RETAIN, payload, attrs])
    elif kind == DELETE:
        if payload == 0:
            return
        if items and items[-1][0] == DELETE:
            items[-1][1] += payload
        else:
            items.append([DELETE, payload, None])
    else:
        if len(payload) == 0:
            return
        at = len(items)
        if insert_before_delete and at and items[-1][0] == DELETE:
            at -= 1
        if at and items[at - 1][0] == INSERT and same_attrs(items[at - 1][2], attrs):
            items[at - 1][1] = items[at - 1][1] + payload
        else:
            items.insert(at, [INSERT, payload, attrs])


def _keeps_boundary(kind, attrs):
    """Whether loro's delta rope keeps this item apart from an equal neighbour when it is
    not pushed: a text's inserts and its retains with attributes (applying a diff writes
    one mark per such item and key, so the items must be loro's)."""
    return kind == INSERT or (kind == RETAIN and attrs)


def chop(items):
    while items and items[-1][0] == RETAIN and _no_attrs(items[-1][2]):
        items.pop()
    return items


class _Cursor:
    """Reads a sequence diff item by item, taking any part of the current item. Past the
    end it reads as an endless plain retain."""
    __slots__ = ("items", "i", "off")

    def __init__(self, items):
        self.items = items
        self.i = 0
        self.off = 0

    def more(self):
        return self.i < len(self.items)

    def kind(self):
        return self.items[self.i][0] if self.i < len(self.items) else None

    def length(self):
        if self.i >= len(self.items):
            return _INF
        k, p, _ = self.items[self.i]
        return (p if k != INSERT else len(p)) - self.off

    def take(self, n):
        """(kind, payload, attrs) of the next `n` units (n <= length())."""
        if self.i >= len(self.items):
            return RETAIN, n, None
        k, p, a = self.items[self.i]
        if k == INSERT:
            part = p[self.off:self.off + n]
        else:
            part = n
        self.off += n
        if self.off >= (p if k != INSERT else len(p)):
            self.i += 1
            self.off = 0
        return k, part, a


def _merge_attrs(a, b):
    if not b:
        return a
    if not a:
        return dict(b)
    out = dict(a)
    out.update(b)
    return out


class _Sourced:
    """An output delta whose items remember the input item they come from: an item that
    `keeps(kind, attrs)` joins the one before only when both come from one input item
    (loro's rope joins two text inserts only when their bytes follow each other, which
    the parts of one item do and different items, in practice, do not)."""
    __slots__ = ("items", "sources", "keeps")

    def __init__(self, keeps):
        self.items = []
        self.sources = []
        self.keeps = keeps

    def put(self, kind, payload, attrs, source, before_delete=False):
        out = self.items
        n = len(out)
        push(out, kind, payload, attrs, before_delete)
        if len(out) > n:
            self.sources.insert(len(out) - 1 if out[-1][0] != DELETE or kind == DELETE
                                else len(out) - 2, source)
            return
        # joined to an item: undone where loro keeps them apart
        at = len(out) - 1
        if kind == INSERT and before_delete and out[at][0] == DELETE:
            at -= 1
        if self.keeps(kind, attrs) and self.sources[at] != source \
                and not isinstance(payload, list):
            it = out[at]
            if kind == INSERT:
                it[1] = it[1][:len(it[1]) - len(payload)]
            else:
                it[1] -= payload
            out.insert(at + 1, [kind, payload, attrs])
            self.sources.insert(at + 1, source)


def _text_insert(kind, attrs):
    return kind == INSERT


def seq_compose(a, b):
    """The sequence diff of applying `a`, then `b`. As loro composes in place, an insert or
    a retain with attributes joins the item before only when both come from one item of
    `a` (or of `b`)."""
    if not a:
        return [list(x) for x in b]
    out = _Sourced(_keeps_boundary)
    x, y = _Cursor(a), _Cursor(b)
    while x.more() or y.more():
        if y.kind() == INSERT:
            src = ("b", y.i)
            k, p, at = y.take(y.length())
            out.put(INSERT, p, at, src, True)
        elif x.kind() == DELETE:
            k, p, at = x.take(x.length())
            out.put(DELETE, p, None, None)
        else:
            n = min(x.length(), y.length())
            src = ("a", x.i)
            xk, xp, xa = x.take(n)
            yk, yp, ya = y.take(n)
            if yk == RETAIN:
                if xk == RETAIN:
                    out.put(RETAIN, n, _merge_attrs(xa, ya), src)
                else:
                    out.put(INSERT, xp, _merge_attrs(xa, ya), src, True)
            elif xk == RETAIN:
                out.put(DELETE, n, None, None)
            # an insert of `a` deleted by `b` vanishes
    return chop(out.items)


def seq_transform(a, b, left_prior):
    """`a` moved past the concurrent `b` (applying `b` then the result equals applying the
    intent of both). With `left_prior`, inserts of `a` at the same place go first. Retains
    keep `a`'s attributes (loro does not transform them either). Loro pushes each piece;
    its text inserts join only the parts of one item of `a` (see _Sourced)."""
    out = _Sourced(_text_insert)
    x, y = _Cursor(a), _Cursor(b)
    while x.more() or y.more():
        if x.kind() == INSERT and (left_prior or y.kind() != INSERT):
            src = x.i
            k, p, at = x.take(x.length())
            out.put(INSERT, p, at, src)
        elif y.kind() == INSERT:
            n = y.length()
            y.take(n)
            out.put(RETAIN, n, None, None)
        else:
            n = min(x.length(), y.length())
            xk, _, xa = x.take(n)
            yk, _, _ = y.take(n)
            if yk == DELETE:
                continue
            if xk == DELETE:
                out.put(DELETE, n, None, None)
            else:
                out.put(RETAIN, n, xa if xk == RETAIN else None, None)
    return chop(out.items)


def seq_transform_pos(items, pos, left_prior):
    """Where position `pos` is after `items` are applied (loro's rule, including its
    handling of a position inside a deleted range)."""
    index = 0
    for k, p, _ in items:
        if k == RETAIN:
            index += p
            if index > pos or (index == pos and not left_prior):
                return pos
        elif k == INSERT:
            if index == pos and not left_prior:
                return pos
            pos += len(p)
            index += len(p)
        else:
            pos = max(pos - p, 0)
            if pos < index:
                return index
    return pos


# -- one container's diff: (kind, content)

def compose(a, b):
    """Diff `a` then diff `b` of one container."""
    kind = a[0]
    if kind != b[0]:
        return a
    if kind == SEQ:
        return (SEQ, seq_compose(a[1], b[1]), a[2])
    if kind == MAP:
        m = dict(a[1])
        for key, entry in b[1].items():
            old = m.get(key)
            if old is None or old[1] is None or entry[1] is None or entry[1] > old[1]:
                m[key] = entry
        return (MAP, m)
    if kind == COUNTER:
        return (COUNTER, a[1] + b[1])
    return a


def transform(a, b, left_prior):
    """Diff `a` of one container moved past the concurrent diff `b` of it."""
    if a[0] != b[0]:
        return a
    if a[0] == SEQ:
        return (SEQ, seq_transform(a[1], b[1], left_prior), a[2])
    if a[0] == MAP and not left_prior:
        return (MAP, {k: v for k, v in a[1].items() if k not in b[1]})
    return a


def is_empty(d):
    if d[0] == COUNTER:
        return abs(d[1]) < 2.220446049250313e-16
    if d[0] == OTHER:
        return True
    return not d[1]


def from_public(diff, idlp_of=None):
    """The internal form of a public Diff; `idlp_of(key)` gives a map key's write."""
    if isinstance(diff, Diff.Text):
        items = []
        for it in diff.diff:
            if isinstance(it, TextDelta.Retain):
                item = [RETAIN, it.retain, it.attributes or None]
            elif isinstance(it, TextDelta.Insert):
                item = [INSERT, it.insert, it.attributes or None]
            else:
                item = [DELETE, it.delete, None]
            if _keeps_boundary(item[0], item[2]):
                if item[1]:
                    items.append(item)
            else:
                push(items, item[0], item[1], item[2])
        return (SEQ, items, "text")
    if isinstance(diff, Diff.List):
        items = []
        for it in diff.diff:
            if isinstance(it, ListDiffItem.Retain):
                push(items, RETAIN, it.retain)
            elif isinstance(it, ListDiffItem.Insert):
                push(items, INSERT, list(it.insert))
            else:
                push(items, DELETE, it.delete)
        return (SEQ, items, "list")
    if isinstance(diff, Diff.Map):
        return (MAP, {k: (v, None if idlp_of is None else idlp_of(k))
                      for k, v in diff.diff.updated.items()})
    if isinstance(diff, Diff.Counter):
        return (COUNTER, float(diff.diff))
    return (OTHER, diff)


def to_public(d):
    """The public Diff of an internal one."""
    if d[0] == SEQ:
        text = d[2] == "text"
        out = []
        for k, p, a in d[1]:
            if k == RETAIN:
                out.append(TextDelta.Retain(p, a) if text else ListDiffItem.Retain(p))
            elif k == INSERT:
                out.append(TextDelta.Insert(p, a) if text else ListDiffItem.Insert(list(p)))
            else:
                out.append(TextDelta.Delete(p) if text else ListDiffItem.Delete(p))
        return Diff.Text(out) if text else Diff.List(out)
    if d[0] == MAP:
        return Diff.Map(MapDelta({k: v for k, (v, _) in d[1].items()}))
    if d[0] == COUNTER:
        return Diff.Counter(d[1])
    return d[1]


def transform_pos(d, pos, left_prior):
    return seq_transform_pos(d[1], pos, left_prior) if d[0] == SEQ else pos


class Batch:
    """Diffs of several containers, in order (loro's DiffBatch with compose/transform)."""
    __slots__ = ("diffs",)

    def __init__(self, diffs=None):
        self.diffs = {} if diffs is None else diffs      # ContainerID -> diff, in order

    @classmethod
    def from_diff_batch(cls, batch):
        """From a DiffBatch of LoroDoc.diff (which knows the writes behind map values)."""
        b = cls()
        idlp = batch._idlp or {}
        for cid, diff in batch.get_diff():
            b.add(cid, from_public(diff, lambda k, cid=cid: idlp.get((cid, k))))
        return b

    def add(self, cid, d):
        """Compose `d` after what this batch already holds for `cid`."""
        old = self.diffs.get(cid)
        self.diffs[cid] = d if old is None else compose(old, d)

    def copy(self):
        return Batch(dict(self.diffs))

    def compose(self, other):
        for cid, d in other.diffs.items():
            self.add(cid, d)

    def transform(self, other, left_prior):
        if not other.diffs:
            return
        for cid, d in self.diffs.items():
            b = other.diffs.get(cid)
            if b is not None:
                self.diffs[cid] = transform(d, b, left_prior)

    def clear(self):
        self.diffs.clear()

    def pairs(self):
        return [(cid, to_public(d)) for cid, d in self.diffs.items()]
