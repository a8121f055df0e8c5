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
  diff moves past concurrent inserts there). A composition follows loro's in-place one
  (:func:`rope_compose`): where an insert meets a delete, the order is the one loro's rope
  ends with, and deletes of different rope items stay apart (see _APART).
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


def push(items, kind, payload, attrs=None, list_room=False):
    """Append an item, merging it with the last one as loro's delta rope merges. A text
    insert after a delete stays after it (loro keeps a pure delete and a following insert
    apart); with `list_room`, a list insert joins the delete's item as loro's push does
    (see _push_list_insert_after_delete)."""
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
        if items and items[-1][0] == INSERT and same_attrs(items[-1][2], attrs):
            items[-1][1] = items[-1][1] + payload
        elif list_room and items and items[-1][0] == DELETE and isinstance(payload, list):
            _push_list_insert_after_delete(items, payload, attrs)
        else:
            items.append([INSERT, payload, attrs])


def _push_list_insert_after_delete(items, payload, attrs):
    """Loro pushes an insert into its last Replace item when the values fit (a list's
    ArrayVec holds 8): after a delete, a list insert joins the delete's item, so it comes
    before that delete (after the insert the delete belongs to, if any)."""
    d = items[-1]
    own = len(items) > 1 and items[-2][0] == INSERT and d[2] != _APART
    if own:
        prev = items[-2]
        if same_attrs(prev[2], attrs) and len(prev[1]) + len(payload) <= _LIST_ROOM:
            prev[1] = prev[1] + payload
            return
    elif len(payload) <= _LIST_ROOM and not attrs:
        items.insert(len(items) - 1, [INSERT, payload, attrs])
        d[2] = None
        return
    items.append([INSERT, payload, attrs])


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

    def put(self, kind, payload, attrs, source):
        out = self.items
        n = len(out)
        push(out, kind, payload, attrs, True)
        if len(out) > n:
            self.sources.append(source)
            return
        # joined to an item: undone where loro keeps them apart
        at = len(out) - 1
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


# -- composition, in place as loro's delta rope does it

# Loro's rope holds Retain items and Replace items (an insert, then a delete). A composed
# diff is kept here as the items loro's rope holds: adjacent deletes stay apart (they are
# different items), and a delete right after an insert, which is otherwise taken as that
# insert's own (loro's builder and push add it to the Replace item before), carries _APART
# in its attributes slot when it is an item of its own.
_APART = "apart"

_REP = 1        # loro's Replace item in the rope: [_REP, value, attrs, delete, source]
_LIST_ROOM = 8  # a list diff's insert holds at most 8 values (loro's ArrayVec)


class _Empty:
    """The value of a delete item: an empty str or list, whichever it meets."""
    __slots__ = ()

    def __len__(self):
        return 0

    def __bool__(self):
        return False

    def __getitem__(self, key):
        return self

    def __add__(self, other):
        return other

    __radd__ = __add__


_EMPTY = _Empty()


def _dlen(it):
    return it[1] if it[0] == RETAIN else len(it[1])


def _rle(it):
    return it[1] if it[0] == RETAIN else len(it[1]) + it[3]


def _to_rope(items, tag):
    rope = []
    for i, (k, p, at) in enumerate(items):
        if k == RETAIN:
            rope.append([RETAIN, p, at, (tag, i)])
        elif k == INSERT:
            rope.append([_REP, p, at, 0, (tag, i)])
        elif rope and rope[-1][0] == _REP and rope[-1][1] and not rope[-1][3] \
                and at != _APART and items[i - 1][0] == INSERT:
            rope[-1][3] = p
        else:
            rope.append([_REP, _EMPTY, None, p, (tag, i)])
    return rope


