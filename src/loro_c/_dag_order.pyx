# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The order in which loro's diff calculator meets the containers of a checkout or of an
import (concurrent with local edits, or holding changes concurrent among themselves).

loro computes such a diff by replaying its history from a base version: it chooses the base
on its version DAG, visits the changes from the base to the union of both versions in
causal order (its DagCausalIter: nodes without pending dependencies on a stack, the first
ones in the order of its hash map of node ids; nodes made ready by a node pushed other
peers' first, by descending id) and notes each container the first time an op of it is
met, among the containers with ops between the two versions (the others are walked but not
calculated). That set (a hash map keyed by container index, see loro_c.hash_order) orders
the event's diffs of one depth.

Taken from loro's code (the mirror, loro-internal 1.13.7): the DAG nodes (a change that
depends only on its peer's previous op extends that peer's last node unless another peer
depends on the node's end; a dependency into a node splits it), the causal iteration, and
the meet search (a heap of spans, loro's OrdIdSpan order: last Lamport, peer, the shorter
first; spans are cut to the other side's id or Lamport; a popped span expands to its deps
and to its peer's previous op; a span met from both sides is part of the meet and is not
searched further; a path that reaches a first change, or is left alone in the heap, ends
unmatched). From the design notes (critical-version-spec.md, its tips): each path carries
the ids where it forked first (each id of a version of several; each parent at the first
node with several), merged paths the union; a path that ended unmatched with all its tips
in the meet's history is covered (a second way down to shared history, such as a peer's
own previous op that a dep reaches too), and only an uncovered one moves the base.

The oracle, loro 1.17.1, chooses the base with code the mirror does not have
(_find_meet_and_mode, all_tips_covered_by_ancestors, latest_single_head_critical_version,
register_only_concurrency: its symbols; loro's own design notes describe them). Modelled
from those notes and checked against its events:
- after holding before (an import, the return to the latest version): before, when each
  new op that starts a causal path has all of before in its history, or when the only
  containers such concurrent new and old ops share are maps and counters; else the latest
  version under before that no op outside it is concurrent with (a "critical version",
  found as a fixpoint: lower it to the history every first op past it has);
- otherwise (a checkout back): the meet, or, when a path of the search ended unmatched
  and uncovered, the latest critical version under the meet (plain session 1032 replays
  from the meet: its unmatched path is covered).
The peers are walked in the order of loro's map of id ranges (base_peer_order: each of the
maps it is filled from modelled as loro fills it; a checkout's target frontiers, and its
base's when found below both versions, in the order loro's Frontiers, a hash map of peer
to counter, yields them; an import's base below the version before, as loro's map filled
when it lowers the meet of the two versions (a new map in the order of the document's
version map) and turns it into frontiers (lowered_base_order);
an import's union, a clone of the version before with the new peers in the order of the
version after's map, both filled as the log took each peer's first change). Of the random
differential sessions' events whose diffs tie on depth (seeds 0-699), 0 of 3,879
checkouts and 0 of 5,778 imports differ from loro's order; with the other kinds of
containers, 0 of 3,941 and 0 of 6,114 (_events.import_rank models what loro's calculator
puts in its map of diffs and how its state hands them on). Those left fit some other
number for one container, or one container more or less in a map, not one same way.

Everything runs on C arrays read from the log's change records (OpLog): the DAG nodes are
rebuilt when the log changed since the last walk (one pass over its records), and a walk
costs the nodes between the versions and the base found, as loro's does."""
cimport cython
from libc.stdint cimport uint8_t, uint32_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, realloc, free, qsort
from libc.string cimport memset, memcpy, memcmp
from loro_c._seq cimport lc_id
from loro_c._oplog cimport (OpLog, lc_change, lc_op, lc_change_list, lc_range_ops,
                             range_ops_start, range_ops_next, op_atoms)
from loro_c.fxhash cimport (fx_add, fx_finish, hb_table_order, hb_buckets_for, hb_capacity_of,
                             hb_slot_of)
from loro_c._kinds cimport LC_OP_MAP_SET, LC_OP_MAP_DELETE, LC_OP_COUNTER


cdef struct dnode:
    # one of loro's DAG nodes: ids [start, end) of a peer, Lamport of `start`, its deps
    int32_t start
    int32_t end
    uint32_t lamport
    uint32_t deps_len
    int64_t deps_off


cdef struct span:
    # a DAG node cut to its first `n` ids (loro's OrdIdSpan), and the tips of the path
    # that reached it (an index in _Walk.tipsets, -1 none)
    uint32_t peer
    int32_t ctr
    uint32_t lamport
    int32_t n
    dnode *node
    int64_t tips


cdef struct tipset:
    # ids in _Walk.tip_ids[off : off + n]
    int64_t off
    int64_t n


cdef struct hitem:
    # a span in the search's heap (spans[off]), its side, its order of push
    int64_t off
    int32_t t
    int64_t seq


cdef struct succ_t:
    uint32_t peer
    int32_t ctr
    int64_t seq
    int64_t to          # index in `met`


cdef enum:
    # the side of a span in the search: reached from the left version, the right, or both
    SIDE_A = 0
    SIDE_B = 1
    SHARED = 2

@cython.final
cdef class Dag:
    """loro's DAG nodes of a log's records, per peer index. Kept across walks while the log
    only grows: new records and new dependencies re-derive the nodes of their peers from
    the last node they touch (a walk then costs the changes since the last one)."""
    cdef OpLog log
    cdef uint64_t serial
    cdef int64_t n_changes          # records taken in
    cdef uint32_t n_peers, cap_peers
    cdef int32_t *ends              # per peer: end counter of the records taken in
    cdef dnode **pnodes             # per peer: its nodes, by start
    cdef int64_t *pn
    cdef int64_t *pcap
    cdef int32_t **pcuts            # per peer: counters another peer's change depends on
    cdef int64_t *pncuts
    cdef int64_t *pcapcuts
    cdef int32_t *redo              # update scratch: per peer, the first counter to re-derive
    cdef lc_id *deps
    cdef int64_t n_deps, cap_deps

    def __dealloc__(self):
        self.reset()
        free(self.ends)
        free(self.pnodes)
        free(self.pn)
        free(self.pcap)
        free(self.pcuts)
        free(self.pncuts)
        free(self.pcapcuts)
        free(self.redo)
        free(self.deps)

    cdef void reset(self) noexcept:
        cdef uint32_t p
        for p in range(self.n_peers):
            free(self.pnodes[p])
            free(self.pcuts[p])
            self.pnodes[p] = NULL
            self.pcuts[p] = NULL
            self.pn[p] = self.pcap[p] = self.pncuts[p] = self.pcapcuts[p] = 0
            self.ends[p] = 0
        self.n_peers = 0
        self.n_changes = 0
        self.n_deps = 0

    cdef int add_peers(self, uint32_t n) except -1:
        cdef uint32_t p, cap
        if n > self.cap_peers:
            cap = n * 2 + 4
            self.ends = <int32_t *>grow_array(self.ends, cap * sizeof(int32_t))
            self.redo = <int32_t *>grow_array(self.redo, cap * sizeof(int32_t))
            self.pnodes = <dnode **>grow_array(self.pnodes, cap * sizeof(dnode *))
            self.pn = <int64_t *>grow_array(self.pn, cap * sizeof(int64_t))
            self.pcap = <int64_t *>grow_array(self.pcap, cap * sizeof(int64_t))
            self.pcuts = <int32_t **>grow_array(self.pcuts, cap * sizeof(int32_t *))
            self.pncuts = <int64_t *>grow_array(self.pncuts, cap * sizeof(int64_t))
            self.pcapcuts = <int64_t *>grow_array(self.pcapcuts, cap * sizeof(int64_t))
            self.cap_peers = cap
        for p in range(self.n_peers, n):
            self.ends[p] = 0
            self.pnodes[p] = NULL
            self.pn[p] = self.pcap[p] = 0
            self.pcuts[p] = NULL
            self.pncuts[p] = self.pcapcuts[p] = 0
        self.n_peers = n
        return 0

    cdef int64_t add_dep(self, uint32_t peer, int32_t counter) except -1:
        if self.n_deps == self.cap_deps:
            self.cap_deps = self.cap_deps * 2 + 16
            self.deps = <lc_id *>grow_array(self.deps, self.cap_deps * sizeof(lc_id))
        self.deps[self.n_deps].peer = peer
        self.deps[self.n_deps].counter = counter
        self.n_deps += 1
        return self.n_deps - 1

    cdef int add_cut(self, uint32_t p, int32_t c) except -1:
        """Note that another peer's change depends on op (p, c) (kept sorted, once)."""
        cdef int64_t lo = 0, hi = self.pncuts[p], mid
        cdef int32_t *cuts = self.pcuts[p]
        while lo < hi:
            mid = (lo + hi) >> 1
            if cuts[mid] < c:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.pncuts[p] and cuts[lo] == c:
            return 0
        if self.pncuts[p] == self.pcapcuts[p]:
            self.pcapcuts[p] = self.pcapcuts[p] * 2 + 8
            self.pcuts[p] = cuts = <int32_t *>grow_array(cuts, self.pcapcuts[p] * sizeof(int32_t))
        for mid in range(self.pncuts[p], lo, -1):
            cuts[mid] = cuts[mid - 1]
        cuts[lo] = c
        self.pncuts[p] += 1
        return 0

    cdef dnode *push_node(self, uint32_t p) except NULL:
        if self.pn[p] == self.pcap[p]:
            self.pcap[p] = self.pcap[p] * 2 + 8
            self.pnodes[p] = <dnode *>grow_array(self.pnodes[p], self.pcap[p] * sizeof(dnode))
        self.pn[p] += 1
        return &self.pnodes[p][self.pn[p] - 1]

    cdef int update(self, OpLog log) except -1:
        """Take in the records the log gained since the last call (all of them the first
        time, or when the log is not a grown copy of the one taken in)."""
        cdef int64_t ci, k
        cdef uint32_t p
        cdef lc_change *ch
        cdef lc_change_list *cl
        cdef int32_t end
        cdef bint grown = self.log is log and self.serial == log.serial and \
            log.n_changes >= self.n_changes and log.n_peers >= self.n_peers
        if grown:
            for p in range(self.n_peers):
                cl = &log.by_peer[p]
                end = log.changes[cl.idx[cl.len - 1]].end if cl.len else 0
                if end < self.ends[p]:
                    grown = False
                    break
        if grown:
            for ci in range(self.n_changes, log.n_changes):
                ch = &log.changes[ci]
                if ch.peer < self.n_peers and ch.counter < self.ends[ch.peer]:
                    grown = False       # a record inside the history taken in
                    break
        if not grown:
            self.reset()
            self.log = log
            self.serial = log.serial
        self.add_peers(log.n_peers)
        # a peer's nodes change from the last one it had (its records may extend it) and
        # from each op another peer's new change depends on (a node ends there)
        for p in range(self.n_peers):
            cl = &log.by_peer[p]
            end = log.changes[cl.idx[cl.len - 1]].end if cl.len else 0
            self.redo[p] = -1
            if end > self.ends[p]:
                self.redo[p] = self.ends[p] - 1 if self.ends[p] > 0 else 0
            self.ends[p] = end
        for ci in range(self.n_changes, log.n_changes):
            ch = &log.changes[ci]
            for k in range(ch.deps_off, ch.deps_off + ch.deps_len):
                p = log.deps[k].peer
                if p != ch.peer:
                    self.add_cut(p, log.deps[k].counter)
                    if self.redo[p] < 0 or log.deps[k].counter < self.redo[p]:
                        self.redo[p] = log.deps[k].counter
        self.n_changes = log.n_changes
        for p in range(self.n_peers):
            if self.redo[p] >= 0:
                self.derive(log, p, self.redo[p])
        return 0

    cdef int derive(self, OpLog log, uint32_t p, int32_t x) except -1:
        """Re-derive the nodes of peer `p` from the one holding counter `x`: a change that
        depends only on its peer's previous op extends a node (a run), a node ends where
        another peer's change depends on its op."""
        cdef lc_change_list *cl = &log.by_peer[p]
        cdef lc_change *ch = NULL
        cdef dnode *nd
        cdef int64_t j, j0, k, cut_i, lo, hi, mid
        cdef int32_t run_s = 0, run_e = 0, st
        cdef uint32_t run_lam
        cdef int64_t run_doff, run_dlen
        cdef bint have_run = False, extends
        cdef int32_t *cuts = self.pcuts[p]
        cdef int64_t n_cuts = self.pncuts[p]
        # the node holding x (or the first one) starts the run to re-derive
        lo = 0
        hi = self.pn[p]
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.pnodes[p][mid].end <= x:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.pn[p]:
            nd = &self.pnodes[p][lo]
            have_run = True
            run_s = nd.start
            run_lam = nd.lamport
            run_doff = nd.deps_off
            run_dlen = nd.deps_len
            j0 = log.find_change_pos(p, run_s)
            run_e = log.changes[cl.idx[j0]].end
            j0 += 1
            self.pn[p] = lo
        else:
            self.pn[p] = 0
            j0 = 0
        lo = 0
        hi = n_cuts
        while lo < hi:
            mid = (lo + hi) >> 1
            if cuts[mid] < (run_s if have_run else 0):
                lo = mid + 1
            else:
                hi = mid
        cut_i = lo
        for j in range(j0, cl.len + 1):
            if j < cl.len:
                ch = &log.changes[cl.idx[j]]
                # a record without deps but at counter > 0 continues its change
                extends = have_run and run_e == ch.counter and (
                    (ch.deps_len == 0 and ch.counter > 0) or
                    (ch.deps_len == 1 and log.deps[ch.deps_off].peer == p
                     and log.deps[ch.deps_off].counter == ch.counter - 1))
                if extends:
                    run_e = ch.end
                    continue
            if have_run:
                # close the run, cut after each op another peer depends on
                st = run_s
                while cut_i < n_cuts and cuts[cut_i] < run_s:
                    cut_i += 1
                while True:
                    nd = self.push_node(p)
                    nd.start = st
                    nd.lamport = run_lam + <uint32_t>(st - run_s)
                    if st == run_s:
                        nd.deps_off = run_doff
                        nd.deps_len = <uint32_t>run_dlen
                    else:
                        nd.deps_off = self.add_dep(p, st - 1)
                        nd.deps_len = 1
                    if cut_i < n_cuts and cuts[cut_i] < run_e - 1:
                        nd.end = cuts[cut_i] + 1
                        st = nd.end
                        cut_i += 1
                    else:
                        nd.end = run_e
                        break
            if j < cl.len:
                have_run = True
                run_s = ch.counter
                run_e = ch.end
                run_lam = ch.lamport
                if ch.deps_len == 0 and ch.counter > 0:
                    run_doff = self.add_dep(p, ch.counter - 1)
                    run_dlen = 1
                else:
                    run_doff = self.n_deps
                    run_dlen = ch.deps_len
                    for k in range(ch.deps_off, ch.deps_off + ch.deps_len):
                        self.add_dep(log.deps[k].peer, log.deps[k].counter)
        return 0

    cdef inline dnode *node_at(self, uint32_t p, int32_t c) noexcept:
        """The node of peer `p` holding counter `c`, or NULL."""
        cdef int64_t lo = 0, hi, mid
        cdef dnode *ns
        if p >= self.n_peers:
            return NULL
        ns = self.pnodes[p]
        hi = self.pn[p]
        while lo < hi:
            mid = (lo + hi) >> 1
            if ns[mid].end <= c:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.pn[p] and ns[lo].start <= c:
            return &ns[lo]
        return NULL


