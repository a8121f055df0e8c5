"""Applying a DiffBatch (LoroDoc.apply_diff, revert_to) as local edits through the public
handles, in the batch's order. A list insert or map entry that holds a container creates a
new one of that kind; the batch's later diffs of the old container go to the new one. A
movable list keeps (and moves) a child its delta deletes and inserts again."""
from bisect import bisect_left

from loro_c import _types
from loro_c.errors import LoroTypeError, OutOfBoundsError
from loro_c.events import Diff, DiffBatch, ListDiffItem, TextDelta
from loro_c.hash_order import str_key_order, undo_key_order

_KINDS = {"Text": "LoroText", "List": "LoroList", "Map": "LoroMap", "Counter": "LoroCounter",
          "MovableList": "LoroMovableList", "Tree": "LoroTree"}
_GETTERS = {"MovableList": "get_movable_list"}


def _new_container(cid):
    import loro_c
    return getattr(loro_c, _KINDS[str(cid.container_type)])()


def _handle(doc, cid):
    if isinstance(cid, _types.ContainerID.Root):
        kind = str(cid.container_type)
        # by id: a mergeable child's reserved name is refused as a name
        return getattr(doc, _GETTERS.get(kind) or "get_" + kind.lower())(cid)
    return doc.get_container(cid)


def _put(v, insert, insert_container, made):
    """Insert a plain value, or a new container of the kind a ValueOrContainer names (the
    batch's later diffs of the old one go to it)."""
    if _types.ValueOrContainer.is_container(v):
        old = v.container.id
        made[old] = insert_container(_new_container(old)).id
    else:
        insert(v.value if _types.ValueOrContainer.is_value(v) else v)


def _apply_text(h, items):
    """As loro's apply_diff: the text's apply_delta (inserts take exactly their attributes,
    retains with attributes mark or unmark; the marks are written after the edits)."""
    h.apply_delta(items)


def _resolve(cid, to_delete, made):
    """The id an inserted child is looked up by: itself when the delta deletes it here,
    else along the batch's renames until one the delta deletes (or the last)."""
    if cid in to_delete:
        return cid
    while cid in made:
        cid = made[cid]
        if cid in to_delete:
            break
    return cid


def _children(h):
    cid_type = _types.ContainerID
    return {x for x in h.to_vec() if isinstance(x, cid_type)}


