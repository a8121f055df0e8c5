"""Shallow documents kept in sync: peers edit texts, lists, maps and trees, exchange Updates
under delivery faults (duplicated, out of order, exported from stale versions) and now and
then replace themselves with a document loaded from a ShallowSnapshot at a random version.
Each session runs in loro 1.17.1 and in loro_c side by side, one random source deciding
both, and every step must agree: values, versions, shallow roots, and whether an import or
an export is refused (loro's ImportUpdatesThatDependsOnOutdatedVersion is loro_c's
OutdatedVersionError, same message; a refusal leaves the document as it was)."""
import random

import loro
import pytest

import loro_c
from loro_c.errors import LoroError, OutdatedVersionError
from test_hostile import read_uleb
from test_tree_node_order import _edit as tree_edit

OUTDATED = ("Import Failed: The dependencies of the importing updates are not included in "
            "the shallow history of the doc.")


def _ids(f):
    return sorted((i.peer, i.counter) for i in loro_c.Frontiers.decode(f.encode()))


def _vv(v):
    """The entries a version vector encodes, zero ones included (loro lists a root op at
    counter 0 as {peer: 0}), in peer order."""
    b = v.encode()
    n, pos = read_uleb(b, 0)
    out = []
    for _ in range(n):
        p, pos = read_uleb(b, pos)
        z, pos = read_uleb(b, pos)
        out.append((p, (z >> 1) ^ -(z & 1)))
    assert pos == len(b)
    return sorted(out)


def _view(doc):
    tree = doc.get_tree("tr")
    nodes = sorted((n.peer, n.counter) for n in tree.nodes() if not tree.is_node_deleted(n))
    return (doc.get_deep_value(), _vv(doc.oplog_vv), _ids(doc.oplog_frontiers),
            _ids(doc.state_frontiers), doc.is_shallow(), _vv(doc.shallow_since_vv),
            _ids(doc.shallow_since_frontiers), nodes)


def _edit(rng, doc):
    """A few random local ops on the text, list, map and tree, then a commit."""
    for _ in range(rng.randrange(1, 4)):
        k = rng.randrange(8)
        t = doc.get_text("t")
        lst = doc.get_list("l")
        if k == 0 or (k == 1 and not len(t.to_string())):
            t.insert(rng.randint(0, len(t.to_string())), rng.choice(["ab", "x", "hey"]))
        elif k == 1:
            n = len(t.to_string())
            p = rng.randrange(n)
            t.delete(p, min(n - p, rng.randint(1, 3)))
        elif k == 2:
            if len(lst) and rng.random() < 0.3:
                lst.delete(rng.randrange(len(lst)), 1)
            else:
                lst.insert(rng.randint(0, len(lst)), rng.randrange(100))
        elif k == 3:
            doc.get_map("m").insert(rng.choice("abc"), rng.randrange(100))
        elif k == 4:
            doc.get_map("m").delete(rng.choice("abc"))
        else:
            tree_edit(rng, doc, "tr")
    doc.commit()


def _outcome(fn):
    """('ok', value) or ('err', message). loro raises its outdated-import error as a bare
    BaseException; loro_c must raise from its own hierarchy (OutdatedVersionError for that
    one), anything else from it fails the test."""
    try:
        return ("ok", fn())
    except LoroError as e:
        if str(e) == OUTDATED:
            assert isinstance(e, OutdatedVersionError)
        return ("err", str(e))
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit, AssertionError)):
            raise
        if not type(e).__module__.startswith("builtins") or type(e) is BaseException:
            return ("err", str(e))      # loro's
        raise


class _Side:
    """One library's peers and the blobs still in flight to each of them."""

    def __init__(self, lib):
        self.lib = lib
        self.docs = []
        for p in (3, 11, 2**33 + 5):
            d = lib.LoroDoc()
            d.peer_id = p
            self.docs.append(d)
        self.inbox = [[] for _ in self.docs]
        self.seen_vv = [[] for _ in self.docs]     # versions each peer had (stale exports)
        self.next_peer = 700