def _from_rope(rope, is_list):
    out, srcs = [], []
    for it in rope:
        if it[0] == RETAIN:
            n, at, src = it[1], it[2], it[3]
            if not n:
                continue
            if out and out[-1][0] == RETAIN and same_attrs(out[-1][2], at) \
                    and (not at or srcs[-1] == src):
                out[-1][1] += n
            else:
                out.append([RETAIN, n, at])
                srcs.append(src)
            continue
        v, at, d, src = it[1], it[2], it[3], it[4]
        if v:
            if out and out[-1][0] == INSERT and (is_list or srcs[-1] == src) \
                    and same_attrs(out[-1][2], at):
                out[-1][1] = out[-1][1] + v
            else:
                out.append([INSERT, v, at])
                srcs.append(src)
            if d:
                out.append([DELETE, d, None])
                srcs.append(src)
        elif d:
            out.append([DELETE, d, _APART if out and out[-1][0] == INSERT else None])
            srcs.append(src)
    return chop(out)


def _query(rope, pos):
    """Loro's length finder: the item holding text position `pos` and the offset in it.
    Items without text (deletes) are passed; past the end, the last item."""
    left = pos
    for i, it in enumerate(rope):
        n = _dlen(it)
        if left < n:
            return i, left
        left -= n
    i = len(rope) - 1
    return i, left + _dlen(rope[i])


def _split(rope, i, off):
    """Split item i at `off` (0 < off < its length with deletes), as loro splits."""
    it = rope[i]
    if it[0] == RETAIN:
        right = [RETAIN, it[1] - off, it[2], it[3]]
        it[1] = off
    elif off < len(it[1]):
        right = [_REP, it[1][off:], it[2], it[3], it[4]]
        it[1] = it[1][:off]
        it[3] = 0
    else:
        n = len(it[1]) + it[3] - off
        right = [_REP, _EMPTY, None, n, it[4]]
        it[3] -= n
    rope.insert(i + 1, right)


def _range(rope, start, end):
    """Split the items at text positions `start` and `end`; the slice of items between."""
    ti, to = _query(rope, end)
    if 0 < to < _rle(rope[ti]):
        _split(rope, ti, to)
        hi = ti + 1
    else:
        hi = ti if to == 0 else ti + 1
    fi, fo = _query(rope, start)
    if fo:
        _split(rope, fi, fo)
        return fi + 1, hi + 1
    return fi, hi


def _insert(rope, pos, item, is_list):
    if not rope:
        rope.append(item)
        return
    i, off = _query(rope, pos)
    it = rope[i]
    if it[0] == _REP:
        # the item at the cursor takes the new one in when it can (two deletes; a list
        # value with room for both, at most 8 elements)
        if not it[1] and not item[1]:
            it[3] += item[3]
            return
        if is_list and same_attrs(it[2], item[2]) and len(it[1]) + len(item[1]) <= _LIST_ROOM:
            it[1] = it[1][:off] + item[1] + it[1][off:]
            it[3] += item[3]
            return
    if off == 0:
        rope.insert(i, item)
    elif off >= _rle(rope[i]):
        rope.insert(i + 1, item)
    else:
        _split(rope, i, off)
        rope.insert(i + 1, item)


def _rope_len(rope):
    return sum(_dlen(it) for it in rope)


