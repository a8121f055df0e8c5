# Versions of the document as Python values (included by _doc.pyx): the {peer: end}
# dict of a dense version, of the closure of some ids, and stamped snapshots of the
# log's version.


cdef dict dense_vv_dict(LoroDoc d, const int32_t *vv):
    """A new {peer id: end} dict of the version `vv` (dense, one slot per peer index)."""
    cdef uint32_t i
    cdef dict out
    cdef list objs = d.log.peer_objs
    if vv == d.log.vv:
        return d.log.vv_dict().copy()
    out = {}
    # the peer ids' int objects are built once (per peer, not per call)
    for i in range(d.log.n_peers):
        if vv[i] > 0:
            out[objs[i]] = vv[i]
    return out


cdef dict loro_vv_fill(LoroDoc d, dict vv):
    """`vv` (a {peer id: end} dict of this document's log) reordered as loro's version map
    of the log took its peers: those a snapshot load put in first, in the snapshot's
    order, then the others as the log registered them."""
    if not d.vv_loaded:
        return vv
    out = {}
    for p in d.vv_loaded:
        e = vv.get(p)
        if e is not None:
            out[p] = e
    for p, e in vv.items():
        if p not in out:
            out[p] = e
    return out


cdef bytes loro_vv_bytes(LoroDoc d):
    """The log's version vector encoded as loro encodes its own: in the order its hash map
    yields the peers (hash_order.vv_iteration_order of the order it took them in)."""
    return vv_bytes_in_order(dense_vv_dict(d, d.log.vv), vv_map_order(d))


cdef list vv_map_order(LoroDoc d):
    """The peers of the log's version in the order loro's hash map of it yields them."""
    from loro_c.hash_order import vv_iteration_order
    vv = loro_vv_fill(d, dense_vv_dict(d, d.log.vv))
    return vv_iteration_order(list(vv), d.vv_touches, vv_loaded_count(d, vv))


cdef Py_ssize_t vv_loaded_count(LoroDoc d, dict vv):
    """How many of the first peers of `vv` (filled by loro_vv_fill) a snapshot load put into
    loro's version map, which it made with room for all of them."""
    if not d.vv_loaded:
        return 0
    return sum(1 for p in d.vv_loaded if p in vv)


cdef VersionVector version_snapshot(LoroDoc d):
    """A VersionVector of the log's version, stamped so that exporting from it later
    looks only at the peers that moved since."""
    cdef VersionVector vv = vv_wrap(dense_vv_dict(d, d.log.vv))
    vv._stamp = (d.log.serial, d.log.vv_snapshot_epoch())
    return vv


cdef dict version_dict(LoroDoc d, const lc_id *ids, int64_t n):
    """{peer id: end counter} of the closure of `ids` (committed ids): the log's version
    corrected by a walk from the log's committed head."""
    cdef OpLog log = d.log
    cdef int64_t i, k
    cdef int32_t saved = 0
    cdef const lc_id *tf = log.frontiers
    cdef int64_t n_tf = log.n_frontiers
    cdef lc_move mv
    if d.txn_open:
        # the open transaction is not a change yet: walk from the version before it
        saved = log.vv[d.self_idx]
        log.vv[d.self_idx] = d.txn_counter
        tf = d.txn_deps
        n_tf = d.n_txn_deps
    try:
        k = log.walk_diff(log.vv, tf, n_tf, ids, n)
    finally:
        if d.txn_open:
            log.vv[d.self_idx] = saved
    out = dense_vv_dict(d, log.vv)
    if d.txn_open:
        if d.txn_counter > 0:
            out[log.peer_objs[d.self_idx]] = d.txn_counter
        else:
            out.pop(log.peer_objs[d.self_idx], None)
    for i in range(k):
        mv = log.moves[i]
        if mv.new_end > 0:
            out[log.peer_ids[mv.peer]] = mv.new_end
        else:
            del out[log.peer_ids[mv.peer]]
    return out






cdef Py_ssize_t frontier_ids(LoroDoc d, Frontiers frontiers, lc_id *out) except -2:
    """The frontiers as log ids into `out`: -1, or the position of the first id the log
    lacks."""
    cdef Py_ssize_t i
    for i in range(len(frontiers._ids)):
        peer, ctr = frontiers._ids[i]
        idx = d.log.peer_map.get(peer)
        if idx is None or d.log.find_change(idx, ctr) < 0:
            return i
        out[i] = make_id(idx, ctr)
    return -1



