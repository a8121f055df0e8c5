"""ShallowSnapshot and StateOnly at the head of a document loaded from a snapshot and not
touched since (a server that loads a document and compacts it).

The document is then still thin (its history not replayed): the export reads the root
state from the loaded state section and the head's op from its change block
(`_export_shallow_thin`, codec `thin_head_parts`). Checked here: the blob is the one the
replay's path writes (a second document, made to replay its history first), loro reads
it to the same document, which goes on syncing, and the thin document behaves after the
export as the replayed one (values, events, later exports). Cases the fast path leaves to
the replay (several heads, another root, a root taken since the load) give the same
blobs; bad snapshot blobs still fail at the import, leaving the document empty."""
import random

import loro
import pytest

import loro_c
from loro_c import _codec
from loro_c.errors import LoroError
from test_shallow_at_head import _edit, _server_doc


def _modes(lib, doc):
    return [("shallow", lib.ExportMode.ShallowSnapshot(doc.oplog_frontiers)),
            ("state_only", lib.ExportMode.StateOnly(doc.oplog_frontiers)),
            ("state_only_none", lib.ExportMode.StateOnly(None))]


def _source(lib, seed):
    """A server's document: half the seeds end with a local edit of the server (one head:
    the fast path), the others as the imports left them (several heads, often)."""
    d = _server_doc(lib, seed)
    if seed % 2 == 0:
        _edit(random.Random(seed + 1000), d, lib)
    d.commit()
    return d


def _loaded(blob):
    d = loro_c.LoroDoc()
    d.import_(blob)
    return d


def _replayed(blob):
    d = loro_c.LoroDoc()
    d.import_(blob)
    d.commit()      # (takes the document lock: the history is replayed)
    return d


def _fast_path_reads(blob, doc):
    """Whether the codec reads the head's parts from the blob (the fast path's part)."""
    head = list(doc.oplog_frontiers)
    if len(head) != 1:
        return False
    vv = {p: c for p, c in doc.oplog_vv.to_dict().items() if c > 0}
    return _codec.thin_head_parts(blob, head[0].peer, head[0].counter, vv) is not None


def _events(doc):
    seen = []
    doc.subscribe_root(lambda e: seen.append(
        [(str(c.target), repr(c.diff)) for c in e.events]))
    return seen


@pytest.mark.parametrize("seed", range(40))
def test_a_loaded_documents_shallow_export_is_the_replayed_ones(seed):
    src = _source(loro_c, seed)
    blob = src.export(loro_c.ExportMode.Snapshot())
    if seed % 2 == 0:
        # (one head: no mergeable child, every kind read by the liveness walk)
        assert _fast_path_reads(blob, _loaded(blob))
    for k in range(3):
        a, b = _loaded(blob), _replayed(blob)
        got = a.export(_modes(loro_c, a)[k][1])
        want = b.export(_modes(loro_c, b)[k][1])
        assert got == want, k
        # the thin document goes on as the replayed one: the same updates, events, values
        # and exports
        ev_a, ev_b = _events(a), _events(b)
        more = _source(loro_c, seed)
        _edit(random.Random(seed * 3 + k), more, loro_c)
        for d in (a, b):
            d.peer_id = 42
            d.import_(more.export(loro_c.ExportMode.Updates(d.oplog_vv)))
            d.get_text("t").insert(0, "Q")
            d.commit()
        assert ev_a == ev_b
        assert a.get_deep_value() == b.get_deep_value()
        assert a.export(loro_c.ExportMode.Snapshot()) == b.export(loro_c.ExportMode.Snapshot())
        assert a.export(_modes(loro_c, a)[k][1]) == b.export(_modes(loro_c, b)[k][1])
        a._check_invariants()


