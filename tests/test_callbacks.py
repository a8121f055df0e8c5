"""Local-update callbacks: when they run, what they may do, what their exceptions do, and
how long a subscription lives.

Each program runs against both loro_c and loro (same API) and must produce the same
observations, except where loro_c documents a difference: a callback's exception surfaces
as loro_c.CallbackError where loro raises a PanicException (in both, from the same call,
after the operation completed and every subscriber was called).
"""
import gc
import sys
import threading

import loro
import pytest

import loro_c


def vv(mod_vv):
    return loro_c.VersionVector.decode(mod_vv.encode()).to_dict()


def event(mod, blob):
    """What an update blob holds: (start version, end version) of its changes."""
    meta = mod.LoroDoc.decode_import_blob_meta(blob, True)
    return vv(meta.partial_start_vv), vv(meta.partial_end_vv)


def failed_with_callback_error(mod, call):
    """Run `call`, which must fail only because a callback raised; True if it did."""
    if mod is loro_c:
        with pytest.raises(loro_c.CallbackError) as info:
            call()
        assert isinstance(info.value.__cause__, ValueError)
        return True
    try:
        call()
    except BaseException as e:     # loro: pyo3_runtime.PanicException
        assert "boom" in str(e)
        return True
    return False


def both(program, normalize=lambda log: log):
    """Run program(mod, log) with loro_c and loro; their (normalized) logs must be equal.
    Returns loro_c's log."""
    logs = {}
    for mod in (loro_c, loro):
        log = []
        program(mod, log)
        logs[mod.__name__] = log
    assert normalize(logs["loro_c"]) == normalize(logs["loro"])
    return logs["loro_c"]


def events_unordered(log):
    """loro delivers the events queued by a callback last-in first-out; loro_c delivers them
    in commit order (so a receiver never sees a change before its dependencies). Compare
    the events as a set."""
    return sorted(map(repr, log))


def new_doc(mod, peer):
    d = mod.LoroDoc()
    d.peer_id = peer
    return d


# ---------------------------------------------------------------------------- re-entrancy

def test_callback_edits_and_commits_the_same_doc():
    def program(mod, log):
        d = new_doc(mod, 1)

        def cb(blob):
            log.append(("event", event(mod, blob), sorted(d.get_deep_value().items())))
            if len(log) == 1:
                # the commit is complete when the callback runs; it may commit again
                d.get_text("t").insert(0, "X")
                d.commit()
                log.append(("nested commit returned", vv(d.oplog_vv)))
                d.get_map("m").insert("k", 1)
                d.commit()
            return True

        sub = d.subscribe_local_update(cb)
        d.get_text("t").insert(0, "a")
        d.commit()
        log.append(("after", sorted(d.get_deep_value().items()), vv(d.oplog_vv)))
        sub.unsubscribe()

    got = both(program, events_unordered)
    # the nested commits were delivered after the callback that made them, in commit order
    assert [e[0] for e in got] == ["event", "nested commit returned", "event", "event", "after"]
    assert [e[1] for e in got if e[0] == "event"] == [({}, {1: 1}), ({1: 1}, {1: 2}),
                                                       ({1: 2}, {1: 3})]


def test_callback_imports_and_exports_the_same_doc():
    def program(mod, log):
        d = new_doc(mod, 1)
        other = new_doc(mod, 2)
        other.get_text("o").insert(0, "zz")
        other.commit()
        blob = other.export(mod.ExportMode.Snapshot())

        def cb(update):
            if not log:
                snap = d.export(mod.ExportMode.Snapshot())
                copy = mod.LoroDoc()
                copy.import_(snap)
                log.append(("snapshot in callback", copy.get_deep_value()))
                d.import_(blob)
                log.append(("imported", d.get_deep_value()))
                d.get_text("t").insert(0, "X")
                # export commits the pending insert: another event, delivered later
                d.export(mod.ExportMode.Updates(mod.VersionVector()))
            log.append(("event", event(mod, update)))
            return True

        sub = d.subscribe_local_update(cb)
        d.get_text("t").insert(0, "a")
        d.commit()
        log.append(("after", d.get_deep_value(), vv(d.oplog_vv)))
        del sub

    both(program)


