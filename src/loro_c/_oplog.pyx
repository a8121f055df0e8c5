# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The operation log (see include/loro_c/oplog.h for the records and their ownership)."""
from libc.stdlib cimport free
from libc.string cimport memset
from loro_c._seq cimport LC_NO_PEER, grow


cdef class OpLog:

    def __cinit__(self):
        self.peer_map = {}
        self.messages = []
        self.values = []
        self.keys = []
        self.key_map = {}

    def __dealloc__(self):
        cdef uint32_t i
        if self.by_peer != NULL:
            for i in range(self.n_peers):
                free(self.by_peer[i].idx)
        free(self.by_peer)
        free(self.peer_ids)
        free(self.vv)
        free(self.scratch)
        free(self.changes)
        free(self.ops)
        free(self.deps)
        free(self.vvs)
        free(self.frontiers)

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
            self.scratch = <int32_t*>grow(self.scratch, &cap, i + 1, sizeof(int32_t))
            cap = self.cap_peers
            self.by_peer = <lc_change_list*>grow(self.by_peer, &cap, i + 1, sizeof(lc_change_list))
            self.cap_peers = <uint32_t>cap
        self.peer_ids[i] = peer
        self.vv[i] = 0
        self.scratch[i] = 0
        memset(&self.by_peer[i], 0, sizeof(lc_change_list))
        self.n_peers = i + 1
        self.peer_map[peer] = i
        return i

    cdef uint32_t key_index(self, str key) except? 0xFFFFFFFF:
        found = self.key_map.get(key)
        if found is not None:
            return <uint32_t>found
        cdef uint32_t i = len(self.keys)
        self.keys.append(key)
        self.key_map[key] = i
        return i

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

    cdef int version_of(self, const lc_id *deps, int64_t n, int32_t *out) except -1:
        """Dense version vector (n_peers slots) of the causal closure of `deps`, which must all
        be in committed changes."""
        cdef int64_t i, j, c
        cdef lc_change *ch
        cdef lc_id e
        memset(out, 0, self.n_peers * sizeof(int32_t))
        for i in range(n):
            c = self.find_change(deps[i].peer, deps[i].counter)
            if c < 0:
                raise AssertionError("dependency is not in the log")
            ch = &self.changes[c]
            for j in range(ch.vv_off, ch.vv_off + ch.vv_len):
                e = self.vvs[j]
                if out[e.peer] < e.counter:
                    out[e.peer] = e.counter
            if out[deps[i].peer] < deps[i].counter + 1:
                out[deps[i].peer] = deps[i].counter + 1
        return 0

    cdef int64_t add_change(self, uint32_t peer, int32_t counter, int32_t end, uint32_t lamport,
                            int64_t timestamp, const lc_id *deps, uint32_t n_deps,
                            int64_t ops_off, uint32_t ops_len, int32_t msg,
                            const int32_t *version) except -1:
        """Append a change whose ops are already in the op arena; `version` is the dense causal
        version of its first op."""
        cdef uint32_t i
        cdef lc_change *ch
        cdef lc_change_list *cl
        if self.n_changes == self.cap_changes:
            self.changes = <lc_change*>grow(self.changes, &self.cap_changes, self.n_changes + 1, sizeof(lc_change))
        if self.n_deps + n_deps > self.cap_deps:
            self.deps = <lc_id*>grow(self.deps, &self.cap_deps, self.n_deps + n_deps, sizeof(lc_id))
        if self.n_vvs + self.n_peers > self.cap_vvs:
            self.vvs = <lc_id*>grow(self.vvs, &self.cap_vvs, self.n_vvs + self.n_peers, sizeof(lc_id))
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
        ch.vv_off = self.n_vvs
        for i in range(self.n_peers):
            if version[i] > 0:
                self.vvs[self.n_vvs].peer = i
                self.vvs[self.n_vvs].counter = version[i]
                self.n_vvs += 1
        ch.vv_len = <uint32_t>(self.n_vvs - ch.vv_off)
        cl = &self.by_peer[peer]
        if cl.len == cl.cap:
            cl.idx = <int64_t*>grow(cl.idx, &cl.cap, cl.len + 1, sizeof(int64_t))
        cl.idx[cl.len] = self.n_changes
        cl.len += 1
        if self.vv[peer] < end:
            self.vv[peer] = end
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
        if self.next_lamport < last.lamport + <uint32_t>(end - last.counter):
            self.next_lamport = last.lamport + <uint32_t>(end - last.counter)
        return 0

    cdef int update_frontiers(self, const lc_id *deps, uint32_t n, lc_id last) except -1:
        """Frontiers after a change with `deps` whose last op is `last`."""
        cdef int64_t i, k = 0
        cdef uint32_t j
        cdef bint drop
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

    cdef int truncate(self, int64_t n_changes, int64_t n_ops) except -1:
        """Forget changes and ops past the given counts (used to undo a failed import before
        the state is rebuilt). Per-peer indices, versions and frontiers are recomputed."""
        cdef uint32_t p
        cdef int64_t i
        cdef lc_change *ch
        self.n_changes = n_changes
        self.n_ops = n_ops
        self.n_deps = self.changes[n_changes - 1].deps_off + self.changes[n_changes - 1].deps_len if n_changes > 0 else 0
        self.n_vvs = self.changes[n_changes - 1].vv_off + self.changes[n_changes - 1].vv_len if n_changes > 0 else 0
        for p in range(self.n_peers):
            self.by_peer[p].len = 0
            self.vv[p] = 0
        self.n_frontiers = 0
        self.next_lamport = 0
        for i in range(n_changes):
            ch = &self.changes[i]
            self.by_peer[ch.peer].idx[self.by_peer[ch.peer].len] = i
            self.by_peer[ch.peer].len += 1
            if self.vv[ch.peer] < ch.end:
                self.vv[ch.peer] = ch.end
            if self.next_lamport < ch.lamport + <uint32_t>(ch.end - ch.counter):
                self.next_lamport = ch.lamport + <uint32_t>(ch.end - ch.counter)
            self.update_frontiers(&self.deps[ch.deps_off], ch.deps_len,
                                  lc_id(peer=ch.peer, counter=ch.end - 1))
        return 0
