# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The operation log (see include/loro_c/oplog.h for the records and their ownership)."""
cimport cython
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memset, memcpy, memcmp
from libc.stdint cimport INT32_MAX, uint8_t
from loro_c._seq cimport LC_NO_PEER, grow, make_id
from loro_c.fxhash cimport fx_add, fx_finish, hb_buckets_for, hb_capacity_of, hb_slot_of


cdef uint64_t _next_serial = 0


include "oplog/walk.pxi"
include "oplog/groups.pxi"
include "oplog/truncate.pxi"
include "oplog/check.pxi"
include "oplog/frontier_map.pxi"
include "oplog/key_table.pxi"


@cython.final
cdef class OpLog:

    def __cinit__(self):
        global _next_serial
        self.peer_map = {}
        self.peer_objs = []
        _next_serial += 1
        self.serial = _next_serial
        self.vv_clock = 1
        self.messages = []
        self.values = []
        self.keys = []

    def __dealloc__(self):
        cdef uint32_t i
        if self.by_peer != NULL:
            for i in range(self.n_peers):
                free(self.by_peer[i].idx)
        free(self.by_peer)
        free(self.floor)
        free(self.peer_ids)
        free(self.vv)
        free(self.vv_stale)
        free(self.vv_epoch)
        free(self.vv_moved)
        free(self.wpeer)
        free(self.changes)
        free(self.ops)
        free(self.deps)
        free(self.wheap)
        free(self.wtouched)
        free(self.moves)
        free(self.frontiers)
        free(self.fmap)
        if self.groups != NULL:
            for i in range(self.n_peers):
                free(self.groups[i].items)
        free(self.groups)
        free(self.gdeps)
        free(self.gundo)
        free(self.kslots)

    cdef uint32_t peer_index(self, uint64_t peer) except? 0xFFFFFFFF:
        """The peer's index, registering it on first sight."""
        found = self.peer_map.get(peer)
        if found is not None:
            return <uint32_t>found
        cdef uint32_t i = self.n_peers
        cdef int64_t cap
        if i >= <uint32_t>LC_NO_PEER - 1:
            raise MemoryError("too many peers")
        if i == self.cap_peers:
            cap = self.cap_peers
            self.peer_ids = <uint64_t*>grow(self.peer_ids, &cap, i + 1, sizeof(uint64_t))
            cap = self.cap_peers
            self.vv = <int32_t*>grow(self.vv, &cap, i + 1, sizeof(int32_t))
            cap = self.cap_peers
            self.wpeer = <lc_walk_peer*>grow(self.wpeer, &cap, i + 1, sizeof(lc_walk_peer))
            cap = self.cap_peers
            self.vv_stale = <uint8_t*>grow(self.vv_stale, &cap, i + 1, sizeof(uint8_t))
            cap = self.cap_peers
            self.vv_epoch = <uint64_t*>grow(self.vv_epoch, &cap, i + 1, sizeof(uint64_t))
            cap = self.cap_peers
            self.by_peer = <lc_change_list*>grow(self.by_peer, &cap, i + 1, sizeof(lc_change_list))
            cap = self.cap_peers
            self.floor = <int32_t*>grow(self.floor, &cap, i + 1, sizeof(int32_t))
            cap = self.cap_peers
            self.groups = <lc_group_list*>grow(self.groups, &cap, i + 1, sizeof(lc_group_list))
            self.cap_peers = <uint32_t>cap
        self.peer_ids[i] = peer
        self.vv[i] = 0
        self.floor[i] = 0
        self.vv_stale[i] = 0
        self.vv_epoch[i] = 0
        self.wpeer[i].cov = 0
        self.wpeer[i].low_target = INT32_MAX
        self.wpeer[i].low_tracker = INT32_MAX
        self.wpeer[i].flags = 0
        memset(&self.by_peer[i], 0, sizeof(lc_change_list))
        memset(&self.groups[i], 0, sizeof(lc_group_list))
        self.n_peers = i + 1
        self.peer_map[peer] = i
        self.peer_objs.append(peer)
        return i

    cdef uint32_t key_index(self, str key) except? 0xFFFFFFFF:
        """The key's index, registering it on first sight."""
        return <uint32_t>key_table_lookup(self, key, True)

    cdef uint32_t key_index_utf8(self, const char *utf8, Py_ssize_t n) except? 0xFFFFFFFF:
        """The index of the key of valid UTF-8 bytes utf8[:n], registering it on first sight."""
        return <uint32_t>key_table_lookup_utf8(self, utf8, n)

    cdef int64_t key_find(self, object key) except -2:
        """The key's index, or -1 when the log has no such key (or `key` is no str)."""
        if not isinstance(key, str):
            return -1
        return key_table_lookup(self, key, False)

    cdef int keys_truncate(self, Py_ssize_t n) except -1:
        """Forget the keys from index `n` on (a failed import, a reset)."""
        return key_table_truncate(self, n)

    cdef lc_op* push_op(self) except NULL:
        if self.n_ops == self.cap_ops:
            self.ops = <lc_op*>grow(self.ops, &self.cap_ops, self.n_ops + 1, sizeof(lc_op))
        cdef lc_op *op = &self.ops[self.n_ops]
        memset(op, 0, sizeof(lc_op))
        self.n_ops += 1
        return op

    cdef int64_t find_change_pos(self, uint32_t peer, int32_t counter) noexcept:
        """Position in the peer's change list of the change holding `counter`, or -1."""
        if peer >= self.n_peers:
            return -1
        cdef lc_change_list *cl = &self.by_peer[peer]
        cdef int64_t lo = 0, hi = cl.len, mid
        cdef lc_change *ch
        while lo < hi:
            mid = (lo + hi) // 2
            ch = &self.changes[cl.idx[mid]]
            if ch.end <= counter:
                lo = mid + 1
            elif ch.counter > counter:
                hi = mid
            else:
                return mid
        return -1

    cdef int64_t find_change(self, uint32_t peer, int32_t counter) noexcept:
        """Index of the change of `peer` holding `counter`, or -1."""
        cdef int64_t pos = self.find_change_pos(peer, counter)
        return -1 if pos < 0 else self.by_peer[peer].idx[pos]

    cdef int64_t find_op(self, int64_t change, int32_t counter) noexcept:
        """Index of the first op of `change` that ends after `counter`."""
        cdef lc_change *ch = &self.changes[change]
        cdef int64_t lo = ch.ops_off, hi = ch.ops_off + ch.ops_len, mid
        while lo < hi:
            mid = (lo + hi) // 2
            if self.ops[mid].counter + self.ops[mid].len <= counter:
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef uint32_t lamport_of(self, lc_id id) noexcept:
        cdef int64_t c = self.find_change(id.peer, id.counter)
        if c < 0:
            return 0
        return self.changes[c].lamport + <uint32_t>(id.counter - self.changes[c].counter)

    cdef bint includes(self, lc_id id) noexcept:
        return id.peer < self.n_peers and id.counter >= 0 and self.vv[id.peer] > id.counter

    # ------------------------------------------------------------------ versions

    cdef int vv_touch(self, uint32_t p) except -1:
        """Note that vv[p] moved (vv_dict refreshes that entry; snapshots miss it)."""
        self.vv_epoch[p] = self.vv_clock
        if self.vv_stale[p] or self.vv_cache is None:
            return 0
        if self.n_vv_moved == self.cap_vv_moved:
            self.vv_moved = <uint32_t*>grow(self.vv_moved, &self.cap_vv_moved, self.n_vv_moved + 1, sizeof(uint32_t))
        self.vv_moved[self.n_vv_moved] = p
        self.n_vv_moved += 1
        self.vv_stale[p] = 1
        return 0

    cdef int set_floor(self, uint32_t p, int32_t end) except -1:
        """Mark the counters [0, end) of peer index `p` as trimmed history (a shallow
        snapshot's): held by every version, in no change of the log."""
        self.floor[p] = end
        self.has_floor = True
        if self.vv[p] < end:
            self.vv[p] = end
            self.vv_touch(p)
        return 0

    cdef uint64_t vv_snapshot_epoch(self) noexcept:
        """The epoch of a snapshot of `vv` taken now: later moves get a higher epoch."""
        self.vv_clock += 1
        return self.vv_clock - 1

    cdef dict vv_dict(self):
        """{peer id: end} of `vv` (shared: copy it before handing it out)."""
        cdef int64_t i
        cdef uint32_t p
        cdef dict d
        if self.vv_cache is None:
            d = {}
            for p in range(self.n_peers):
                if self.vv[p] > 0:
                    d[self.peer_objs[p]] = self.vv[p]
            self.vv_cache = d
        else:
            d = self.vv_cache
            for i in range(self.n_vv_moved):
                p = self.vv_moved[i]
                self.vv_stale[p] = 0
                if self.vv[p] > 0:
                    d[self.peer_objs[p]] = self.vv[p]
                else:
                    d.pop(self.peer_objs[p], None)
        for i in range(self.n_vv_moved):
            self.vv_stale[self.vv_moved[i]] = 0
        self.n_vv_moved = 0
        return d

    cdef int _walk_touch(self, lc_walk_peer *w, uint32_t peer) except -1:
        """List `peer` among the slots the current walk touched (reset after it)."""
        if not (w.flags & LC_WALK_TOUCHED):
            w.flags |= LC_WALK_TOUCHED
            if self.n_wtouched == self.cap_wtouched:
                self.wtouched = <uint32_t*>grow(self.wtouched, &self.cap_wtouched, self.n_wtouched + 1, sizeof(uint32_t))
            self.wtouched[self.n_wtouched] = peer
            self.n_wtouched += 1
        return 0

    cdef int walk_push(self, uint32_t side, uint32_t peer, int32_t counter, const int32_t *tv) except -1:
        """Queue the prefix of `peer` up to `counter` on `side` of the current walk, unless
        that side already expanded the change holding it. (A step below a queued one is
        still queued: it may hold a change whose deps differ.)"""
        cdef lc_walk_peer *w = &self.wpeer[peer]
        cdef int64_t c
        cdef lc_walk_step st
        if counter >= (w.low_target if side == LC_SIDE_TARGET else w.low_tracker):
            return 0
        if self.has_floor and counter < self.floor[peer]:
            # trimmed history: both sides hold it (every version of a shallow document
            # includes its root), so it carries no move; the target's reach is noted
            if side == LC_SIDE_TARGET and w.cov < counter + 1:
                w.cov = counter + 1
                self._walk_touch(w, peer)
            return 0
        c = self.find_change(peer, counter)
        if c < 0:
            raise AssertionError("dependency is not in the log")
        if side == LC_SIDE_TARGET and w.cov < counter + 1:
            w.cov = counter + 1
        self._walk_touch(w, peer)
        if self.n_wheap == self.cap_wheap:
            self.wheap = <lc_walk_step*>grow(self.wheap, &self.cap_wheap, self.n_wheap + 1, sizeof(lc_walk_step))
        st.key = (c << 31) + (counter - self.changes[c].counter)
        st.change = c
        st.peer = peer
        st.counter = counter
        st.side = side
        heap_push(self.wheap, self.n_wheap, st)
        self.n_wheap += 1
        if side == LC_SIDE_TRACKER or counter >= tv[peer]:
            self.w_live += 1
        return 0

    cdef int64_t walk_diff(self, const int32_t *tv, const lc_id *tf, int64_t n_tf,
                           const lc_id *target, int64_t n_target) except -1:
        """The moves (into self.moves) that take a tracker version to a target version.

        The tracker version is given twice: densely as `tv` (end counter per peer index,
        so membership is one lookup) and as ids whose closure it is (`tf`); the target is
        the closure of `target`. A step stands for the prefix of its peer up to its counter;
        expanding it queues the deps of the change holding it. The prefix's earlier changes
        need no steps of their own: every change in the log depends, through its deps, on
        its peer's previous op (LoroDoc.move_tracker_to_change rejects a change that does
        not), so their deps are reached anyway. Both sides share one max-heap by topological
        key:

        * a target step outside the tracker version is expanded: the target is ahead there;
        * a tracker step is expanded only when the target does not hold it (its peer
          retreats); whether the target holds it is final when it is popped, because a
          target step covering it is queued by a change later in the log (or is one of
          `target`), whose key is larger, so it was expanded first;
        * target steps inside the tracker version are expanded only while tracker steps
          remain, to learn how far the target reaches there.

        The walk stops when no step of the first two kinds is left, so its cost follows the
        changes that differ and the deps between them, not the number of peers."""
        cdef int64_t i
        cdef lc_walk_step st
        cdef lc_walk_peer *w
        cdef lc_change *ch
        self.n_wheap = 0
        self.n_moves = 0
        self.w_live = 0
        try:
            for i in range(n_target):
                self.walk_push(LC_SIDE_TARGET, target[i].peer, target[i].counter, tv)
            for i in range(n_tf):
                self.walk_push(LC_SIDE_TRACKER, tf[i].peer, tf[i].counter, tv)
            while self.w_live > 0:
                st = heap_pop(self.wheap, self.n_wheap)
                self.n_wheap -= 1
                w = &self.wpeer[st.peer]
                if st.side == LC_SIDE_TARGET:
                    if st.counter >= tv[st.peer]:
                        self.w_live -= 1
                    if st.counter >= w.low_target:
                        continue
                    ch = &self.changes[st.change]
                    w.low_target = ch.counter
                    for i in range(ch.deps_off, ch.deps_off + ch.deps_len):
                        self.walk_push(LC_SIDE_TARGET, self.deps[i].peer, self.deps[i].counter, tv)
                    continue
                self.w_live -= 1
                if st.counter < w.cov or st.counter >= w.low_tracker:
                    continue
                w.flags |= LC_WALK_RETREAT
                ch = &self.changes[st.change]
                w.low_tracker = ch.counter
                for i in range(ch.deps_off, ch.deps_off + ch.deps_len):
                    self.walk_push(LC_SIDE_TRACKER, self.deps[i].peer, self.deps[i].counter, tv)
            walk_collect_moves(self, tv)
        finally:
            walk_reset(self)
        return self.n_moves

    cdef int64_t add_change(self, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                            int64_t timestamp, const lc_id *deps, uint32_t n_deps,
                            int64_t ops_off, uint32_t ops_len, int32_t msg) except -1:
        """Append a change whose ops are already in the op arena (its deps are in the log)."""
        cdef uint32_t i
        cdef lc_change *ch
        cdef lc_change_list *cl
        if self.n_changes == self.cap_changes:
            self.changes = <lc_change*>grow(self.changes, &self.cap_changes, self.n_changes + 1, sizeof(lc_change))
        if self.n_deps + n_deps > self.cap_deps:
            self.deps = <lc_id*>grow(self.deps, &self.cap_deps, self.n_deps + n_deps, sizeof(lc_id))
        ch = &self.changes[self.n_changes]
        ch.peer = peer
        ch.counter = counter
        ch.end = end
        ch.lamport = lamport
        ch.timestamp = timestamp
        ch.ops_off = ops_off
        ch.ops_len = ops_len
        ch.msg = msg
        ch.deps_off = self.n_deps
        ch.deps_len = n_deps
        for i in range(n_deps):
            self.deps[self.n_deps + i] = deps[i]
        self.n_deps += n_deps
        cl = &self.by_peer[peer]
        if cl.len == cl.cap:
            cl.idx = <int64_t*>grow(cl.idx, &cl.cap, cl.len + 1, sizeof(int64_t))
        cl.idx[cl.len] = self.n_changes
        cl.len += 1
        if self.vv[peer] < end:
            self.vv[peer] = end
            self.vv_touch(peer)
        if self.next_lamport < lamport + <uint32_t>(end - counter):
            self.next_lamport = lamport + <uint32_t>(end - counter)
        self.n_changes += 1
        return self.n_changes - 1

    cdef bint can_extend(self, uint32_t peer, int32_t counter, uint32_t lamport, int64_t timestamp,
                         const lc_id *deps, uint32_t n_deps, int64_t ops_off, object msg) noexcept:
        """Loro's merge rule for a change arriving after the last one in the log: same peer,
        counters and Lamports continue, its only dependency is that peer's previous op, the
        same timestamp and message, and its ops follow the last change's in the arena."""
        cdef lc_change *last
        if self.n_changes == 0 or n_deps != 1:
            return False
        last = &self.changes[self.n_changes - 1]
        if not (last.peer == peer and last.end == counter and deps[0].peer == peer
                and deps[0].counter == counter - 1 and last.ops_off + last.ops_len == ops_off
                and last.lamport + <uint32_t>(last.end - last.counter) == lamport
                and last.timestamp == timestamp):
            return False
        return (self.messages[last.msg] if last.msg >= 0 else None) == msg

    cdef int extend_last_change(self, int32_t end, uint32_t n_ops) except -1:
        """Grow the last change to `end`, taking the next `n_ops` ops of the arena."""
        cdef lc_change *last = &self.changes[self.n_changes - 1]
        last.end = end
        last.ops_len += n_ops
        if self.vv[last.peer] < end:
            self.vv[last.peer] = end
            self.vv_touch(last.peer)
        if self.next_lamport < last.lamport + <uint32_t>(end - last.counter):
            self.next_lamport = last.lamport + <uint32_t>(end - last.counter)
        return 0

    cdef int update_frontiers(self, const lc_id *deps, uint32_t n, lc_id last) except -1:
        """Frontiers after a change with `deps` whose last op is `last`."""
        cdef int64_t i, k = 0
        cdef uint32_t j
        cdef bint drop
        fm_new_change(self, deps, n, last)
        for i in range(self.n_frontiers):
            drop = self.frontiers[i].peer == last.peer
            for j in range(n):
                if self.frontiers[i].peer == deps[j].peer and self.frontiers[i].counter == deps[j].counter:
                    drop = True
            if not drop:
                self.frontiers[k] = self.frontiers[i]
                k += 1
        self.n_frontiers = k
        if self.n_frontiers == self.cap_frontiers:
            self.frontiers = <lc_id*>grow(self.frontiers, &self.cap_frontiers, self.n_frontiers + 1, sizeof(lc_id))
        self.frontiers[self.n_frontiers] = last
        self.n_frontiers += 1
        return 0

    cdef list frontier_order(self):
        """The frontiers (peer index, counter) in the order loro's map of them yields them."""
        return fm_order(self)

    cdef int frontiers_loaded(self) except -1:
        """The frontiers' map as a snapshot load leaves it."""
        return fm_load(self)

    cdef int frontiers_loaded_then(self, list heads, dict ends) except -1:
        """The frontiers' map as a snapshot load (`heads`, its version `ends` by peer index)
        and then the log's changes past it leave it."""
        return fm_load_then(self, heads, ends)

    cdef bytes fmap_save(self):
        cdef int64_t head[3]
        head[0] = self.fmap_n
        head[1] = self.fmap_items
        head[2] = self.fmap_growth
        return ((<char *>head)[:3 * sizeof(int64_t)]
                + ((<char *>self.fmap)[:self.fmap_n * sizeof(int64_t)] if self.fmap_n else b""))

    cdef int fmap_restore(self, bytes saved) except -1:
        cdef const int64_t *head = <const int64_t *><const char *>saved
        cdef int64_t n = head[0]
        cdef int64_t *fresh = NULL
        if n:
            fresh = <int64_t *>malloc(n * sizeof(int64_t))
            if fresh == NULL:
                raise MemoryError()
            memcpy(fresh, head + 3, n * sizeof(int64_t))
        free(self.fmap)
        self.fmap = fresh
        self.fmap_n = n
        self.fmap_items = head[1]
        self.fmap_growth = head[2]
        return 0

    cdef int truncate(self, int64_t n_changes, int64_t n_ops, const lc_id *frontiers,
                      int64_t n_frontiers, uint32_t next_lamport) except -1:
        return log_truncate(self, n_changes, n_ops, frontiers, n_frontiers, next_lamport)

    cdef int refresh_vv(self, uint32_t p) except -1:
        """Set vv[p] from the peer's last change (after changes were cut or shortened)."""
        cdef lc_change_list *cl = &self.by_peer[p]
        cdef int32_t end = self.changes[cl.idx[cl.len - 1]].end if cl.len > 0 else 0
        if self.has_floor and end < self.floor[p]:
            end = self.floor[p]
        if self.vv[p] != end:
            self.vv[p] = end
            self.vv_touch(p)
        return 0

    cdef int drop_peers(self, uint32_t n_peers) except -1:
        return log_drop_peers(self, n_peers)

    # ------------------------------------------------------------------ Loro's change grouping
    # The records and their undo log (oplog/groups.pxi); the policy lives in doc/grouping.pxi.

    cdef int64_t find_group(self, uint32_t peer, int32_t counter) noexcept:
        """Index in the peer's list of the logical change holding `counter`, or -1."""
        if peer >= self.n_peers:
            return -1
        cdef lc_group_list *gl = &self.groups[peer]
        cdef int64_t lo = 0, hi = gl.len, mid
        while lo < hi:
            mid = (lo + hi) // 2
            if gl.items[mid].end <= counter:
                lo = mid + 1
            elif gl.items[mid].counter > counter:
                hi = mid
            else:
                return mid
        return -1

    cdef int groups_rollback(self, int64_t mark) except -1:
        return log_groups_rollback(self, mark)

    cdef int group_undo_push(self, uint32_t peer, int64_t key) except -1:
        return log_group_undo_push(self, peer, key)

    cdef int group_add(self, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                       int64_t timestamp, const lc_id *deps, uint32_t n_deps, int32_t msg,
                       int64_t size, bint new_block, int64_t key) except -1:
        return log_group_add(self, peer, counter, end, lamport, timestamp, deps, n_deps, msg, size, new_block, key)

    cdef int group_extend(self, uint32_t peer, int32_t end, int64_t size, int64_t key) except -1:
        return log_group_extend(self, peer, end, size, key)

    # ------------------------------------------------------------------ reference versions and checks

    cdef int closure(self, const lc_id *ids, int64_t n, lc_id extra, int32_t *out) except -1:
        return log_closure(self, ids, n, extra, out)

    def _check(self, bint txn_open=False, uint32_t txn_peer=0, int32_t txn_counter=0):
        return log_check(self, txn_open, txn_peer, txn_counter)

    def _check_walks(self, int64_t samples=64, bint from_head=True):
        return log_check_walks(self, samples, from_head)