def test_callback_from_import_triggered_commit():
    """Pending local ops are committed by import_ and export; their events come out of
    those calls. loro runs the callback inside import_, before the imported changes are
    applied; loro_c runs it after import_ has finished (so the doc already holds them)."""
    def program(mod, log):
        d = new_doc(mod, 1)
        other = new_doc(mod, 2)
        other.get_list("l").push(1)
        other.commit()
        blob = other.export(mod.ExportMode.Snapshot())
        roots = []
        sub = d.subscribe_local_update(
            lambda b: log.append(("event", event(mod, b))) or roots.append(sorted(d.get_value()))
            or True)
        d.get_text("t").insert(0, "a")
        d.import_(blob)
        log.append(("imported", mod is loro or roots[-1] == ["l", "t"]))
        d.get_text("t").insert(0, "b")
        d.export(mod.ExportMode.Snapshot())
        log.append(("after", sorted(d.get_deep_value().items()), vv(d.oplog_vv)))
        sub.unsubscribe()

    got = both(program)
    assert [e[0] for e in got] == ["event", "imported", "event", "after"]
    assert got[1] == ("imported", True)


def test_callbacks_run_after_the_document_is_released():
    """A callback can wait for another thread that uses the same document."""
    d = loro_c.LoroDoc()
    d.peer_id = 1
    seen = []

    def cb(blob):
        t = threading.Thread(target=lambda: seen.append(d.get_text("t").to_string()))
        t.start()
        t.join(20)
        assert not t.is_alive(), "the document is still locked while the callback runs"
        return True

    sub = d.subscribe_local_update(cb)
    d.get_text("t").insert(0, "hi")
    d.commit()
    assert seen == ["hi"]
    sub.unsubscribe()


# ----------------------------------------------------------------------------- exceptions

def test_raising_callback_does_not_undo_the_operation():
    def program(mod, log):
        d = new_doc(mod, 3)

        def bad(blob):
            log.append("bad called")
            raise ValueError("boom")

        subs = [d.subscribe_local_update(bad),
                d.subscribe_local_update(lambda b: log.append("good called") or True)]
        d.get_text("t").insert(0, "a")
        log.append(("commit failed", failed_with_callback_error(mod, d.commit)))
        log.append(("state", d.get_deep_value(), vv(d.oplog_vv)))
        # export commits the next edit: the same report, the export is not lost either
        d.get_text("t").insert(0, "b")
        log.append(("export failed", failed_with_callback_error(
            mod, lambda: d.export(mod.ExportMode.Snapshot()))))
        log.append(("state", d.get_deep_value(), vv(d.oplog_vv)))
        # the failing subscriber stays subscribed
        d.get_text("t").insert(0, "c")
        log.append(("commit failed", failed_with_callback_error(mod, d.commit)))
        copy = mod.LoroDoc()
        copy.import_(d.export(mod.ExportMode.Snapshot()))
        log.append(("copy", copy.get_deep_value()))
        del subs

    got = both(program)
    assert got.count("bad called") == 3 and got.count("good called") == 3
    assert ("copy", {"t": "cba"}) in got


def test_raising_callback_leaves_loro_c_doc_consistent():
    d = loro_c.LoroDoc()
    d.peer_id = 4
    got = []

    def bad(blob):
        got.append(blob)
        raise ValueError("boom")

    sub = d.subscribe_local_update(bad)
    d.get_text("t").insert(0, "hello")
    with pytest.raises(loro_c.CallbackError, match="ValueError: boom") as info:
        d.commit()
    assert isinstance(info.value, loro_c.LoroError)
    assert isinstance(info.value.__cause__, ValueError)
    d._check_invariants()
    lo = loro.LoroDoc()
    lo.import_(got[0])
    assert lo.get_deep_value() == d.get_deep_value() == {"t": "hello"}
    sub.unsubscribe()
    d.get_text("t").insert(0, "!")
    d.commit()          # no subscriber, no error
    assert len(got) == 1


def test_failed_call_reports_callback_errors_as_unraisable(monkeypatch):
    """import_ of a bad blob commits the pending local ops first: their event is still
    delivered; the import's DecodeError propagates and the callback's error goes to
    sys.unraisablehook."""
    d = loro_c.LoroDoc()
    d.peer_id = 5
    events, unraisable = [], []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(u.exc_value))

    def bad(blob):
        events.append(blob)
        raise ValueError("boom")

    sub = d.subscribe_local_update(bad)
    d.get_text("t").insert(0, "x")
    with pytest.raises(loro_c.DecodeError):
        d.import_(b"not a loro blob")
    assert len(events) == 1
    assert len(unraisable) == 1 and isinstance(unraisable[0], loro_c.CallbackError)
    assert isinstance(unraisable[0].__cause__, ValueError)
    assert d.get_deep_value() == {"t": "x"} and d.oplog_vv.to_dict() == {5: 1}
    sub.unsubscribe()