def _step(rng, side, plan):
    """Carry out one planned step on `side`; returns what is compared."""
    lib = side.lib
    kind, i = plan[0], plan[1]
    doc = side.docs[i]
    if kind == "edit":
        _edit(random.Random(plan[2]), doc)
        return ("edit", _view(doc))
    if kind == "send":
        j, which, copies = plan[2], plan[3], plan[4]
        src = side.docs[j]
        if which == "now":
            vv = doc.oplog_vv
        elif which == "empty":
            vv = lib.VersionVector()
        else:
            seen = side.seen_vv[i]
            vv = lib.VersionVector.decode(seen[which % len(seen)]) if seen else lib.VersionVector()
        out = _outcome(lambda: src.export(lib.ExportMode.Updates(vv)))
        if out[0] == "ok":
            side.inbox[i].extend([out[1]] * copies)
        return ("send", out[0], out[1] if out[0] == "err" else None)
    if kind == "deliver":
        box = side.inbox[i]
        if not box:
            return ("deliver", None)
        blob = box.pop(plan[2] % len(box))
        before = _view(doc)
        side.seen_vv[i].append(doc.oplog_vv.encode())
        out = _outcome(lambda: doc.import_(blob))
        return ("deliver", out[0], out[1] if out[0] == "err" else None, before, _view(doc))
    if kind == "sync":
        # every peer pulls from every other, in a random order: shared history from which
        # later shallow roots hang
        outs = []
        order = [(a, b) for a in range(len(side.docs)) for b in range(len(side.docs)) if a != b]
        random.Random(plan[2]).shuffle(order)
        for a, b in order:
            dst, src = side.docs[a], side.docs[b]
            out = _outcome(lambda: dst.import_(src.export(lib.ExportMode.Updates(dst.oplog_vv))))
            outs.append((a, b, out[0], out[1] if out[0] == "err" else None, _view(dst)))
        return ("sync", outs)
    if kind == "batch":
        box = side.inbox[i]
        side.inbox[i] = []
        random.Random(plan[2]).shuffle(box)
        before = _view(doc)
        side.seen_vv[i].append(doc.oplog_vv.encode())
        out = _outcome(lambda: doc.import_batch(box))
        return ("batch", len(box), out[0], out[1] if out[0] == "err" else None, before,
                _view(doc))
    if kind == "shallow":
        if not _vv(doc.oplog_vv):
            # (loro quirk left alone: a document loaded from an empty one's shallow snapshot
            # leaves its roots without ops out of its own later shallow snapshots)
            return ("shallow", None)
        fr = _requested(lib, doc, plan)
        if len(plan) > 4 and plan[4] is not None:
            # the root loro took for the request (see _session)
            fr = lib.Frontiers.from_ids([lib.ID(p, c) for p, c in plan[4]])
        out = _outcome(lambda: doc.export(lib.ExportMode.ShallowSnapshot(fr)))
        if out[0] == "err":
            return ("shallow", out)
        f = lib.LoroDoc()
        f.peer_id = side.next_peer
        side.next_peer += 1
        f.import_(out[1])
        side.docs[i] = f
        return ("shallow", _view(f))
    raise AssertionError(kind)