def _apply_movable(h, items, made):
    """A movable list's delta, as loro's apply_diff gives it: a child the delta deletes
    and inserts again is kept and moved (its id, content and the batch's later diffs stay
    its own); every other deleted element goes first, the runs back to front; then the
    inserts in order. An insert that comes from a move of a child the list holds
    elsewhere is left out; other children are new (empty) containers."""
    Retain, Delete = ListDiffItem.Retain, ListDiffItem.Delete
    Container, Value = _types.ValueOrContainer.Container, _types.ValueOrContainer.Value
    cid_type = _types.ContainerID
    n = len(h)
    # the original positions each replacement deletes: loro's delta joins the deletes and
    # inserts between two retains into replacements of at most 8 values that agree on
    # is_move (False for one that only deletes); a delete joins the one before it
    ranges = []
    pos = 0
    group = None            # [start, stop, is_move, number of values]
    for item in items:
        if isinstance(item, Retain):
            pos += item.retain
            group = None
        elif isinstance(item, Delete):
            if group is None:
                group = [pos, pos, False, 0]
                ranges.append(group)
            pos += item.delete
            group[1] = pos
        else:
            k = len(item.insert)
            if group is None or group[2] != item.is_move or group[3] + k > 8:
                k = (k - 1) % 8 + 1         # (the values of the last replacement)
                group = [pos, pos, item.is_move, 0]
                ranges.append(group)
            group[3] += k
    ranges = [range(a, b) for a, b, _, _ in ranges if b > a]
    to_delete = {}
    if ranges:
        values = h.to_vec()         # (children as their ids; no plain value is one)
        for r in ranges:
            for p in r:
                x = values[p]
                if isinstance(x, cid_type):
                    to_delete[x] = p
    # which of them an insert takes back (the first insert of each)
    kept = set()
    if to_delete:
        left = dict(to_delete)
        for item in items:
            if not isinstance(item, (Retain, Delete)):
                for v in item.insert:
                    if isinstance(v, Container):
                        p = left.pop(_resolve(v.container.id, left, made), None)
                        if p is not None:
                            kept.add(p)
    # the rest goes first: each delete's runs between kept children, back to front
    runs = []
    for r in ranges:
        start = r.start
        if kept:
            for p in r:
                if p in kept:
                    if p > start:
                        runs.append((start, p))
                    start = p + 1
        if r.stop > start:
            runs.append((start, r.stop))
    # The list is `before` (what lies before the cursor: original positions, None for
    # what this delta inserts) then rest[s0:] (what lies after it: original elements, in
    # their order, as a delta only inserts and moves to the cursor). The cursor stays at a
    # delete (its kept children stay after it) and a retain takes it past its last element
    # (and so past the kept children before that).
    if runs:
        from loro_c._doc import ml_delete_runs
        ml_delete_runs(h.doc(), h.id, runs[::-1])       # (one view of the list for all)
        rest = []
        prev = 0
        for a, b in runs:
            rest.extend(range(prev, a))
            prev = b
        rest.extend(range(prev, n))
    else:
        rest = list(range(n))
    # Before the cursor only the kept children are looked up: each gets a number as it
    # goes there (in order, one per element that goes there) and its position is that
    # number less the elements numbered before it that a later move took away (counted in
    # a Fenwick tree: a kept child can be moved back to the cursor from anywhere).
    nb = 0                  # the length of what lies before the cursor
    seq = 0                 # the next number
    number = {}             # kept child (original position) before the cursor -> number
    gone = [0] * (n + sum(len(item.insert) for item in items
                          if not isinstance(item, (Retain, Delete))) + 2)
    s0 = 0
    held = None             # the children the list holds (the new ones have new ids)
    opos = 0
    insert = h.insert
    for item in items:
        if isinstance(item, Retain):
            if item.retain:
                # (what a retain passes lies ahead of the cursor)
                last = opos + item.retain - 1
                q = bisect_left(rest, last, s0)
                if q == len(rest) or rest[q] != last:
                    q = rest.index(last, s0)        # (raises: not there)
                if kept:
                    for j in range(s0, q + 1):
                        if rest[j] in kept:
                            number[rest[j]] = seq + j - s0
                seq += q + 1 - s0
                nb += q + 1 - s0
                s0 = q + 1
            opos += item.retain
        elif isinstance(item, Delete):
            opos += item.delete
        else:
            for v in item.insert:
                if not isinstance(v, Container):
                    insert(nb, v.value if isinstance(v, Value) else v)
                    nb += 1
                    seq += 1
                    continue
                cid = v.container.id
                p = to_delete.get(cid)
                if p is None and cid in made:
                    cid = _resolve(cid, to_delete, made)
                    p = to_delete.get(cid)
                if p is not None and p in kept:
                    del to_delete[cid]
                    q = bisect_left(rest, p, s0)
                    if q < len(rest) and rest[q] == p:
                        if q != s0:
                            h.mov(nb + q - s0, nb)
                        del rest[q]
                        nb += 1
                    else:
                        k = number[p]
                        h.mov(k - _fenwick_sum(gone, k), nb - 1)
                        _fenwick_add(gone, k + 1)       # (the tree counts from 1)
                    number[p] = seq
                    seq += 1
                else:
                    if item.is_move:
                        if held is None:
                            held = _children(h)         # (read once, then kept up)
                        if cid in held:
                            continue
                    made[cid] = h.insert_container(nb, _new_container(cid)).id
                    if held is not None:
                        held.add(made[cid])
                    nb += 1
                    seq += 1


def _fenwick_add(tree, i):
    while i < len(tree):
        tree[i] += 1
        i += i & -i


def _fenwick_sum(tree, k):
    """How many of the numbers below k (1-based positions 1..k) were added."""
    total = 0
    while k > 0:
        total += tree[k]
        k -= k & -k
    return total


