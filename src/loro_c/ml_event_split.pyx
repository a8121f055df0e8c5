"""The items of a MovableList import's diff, split as loro 1.17.1 splits them.

Which items a delta holds changes nothing about what applying it gives, but loro's events
show a particular split, and issue 12 asks for its lists. Loro does not diff the old and
new items; it applies the import to its state in steps and composes a small delta per
step into the event (a DeltaRope, a B-tree of retain and replace items):

1. the list items the import deletes, in order: a retain to the user index of each run
   then a delete of the items of the run elements point at (none: the retain alone, which
   still extends the rope, so the rope reaches the index of the last run; a later step
   lands inside that retain, and if none goes past it the event ends with it); the
   elements on them are put aside ("maybe moved", with their index and value);
2. the new list items, which show nothing yet (no element points at them);
3. every element of its diff calculator's map (element_order), in that hash map's
   iteration order (keyed by the element's (peer, Lamport); rustc-hash over hashbrown,
   loro_c.fxhash): a value that changed is a one-item replace
   (insert the new value, delete the old) at the element's index; a position that changed
   points the element at its new item and reports an insert there (is_move when the
   element had an old item and kept its value, or was put aside with an equal value), then
   a delete at the old item's index; an element the state lacked (new, or put aside) is
   created on its item.

The map holds the elements the ops the calculator visits name (an insert's atoms, a
move's or a set's element), in the order it visits them: the ops from the two versions'
common ancestor as loro's search finds it (loro_c._dag_order; often the empty version
for a concurrent import) to both, in its causal walk's order. When that ancestor is the
version before (an import above it, or one whose new ops meet the old ones only on other
containers or on registers: loro's modes Linear and ImportGreaterUpdates) the map is
used as it is; otherwise (mode Import or Checkout) loro copies it into a new one and
adds the elements of the list items its list diff inserts. A checkout's calculator is the
document's own and keeps its map from one checkout to the next. hashbrown reserves room
before each `insert`, even of a key it holds, so a full table grows then (ElementMap).

Composing cuts the rope's items and joins an insert to the item it lands in or beside only
where the B-tree does (values of one item share is_move and hold at most 8), so replaying
those steps on a plain list of items gives loro's split. This module does that, for the
imports of a document someone subscribes to, in C structures (a block list of items, a
Fenwick tree of the items pointed at): an import's cost grows with its ops times the
log of the list's length, as loro's."""
from libc.stdint cimport int32_t, int64_t, uint64_t, uint32_t
from libc.stdlib cimport malloc, realloc, free, qsort
from libc.string cimport memmove, memcpy, memset

from loro_c.fxhash cimport fx_add, fx_finish, hb_buckets_for, hb_capacity_of, hb_slot_of

DEF CAP = 8         # loro's list delta items hold at most 8 values (ArrayVec<_, 8>)
DEF BMAX = 64       # items per block of the rope
DEF BROOM = 8       # room kept free in a block before each step (a step adds at most 4)

cdef inline uint64_t elem_hash(uint64_t peer, uint32_t lamport) noexcept:
    """FxHasher over a CompactIdLp: the peer (u64), then the Lamport (a NonMaxU32, stored
    as its bitwise complement)."""
    return fx_finish(fx_add(fx_add(0, peer), <uint64_t>(lamport ^ 0xFFFFFFFFU)))


# an entry of `seq` with this bit names an insert's atom: loro's map takes it with
# `insert`, which reserves room first even for a key it holds (a full table then grows);
# a move's or a set's element is looked up first and inserted only when missing
# (typed: a DEF of this size is a Python int, and every use of it Python arithmetic)
cdef uint64_t ALWAYS = 0x8000000000000000ULL
cdef uint64_t KEY_BITS = 0x7FFFFFFFFFFFFFFFULL


cdef inline uint64_t member_slot(int64_t key, int64_t cap) noexcept:
    return ((<uint64_t>key * 0x9E3779B97F4A7C15ULL) >> 32) & <uint64_t>(cap - 1)