cdef void *grow_array(void *a, size_t size) except NULL:
    cdef void *b = realloc(a, size)
    if b == NULL:
        raise MemoryError()
    return b


cdef struct cmask:
    # a byte of flags per container index (CM_* bits), grown as marked
    uint8_t *bits
    uint32_t n              # indices [0, n) may be nonzero
    uint32_t cap


cdef enum:
    CM_OLD = 1              # an op of the old history concurrent with the new ops
    CM_NEW = 2              # an op of the new ops
    CM_CHANGED = 4          # an op between the two versions
    CM_NONREG = 8           # an op of a container other than a map or counter
    CM_SEEN = 16            # met by the walk


cdef inline void cm_clear(cmask *cm) noexcept:
    if cm.n:
        memset(cm.bits, 0, cm.n)
    cm.n = 0


cdef int cm_mark(cmask *cm, uint32_t c, uint8_t bits) except -1:
    cdef uint32_t cap
    cdef uint8_t *grown
    if c >= cm.cap:
        cap = c * 2 + 64
        grown = <uint8_t *>realloc(cm.bits, cap)
        if grown == NULL:
            raise MemoryError()
        memset(grown + cm.cap, 0, cap - cm.cap)
        cm.bits = grown
        cm.cap = cap
    if c >= cm.n:
        cm.n = c + 1
    cm.bits[c] |= bits
    return 0


cdef int mark_ops(OpLog log, uint32_t p, int32_t lo, int32_t hi, cmask *cm, uint8_t bit) except -1:
    """Mark with `bit` the containers of the ops of peer `p` in counters [lo, hi) (and with
    CM_NONREG those that are not maps or counters)."""
    cdef lc_range_ops it
    cdef lc_op *op
    range_ops_start(log, &it, p, lo, hi)
    op = range_ops_next(log, &it)
    while op != NULL:
        if op.kind == LC_OP_MAP_SET or op.kind == LC_OP_MAP_DELETE or op.kind == LC_OP_COUNTER:
            cm_mark(cm, op.container, bit)
        else:
            cm_mark(cm, op.container, bit | CM_NONREG)
        op = range_ops_next(log, &it)
    return 0


