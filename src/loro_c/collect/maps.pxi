# Included by _events.pyx: a map's diff: the keys whose winner changed, with their values now.


DEF MAP_DIFF_FEW = 32


cdef object map_diff(LoroDoc doc, uint32_t c, list idxs, bint compare_values, list shown,
                     list reached=None, bint checkout=False, list shown_again=None):
    """The keys whose winner changed; with `compare_values`, only those whose value changed
    (a key that had no entry before always counts). Across a checkout, as loro: a key
    whose winner is another write of an equal value is left out, but one going from
    deleted to never written (or back) is reported."""
    cdef lc_map_entry *e
    cdef lc_ev_note *note
    cdef uint32_t key
    cdef int64_t slot, j
    # the keys met so far: a scan of a C array for a few notes (a set of Python ints cost
    # two allocations and two hashed lookups per key)
    cdef uint32_t few[MAP_DIFF_FEW]
    cdef int64_t n_few = 0
    cdef bint dup
    values = doc.log.values
    updated = {}
    seen = set() if len(idxs) > MAP_DIFF_FEW else None
    for i in idxs:
        note = &doc.evlog.notes[<int64_t>i]
        key = note.key
        if seen is None:
            dup = False
            for j in range(n_few):
                if few[j] == key:
                    dup = True
                    break
            if dup:
                continue
            few[n_few] = key
            n_few += 1
        else:
            if key in seen:
                continue
            seen.add(key)
        e = lc_map_find(&doc.maps[doc.ctree[c]], key)
        slot = -1 if e == NULL else e.slot
        new = _DELETED if slot < 0 else values[slot]
        if checkout:
            # note.old: the slot before, -3 no entry (never written there), a delete as
            # map_note_deleted wrote it (-1 one it does not name)
            if e != NULL and slot < 0 and note.old < 0 and note.old != -3:
                if note.old <= -4 and not map_note_same_delete(note.old, e):
                    # deleted by another write: in loro's calculator, not in the event
                    if _calc_held is not None:
                        _calc_held.append(c)
                continue
            if note.old == (-3 if e == NULL else slot):
                continue
            if note.old >= 0 and slot >= 0 and same_value(values[note.old], new):
                # loro's calculator holds the key (another write won), the event does not
                if _calc_held is not None:
                    _calc_held.append(c)
                continue
        elif compare_values and note.old != -2:
            # the first note of a key holds its slot before this batch
            if same_value(_DELETED if note.old < 0 else values[note.old], new):
                if _calc_held is not None and (0 <= note.old != slot >= 0
                                               or note.old == -1 and slot < 0):
                    # (no change to show, but loro's calculator has the key in its diff: it
                    # compares the winning writes, so another write of an equal value, or a
                    # key deleted again by another delete, counts; the latter in mergeable
                    # sessions 2408 and 2680, whose map of diffs is one larger with it)
                    _calc_held.append(c)
                continue
        if slot < 0:
            updated[doc.log.keys[key]] = None
        else:
            pub = map_public_value(doc, c, doc.log.keys[key], new)
            if pub is not new:
                # a mergeable child shown again: whole in an import (as loro), and no
                # counter value of its own in a local event
                if shown_again is not None:
                    shown_again.append(doc.cid_index[pub])
                updated[doc.log.keys[key]] = wrap_value(doc, pub, None, reached)
            else:
                updated[doc.log.keys[key]] = wrap_value(doc, pub, shown, reached)
        if _idlp_sink is not None:
            _idlp_sink[(doc.cids[c], doc.log.keys[key])] = (
                (0xFFFFFFFF, 0) if e == NULL or e.peer == LC_NO_KEY
                else (e.lamport, doc.log.peer_ids[e.peer]))
    return map_diff_of(updated) if updated else None


_DELETED = object()


cdef bint same_value(a, b):
    """LoroValue equality: types must match (1, 1.0 and True differ)."""
    if type(a) is not type(b):
        return False
    # (loops, not generators: a generator's closure would be made on every call)
    if type(a) is list:
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if not same_value(x, y):
                return False
        return True
    if type(a) is dict:
        if a.keys() != b.keys():
            return False
        for k in a:
            if not same_value(a[k], b[k]):
                return False
        return True
    return a == b