cdef class ElementMap:
    """One of loro's hash maps of elements, as hashbrown lays it out: a table of keys
    ((peer index << 32) | Lamport, -1 free) grown by rehashing in iteration order. Keys
    are never removed, so a key sits before the first free bucket of its probe sequence."""
    # (its fields: ml_event_split.pxd)

    def __cinit__(self):
        self.fed = 0
        self.table = NULL
        self.hashes = NULL
        self.size = self.room = self.items = 0
        self.mset = NULL
        self.mcap = 0

    def __dealloc__(self):
        free(self.table)
        free(self.hashes)
        free(self.mset)

    cdef bint has(self, int64_t key) noexcept:
        cdef uint64_t i
        if self.mcap == 0:
            return False
        i = member_slot(key, self.mcap)
        while self.mset[i] >= 0:
            if self.mset[i] == key:
                return True
            i = (i + 1) & <uint64_t>(self.mcap - 1)
        return False

    cdef int add_member(self, int64_t key) except -1:
        """Note a key the table does not hold yet (its `items` counts it already)."""
        cdef int64_t ncap, k
        cdef int64_t *nset
        cdef uint64_t i
        if 2 * self.items > self.mcap:
            ncap = self.mcap * 2 if self.mcap else 64
            nset = <int64_t*>malloc(ncap * sizeof(int64_t))
            if nset == NULL:
                raise MemoryError()
            for k in range(ncap):
                nset[k] = -1
            for k in range(self.mcap):
                if self.mset[k] >= 0:
                    i = member_slot(self.mset[k], ncap)
                    while nset[i] >= 0:
                        i = (i + 1) & <uint64_t>(ncap - 1)
                    nset[i] = self.mset[k]
            free(self.mset)
            self.mset = nset
            self.mcap = ncap
        i = member_slot(key, self.mcap)
        while self.mset[i] >= 0:
            i = (i + 1) & <uint64_t>(self.mcap - 1)
        self.mset[i] = key
        return 0

    cdef int64_t find(self, int64_t key, uint64_t h) noexcept:
        """The bucket holding `key`, -1 when none."""
        cdef int64_t n = self.size, mask = n - 1, pos, i, bit, stride = 0
        if n == 0:
            return -1
        pos = <int64_t>(h & <uint64_t>mask)
        if n < 16:
            for i in range(pos, n):
                if self.table[i] == key:
                    return i
                if self.table[i] < 0:
                    return -1
            for i in range(pos):
                if self.table[i] == key:
                    return i
                if self.table[i] < 0:
                    return -1
            return -1
        while True:
            for bit in range(16):
                i = (pos + bit) & mask
                if self.table[i] == key:
                    return i
                if self.table[i] < 0:
                    return -1
            stride += 16
            pos = (pos + stride) & mask

    cdef int reserve(self) except -1:
        """Room for one more key (hashbrown's reserve(1)): a full table grows."""
        cdef int64_t nsize, i, j
        cdef int64_t *nt
        cdef uint64_t *nh
        if self.room > 0:
            return 0
        nsize = hb_buckets_for(max(self.items + 1, (hb_capacity_of(self.size) if self.size else 0) + 1))
        nt = <int64_t*>malloc(nsize * sizeof(int64_t))
        nh = <uint64_t*>malloc(nsize * sizeof(uint64_t))
        if nt == NULL or nh == NULL:
            free(nt)
            free(nh)
            raise MemoryError()
        for i in range(nsize):
            nt[i] = -1
        for i in range(self.size):
            if self.table[i] >= 0:
                j = hb_slot_of(nt, nsize, self.hashes[i])
                nt[j] = self.table[i]
                nh[j] = self.hashes[i]
        free(self.table)
        free(self.hashes)
        self.table = nt
        self.hashes = nh
        self.size = nsize
        self.room = hb_capacity_of(nsize) - self.items
        return 0

    cdef int put(self, int64_t key, uint64_t h) except -1:
        """Insert `key`, which the map does not hold."""
        cdef int64_t j
        self.reserve()
        j = hb_slot_of(self.table, self.size, h)
        self.table[j] = key
        self.hashes[j] = h
        self.room -= 1
        self.items += 1
        self.add_member(key)
        return 0

    cdef int feed(self, seq, list peer_ids) except -1:
        """Insert the elements of `seq` (see ALWAYS) in order."""
        cdef uint64_t e
        for x in seq:
            e = x
            self.feed_one(e, <uint64_t>peer_ids[(e & KEY_BITS) >> 32])
        return 0

    cdef int feed_one(self, uint64_t e, uint64_t peer) except -1:
        """Insert one element (see ALWAYS) of a peer with id `peer`."""
        cdef int64_t key = <int64_t>(e & KEY_BITS)
        if self.has(key):
            if e & ALWAYS:
                self.reserve()
        else:
            self.put(key, elem_hash(peer, <uint32_t>(key & 0xFFFFFFFF)))
        return 0

    def __len__(self):
        return self.items

    def note(self, seq, list peer_ids):
        """Insert the elements of `seq` (see ALWAYS) in order."""
        self.feed(seq, peer_ids)

    cdef ElementMap refilled(self):
        """A new map given this one's keys in its iteration order."""
        cdef ElementMap r = ElementMap()
        cdef int64_t i
        for i in range(self.size):
            if self.table[i] >= 0:
                r.put(self.table[i], self.hashes[i])
        return r

    cdef list ordered(self, wanted, list peer_ids):
        """The keys of `wanted` the map holds, in its iteration order."""
        cdef int64_t key, b
        found = []
        for x in wanted:
            key = x
            b = self.find(key, elem_hash(<uint64_t>peer_ids[key >> 32], <uint32_t>(key & 0xFFFFFFFF)))
            if b >= 0:
                found.append((b, x))
        found.sort()
        return [x[1] for x in found]