def test_keyboard_interrupt_in_callback_keeps_later_events_queued():
    d = loro_c.LoroDoc()
    d.peer_id = 6
    calls = []

    def cb(blob):
        calls.append(blob)
        if len(calls) == 1:
            d.get_text("t").insert(0, "n")
            d.commit()                 # queued behind the running callback
            raise KeyboardInterrupt
        return True

    sub = d.subscribe_local_update(cb)
    d.get_text("t").insert(0, "a")
    with pytest.raises(KeyboardInterrupt):
        d.commit()
    assert len(calls) == 1
    # the queued event goes out at the end of the next call that may commit
    d.commit()
    assert len(calls) == 2
    lo = loro.LoroDoc()
    lo.import_(calls[0])
    lo.import_(calls[1])
    assert lo.get_deep_value() == d.get_deep_value() == {"t": "na"}
    sub.unsubscribe()


# ------------------------------------------------------------------------------- lifetime

def lifetime_program(how):
    def program(mod, log):
        d = new_doc(mod, 9)
        calls = []
        sub = d.subscribe_local_update(lambda b: calls.append(b) is None)
        if how == "drop":
            del sub
            gc.collect()
        elif how == "detach":
            sub.detach()
            del sub
            gc.collect()
        elif how == "detach_then_unsubscribe":
            sub.detach()
            sub.unsubscribe()
        elif how == "unsubscribe":
            sub.unsubscribe()
            sub.unsubscribe()          # idempotent
        elif how == "call":
            sub()
        for i in range(3):
            d.get_text("t").insert(0, str(i))
            d.commit()
        log.append((how, len(calls)))
        if how == "keep":
            sub.unsubscribe()
    return program


@pytest.mark.parametrize("how", ["keep", "drop", "detach", "detach_then_unsubscribe",
                                 "unsubscribe", "call"])
def test_subscription_lifetime_matches_loro(how):
    got = both(lifetime_program(how))
    expect = {"keep": 3, "drop": 0, "detach": 3, "detach_then_unsubscribe": 3,
              "unsubscribe": 0, "call": 0}
    assert got == [(how, expect[how])]


def test_returning_false_unsubscribes():
    def program(mod, log):
        d = new_doc(mod, 2)
        calls, keep = [], []
        s1 = d.subscribe_local_update(lambda b: calls.append(b) is not None)
        s2 = d.subscribe_local_update(lambda b: keep.append(b) is None)
        for i in range(3):
            d.get_text("t").insert(0, str(i))
            d.commit()
        log.append((len(calls), len(keep)))
        s2.unsubscribe()
        del s1

    assert both(program) == [(1, 3)]


def test_dropping_a_subscription_inside_its_callback():
    def program(mod, log):
        d = new_doc(mod, 2)
        holder = {}

        def cb(blob):
            log.append("called")
            holder.pop("sub", None)        # drops the only reference: unsubscribes
            gc.collect()
            return True

        holder["sub"] = d.subscribe_local_update(cb)
        for i in range(3):
            d.get_text("t").insert(0, str(i))
            d.commit()
        log.append(d.get_deep_value())

    assert both(program) == ["called", {"t": "210"}]


def test_events_of_many_threads_are_each_delivered_once():
    d = loro_c.LoroDoc()
    d.peer_id = 8
    blobs = []
    lock = threading.Lock()

    def cb(blob):
        with lock:
            blobs.append(blob)
        return True

    sub = d.subscribe_local_update(cb)

    def work(k):
        for i in range(50):
            d.get_list(f"l{k}").push(i)
            d.commit()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    lo = loro.LoroDoc()
    for b in blobs:
        lo.import_(b)
    assert lo.get_deep_value() == d.get_deep_value()
    assert vv(lo.oplog_vv) == d.oplog_vv.to_dict() == {8: 150}
    # each commit made exactly one event
    assert sum(vv(loro.LoroDoc.decode_import_blob_meta(b, True).partial_end_vv)[8]
               - vv(loro.LoroDoc.decode_import_blob_meta(b, True).partial_start_vv).get(8, 0)
               for b in blobs) == 150
    sub.unsubscribe()