def _compose_replace(rope, v, at, d, index, src, is_list):
    insert = bool(v)
    left = d
    n = _rope_len(rope)
    if d and index != n:
        end = min(index + d, n)
        fi, fo = _query(rope, index)
        ti, to = _query(rope, end)
        if fi == ti:
            # within one item: the replace takes the place of the deleted part
            it = rope[fi]
            parts = []
            if it[0] == RETAIN:
                if fo:
                    parts.append([RETAIN, fo, it[2], it[3]])
                parts.append([_REP, v, at, d, src])
                if to < it[1]:
                    parts.append([RETAIN, it[1] - to, it[2], it[3]])
            else:
                va = it[1]
                vs, ve = min(fo, len(va)), min(to, len(va))
                da = it[3] + d - (ve - vs)
                if vs:
                    parts.append([_REP, va[:vs], it[2], 0, it[4]])
                parts.append([_REP, v, at, 0, src])
                if ve < len(va):
                    parts.append([_REP, va[ve:], it[2], da, it[4]])
                elif da:
                    parts.append([_REP, _EMPTY, None, da, it[4]])
            rope[fi:fi + 1] = parts
            insert, left = False, 0
        else:
            # across items: each becomes a delete, or loses its text
            lo, hi = _range(rope, index, end)
            for it in rope[lo:hi]:
                if it[0] == RETAIN:
                    left -= it[1]
                    it[:] = [_REP, _EMPTY, None, it[1], it[3]]
                elif it[1]:
                    left -= len(it[1])
                    it[1], it[2] = _EMPTY, None
        rope[:] = [it for it in rope if _rle(it)]
    if left or insert:
        _insert(rope, index, [_REP, v if insert else v[:0], at if insert else None, left, src],
                is_list)


def rope_compose(a, b, is_list=False):
    """The sequence diff of applying `a`, then `b`, composed as loro's delta rope composes
    in place: `b`'s items are applied to `a`'s items one by one.

    * A retain of `b` only sets attributes (splitting items at its ends); one reaching past
      the end of `a` extends it.
    * A delete of `b` (with the insert its item may carry) inside one item of `a` (or
      running past the end from `a`'s last item) takes the place of the deleted part: one
      item that inserts, then deletes; an insert of `a` loses the deleted text, the deletes
      past its text join its own. A delete across items of `a` turns each retain into a
      delete and takes the text of each insert; the insert comes after.
    * An insert is placed where the text position falls: after every delete at that
      position (deletes hold no text and finding a position passes them), before the next
      item with text; where no text follows, before the last item (a delete).
    * From the end of `a` on, `b`'s items are appended.
    Items keep their identity (text inserts of different items stay apart, as their bytes
    do not follow each other); deletes of different items too, as where the last item
    starts decides where an insert goes. A list item joins another (or takes an insert in)
    when both values fit in 8 elements, so a list insert pushed after a delete, or placed
    at a delete that ends the rope, joins it as an insert before that delete."""
    if not a:
        return [list(x) for x in b]
    rope = _to_rope(a, "a")
    index = 0
    rest = False
    for it in _to_rope(b, "b"):
        n = _rope_len(rope)
        if not rest and index >= n:
            if index > n:
                _push_retain(rope, index - n, None, ("x", index))
            rest = True
        if rest:
            if it[0] == RETAIN:
                _push_retain(rope, it[1], it[2], it[3])
            else:
                last = rope[-1] if rope else None
                if is_list and last is not None and last[0] == _REP \
                        and same_attrs(last[2], it[2]) and len(last[1]) + len(it[1]) <= _LIST_ROOM:
                    last[1] = last[1] + it[1]
                    last[3] += it[3]
                else:
                    rope.append(it)
            continue
        if it[0] == RETAIN:
            if n < index + it[1]:
                _push_retain(rope, index + it[1] - n, None, ("x", index))
            if it[2]:
                lo, hi = _range(rope, index, index + it[1])
                for x in rope[lo:hi]:
                    x[2] = _merge_attrs(x[2], it[2])
            index += it[1]
        else:
            _compose_replace(rope, it[1], it[2], it[3], index, it[4], is_list)
            index += len(it[1])
    return _from_rope(rope, is_list)


def _push_retain(rope, n, at, src):
    if rope and rope[-1][0] == RETAIN and same_attrs(rope[-1][2], at):
        rope[-1][1] += n
    else:
        rope.append([RETAIN, n, at, src])


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
        return (SEQ, rope_compose(a[1], b[1], a[2] != "text"), a[2])
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
            if k == DELETE and out and type(out[-1]) is (TextDelta.Delete if text
                                                          else ListDiffItem.Delete):
                out[-1] = (TextDelta.Delete if text else ListDiffItem.Delete)(
                    out[-1].delete + p)
                continue
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