def element_order(seq, extra, list peer_ids, wanted, ElementMap kept=None):
    """The elements of `wanted` (elements, (peer index << 32) | Lamport) in the order
    loro's diff calculator hands them to the state, those it holds only. It notes the
    elements the ops it visits name (an insert's atoms, a move's or a set's element; see
    ALWAYS) in a hash map, `seq` in order, or `kept` when given (a checkout's map, which
    `seq` adds to); when it recomputes the elements (an import that is not above the
    version before it, a checkout: `extra` not None) it inserts that map's keys, in its
    iteration order, into a new map, then the elements of the list items its list diff
    inserts, `extra`, in list order. The last map's iteration order is the one returned."""
    cdef ElementMap m = kept if kept is not None else ElementMap()
    m.feed(seq, peer_ids)
    if extra is not None:
        m = m.refilled()
        m.feed([(<uint64_t>x) | ALWAYS for x in extra], peer_ids)
    return m.ordered(wanted, peer_ids)


# -- the delta rope ---------------------------------------------------------------------
# Items: a retain of `n`, or a replace (up to CAP value slots, is_move, `n` deleted).
# They sit in blocks of at most BMAX (a block list stands in for loro's B-tree: what
# matters for the split is the sequence of items, which the blocks only index).

ctypedef struct ritem:
    int kind            # 0: retain, 1: replace
    int mv
    int nv
    int64_t n
    int64_t v[CAP]

ctypedef struct rblock:
    int cnt
    int64_t dlen
    ritem it[BMAX]


cdef inline int64_t dlen(const ritem *it) noexcept nogil:
    return it.n if it.kind == 0 else it.nv


cdef inline int64_t rlen(const ritem *it) noexcept nogil:
    return it.n if it.kind == 0 else it.nv + it.n


cdef inline bint can_merge(const ritem *a, const ritem *b) noexcept nogil:
    if a.kind != b.kind:
        return False
    if a.kind == 0:
        return True
    return a.mv == b.mv and a.nv + b.nv <= CAP


cdef inline void merge_right(ritem *a, const ritem *b) noexcept nogil:
    cdef int k
    if a.kind == 0:
        a.n += b.n
        return
    for k in range(b.nv):
        a.v[a.nv + k] = b.v[k]
    a.nv += b.nv
    a.n += b.n


cdef inline bint removable(const ritem *it) noexcept nogil:
    return it.n == 0 if it.kind == 0 else (it.nv == 0 and it.n == 0)


cdef void split_item(ritem *it, int64_t pos, ritem *right) noexcept nogil:
    """Cut `it` after `pos` units (values, then deletes): it keeps the left part, the right
    one goes to `right`."""
    cdef int k
    if it.kind == 0:
        right.kind = 0
        right.mv = 0
        right.nv = 0
        right.n = it.n - pos
        it.n = pos
        return
    right.kind = 1
    if pos < it.nv:
        right.mv = it.mv
        right.nv = it.nv - <int>pos
        for k in range(right.nv):
            right.v[k] = it.v[pos + k]
        right.n = it.n
        it.nv = <int>pos
        it.n = 0
        return
    right.mv = 0
    right.nv = 0
    right.n = it.nv + it.n - pos
    it.n -= right.n


cdef inline void make_replace(ritem *it, int64_t value, int has_value, int mv, int64_t dels) noexcept nogil:
    it.kind = 1
    it.nv = has_value
    it.v[0] = value
    it.mv = mv if has_value else 0
    it.n = dels