cdef class _Walk:
    """Scratch of one walk (C arrays freed with it)."""
    cdef Dag dag
    cdef const uint64_t *pid64
    # the search's heap
    cdef span *spans
    cdef int64_t n_spans, cap_spans
    cdef hitem *heap
    cdef int64_t n_heap, cap_heap
    cdef int64_t seq
    cdef int32_t *vv_start
    cdef int32_t *vv_end
    cdef int32_t *vv_tmp
    cdef lc_id *stack
    cdef int64_t cap_stack
    # the meet search's tips: where each path forked first (sets, deduplicated), and the
    # ids the paths that ended unmatched stand for
    cdef tipset *tipsets
    cdef int64_t n_tipsets, cap_tipsets
    cdef lc_id *tip_ids
    cdef int64_t n_tip_ids, cap_tip_ids
    cdef lc_id *dead
    cdef int64_t n_dead, cap_dead
    # when not None: the peers whose DAG nodes the meet search looked up, and the ids of
    # the meet it found (lazy_replay_unread: what loro's lazily read DAG has read by then)
    cdef set reads
    cdef list ans_ids

    def __cinit__(self, Dag dag):
        cdef uint32_t n = dag.n_peers + 1
        self.dag = dag
        self.pid64 = dag.log.peer_ids
        self.vv_start = <int32_t *>malloc(n * sizeof(int32_t))
        self.vv_end = <int32_t *>malloc(n * sizeof(int32_t))
        self.vv_tmp = <int32_t *>malloc(n * sizeof(int32_t))
        if self.vv_start == NULL or self.vv_end == NULL or self.vv_tmp == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.spans)
        free(self.heap)
        free(self.vv_start)
        free(self.vv_end)
        free(self.vv_tmp)
        free(self.stack)
        free(self.tipsets)
        free(self.tip_ids)
        free(self.dead)

    # -- the meet search -------------------------------------------------------------------

    cdef inline int cmp_span_desc(self, const span *a, const span *b) noexcept:
        """<0 when `a` pops first (loro's OrdIdSpan order, max first): larger last
        Lamport, larger peer, shorter."""
        cdef int64_t la = <int64_t>a.lamport + a.n, lb = <int64_t>b.lamport + b.n
        if la != lb:
            return -1 if la > lb else 1
        if self.pid64[a.peer] != self.pid64[b.peer]:
            return -1 if self.pid64[a.peer] > self.pid64[b.peer] else 1
        if a.n != b.n:
            return -1 if a.n < b.n else 1
        return 0

    cdef int cmp_item(self, const hitem *a, const hitem *b) noexcept:
        """<0 when `a` pops first: by span, then the larger side (loro's heap holds (span,
        side) pairs), then the earlier push (equal pairs are interchangeable)."""
        cdef int c = self.cmp_span_desc(&self.spans[a.off], &self.spans[b.off])
        if c:
            return c
        if a.t != b.t:
            return -1 if a.t > b.t else 1
        return -1 if a.seq < b.seq else (1 if a.seq > b.seq else 0)

    cdef int64_t new_spans(self, int64_t n) except -1:
        cdef span *tmp
        if self.n_spans + n > self.cap_spans:
            self.cap_spans = (self.n_spans + n) * 2 + 16
            tmp = <span *>realloc(self.spans, self.cap_spans * sizeof(span))
            if tmp == NULL:
                raise MemoryError()
            self.spans = tmp
        self.n_spans += n
        return self.n_spans - n

    cdef int push(self, int64_t off, int32_t t) except -1:
        cdef hitem *tmp
        cdef hitem it
        cdef int64_t i, parent
        if self.n_heap == self.cap_heap:
            self.cap_heap = self.cap_heap * 2 + 16
            tmp = <hitem *>realloc(self.heap, self.cap_heap * sizeof(hitem))
            if tmp == NULL:
                raise MemoryError()
            self.heap = tmp
        it.off = off
        it.t = t
        it.seq = self.seq
        self.seq += 1
        i = self.n_heap
        self.n_heap += 1
        while i > 0:
            parent = (i - 1) >> 1
            if self.cmp_item(&it, &self.heap[parent]) < 0:
                self.heap[i] = self.heap[parent]
                i = parent
            else:
                break
        self.heap[i] = it
        return 0

    cdef hitem pop(self) noexcept:
        cdef hitem top = self.heap[0], last
        cdef int64_t i = 0, c, n
        self.n_heap -= 1
        n = self.n_heap
        if n > 0:
            last = self.heap[n]
            while True:
                c = 2 * i + 1
                if c >= n:
                    break
                if c + 1 < n and self.cmp_item(&self.heap[c + 1], &self.heap[c]) < 0:
                    c += 1
                if self.cmp_item(&self.heap[c], &last) < 0:
                    self.heap[i] = self.heap[c]
                    i = c
                else:
                    break
            self.heap[i] = last
        return top

    cdef int push_one(self, span s, int32_t n, int32_t t) except -1:
        """Push span `s` cut to its first `n` ids."""
        cdef int64_t off = self.new_spans(1)
        self.spans[off] = s
        self.spans[off].n = n
        return self.push(off, t)

    # -- tips: loro's test of whether a path that ended unmatched was only a second way
    # down to history both versions have (a peer's previous op that a dep reaches too)

    cdef int64_t tip_room(self, int64_t n) except -1:
        cdef void *tmp
        if self.n_tip_ids + n > self.cap_tip_ids:
            self.cap_tip_ids = (self.n_tip_ids + n) * 2 + 16
            tmp = realloc(self.tip_ids, self.cap_tip_ids * sizeof(lc_id))
            if tmp == NULL:
                raise MemoryError()
            self.tip_ids = <lc_id *>tmp
        if self.n_tipsets == self.cap_tipsets:
            self.cap_tipsets = self.cap_tipsets * 2 + 16
            tmp = realloc(self.tipsets, self.cap_tipsets * sizeof(tipset))
            if tmp == NULL:
                raise MemoryError()
            self.tipsets = <tipset *>tmp
        self.tipsets[self.n_tipsets].off = self.n_tip_ids
        self.tipsets[self.n_tipsets].n = 0
        self.n_tipsets += 1
        return self.n_tipsets - 1

    cdef int64_t tips_of_one(self, uint32_t peer, int32_t counter) except -1:
        """A new set holding the one id."""
        cdef int64_t k = self.tip_room(1)
        self.tip_ids[self.n_tip_ids].peer = peer
        self.tip_ids[self.n_tip_ids].counter = counter
        self.n_tip_ids += 1
        self.tipsets[k].n = 1
        return k

    cdef int64_t tips_union(self, int64_t a, int64_t b) except -2:
        """The union of sets `a` and `b` (-1: empty), each id once."""
        cdef int64_t k, i, j, na, nb, oa, ob
        cdef bint found
        if a == b or b < 0:
            return a
        if a < 0:
            return b
        na = self.tipsets[a].n
        nb = self.tipsets[b].n
        k = self.tip_room(na + nb)
        oa = self.tipsets[a].off
        ob = self.tipsets[b].off
        for i in range(na):
            self.tip_ids[self.n_tip_ids] = self.tip_ids[oa + i]
            self.n_tip_ids += 1
        for j in range(nb):
            found = False
            for i in range(na):
                if (self.tip_ids[oa + i].peer == self.tip_ids[ob + j].peer
                        and self.tip_ids[oa + i].counter == self.tip_ids[ob + j].counter):
                    found = True
                    break
            if not found:
                self.tip_ids[self.n_tip_ids] = self.tip_ids[ob + j]
                self.n_tip_ids += 1
        self.tipsets[k].n = self.n_tip_ids - self.tipsets[k].off
        return k

    cdef int note_dead(self, const span *s) except -1:
        """A path ended unmatched at span `s`: note its tips, or its last id if it has
        none."""
        cdef int64_t i, n, off
        cdef lc_id *tmp
        if s.tips >= 0:
            n = self.tipsets[s.tips].n
            off = self.tipsets[s.tips].off
        else:
            n = 1
            off = -1
        if self.n_dead + n > self.cap_dead:
            self.cap_dead = (self.n_dead + n) * 2 + 16
            tmp = <lc_id *>realloc(self.dead, self.cap_dead * sizeof(lc_id))
            if tmp == NULL:
                raise MemoryError()
            self.dead = tmp
        if off < 0:
            self.dead[self.n_dead].peer = s.peer
            self.dead[self.n_dead].counter = s.ctr + s.n - 1
            self.n_dead += 1
        else:
            for i in range(n):
                self.dead[self.n_dead] = self.tip_ids[off + i]
                self.n_dead += 1
        return 0

    cdef int push_span_of(self, uint32_t peer, int32_t counter, int32_t t,
                          int64_t tips=-1) except -1:
        """Push the span of the node holding (peer, counter), cut to end there."""
        cdef dnode *nd = self.dag.node_at(peer, counter)
        cdef span s
        if nd == NULL:
            raise ValueError("an id outside the history")
        if self.reads is not None:
            self.reads.add(peer)
        s.peer = peer
        s.ctr = nd.start
        s.lamport = nd.lamport
        s.n = counter - nd.start + 1
        s.tips = tips
        s.node = nd
        return self.push_one(s, s.n, t)

    cdef int meet(self, const lc_id *left, int64_t nl, const lc_id *right, int64_t nr,
                  int32_t *out) except -1:
        """Write to `out` the version vector of the meet loro's search finds for versions
        `left` and `right`. Returns bit 1 when a path of it ended unmatched (it reached a
        first change, or was left alone in the heap), and bit 2 when such a path is not
        covered by the meet: loro gives each path the ids where it forked first (its
        tips: each id of a version of several, each parent at the first node with several)
        and a path that ends unmatched with all its tips in the meet's history was only a
        second way down to it (loro's design notes, critical-version-spec: the tips)."""
        cdef Dag h = self.dag
        cdef int64_t i, n_ans = 0
        cdef dnode *a
        cdef dnode *b
        cdef lc_id *dd
        cdef lc_id one
        cdef hitem node, o
        cdef int32_t t, ol_last, n
        cdef span n0
        cdef span *os
        cdef int64_t ol
        cdef bint unmatched = False, has_prev, uncovered = False
        cdef int64_t child_tips, n_parents
        cdef lc_id *ans = NULL
        cdef int64_t cap_ans = 16
        if nl == 0 or nr == 0:
            memset(out, 0, h.n_peers * sizeof(int32_t))
            return 0
        if nl == 1 and nr == 1 and left[0].peer == right[0].peer:
            # loro's shortcuts for two ids of one peer (same node, or one node right after
            # the other's)
            a = h.node_at(left[0].peer, left[0].counter)
            b = h.node_at(right[0].peer, right[0].counter)
            if a == NULL or b == NULL:
                raise ValueError("an id outside the history")
            dd = &h.deps[a.deps_off]
            if a.start == b.start:
                one = left[0] if left[0].counter < right[0].counter else right[0]
            elif a.deps_len == 1 and dd.peer == left[0].peer and b.start <= dd.counter < b.end:
                one = right[0]
            elif b.deps_len == 1 and h.deps[b.deps_off].peer == left[0].peer and \
                    a.start <= h.deps[b.deps_off].counter < a.end:
                one = left[0]
            else:
                one.peer = 0xFFFFFFFF
            if one.peer != 0xFFFFFFFFU:
                self.vv_of(&one, 1, out, NULL)
                return 0
        self.n_heap = 0
        self.n_spans = 0
        self.seq = 0
        self.n_tipsets = 0
        self.n_tip_ids = 0
        self.n_dead = 0
        for i in range(nl):
            self.push_span_of(left[i].peer, left[i].counter, SIDE_A,
                              self.tips_of_one(left[i].peer, left[i].counter) if nl > 1 else -1)
        for i in range(nr):
            self.push_span_of(right[i].peer, right[i].counter, SIDE_B,
                              self.tips_of_one(right[i].peer, right[i].counter) if nr > 1 else -1)
        ans = <lc_id *>malloc(cap_ans * sizeof(lc_id))
        if ans == NULL:
            raise MemoryError()
        try:
            while self.n_heap:
                node = self.pop()
                t = node.t
                n0 = self.spans[node.off]
                # the same id reached again: from the other side too, it is shared
                while self.n_heap:
                    o = self.heap[0]
                    os = &self.spans[o.off]
                    if os.peer == n0.peer and os.ctr + os.n == n0.ctr + n0.n:
                        if t != o.t:
                            t = SHARED
                        n0.tips = self.tips_union(n0.tips, os.tips)
                        self.pop()
                    else:
                        break
                if t == SHARED:
                    # part of the meet, not searched further
                    if n_ans == cap_ans:
                        cap_ans *= 2
                        dd = <lc_id *>realloc(ans, cap_ans * sizeof(lc_id))
                        if dd == NULL:
                            raise MemoryError()
                        ans = dd
                    ans[n_ans].peer = n0.peer
                    ans[n_ans].counter = n0.ctr + n0.n - 1
                    n_ans += 1
                    continue
                if not self.n_heap:
                    self.note_dead(&n0)
                    unmatched = True
                    break
                o = self.heap[0]
                os = &self.spans[o.off]
                ol_last = os.ctr + os.n - 1
                if os.peer == n0.peer and n0.ctr <= ol_last < n0.ctr + n0.n and t != o.t:
                    self.push_one(n0, ol_last - n0.ctr + 1, t)
                    continue
                if n0.n > 1:
                    ol = <int64_t>os.lamport + os.n - 1
                    if ol >= n0.lamport:
                        n = <int32_t>min(ol - n0.lamport + 1, <int64_t>n0.n - 1)
                    else:
                        n = 1
                    self.push_one(n0, n, t)
                    continue
                # the node's deps, and the previous op of its peer unless a dep holds it
                has_prev = n0.ctr > 0
                for i in range(n0.node.deps_len):
                    dd = &h.deps[n0.node.deps_off + i]
                    if has_prev and dd.peer == n0.peer:
                        a = h.node_at(dd.peer, dd.counter)
                        if a != NULL and a.start <= n0.ctr - 1 <= dd.counter:
                            has_prev = False
                n_parents = n0.node.deps_len + (1 if has_prev else 0)
                if n_parents == 0:
                    self.note_dead(&n0)
                    unmatched = True
                    continue
                # (the first fork of a path gives each parent a tip of its own)
                child_tips = n0.tips
                for i in range(n0.node.deps_len):
                    dd = &h.deps[n0.node.deps_off + i]
                    if n0.tips < 0 and n_parents > 1:
                        child_tips = self.tips_of_one(dd.peer, dd.counter)
                    self.push_span_of(dd.peer, dd.counter, t, child_tips)
                if has_prev:
                    if n0.tips < 0 and n_parents > 1:
                        child_tips = self.tips_of_one(n0.peer, n0.ctr - 1)
                    self.push_span_of(n0.peer, n0.ctr - 1, t, child_tips)
            if self.reads is not None:
                self.ans_ids = [(ans[i].peer, ans[i].counter) for i in range(n_ans)]
            self.vv_of(ans, n_ans, out, NULL)
            for i in range(self.n_dead):
                if out[self.dead[i].peer] <= self.dead[i].counter:
                    uncovered = True
                    break
            return (1 if unmatched else 0) | (2 if uncovered else 0)
        finally:
            free(ans)

    cdef int critical(self, int32_t *v, const int32_t *u, int32_t *tmp, int32_t *nv) except -1:
        """Lower `v` (a version under `u`) to the latest version under it that no op of `u`
        outside it is concurrent with: each first op of a peer past `v` must have all of
        `v` in its history (tmp, nv: scratch vectors)."""
        cdef Dag h = self.dag
        cdef uint32_t p, q, np = h.n_peers
        cdef dnode *nd
        cdef lc_id prev
        cdef bint moved = True
        while moved:
            memcpy(nv, v, np * sizeof(int32_t))
            for p in range(np):
                if v[p] >= u[p]:
                    continue
                nd = h.node_at(p, v[p])
                if nd == NULL:
                    raise ValueError("an id outside the history")
                if v[p] == nd.start:
                    self.vv_of(&h.deps[nd.deps_off], nd.deps_len, tmp, NULL)
                else:
                    prev.peer = p
                    prev.counter = v[p] - 1
                    self.vv_of(&prev, 1, tmp, NULL)
                for q in range(np):
                    if tmp[q] < nv[q]:
                        nv[q] = tmp[q]
            moved = memcmp(nv, v, np * sizeof(int32_t)) != 0
            memcpy(v, nv, np * sizeof(int32_t))
        return 0

    cdef bint base_is_before(self, const int32_t *bvv, const int32_t *avv, int32_t *inter,
                             int32_t *tmp, cmask *cm) except -1:
        """For `after` holding `before`: whether loro replays from `before`, as it does when
        no new op is concurrent with an old one (each first new op of a causal path has all
        of `before` in its history) or when the only containers such concurrent ops share
        are maps and counters."""
        cdef Dag h = self.dag
        cdef OpLog log = h.log
        cdef uint32_t p, q, np = h.n_peers
        cdef int32_t c
        cdef dnode *nd
        cdef lc_id prev
        cdef const lc_id *deps
        cdef uint32_t n_deps, i
        cdef bint uncovered = False, entry
        for q in range(np):
            inter[q] = bvv[q]
        for p in range(np):
            c = bvv[p]
            while c < avv[p]:
                nd = h.node_at(p, c)
                if nd == NULL:
                    raise ValueError("an id outside the history")
                if c == nd.start:
                    deps = &h.deps[nd.deps_off]
                    n_deps = nd.deps_len
                else:
                    prev.peer = p
                    prev.counter = c - 1
                    deps = &prev
                    n_deps = 1
                entry = n_deps == 0
                for i in range(n_deps):
                    if deps[i].counter < bvv[deps[i].peer]:
                        entry = True
                if entry:
                    self.vv_of(deps, n_deps, tmp, NULL)
                    for q in range(np):
                        if tmp[q] < bvv[q]:
                            break
                    else:
                        entry = False
                    if entry:
                        uncovered = True
                        for q in range(np):
                            if tmp[q] < inter[q]:
                                inter[q] = tmp[q]
                c = nd.end
        if not uncovered:
            return True
        # the containers of the old ops outside every such path's history, of the new ops
        cm_clear(cm)
        for p in range(np):
            mark_ops(log, p, inter[p], bvv[p], cm, 1)
            mark_ops(log, p, bvv[p], avv[p], cm, 2)
        for i in range(cm.n):
            if (cm.bits[i] & 3) == 3 and (cm.bits[i] & 8):
                return False
        return True

    # -- versions ------------------------------------------------------------------------

    cdef int vv_of(self, const lc_id *ids, int64_t n, int32_t *vv, const int32_t *below) except -1:
        """The version vector (per peer index) of frontiers `ids` into `vv`, given the
        version vector `below` of a version they include (NULL: none)."""
        cdef Dag h = self.dag
        cdef int64_t top = 0, i, cap
        cdef dnode *nd
        cdef dnode *first
        cdef lc_id pid
        cdef int32_t have
        cdef lc_id *tmp
        if below == NULL:
            memset(vv, 0, h.n_peers * sizeof(int32_t))
        else:
            memcpy(vv, below, h.n_peers * sizeof(int32_t))
        if self.cap_stack < n + 16:
            self.cap_stack = n + 16
            tmp = <lc_id *>realloc(self.stack, self.cap_stack * sizeof(lc_id))
            if tmp == NULL:
                raise MemoryError()
            self.stack = tmp
        for i in range(n):
            self.stack[top] = ids[i]
            top += 1
        while top:
            top -= 1
            pid = self.stack[top]
            have = vv[pid.peer]
            if have > pid.counter:
                continue
            vv[pid.peer] = pid.counter + 1
            # the deps of the nodes holding [have, counter]
            nd = h.node_at(pid.peer, pid.counter)
            if nd == NULL:
                raise ValueError("an id outside the history")
            first = h.pnodes[pid.peer]
            while nd >= first and nd.end > have:
                if top + nd.deps_len > self.cap_stack:
                    self.cap_stack = (top + nd.deps_len) * 2
                    tmp = <lc_id *>realloc(self.stack, self.cap_stack * sizeof(lc_id))
                    if tmp == NULL:
                        raise MemoryError()
                    self.stack = tmp
                for i in range(nd.deps_len):
                    self.stack[top] = h.deps[nd.deps_off + i]
                    top += 1
                nd -= 1
        return 0