cdef list vv_frontier_ids(LoroDoc d, dict vv):
    """vv_to_frontiers' (peer, counter) pairs, under the document lock."""
    cdef lc_id one
    last = [(p, e - 1) for p, e in vv.items() if e > 0]
    if d.shallow_sv is not None and last:
        last = [(p, c) for p, c in last if c >= d.shallow_sv.get(p, 0)]
        if not last:
            return list(d.shallow_sf)
    closures = []
    for p, c in last:
        if frontier_ids(d, Frontiers.from_id(ID(p, c)), &one) >= 0:
            closures.append(None)
        else:
            closures.append(version_dict(d, &one, 1))
    keep = []
    for i, (p, c) in enumerate(last):
        for j, (q, e) in enumerate(last):
            if j != i and q != p and closures[j] is not None and closures[j].get(p, 0) > c:
                break
        else:
            keep.append((p, c))
    return keep

cdef class DocHistory(DocCore):
    """Versions and history: the document's version vectors and frontiers, how versions
    compare, and the changes of its history (ChangeMeta, ancestors, changed containers)."""

    def _head_ids(self):
        """The log's frontiers as (peer, counter) pairs."""
        cdef int64_t i
        return [(self.log.peer_ids[self.log.frontiers[i].peer], self.log.frontiers[i].counter)
                for i in range(self.log.n_frontiers)]

    def _frontiers(self):
        return frontiers_wrap(sorted(self._head_ids()))

    @property
    def oplog_vv(self):
        """Version vector of everything in the history (the open transaction included)."""
        doc_lock(self)
        try:
            if self.thin_blob is not None:      # a snapshot's state (state/snapshot_load.pxi)
                return vv_wrap(dict(self.thin_vv))
            return version_snapshot(self)
        finally:
            doc_release(self)

    @property
    def state_vv(self):
        """Version vector of the materialised state: oplog_vv, or while detached the
        version checked out."""
        doc_lock(self)
        try:
            if self.thin_blob is not None:      # a snapshot's state (state/snapshot_load.pxi)
                return vv_wrap(dict(self.thin_vv))
            if self.detached:
                return vv_wrap(version_dict(self, self.sfront, self.n_sfront))
            return vv_wrap(dense_vv_dict(self, self.log.vv))
        finally:
            doc_release(self)

    @property
    def oplog_frontiers(self):
        """Frontiers (heads) of the history."""
        doc_lock(self)
        try:
            if self.thin_blob is not None:      # a snapshot's state (state/snapshot_load.pxi)
                return thin_frontiers(self)
            if self.log.n_frontiers < 2:
                return self._frontiers()
            # (listed as loro lists them: its map of them, doc/order.pxi)
            return order_frontiers(self, self.log.frontier_order())
        finally:
            doc_release(self)

    @property
    def state_frontiers(self):
        """Frontiers of the materialised state: oplog_frontiers, or while detached the
        frontiers checked out."""
        doc_lock(self)
        try:
            if self.thin_blob is not None:      # a snapshot's state (state/snapshot_load.pxi)
                return thin_frontiers(self)
            # (listed as loro lists them: its map of them, doc/order.pxi)
            return order_frontiers(self, state_order(self))
        finally:
            doc_release(self)

    @property
    def len_ops(self):
        """Number of atoms (op counters) in the history."""
        cdef uint32_t i
        cdef int64_t total = 0
        doc_acquire(self)
        for i in range(self.log.n_peers):
            total += self.log.vv[i]
        doc_release(self)
        return total

    @property
    def len_changes(self):
        """Number of committed changes in the history, grouped as Loro groups them (the open
        transaction is not counted)."""
        doc_acquire(self)
        n = self.log.n_groups
        doc_release(self)
        return n

    def get_change(self, id):
        """The change holding the op `id` (a ChangeMeta: its first op's id, Lamport,
        timestamp, message, deps and length), or None when the op is not in the history.
        Changes are grouped as Loro groups them; the open transaction is not looked at."""
        if not isinstance(id, ID):
            raise LoroTypeError(f"get_change needs an ID, not {type(id).__name__}")
        cdef uint32_t p
        cdef int64_t g, i
        cdef lc_group *grp
        doc_acquire(self)
        try:
            idx = self.log.peer_map.get(id.peer)
            if idx is None or not 0 <= id.counter <= INT32_MAX:
                return None
            p = idx
            g = self.log.find_group(p, id.counter)
            if g < 0:
                return None
            grp = &self.log.groups[p].items[g]
            deps = frontiers_wrap(sorted(
                (self.log.peer_ids[self.log.gdeps[i].peer], self.log.gdeps[i].counter)
                for i in range(grp.deps_off, grp.deps_off + grp.deps_len)))
            return _types.ChangeMeta(grp.lamport, ID(id.peer, grp.counter), grp.timestamp,
                                     self.log.messages[grp.msg] if grp.msg >= 0 else None,
                                     deps, grp.end - grp.counter)
        finally:
            doc_release(self)

    def is_detached(self):
        """Whether the state is detached from the log (after checkout or detach): it shows
        an old version, imports only grow the log, and edits raise DetachedError."""
        return self.detached

    @property
    def has_history_cache(self):
        """Whether map writes are gathered for checkouts (built by the first checkout of a
        document with maps; free_history_cache drops it)."""
        return self.hist_on and self.n_hwrites > 0

    def free_history_cache(self):
        """Drop the map writes gathered for checkouts (the next checkout gathers them)."""
        doc_acquire(self)
        map_history_drop(self)
        doc_release(self)

    def free_diff_calculator(self):
        """Accepted for loro's API: loro_c keeps no diff calculator between checkouts."""
        return None

    def checkout(self, Frontiers frontiers):
        """Show the document as it was at `frontiers` and detach it (see is_detached). The
        open transaction is committed first. Costs the changes between the two versions:
        sequences move their tracker, maps and counters the ops in between. LoroError, and
        nothing changes, when the log lacks one of the ids. Subscribers get a Checkout event
        of what changed, as in loro."""
        cdef Py_ssize_t n = len(frontiers._ids)
        cdef lc_id *ids = <lc_id*>malloc(<size_t>(n if n > 0 else 1) * sizeof(lc_id))
        if ids == NULL:
            raise MemoryError()
        doc_acquire(self)
        try:
            commit_txn(self)
            self.dag_cold = None    # (loro's checkout reads the whole history)
            check_frontier_ids(self, frontiers, ids)
            shallow_check_version(self, frontiers._ids, "You cannot switch a document to a "
                                  "version before the shallow history's start version.")
            self.checkout_parses_all = 0
            checkout_frontiers(self, ids, n, frontiers)
            if self.evlog.on:
                events_module().flush(self, 2, "checkout")
            if self.checkout_parses_all:
                # the containers a snapshot load left waiting get their numbers after
                # those of the diff (doc/checkout.pxi checkout_parses); after a load nobody
                # recorded, a visit of every block for the history cache numbers the
                # untouched roots of the loaded state too, in block order
                # (tests/test_checkout_rest_numbering.py: a local map edit, then a checkout
                # back and forward, numbered the list the history's blocks edit)
                if self.checkout_parses_all == PARSES_CACHE and history_visit_numbers(self) \
                        and self.lnum_lazy:
                    number_history_visit(self)
                else:
                    number_loaded_rest(self)
                self.checkout_parses_all = 0
            if self.detached_editing:
                renew_peer(self)
        except BaseException:
            free(ids)
            self.evlog.n = 0
            release_and_deliver(self, False)
            raise
        free(ids)
        release_and_deliver(self, True)

    def diff(self, Frontiers a, Frontiers b):
        """The DiffBatch that takes the document from version `a` to version `b` (the diffs
        a checkout from `a` to `b` would report). The open transaction is committed first;
        the document's state does not change. LoroError when the log lacks an id."""
        return self._diff(a, b)

    def _diff(self, Frontiers a, Frontiers b):
        cdef Py_ssize_t na = len(a._ids), nb = len(b._ids)
        self.commit()
        # loro parses the history's change blocks for a diff (unless both ends are the
        # state's version): the containers a snapshot load left waiting get their numbers
        cdef bint parses = not (a == b and a == self.state_frontiers)
        cdef lc_id *ids = <lc_id*>malloc(<size_t>(na + nb + 1) * sizeof(lc_id))
        if ids == NULL:
            raise MemoryError()
        doc_acquire(self)
        try:
            commit_txn(self)
            check_frontier_ids(self, a, ids)
            check_frontier_ids(self, b, &ids[na])
            if parses:
                number_loaded_rest(self)
            batch = diff_versions(self, ids, na, &ids[na], nb)
        except BaseException:
            free(ids)
            release_and_deliver(self, False)
            raise
        free(ids)
        release_and_deliver(self, True)
        return batch

    def apply_diff(self, diff):
        """Apply a DiffBatch as local edits (in the open transaction, as loro does):
        containers the diffs create are created anew, and later diffs of them go to the new
        ones."""
        from loro_c import diffs
        diffs.apply(self, diff)

    def _undo_pieces(self, peer, int32_t start, int32_t end):
        """The pieces of ops start..end of `peer` that undo reverts one at a time: loro's
        history nodes, which end where a change continues from somewhere else or where any
        change depends on an op that is not a node's last. [(last counter, deps)]."""
        cdef int64_t i, j
        cdef uint32_t p
        cdef lc_change *ch
        cdef lc_id dep
        doc_acquire(self)
        try:
            found = self.log.peer_map.get(peer)
            if found is None:
                return []
            p = found
            cuts = set()
            for i in range(self.log.n_changes):
                ch = &self.log.changes[i]
                continues = ch.deps_len == 1 and self.log.deps[ch.deps_off].peer == ch.peer \
                    and self.log.deps[ch.deps_off].counter == ch.counter - 1
                if ch.peer == p and start < ch.counter < end and not continues:
                    cuts.add(ch.counter)
                for j in range(ch.deps_off, ch.deps_off + ch.deps_len):
                    dep = self.log.deps[j]
                    if dep.peer == p and start <= dep.counter < end - 1 and not (
                            continues and ch.peer == p):
                        cuts.add(dep.counter + 1)
            bounds = [start] + sorted(cuts) + [end]
            pieces = []
            for k in range(len(bounds) - 1):
                a = bounds[k]
                i = self.log.find_change(p, a)
                ch = &self.log.changes[i]
                if ch.counter == a:
                    deps = frontiers_wrap(sorted(
                        (self.log.peer_ids[self.log.deps[j].peer], self.log.deps[j].counter)
                        for j in range(ch.deps_off, ch.deps_off + ch.deps_len)))
                else:
                    deps = frontiers_wrap([(peer, a - 1)])
                pieces.append((bounds[k + 1] - 1, deps))
            return pieces
        finally:
            doc_release(self)

    def _commit_with_default_origin(self, origin):
        """Commit, reporting `origin` unless the next commit's origin is already set (an
        undo commits with origin "undo" this way, as loro's does)."""
        origin = as_str(origin, "origin")
        doc_acquire(self)
        try:
            if self.next_origin is None:
                self.next_origin = origin
            commit_txn(self)
            self.next_msg = None
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)

    def revert_to(self, Frontiers version):
        """Edit the document back to the state of `version`: the diff from the current
        state to it (`diff`, a tree's items being loro's replay of its moves), applied as
        local edits (left in the open transaction), as loro's revert_to does."""
        from loro_c import diffs
        diffs.apply(self, self._diff(self.state_frontiers, version), False)

    def checkout_to_latest(self):
        """Show the latest version again and follow the log (attach)."""
        doc_acquire(self)
        try:
            commit_txn(self)
            if self.detached:
                self.dag_cold = None    # (loro's checkout reads the whole history)
                attach_state(self)
                note_store_entries(self)
                if self.evlog.on:
                    events_module().flush(self, 2, "checkout")
                if self.detached_editing:
                    renew_peer(self)
        except BaseException:
            self.evlog.n = 0
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)

    def set_detached_editing(self, enable):
        """Allow edits while detached (off by default, as in loro): they branch off the
        checked-out version as new changes of the log, and the state stays detached at the
        branch's head. Each checkout then gives the document a new random peer id."""
        if not isinstance(enable, bool):
            raise LoroTypeError("set_detached_editing takes a bool")
        doc_acquire(self)
        try:
            commit_txn(self)
            self.detached_editing = enable
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)

    @property
    def is_detached_editing_enabled(self):
        """Whether edits are allowed while detached (set_detached_editing)."""
        return self.detached_editing

    def attach(self):
        """Same as checkout_to_latest()."""
        self.checkout_to_latest()

    def detach(self):
        """Detach the state at the current version: later imports only grow the log, and
        edits raise DetachedError until attach()."""
        doc_acquire(self)
        try:
            commit_txn(self)
            if not self.detached:
                detach_here(self)
        except BaseException:
            release_and_deliver(self, False)
            raise
        release_and_deliver(self, True)

    def cmp_frontiers(self, Frontiers a, Frontiers b):
        """How version `a` compares with version `b`: an Ordering, or None when they are
        concurrent. LoroValueError when either is not in this document's history."""
        va, vb = self.frontiers_to_vv(a), self.frontiers_to_vv(b)
        if va is None or vb is None:
            raise LoroValueError("The given Frontiers are not included by the doc")
        return compare_versions(va, vb)

    def cmp_with_frontiers(self, Frontiers other):
        """Equal when `other` is the document's frontiers, Greater when the document holds
        every id of `other` (a version it includes, under other ids too), else Less (as
        loro decides it)."""
        if other == self.oplog_frontiers:
            return _types.Ordering.Equal
        vv = self.oplog_vv
        if all(vv.includes_id(i) for i in other.to_list()):
            return _types.Ordering.Greater
        return _types.Ordering.Less

    def vv_to_frontiers(self, VersionVector vv):
        """The frontiers of version `vv`: the last id of each peer in it, without those
        that another of them depends on (ids this document does not know are kept). In a
        shallow document the trimmed ids are left out, and a version wholly in the
        trimmed history gives the shallow root, as loro gives it."""
        doc_acquire(self)
        try:
            warm_frontier_lookups(self, vv._map)
            return Frontiers.from_ids([ID(p, c) for p, c in vv_frontier_ids(self, vv._map)])
        finally:
            doc_release(self)

    def frontiers_to_vv(self, Frontiers frontiers):
        """The version vector of the causal closure of `frontiers`, or None if unknown."""
        cdef lc_id *ids
        cdef Py_ssize_t n = len(frontiers._ids), i
        if n == 0:
            return VersionVector()
        ids = <lc_id*>malloc(n * sizeof(lc_id))
        if ids == NULL:
            raise MemoryError()
        doc_acquire(self)
        try:
            if frontier_ids(self, frontiers, ids) >= 0:
                return None
            got = version_dict(self, ids, n)
            if self.dag_cold:
                # (loro reads the blocks of every peer in the history it walks down)
                for pid in got:
                    self.dag_cold.pop(pid, None)
            return vv_wrap(got)
        finally:
            doc_release(self)
            free(ids)

    def find_id_spans_between(self, Frontiers from_, Frontiers to):
        """The ops to retreat and to apply to go from version `from_` to version `to`
        (a VersionVectorDiff); LoroValueError when either is not in the history."""
        a, b = self.frontiers_to_vv(from_), self.frontiers_to_vv(to)
        if a is None or b is None:
            raise LoroValueError("The given Frontiers are not included by the doc")
        return a.diff(b)

    def travel_change_ancestors(self, ids, cb):
        """Visit the changes holding `ids` and all their ancestors, latest first (by the
        Lamport of a change's last op, then peer), as ChangeMeta; `cb` returns True to stop.
        Changes are grouped as Loro groups them. The callback runs without the document
        lock, so it may read the document."""
        import heapq
        ids = list(ids)
        for id in ids:
            if not isinstance(id, ID):
                raise LoroTypeError(f"travel_change_ancestors needs IDs, not {type(id).__name__}")
        doc_acquire(self)
        try:
            commit_txn(self)
        finally:
            doc_release(self)
        pending = []
        for id in ids:
            meta = self.get_change(id)
            if meta is None:
                raise LoroError(f"Target id not found {id.counter}@{id.peer}")
            pending.append(meta)
        heap = [(-(m.lamport + m.len - 1), -m.id.peer, k, m) for k, m in enumerate(pending)]
        heapq.heapify(heap)
        visited = set()
        serial = len(heap)
        while heap:
            meta = heapq.heappop(heap)[3]
            stop = cb(meta)
            if not isinstance(stop, bool):
                raise LoroTypeError(f"the callback must return a bool, not {type(stop).__name__}")
            if stop:
                break
            for dep in meta.deps:
                dm = self.get_change(dep)
                if dm is None or (dm.id.peer, dm.id.counter) in visited:
                    continue
                visited.add((dm.id.peer, dm.id.counter))
                heapq.heappush(heap, (-(dm.lamport + dm.len - 1), -dm.id.peer, serial, dm))
                serial += 1

    def get_changed_containers_in(self, id, len):
        """The containers that ops id.counter .. id.counter+len of id.peer changed."""
        if not isinstance(id, ID):
            raise LoroTypeError(f"expected an ID, not {type(id).__name__}")
        cdef int64_t start = max(0, id.counter), end = min(<int64_t>id.counter + max(0, len), INT32_MAX)
        cdef int64_t pos, i
        cdef uint32_t p
        cdef lc_change *ch
        cdef lc_op *op
        out = set()
        doc_acquire(self)
        try:
            found = self.log.peer_map.get(id.peer)
            if found is None or start >= end:
                return out
            p = <uint32_t>found
            pos = self.log.find_change_pos(p, <int32_t>start)
            if pos < 0:
                return out
            while pos < self.log.by_peer[p].len:
                ch = &self.log.changes[self.log.by_peer[p].idx[pos]]
                if ch.counter >= end:
                    break
                for i in range(ch.ops_off, ch.ops_off + ch.ops_len):
                    op = &self.log.ops[i]
                    if op.counter < end and op.counter + op.len > start:
                        out.add(self.cids[op.container])
                pos += 1
            return out
        finally:
            doc_release(self)