cdef class CRope:
    cdef rblock **blocks
    cdef int nb, cap
    cdef int64_t total

    def __cinit__(self):
        self.blocks = NULL
        self.nb = self.cap = 0
        self.total = 0

    def __dealloc__(self):
        cdef int b
        for b in range(self.nb):
            free(self.blocks[b])
        free(self.blocks)

    cdef int add_block(self, int at) except -1:
        cdef rblock *blk
        if self.nb == self.cap:
            self.cap = self.cap * 2 if self.cap else 16
            self.blocks = <rblock**>realloc(self.blocks, self.cap * sizeof(rblock*))
            if self.blocks == NULL:
                raise MemoryError()
        blk = <rblock*>malloc(sizeof(rblock))
        if blk == NULL:
            raise MemoryError()
        blk.cnt = 0
        blk.dlen = 0
        memmove(&self.blocks[at + 1], &self.blocks[at], (self.nb - at) * sizeof(rblock*))
        self.blocks[at] = blk
        self.nb += 1
        return 0

    cdef void fix(self, int b) noexcept:
        """Recount block b's length (after its items changed)."""
        cdef rblock *blk = self.blocks[b]
        cdef int64_t s = 0
        cdef int o
        for o in range(blk.cnt):
            s += dlen(&blk.it[o])
        self.total += s - blk.dlen
        blk.dlen = s

    cdef int tidy(self) except -1:
        """Drop empty blocks, split full ones: every block then has room for a step."""
        cdef int b = 0, half
        cdef rblock *blk
        while b < self.nb:
            blk = self.blocks[b]
            if blk.cnt == 0:
                free(blk)
                memmove(&self.blocks[b], &self.blocks[b + 1], (self.nb - b - 1) * sizeof(rblock*))
                self.nb -= 1
                continue
            if blk.cnt > BMAX - BROOM:
                self.add_block(b + 1)
                blk = self.blocks[b]
                half = blk.cnt // 2
                memcpy(&self.blocks[b + 1].it[0], &blk.it[half], (blk.cnt - half) * sizeof(ritem))
                self.blocks[b + 1].cnt = blk.cnt - half
                blk.cnt = half
                self.total -= blk.dlen
                blk.dlen = 0
                self.fix(b)
                self.fix(b + 1)
            b += 1
        return 0

    cdef int splice(self, int b, int o, int ndel, const ritem *new, int nnew) except -1:
        """Replace `ndel` items from (b, o) with `nnew` items, in block b."""
        cdef rblock *blk = self.blocks[b]
        if blk.cnt - ndel + nnew > BMAX:
            raise AssertionError("rope block overflow")
        memmove(&blk.it[o + nnew], &blk.it[o + ndel], (blk.cnt - o - ndel) * sizeof(ritem))
        if nnew:
            memcpy(&blk.it[o], new, nnew * sizeof(ritem))
        blk.cnt += nnew - ndel
        self.fix(b)
        return 0

    cdef ritem *last(self, int *b, int *o) noexcept:
        b[0] = self.nb - 1
        o[0] = self.blocks[self.nb - 1].cnt - 1
        return &self.blocks[b[0]].it[o[0]]

    cdef void query(self, int64_t pos, int *qb, int *qo, int64_t *off) noexcept:
        """Where position `pos` falls: past items it covers whole (deletes included), else
        the last item (the rope is not empty)."""
        cdef int b, o
        cdef int64_t left = pos, n
        cdef rblock *blk
        cdef ritem *it
        if pos >= self.total:
            it = self.last(qb, qo)
            off[0] = pos - (self.total - dlen(it))
            return
        for b in range(self.nb):
            blk = self.blocks[b]
            if left >= blk.dlen:
                left -= blk.dlen
                continue
            for o in range(blk.cnt):
                n = dlen(&blk.it[o])
                if left >= n:
                    left -= n
                else:
                    qb[0] = b
                    qo[0] = o
                    off[0] = left
                    return
        # (not reached: pos < total)
        it = self.last(qb, qo)
        off[0] = left

    cdef int push(self, const ritem *it) except -1:
        """Append `it` at the end (joined to the last item when they merge)."""
        cdef int b, o
        cdef ritem *lst
        if it.kind == 0 and it.n <= 0:
            return 0
        if it.kind == 1 and it.nv == 0 and it.n == 0:
            return 0
        if self.nb:
            lst = self.last(&b, &o)
            if can_merge(lst, it):
                merge_right(lst, it)
                self.fix(b)
                return 0
        if self.nb == 0 or self.blocks[self.nb - 1].cnt >= BMAX - BROOM:
            self.add_block(self.nb)
        b = self.nb - 1
        self.splice(b, self.blocks[b].cnt, 0, it, 1)
        return 0

    cdef int push_retain(self, int64_t n) except -1:
        cdef ritem r
        if n <= 0:
            return 0
        r.kind = 0
        r.mv = r.nv = 0
        r.n = n
        return self.push(&r)

    cdef int step(self, int64_t index, int64_t value, int has_value, int mv, int64_t dels) except -1:
        """Compose [retain index, replace (value?, mv, dels)] into the rope."""
        cdef ritem it
        make_replace(&it, value, has_value, mv, dels)
        self.tidy()
        if self.nb == 0:
            self.push_retain(index)
            self.push(&it)
            return 0
        if index >= self.total:
            self.push_retain(index - self.total)
            self.push(&it)
            return 0
        self.replace(&it, index)
        return 0

    cdef int replace(self, ritem *it, int64_t index) except -1:
        cdef int64_t left = it.n, end, fo, to
        cdef bint should_insert = it.nv > 0
        cdef int fb, fi, tb, ti
        cdef ritem ins
        if left > 0 and index != self.total:
            end = min(index + left, self.total)
            self.query(index, &fb, &fi, &fo)
            self.query(end, &tb, &ti, &to)
            if fb == tb and fi == ti:
                self.single(fb, fi, fo, to, left, it)
                return 0
            left = self.batch(fb, fi, fo, tb, ti, to, left)
        if left > 0 or should_insert:
            ins = it[0]
            if not should_insert:
                ins.nv = 0
                ins.mv = 0
            ins.n = left
            self.insert(index, &ins)
        return 0

    cdef int single(self, int b, int i, int64_t start, int64_t end, int64_t left,
                    const ritem *it) except -1:
        cdef ritem *cur = &self.blocks[b].it[i]
        cdef ritem new = it[0]
        cdef int64_t vs, ve
        if cur.kind == 0:
            new.n = left
            return self.update_split(b, i, start, end, &new)
        vs = min(start, cur.nv)
        ve = min(end, cur.nv)
        cur.n += max(left - (ve - vs), 0)
        new.n = 0
        return self.update_split(b, i, vs, ve, &new)

    cdef int update_split(self, int b, int i, int64_t start, int64_t end, ritem *new) except -1:
        cdef ritem out[3]
        cdef ritem right
        cdef ritem *it = &self.blocks[b].it[i]
        cdef int64_t rl = rlen(it)
        cdef int n = 0, k, m = 0
        if start == 0 and end == rl:
            out[0] = new[0]
            n = 1
        elif start == 0:
            split_item(it, end, &right)
            out[0] = new[0]
            n = 2
            out[1] = right
            if can_merge(&out[0], &right):
                merge_right(&out[0], &right)
                n = 1
        elif end == rl:
            split_item(it, start, &right)     # (the right part is dropped)
            out[0] = it[0]
            out[1] = new[0]
            n = 2
            if can_merge(&out[0], new):
                merge_right(&out[0], new)
                n = 1
        else:
            split_item(it, end, &right)
            split_item(it, start, &out[2])   # (dropped: new takes its place)
            out[0] = it[0]
            if removable(new):
                out[1] = right
                n = 2
                if can_merge(&out[0], &right):
                    merge_right(&out[0], &right)
                    n = 1
            elif can_merge(new, &right):
                merge_right(new, &right)
                out[1] = new[0]
                n = 2
                if can_merge(&out[0], new):
                    merge_right(&out[0], new)
                    n = 1
            elif can_merge(&out[0], new):
                merge_right(&out[0], new)
                out[1] = right
                n = 2
            else:
                out[1] = new[0]
                out[2] = right
                n = 3
        for k in range(n):
            if not removable(&out[k]):
                if m != k:
                    out[m] = out[k]
                m += 1
        return self.splice(b, i, 1, out, m)

    cdef int cut(self, int b, int i, int64_t off, int *rb, int *ri) except -1:
        """Split item (b, i) at `off` if inside it; (rb, ri): the item that starts there
        (ri may be one past the block's last)."""
        cdef ritem *it = &self.blocks[b].it[i]
        cdef ritem right
        rb[0] = b
        if off == 0:
            ri[0] = i
            return 0
        ri[0] = i + 1
        if off >= rlen(it):
            return 0
        split_item(it, off, &right)
        self.splice(b, i + 1, 0, &right, 1)
        return 0

    cdef int64_t batch(self, int fb, int fi, int64_t fo, int tb, int ti, int64_t to,
                       int64_t left) except -1:
        cdef int eb, ei, sb, si, b, o, o_end, m, n_before
        cdef ritem *it
        cdef rblock *blk
        self.cut(tb, ti, to, &eb, &ei)
        n_before = self.blocks[fb].cnt
        self.cut(fb, fi, fo, &sb, &si)
        if sb == eb:
            ei += self.blocks[fb].cnt - n_before      # (a cut of the first item shifts the last)
        b = sb
        o = si
        while left != 0 and (b < eb or (b == eb and o < ei)):
            blk = self.blocks[b]
            if o >= blk.cnt:
                b += 1
                o = 0
                continue
            it = &blk.it[o]
            if it.kind == 0:
                left -= it.n
                it.kind = 1
                it.nv = 0
                it.mv = 0
            elif left >= it.nv:
                left -= it.nv
                it.nv = 0
                it.mv = 0
            o += 1
        # the items emptied go (none outside the range is)
        for b in range(sb, min(eb, self.nb - 1) + 1):
            blk = self.blocks[b]
            m = 0
            for o in range(blk.cnt):
                if not removable(&blk.it[o]):
                    if m != o:
                        blk.it[m] = blk.it[o]
                    m += 1
            blk.cnt = m
            self.fix(b)
        self.tidy_empty()
        return left

    cdef void tidy_empty(self) noexcept:
        cdef int b = 0
        while b < self.nb:
            if self.blocks[b].cnt == 0:
                free(self.blocks[b])
                memmove(&self.blocks[b], &self.blocks[b + 1], (self.nb - b - 1) * sizeof(rblock*))
                self.nb -= 1
            else:
                b += 1

    cdef int insert(self, int64_t pos, ritem *it) except -1:
        cdef int b, i, k
        cdef int64_t off
        cdef ritem *leaf
        cdef ritem two[2]
        if self.nb == 0:
            return self.push(it)
        self.query(pos, &b, &i, &off)
        leaf = &self.blocks[b].it[i]
        # the leaf takes it in (B-tree try_insert), else merges with it at an end, else a
        # new leaf goes before, after or between the halves of the leaf
        if leaf.kind == 0 and it.kind == 0:
            leaf.n += it.n
            self.fix(b)
            return 0
        if leaf.kind == 1 and it.kind == 1:
            if leaf.nv == 0 and it.nv == 0:
                leaf.n += it.n
                return 0
            if leaf.mv == it.mv and off <= leaf.nv and leaf.nv + it.nv <= CAP:
                for k in range(leaf.nv - 1, <int>off - 1, -1):
                    leaf.v[k + it.nv] = leaf.v[k]
                for k in range(it.nv):
                    leaf.v[off + k] = it.v[k]
                leaf.nv += it.nv
                leaf.n += it.n
                self.fix(b)
                return 0
        if off == 0 and can_merge(it, leaf):
            for k in range(leaf.nv - 1, -1, -1):
                leaf.v[k + it.nv] = leaf.v[k]
            for k in range(it.nv):
                leaf.v[k] = it.v[k]
            leaf.nv += it.nv
            leaf.n += it.n
            self.fix(b)
            return 0
        if off == rlen(leaf) and can_merge(leaf, it):
            merge_right(leaf, it)
            self.fix(b)
            return 0
        if off == 0:
            return self.splice(b, i, 0, it, 1)
        if off >= rlen(leaf):
            return self.splice(b, i + 1, 0, it, 1)
        two[0] = it[0]
        split_item(leaf, off, &two[1])
        return self.splice(b, i + 1, 0, two, 2)

    def ops(self):
        """[(0, n) retain | (1, values, is_move) | (2, n) delete] (loro does not cut a
        trailing retain)."""
        cdef int b, o, k
        cdef ritem *it
        out = []
        for b in range(self.nb):
            for o in range(self.blocks[b].cnt):
                it = &self.blocks[b].it[o]
                if it.kind == 0:
                    out.append((0, it.n))
                    continue
                if it.nv:
                    out.append((1, [it.v[k] for k in range(it.nv)], bool(it.mv)))
                if it.n:
                    out.append((2, it.n))
        return out

    def py_step(self, index, value, has_value, mv, dels):
        """(for tests)"""
        self.step(index, value, has_value, mv, dels)

    def py_length(self):
        return self.total