cdef succ_t *push_succ(succ_t *succ, int64_t *n, int64_t *cap, uint32_t peer, int32_t ctr,
                       int64_t to) except NULL:
    """Append the edge "id (peer, ctr) comes before met[to]", growing the array (on
    failure the old one stays the caller's to free)."""
    cdef succ_t *grown
    if n[0] == cap[0]:
        grown = <succ_t *>realloc(succ, cap[0] * 2 * sizeof(succ_t))
        if grown == NULL:
            raise MemoryError()
        succ = grown
        cap[0] *= 2
    succ[n[0]].peer = peer
    succ[n[0]].ctr = ctr
    succ[n[0]].seq = n[0]
    succ[n[0]].to = to
    n[0] += 1
    return succ


cdef int cmp_succ(const void *a, const void *b) noexcept nogil:
    cdef const succ_t *x = <const succ_t *>a
    cdef const succ_t *y = <const succ_t *>b
    if x.peer != y.peer:
        return -1 if x.peer < y.peer else 1
    if x.ctr != y.ctr:
        return -1 if x.ctr < y.ctr else 1
    return -1 if x.seq < y.seq else (1 if x.seq > y.seq else 0)


cdef int64_t find_met(const lc_id *met, int64_t lo, int64_t hi, int32_t c) noexcept:
    """Index in met[lo, hi) (counters ascending) of counter `c`, or -1."""
    cdef int64_t mid, hi0 = hi
    while lo < hi:
        mid = (lo + hi) >> 1
        if met[mid].counter < c:
            lo = mid + 1
        else:
            hi = mid
    if lo < hi0 and met[lo].counter == c:
        return lo
    return -1


# the Dag of the last log walked (a checkout and the way back walk the same history; a
# concurrent import adds to it)
cdef Dag _dag = None
cdef bint _as_checkout = False


def set_checkout(bint on):
    """Whether the walks asked for next (until set again) are a checkout's (its version
    before is the state's, rebuilt from its frontiers) or an import's (the document's
    version): loro's maps of peers are filled in another order (base_peer_order)."""
    global _as_checkout
    _as_checkout = on


cdef int _from_before = 0
cdef bint _lowered = False      # the last walk's base: lowered to a critical version


def walked_from_before():
    """How the last walk's base was chosen: 1 the version before (an import whose new ops
    meet the old ones only on registers, or follow all of them), 2 the version before as
    the critical version found, 0 another (lower) version."""
    return _from_before


cpdef list walk_containers(OpLog log, list before, list after, list ranges=None, checkout=None,
                           touches=None, list loaded=None, bint before_ordered=False,
                           bint after_ordered=False, bint whole=False, dict cold=None):
    """The containers (indices) of the ops loro's diff calculator visits to go from version
    `before` to `after` (frontiers as (peer index, counter)) of `log`, in the order it first
    meets them; `ranges`, when given, gets the id ranges it visits, in order, as (peer index,
    start, end) (the ops whose elements a MovableList's calculator notes: ml_event_split);
    `checkout`: whether the walk is a checkout's (None: as set_checkout last said);
    `touches`: the numbers of peers loro's version map of the log held at local ops that
    found it full (LoroDoc.vv_touches: such an op grows it); `loaded`: the peer ids a
    snapshot load put in that map first, in its order (LoroDoc.vv_loaded);
    `before_ordered`: a checkout's `before` is in the order loro's map of its state's
    frontiers yields them (OpLog.frontier_order); `after_ordered`: so is its `after`, the
    log's own frontiers (a move to the latest version); `whole`: the walk loro's iterator
    takes from the common ancestor, also where its calculators see only what a replay from
    `before` would (the change blocks it parses: doc/exchange.pxi number_walked_blocks);
    `cold`: {peer index: end} of the peers whose blocks from a snapshot load loro's DAG has
    not read yet (LoroDoc.dag_cold; an import's walk, see cold_view)."""
    global _dag, _from_before, _lowered
    cdef Dag h
    cdef _Walk w
    cdef int64_t nl = len(before), nr = len(after), i, j, k, nm = 0, n_succ = 0, m
    cdef int64_t n_stack = 0, cap_succ, lo, hi, ci, n_ready
    cdef uint32_t p, np, pp
    cdef int32_t s0, s1, c, e
    cdef lc_id *ids = NULL
    cdef lc_id *met = NULL
    cdef int64_t *met_lo = NULL      # per peer: its chain in met[met_lo[p], met_hi[p])
    cdef int64_t *met_hi = NULL
    cdef int32_t *pending = NULL
    cdef int32_t *tgt_lo
    cdef int32_t *tgt_hi
    cdef succ_t *succ = NULL
    cdef uint8_t *done = NULL
    cdef uint64_t *hashes = NULL
    cdef int64_t *order = NULL
    cdef int64_t *stack = NULL
    cdef int64_t *ready = NULL
    cdef uint32_t *peers = NULL
    cdef dnode *node
    cdef lc_range_ops it
    cdef lc_op *op
    cdef uint32_t cont
    cdef int32_t *bvv = NULL
    cdef int32_t *avv = NULL
    cdef int32_t *tmp = NULL
    cdef int32_t *tmp2 = NULL
    cdef bint forward, same
    cdef cmask cm
    cdef list out = []
    cdef uint8_t *touch = NULL
    cdef int64_t *met_rank = NULL
    cdef int64_t nm_chain
    cdef dict known
    cdef dict lazy_known = None
    cdef set warmed
    if _dag is None:
        _dag = Dag()
    h = _dag
    h.update(log)
    w = _Walk(h)
    np = h.n_peers
    cm.bits = NULL
    cm.n = cm.cap = 0
    try:
        ids = <lc_id *>malloc((nl + nr + 1) * sizeof(lc_id))
        if ids == NULL:
            raise MemoryError()
        for i in range(nl):
            ids[i].peer, ids[i].counter = before[i]
        for i in range(nr):
            ids[nl + i].peer, ids[nl + i].counter = after[i]
        # the two versions, and the version loro replays from (tgt_lo)
        bvv = <int32_t *>malloc((np + 1) * sizeof(int32_t))
        avv = <int32_t *>malloc((np + 1) * sizeof(int32_t))
        tmp = <int32_t *>malloc((np + 1) * sizeof(int32_t))
        tmp2 = <int32_t *>malloc((np + 1) * sizeof(int32_t))
        if bvv == NULL or avv == NULL or tmp == NULL or tmp2 == NULL:
            raise MemoryError()
        tgt_lo = w.vv_start
        tgt_hi = w.vv_end
        for k in range(2):
            if is_head(log, ids + (nl if k else 0), nr if k else nl):
                # the log's latest version holds every record
                memcpy(avv if k else bvv, h.ends, np * sizeof(int32_t))
            else:
                w.vv_of(ids + (nl if k else 0), nr if k else nl, avv if k else bvv, NULL)
        forward = True
        same = True
        for p in range(np):
            tgt_hi[p] = max(bvv[p], avv[p])
            if avv[p] < bvv[p]:
                forward = False
            if avv[p] != bvv[p]:
                same = False
        _from_before = 0
        _lowered = False
        if forward and not same and not whole and w.base_is_before(bvv, avv, tmp2, tmp, &cm):
            memcpy(tgt_lo, bvv, np * sizeof(int32_t))
            _from_before = 1
        elif forward and not same and nl and nr:
            # new ops concurrent with old ones on other containers: the latest version
            # under `before` that none of the ops past it is concurrent with; after a
            # snapshot load, the replay from it sees loro's DAG as read by then
            if cold and not (_as_checkout if checkout is None else checkout):
                memcpy(tgt_lo, bvv, np * sizeof(int32_t))
                unread = lazy_replay_unread(w, log, cold, tgt_lo, tgt_hi, bvv, avv, ids, nl,
                                            nr, loaded, touches, tmp, tmp2)
                if unread:
                    lazy_known = cold_map(log, unread)
            memcpy(tgt_lo, bvv, np * sizeof(int32_t))
            w.critical(tgt_lo, tgt_hi, tmp, tmp2)
            if memcmp(tgt_lo, bvv, np * sizeof(int32_t)) == 0:
                _from_before = 2
            else:
                _lowered = True
        elif w.meet(ids, nl, ids + nl, nr, tgt_lo) & 2:
            # a branch the search left unmatched, not covered by the meet: the same,
            # under the meet
            w.critical(tgt_lo, tgt_hi, tmp, tmp2)
            _lowered = True
        # only the containers with ops between the two versions take part
        cm_clear(&cm)
        for p in range(np):
            mark_ops(log, p, min(bvv[p], avv[p]), tgt_hi[p], &cm, CM_CHANGED)
        # the peers to walk, in the order of loro's map of ranges (base_peer_order)
        peers = <uint32_t *>malloc((np + 1) * sizeof(uint32_t))
        hashes = <uint64_t *>malloc((np + 1) * sizeof(uint64_t))
        order = <int64_t *>malloc((np + 1) * sizeof(int64_t))
        met_lo = <int64_t *>malloc((np + 1) * sizeof(int64_t))
        met_hi = <int64_t *>malloc((np + 1) * sizeof(int64_t))
        if peers == NULL or hashes == NULL or order == NULL or met_lo == NULL or met_hi == NULL:
            raise MemoryError()
        k = 0
        for p in range(np):
            met_lo[p] = met_hi[p] = 0
            if tgt_hi[p] > tgt_lo[p]:
                j = k
                while j > 0 and w.pid64[peers[j - 1]] > w.pid64[p]:
                    peers[j] = peers[j - 1]
                    j -= 1
                peers[j] = p
                k += 1
        touch = <uint8_t *>malloc(np + 2)
        met_rank = <int64_t *>malloc((np + 1) * sizeof(int64_t))
        if touch == NULL or met_rank == NULL:
            raise MemoryError()
        version_map_rank(log, np, loaded, touches, met_rank, touch)
        base_peer_order(w, peers, k, tgt_lo, tgt_hi, np, ids, nl, ids + nl, nr, bvv, avv,
                        _as_checkout if checkout is None else checkout, order, touch, met_rank,
                        before_ordered, after_ordered)
        # the chain of node starts of each peer, last peer of the order first
        m = 0
        for i in range(k):
            p = peers[order[i]]
            node = h.node_at(p, tgt_lo[p])
            if node == NULL:
                raise ValueError("an id outside the history")
            m += h.pn[p] - (node - h.pnodes[p])
        met = <lc_id *>malloc((m + 1) * sizeof(lc_id))
        pending = <int32_t *>malloc((m + 1) * sizeof(int32_t))
        cap_succ = m * 2 + 16
        succ = <succ_t *>malloc(cap_succ * sizeof(succ_t))
        if met == NULL or pending == NULL or succ == NULL:
            raise MemoryError()
        known = lazy_known if lazy_known is not None else cold_view(
            log, cold, bvv, avv, ids, nl, nr) if cold and not (
            _as_checkout if checkout is None else checkout) else None
        warmed = set()
        for i in range(k - 1, -1, -1):
            p = peers[order[i]]
            met_lo[p] = nm
            c = tgt_lo[p]
            if known is not None and p in known[None] and c < <int32_t>known[None][p]:
                warmed.add(p)       # (its first node read loads its blocks)
            while True:
                node = h.node_at(p, c)
                pending[nm] = 0
                for j in range(node.deps_len):
                    pp = h.deps[node.deps_off + j].peer
                    e = h.deps[node.deps_off + j].counter
                    if tgt_lo[pp] <= e < tgt_hi[pp]:
                        succ = push_succ(succ, &n_succ, &cap_succ, pp, e, nm)
                        pending[nm] += 1
                met[nm].peer = p
                met[nm].counter = c
                nm += 1
                e = node.end
                while known is not None and e < tgt_hi[p] and cold_joined(h, p, e, known, warmed):
                    e = h.node_at(p, e).end
                if tgt_hi[p] > e:
                    c = e
                else:
                    break
            met_hi[p] = nm
        nm_chain = nm
        # each met id after the previous one of its peer
        for i in range(k - 1, -1, -1):
            p = peers[order[i]]
            for j in range(met_lo[p] + 1, met_hi[p]):
                pending[j] += 1
                succ = push_succ(succ, &n_succ, &cap_succ, p, met[j - 1].counter, j)
        qsort(succ, n_succ, sizeof(succ_t), cmp_succ)
        done = <uint8_t *>malloc(n_succ + 1)
        free(hashes)
        free(order)
        hashes = <uint64_t *>malloc((nm + 1) * sizeof(uint64_t))
        order = <int64_t *>malloc((nm + 1) * sizeof(int64_t))
        stack = <int64_t *>malloc((nm + 1) * 2 * sizeof(int64_t))
        ready = <int64_t *>malloc((nm + 1) * sizeof(int64_t))
        if done == NULL or hashes == NULL or order == NULL or stack == NULL or ready == NULL:
            raise MemoryError()
        memset(done, 0, n_succ + 1)
        # the first ones in the order of loro's FxHashMap of node ids
        for i in range(nm):
            hashes[i] = fx_finish(fx_add(fx_add(0, w.pid64[met[i].peer]),
                                         <uint64_t>(<uint32_t>met[i].counter)))
        hb_table_order(hashes, nm, order)
        for i in range(nm):
            if pending[order[i]] == 0:
                stack[n_stack] = order[i]
                n_stack += 1
                pending[order[i]] = -1      # no longer pending
        while n_stack:
            n_stack -= 1
            j = stack[n_stack]
            p = met[j].peer
            if met[j].counter != tgt_lo[p]:
                continue
            node = h.node_at(p, met[j].counter)
            s0 = max(node.start, tgt_lo[p])
            s1 = min(node.end, tgt_hi[p])
            if s1 <= s0:
                continue
            tgt_lo[p] = s1
            if tgt_hi[p] > s1:
                ci = find_met(met, met_lo[p], met_hi[p], s1)
                if ci < 0 and known is not None:
                    # a node start the lazy view had not split off: loro pushes it as the
                    # peer's next id, outside its map of pending ids
                    for ci in range(nm_chain, nm):
                        if met[ci].peer == p and met[ci].counter == s1:
                            break
                    else:
                        ci = nm
                        met[nm].peer = p
                        met[nm].counter = s1
                        pending[nm] = -1
                        nm += 1
                if ci >= 0 and pending[ci] < 0:
                    for i in range(n_stack):
                        if stack[i] == ci:
                            break
                    else:
                        stack[n_stack] = ci
                        n_stack += 1
            if ranges is not None:
                ranges.append((p, s0, s1))
            # the containers of the ops of [s0, s1), first met first
            range_ops_start(log, &it, p, s0, s1)
            op = range_ops_next(log, &it)
            while op != NULL:
                cont = op.container
                if cont < cm.n and (cm.bits[cont] & (CM_CHANGED | CM_SEEN)) == CM_CHANGED:
                    cm.bits[cont] |= CM_SEEN
                    out.append(cont)
                op = range_ops_next(log, &it)
            # successors whose last dependency this node was, pushed in loro's order
            n_ready = 0
            lo = bsearch_succ(succ, n_succ, p, node.start)
            while lo < n_succ and succ[lo].peer == p and succ[lo].ctr < node.end:
                if not done[lo]:
                    done[lo] = 1
                    ci = succ[lo].to
                    if pending[ci] > 0:
                        pending[ci] -= 1
                        if pending[ci] == 0:
                            pending[ci] = -1
                            ready[n_ready] = ci
                            n_ready += 1
                lo += 1
            # sorted: other peers' first, then by peer and counter, largest first; pushed in
            # that order (the last pushed pops first)
            for i in range(1, n_ready):
                ci = ready[i]
                j = i
                while j > 0 and ready_before(w, met, p, ci, ready[j - 1]):
                    ready[j] = ready[j - 1]
                    j -= 1
                ready[j] = ci
            for i in range(n_ready):
                stack[n_stack] = ready[i]
                n_stack += 1
    finally:
        free(ids)
        free(met)
        free(met_lo)
        free(met_hi)
        free(pending)
        free(succ)
        free(done)
        free(hashes)
        free(order)
        free(stack)
        free(ready)
        free(peers)
        free(touch)
        free(met_rank)
        free(bvv)
        free(avv)
        free(tmp)
        free(tmp2)
        free(cm.bits)
    return out



