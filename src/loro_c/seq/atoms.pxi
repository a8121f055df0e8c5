# The atom index (seq.h, lc_peer_index): per peer, which span (and leaf) holds each atom id.
# The B-tree keeps it current as spans split, merge and move between leaves.


cdef int reserve_atoms(SeqArena a, uint32_t peer, int64_t end) except -1 nogil:
    """Let the atom index of `peer` cover atoms [0, end); new atoms start no span."""
    a.ensure_peer(peer)
    cdef lc_peer_index *pi = &a.peers[peer]
    cdef int64_t i, words, old
    if end <= pi.leaf_len:
        return 0
    if end > pi.leaf_cap:
        pi.leaf = <uint32_t*>grow(pi.leaf, &pi.leaf_cap, end, sizeof(uint32_t))
    for i in range(pi.leaf_len, end):
        pi.leaf[i] = LC_NO_NODE
    words = (end + 63) >> 6
    if words > pi.starts_cap:
        old = pi.starts_cap
        pi.starts = <uint64_t*>grow(pi.starts, &pi.starts_cap, words, sizeof(uint64_t))
        memset(&pi.starts[old], 0, <size_t>(pi.starts_cap - old) * sizeof(uint64_t))
    words = (words + 63) >> 6
    if words > pi.summary_cap:
        old = pi.summary_cap
        pi.summary = <uint64_t*>grow(pi.summary, &pi.summary_cap, words, sizeof(uint64_t))
        memset(&pi.summary[old], 0, <size_t>(pi.summary_cap - old) * sizeof(uint64_t))
    pi.leaf_len = end
    return 0


cdef int index_span(SeqArena a, lc_id id, int32_t n, uint32_t leaf) except -1 nogil:
    """Enter a new span of `n` atoms, in `leaf`, into the atom index."""
    reserve_atoms(a, id.peer, <int64_t>id.counter + n)
    lc_set_start(&a.peers[id.peer], id.counter, leaf)
    return 0


cdef uint32_t locate(SeqArena a, lc_id id, int *idx) except? 0xFFFFFFFF nogil:
    """The leaf holding atom `id`, and in `idx` the slot of its span."""
    cdef lc_peer_index *pi
    cdef int64_t start
    cdef uint32_t leaf
    cdef lc_node *node
    cdef int i
    if id.peer >= a.n_peers or id.counter < 0 or id.counter >= a.peers[id.peer].leaf_len:
        with gil:
            raise AssertionError("unknown atom id")
    pi = &a.peers[id.peer]
    start = lc_prev_start(pi, id.counter)
    if start < 0:
        with gil:
            raise AssertionError("unknown atom id")
    leaf = pi.leaf[start]
    if leaf >= a.n_nodes or not a.nodes[leaf].is_leaf:
        with gil:
            raise AssertionError("atom index points to no leaf")
    node = &a.nodes[leaf]
    for i in range(node.n):
        if node.u.spans[i].id.counter == start and node.u.spans[i].id.peer == id.peer:
            # a counter between two spans belongs to an op that is no sequence insert
            if id.counter - start >= node.u.spans[i].len:
                with gil:
                    raise AssertionError("unknown atom id")
            idx[0] = i
            return leaf
    with gil:
        raise AssertionError("atom index points to a leaf without the atom")
