"""ShallowSnapshot and StateOnly at the latest version (a server compacting a document),
and the containers their root states list at earlier roots.

The root is then the document's own state: loro_c writes its state section's entries as
the root state instead of replaying the history into a fork at the root. Checked here:
the blob is the one the fork gives (the document detached at the same version takes that
path), its root state lists loro's containers, and either library loads it to loro's
document, which goes on syncing. Documents with texts, lists, maps, trees, movable lists,
counters and nested containers, some deleted, in states a server reaches: after imports,
after a snapshot load, with edits pending in the open transaction."""
import random

import loro
import pytest

import loro_c
from loro_c import _codec
from test_shallow_sync import _edit as sync_edit, _view
from test_tree_node_order import _edit as tree_edit


def _edit(rng, doc, lib):
    """Random local ops, then a commit: test_shallow_sync's on the text, list, map and tree
    half the time, else on nested containers, a movable list and a counter."""
    if rng.random() < 0.5:
        sync_edit(rng, doc)
        return
    for _ in range(rng.randrange(1, 5)):
        k = rng.randrange(5)
        lst = doc.get_list("l")
        ml = doc.get_movable_list("ml")
        if k == 0:
            lst.insert_container(rng.randint(0, len(lst)), lib.LoroMap()).insert("x", 1)
        elif k == 1:
            child = doc.get_map("m").insert_container(rng.choice("abc"), lib.LoroText())
            child.insert(0, "nested")
        elif k == 2:
            if len(ml) > 1 and rng.random() < 0.4:
                ml.mov(rng.randrange(len(ml)), rng.randrange(len(ml)))
            elif len(ml) and rng.random() < 0.3:
                ml.set(rng.randrange(len(ml)), rng.randrange(100))
            else:
                ml.insert(rng.randint(0, len(ml)), rng.randrange(100))
        elif k == 3:
            doc.get_counter("c").increment(rng.choice([1, 2.5, -1]))
        else:
            tree_edit(rng, doc, "tr")
    doc.commit()


def _server_doc(lib, seed, loaded=None):
    """A document as a server holds it: two clients' concurrent edits imported, and (by
    seed) loaded from a snapshot first (appended to `loaded` when given) or with an edit
    left in the open transaction."""
    rng = random.Random(seed)
    docs = []
    for p in (1, 2):
        d = lib.LoroDoc()
        d.peer_id = p
        docs.append(d)
    for _ in range(rng.randrange(3, 12)):
        a = rng.randrange(2)
        _edit(rng, docs[a], lib)
        if rng.random() < 0.4:
            docs[1 - a].import_(docs[a].export(lib.ExportMode.Updates(docs[1 - a].oplog_vv)))
    server = lib.LoroDoc()
    server.peer_id = 7
    if seed % 3 == 0:
        server.import_(docs[0].export(lib.ExportMode.Snapshot()))
        if loaded is not None:
            loaded.append(server.export(lib.ExportMode.Snapshot()))
        server.import_(docs[1].export(lib.ExportMode.Updates(server.oplog_vv)))
    else:
        for d in docs:
            server.import_(d.export(lib.ExportMode.Updates(server.oplog_vv)))
    if seed % 3 == 1:
        server.get_text("t").insert(0, "open")      # committed by the export
    return server


def _modes(lib, doc):
    return [("shallow", lib.ExportMode.ShallowSnapshot(doc.oplog_frontiers)),
            ("state_only", lib.ExportMode.StateOnly(doc.oplog_frontiers)),
            ("state_only_none", lib.ExportMode.StateOnly(None))]


