# MovableList moves: one atom of the move op deletes the element's list item at `from` and
# inserts a new list item at `to` (positions at the tracker version, `to` counted after the
# delete), as Loro's tracker does. Both effects share the op's id, so they are kept as one
# tracker record (LC_REC_MOVE) that tracker_move advances and retreats as a whole.


cdef int pop_last_record_atom(SeqArena a, uint32_t peer, int32_t counter, lc_id *target) except -1 nogil:
    """Take atom `counter` (the last atom recorded for `peer`) out of the peer's last record,
    which integrate_insert or integrate_delete may have merged it into; `target` gets the
    atom a delete record says it removed."""
    cdef lc_peer_index *pi = &a.peers[peer]
    cdef lc_record *r
    if pi.rec_len == 0:
        with gil:
            raise AssertionError("a move left no tracker record")
    r = &pi.recs[pi.rec_len - 1]
    if r.counter + r.len != counter + 1:
        with gil:
            raise AssertionError("a move's record is not the peer's last")
    if r.kind == LC_REC_DELETE:
        target[0] = make_id(r.target.peer, r.target.counter + r.len - 1)
    elif r.kind == LC_REC_DELETE_REV:
        # its last atom removed the lowest target
        target[0] = r.target
        r.target.counter += 1
    r.len -= 1
    if r.len == 0:
        pi.rec_len -= 1
    return 0


cdef int integrate_move(SeqArena a, uint32_t t, lc_id move_id, int64_t from_pos, int64_t to_pos,
                        uint32_t content, const uint64_t *peer_ids) except -1 nogil:
    """Delete the visible atom at `from_pos`, then insert one atom (id `move_id`, `content`)
    at `to_pos` of the sequence without it. The caller has checked both positions."""
    cdef lc_id deleted, unused
    integrate_delete(a, t, move_id, from_pos, 1, False)
    pop_last_record_atom(a, move_id.peer, move_id.counter, &deleted)
    integrate_insert(a, t, move_id, to_pos, 1, content, peer_ids)
    pop_last_record_atom(a, move_id.peer, move_id.counter, &unused)
    add_record(a, move_id.peer, move_id.counter, 1, deleted, LC_REC_MOVE)
    return 0


cdef int integrate_move_after(SeqArena a, uint32_t t, lc_id move_id, lc_id from_atom,
                              lc_id left_atom, uint32_t content,
                              const uint64_t *peer_ids) except -1 nogil:
    """integrate_move for a caller that knows the atoms: delete the visible atom `from_atom`,
    then insert one atom (id `move_id`, `content`) right after the visible atom
    `left_atom` (another one). Both are found through the atom index, with no descent by
    position (a local move at the document's version: MovableList's view names them)."""
    cdef lc_id deleted
    cdef uint32_t leaf
    cdef int idx
    cdef lc_span *s
    leaf = locate(a, from_atom, &idx)
    s = &a.nodes[leaf].u.spans[idx]
    if not span_visible(s) or id_eq(from_atom, left_atom):
        with gil:
            raise AssertionError("a move's atoms are not visible")
    delete_in_span(a, t, leaf, idx, from_atom.counter - s.id.counter, 1, &deleted)
    leaf = locate(a, left_atom, &idx)
    s = &a.nodes[leaf].u.spans[idx]
    if not span_visible(s):
        with gil:
            raise AssertionError("a move's atoms are not visible")
    a.ensure_peer(move_id.peer)
    insert_after(a, t, move_id, 1, content, peer_ids, left_atom, leaf, idx,
                 left_atom.counter - s.id.counter)
    add_record(a, move_id.peer, move_id.counter, 1, deleted, LC_REC_MOVE)
    return 0