def _canonical(ops):
    """Adjacent items of a kind merged, a gap's inserts (per is_move) before its deletes."""
    out = []
    ins = []
    dels = 0
    for op in ops + [(0, 0)]:
        if op[0] == 0:
            out.extend(ins)
            if dels:
                out.append((2, dels))
            ins, dels = [], 0
            if op[1]:
                if out and out[len(out) - 1][0] == 0:
                    out[len(out) - 1] = (0, out[len(out) - 1][1] + op[1])
                else:
                    out.append(op)
        elif op[0] == 1:
            if ins and ins[len(ins) - 1][2] == op[2]:
                ins[len(ins) - 1] = (1, ins[len(ins) - 1][1] + list(op[1]), op[2])
            else:
                ins.append((1, list(op[1]), op[2]))
        else:
            dels += op[1]
    while out and out[len(out) - 1][0] == 0:
        out.pop()
    return out


def import_ops(changed, base_at, seq, extra, peer_ids, values, same_value, diffed, kept=None,
               int64_t tail=-1):
    """An import's diff of one movable list as loro splits it.

    changed: the elements shown before or after whose value slot or list item changed, or
    shown on one side only, as [element, before index, value slot, list item, the list
    item's op position now (-1: gone), after index, value slot, list item, op position]
    (-1 where not shown; an element is (peer index << 32) | Lamport; the ones shown before
    come first, by before index); every other shown element keeps its list item and
    value; base_at: op position of a changed element's item -> the shown items before it
    that are not a changed element's; seq, extra, kept: the elements loro's diff
    calculator notes (see element_order), the only ones its state update looks at; peer_ids: the
    peer id of each peer index; values: the value slots; same_value(a, b): whether loro
    takes two values as equal; diffed: the same diff from comparing the items
    (ml_import_ops), whose effect and is_move flags are loro's, or None. The replay's
    split is returned when it agrees with `diffed` (the versions loro walks between are
    modelled, see loro_c._dag_order) in canonical form, or gives the same list (where
    it moves an element back onto its index, which `diffed` keeps), else `diffed`. tail: the items shown before that
    lie before the last list item the import removed (pointed at or not; -1: none, or not
    known)."""
    ops = _replay(changed, base_at, seq, extra, peer_ids, values, same_value, kept, tail)
    if diffed is None or ops == diffed or _canonical(ops) == _canonical(diffed):
        return ops
    if _same_effect(ops, diffed, changed, values, same_value):
        # (the replay moved an element back onto its index with its value, which comparing
        # items takes for a kept item: loro reports that move)
        return ops
    return diffed