def _goes_on(lib, blob, src_lib, seed, k):
    """What `lib` shows after loading `blob`, a local edit, the source's next edits and the
    exchange of updates both ways."""
    f = lib.LoroDoc()
    f.peer_id = 9
    f.import_(blob)
    seen = [f.get_deep_value(), f.is_shallow()]
    f.get_text("t").insert(0, "Q")
    f.commit()
    more = _source(src_lib, seed)
    _edit(random.Random(seed * 5 + k), more, src_lib)
    f.import_(more.export(src_lib.ExportMode.Updates(
        src_lib.VersionVector.decode(f.oplog_vv.encode()))))
    more.import_(f.export(lib.ExportMode.Updates(lib.VersionVector.decode(more.oplog_vv.encode()))))
    return seen + [f.get_deep_value(), more.get_deep_value()]


@pytest.mark.parametrize("seed", range(40))
def test_loro_loads_a_loaded_documents_shallow_export(seed):
    for src_lib in (loro, loro_c):
        src = _source(src_lib, seed)
        blob = src.export(src_lib.ExportMode.Snapshot())
        want = src.get_deep_value()
        for k in range(3):
            a = _loaded(blob)
            got = a.export(_modes(loro_c, a)[k][1])
            b = _replayed(blob)
            slow = b.export(_modes(loro_c, b)[k][1])
            if k == 0 and src_lib is loro and len(a.oplog_frontiers) == 1:
                # loro writes its loaded entries back as they are too: the same root state
                # (the replay's path writes loro_c's encoding of each container instead)
                ref = loro.LoroDoc()
                ref.import_(blob)
                theirs = ref.export(loro.ExportMode.ShallowSnapshot(ref.oplog_frontiers))
                assert _codec._state_section_entries(got, 2) == \
                    _codec._state_section_entries(theirs, 2)
            for lib in (loro, loro_c):
                seen = _goes_on(lib, got, src_lib, seed, k)
                assert seen[0] == want, (src_lib.__name__, lib.__name__, k)
                # (as the replay's blob goes on)
                assert seen == _goes_on(lib, slow, src_lib, seed, k), \
                    (src_lib.__name__, lib.__name__, k)


def test_dead_children_are_left_out_of_the_root_state():
    # a child map, list, text and tree overwritten or deleted: the loaded state lists them
    # (loro's full snapshot does), the root state at the head does not
    for src_lib in (loro, loro_c):
        d = src_lib.LoroDoc()
        d.peer_id = 3
        m = d.get_map("m")
        kept = m.insert_container("kept", src_lib.LoroMap())
        kept.insert_container("inner", src_lib.LoroList()).insert(0, 1)
        m.insert_container("gone", src_lib.LoroMap()).insert("x", 1)
        lst = d.get_list("l")
        lst.insert_container(0, src_lib.LoroText()).insert(0, "abc")
        lst.insert_container(1, src_lib.LoroTree())
        tr = d.get_tree("tr")
        n = tr.create()
        tr.get_meta(n).insert("k", 1)
        gone = tr.create()
        tr.get_meta(gone).insert_container("sub", src_lib.LoroMap()).insert("z", 2)
        d.commit()
        m.insert("gone", 5)
        lst.delete(0, 1)
        tr.delete(gone)
        d.commit()
        blob = d.export(src_lib.ExportMode.Snapshot())
        a = _loaded(blob)
        assert _fast_path_reads(blob, a)
        keys = lambda b, s: [k for k, _ in _codec._state_section_entries(b, s)]
        for name, mode in _modes(loro_c, a):
            got = a.export(mode)
            assert len(keys(got, 2)) < len(keys(blob, 1)) + 1, name
            ref = loro.LoroDoc()
            ref.import_(blob)
            assert keys(got, 2) == keys(ref.export(dict(_modes(loro, ref))[name]), 2), name
            if src_lib is loro_c:
                b = _replayed(blob)
                assert got == b.export(dict(_modes(loro_c, b))[name]), name