def _apply_list(h, items, made):
    pos = 0
    pending = []            # the inserts of the current gap: loro deletes first, then inserts
    for item in items:
        if isinstance(item, ListDiffItem.Insert):
            pending.extend((v, item.is_move) for v in item.insert)
            continue
        if isinstance(item, ListDiffItem.Delete):
            h.delete(pos, item.delete)
        pos = _insert_values(h, pos, pending, made)
        pending = []
        if isinstance(item, ListDiffItem.Retain):
            pos += item.retain
    _insert_values(h, pos, pending, made)


def _insert_values(h, pos, values, made):
    Value = _types.ValueOrContainer.Value
    insert = h.insert
    for v, _ in values:
        if isinstance(v, Value):
            insert(pos, v.value)        # (the common case, without _put's closures)
        else:
            _put(v, lambda x: insert(pos, x), lambda c: h.insert_container(pos, c), made)
        pos += 1
    return pos


# key of `made` holding the mergeable children a map diff of the batch ensured
ENSURED = object()


def _apply_map(h, updated, made, for_undo=False):
    from loro_c import mergeable
    # an undo writes the keys in the order loro's maps of them yield them: the Lamport
    # clocks of the new ops follow it (and so does which of two concurrent writes wins)
    # apply_diff: as loro's, which passes the batch's map through another hash map (the
    # order measured: all of 242 maps of 2-3 keys, 24 of 200 of 2-40 keys; the batch's
    # own order gives 129 and 2)
    for key in (undo_key_order(updated) if for_undo else str_key_order(updated)):
        v = updated[key]
        if v is None:
            h.delete(key)
        elif _types.ValueOrContainer.is_container(v) and \
                (mergeable.parse_child(v.container.id) or (None, None))[1] == key:
            # a mergeable child is ensured (its marker written), as loro's apply_diff does
            old = v.container.id
            new = mergeable.child_cid(h.id, key, old.container_type)
            existed = h.doc()._has_ops(new)
            # the marker is written over whatever the key holds, as loro's apply_diff does
            h._insert_always(key, mergeable.marker(h.id, key, old.container_type.kind))
            if new != old:
                made[old] = new
            if existed:
                # loro then leaves the child's own diff in the batch alone: a child that
                # has state shows it again (the batch holds a copy of it)
                made.setdefault(ENSURED, set()).add(new)
        else:
            # every key is written, even with the value it holds (as loro's apply_diff does)
            _put(v, lambda x: h._insert_always(key, x), lambda c: h.insert_container(key, c),
                 made)


def _check_positions(doc, batch):
    """Refuse a batch whose retains or deletes reach past a sequence's end (as it will be
    when the batch's earlier diffs are applied) before anything is applied: like loro's,
    apply_diff is all or nothing there."""
    lengths = {}
    created = set()
    Container = _types.ValueOrContainer.Container
    for cid, diff in batch.get_diff():
        if isinstance(diff, Diff.Map):
            created.update(v.container.id for v in diff.diff.updated.values()
                           if v is not None and _types.ValueOrContainer.is_container(v))
        if not isinstance(diff, (Diff.Text, Diff.List)):
            continue
        n = lengths.get(cid)
        if n is None:
            # (a lookup that registers nothing: a root the document has not shown yet is new)
            h = None if cid in created else doc._known_container(cid)
            if h is None and not isinstance(cid, _types.ContainerID.Root) and cid not in created:
                continue        # a container the document does not have: skipped by apply
            n = 0 if h is None else h.len_unicode if isinstance(diff, Diff.Text) else len(h)
        pos = 0
        if isinstance(diff, Diff.Text):
            Retain, Insert = TextDelta.Retain, TextDelta.Insert
        else:
            Retain, Insert = ListDiffItem.Retain, ListDiffItem.Insert
        for item in diff.diff:
            if isinstance(item, Retain):
                pos += item.retain
                if pos > n:
                    raise OutOfBoundsError(f"Index out of bound. The given pos is {pos}, "
                                           f"but the length is {n}")
            elif isinstance(item, Insert):
                k = len(item.insert)
                n += k
                pos += k
                if Insert is ListDiffItem.Insert:
                    for v in item.insert:
                        # (a movable list's moved child the document has is moved, not made)
                        if isinstance(v, Container) and not (
                                item.is_move and
                                doc._known_container(v.container.id) is not None):
                            created.add(v.container.id)
            else:
                if pos + item.delete > n:
                    raise OutOfBoundsError(f"delete range {pos}..{pos + item.delete} is out of "
                                           f"bounds (length {n})")
                n -= item.delete
        lengths[cid] = n


