"""Applying a DiffBatch (LoroDoc.apply_diff, revert_to) as local edits through the public
handles, in the batch's order. A list insert or map entry that holds a container creates a
new one of that kind; the batch's later diffs of the old container go to the new one. A
movable list keeps (and moves) a child its delta deletes and inserts again."""

from loro_c import _types
from loro_c._diff_apply import apply_movable, seq_end
from loro_c.errors import LoroTypeError, OutOfBoundsError
from loro_c.events import Diff, DiffBatch, ListDiffItem
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
        n = seq_end(doc, diff.diff, n, created, isinstance(diff, Diff.Text))
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
            apply_movable(h, diff.diff, made, _new_container)
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
