# Counter state: one double per container (`d.ccounter[c]`). An import sums its deltas
# apart (`cimp_sum`, in apply order, as Loro adds them) and adds the sums at its end, so a
# rejected import touches no value.


cdef int counter_state_reset(LoroDoc d, uint32_t c) except -1:
    d.ccounter[c] = 0.0
    return 0


cdef int counter_apply(LoroDoc d, lc_op *op) except -1 nogil:
    if d.journal_on:
        add_import_delta(d, op.container, op.delta)
    else:
        d.ccounter[op.container] += op.delta
    return 0


cdef int local_counter_add(LoroDoc d, uint32_t c, double delta) except -1:
    check_alive(d, c)
    open_txn(d)
    cdef lc_op *op = d.log.push_op()
    op.container = c
    op.kind = LC_OP_COUNTER
    op.counter = d.log.vv[d.self_idx]
    op.len = 1
    op.delta = delta
    if d.evlog.on:
        ev_note(d, c, LC_EV_COUNTER, d.self_idx, op.counter, 1, 0, delta)
    d.ccounter[c] += delta
    after_local_op(d, 1)
    return 0


cdef int add_import_delta(LoroDoc d, uint32_t c, double delta) except -1 nogil:
    """Add an imported counter op to the import's sum for counter `c`."""
    if not d.cimp_set[c]:
        if d.n_cimp == d.cap_cimp:
            d.cimp_list = <uint32_t*>grow(d.cimp_list, &d.cap_cimp,
                                                d.n_cimp + 1, sizeof(uint32_t))
        d.cimp_list[d.n_cimp] = c
        d.n_cimp += 1
        d.cimp_set[c] = 1
        d.cimp_sum[c] = 0.0
    d.cimp_sum[c] += delta
    return 0


cdef int flush_import_deltas(LoroDoc d, bint keep) noexcept:
    """End of an import: add each counter's sum to its value (keep) or drop the sums."""
    cdef int64_t i
    cdef uint32_t c
    for i in range(d.n_cimp):
        c = d.cimp_list[i]
        if c < d.n_containers:
            if keep:
                d.ccounter[c] += d.cimp_sum[c]
            d.cimp_sum[c] = 0.0
            d.cimp_set[c] = 0
    d.n_cimp = 0
    return 0


cdef int counter_move(LoroDoc d, lc_op *op, bint forward) except -1:
    """Bring a counter op into effect (forward) or out of it (checkout)."""
    d.ccounter[op.container] += op.delta if forward else -op.delta
    return 0