def test_the_replay_takes_the_other_cases():
    src = _source(loro_c, 2)
    blob = src.export(loro_c.ExportMode.Snapshot())
    head = src.oplog_frontiers
    earlier = loro_c.Frontiers.from_id(loro_c.ID(list(head)[0].peer, list(head)[0].counter - 1))
    cases = [
        # a root taken since the load is listed in the state (the loaded one does not)
        lambda d: (d.get_text("new"), d.export(loro_c.ExportMode.ShallowSnapshot(d.oplog_frontiers)))[1],
        # another root than the head
        lambda d: d.export(loro_c.ExportMode.StateOnly(earlier)),
        lambda d: d.export(loro_c.ExportMode.ShallowSnapshot(earlier)),
        # a read first: still thin
        lambda d: (d.get_deep_value(), d.export(loro_c.ExportMode.StateOnly(None)))[1],
        # a detached document
        lambda d: (d.detach(), d.export(loro_c.ExportMode.ShallowSnapshot(d.oplog_frontiers)))[1],
    ]
    for i, case in enumerate(cases):
        assert case(_loaded(blob)) == case(_replayed(blob)), i
    for bad in (None, loro_c.Frontiers.from_id(loro_c.ID(12345, 0)), "x"):
        errs = []
        for d in (_loaded(blob), _replayed(blob)):
            try:
                d.export(loro_c.ExportMode.ShallowSnapshot(bad))
                errs.append(None)
            except LoroError as e:
                errs.append((type(e), str(e)))
        assert errs[0] == errs[1] and errs[0] is not None, bad


@pytest.mark.parametrize("replay", [False, True])
def test_the_export_keeps_a_message_set_for_the_next_commit_as_loro(replay):
    # (the export commits first; loro keeps a message set for a commit without ops)
    msgs = []
    for lib in (loro, loro_c):
        src = _source(lib, 4)
        d = lib.LoroDoc()
        d.set_next_commit_message("before")
        d.import_(src.export(lib.ExportMode.Snapshot()))
        if replay:
            d.get_text("t").len_unicode     # (a read: still thin)
            d.get_text("t").delete(0, 0)    # (an edit of nothing: the history replayed)
        d.export(lib.ExportMode.ShallowSnapshot(d.oplog_frontiers))
        d.export(lib.ExportMode.StateOnly(None))
        d.get_text("t").insert(0, "x")
        d.commit()
        vv = d.oplog_vv
        peer = d.peer_id
        msgs.append(d.get_change(lib.ID(peer, vv.get_last(peer))).message)
    assert msgs == ["before", "before"]


@pytest.mark.parametrize("cut", [1, 7, 23, 100, -1, -9])
def test_a_bad_snapshot_fails_at_the_import_and_the_document_stays_empty(cut):
    src = _source(loro_c, 6)
    blob = src.export(loro_c.ExportMode.Snapshot())
    rng = random.Random(cut)
    bad = [blob[:cut] if cut > 0 else blob[:len(blob) + cut]]
    flipped = bytearray(blob)
    flipped[rng.randrange(22, len(blob))] ^= 0x40
    bad.append(bytes(flipped))
    for b in bad:
        d = loro_c.LoroDoc()
        with pytest.raises(LoroError):
            d.import_(b)
        assert d.get_deep_value() == {} and d.oplog_vv.to_dict() == {}
        # the good blob then loads and exports as before
        d.import_(blob)
        got = d.export(loro_c.ExportMode.ShallowSnapshot(d.oplog_frontiers))
        want = _replayed(blob)
        assert got == want.export(loro_c.ExportMode.ShallowSnapshot(want.oplog_frontiers))


# -- exports after the history was replayed: the loaded entries are kept --------------------

def _entries(blob, section):
    return _codec._state_section_entries(blob, section)


def _blocks(blob, but=None):
    """The change blocks of a snapshot's oplog section (but those of peer `but`)."""
    return [(k, v) for k, v in _entries(blob, 0)
            if len(k) == 12 and (but is None or int.from_bytes(k[:8], "big") != but)]


