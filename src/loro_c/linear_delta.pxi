# An import's Text delta in loro's Linear mode (included by _events.pyx).
#
# loro takes an import whose new changes all continue the version before in one line (the
# version before is a single id and the new one a single id of the same peer, each new
# change depending only on its peer's op before it; or, into an empty document, a history
# that is one chain) as "Linear": its text calculator then builds the diff by applying the
# ops one by one to an empty delta rope, an insert as a text chunk at its position, a delete
# as a delete of its span, instead of comparing the two versions. The items come out as the
# rope leaves them (loro 1.17.1: a text typed and partly deleted again between two syncs
# shows [insert 'b', delete 2] where the comparison would give [delete 2, insert 'b']). The
# rope is LocalRope with `chunks` on: a text chunk joins the next one only where their ids
# and their bytes in loro's string storage both continue.

cdef int _linear_import = -1    # whether the import being collected is Linear (-1: not asked)


cdef bint import_is_linear(LoroDoc doc) except -1:
    """Whether loro's diff of the import being collected runs in its Linear mode (see the
    top of this file); asked once per import."""
    global _linear_import
    cdef OpLog log = doc.log
    cdef int64_t ch, pos
    cdef lc_change *c
    cdef uint32_t p
    cdef int32_t after, before
    if _linear_import >= 0:
        return _linear_import == 1
    _linear_import = 0
    if _greater_import is None:
        return False
    old, new = _greater_import
    if len(new) != 1 or len(old) > 1:
        return False
    p, after = new[0]
    if not old:
        # into an empty document: the history down from the new version one chain
        ch = log.find_change(p, after)
        while ch >= 0:
            c = &log.changes[ch]
            if c.deps_len == 0:
                _linear_import = 1
                return True
            if c.deps_len != 1:
                return False
            ch = log.find_change(log.deps[c.deps_off].peer, log.deps[c.deps_off].counter)
        return False
    if old[0][0] != p or old[0][1] >= after:
        return False
    before = old[0][1]
    # each change past the version before depends on its peer's op before it, only (the
    # log may hold the first of them joined to the change that ends the version before)
    pos = log.find_change_pos(p, before)
    while 0 <= pos < log.by_peer[p].len:
        c = &log.changes[log.by_peer[p].idx[pos]]
        if c.counter > after:
            break
        if c.counter > before and not (c.deps_len == 1 and log.deps[c.deps_off].peer == p
                                       and log.deps[c.deps_off].counter == c.counter - 1):
            return False
        pos += 1
    _linear_import = 1
    return True


cdef object chunk_bound(LoroDoc doc, uint32_t peer, int32_t counter, bint end):
    """The bound in loro's string storage where text atom (peer, counter) starts (or, with
    `end`, ends), as stored_bounds writes bounds."""
    cdef lc_op *op = last_atom_op(doc.log, peer, counter)
    if op == NULL:
        return None
    b = stored_bounds(doc, peer, counter, op.arg + (counter - op.counter), 1)
    return b[2] if end else b[1]


cdef int rope_insert_value(LocalRope rope, int64_t pos, LdItem x) except -1:
    """loro's DeltaRope::insert_value: the position retained up to, then the item pushed at
    the end or put in at the position."""
    cdef int64_t total = rope.length()
    if total < pos:
        rope.push_retain(pos - total)
        total = pos
    if pos == total:
        return rope.tree_push(x)
    return rope.insert_values(pos, x)


cdef object linear_text_delta(LoroDoc doc, uint32_t c, list idxs):
    """The delta of a text without style anchors that a Linear import changed, from its
    ops in the order applied; None when a note is not an insert or a delete (then the
    versions are compared)."""
    cdef OpLog log = doc.log
    cdef lc_ev_note *e
    cdef lc_op *op
    cdef int64_t i, off, start
    cdef LocalRope rope = LocalRope(True)
    cdef LdItem x
    rope.chunks = True
    rope.doc = doc
    for i in idxs:
        e = &doc.evlog.notes[i]
        if e.kind != LC_EV_INSERT and e.kind != LC_EV_DELETE:
            return None
        op = last_atom_op(log, e.peer, e.counter)
        if op == NULL or e.counter + e.len > op.counter + op.len:
            return None
        off = e.counter - op.counter
        if e.kind == LC_EV_INSERT:
            x = LdItem.__new__(LdItem)
            x.val = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &doc.seq.text[op.arg + off], e.len)
            x.cpeer = e.peer
            x.cidc = e.counter
            x.clam = log.lamport_of(make_id(e.peer, e.counter))
            b = stored_bounds(doc, e.peer, e.counter, op.arg + off, e.len)
            x.clo = b[1]
            x.chi = b[2]
            rope_insert_value(rope, op.pos + off, x)
        else:
            # a forward span deletes each atom at its position, a backward one (negative
            # length, its position the last) one further left each time
            if op.arg > 0:
                start = op.pos
            else:
                start = op.pos - off - e.len + 1
            rope.replace_at(start, ld_delete(True, e.len, LD_CAP_DEFAULT))
    return rope_text_event(rope)


cdef object rope_text_event(LocalRope rope):
    """The event loro's text state makes of a Linear diff while applying it: item by
    item, a delete pushed at its position, an insert's bytes at its position, each pushed
    onto the event's delta (an insert joins the item before when their bytes continue in
    loro's string storage, a delete joins any insert or delete before it)."""
    cdef int64_t entity = 0, event = 0
    cdef LdItem x
    cdef list out = []      # [retain n] or [text, lo bound, hi bound, deleted]
    cdef list last
    for x in rope.items:
        if x.retain:
            entity += x.n
            continue
        if x.n > 0:
            if entity > event:
                ld_event_retain(out, entity - event)
                event = entity
            if out and len(<list>out[len(out) - 1]) == 4:
                last = out[len(out) - 1]
                last[3] = <int64_t>last[3] + x.n
            else:
                out.append(["", None, None, x.n])
        if len(x.val):
            if entity > event:
                ld_event_retain(out, entity - event)
            event = entity + len(x.val)
            if out and len(<list>out[len(out) - 1]) == 4:
                last = out[len(out) - 1]
                if len(last[0]) and last[1] is not None and last[2] == x.clo:
                    last[0] = last[0] + x.val
                    last[2] = x.chi
                    entity += len(x.val)
                    continue
            out.append([x.val, x.clo, x.chi, 0])
            entity += len(x.val)
    items = []
    for last in out:
        if len(last) == 1:
            items.append(text_retain(last[0], None))
            continue
        if len(last[0]):
            items.append(text_insert(last[0], None))
        if last[3]:
            items.append(text_delete(last[3]))
    return text_diff(items)


cdef int ld_event_retain(list out, int64_t n) except -1:
    if out and len(<list>out[len(out) - 1]) == 1:
        (<list>out[len(out) - 1])[0] = <int64_t>(<list>out[len(out) - 1])[0] + n
    else:
        out.append([n])
    return 0
