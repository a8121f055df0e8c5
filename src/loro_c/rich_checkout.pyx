"""The event of a checkout (or a `diff`) of a text holding style anchors, as loro 1.17.1
builds it.

Loro does not diff the styles of the two versions. It walks the changed atoms in document
order as a delta over entities (text and style anchors), and applies that delta to its
state item by item: each replace item first drains the entities it deletes, then inserts
its chunk. Its style state is a map from entity ranges to sets of marks, kept beside the
text, and the event is assembled from what each step reports:

* an inserted text takes the marks common to the entity before and the entity after it
  *at that moment* (marks whose end anchor is still to come, or already drained, count as
  the state says then);
* an inserted end anchor annotates its mark's range, from its start anchor, and reports a
  retain over that range with every attribute the range now has (not only its own key);
* a drained end anchor removes its mark from the map scanning backward, and reports a
  retain with every attribute, plus the drained anchors' keys as None, from the start of
  the map element *before* the mark's range (so unstyled text before a removed mark is
  retained with `{key: None}`) up to the drain position;
* those retains are composed over the structural delta, the drains' in order, then the
  annotations' (later ones win per key); composing cuts the delta's items and never joins
  them again, and those items matter: applying the delta writes a mark per item and key.

This module replays that on plain lists, so it runs only for texts that hold anchors, and
only when a checkout is journaled (subscribers, `diff`, undo). Its input is the text's atoms
in document order as elements (see `checkout_delta`), read from the B-tree by _events.pyx.
"""

cimport cython
from cpython.mem cimport PyMem_Realloc, PyMem_Free
from libc.string cimport memmove


cdef enum:
    TEXT = 0
    START = 1
    END = 2
    TAIL = 0       # the element of loro's style map that reaches past the end of the text


_NO_MARKS = frozenset()
cdef object _MISSING = object()