cdef int drop_head_peers(dict cold, const lc_id *ids, int64_t n) except -1:
    """Count as read (drop from `cold`: {peer index: end of the part loaded}) the peers
    of these version ids that lie in the loaded part: loro looks their nodes up."""
    cdef int64_t i
    for i in range(n):
        if ids[i].counter < <int32_t>cold.get(ids[i].peer, 0):
            cold.pop(ids[i].peer)
    return 0


cdef int drop_new_change_peers(OpLog log, dict cold, const int32_t *bvv,
                               const int32_t *avv) except -1:
    """Count as read the peers of an import's new changes (past `bvv`, up to `avv`) and of
    their deps: loro looks up their deps' Lamports and their peers' last nodes."""
    cdef int64_t ci, k
    cdef lc_change *ch
    for ci in range(log.n_changes):
        ch = &log.changes[ci]
        if ch.peer < log.n_peers and bvv[ch.peer] <= ch.counter < avv[ch.peer]:
            cold.pop(ch.peer, None)
            for k in range(ch.deps_off, ch.deps_off + ch.deps_len):
                cold.pop(log.deps[k].peer, None)
    return 0


cdef dict lazy_replay_unread(_Walk w, OpLog log, dict cold, int32_t *v, const int32_t *u,
                             const int32_t *bvv, const int32_t *avv, const lc_id *ids,
                             int64_t nl, int64_t nr, list loaded, touches, int32_t *ctx,
                             int32_t *old):
    """The peers of `cold` loro's lazily read DAG has still not read when it starts to
    replay an import from the base its critical version search lowered `v` (the version
    before, under `u`; left as scratch) to, or None when that search does not run.

    The search (loro's design notes, critical-version-spec L13) sees every change: it
    takes them from the change store, not the DAG. What it reads of the DAG is the version
    of each change's deps, which reads the nodes of every peer in their history. It goes
    from the version before; for each peer's ids past the cut, popped from a stack filled
    peer by peer in the order of its maps of the peers (lazy_search_orders), the version of
    the first op above the cut of each change: one that does not hold the cut lowers it
    and pushes the ids that exposes; it stops as soon as the cut is empty. So whether a
    peer's first change (no deps) is met before the changes whose versions read another
    peer decides what the replay sees of that peer: its DAG nodes, unread, leave the
    nodes they depend on unsplit (cold_map). Late kinds session 8229, traced in loro
    1.17.1: the search lowers to the empty version either way, and the replay's first
    root follows whether peer 1 was read by then (tests/test_lazy_dag_critical_base.py).
    The reads before the search: lazy_search_reads."""
    cdef Dag h = w.dag
    cdef uint32_t np = h.n_peers, p, q
    cdef int32_t c, lo, hi, x
    cdef dnode *nd
    cdef lc_id prev
    cdef bint lower, empty
    unread = lazy_search_reads(w, log, cold, bvv, avv, ids, nl, nr, ctx)
    if not unread:
        return None
    first, order = lazy_search_orders(w, log, bvv, avv, loaded, touches)
    stack = [(p, v[p], u[p]) for p in first if v[p] < u[p]]
    while stack and unread:
        p, lo, hi = stack.pop()
        c = lo
        while c < hi:
            nd = h.node_at(p, c)
            x = max(nd.start, lo)
            if x == nd.start:
                w.vv_of(&h.deps[nd.deps_off], nd.deps_len, ctx, NULL)
            else:
                prev.peer = p
                prev.counter = x - 1
                w.vv_of(&prev, 1, ctx, NULL)
            ctx[p] = max(ctx[p], x)
            lower = False
            for q in range(np):
                if ctx[q] > 0:
                    unread.pop(q, None)
                if ctx[q] < v[q]:
                    lower = True
            if lower:
                memcpy(old, v, np * sizeof(int32_t))
                empty = True
                for q in range(np):
                    v[q] = min(v[q], ctx[q])
                    if v[q] > 0:
                        empty = False
                if empty:
                    return unread
                for q in order:
                    if v[q] < old[q]:
                        stack.append((q, v[q], old[q]))
            c = nd.end
    return unread


cdef dict lazy_search_reads(_Walk w, OpLog log, dict cold, const int32_t *bvv,
                            const int32_t *avv, const lc_id *ids, int64_t nl, int64_t nr,
                            int32_t *scratch):
    """The peers of `cold` ({peer index: end of the part loaded}) loro's DAG has not read
    when its critical version search for an import starts, or None when that search does
    not run. Read by then: the peers of the two versions' ids and of the new changes and
    their deps (the import looks up their Lamports), those of the nodes loro's meet
    search looks up (Walk.meet, noting them), those of the deps of the meet's nodes (its
    check for deps in trimmed history) and those its check of the unmatched paths' tips
    reads (lazy_cover_reads)."""
    cdef int got
    unread = dict(cold)
    drop_head_peers(unread, ids, nl + nr)
    drop_new_change_peers(log, unread, bvv, avv)
    if not unread:
        return None
    w.reads = set()
    try:
        got = w.meet(ids, nl, ids + nl, nr, scratch)
        if not got & 2:
            return None
        for q in w.reads:
            unread.pop(q, None)
        for p, c in w.ans_ids:
            for q, _ in node_deps(log, p, c):
                unread.pop(q, None)
        lazy_cover_reads(w, unread)
    finally:
        w.reads = None
        w.ans_ids = None
    return unread


cdef int lazy_cover_reads(_Walk w, dict unread) except -1:
    """Drop from `unread` the peers loro reads when it checks whether the tips of the meet
    search's unmatched paths (Walk.dead) are in the meet's history: it goes down from the
    meet's nodes, looking up the nodes of their deps, and stops at nodes whose last
    Lamport is below the lowest Lamport of the tips' nodes (their first ops': late kinds
    session 363, whose tip 5@101 on a node from 2@101 ties the meet's Lamport 9, reads
    peer 2 through the deps of 8@1, Lamport 8)."""
    cdef Dag h = w.dag
    cdef int64_t i
    cdef dnode *nd
    cdef const lc_id *dd
    cdef uint32_t floor = 0xFFFFFFFF
    cdef bint has_prev
    for i in range(w.n_dead):
        nd = h.node_at(w.dead[i].peer, w.dead[i].counter)
        floor = min(floor, nd.lamport)
    stack = list(w.ans_ids)
    seen = set()
    while stack:
        p, c = stack.pop()
        nd = h.node_at(p, c)
        if nd.lamport + <uint32_t>(<int32_t>c - nd.start) < floor or (p, nd.start) in seen:
            continue
        seen.add((p, nd.start))
        has_prev = nd.start > 0
        for i in range(nd.deps_len):
            dd = &h.deps[nd.deps_off + i]
            unread.pop(dd.peer, None)
            stack.append((dd.peer, dd.counter))
            if dd.peer == p and dd.counter == nd.start - 1:
                has_prev = False
        if has_prev:
            stack.append((p, nd.start - 1))
    return 0