def _same_effect(a, b, changed, values, same_value):
    """Whether deltas `a` and `b` (as ops) give the same list from the one before: its items
    are the changed elements' values before (`changed`) and, elsewhere, items kept as they
    are (distinct), each is_move insert taken as its value."""
    known = {row[1]: row[2] for row in changed if row[1] >= 0}

    def run(ops):
        out = []
        at = 0
        for op in ops:
            if op[0] == 0:
                for i in range(at, at + op[1]):
                    out.append(("v", known[i]) if i in known else ("k", i))
                at += op[1]
            elif op[0] == 1:
                out.extend(("v", v) for v in op[1])
            else:
                at += op[1]
        return out, at

    ra, ca = run(a)
    rb, cb = run(b)
    end = max(ca, cb)
    ra.extend(("v", known[i]) if i in known else ("k", i) for i in range(ca, end))
    rb.extend(("v", known[i]) if i in known else ("k", i) for i in range(cb, end))
    if len(ra) != len(rb):
        return False
    for x, y in zip(ra, rb):
        if x[0] != y[0]:
            return False
        if x[0] == "k":
            if x[1] != y[1]:
                return False
        elif x[1] != y[1] and not same_value(values[x[1]], values[y[1]]):
            return False
    return True


# per changed element (a rec of `changed`)
ctypedef struct rec:
    int64_t bi, bval, old_op, aj, aval, new_op
    int64_t old_rk, new_rk      # old_op / new_op among the changed elements' op positions
    int64_t bbase, abase        # base_at of its before / after item
    int same_item               # its before and after items are one
    int wanted                  # named by the import's ops
    int pointed_b, pointed_a    # its before / after item pointed at (by it)
    int in_state                # loro's state holds it (on cur_item, with cur_val)
    int cur_a                   # cur_item is its after item (else its before one)
    int64_t cur_val
    int moved                   # put aside by the list's deletes, with moved_val
    int64_t moved_val


