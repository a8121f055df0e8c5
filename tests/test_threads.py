"""One document shared by several threads.

Every public method holds the document's lock, so threads that import, edit, export and
read one document concurrently must leave it exactly as `loro` builds it from the same
updates, with every structural invariant intact. The switch interval is shrunk so that
the threads really interleave inside operations (ContainerID hashing and other Python code
runs in the middle of an import).
"""
import random
import sys
import threading

import loro
import pytest

import loro_c
from loro_c import ExportMode, LoroDoc, VersionVector

ROUNDS = 12


@pytest.fixture(autouse=True)
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def run_threads(targets):
    """Run the callables in threads started together; re-raise the first failure."""
    errors = []
    barrier = threading.Barrier(len(targets))

    def wrap(fn):
        def run():
            try:
                barrier.wait()
                fn()
            except BaseException as e:  # reported to the test thread below
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "a thread is stuck (deadlock?)"
    if errors:
        raise errors[0]


def vv_of(doc):
    return doc.oplog_vv.to_dict()


def lo_vv(lo):
    return loro_c.VersionVector.decode(lo.oplog_vv.encode()).to_dict()


def heads(frontiers):
    return sorted((i.peer, i.counter) for i in loro_c.Frontiers.decode(frontiers.encode()).to_list())


def as_loro(blobs):
    lo = loro.LoroDoc()
    for b in blobs:
        lo.import_(b)
    return lo


def remote_peer(shared, peer, seed, n_ops, sent):
    """A peer with its own document: edits it, then imports its new changes into `shared`
    (and now and then catches up from `shared`, which exports concurrently)."""
    rng = random.Random(seed)
    own = LoroDoc()
    own.peer_id = peer
    text, items, m = own.get_text("text"), own.get_list("items"), own.get_map("map")

    def run():
        last = own.oplog_vv
        for i in range(n_ops):
            r = rng.random()
            if r < 0.45:
                text.insert(rng.randint(0, len(text)), rng.choice(["ab", "é", "😀x", "key "]))
            elif r < 0.6 and len(text) > 0:
                p = rng.randrange(len(text))
                text.delete(p, min(3, len(text) - p))
            elif r < 0.75:
                items.push({"peer": peer, "i": i})
            elif r < 0.85:
                m.insert(f"k{rng.randint(0, 6)}", [peer, i])
            else:
                own.get_counter("hits").increment(1)
            if rng.random() < 0.4:
                own.commit()
                blob = own.export(ExportMode.Updates(last))
                last = own.oplog_vv
                sent.append(blob)
                shared.import_(blob)
            if rng.random() < 0.1:
                # catch up with everybody else through the shared doc (concurrent export)
                own.import_(shared.export(ExportMode.Updates(own.oplog_vv)))
                last = own.oplog_vv
        own.commit()
        blob = own.export(ExportMode.Updates(last))
        sent.append(blob)
        shared.import_(blob)
    return run


def local_editor(shared, seed, n_ops):
    """Edits `shared` itself (its own peer id) with ops valid whatever the other threads do."""
    rng = random.Random(seed)

    def run():
        for i in range(n_ops):
            r = rng.random()
            if r < 0.3:
                shared.get_text("text").insert(0, "L")
            elif r < 0.5:
                shared.get_text("text").push_str("end")
            elif r < 0.7:
                shared.get_list("items").push(i)
            elif r < 0.85:
                shared.get_map("map").insert(f"k{rng.randint(0, 6)}", i)
            else:
                shared.get_counter("hits").increment(2)
            if rng.random() < 0.3:
                shared.commit()
        shared.commit()
    return run


def reader(shared, n_reads, snapshots):
    """Reads values and exports snapshots while the others write."""
    def run():
        for _ in range(n_reads):
            v = shared.get_deep_value()
            assert set(v) <= {"text", "items", "map", "hits"}
            text = shared.get_text("text")
            # separate calls see different versions (other threads delete text between them),
            # so each is only checked on its own; the unit lengths are compared on one
            # version, a snapshot taken in one call
            assert len(text) >= 0 and text.len_utf8 >= 0
            frozen = LoroDoc()
            frozen.import_(shared.export(ExportMode.Snapshot()))
            still = frozen.get_text("text")
            assert 0 <= len(still) <= still.len_utf8
            assert all(type(k) is int and c > 0 for k, c in shared.oplog_vv.to_dict().items())
            shared.oplog_frontiers
            snapshots.append(shared.export(ExportMode.Snapshot()))
    return run