cdef tuple lazy_search_orders(_Walk w, OpLog log, const int32_t *bvv, const int32_t *avv,
                               list loaded, touches):
    """The peers in the orders loro's critical version search pushes ids past the cut:
    first those of its union of the two versions (import_union_order), then, as the cut
    is lowered, those it exposes in the order of the cut's map, which loro fills from the
    document's version map before the import (as it yields them: version_map_order) and
    only ever shrinks (late kinds session 8229 with five peer ids varied: 600 choices,
    each loaded by import and by import_batch)."""
    cdef uint32_t np = w.dag.n_peers
    cdef int64_t n, i
    cdef int64_t *rank = <int64_t *>malloc((np + 1) * sizeof(int64_t))
    cdef uint8_t *touch = <uint8_t *>malloc(np + 2)
    cdef uint32_t *ps = <uint32_t *>malloc((np + 1) * sizeof(uint32_t))
    cdef uint32_t *tmp = <uint32_t *>malloc((2 * np + 2) * sizeof(uint32_t))
    cdef uint64_t *hs = <uint64_t *>malloc((np + 1) * sizeof(uint64_t))
    cdef int64_t *o = <int64_t *>malloc((np + 1) * sizeof(int64_t))
    try:
        if rank == NULL or touch == NULL or ps == NULL or tmp == NULL or hs == NULL or o == NULL:
            raise MemoryError()
        version_map_rank(log, np, loaded, touches, rank, touch)
        n = import_union_order(w, bvv, avv, rank, touch, ps, tmp, hs, o)
        first = [ps[i] for i in range(n)]
        n = version_map_order(w, bvv, rank, touch, ps, tmp, hs, o)
        for i in range(n):
            hs[i] = fx_finish(fx_add(0, w.pid64[ps[i]]))
        hb_table_order(hs, n, o)
        return first, [ps[o[i]] for i in range(n)]
    finally:
        free(rank)
        free(touch)
        free(ps)
        free(tmp)
        free(hs)
        free(o)


cdef dict cold_view(OpLog log, dict cold, const int32_t *bvv, const int32_t *avv,
                    const lc_id *heads, int64_t n_before, int64_t n_after):
    """For a walk while loro's DAG holds peers it has not read since a snapshot load (`cold`,
    {peer index: end of the loaded part}): its lazy view (cold_map) as loro's DAG has read
    it by then; a node ends where a read change depends on it in loro's view too. The
    import's new changes (past `bvv`, up to `avv`) were read: loro looked up their deps'
    Lamports and their peers' last nodes, which reads those peers' blocks (removed from
    `cold`, a copy), and so were the peers of the two versions' frontier ids (`heads`):
    its search for the walk's base starts from their nodes (fitted: kinds session 6459's
    import onto a loaded snapshot's frontier 1@3 walks peer 1's nodes split where 3's
    change depends on them; 19975's commit and import left no cold head). None when no
    peer is cold any more, or when loro may have read more than that (lazy_view_holds)."""
    if not lazy_view_holds(log, bvv, avv, n_before):
        return None
    cold = dict(cold)
    drop_head_peers(cold, heads, n_before + n_after)
    search_reads(log, heads, n_before, bvv, avv, cold)
    drop_new_change_peers(log, cold, bvv, avv)
    if not cold:
        return None
    return cold_map(log, cold)


cdef dict cold_map(OpLog log, dict cold):
    """The lazy view of a walk that starts while loro's DAG has not read the peers of
    `cold` ({peer index: end of the part loaded}): the ops other peers' changes depend on,
    each mapped to the set of cold peers whose unread changes are all its dependents, or
    None when a read change depends on it; under None, `cold` itself."""
    cdef int64_t ci, k
    cdef lc_change *ch
    cdef uint32_t q
    cdef dict out = {}
    for ci in range(log.n_changes):
        ch = &log.changes[ci]
        for k in range(ch.deps_off, ch.deps_off + ch.deps_len):
            q = log.deps[k].peer
            if q == ch.peer:
                continue
            key = (q, log.deps[k].counter)
            if ch.peer in cold and ch.counter < <int32_t>cold[ch.peer]:
                got = out.get(key, 0)
                if got is not None:
                    if got == 0:
                        out[key] = got = set()
                    got.add(ch.peer)
            else:
                out[key] = None
    out[None] = cold
    return out


cdef list node_deps(OpLog log, uint32_t peer, int32_t counter):
    """The deps, as (peer, counter), of loro's DAG node holding op `counter` of `peer`: the
    first change of the run that only continues its own peer back from there."""
    cdef int64_t pos = log.find_change_pos(peer, counter), k
    cdef lc_change *ch
    while pos >= 0:
        ch = &log.changes[log.by_peer[peer].idx[pos]]
        if (ch.deps_len != 1 or log.deps[ch.deps_off].peer != peer
                or log.deps[ch.deps_off].counter != ch.counter - 1):
            return [(log.deps[k].peer, log.deps[k].counter)
                    for k in range(ch.deps_off, ch.deps_off + ch.deps_len)]
        pos -= 1
    return []


cdef int search_reads(OpLog log, const lc_id *before, int64_t n_before, const int32_t *bvv,
                      const int32_t *avv, dict cold) except -1:
    """Drops from `cold` the peers whose blocks loro's search for the walk's base reads
    (fitted, not in the mirror's source: 1.17.1's search is newer): the deps of the nodes
    holding the version before's ids (late kinds 16843: 123@3 depends on a cold peer's
    3@4) and of the nodes the new changes' old deps are in (a change continuing 1@7 reads
    the peer whose 3@1 1@6 depends on). It goes no further down the version before: in
    kinds 19975 the commit's dep 120@1, though above the new change, leaves the peer of
    its own dep 1@1 unread."""
    cdef int64_t ci, k
    cdef lc_change *ch
    for ci in range(n_before):
        for q, _ in node_deps(log, before[ci].peer, before[ci].counter):
            cold.pop(q, None)
    for ci in range(log.n_changes):
        ch = &log.changes[ci]
        if ch.peer < log.n_peers and bvv[ch.peer] <= ch.counter < avv[ch.peer]:
            for k in range(ch.deps_off, ch.deps_off + ch.deps_len):
                if log.deps[k].counter < bvv[log.deps[k].peer]:
                    for q, _ in node_deps(log, log.deps[k].peer, log.deps[k].counter):
                        cold.pop(q, None)
    return 0


cdef bint lazy_view_holds(OpLog log, const int32_t *bvv, const int32_t *avv,
                          int64_t n_before) except -1:
    """Whether an import's walk is one where the reads before it are known (cold_view):
    the version before is one id and every new change only continues its own peer. When
    the version before has two ids, loro's base search checks which of its shared ids
    holds the other by going down their deps, which reads blocks of peers below them
    (late kinds 16843 walks as if every block were read); a new change that depends on
    other peers' ops (kinds 12041: a new peer's first change) walks so too, by a read
    not found. Those walks keep the view of a fully read DAG, as before the model."""
    cdef int64_t ci
    cdef lc_change *ch
    if n_before != 1:
        return False
    for ci in range(log.n_changes):
        ch = &log.changes[ci]
        if ch.peer < log.n_peers and bvv[ch.peer] <= ch.counter < avv[ch.peer]:
            if (ch.deps_len != 1 or log.deps[ch.deps_off].peer != ch.peer
                    or log.deps[ch.deps_off].counter != ch.counter - 1):
                return False
    return True


cdef bint cold_joined(Dag h, uint32_t p, int32_t e, dict known, set warmed) except -1:
    """Whether loro's view of peer `p` has no node start at `e`: the node there only
    continues the run before it (a single dep on the op before) and only changes loro has
    not read (of cold peers not read by this walk yet, `warmed`) depend on op e - 1."""
    cdef dnode *nd = h.node_at(p, e)
    if nd == NULL or nd.deps_len != 1:
        return False
    if h.deps[nd.deps_off].peer != p or h.deps[nd.deps_off].counter != e - 1:
        return False
    got = known.get((p, e - 1), None)
    if got is None:
        return False
    return not (<set>got & warmed)


cpdef int greater_import_replays(OpLog log, list before, list after) except -1:
    """For an import whose changes all have `before` in their history (frontiers as (peer
    index, counter)): loro's meet search of the two versions, as _Walk.meet's bits. Bit 2:
    loro 1.17.1 calculates the import's maps by replaying them, as a checkout does
    (comparing values: a key set again to an equal value is no change; reporting the
    children their new values create, a new counter of value 0 then left out) rather than
    handing on the changed keys: the search left a path unmatched that the meet does not
    cover (its tips, see _Walk.meet). A covered path is only a second way down (a new
    change whose peer has an op below `before`'s frontiers that no dep names, within one
    chain of new changes). Marks differential sessions 2193, 2223 and 2356 and mergeable
    session 1062 replay."""
    global _dag
    cdef Dag h
    cdef _Walk w
    cdef int64_t nl = len(before), nr = len(after), i
    cdef lc_id *ids = NULL
    cdef int32_t *out = NULL
    if nl == 0 or nr == 0:
        return False
    if _dag is None:
        _dag = Dag()
    h = _dag
    h.update(log)
    w = _Walk(h)
    try:
        ids = <lc_id *>malloc((nl + nr) * sizeof(lc_id))
        out = <int32_t *>malloc((h.n_peers + 1) * sizeof(int32_t))
        if ids == NULL or out == NULL:
            raise MemoryError()
        for i in range(nl):
            ids[i].peer, ids[i].counter = before[i]
        for i in range(nr):
            ids[nl + i].peer, ids[nl + i].counter = after[i]
        return w.meet(ids, nl, ids + nl, nr, out)
    finally:
        free(ids)
        free(out)


cdef inline uint32_t hamt_hash(uint64_t pid) noexcept:
    return <uint32_t>(fx_finish(fx_add(0, pid)) & 0xFFFFFFFF)


cdef inline bint hamt_before(uint32_t a, uint32_t b) noexcept:
    """Whether a key hashed `a` comes before one hashed `b` in an im::HashMap (a trie on
    5 bits of the hash at a time, lowest bits first)."""
    cdef int i
    for i in range(7):
        if ((a >> (5 * i)) & 31) != ((b >> (5 * i)) & 31):
            return ((a >> (5 * i)) & 31) < ((b >> (5 * i)) & 31)
    return False


cdef int table_order(_Walk w, uint32_t *ps, int64_t n, uint64_t *h, int64_t *o,
                     uint32_t *tmp) except -1:
    """Reorder peers `ps[:n]` (inserted in that order) as a hashbrown map of them yields
    them (h, o, tmp: scratch of n)."""
    cdef int64_t i
    for i in range(n):
        h[i] = fx_finish(fx_add(0, w.pid64[ps[i]]))
    hb_table_order(h, n, o)
    for i in range(n):
        tmp[i] = ps[o[i]]
    memcpy(ps, tmp, n * sizeof(uint32_t))
    return 0


cdef int64_t *hb_grow(int64_t *table, int64_t *size, int64_t *room, const uint64_t *h,
                      int64_t *scratch) except NULL:
    """hashbrown's resize of a full table: the next size, refilled in iteration order."""
    cdef int64_t m = 0, i, nsize
    cdef int64_t *t2
    for i in range(size[0]):
        if table[i] >= 0:
            scratch[m] = table[i]
            m += 1
    nsize = hb_buckets_for(max(m + 1, (hb_capacity_of(size[0]) if size[0] else 0) + 1))
    t2 = <int64_t *>realloc(table, nsize * sizeof(int64_t))
    if t2 == NULL:
        raise MemoryError()
    size[0] = nsize
    for i in range(nsize):
        t2[i] = -1
    for i in range(m):
        t2[hb_slot_of(t2, nsize, h[scratch[i]])] = scratch[i]
    room[0] = hb_capacity_of(nsize) - m
    return t2