cdef inline void fw_add(int32_t *fw, int64_t size, int64_t i, int d) noexcept:
    i += 1
    while i <= size:
        fw[i] += d
        i += i & (-i)


cdef inline int64_t fw_before(int32_t *fw, int64_t i) noexcept:
    """How many marked op positions are below i."""
    cdef int64_t s = 0
    while i > 0:
        s += fw[i]
        i -= i & (-i)
    return s


cdef class _Replay:
    cdef rec *r
    cdef int32_t *fw
    cdef int64_t size

    def __dealloc__(self):
        free(self.r)
        free(self.fw)

    cdef inline int64_t item_op(self, int64_t k, bint a) noexcept:
        """The rank of the item's op position among the changed elements' (the Fenwick
        tree counts the pointed ones among those only)."""
        return self.r[k].new_rk if a else self.r[k].old_rk

    cdef inline bint is_pointed(self, int64_t k, bint a) noexcept:
        if a and not self.r[k].same_item:
            return self.r[k].pointed_a
        return self.r[k].pointed_b

    cdef inline void set_pointed(self, int64_t k, bint a, int on) noexcept:
        cdef int64_t op = self.item_op(k, a)
        if a and not self.r[k].same_item:
            self.r[k].pointed_a = on
        else:
            self.r[k].pointed_b = on
        fw_add(self.fw, self.size, op, 1 if on else -1)

    cdef inline int64_t index_of(self, int64_t k, bint a) noexcept:
        cdef int64_t op = self.item_op(k, a)
        return (self.r[k].abase if a else self.r[k].bbase) + fw_before(self.fw, op)


cdef int cmp_op(const void *a, const void *b) noexcept nogil:
    cdef int64_t x = (<const int64_t*>a)[0], y = (<const int64_t*>b)[0]
    return -1 if x < y else (1 if x > y else 0)


cdef inline int64_t op_rank(const int64_t *a, int64_t n, int64_t x) noexcept:
    """The entries of sorted `a` below `x`."""
    cdef int64_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline bint same(list values, object same_value, int64_t a, int64_t b) except -1:
    return a == b or same_value(values[a], values[b])