def check_against_loro(shared, sent, snapshots):
    shared._check_invariants()
    full = shared.export(ExportMode.Snapshot())
    lo = as_loro([full])
    assert lo.get_deep_value() == shared.get_deep_value()
    assert lo_vv(lo) == vv_of(shared)
    assert heads(lo.oplog_frontiers) == heads(shared.oplog_frontiers)
    # loro replays the remote peers' own updates plus the shared doc's own changes
    own_ops = shared.export(ExportMode.UpdatesInRange([loro_c.IdSpan(
        shared.peer_id, loro_c.CounterSpan(0, vv_of(shared).get(shared.peer_id, 0)))]))
    replay = as_loro(list(sent) + [own_ops])
    assert replay.get_deep_value() == shared.get_deep_value()
    assert lo_vv(replay) == vv_of(shared)
    # every intermediate snapshot was a consistent state: loro_c and loro agree on it
    for snap in snapshots[:: max(1, len(snapshots) // 4)]:
        c = LoroDoc()
        c.import_(snap)
        c._check_invariants()
        assert as_loro([snap]).get_deep_value() == c.get_deep_value()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_import_edit_export_read_one_doc(round_):
    shared = LoroDoc()
    shared.peer_id = 1
    sent, snapshots = [], []
    n_threads = 2 + round_ % 3      # 2, 3 or 4 threads
    targets = [local_editor(shared, round_, 60),
               remote_peer(shared, 100 + round_, round_ * 7 + 1, 60, sent)]
    if n_threads >= 3:
        targets.append(reader(shared, 15, snapshots))
    if n_threads >= 4:
        targets.append(remote_peer(shared, 200 + round_, round_ * 7 + 2, 60, sent))
    run_threads(targets)
    check_against_loro(shared, sent, snapshots)


@pytest.mark.parametrize("round_", range(ROUNDS // 2))
def test_importers_with_pending_changes(round_):
    """Two threads import the same peers' updates in opposite orders (so changes wait as
    pending in one thread while the other supplies their dependencies)."""
    rng = random.Random(round_)
    src = loro.LoroDoc()
    src.peer_id = 7
    blobs = []
    last = src.oplog_vv
    for i in range(40):
        t = src.get_text("t")
        t.insert(rng.randint(0, len(t.to_string())), f"{i},")
        src.get_map("m").insert(str(i % 5), i)
        src.commit()
        blobs.append(src.export(loro.ExportMode.Updates(last)))
        last = src.oplog_vv
    shared = LoroDoc()
    run_threads([lambda: [shared.import_(b) for b in blobs],
                 lambda: [shared.import_(b) for b in reversed(blobs)],
                 lambda: [shared.import_batch(blobs[i::3]) for i in range(3)]])
    shared._check_invariants()
    assert shared.get_deep_value() == src.get_deep_value()
    assert vv_of(shared) == lo_vv(src)


def test_threads_on_separate_docs_and_one_shared_subscriber():
    """Each thread edits its own doc; every doc streams its commits into one shared doc
    through a local-update callback (so callbacks of many threads import concurrently)."""
    shared = LoroDoc()
    docs, subs = [], []
    for p in range(3):
        d = LoroDoc()
        d.peer_id = 50 + p
        docs.append(d)
        subs.append(d.subscribe_local_update(lambda b: shared.import_(b) is not None))

    def work(d, seed):
        rng = random.Random(seed)

        def run():
            for i in range(80):
                d.get_text("t").insert(0, chr(97 + rng.randrange(26)))
                d.get_list(f"l{d.peer_id}").push(i)
                if rng.random() < 0.5:
                    d.commit()
            d.commit()
        return run

    run_threads([work(d, i) for i, d in enumerate(docs)])
    shared._check_invariants()
    lo = as_loro([d.export(ExportMode.Snapshot()) for d in docs])
    assert lo.get_deep_value() == shared.get_deep_value()
    assert lo_vv(lo) == vv_of(shared)


class ReenteringKey:
    """A key whose hashing uses the document that is looking it up."""
    doc = None

    def __hash__(self):
        ReenteringKey.doc.get_text("t").insert(0, "!")
        return 1


def test_reentrant_use_from_inside_an_operation_raises():
    doc = LoroDoc()
    doc.peer_id = 5
    doc.get_text("t").insert(0, "x")
    ReenteringKey.doc = doc
    done = []

    def run():
        with pytest.raises(loro_c.LoroError, match="from inside one of its own operations"):
            doc.has_container(ReenteringKey())
        done.append(True)

    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    assert not t.is_alive(), "re-entrant use deadlocked"
    assert done
    # the refused call left the document usable and consistent
    doc.get_map("m").insert("k", 2)
    doc.commit()
    doc._check_invariants()
    lo = as_loro([doc.export(ExportMode.Snapshot())])
    assert lo.get_deep_value() == doc.get_deep_value() == {"t": "x", "m": {"k": 2}}


def test_large_blobs_in_parallel_documents():
    """Large blobs take the GIL-free paths (checksums, LZ4 blocks of loro snapshots, long
    UTF-8 inserts); threads importing them into documents of their own get loro's result."""
    rng = random.Random(3)
    lo = loro.LoroDoc()
    lo.peer_id = 12
    words = ["alpha ", "βeta ", "γ😀 ", "delta\n", "x" * 40]
    lo.get_text("text").insert(0, "".join(rng.choice(words) for _ in range(3000)))
    m = lo.get_map("m")
    for i in range(300):
        m.insert(f"key {i}", "value " * (i % 9))
    lo.commit()
    lo.get_text("text").delete(100, 5000)
    lo.commit()
    blobs = [lo.export(loro.ExportMode.Snapshot()),
             lo.export(loro.ExportMode.Updates(loro.VersionVector()))]
    assert min(len(b) for b in blobs) > 8192
    expect = lo.get_deep_value()
    results = []

    def work(blob):
        def run():
            for _ in range(3):
                d = LoroDoc()
                d.import_(blob)
                d._check_invariants()
                results.append((d.get_deep_value(), d.export(ExportMode.Snapshot())))
        return run

    run_threads([work(b) for b in blobs])
    assert len(results) == 6
    for value, exported in results:
        assert value == expect
        assert as_loro([exported]).get_deep_value() == expect


@pytest.mark.parametrize("round_", range(ROUNDS // 2))
def test_checkouts_while_other_threads_import_and_subscribe(round_):
    """One thread travels through the history (checkout, diff, back to the latest) while
    another imports a peer's updates into the same document and a subscriber counts events:
    every checkout sees a consistent version, and the end state is loro's."""
    rng = random.Random(round_)
    src = loro.LoroDoc()
    src.peer_id = 9
    blobs, marks = [], []
    last = src.oplog_vv
    for i in range(40):
        t = src.get_text("t")
        t.insert(rng.randint(0, len(t.to_string())), f"{i};")
        src.get_map("m").insert(str(i % 4), i)
        src.get_counter("c").increment(1)
        src.commit()
        blobs.append(src.export(loro.ExportMode.Updates(last)))
        last = src.oplog_vv
    shared = LoroDoc()
    shared.peer_id = 1
    shared.import_(blobs[0])
    events = []
    sub = shared.subscribe_root(lambda e: events.append(e.triggered_by))
    seen = []

    def importer():
        for b in blobs[1:]:
            shared.import_(b)

    def traveller():
        for k in range(30):
            vv = shared.oplog_vv
            end = vv.get_last(9)
            # strictly before the head, so the checkout detaches (a checkout of the head
            # would leave the document attached, and the importer would move its state)
            at = loro_c.Frontiers.from_id(loro_c.ID(9, rng.randrange(end)))
            shared.checkout(at)
            assert shared.is_detached()
            seen.append((at.to_list()[0].counter, shared.get_deep_value()))
            shared.diff(at, shared.oplog_frontiers)
            shared.checkout_to_latest()

    run_threads([importer, traveller])
    shared._check_invariants()
    assert not shared.is_detached()
    assert shared.get_deep_value() == src.get_deep_value()
    for counter, value in seen:
        src.checkout(loro.Frontiers.from_id(loro.ID(9, counter)))
        assert value == src.get_deep_value()
    assert events and all(str(k).endswith(("Checkout", "Import")) for k in events)
    del sub