@pytest.mark.parametrize("seed", range(30))
def test_exports_after_a_load_and_edits_are_the_fresh_encodings(seed):
    # (loro_c's own blob: its loaded entries are loro_c's encoding, so the exports after
    # edits, which encode only the containers changed since the load, are byte for byte
    # those that encode every container afresh)
    src = _source(loro_c, seed)
    blob = src.export(loro_c.ExportMode.Snapshot())
    d = _loaded(blob)
    d.peer_id = 42
    rng = random.Random(seed)
    more = _source(loro_c, seed)
    # loro, the same steps: a loaded block it has not changed is written back as loaded
    ld = loro.LoroDoc()
    ld.import_(blob)
    ld.peer_id = 42
    lrng = random.Random(seed)
    lmore = _source(loro, seed)
    for step in range(3):
        if step == 1:
            _edit(random.Random(seed + 7), more, loro_c)
            d.import_(more.export(loro_c.ExportMode.Updates(d.oplog_vv)))
            _edit(random.Random(seed + 7), lmore, loro)
            ld.import_(lmore.export(loro.ExportMode.Updates(ld.oplog_vv)))
        else:
            _edit(rng, d, loro_c)
            _edit(lrng, ld, loro)
        # (the state sections: the order of the peers of the version in the oplog section
        # can differ between the two, as on main; seed 15)
        kept = d.export(loro_c.ExportMode.Snapshot())
        _codec._clear_block_cache()     # (the next blob's change blocks encoded afresh)
        uncached = d._snapshot_uncached()
        fresh = _entries(uncached, 1)
        assert _entries(kept, 1) == fresh, step
        if step == 0:
            # the loaded blocks are loro's bytes, not always a fresh encoding's: a change
            # depending on peers 1 and 2 lists them as the blob does, where its decoded
            # copy (the log's, what a fresh encoding writes) lists them as loro's map of
            # them yields them (_import.deps_as_kept). (The local peer's own block is left
            # out: its changes are loro_c's edits.)
            assert _blocks(kept, 42) == _blocks(ld.export(loro.ExportMode.Snapshot()), 42)
            assert [k for k, _ in _blocks(kept)] == [k for k, _ in _blocks(uncached)]
        else:
            # each block is the one loaded, written back as loro does, or the log's fresh
            # encoding
            loaded = dict(_blocks(blob))
            fresh_blocks = dict(_blocks(uncached))
            assert [k for k, _ in _blocks(kept)] == list(fresh_blocks), step
            for k, v in _blocks(kept):
                assert v == fresh_blocks[k] or v == loaded.get(k), (step, k)
        for name, mode in _modes(loro_c, d):
            fast = _entries(d.export(mode), 2)
            d.detach()          # (the fork at the root lists the containers alive there)
            forked = _entries(d.export(mode), 2)
            d.attach()
            # (the entries themselves against this document's fresh ones: a fork numbers
            # the peers of a map's table in its own order, as on main; seed 9)
            assert [k for k, _ in fast] == [k for k, _ in forked], (step, name)
            if len(d.oplog_frontiers) != 1:
                assert fast == forked, (step, name)     # (the root is an older version)
                continue
            listed = {k for k, _ in fast}
            assert [e for e in fast if e[0] != b"fr"] == [e for e in fresh if e[0] in listed], \
                (step, name)
        d._check_invariants()


@pytest.mark.parametrize("seed", range(30))
def test_after_a_load_and_an_edit_loros_loaded_entries_are_written_as_loro_writes_them(seed):
    src = _source(loro, seed)
    blob = src.export(loro.ExportMode.Snapshot())
    snaps = {}
    for lib in (loro, loro_c):
        d = lib.LoroDoc()
        d.import_(blob)
        d.peer_id = 42
        d.get_text("t").insert(0, "Q")
        d.commit()
        snaps[lib] = d.export(lib.ExportMode.Snapshot())
        if lib is loro_c:
            d._check_invariants()
    ours = dict(_codec._state_section_entries(snaps[loro_c], 1))
    theirs = dict(_codec._state_section_entries(snaps[loro], 1))
    assert sorted(ours) == sorted(theirs)
    edited = loro_c.LoroDoc().get_text("t").id.to_bytes()
    assert {k: v for k, v in ours.items() if k != edited} == \
        {k: v for k, v in theirs.items() if k != edited}
    # the loaded change blocks too (the edit's block is loro_c's encoding)
    assert _blocks(snaps[loro_c], 42) == _blocks(snaps[loro], 42)
    for lib in (loro, loro_c):
        f = lib.LoroDoc()
        f.import_(snaps[loro_c])
        g = lib.LoroDoc()
        g.import_(snaps[loro])
        assert f.get_deep_value() == g.get_deep_value()