cdef int touched_order(_Walk w, uint32_t *ps, int64_t n, const uint8_t *touch, uint64_t *h,
                       int64_t *o, uint32_t *tmp, int64_t preloaded=0) except -1:
    """Reorder peers `ps[:n]` (inserted in that order) as loro's version map of them yields
    them: hashbrown reserves a slot before each update, even of a key it holds, so a local
    op that found the map full (touch[k]: holding k peers) grew it; the first `preloaded`
    came from a snapshot load, which makes the map with room for all of them (hash_order.
    vv_iteration_order; h, o, tmp: scratch of n)."""
    cdef int64_t *table = NULL
    cdef int64_t size = 0, room = 0, k, i, m
    try:
        for k in range(n):
            h[k] = fx_finish(fx_add(0, w.pid64[ps[k]]))
        if preloaded > 0:
            size = hb_buckets_for(preloaded)
            table = <int64_t *>malloc(size * sizeof(int64_t))
            if table == NULL:
                raise MemoryError()
            for i in range(size):
                table[i] = -1
            room = hb_capacity_of(size)
        for k in range(n):
            if room == 0:
                table = hb_grow(table, &size, &room, h, o)
            table[hb_slot_of(table, size, h[k])] = k
            room -= 1
            if room == 0 and touch[k + 1]:
                table = hb_grow(table, &size, &room, h, o)
        m = 0
        for i in range(size):
            if table[i] >= 0:
                tmp[m] = ps[table[i]]
                m += 1
        memcpy(ps, tmp, n * sizeof(uint32_t))
    finally:
        free(table)
    return 0


cdef inline int64_t loaded_prefix(const uint32_t *ps, int64_t n, const int64_t *rank) noexcept:
    """How many of the first peers of `ps` a snapshot load put into the version map (their
    ranks are negative, see walk_containers)."""
    cdef int64_t k = 0
    while k < n and rank[ps[k]] < 0:
        k += 1
    return k


cdef int64_t vv_fill_order(_Walk w, const lc_id *ids, int64_t n, uint32_t *out, int64_t m,
                           uint8_t *seen, int32_t *vv) except -1:
    """Append to out[m:] the peers in the order loro's frontiers_to_vv puts them in its
    map, for frontiers `ids` (in the frontiers' order): for each id, the peers of its DAG
    node's version (an im::HashMap: by hamt_before), then its own peer. Return the new
    length (seen: flags per peer index, set for those appended)."""
    cdef Dag h = w.dag
    cdef int64_t i, j, a
    cdef uint32_t q
    cdef dnode *nd
    for i in range(n):
        nd = h.node_at(ids[i].peer, ids[i].counter)
        if nd == NULL:
            raise ValueError("an id outside the history")
        w.vv_of(&h.deps[nd.deps_off], nd.deps_len, vv, NULL)
        a = m
        for q in range(h.n_peers):
            if vv[q] > 0 and not seen[q]:
                seen[q] = 1
                j = m
                while j > a and hamt_before(hamt_hash(w.pid64[q]), hamt_hash(w.pid64[out[j - 1]])):
                    out[j] = out[j - 1]
                    j -= 1
                out[j] = q
                m += 1
        if not seen[ids[i].peer]:
            seen[ids[i].peer] = 1
            out[m] = ids[i].peer
            m += 1
    return m


cdef int frontier_order(_Walk w, lc_id *ids, int64_t n, uint64_t *h, int64_t *o,
                        lc_id *tmp) except -1:
    """Reorder frontiers `ids[:n]` as loro iterates them: a Frontiers of several ids is a
    hash map of peer to counter, taken as filled in the order given (h, o, tmp: scratch
    of n)."""
    cdef int64_t i
    if n < 2:
        return 0
    for i in range(n):
        h[i] = fx_finish(fx_add(0, w.pid64[ids[i].peer]))
    hb_table_order(h, n, o)
    for i in range(n):
        tmp[i] = ids[o[i]]
    memcpy(ids, tmp, n * sizeof(lc_id))
    return 0


cdef inline uint32_t id_lamport(Dag h, lc_id x) noexcept:
    cdef dnode *nd = h.node_at(x.peer, x.counter)
    return nd.lamport + <uint32_t>(x.counter - nd.start)


cdef void sort_by_lamport(_Walk w, lc_id *ids, int64_t n, bint descending,
                          bint peer_ties) noexcept:
    """Stable insertion sort of a few frontier ids by Lamport (`descending` or not), ties
    by descending peer id when `peer_ties`, else kept in their order."""
    cdef int64_t i, j
    cdef lc_id one
    cdef uint32_t la, lb
    for i in range(1, n):
        one = ids[i]
        la = id_lamport(w.dag, one)
        j = i
        while j > 0:
            lb = id_lamport(w.dag, ids[j - 1])
            if not ((la > lb if descending else la < lb) if la != lb else
                    (peer_ties and w.pid64[one.peer] > w.pid64[ids[j - 1].peer])):
                break
            ids[j] = ids[j - 1]
            j -= 1
        ids[j] = one


cdef int version_map_rank(OpLog log, uint32_t np, list loaded, touches, int64_t *rank,
                          uint8_t *touch) except -1:
    """The order loro's version map of the log took the peers in (`rank`): a snapshot
    load's first (as its "vv" entry lists them), then by each peer's first change; and
    the map sizes at which a local op grew it (`touch`: see walk_containers)."""
    cdef uint32_t p
    for p in range(np):
        rank[p] = first_record(log, p)
    if loaded:
        for i, pid in enumerate(loaded):
            got = log.peer_map.get(pid)
            if got is not None and <uint32_t>got < np:
                rank[<uint32_t>got] = i - <int64_t>len(loaded)
    memset(touch, 0, np + 2)
    if touches:
        for c in touches:
            if 0 < c <= <int32_t>np:
                touch[c] = 1
    return 0


cdef int64_t import_union_order(_Walk w, const int32_t *bvv, const int32_t *hi,
                                const int64_t *rank, const uint8_t *touch, uint32_t *uo,
                                uint32_t *tmp, uint64_t *hs, int64_t *o) except -1:
    """Put in uo the peers of loro's union of an import's two versions (`bvv` and `hi`, the
    greater), in the order its map yields them; return their number (tmp: 2 * peers).

    loro's union is a clone of the version before into which the version after's new
    peers go in the order that map yields them. Both maps were filled as loro's log took
    each peer's first change: the order of the peers' first records (an imported change
    waiting for its deps comes in after the others, though its peer was met first), so
    colliding peers come out of the two maps in another order (an import into an empty
    document); a snapshot load fills the map in the order of the snapshot's "vv" entry
    (`rank`), which is the order the exporting map yields them: loaded again, colliding
    peers swap (marks session 1498)."""
    cdef uint32_t np = w.dag.n_peers
    cdef int64_t j = peers_by_rank(np, hi, rank, tmp), i, nu = 0
    for i in range(j):
        if bvv[tmp[i]] > 0:
            uo[nu] = tmp[i]
            nu += 1
    touched_order(w, tmp, j, touch, hs, o, tmp + np, loaded_prefix(tmp, j, rank))
    for i in range(j):
        if bvv[tmp[i]] == 0:
            uo[nu] = tmp[i]
            nu += 1
    touched_order(w, uo, nu, touch, hs, o, tmp, loaded_prefix(uo, nu, rank))
    return nu


cdef int64_t version_map_order(_Walk w, const int32_t *bvv, const int64_t *rank,
                               const uint8_t *touch, uint32_t *ps, uint32_t *tmp, uint64_t *h,
                               int64_t *o) except -1:
    """Put in ps the peers of the document's version map before an import (`bvv`), in the
    order that map yields them (its peers by `rank`, grown as `touch` says, as
    base_peer_order models it); return their number."""
    cdef int64_t n = peers_by_rank(w.dag.n_peers, bvv, rank, ps)
    touched_order(w, ps, n, touch, h, o, tmp, loaded_prefix(ps, n, rank))
    return n


cdef int64_t peers_by_rank(uint32_t np, const int32_t *vv, const int64_t *rank,
                           uint32_t *ps) noexcept:
    """Put in ps the peers with ops in `vv`, in the order loro's version map took them
    (`rank`: walk_containers' met_rank); return their number."""
    cdef int64_t n = 0, i
    cdef uint32_t p
    for p in range(np):
        if vv[p] > 0:
            i = n
            while i > 0 and rank[ps[i - 1]] > rank[p]:
                ps[i] = ps[i - 1]
                i -= 1
            ps[i] = p
            n += 1
    return n


cdef int lowered_base_order(_Walk w, lc_id *bf, int64_t nf, uint32_t *ps, int64_t n,
                            const int32_t *bvv, const int32_t *avv, const int32_t *tgt_lo,
                            uint32_t *tmp, uint64_t *h, int64_t *o, lc_id *scratch) except -1:
    """Put the frontiers `bf[:nf]` of a base lowered below the meet of the two versions
    (a critical version) in the order loro inserts them into their map. loro's critical
    version search starts from the meet, a new map filled in the order the version before's
    map yields its peers (`ps[:n]`: the document's version map for an import, the map
    frontiers_to_vv fills for a checkout), and lowers the counters in place; it turns the
    result into frontiers as vv_to_frontiers does: the last id of each peer it holds, in
    the vector's order, into a Frontiers map; shrink_frontiers passes them through a map
    by peer, sorts them by Lamport (stably) and keeps, from the greatest down, those no
    kept one has in its history. Two ids of equal Lamport thus come in the order those
    maps leave them, not by peer (plain sessions 7455 and 107, kinds 27: the same two
    peers tie, in either order; marks 4503: the meet's own map, filled afresh, turns the
    version map's order over; a tie broken by the Lamport of each head's DAG node start
    fitted kinds 27 while that map was missing: not needed since). tmp, h, o: scratch of
    the peers, scratch: of nf."""
    cdef Dag dag = w.dag
    cdef int64_t i, j, k
    cdef uint32_t p, q
    cdef lc_id a, b
    cdef uint32_t la, lb
    j = 0
    for i in range(n):                      # the meet: a new map, in that map's order
        if min(bvv[ps[i]], avv[ps[i]]) > 0:
            ps[j] = ps[i]
            j += 1
    n = j
    table_order(w, ps, n, h, o, tmp)
    j = 0
    for i in range(n):                      # (its peers the base holds, in its order)
        if tgt_lo[ps[i]] > 0:
            ps[j] = ps[i]
            j += 1
    n = j
    table_order(w, ps, n, h, o, tmp)        # the Frontiers map of the last ids
    table_order(w, ps, n, h, o, tmp)        # shrink_frontiers' map by peer
    for i in range(1, n):                   # a stable sort by Lamport
        q = ps[i]
        a.peer = q
        a.counter = tgt_lo[q] - 1
        k = i
        while k > 0:
            b.peer = ps[k - 1]
            b.counter = tgt_lo[b.peer] - 1
            la = id_lamport(dag, a)
            lb = id_lamport(dag, b)
            if la >= lb:
                break
            ps[k] = ps[k - 1]
            k -= 1
        ps[k] = q
    k = 0
    for i in range(n - 1, -1, -1):          # the greatest first: those of bf
        p = ps[i]
        for j in range(nf):
            if bf[j].peer == p:
                scratch[k] = bf[j]
                k += 1
                break
    if k != nf:
        raise ValueError("the base's frontiers do not add up")
    memcpy(bf, scratch, nf * sizeof(lc_id))
    return 0