def _replay(changed, base_at, seq, extra, peer_ids, values, same_value, ElementMap kept=None,
            int64_t tail=-1):
    # Only the changed elements move in the replay: the other shown items stay pointed at
    # throughout, so an item's index is base_at (those before it) plus the changed
    # elements' items pointed at before it (a Fenwick tree over op positions).
    cdef int64_t n = len(changed), k, run_at = 0, run = 0, n_moved = 0, at, i
    cdef int64_t ins, dele, val, prev_bi = -1, n_tail = 0, n_rk
    cdef int64_t *ranks
    cdef bint activate, had_old, value_updated, mv, sorted_bi = True
    cdef rec *x
    cdef _Replay st = _Replay()
    cdef CRope rope = CRope()
    st.r = <rec*>malloc((n + 1) * sizeof(rec))
    if st.r == NULL:
        raise MemoryError()
    memset(st.r, 0, (n + 1) * sizeof(rec))
    index = {}
    for k in range(n):
        index[changed[k][0]] = k
    by_map = element_order(seq, extra, peer_ids, index, kept)
    wanted = set(by_map)
    for k in range(n):
        row = changed[k]
        x = &st.r[k]
        x.bi = row[1]
        x.bval = row[2]
        x.old_op = row[4]
        x.aj = row[5]
        x.aval = row[6]
        x.new_op = row[8]
        x.same_item = row[3] == row[7]
        x.wanted = row[0] in wanted
        if x.old_op >= 0:
            x.bbase = base_at[x.old_op]
        if x.new_op >= 0:
            x.abase = base_at[x.new_op]
        if x.bi >= 0:
            if x.bi < prev_bi:
                sorted_bi = False
            prev_bi = x.bi
    # the Fenwick tree over the distinct op positions of the changed elements' items (the
    # only ones it marks or asks about), not every op position up to the largest
    ranks = <int64_t*>malloc((2 * n + 1) * sizeof(int64_t))
    if ranks == NULL:
        raise MemoryError()
    try:
        n_rk = 0
        for k in range(n):
            if st.r[k].old_op >= 0:
                ranks[n_rk] = st.r[k].old_op
                n_rk += 1
            if st.r[k].new_op >= 0:
                ranks[n_rk] = st.r[k].new_op
                n_rk += 1
        qsort(ranks, n_rk, sizeof(int64_t), cmp_op)
        i = 0
        for k in range(n_rk):
            if i == 0 or ranks[k] != ranks[i - 1]:
                ranks[i] = ranks[k]
                i += 1
        n_rk = i
        for k in range(n):
            x = &st.r[k]
            x.old_rk = op_rank(ranks, n_rk, x.old_op) if x.old_op >= 0 else -1
            x.new_rk = op_rank(ranks, n_rk, x.new_op) if x.new_op >= 0 else -1
    finally:
        free(ranks)
    st.size = n_rk + 1
    st.fw = <int32_t*>malloc((st.size + 1) * sizeof(int32_t))
    if st.fw == NULL:
        raise MemoryError()
    memset(st.fw, 0, (st.size + 1) * sizeof(int32_t))
    for k in range(n):
        x = &st.r[k]
        if x.old_op >= 0:
            # shown before on an item that stays: pointed at, and in the state if named
            st.set_pointed(k, False, 1)
            if x.wanted:
                x.in_state = 1
                x.cur_a = 0
                x.cur_val = x.bval
    # 1. the list's deletes: a run of the items gone at a time, at its user index
    order = range(n)
    if not sorted_bi:
        order = [j for _, j in sorted([(changed[j][1], j) for j in range(n)])]
    for k in order:
        x = &st.r[k]
        if x.bi < 0 or x.old_op >= 0:
            continue
        at = x.bi - n_moved         # (the shown items before it that stay)
        if run and at != run_at:
            rope.step(run_at, 0, 0, 0, run)
            run = 0
        if not run:
            run_at = at
        run += 1
        x.moved = 1
        x.moved_val = x.bval
        n_moved += 1
        if x.bi < tail:
            n_tail += 1
    if run:
        rope.step(run_at, 0, 0, 0, run)
    # loro composes retain(u).delete(k) for each run of its list diff's deletes, k counting
    # the items pointed at: a run of items no element points at composes a lone retain,
    # which reaches past the rope's end when that run is the last one (after the last
    # pointed run, with shown items between): the rope grows to there, and its retain
    # stays at the event's end unless a later step lands past it
    if tail - n_tail > rope.total:
        rope.push_retain(tail - n_tail - rope.total)

    # 3. the elements named, in the order of loro's map
    for key in by_map:
        k = index[key]
        x = &st.r[k]
        if not x.wanted:
            continue
        if x.aj < 0:
            # on no shown item now: loro points it at its new list item, which is gone, and
            # drops it; an item it stood on that stays shows its delete (a deleted
            # element's items went with the list's deletes)
            if x.in_state:
                val = x.aval if x.aval >= 0 else x.cur_val
                if x.cur_val != val and not same(values, same_value, x.cur_val, val):
                    x.moved = 0
                    x.cur_val = val
                    if st.is_pointed(k, False):
                        rope.step(st.index_of(k, False), val, 1, 0, 1)
                if st.is_pointed(k, False):
                    st.set_pointed(k, False, 0)
                    rope.step(st.index_of(k, False), 0, 0, 0, 1)
                x.in_state = 0
            continue
        val = x.aval
        value_updated = x.bi < 0 or not same(values, same_value, x.bval, val)
        if x.in_state:
            if x.cur_val != val and not same(values, same_value, x.cur_val, val):
                x.moved = 0
                x.cur_val = val
                if st.is_pointed(k, x.cur_a):
                    rope.step(st.index_of(k, x.cur_a), val, 1, 0, 1)
            if x.cur_a or x.same_item:
                continue        # (on its item already)
            activate = not st.is_pointed(k, True)
            if activate:
                st.set_pointed(k, True, 1)
            had_old = st.is_pointed(k, False)
            if had_old:
                st.set_pointed(k, False, 0)
            x.cur_a = 1
            ins = st.index_of(k, True) if activate else -1
            dele = st.index_of(k, False) if had_old else -1
            if ins >= 0:
                if dele >= 0 and ins > dele:
                    ins += 1
                mv = (dele >= 0 and not value_updated) or (x.moved and same(values, same_value, x.moved_val, val))
                x.moved = 0
                rope.step(ins, val, 1, mv, 0)
            if dele >= 0:
                rope.step(dele, 0, 0, 0, 1)
            if not activate:
                x.in_state = 0
        elif not st.is_pointed(k, True):
            st.set_pointed(k, True, 1)
            x.in_state = 1
            x.cur_a = 1
            x.cur_val = val
            mv = x.moved and same(values, same_value, x.moved_val, val)
            x.moved = 0
            rope.step(st.index_of(k, True), val, 1, mv, 0)
    return rope.ops()