@pytest.mark.parametrize("src_lib", [loro, loro_c])
def test_a_snapshot_of_a_detached_document_holds_the_head_state(src_lib):
    # (a snapshot's state section is the state at its history's head even when the
    # exporting document showed an older version: the loaded state is the root state)
    src = _source(src_lib, 8)
    head_value = src.get_deep_value()
    vv = src.oplog_vv
    peer = src.peer_id
    src.checkout(src_lib.Frontiers.from_id(src_lib.ID(peer, vv.get_last(peer) - 1)))
    assert src.get_deep_value() != head_value
    blob = src.export(src_lib.ExportMode.Snapshot())
    a = _loaded(blob)
    assert _fast_path_reads(blob, a)
    got = a.export(loro_c.ExportMode.ShallowSnapshot(a.oplog_frontiers))
    b = _replayed(blob)
    want = b.export(loro_c.ExportMode.ShallowSnapshot(b.oplog_frontiers))
    if src_lib is loro_c:
        assert got == want
    else:
        ref = loro.LoroDoc()
        ref.import_(blob)
        assert _entries(got, 2) == \
            _entries(ref.export(loro.ExportMode.ShallowSnapshot(ref.oplog_frontiers)), 2)
    for lib in (loro, loro_c):
        f = lib.LoroDoc()
        f.import_(got)
        assert f.get_deep_value() == head_value


@pytest.mark.parametrize("step", ["shallow", "state_only", "snapshot", "fork", "detached snapshot"])
def test_a_message_set_for_the_next_commit_outlives_an_export_as_in_loro(step):
    msgs = []
    for lib in (loro, loro_c):
        d = lib.LoroDoc()
        d.peer_id = 1
        d.get_text("t").insert(0, "ab")
        d.commit()
        d.set_next_commit_message("m")
        if step == "shallow":
            d.export(lib.ExportMode.ShallowSnapshot(d.oplog_frontiers))
        elif step == "state_only":
            d.export(lib.ExportMode.StateOnly(d.oplog_frontiers))
        elif step == "snapshot":
            d.export(lib.ExportMode.Snapshot())
        elif step == "fork":
            d.fork()
        else:
            # (loro's checkout drops it)
            d.checkout(lib.Frontiers.from_id(lib.ID(1, 0)))
            d.export(lib.ExportMode.Snapshot())
            d.attach()
        d.get_text("t").insert(0, "x")
        d.commit()
        msgs.append(d.get_change(lib.ID(1, 2)).message)
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("lib", [loro, loro_c])
def test_large_values_keep_their_loaded_frames_and_the_replayed_bytes(lib):
    """A text and a list of tens of KB each fill large SSTable blocks: the fast path writes
    their loaded LZ4 frames again (thin_head_parts' frames) instead of compressing anew;
    the blob is still the replayed path's, and loro reads it."""
    rng = random.Random(7)
    src = lib.LoroDoc()
    src.peer_id = 3
    t = src.get_text("t")
    for i in range(3000):
        t.insert(rng.randint(0, len(t)), rng.choice(["ab", "é😀", "xyz ", "\n"]))
    lst = src.get_list("l")
    for i in range(3000):
        lst.insert(rng.randint(0, len(lst)), f"item {i}")
    src.get_map("m").insert("k", "v")
    src.commit()
    blob = src.export(lib.ExportMode.Snapshot())
    head = list(_loaded(blob).oplog_frontiers)
    vv = {p: c for p, c in _loaded(blob).oplog_vv.to_dict().items() if c > 0}
    _, _, frames = _codec.thin_head_parts(blob, head[0].peer, head[0].counter, vv)
    assert len(frames) >= 2 and all(len(v) > 4096 for v in frames)
    for k in range(3):
        a, b = _loaded(blob), _replayed(blob)
        got = a.export(_modes(loro_c, a)[k][1])
        assert got == b.export(_modes(loro_c, b)[k][1]), k
        back = loro.LoroDoc()
        back.import_(got)
        assert back.get_deep_value() == src.get_deep_value()