cdef bint _same(a, b) except -1:
    """Attributes (or values) equal as LoroValues: {"k": 1} and {"k": True} differ (as
    delta_ot.same_attrs, in C: it is asked for every item pushed)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        # (equal key sets: as many keys, each of a's in b)
        if len(<dict>a) != len(<dict>b):
            return False
        for k, v in (<dict>a).items():
            w = (<dict>b).get(k, _MISSING)
            if w is _MISSING or not _same(v, w):
                return False
        return True
    if type(a) is list:
        if len(<list>a) != len(<list>b):
            return False
        for x, y in zip(<list>a, <list>b):
            if not _same(x, y):
                return False
        return True
    return a == b


@cython.no_gc
cdef class _Run:
    """A run of the state: `n` entities (code points, `text` when inserted here, or one
    anchor of mark `sid`) that carry the marks `marks` (a frozenset of mark ids) and lie in element
    `elem` of loro's style map (elements are contiguous; all runs of one carry the same
    marks)."""
    cdef public int kind
    cdef public Py_ssize_t n
    cdef public object text, sid, marks
    cdef public Py_ssize_t elem

    def __init__(self, int kind, Py_ssize_t n, text, sid, marks, Py_ssize_t elem):
        self.kind = kind
        self.n = n
        self.text = text
        self.sid = sid
        self.marks = marks
        self.elem = elem

    cpdef Py_ssize_t events(self):
        return self.n if self.kind == TEXT else 0

    cpdef _Run split(self, Py_ssize_t k):
        """Keep the first `k` entities; return the rest as a new run (text runs only)."""
        text = self.text
        rest = _new_run(self.kind, self.n - k, None if text is None else text[k:], self.sid,
                        self.marks, self.elem)
        self.n = k
        self.text = None if text is None else text[:k]
        return rest


cdef inline _Run _new_run(int kind, Py_ssize_t n, object text, object sid, object marks,
                          Py_ssize_t elem):
    # (not through the type's call: these are made for every run of every replay)
    cdef _Run run = _Run.__new__(_Run)
    run.kind = kind
    run.n = n
    run.text = text
    run.sid = sid
    run.marks = marks
    run.elem = elem
    return run


cdef tuple _before_marks(list elements, prior=None):
    """The runs visible at the old version, each with the marks whose start and end
    anchors (both visible then) enclose it, anchors included, and loro's style map
    elements: loro keeps the elements its history made (an annotation cuts them at both
    ends, nothing merges them again), which is not known here, so a new element starts at
    every start anchor and after every end anchor the text holds, visible or not (the
    state held them all at its latest version), and where the marks change; the last one
    is loro's unbounded tail, TAIL. (On random sessions this gives loro's events exactly
    about 49 times in 50; the others differ only in retains whose attributes change
    nothing.) With `prior`, the elements the last replay left (see `checkout_delta`), those
    are used instead when they cover the runs. Returns (runs, the greatest element
    number)."""
    if prior is not None:
        known = _prior_marks(elements, (<Elements>prior).prior())
        if known is not None:
            return known
    cdef Py_ssize_t elem = TAIL, k
    cdef bint cut_next = False, cut
    cdef int kind
    cdef _Run run, last = None
    cdef tuple e
    closed = set()
    for e in elements:
        if e[4] and <int>e[0] == END:
            closed.add(e[3])
    cdef list runs = []
    opened = set()
    cur = _NO_MARKS
    for e in elements:
        kind = e[0]
        if not e[4]:
            cut_next = cut_next or kind != TEXT
            continue
        sid = e[3]
        cut = last is None or cut_next or kind == START
        cut_next = kind == END
        if kind == START and sid in closed:
            opened.add(sid)
            cur = frozenset(opened)
        if cut or (last.marks is not cur and last.marks != cur):
            elem += 1
        last = _new_run(kind, e[1], e[2], sid, cur, elem)
        runs.append(last)
        if kind == END and sid in opened:
            opened.discard(sid)
            cur = frozenset(opened)
    for k in range(len(runs) - 1, -1, -1):
        run = runs[k]
        if run.marks or run.elem != last.elem:
            break
        run.elem = TAIL
    return runs, elem


cdef object _prior_marks(list elements, list prior):
    """The runs visible at the old version with the elements `prior` gives them
    ([entities, element] in order, as `_State.elements` left them), or None when `prior`
    does not cover exactly those entities."""
    cdef Py_ssize_t k = 0, left, take, n, total = 0, top = TAIL, el
    cdef int kind
    cdef _Run last = None, run
    cdef tuple e
    cdef list b
    for e in elements:
        if e[4]:
            total += <Py_ssize_t>e[1]
    for b in prior:
        total -= <Py_ssize_t>b[0]
        if <Py_ssize_t>b[1] > top:
            top = b[1]
    if total != 0:
        return None
    closed = {e[3] for e in elements if e[4] and <int>e[0] == END}
    cdef list runs = []
    opened = set()
    cur = _NO_MARKS
    left = prior[0][0] if prior else 0
    for e in elements:
        if not e[4]:
            continue
        kind = e[0]
        n = e[1]
        text = e[2]
        sid = e[3]
        if kind == START and sid in closed:
            opened.add(sid)
            cur = frozenset(opened)
        while n > 0:
            while left == 0:
                k += 1
                left = (<list>prior[k])[0]
            take = n if n <= left else left
            if take < n and kind != TEXT:
                return None
            el = (<list>prior[k])[1]
            if last is not None and last.elem == el and last.marks is not cur and last.marks != cur:
                return None     # (one element has one set of marks in loro's map)
            run = _new_run(kind, take, None if text is None else text[:take], sid, cur, el)
            runs.append(run)
            last = run
            if text is not None:
                text = text[take:]
            n -= take
            left -= take
        if kind == END and sid in opened:
            opened.discard(sid)
            cur = frozenset(opened)
    return runs, top


cdef int _apply_items(_State state, list elements) except -1:
    """Apply loro's delta of the change, over entities, to `state`: retains, and replaces
    that hold an inserted chunk and the entities deleted after it (the deletes are drained
    first). An inserted text joins the chunk before when its ids continue it, Lamport clocks
    included, and its bytes follow it in loro's string storage. Items are applied as they close, with no list
    built per item (a quiet replay walks every changed atom of a text)."""
    cdef tuple el
    cdef bint before, now
    cdef int mode = 0           # the open item: 0 none, 1 a retain, 2 a replace
    cdef Py_ssize_t retained = 0, dels = 0, n_dels = 0
    cdef list ins = None
    for el in elements:
        before = el[4]
        now = el[5]
        if not before and not now:
            continue
        if before and now:
            if mode == 1:
                retained += <Py_ssize_t>el[1]
                continue
            if mode == 2:
                _apply_replace(state, ins, dels, n_dels)
            mode = 1
            retained = el[1]
        elif before:
            if mode == 2:
                dels += <Py_ssize_t>el[1]
                n_dels += 1
                continue
            if mode == 1:
                state.retain(retained)
            mode = 2
            ins = None
            dels = el[1]
            n_dels = 1
        else:
            if (mode == 2 and <int>el[0] == TEXT and ins is not None
                    and <int>(<tuple>ins[len(ins) - 1])[0] == TEXT
                    and _follows((<tuple>ins[len(ins) - 1])[6], el[6], True)):
                ins.append(el)
                continue
            if mode == 1:
                state.retain(retained)
            elif mode == 2:
                _apply_replace(state, ins, dels, n_dels)
            mode = 2
            ins = [el]
            dels = 0
            n_dels = 0
    if mode == 1:
        state.retain(retained)
    elif mode == 2:
        _apply_replace(state, ins, dels, n_dels)
    return 0


cdef int _apply_replace(_State state, list ins, Py_ssize_t dels, Py_ssize_t n_dels) except -1:
    cdef tuple e
    if n_dels:
        state.drain(dels)
    if ins is not None:
        if <int>(<tuple>ins[0])[0] == TEXT:
            state.insert(ins)
        else:
            for e in ins:
                state.insert([e])
    return 0


cdef bint _follows(a, b, bint same_ids) except -1:
    """Whether text placed at `b` continues text placed at `a` in loro's storage (and, with
    `same_ids`, in ids and Lamport clocks). A place is (peer, counter, end counter, buffer,
    start, end[, whether its first atom's Lamport clock continues the atom before])."""
    cdef tuple x, y
    if a is None or b is None:
        return False
    x = a
    y = b
    if same_ids and (x[0] != y[0] or x[2] != y[1] or len(y) > 6 and not y[6]):
        return False
    return x[3] is not None and x[3] == y[3] and x[5] == y[4]


cdef class _Delta:
    """Loro's DeltaRope: ["r", n, attrs] and ["p", text, attrs, deleted, place] items (a
    replace shows its insert, then its deletes). Pushing joins an item to the last one
    where loro's does; composing attributes cuts items and never joins them again, so the
    items are loro's (apply_diff writes one mark per retained item, so they matter)."""

    cdef public list items

    def __init__(self):
        self.items = []

    cdef Py_ssize_t width(self) except -1:
        cdef Py_ssize_t w = 0
        cdef list it
        for it in self.items:
            w += _width(it)
        return w

    cpdef retain(self, n, attrs=None):
        if n <= 0:
            return
        attrs = attrs or {}
        cdef list items = self.items, last
        if items:
            last = items[len(items) - 1]
            if last[0] == "r" and _same(last[2], attrs):
                last[1] += n
                return
        items.append(["r", n, attrs])

    cpdef delete(self, n):
        if n <= 0:
            return
        cdef list items = self.items, last
        if items:
            last = items[len(items) - 1]
            if last[0] == "p":
                last[3] += n
                return
        items.append(["p", "", {}, n, None])

    cpdef insert(self, text, attrs, place):
        cdef list items = self.items, last
        if items:
            last = items[len(items) - 1]
            if last[0] == "p" and last[1] and _same(last[2], attrs) \
                    and _follows(last[4], place, False):
                last[1] += text
                last[4] = (place[0], place[1], place[2], place[3], last[4][4], place[5])
                return
        items.append(["p", text, attrs, 0, place])

    cpdef chop(self):
        cdef list items = self.items
        while items and (<list>items[len(items) - 1])[0] == "r" \
                and not (<list>items[len(items) - 1])[2]:
            items.pop()

    cpdef compose(self, _Delta other):
        """Compose a delta of retains over this one, as loro's DeltaRope.compose: a retain
        with attributes gives them, key by key, to every item it covers (cut at its ends;
        a cut replace keeps its deletes on its last part); a plain one cuts nothing; past
        the end, retains are added. One pass over both."""
        cdef list src, out, it
        cdef Py_ssize_t total, pos = 0, n, at_item = 0, at_units = 0
        cdef bint rest = False
        if not self.items:
            self.items = [list(it) for it in other.items]
            return
        src = self.items
        total = self.width()
        out = []
        for it in other.items:
            n = it[1]
            attrs = it[2]
            if not rest and pos >= total:
                out.extend(src[at_item:])
                if pos > total:
                    _push_retain(out, pos - total, {})
                rest = True
            if rest:
                _push_retain(out, n, attrs)
                pos += n
                continue
            if total < pos + n:
                if (<list>src[len(src) - 1])[0] == "r" and not (<list>src[len(src) - 1])[2]:
                    src[len(src) - 1] = ["r", (<list>src[len(src) - 1])[1] + pos + n - total, {}]
                else:
                    src.append(["r", pos + n - total, {}])
                total = pos + n
            _take(src, &at_item, &at_units, out, n, attrs)
            pos += n
        if not rest:
            out.extend(src[at_item:])
        self.items = out

    cdef list diff_items(self):
        """("r", n, attrs) / ("i", text, attrs) / ("d", n), item by item."""
        cdef list out = [], it
        for it in self.items:
            if it[0] == "r":
                out.append(("r", it[1], it[2] or None))
                continue
            if it[1]:
                out.append(("i", it[1], it[2] or None))
            if it[3]:
                out.append(("d", it[3], None))
        return out


cdef inline Py_ssize_t _width(list it) except -1:
    return it[1] if it[0] == "r" else len(<str>it[1])


cdef tuple _cut(list it, Py_ssize_t k):
    """An item cut after `k` units: (left, right); a replace keeps its deletes right."""
    if it[0] == "r":
        return ["r", k, it[2]], ["r", <Py_ssize_t>it[1] - k, it[2]]
    return ["p", it[1][:k], it[2], 0, it[4]], ["p", it[1][k:], it[2], it[3], it[4]]


cdef list _with(list it, attrs):
    cdef dict merged = dict(it[2])
    merged.update(attrs)
    return [it[0], it[1], merged] + it[3:]


cdef int _push_retain(list items, Py_ssize_t n, attrs) except -1:
    cdef list last
    if n <= 0:
        return 0
    if items:
        last = items[len(items) - 1]
        if last[0] == "r" and _same(last[2], attrs):
            items[len(items) - 1] = ["r", last[1] + n, attrs]
            return 0
    items.append(["r", n, dict(attrs)])
    return 0


cdef int _take(list src, Py_ssize_t *at_item, Py_ssize_t *at_units, list out, Py_ssize_t n,
               attrs) except -1:
    """Move the next `n` units of `src` (from item at_item, at_units units into it) to
    `out`, giving them `attrs` when there are any (items cut only then)."""
    cdef list it
    cdef Py_ssize_t w, left_units
    cdef tuple halves
    cdef bint has_attrs = bool(attrs)
    while n > 0:
        it = src[at_item[0]]
        w = _width(it)
        if w == 0:
            out.append(it)
            at_item[0] += 1
            continue
        if has_attrs and at_units[0]:
            halves = _cut(it, at_units[0])
            out.append(halves[0])
            src[at_item[0]] = halves[1]
            it = halves[1]
            w = _width(it)
            at_units[0] = 0
        left_units = w - at_units[0]
        if left_units > n:
            if has_attrs:
                halves = _cut(it, n)
                src[at_item[0]] = halves[1]
                out.append(_with(<list>halves[0], attrs))
            else:
                at_units[0] += n
            return 0
        out.append(_with(it, attrs) if has_attrs else it)
        at_item[0] += 1
        at_units[0] = 0
        n -= left_units
    return 0


cdef object _with_mark(dict added, marks, sid):
    """`marks` | {sid}, made once per set of marks object (`added` keeps them by identity,
    not equality: equal sets may iterate in other orders, and the attributes' order
    follows theirs)."""
    got = added.get(id(marks))
    if got is None:
        got = added[id(marks)] = (marks, marks | {sid})     # (holds `marks`: its id stays)
    return (<tuple>got)[1]


cdef class _State:
    """Loro's text state while it applies the delta: `done` holds the runs already in their
    new place, `todo` the old runs still to be walked (todo[at:]); `styles` is the document's
    table of mark ops (id -> (key, value, info, Lamport, peer, end)). The methods are C
    calls over typed runs: a quiet replay (only the elements wanted) walks every changed
    atom of a text, often several times per `diff`."""

    cdef bint quiet
    cdef list todo, done, annotations
    cdef Py_ssize_t last_elem, at, entities, events, cursor
    cdef dict styles, starts, known
    cdef _Delta delta, styled

    def __init__(self, before, styles, quiet=False):
        self.quiet = quiet      # only the elements are wanted: no delta is built
        self.todo, self.last_elem = before
        self.done = []
        self.at = 0
        self.styles = styles
        self.entities = 0       # entities in `done`
        self.events = 0         # code points in `done`
        self.cursor = 0         # where the delta's last item ends (loro's event_index)
        self.starts = {}        # mark id -> entity of a start anchor inserted here
        if not quiet:
            self.delta = _Delta()
            self.styled = _Delta()  # the drained marks' retains, composed as they come
            self.annotations = []   # the inserted marks' retains, composed after those
            self.known = {}         # marks -> their attributes

    cdef Py_ssize_t new_elem(self):
        self.last_elem += 1
        return self.last_elem

    cdef dict attributes(self, marks):
        """key -> the winning mark's value (None for an unmark), loro's to_option_map (a
        new dict: callers extend it)."""
        known = self.known.get(marks)
        if known is None:
            known = self.known[marks] = self.winners(marks)
        return dict(known)

    cdef dict winners(self, marks):
        best = {}
        for sid in marks:
            st = self.styles[sid]
            old = best.get(st[0])
            if old is None or (st[3], st[4]) > (old[3], old[4]):
                best[st[0]] = st
        return {k: st[1] for k, st in best.items()}

    cdef list take(self, Py_ssize_t n):
        """The next `n` old entities, cut out of `todo`."""
        cdef _Run run
        out = []
        while n > 0:
            run = self.todo[self.at]
            if run.n > n:
                self.todo[self.at] = run.split(n)
            else:
                self.at += 1
            out.append(run)
            n -= run.n
        return out

    cdef retain(self, Py_ssize_t n):
        """Move the next `n` old entities to `done` as they are."""
        cdef _Run run
        cdef list todo = self.todo, done = self.done
        while n > 0:
            run = todo[self.at]
            if run.n > n:
                todo[self.at] = run.split(n)
            else:
                self.at += 1
            done.append(run)
            self.entities += run.n
            if run.kind == TEXT:
                self.events += run.n
            n -= run.n

    cdef move_cursor(self):
        if self.events > self.cursor:
            self.delta.retain(self.events - self.cursor)
            self.cursor = self.events

    cdef tuple placed_here(self):
        """(marks, element) of an entity inserted here. Its marks are those of the entity
        before and the entity after (none at either end); it joins the element of both
        when they share one, else the element after when that has the same marks (loro's
        B-tree merges an insert into the element at its cursor), else a new one."""
        cdef _Run right = self.todo[self.at] if self.at < len(self.todo) else None
        cdef _Run left
        cdef Py_ssize_t right_elem = right.elem if right is not None else TAIL
        right_marks = right.marks if right is not None else _NO_MARKS
        if not self.done:
            marks = _NO_MARKS
        else:
            left = self.done[len(self.done) - 1]
            if left.elem == right_elem:
                return left.marks, left.elem
            marks = left.marks & right_marks
        return marks, right_elem if marks is right_marks or marks == right_marks else self.new_elem()

    cdef drain(self, Py_ssize_t n):
        """Delete the next `n` old entities. Each drained end anchor takes its mark out of
        the elements before it, scanning backward; the text from where that scan stopped
        up to here is reported with its attributes and the drained keys as None."""
        cdef list taken = self.take(n)
        cdef Py_ssize_t i, s, start = -1, gone = 0
        cdef _Run run
        if self.quiet:
            for i in range(len(taken)):
                run = taken[i]
                if run.kind == END:
                    self.unmark_backward(run.sid, taken, i)
            return
        keys = {self.styles[r.sid][0] for r in taken if (<_Run>r).kind != TEXT}
        for i in range(len(taken)):
            run = taken[i]
            if run.kind == END:
                s = self.unmark_backward(run.sid, taken, i)
                if start < 0 or s < start:
                    start = s
        self.move_cursor()
        if start >= 0 and start < self.entities:
            self.report(start, keys)
        for run in taken:
            if run.kind == TEXT:
                gone += run.n
        self.delta.delete(gone)

    cdef Py_ssize_t unmark_backward(self, sid, list taken, Py_ssize_t i):
        """Loro's remove_style_scanning_backward from the end anchor taken[i]: the mark
        leaves every element back to the first one without it. Returns the entity where
        that element starts (loro adds its length before testing it), or 0 when the mark
        reaches the start of the text."""
        cdef Py_ssize_t n_done = len(self.done), j, k, elem
        cdef Py_ssize_t removed = 0, end_entity = self.entities
        cdef _Run run = None
        cdef list done = self.done
        for k in range(i):
            end_entity += (<_Run>taken[k]).n
        j = n_done + i
        while j >= 0:
            run = done[j] if j < n_done else taken[j - n_done]
            if sid not in run.marks:
                break
            run.marks = run.marks - {sid}
            removed += run.n
            j -= 1
        if j >= 0:
            elem = run.elem
            while j >= 0:
                run = done[j] if j < n_done else taken[j - n_done]
                if run.elem != elem:
                    break
                removed += run.n
                j -= 1
        return end_entity + 1 - removed

    cdef back_to(self, Py_ssize_t start, Py_ssize_t *ent_out, Py_ssize_t *ev_out):
        """The index in `done` of the run holding entity `start` (its entity and event go
        to ent_out, ev_out)."""
        cdef Py_ssize_t j = len(self.done), ent = self.entities, ev = self.events
        cdef _Run run
        while j > 0 and ent > start:
            j -= 1
            run = self.done[j]
            ent -= run.n
            if run.kind == TEXT:
                ev -= run.n
        ent_out[0] = ent
        ev_out[0] = ev
        return j

    cdef report(self, Py_ssize_t start, keys):
        """The retains of a drain: each text run of [start, here) with its attributes, the
        drained keys it lacks as None."""
        cdef Py_ssize_t ent, ev, lo, reported = 0
        cdef Py_ssize_t j = self.back_to(start, &ent, &ev)
        cdef _Run run
        cdef _Delta report = _Delta()
        cdef list done = self.done
        cdef Py_ssize_t k
        for k in range(j, len(done)):
            run = done[k]
            if run.kind == TEXT:
                lo = start - ent if start > ent else 0
                attrs = self.attributes(run.marks)
                for key in keys:
                    attrs.setdefault(key, None)
                report.retain(ev + lo - reported)
                report.retain(run.n - lo, attrs)
                reported = ev + run.n
                ev += run.n
            ent += run.n
        report.chop()
        self.styled.compose(report)

    cdef insert(self, list chunk):
        """Insert a chunk: text (one or more joined elements) or one anchor."""
        cdef tuple first_el = chunk[0], e
        cdef int kind = first_el[0]
        cdef Py_ssize_t n = 0
        cdef _Run run
        placed = self.placed_here()
        marks = placed[0]
        elem = placed[1]
        if self.quiet:
            for e in chunk:
                n += <Py_ssize_t>e[1]
            run = _Run.__new__(_Run)
            run.kind = kind
            run.n = n
            run.text = None
            run.sid = first_el[3]
            run.marks = marks
            run.elem = elem
            self.done.append(run)
            self.entities += n
            if kind == TEXT:
                self.events += n
            elif kind == START:
                self.starts[first_el[3]] = self.entities - 1
            else:
                self.annotate(first_el[3])
            return
        self.move_cursor()
        if kind == TEXT:
            text = "".join([e[2] for e in chunk])
            first, last = chunk[0][6], chunk[-1][6]
            place = None if first is None or last is None else \
                (first[0], first[1], last[2], first[3], first[4], last[5])
            self.delta.insert(text, self.attributes(marks), place)
            self.done.append(_new_run(TEXT, len(text), text, None, marks, elem))
            self.entities += len(text)
            self.events += len(text)
            self.cursor = self.events
            return
        sid = first_el[3]
        if kind == START:
            self.starts[sid] = self.entities
        self.done.append(_new_run(kind, 1, None, sid, marks, elem))
        self.entities += 1
        if kind == END:
            self.annotate(sid)

    cdef annotate(self, sid):
        """An end anchor was inserted: its mark covers the runs from its start anchor to
        here (the elements cut at both ends, as loro's B-tree update cuts them), and each
        text run there is reported with all its attributes."""
        cdef Py_ssize_t start, ent, ev, j, k, right_elem, before_elem = -1
        cdef _Run run, rest
        cdef list done = self.done
        got = self.starts.pop(sid, None)
        start = self.find_start(sid) if got is None else <Py_ssize_t>got
        if start >= self.entities:
            return
        j = self.back_to(start, &ent, &ev)
        if ent < start:
            run = done[j]
            rest = run.split(start - ent)
            if run.kind == TEXT:
                ev += run.n
            j += 1
            done.insert(j, rest)
        if j > 0:
            before_elem = (<_Run>done[j - 1]).elem
        right_elem = (<_Run>self.todo[self.at]).elem if self.at < len(self.todo) else TAIL
        if j > 0 and before_elem == right_elem:
            # one element spans the range: cut in three, its part before the range becomes
            # an element of its own (the part after keeps the name, TAIL going on past the
            # end)
            fresh = self.new_elem()
            k = j - 1
            while k >= 0 and (<_Run>done[k]).elem == right_elem:
                (<_Run>done[k]).elem = fresh
                k -= 1
        renamed = {}
        for k in range(j, len(done)):
            run = done[k]
            if run.elem == right_elem or (j > 0 and run.elem == before_elem):
                got = renamed.get(run.elem)
                if got is None:
                    got = renamed[run.elem] = self.new_elem()
                run.elem = got
        # (runs of one element share their marks object: each gains the mark once)
        added = {}
        if self.quiet:
            for k in range(j, len(done)):
                run = done[k]
                run.marks = _with_mark(added, run.marks, sid)
            return
        annotation = _Delta()
        annotation.retain(ev)
        for k in range(j, len(done)):
            run = done[k]
            run.marks = _with_mark(added, run.marks, sid)
            if run.kind == TEXT:
                annotation.retain(run.n, self.attributes(run.marks))
        annotation.chop()
        self.annotations.append(annotation)

    cdef Elements elements(self):
        """loro's style map elements over the state now."""
        cdef _Run run
        cdef list out = [], last = None
        cdef Py_ssize_t k, last_elem = -1
        for k in range(len(self.done) + len(self.todo) - self.at):
            run = self.done[k] if k < len(self.done) else self.todo[k - len(self.done) + self.at]
            if last is not None and last_elem == run.elem:
                last[0] += run.n
            else:
                last = [run.n, run.marks]
                last_elem = run.elem
                out.append(last)
        if last_elem != TAIL:
            out.append([0, _NO_MARKS])
        return Elements(out)

    cdef Py_ssize_t find_start(self, sid):
        """The entity of the mark's start anchor in the state (its length when absent)."""
        cdef Py_ssize_t ent = 0, k
        cdef _Run run
        for k in range(len(self.done) + len(self.todo) - self.at):
            run = self.done[k] if k < len(self.done) else self.todo[k - len(self.done) + self.at]
            if run.kind == START and run.sid == sid:
                return ent
            ent += run.n
        return ent


def checkout_delta(elements, styles, prior=None, after=None, delta=True):
    """The text delta loro reports for a checkout, as ("r", n, attrs) / ("i", text, attrs)
    / ("d", n) items. `elements` are the text's atoms in document order that are visible
    at either version, and its anchors: (kind, entities, text of a newly visible text,
    mark id of an anchor, visible before, visible now, place of a newly visible text:
    (peer, counter, end counter, buffer, start byte, end byte) in loro's string storage).
    Loro reports the delta when it is not empty, even when it only retains plain text (up
    to an anchor it inserted or drained).

    loro's style map elements come from the state's whole history: `prior` are those the
    last replay of this text left, when the state has not changed since (else they are
    guessed, an `Elements`), and the ones this replay leaves are appended to the list
    `after` (an `Elements`). Without `delta` only those are wanted (None is returned)."""
    cdef _State state = _State(_before_marks(elements, prior), styles, not delta)
    _apply_items(state, elements)
    if after is not None:
        after.append(state.elements())
    if not delta:
        return None
    for annotation in state.annotations:
        state.styled.compose(annotation)
    state.delta.compose(state.styled)
    return state.delta.diff_items()


cdef class Elements:
    """loro's style map elements of a text as its state holds them now, kept up to date
    op by op (local edits, imports, checkouts that drain no end anchor) rather than
    replayed: element k has `lens[k]` entities and the marks `marks[k]` (a frozenset of
    mark ids), in order, the last being the tail element that reaches past the end of the
    text (its entities in the text may be 0). Two neighbours with the same marks stay two
    elements: loro's B-tree never merges them. The lengths are a C array (a lookup walks
    it from a finger, the last element found, so edits cost no Python object but the
    marks of the elements they touch; rich_checkout.pxd declares it for state/richtext.pxi)."""

    def __cinit__(self):
        self.lens = NULL
        self.n = 0
        self.cap = 0
        self.marks = []
        self.fi = 0
        self.fpos = 0

    def __dealloc__(self):
        PyMem_Free(self.lens)

    def __init__(self, list els):
        """From [[entities, marks], ...] (the tail last)."""
        cdef list e
        for e in els:
            self.push(e[0], e[1])

    @staticmethod
    def fresh(Py_ssize_t entities):
        """The elements of a text no mark has annotated yet: one, the tail."""
        return Elements([[entities, _NO_MARKS]])

    @property
    def els(self):
        """[[entities, marks], ...] (for tests and the checker)."""
        return [[self.lens[k], self.marks[k]] for k in range(self.n)]

    cdef int reserve(self, Py_ssize_t more) except -1:
        cdef Py_ssize_t cap
        cdef Py_ssize_t *grown
        if self.n + more <= self.cap:
            return 0
        cap = 2 * self.cap + more + 8
        grown = <Py_ssize_t*>PyMem_Realloc(self.lens, <size_t>cap * sizeof(Py_ssize_t))
        if grown == NULL:
            raise MemoryError()
        self.lens = grown
        self.cap = cap
        return 0

    cdef int push(self, Py_ssize_t n, marks) except -1:
        self.reserve(1)
        self.lens[self.n] = n
        self.n += 1
        self.marks.append(marks)
        return 0

    cdef int put(self, Py_ssize_t i, Py_ssize_t n, marks) except -1:
        """A new element at index i (the finger is left valid only below i)."""
        self.reserve(1)
        memmove(&self.lens[i + 1], &self.lens[i], <size_t>(self.n - i) * sizeof(Py_ssize_t))
        self.lens[i] = n
        self.n += 1
        self.marks.insert(i, marks)
        return 0

    cdef int drop(self, Py_ssize_t i) except -1:
        memmove(&self.lens[i], &self.lens[i + 1], <size_t>(self.n - i - 1) * sizeof(Py_ssize_t))
        self.n -= 1
        del self.marks[i]
        return 0

    cdef Py_ssize_t find(self, Py_ssize_t pos) noexcept:
        """The index of the element holding entity `pos` (the tail past the end); the finger
        is left on it."""
        cdef Py_ssize_t fi = self.fi, fpos = self.fpos, last = self.n - 1
        cdef Py_ssize_t *lens = self.lens
        if fi > last:
            fi = 0
            fpos = 0
        while pos < fpos and fi > 0:
            fi -= 1
            fpos -= lens[fi]
        while fi < last and pos >= fpos + lens[fi]:
            fpos += lens[fi]
            fi += 1
        self.fi = fi
        self.fpos = fpos
        return fi

    cpdef insert(self, Py_ssize_t pos, Py_ssize_t n):
        """`n` entities inserted at `pos` (loro's StyleRangeMap.insert): inside an element
        they extend it; at a boundary they take the marks both neighbours share and join
        the element after when its marks are those, else make an element of their own (at
        the start of the text: no marks)."""
        cdef Py_ssize_t i
        if pos == 0:
            if not self.marks[0]:
                self.lens[0] += n
            else:
                self.put(0, n, _NO_MARKS)
            self.fi = 0
            self.fpos = 0
            return
        i = self.find(pos)
        if pos > self.fpos:
            self.lens[i] += n
            return
        here = <frozenset>self.marks[i]
        marks = (<frozenset>self.marks[i - 1]) & here
        if marks == here:
            self.lens[i] += n
        else:
            self.put(i, n, marks)       # (it starts at the finger)

    cpdef delete(self, Py_ssize_t pos, Py_ssize_t n):
        """Entities [pos, pos + n) removed; an element left empty goes (the tail stays)."""
        cdef Py_ssize_t i = self.find(pos), off = pos - self.fpos, take
        while n > 0:
            take = self.lens[i] - off
            if take > n or i == self.n - 1:
                take = n
            self.lens[i] -= take
            n -= take
            if self.lens[i] == 0 and i != self.n - 1:
                self.drop(i)
            else:
                i += 1
            off = 0

    cpdef annotate(self, Py_ssize_t start, Py_ssize_t end, sid):
        """Mark `sid` added to entities [start, end): the elements are cut at both ends (a
        cut part is an element of its own) and those between take the mark."""
        cdef Py_ssize_t i, pos, n, first
        if end <= start:
            return
        i = self.find(start)
        if start > self.fpos:
            n = start - self.fpos
            self.put(i, n, self.marks[i])
            self.lens[i + 1] -= n
            i += 1
        first = i
        pos = start
        add = frozenset([sid])
        while pos < end:
            n = self.lens[i]
            if pos + n > end or i == self.n - 1:
                # (the part past the range stays the element it was, the tail included)
                self.put(i, end - pos, (<frozenset>self.marks[i]) | add)
                self.lens[i + 1] = n - (end - pos)
                pos = end
            else:
                self.marks[i] = (<frozenset>self.marks[i]) | add
                pos += n
            i += 1
        self.fi = first
        self.fpos = start

    def total(self):
        cdef Py_ssize_t k, t = 0
        for k in range(self.n):
            t += self.lens[k]
        return t

    def prior(self):
        """[entities, element] as `_prior_marks` takes them (TAIL the last)."""
        cdef Py_ssize_t k, last = self.n - 1
        return [[self.lens[k], TAIL if k == last else k + 1] for k in range(self.n)]
