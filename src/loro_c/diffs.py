"""Applying a DiffBatch (LoroDoc.apply_diff, revert_to) as local edits through the public
handles, in the batch's order. A list insert or map entry that holds a container creates a
new one of that kind; the batch's later diffs of the old container go to the new one."""
from loro_c import _types
from loro_c.errors import LoroTypeError
from loro_c.events import Diff, DiffBatch, ListDiffItem, TextDelta

_KINDS = {"Text": "LoroText", "List": "LoroList", "Map": "LoroMap", "Counter": "LoroCounter"}


def _new_container(cid):
    import loro_c
    return getattr(loro_c, _KINDS[str(cid.container_type)])()


def _handle(doc, cid):
    if isinstance(cid, _types.ContainerID.Root):
        return getattr(doc, "get_" + str(cid.container_type).lower())(cid.name)
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
    pos = 0
    for item in items:
        if isinstance(item, TextDelta.Retain):
            pos += item.retain
        elif isinstance(item, TextDelta.Insert):
            h.insert(pos, item.insert)
            pos += len(item.insert)
        else:
            h.delete(pos, item.delete)


def _apply_list(h, items, made):
    pos = 0
    for item in items:
        if isinstance(item, ListDiffItem.Retain):
            pos += item.retain
        elif isinstance(item, ListDiffItem.Insert):
            for v in item.insert:
                _put(v, lambda x: h.insert(pos, x), lambda c: h.insert_container(pos, c), made)
                pos += 1
        else:
            h.delete(pos, item.delete)


def _apply_map(h, updated, made):
    for key, v in updated.items():
        if v is None:
            h.delete(key)
        else:
            _put(v, lambda x: h.insert(key, x), lambda c: h.insert_container(key, c), made)


def apply(doc, batch):
    if not isinstance(batch, DiffBatch):
        raise LoroTypeError(f"apply_diff takes a DiffBatch, not {type(batch).__name__}")
    made = {}
    for cid, diff in batch.get_diff():
        h = _handle(doc, made.get(cid, cid))
        if h is None:
            continue
        if isinstance(diff, Diff.Text):
            _apply_text(h, diff.diff)
        elif isinstance(diff, Diff.List):
            _apply_list(h, diff.diff, made)
        elif isinstance(diff, Diff.Map):
            _apply_map(h, diff.diff.updated, made)
        elif isinstance(diff, Diff.Counter):
            h.increment(diff.diff)
        else:
            raise LoroTypeError(f"loro_c cannot apply a {type(diff).__name__} diff yet")