def _requested(lib, doc, plan):
    """The frontiers a shallow step asks for: the document's own, or one random op."""
    at, pick = plan[2], plan[3]
    if at:
        ends = [(p, c) for p, c in _vv(doc.oplog_vv) if c > 0]
        if ends:
            p, last = ends[pick % len(ends)]
            return lib.Frontiers.from_ids([lib.ID(p, (pick // 7) % last)])
    return doc.oplog_frontiers


def _root(side, plan):
    """The shallow root a library takes for a shallow step's request (None when it
    refuses). The session checks both take the same one, then both export at loro's, so
    that a different root is reported once and the histories stay comparable."""
    lib = side.lib
    doc = side.docs[plan[1]]
    if not _vv(doc.oplog_vv):
        return None
    try:
        blob = doc.export(lib.ExportMode.ShallowSnapshot(_requested(lib, doc, plan)))
    except BaseException as e:
        if isinstance(e, Exception) or type(e) is BaseException:
            return None
        raise
    f = lib.LoroDoc()
    f.import_(blob)
    return _ids(f.shallow_since_frontiers)


def _plan(rng, n_docs):
    r = rng.random()
    i = rng.randrange(n_docs)
    if r < 0.4:
        return ("edit", i, rng.randrange(1 << 30))
    if r < 0.45:
        return ("sync", i, rng.randrange(1 << 20))
    if r < 0.6:
        j = rng.randrange(n_docs)
        which = rng.choice(["now", "now", "empty", rng.randrange(1 << 10)])
        return ("send", i, j, which, rng.choice([1, 1, 1, 2]))
    if r < 0.8:
        return ("deliver", i, rng.randrange(1 << 10))
    if r < 0.85:
        return ("batch", i, rng.randrange(1 << 20))
    return ("shallow", i, rng.random() < 0.5, rng.randrange(1 << 12))


def _session(seed, steps):
    rng = random.Random(seed)
    theirs, mine = _Side(loro), _Side(loro_c)
    for side in (theirs, mine):
        # a shared start, so that later roots can lie in every peer's past
        _edit(random.Random(seed), side.docs[0])
        for d in side.docs[1:]:
            d.import_(side.docs[0].export(side.lib.ExportMode.Updates(side.lib.VersionVector())))
    for step in range(steps):
        plan = _plan(rng, 3)
        if plan[0] == "shallow":
            plan += (_root(theirs, plan),)
            assert _root(mine, plan) == plan[4], (seed, step, plan)
        want = _step(rng, theirs, plan)
        got = _step(rng, mine, plan)
        assert got == want, (seed, step, plan)
    for a, b in zip(theirs.docs, mine.docs):
        assert _view(b) == _view(a)


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("SHALLOW_SYNC_SEEDS", 400))))
def test_random_shallow_sync_sessions(seed):
    _session(seed, 40)


def _both(fn):
    """fn(lib) for loro and loro_c: (loro's, loro_c's)."""
    return fn(loro), fn(loro_c)


def _shallow_of(lib, doc, frontiers=None):
    f = lib.LoroDoc()
    f.peer_id = 99
    f.import_(doc.export(lib.ExportMode.ShallowSnapshot(
        doc.oplog_frontiers if frontiers is None else frontiers)))
    return f


def _other_peer(lib, peer=3, text="q"):
    """A peer whose history shares nothing with the others: its first change has no deps."""
    g = lib.LoroDoc()
    g.peer_id = peer
    g.get_text("x").insert(0, text)
    g.commit()
    return g


def _ab_and_its_shallow(lib):
    """Peer 1's document with "ab", and a shallow document rooted there."""
    a = lib.LoroDoc()
    a.peer_id = 1
    a.get_text("t").insert(0, "ab")
    a.commit()
    return a, _shallow_of(lib, a)


def _root_then_two_changes(lib):
    """The shallow document f of _ab_and_its_shallow, peer 2's document b that imported
    "ab" and prepended "1" then "2" in two changes, and b's updates up to the first."""
    a, f = _ab_and_its_shallow(lib)
    b = lib.LoroDoc()
    b.peer_id = 2
    b.import_(a.export(lib.ExportMode.Updates(lib.VersionVector())))
    b.get_text("t").insert(0, "1")
    b.commit()
    first = b.export(lib.ExportMode.Updates(lib.VersionVector()))     # up to 0@2
    b.get_text("t").insert(0, "2")
    b.commit()
    return f, b, first


def _root_then_mixed_history(lib):
    """A shallow document f rooted at peer 1's "ab", and h holding peer 1's edit after the
    root plus another peer's history that shares nothing with it (outdated for f)."""
    a, f = _ab_and_its_shallow(lib)
    a.get_text("t").insert(1, "cd")
    a.commit()
    h = lib.LoroDoc()
    h.import_(a.export(lib.ExportMode.Updates(lib.VersionVector())))
    h.import_(_other_peer(lib, 3).export(lib.ExportMode.Updates(lib.VersionVector())))
    return f, h


def test_a_root_at_counter_zero_keeps_the_document_shallow():
    # loro lists the root op 0@11 as shallow_since_vv {11: 0}; the document is shallow and
    # refuses updates that do not descend from its root (loro_c lost the zero entry, took
    # the document for a whole history and accepted them)
    def run(lib):
        d = lib.LoroDoc()
        d.peer_id = 11
        d.get_text("t").insert(0, "a")
        d.commit()
        f = _shallow_of(lib, d)
        before = _view(f)
        out = _outcome(lambda: f.import_(_other_peer(lib).export(lib.ExportMode.Updates(lib.VersionVector()))))
        assert _view(f) == before
        # a later shallow export keeps the zero entry
        g = _shallow_of(lib, f)
        return before, out, _view(g)
    want, got = _both(run)
    assert got == want
    assert want[0][5] == [(11, 0)] and want[1] == ("err", OUTDATED)


def test_an_import_of_outdated_and_waiting_changes_is_refused_whole():
    # 0@3 depends on nothing (before the root), 1@2 waits for 0@2: nothing of the blob can
    # join the history, so loro refuses it whole and keeps nothing pending (loro_c dropped
    # 0@3 but kept 1@2 waiting, and applied it once 0@2 came)
    def run(lib):
        f, b, first = _root_then_two_changes(lib)
        b.import_(_other_peer(lib, 3).export(lib.ExportMode.Updates(lib.VersionVector())))
        # 0@3 and 1@2, not 0@2
        blob = b.export(lib.ExportMode.Updates(lib.VersionVector.decode(b"\x02\x01\x04\x02\x02")))
        before = _view(f)
        out = _outcome(lambda: f.import_(blob))
        after = _view(f)
        out2 = _outcome(lambda: f.import_(first))
        return before, out, after, out2[0], _view(f)
    want, got = _both(run)
    assert got == want
    assert want[1] == ("err", OUTDATED) and want[2] == want[0]
    assert want[4][0]["t"] == "1ab"


def test_an_import_with_a_change_that_applies_keeps_it_and_reports_the_outdated_rest():
    # loro applies what joins the history, drops the outdated changes, then raises
    def run(lib):
        f, h = _root_then_mixed_history(lib)
        out = _outcome(lambda: f.import_(h.export(lib.ExportMode.Updates(f.oplog_vv))))
        return out, _view(f)
    want, got = _both(run)
    assert got == want
    assert want[0] == ("err", OUTDATED) and want[1][0]["t"] == "acdb"


def test_a_detached_shallow_document_refuses_any_outdated_import_whole():
    def run(lib):
        f, h = _root_then_mixed_history(lib)
        f.detach()
        before = _view(f)
        out = _outcome(lambda: f.import_(h.export(lib.ExportMode.Updates(f.oplog_vv))))
        after = _view(f)
        f.checkout_to_latest()
        return before, out, after, _view(f)
    want, got = _both(run)
    assert got == want
    assert want[1] == ("err", OUTDATED) and want[2] == want[0]


def test_a_refused_import_keeps_pending_changes_and_the_open_transaction():
    def run(lib):
        f, b, _ = _root_then_two_changes(lib)
        # the second change waits for the first
        st = f.import_(b.export(lib.ExportMode.Updates(
            lib.VersionVector.decode(b"\x02\x01\x04\x02\x02"))))     # {1: 2, 2: 1}
        f.get_text("t").insert(0, "open")      # an open transaction
        out = _outcome(lambda: f.import_(_other_peer(lib).export(lib.ExportMode.Updates(lib.VersionVector()))))
        mid = _view(f)
        f.import_(b.export(lib.ExportMode.Updates(lib.VersionVector())))
        return st.pending is not None, out, mid, _view(f)
    want, got = _both(run)
    assert got == want
    assert want[0] and want[1] == ("err", OUTDATED)


def test_a_change_extending_the_roots_own_change_is_judged_from_its_cut():
    # the root's own change, sent again longer: its deps (none) are before the root, but
    # loro cuts the part the document has off first, and the rest depends on the root
    def run(lib):
        a = lib.LoroDoc()
        a.peer_id = 3
        t = a.get_text("t")
        t.insert(0, "ab")
        a.commit()
        f = _shallow_of(lib, a, lib.Frontiers.from_ids([lib.ID(3, 1)]))
        t.insert(2, "cd")
        a.commit()      # merged into one change 0..4 with no deps
        out = _outcome(lambda: f.import_(a.export(lib.ExportMode.Updates(lib.VersionVector()))))
        return out[0], _view(f)
    want, got = _both(run)
    assert got == want
    assert want[0] == "ok" and want[1][0]["t"] == "abcd"


def test_waiting_changes_before_the_root_show_no_roots():
    # an import where every change waits shows the roots the changes touch, but loro leaves
    # out those whose deps it takes for ones before a shallow document's root
    def run(lib):
        a = lib.LoroDoc()
        a.peer_id = 1
        a.get_text("t").insert(0, "ab")
        a.commit()
        b = lib.LoroDoc()
        b.peer_id = 2
        b.get_text("u").insert(0, "x")
        b.commit()
        b.import_(a.export(lib.ExportMode.Updates(lib.VersionVector())))
        b.get_map("m").insert("k", 1)       # deps: 1@1 (the root) and 0@2 (unknown)
        b.commit()
        f = _shallow_of(lib, a)
        c = lib.LoroDoc()
        c.peer_id = 4
        c.import_(a.export(lib.ExportMode.Updates(lib.VersionVector())))
        c.get_list("l").insert(0, 1)        # deps: 1@1 exactly
        c.commit()
        c.import_(b.export(lib.ExportMode.Updates(lib.VersionVector())))
        c.get_list("l2").insert(0, 1)       # deps: 0@4 and 2@2, both unknown
        c.commit()
        st1 = f.import_(b.export(lib.ExportMode.Updates(
            lib.VersionVector.decode(b"\x02\x01\x04\x02\x02"))))     # from {1: 2, 2: 1}
        v1 = _view(f)
        st2 = f.import_(c.export(lib.ExportMode.Updates(
            lib.VersionVector.decode(b"\x03\x01\x04\x02\x04\x04\x02"))))  # {1: 2, 2: 2, 4: 1}
        return st1.pending is not None, v1, st2.pending is not None, _view(f)
    want, got = _both(run)
    assert got == want
    assert "m" not in want[1][0] and "l2" in want[3][0]


def test_a_shallow_export_at_uncommitted_ops_commits_them_first():
    def run(lib):
        a = lib.LoroDoc()
        a.peer_id = 3
        a.get_text("t").insert(0, "ab")
        out = _outcome(lambda: a.export(lib.ExportMode.ShallowSnapshot(
            lib.Frontiers.from_ids([lib.ID(3, 1)]))))
        f = lib.LoroDoc()
        f.import_(out[1])
        return out[0], _view(a), _view(f)
    want, got = _both(run)
    assert got == want
    assert want[0] == "ok"


def _long_history(lib, kinds, n_after, solo, seed=1):
    """20 commits of the given kinds, then `n_after` ops after that root: one peer's
    (`solo`) or two peers', partly concurrent (synced now and then). Returns (doc, root
    frontiers)."""
    rng = random.Random(seed)
    a = lib.LoroDoc()
    a.peer_id = 1
    for k in range(20):
        if "t" in kinds:
            a.get_text("t").insert(0, "ab")
        if "l" in kinds:
            a.get_list("l").insert(0, k)
        if "m" in kinds:
            a.get_map("m").insert("k%d" % (k % 3), k)
        if "r" in kinds:
            a.get_tree("tr").create()
        a.commit()
    root = a.oplog_frontiers
    b = lib.LoroDoc()
    b.peer_id = 2
    b.import_(a.export(lib.ExportMode.Snapshot()))
    n = 0
    while n < n_after:
        d = a if solo or rng.random() < 0.5 else b
        k = rng.choice(kinds)
        if k == "t":
            t = d.get_text("t")
            if rng.random() < 0.3 and len(t.to_string()):
                t.delete(rng.randrange(len(t.to_string())), 1)
            else:
                t.insert(rng.randint(0, len(t.to_string())), "xy")
        elif k == "l":
            d.get_list("l").insert(0, n)
        elif k == "m":
            d.get_map("m").insert(rng.choice("abz"), n)
        else:
            tree = d.get_tree("tr")
            tree.get_meta(tree.create()).insert("n", n) if rng.random() < 0.2 else tree.create()
        n += 1
        d.commit()
        if rng.random() < 0.2:
            a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
            b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
    a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
    return a, root


def _sections(blob):
    """The oplog, state and root state sections of a snapshot blob."""
    body = blob[22:]
    out = []
    pos = 0
    for _ in range(2):
        n = int.from_bytes(body[pos:pos + 4], "little")
        out.append(body[pos + 4:pos + 4 + n])
        pos += 4 + n
    out.append(body[pos:])
    return out


@pytest.mark.parametrize("kinds,n_after,solo", [
    ("t", 300, True), ("l", 300, True), ("tl", 260, True), ("tl", 120, True), ("tl", 300, False),
    ("tlmr", 300, False), ("r", 600, True), ("r", 400, False), ("m", 280, False)])
def test_shallow_snapshots_past_256_ops_after_the_root(kinds, n_after, solo):
    # past 256 ops after the root loro writes the latest state as well (the entries that
    # differ from the root's); loro_c wrote none (its importer replays). Either library
    # loads either blob to loro's document, and the document goes on syncing as loro's
    docs = {lib.__name__: _long_history(lib, kinds, n_after, solo) for lib in (loro, loro_c)}
    blobs = {name: d.export(lib.ExportMode.ShallowSnapshot(root))
             for (name, (d, root)), lib in zip(docs.items(), (loro, loro_c))}
    # the latest state section lists loro's containers; byte for byte loro's where the two
    # libraries' full snapshots of the history agree (left alone: some histories' state
    # entries, and other sections, differ from loro's in their bytes, not in what they hold)
    from loro_c import _codec
    theirs, mine = (_codec._state_section_entries(blobs[k]) for k in ("loro", "loro_c"))
    assert [k for k, v in mine] == [k for k, v in theirs]
    if (_codec._state_section_entries(docs["loro"][0].export(loro.ExportMode.Snapshot()))
            == _codec._state_section_entries(docs["loro_c"][0].export(
                loro_c.ExportMode.Snapshot()))):
        assert _sections(blobs["loro_c"])[1] == _sections(blobs["loro"])[1]
    want = None
    for src, blob in blobs.items():
        for lib in (loro, loro_c):
            f = lib.LoroDoc()
            f.peer_id = 9
            f.import_(blob)
            seen = [_view(f)]
            f.get_text("t").insert(0, "Q")
            f.get_list("l").insert(0, "w")
            f.commit()
            seen.append(_view(f))
            g = lib.LoroDoc()
            g.import_(f.export(lib.ExportMode.Snapshot()))
            seen.append(_view(g))
            h = lib.LoroDoc()
            h.import_(f.export(lib.ExportMode.ShallowSnapshot(f.oplog_frontiers)))
            seen.append(_view(h))
            # at its own root (its root state section kept, the latest state added)
            h = lib.LoroDoc()
            h.import_(f.export(lib.ExportMode.ShallowSnapshot(f.shallow_since_frontiers)))
            seen.append(_view(h))
            # the full peer's later edits reach the shallow document
            full = docs[lib.__name__][0] if src == lib.__name__ else None
            if full is not None:
                full.get_text("t").insert(0, "late")
                full.commit()
                f.import_(full.export(lib.ExportMode.Updates(f.oplog_vv)))
                seen.append(_view(f))
            if want is None:
                want = seen
            assert seen[:5] == want[:5], (src, lib.__name__)
            if len(seen) > 5 and len(want) > 5:
                assert seen[5] == want[5], (src, lib.__name__)


@pytest.mark.parametrize("order", [0, 1])
def test_a_batch_drops_a_blob_with_outdated_changes_whole(order):
    """loro imports a batch's blobs into the document detached, largest first: a blob with
    a change depending on the trimmed history is refused whole (its other changes keep
    nothing pending), the other blobs apply, then the batch raises. shallowsync z15."""
    def run(lib):
        a, f = _ab_and_its_shallow(lib)
        a.get_text("t").insert(1, "cd")
        a.commit()
        g = _other_peer(lib, 3)
        g.import_(a.export(lib.ExportMode.Updates(lib.VersionVector())))
        g.get_text("t").insert(0, "G")
        g.commit()
        ba = a.export(lib.ExportMode.Updates(f.oplog_vv))
        blobs = [ba, g.export(lib.ExportMode.Updates(lib.VersionVector()))]
        if order:
            blobs.reverse()
        outcome = _outcome(lambda: f.import_batch(blobs))[0]
        later = f.import_batch([ba, ba])        # (its status lists every pending change)
        return (outcome, f.get_deep_value(), _vv(f.oplog_vv), _ids(f.oplog_frontiers),
                later.pending is None)
    theirs, ours = _both(run)
    assert ours == theirs
    assert theirs[0] == "err" and theirs[4]