@pytest.mark.parametrize("seed", range(40))
def test_a_shallow_snapshot_at_the_head_is_the_forks(seed):
    loaded = []
    doc = _server_doc(loro_c, seed, loaded)
    doc.commit()
    # a container unchanged since a snapshot load keeps its loaded entry, as loro's store
    # keeps it (state/snapshot.pxi seed_loaded_entries); the fork encodes it afresh, which
    # can number a map's peers otherwise (seed 12: loro_c's map entry lists its peers in
    # the order the exporting document registered them)
    at_load = dict(_codec._state_section_entries(loaded[0], 1)) if loaded else {}
    for name, mode in _modes(loro_c, doc):
        fast = doc.export(mode)
        doc.detach()            # (a detached document takes the fork at the root)
        forked = doc.export(mode)
        doc.attach()
        got = _codec._state_section_entries(fast, 2)
        want = _codec._state_section_entries(forked, 2)
        assert [k for k, _ in got] == [k for k, _ in want], name
        for (k, v), (_, w) in zip(got, want):
            assert v == w or v == at_load.get(k), (name, k)
        if got == want:
            assert fast == forked, name
    doc._check_invariants()


@pytest.mark.parametrize("seed", range(40))
def test_a_shallow_snapshot_at_the_head_loads_as_loros(seed):
    docs = {lib: _server_doc(lib, seed) for lib in (loro, loro_c)}
    for k in range(3):
        name = ("shallow", "state_only", "state_only_none")[k]
        blobs = {lib: d.export(dict(_modes(lib, d))[name]) for lib, d in docs.items()}
        # the root state lists loro's containers (alive ones: loro leaves a dead child
        # out, which a full snapshot lists)
        assert [key for key, _ in _codec._state_section_entries(blobs[loro_c], 2)] == \
            [key for key, _ in _codec._state_section_entries(blobs[loro], 2)], name
        want = None
        for src in (loro, loro_c):
            for lib in (loro, loro_c):
                f = lib.LoroDoc()
                f.peer_id = 9
                f.import_(blobs[src])
                seen = [_view(f)]
                # the loaded document goes on: a local edit, then the server's next edits
                f.get_text("t").insert(0, "Q")
                f.commit()
                f.import_(docs[lib].export(lib.ExportMode.Updates(f.oplog_vv)))
                seen.append(_view(f))
                if want is None:
                    want = seen
                assert seen == want, (src.__name__, lib.__name__, name)
        for lib, d in docs.items():
            _edit(random.Random(seed * 7 + k), d, lib)
    docs[loro_c]._check_invariants()