def _reachable(doc, cid):
    from loro_c import _containers
    if isinstance(cid, _types.ContainerID.Root) and not cid.name.startswith("🤝:"):
        return True
    if doc._known_container(cid) is None and doc.get_container(cid) is None:
        return True                     # (unknown: left to _apply_one, which skips it)
    return _containers.container_reachable(doc, cid)


def apply(doc, batch, skip_unreachable=True):
    """LoroDoc.apply_diff: all or nothing where positions are out of bounds. As loro's,
    apply_diff leaves out the diffs of containers no root reaches (a deleted child) unless
    the batch created them anew; revert_to (`skip_unreachable` off) does not."""
    if not isinstance(batch, DiffBatch):
        raise LoroTypeError(f"apply_diff takes a DiffBatch, not {type(batch).__name__}")
    _check_positions(doc, batch)
    made = {}
    for cid, diff in batch.get_diff():
        remapped = cid in made
        while cid in made:              # (a node created anew twice: renamed twice)
            cid = made[cid]
        if cid in made.get(ENSURED, ()):
            continue
        if skip_unreachable and not remapped and not _reachable(doc, cid):
            continue
        _apply_one(doc, cid, diff, made)


def apply_for_undo(doc, pairs, remap, plans=None, elem_remap=None):
    """An undo's diff: containers recreated by earlier undos are found through `remap`
    (old id -> new id, extended here); a container no longer reachable from a root is left
    alone unless it was remapped; a diff that fails is skipped and the rest applied. These
    are loro's rules for applying an undo. A movable list with a plan (`plans`, cid ->
    undo_movable.Plan) is undone by the plan's element ops instead of its diff, also when
    the diff is empty; plans of lists the diff does not show come last."""
    from loro_c import _containers
    remap.pop(ENSURED, None)        # the children ensured by this undo's map diffs only
    try:
        _apply_for_undo(doc, pairs, remap, plans, elem_remap, _containers)
    finally:
        remap.pop(ENSURED, None)


def _apply_for_undo(doc, pairs, remap, plans, elem_remap, _containers):
    plans = dict(plans or {})
    for cid, diff in list(pairs) + [(cid, None) for cid in plans
                                    if cid not in {c for c, _ in pairs}]:
        plan = plans.get(cid)
        remapped = False
        while cid in remap:
            cid = remap[cid]
            remapped = True
        if (not isinstance(cid, _types.ContainerID.Root) or cid.name.startswith("🤝:")) \
                and not remapped and not _containers.container_reachable(doc, cid):
            continue
        if cid in remap.get(ENSURED, ()):
            continue
        try:
            if plan is not None and not remapped:
                h = _handle(doc, cid)
                if h is not None:
                    plan.apply(doc, h, elem_remap, remap)
            elif diff is not None:
                _apply_one(doc, cid, diff, remap, True)
        except (OutOfBoundsError, LoroTypeError):
            continue


def _apply_one(doc, cid, diff, made, for_undo=False):
    h = _handle(doc, cid)
    if h is None:
        return
    if isinstance(diff, Diff.Text):
        _apply_text(h, diff.diff)
    elif isinstance(diff, Diff.List):
        if str(cid.container_type) == "MovableList":
            _apply_movable(h, diff.diff, made)
        else:
            _apply_list(h, diff.diff, made)
    elif isinstance(diff, Diff.Map):
        _apply_map(h, diff.diff.updated, made, for_undo)
    elif isinstance(diff, Diff.Counter):
        h.increment(diff.diff)
    elif isinstance(diff, Diff.Tree):
        h._apply_diff(diff.diff.diff, made)     # handles/tree.pxi
    else:
        raise LoroTypeError(f"loro_c cannot apply a {type(diff).__name__} diff yet")