cdef int base_peer_order(_Walk w, uint32_t *peers, int64_t k, const int32_t *tgt_lo,
                         const int32_t *tgt_hi, uint32_t np, const lc_id *before, int64_t nl,
                         const lc_id *after, int64_t nr, const int32_t *bvv, const int32_t *avv,
                         bint checkout, int64_t *order, const uint8_t *touch,
                         const int64_t *rank, bint before_ordered=False,
                         bint after_ordered=False) except -1:
    """The order of loro's map of the id ranges to walk (`order`: indices into `peers`,
    the `k` peers to walk). loro fills it as the difference of the base's version vector
    and the union of the two versions: first the peers of the base (those with ids to
    walk) in the order the base's map yields them, then the others in the union's order.
    A map yields colliding keys (peers 1, 2 and 3 share a bucket in a map of four) in an
    order that follows their insertion, so each map is modelled as filled: the base's as
    loro's frontiers_to_vv fills it (vv_fill_order) from the base's frontiers (as loro's
    map of them yields them: loro's common-ancestor search fills it by descending Lamport
    and peer, for a base that is one of the two versions, a checkout's or an import's, and
    for a checkout's base below both; an import's base below the version before, a
    critical version, as loro turns its version vector into frontiers:
    lowered_base_order);
    the union, for a checkout, is the version before (from its state's frontiers, taken as
    loro's map of them yields them: the log's own map, OpLog.frontier_order, when the
    state is the latest version (`before_ordered`), else a checkout's target as loro's
    shrink_frontiers fills it, by descending Lamport) with the target's new peers added
    in that map's order; for an import, the
    document's version before with the new peers added in the order the version after's
    map yields them (both maps filled in the order the log took each peer's first change,
    grown where a local op found them full: `touch`, flags by number of peers)."""
    cdef Dag h = w.dag
    cdef int64_t i, j, m = 0, nb = 0, nf = 0, nu
    cdef uint32_t p, q
    cdef bint dominated
    cdef uint64_t *hs = <uint64_t *>malloc((np + 1) * sizeof(uint64_t))
    cdef int64_t *o = <int64_t *>malloc((np + 1) * sizeof(int64_t))
    cdef uint32_t *bo = <uint32_t *>malloc((np + 1) * sizeof(uint32_t))
    cdef uint32_t *uo = <uint32_t *>malloc((2 * np + 1) * sizeof(uint32_t))
    cdef uint32_t *tmp = <uint32_t *>malloc((2 * np + 1) * sizeof(uint32_t))
    cdef uint8_t *seen = <uint8_t *>malloc(np + 1)
    cdef int32_t *vv = <int32_t *>malloc((np + 1) * sizeof(int32_t))
    cdef lc_id *bf = <lc_id *>malloc((np + 1) * sizeof(lc_id))
    cdef int32_t *vvs = NULL
    cdef int64_t *idx = <int64_t *>malloc((np + 1) * sizeof(int64_t))
    cdef lc_id *fb = <lc_id *>malloc((nl + nr + np + 1) * sizeof(lc_id))
    cdef lc_id *ftmp = <lc_id *>malloc((nl + nr + np + 1) * sizeof(lc_id))
    cdef uint64_t *fh = <uint64_t *>malloc((nl + nr + np + 1) * sizeof(uint64_t))
    cdef int64_t *fo = <int64_t *>malloc((nl + nr + np + 1) * sizeof(int64_t))
    cdef const lc_id *ids
    # a base that is the version before, given in the order of loro's map of its frontiers
    cdef bint as_given = (before_ordered and nl > 1 and
                          memcmp(tgt_lo, bvv, np * sizeof(int32_t)) == 0)
    try:
        if hs == NULL or o == NULL or bo == NULL or uo == NULL or tmp == NULL or \
                seen == NULL or vv == NULL or bf == NULL or idx == NULL or fb == NULL or \
                ftmp == NULL or fh == NULL or fo == NULL:
            raise MemoryError()
        for p in range(np):
            idx[p] = -1
        for j in range(k):
            idx[peers[j]] = j
        # the base's frontiers (by peer index): its last ids no other one of them has in
        # its history; when the base is one of the two versions, their frontiers
        for p in range(np):
            if tgt_lo[p] > 0:
                bf[nf].peer = p
                bf[nf].counter = tgt_lo[p] - 1
                nf += 1
        if nf > 1 and (memcmp(tgt_lo, bvv, np * sizeof(int32_t)) == 0 or
                       memcmp(tgt_lo, avv, np * sizeof(int32_t)) == 0):
            ids = before if memcmp(tgt_lo, bvv, np * sizeof(int32_t)) == 0 else after
            j = nl if ids == before else nr
            nf = 0
            if as_given:
                memcpy(bf, before, nl * sizeof(lc_id))
                nf = nl
            else:
                for p in range(np):
                    for i in range(j):
                        if ids[i].peer == p:
                            bf[nf] = ids[i]
                            nf += 1
                            break
        elif nf > 1:
            vvs = <int32_t *>malloc(nf * (np + 1) * sizeof(int32_t))
            if vvs == NULL:
                raise MemoryError()
            for i in range(nf):
                w.vv_of(&bf[i], 1, vvs + i * (np + 1), NULL)
            j = 0
            for i in range(nf):
                dominated = False
                for m in range(nf):
                    if m != i and vvs[m * (np + 1) + bf[i].peer] > bf[i].counter:
                        dominated = True
                        break
                if not dominated:
                    bf[j] = bf[i]
                    j += 1
            nf = j
            m = 0
        memset(seen, 0, np + 1)
        if as_given:
            # (a base that is the version before, given as the map loro holds it in: an
            # import's, a clone of the log's own map of its frontiers in the order the
            # log's changes left it; a detached state's, its own map: loro takes it as it
            # is, not refilled by Lamport: in plain session 5775 peers 1 and 2 came out of
            # the base's version the other way round, and the walk met the two imported
            # branches in the other order)
            pass
        elif nf > 1 and vvs != NULL and checkout and _lowered:
            # a checkout's base lowered to a critical version (below the version before
            # when the target holds it, as import_batch's move to the latest version;
            # else below the meet, a branch the search left unmatched): as an import's,
            # from the map of the version before, here frontiers_to_vv of the state's
            # frontiers (the scripted critical-version imports with import_batch, 500,
            # 603, 738 and 6 more of seeds 0-3399, came out in the order of a base found
            # by the meet search before)
            memcpy(fb, before, nl * sizeof(lc_id))
            if not before_ordered:
                sort_by_lamport(w, fb, nl, True, False)
                frontier_order(w, fb, nl, fh, fo, ftmp)
            m = vv_fill_order(w, fb, nl, uo, 0, seen, vv)
            memset(seen, 0, np + 1)
            table_order(w, uo, m, hs, o, tmp)
            lowered_base_order(w, bf, nf, uo, m, bvv, avv, tgt_lo, tmp, hs, o, ftmp)
            frontier_order(w, bf, nf, fh, fo, ftmp)
        elif nf > 1 and (vvs == NULL or checkout):
            # (a base that is one of the two versions, or a checkout's found below both:
            # its frontiers as loro's common-ancestor search (shrink_ancestor_frontiers)
            # fills its map, by descending Lamport, then descending peer; by peer index,
            # two changes on the same deps with the same Lamport were walked in the wrong
            # order: marks sessions 2623, 2812; 1359 needs the peer order of a Lamport tie;
            # an import's base was taken by peer index before: plain session 3261, and a
            # checkout's below both as given: marks session 4094, kinds 1244)
            sort_by_lamport(w, bf, nf, True, True)
            frontier_order(w, bf, nf, fh, fo, ftmp)
        elif vvs != NULL:
            # an import's base lowered below the version before (a critical version of
            # several heads): loro's map of its frontiers, filled as loro turns the lowered
            # meet into frontiers (lowered_base_order; taken by ascending
            # Lamport as a list before, kinds session 4378 and plain 8736 walked the
            # importer's own change first; filled by descending Lamport and peer, the
            # scripted imports of test_event_order._import_from_a_critical_version whose
            # heads tie in Lamport came out in either order)
            m = version_map_order(w, bvv, rank, touch, uo, tmp, hs, o)
            lowered_base_order(w, bf, nf, uo, m, bvv, avv, tgt_lo, tmp, hs, o, ftmp)
            frontier_order(w, bf, nf, fh, fo, ftmp)
        nb = vv_fill_order(w, bf, nf, bo, 0, seen, vv)
        table_order(w, bo, nb, hs, o, tmp)
        # the union of the two versions
        memset(seen, 0, np + 1)
        if checkout:
            # (the version before is rebuilt from the state's frontiers as loro's map of
            # them yields them: at the latest version the log's map, replayed change by
            # change (plain session 3655); after a checkout, the map filled by descending
            # Lamport as loro's shrink_frontiers leaves a checkout's target: marks sessions
            # 1024, 1219, 1675 and 1843 took the ids in peer order before, plain 643 needs
            # the Lamport order of colliding peers)
            memcpy(fb, before, nl * sizeof(lc_id))
            if not before_ordered:
                sort_by_lamport(w, fb, nl, True, False)
                frontier_order(w, fb, nl, fh, fo, ftmp)
            nu = vv_fill_order(w, fb, nl, uo, 0, seen, vv)
            memset(seen, 0, np + 1)
            # (the target's frontiers as its map yields them: a move to the latest version
            # walks to a clone of the log's own map, which keeps the order the log's
            # changes left it in (`after_ordered`, OpLog.frontier_order: marks session
            # 1738, a batch's move, met the text before the counter when the map was
            # filled afresh by peer index); another target's map is filled afresh in the
            # order given)
            memcpy(fb, after, nr * sizeof(lc_id))
            if not after_ordered:
                frontier_order(w, fb, nr, fh, fo, ftmp)
            j = vv_fill_order(w, fb, nr, tmp, 0, seen, vv)
            table_order(w, tmp, j, hs, o, tmp + np)
            for i in range(nu):
                seen[uo[i]] = 2
            for i in range(j):
                if seen[tmp[i]] != 2:
                    uo[nu] = tmp[i]
                    nu += 1
            table_order(w, uo, nu, hs, o, tmp)
        else:
            nu = import_union_order(w, bvv, tgt_hi, rank, touch, uo, tmp, hs, o)
        m = 0
        for i in range(nb):
            p = bo[i]
            if tgt_lo[p] < tgt_hi[p] and idx[p] >= 0:
                o[m] = idx[p]
                m += 1
        for i in range(nu):
            p = uo[i]
            if tgt_lo[p] == 0 and tgt_hi[p] > 0 and idx[p] >= 0:
                o[m] = idx[p]
                m += 1
        if m != k:
            raise ValueError("the walk's peers do not add up")
        for i in range(m):
            hs[i] = fx_finish(fx_add(0, w.pid64[peers[o[i]]]))
        hb_table_order(hs, m, order)
        for i in range(m):
            order[i] = o[order[i]]
    finally:
        free(hs)
        free(o)
        free(bo)
        free(uo)
        free(tmp)
        free(seen)
        free(vv)
        free(bf)
        free(vvs)
        free(idx)
        free(fb)
        free(ftmp)
        free(fh)
        free(fo)
    return 0


cdef inline int64_t first_record(OpLog log, uint32_t p) noexcept:
    """The place of peer `p`'s first change among the log's records (the order loro's
    version vector met the peers in)."""
    cdef lc_change_list *cl = &log.by_peer[p]
    return cl.idx[0] if cl.len else log.n_changes + p


cdef bint is_head(OpLog log, const lc_id *ids, int64_t n) noexcept:
    """Whether frontiers `ids` are the log's latest version."""
    cdef int64_t i, j
    if n != log.n_frontiers or n == 0:
        return False
    for i in range(n):
        for j in range(n):
            if log.frontiers[j].peer == ids[i].peer and log.frontiers[j].counter == ids[i].counter:
                break
        else:
            return False
    return True


cdef inline bint ready_before(_Walk w, const lc_id *met, uint32_t p, int64_t a, int64_t b) noexcept:
    """Whether ready id `a` sorts before `b`: descending by (other peer, peer, counter)."""
    cdef bint oa = met[a].peer != p, ob = met[b].peer != p
    if oa != ob:
        return oa
    if w.pid64[met[a].peer] != w.pid64[met[b].peer]:
        return w.pid64[met[a].peer] > w.pid64[met[b].peer]
    return met[a].counter > met[b].counter


cdef int64_t bsearch_succ(const succ_t *succ, int64_t n, uint32_t p, int32_t c) noexcept:
    """The first entry at or after (p, c)."""
    cdef int64_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if succ[mid].peer < p or (succ[mid].peer == p and succ[mid].ctr < c):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _dump(OpLog log):
    """(debug) The log's peers and records: [peer ids], [(peer, counter, end, lamport,
    [(dep peer, dep counter)], [(op counter, op len, container)])]."""
    cdef int64_t ci, k
    cdef lc_change *ch
    cdef lc_op *op
    peers = [log.peer_ids[i] for i in range(log.n_peers)]
    out = []
    for ci in range(log.n_changes):
        ch = &log.changes[ci]
        deps = [(log.deps[k].peer, log.deps[k].counter) for k in range(ch.deps_off, ch.deps_off + ch.deps_len)]
        ops = []
        for k in range(ch.ops_off, ch.ops_off + ch.ops_len):
            op = &log.ops[k]
            ops.append((op.counter, op_atoms(op), op.container, op.kind))
        out.append((ch.peer, ch.counter, ch.end, ch.lamport, deps, ops))
    return peers, out
