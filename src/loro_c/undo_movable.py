"""Undo of a MovableList's edits, element by element, as loro 1.17.1 does it.

loro does not apply the list diff of an undo to a movable list (as delete and insert it
would lose the elements' identities); it compares the list's elements before and after
each piece of the undone span and writes element ops on the list as it is now:

* an element the span created is deleted, wherever it is now (in the current order);
* then, element by element in their order before the span:
  - one the span deleted is inserted again with its value then (a new element, which
    stands for the old one in later undos: `elem_remap`);
  - one the span moved is moved back, one it set is set back to its value then, when it
    still exists (move first, then set; a move to where it stands writes nothing).
* A revived or moved element goes right after the nearest element before it (then)
  that exists now, or, if there is none, right before the nearest one after it that
  exists now and is not itself still waiting to be revived or moved.

Which element is which: an element is named by its insert's IdLp; its position's and
value's writes (their IdLp) tell whether a piece moved or set it (`movable_items_at`).
"""
from loro_c import _doc, _types


def movable_lists(cids):
    """The movable lists among `cids` (those the span's ops changed: also a list whose
    moves end where they started, which its diff does not show)."""
    return [cid for cid in cids if str(cid.container_type) == "MovableList"]


class Plans:
    """The plans of one movable list, one per piece of the span ([(deps, last id
    frontiers)] in their order), applied from the last piece to the first (each on what
    the ones after it made, through `elem_remap`)."""
    __slots__ = ("plans",)

    def __init__(self, doc, cid, pieces):
        versions = []
        for deps, last in pieces:
            versions += [deps, last]
        snaps = _doc.movable_items_at(doc, versions, cid)
        self.plans = [Plan(cid, snaps[k], snaps[k + 1]) for k in range(0, len(snaps), 2)]

    def apply(self, doc, h, elem_remap, remap):
        for plan in reversed(self.plans):
            plan.apply(doc, h, elem_remap, remap)


class Plan:
    """What undoing one piece means for one movable list, from its elements before and
    after the piece."""
    __slots__ = ("cid", "created", "revive", "set_to", "moved", "order", "seq_of")

    def __init__(self, cid, before, after):
        self.cid = cid
        self.created = set()
        self.revive = {}        # element -> its value before
        self.set_to = {}        # element -> its value before
        self.moved = set()
        self.order = []         # the changed elements, in their order before the piece
        self.seq_of = {}        # element -> the element order it is anchored in
        self._add_piece(before, after)

    def _add_piece(self, before, after):
        after_by = {r[0]: r for r in after}
        before_seq = [r[0] for r in before]
        before_ids = set(before_seq)
        for r in after:
            if r[0] not in before_ids:
                self.created.add(r[0])
        for r in before:
            e = r[0]
            if e in self.created:
                continue
            a = after_by.get(e)
            changed = False
            if a is None:
                if e not in self.revive:
                    self.revive[e] = r[3]
                    changed = True
            else:
                if a[2] != r[2] and e not in self.set_to:
                    self.set_to[e] = r[3]
                    changed = True
                if a[1] != r[1] and e not in self.moved:
                    self.moved.add(e)
                    changed = True
            if changed and e not in self.seq_of:
                self.seq_of[e] = before_seq
                self.order.append(e)

    def apply(self, doc, h, elem_remap, remap):
        """Write the plan's ops on `h` (the list's handle), extending `elem_remap` with the
        elements it revives and `remap` with the containers it recreates."""
        def resolve(e):
            while e in elem_remap:
                e = elem_remap[e]
            return e

        current = [r[0] for r in _items(doc, self.cid)]
        doomed = [e for e in current if e in {resolve(x) for x in self.created}]
        for e in doomed:
            h.delete(current.index(e), 1)
            current.remove(e)
        pending = {e for e in self.order if e in self.moved or e in self.revive}
        for e in self.order:
            pending.discard(e)
            if e in self.revive:
                if resolve(e) in current:
                    continue
                at = self._anchor(e, current, pending, resolve)
                _put(h, at, self.revive[e], remap, False)
                new = _items(doc, self.cid)[at][0]
                elem_remap[e] = new
                current.insert(at, new)
                continue
            ce = resolve(e)
            if ce not in current:
                continue
            if e in self.moved:
                i = current.index(ce)
                current.pop(i)
                # (an anchor that is the element itself, an old element revived by an
                # undo that a concurrent move brought back too, keeps it where it is)
                at = self._anchor(e, current, pending, resolve, ce)
                at = i if at is None else at
                current.insert(at, ce)
                if at != i:
                    h.mov(i, at)
            if e in self.set_to:
                _put(h, current.index(ce), self.set_to[e], remap, True)

    def _anchor(self, e, current, pending, resolve, itself=None):
        seq = self.seq_of[e]
        j = seq.index(e)
        for k in range(j - 1, -1, -1):
            x = resolve(seq[k])
            if x == itself:
                return None
            if x in current:
                return current.index(x) + 1
        for k in range(j + 1, len(seq)):
            if seq[k] in pending:
                continue
            x = resolve(seq[k])
            if x == itself:
                return None
            if x in current:
                return current.index(x)
        return 0


def _items(doc, cid):
    return _doc.movable_items_at(doc, [None], cid)[0]


def _put(h, at, value, remap, replace):
    """Insert (or, `replace`, set) `value` at `at`: a child container is made anew, and the
    batch's later diffs of the old one go to it."""
    if isinstance(value, _types.ContainerID):
        from loro_c.diffs import _new_container
        child = _new_container(value)
        new = h.set_container(at, child) if replace else h.insert_container(at, child)
        remap[value] = new.id
    elif replace:
        h.set(at, value)
    else:
        h.insert(at, value)