def _root_listings(lib, seed):
    d = _server_doc(lib, seed)
    d.commit()
    out = []
    vv = d.oplog_vv
    roots = [d.oplog_frontiers] + [lib.Frontiers.from_id(lib.ID(p, vv.get_last(p) // 2))
                                   for p in (1, 2) if (vv.get_last(p) or 0) > 0]
    for fr in roots:
        for mode in (lib.ExportMode.ShallowSnapshot(fr), lib.ExportMode.StateOnly(fr)):
            out.append([key for key, _ in _codec._state_section_entries(d.export(mode), 2)])
    return out


@pytest.mark.parametrize("seed", range(60))
def test_root_states_at_earlier_roots_list_loros_containers(seed):
    # (the fork at the root: ShallowSnapshot lists the containers alive there; StateOnly
    # also those created after the root, empty, as loro's store holds them then)
    assert _root_listings(loro_c, seed) == _root_listings(loro, seed)


def test_the_export_after_a_snapshot_load_reads_the_loaded_state():
    # a document loaded from a snapshot and not touched: its state is still encoded
    src = _server_doc(loro_c, 5)
    src.commit()
    blob = src.export(loro_c.ExportMode.Snapshot())
    a = loro_c.LoroDoc()
    a.import_(blob)
    got = a.export(loro_c.ExportMode.ShallowSnapshot(a.oplog_frontiers))
    b = loro_c.LoroDoc()
    b.import_(blob)
    b.get_deep_value()
    b.detach()
    assert got == b.export(loro_c.ExportMode.ShallowSnapshot(b.oplog_frontiers))
    a._check_invariants()


@pytest.mark.parametrize("switch", [None, 1e-6])
def test_exports_at_the_head_while_another_thread_edits(switch):
    # the head read when the root is chosen may have moved on when the export takes the
    # lock: that export takes the fork at the root (no error, no torn blob). With threads
    # switching every microsecond, the other thread opens a transaction between the
    # export's commit and its reading of the latest heads (they are read together now:
    # the root's descent looked up an op of no change)
    import sys
    import threading
    import time
    doc = _server_doc(loro_c, 4)
    doc.commit()
    stop = threading.Event()

    def edit():
        rng = random.Random(1)
        while not stop.is_set():
            doc.get_text("t").insert(0, rng.choice("ab"))
            if switch:
                time.sleep(0.0001)
            doc.commit()

    old = sys.getswitchinterval()
    if switch:
        sys.setswitchinterval(switch)
    t = threading.Thread(target=edit)
    t.start()
    blobs = []
    try:
        for _ in range(60 if switch is None else 3000):
            blobs.append(doc.export(loro_c.ExportMode.ShallowSnapshot(doc.oplog_frontiers)))
    finally:
        stop.set()
        t.join()
        sys.setswitchinterval(old)
    blobs = blobs[::50] if switch else blobs
    for blob in blobs:
        views = []
        for lib in (loro, loro_c):
            f = lib.LoroDoc()
            f.import_(blob)
            views.append(f.get_deep_value())
        assert views[0] == views[1]
    doc._check_invariants()


def _typed(lib, commits, how):
    d = lib.LoroDoc()
    d.peer_id = 1
    # (texts only: a map's state lists its keys in loro's hash map order, which loro_c's
    # encoder does not follow, so a snapshot with one is not loro's byte for byte)
    for i in range(commits):
        d.get_text("t").insert(0, "ab")
        d.get_text("u").insert(0, str(i))
        d.commit()
    if how in ("loaded", "loaded + edit"):
        e = lib.LoroDoc()
        e.import_(d.export(lib.ExportMode.Snapshot()))
        e.peer_id = 1       # (a loaded document's peer is random)
        d = e
    if how == "loaded + edit":
        d.get_text("t").insert(0, "z")
        d.commit()
    return d


@pytest.mark.parametrize("commits", [1, 2, 5])
@pytest.mark.parametrize("how", ["typed", "loaded", "loaded + edit"])
@pytest.mark.parametrize("none", [False, True])
def test_state_only_at_a_single_head_is_loros_byte_for_byte(commits, how, none):
    # its root is the requested version: no entry of the state there differs from the
    # root's, and loro writes that empty store as no bytes (loro_c wrote "E", the marker
    # of a state to replay to, one byte more)
    blobs = [d.export(lib.ExportMode.StateOnly(None if none else d.oplog_frontiers))
             for lib, d in ((lib, _typed(lib, commits, how)) for lib in (loro, loro_c))]
    assert blobs[1] == blobs[0]
    assert _codec._state_section_entries(blobs[1], 1) == []


def _two_heads(lib):
    a = lib.LoroDoc()
    a.peer_id = 1
    b = lib.LoroDoc()
    b.peer_id = 2
    a.get_text("t").insert(0, "ab")
    a.commit()
    b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
    b.get_text("t").insert(0, "x")
    b.get_map("m").insert("k", 1)
    b.commit()
    a.get_text("t").insert(2, "y")
    a.commit()
    a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
    return a


def test_state_only_at_two_heads_writes_the_latest_state_as_loro():
    # the root is the version before both heads: the state section holds the latest
    # state's entries that differ from the root's, as loro's (loro_c wrote "E" and left
    # the importer to replay; the version vector's peer order still differs)
    blobs = [d.export(lib.ExportMode.StateOnly(d.oplog_frontiers))
             for lib, d in ((lib, _two_heads(lib)) for lib in (loro, loro_c))]
    for section in (1, 2):
        assert (_codec._state_section_entries(blobs[1], section)
                == _codec._state_section_entries(blobs[0], section)), section
    assert _codec._state_section_entries(blobs[1], 1)
    assert len(blobs[1]) == len(blobs[0])
    for lib in (loro, loro_c):
        for blob in blobs:
            d = lib.LoroDoc()
            d.import_(blob)
            assert d.get_deep_value() == {"m": {"k": 1}, "t": "xaby"}
