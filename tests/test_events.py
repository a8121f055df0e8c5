"""Diff events: worked examples compared with `loro`, container subscriptions, origins,
re-entrant callbacks, errors in callbacks, unsubscribing, and the asyncio stream."""
import asyncio
import json
import threading

import loro
import pytest

import loro_c
from _events_util import comparable, nev

LIBS = (loro, loro_c)


def record(mod, build, subscribe=None):
    """Run `build(doc, mod)` with a root subscriber (or `subscribe(doc, cb)`); the events
    in library-neutral form."""
    doc = mod.LoroDoc()
    doc.peer_id = 1
    got = []
    if subscribe is None:
        sub = doc.subscribe_root(lambda e: got.append(nev(e)))
    else:
        sub = subscribe(doc, lambda e: got.append(nev(e)))
    build(doc, mod)
    doc.commit()
    del sub
    return got


def both(build, subscribe=None):
    a, b = (record(mod, build, subscribe) for mod in LIBS)
    assert [comparable(e) for e in a] == [comparable(e) for e in b]
    return b


def test_nothing_fires_before_the_commit():
    doc = loro_c.LoroDoc()
    got = []
    sub = doc.subscribe_root(got.append)
    doc.get_text("t").insert(0, "abc")
    assert got == []
    doc.commit()
    assert len(got) == 1
    ev = got[0]
    assert ev.triggered_by == loro_c.EventTriggerKind.Local
    assert ev.origin == "" and ev.current_target is None
    (cd,) = ev.events
    assert cd.target == loro_c.ContainerID.Root("t", loro_c.ContainerType.Text())
    assert cd.path == [loro_c.PathItem(cd.target, loro_c.Index.Key("t"))]
    assert cd.is_unknown is False
    assert cd.diff == loro_c.Diff.Text([loro_c.TextDelta.Insert("abc")])
    sub.unsubscribe()


def test_text_edits_in_one_transaction():
    def build(d, mod):
        t = d.get_text("t")
        t.insert(0, "hello world")
        d.commit()
        t.insert(5, ",")
        t.delete(0, 1)
        t.insert(0, "J")
        t.insert(len(t.to_string()), "😀!")
    evs = both(build)
    # loro's own items: the insert at 0 lands after the delete there (local_delta.pxi)
    assert comparable(evs[1])[3][0][3] == ("Text", [("d", 1), ("i", "J"), ("r", 4), ("i", ","), ("r", 6),
                                                    ("i", "😀!")])


def test_list_map_counter_and_nested_containers():
    def build(d, mod):
        m = d.get_map("m")
        m.insert("a", 1)
        sub = m.insert_container("sub", mod.LoroList())
        sub.insert(0, "x")
        sub.insert(1, {"k": [1, 2]})
        inner = sub.insert_container(0, mod.LoroText())
        inner.insert(0, "deep")
        d.get_counter("c").increment(2.5)
        d.commit()
        sub.delete(1, 1)
        m.delete("a")
        d.get_counter("c").decrement(1)
    evs = both(build)
    first = {e[0][1] if e[0][0] == "root" else e[0][2]: e for e in evs[0][3]}
    # the nested text's path goes through the list index it has now
    text_path = [e for e in evs[0][3] if e[0][-1] == "Text"][0][1]
    assert [step[1] for step in text_path] == [("K", "m"), ("K", "sub"), ("S", 0)]
    assert first["c"][3] == ("Counter", 2.5)


def test_container_subscription_is_deep_and_names_its_target():
    for mod in LIBS:
        doc = mod.LoroDoc()
        doc.peer_id = 1
        m = doc.get_map("m")
        got, root_got = [], []
        sub = doc.subscribe(m.id, lambda e: got.append(e))
        rsub = doc.subscribe_root(lambda e: root_got.append(e))
        child = m.insert_container("l", mod.LoroList())
        child.insert(0, 1)
        doc.get_text("other").insert(0, "x")
        doc.commit()
        assert len(got) == 1 and len(root_got) == 1
        assert got[0].current_target == m.id
        # the map and its child, not the unrelated text
        assert len(got[0].events) == 2
        assert len(root_got[0].events) == 3
        doc.get_text("other").insert(0, "y")
        doc.commit()
        assert len(got) == 1
        del sub, rsub


def test_container_handle_subscribe():
    doc = loro_c.LoroDoc()
    t = doc.get_text("t")
    got = []
    sub = t.subscribe(got.append)
    t.insert(0, "a")
    doc.commit()
    assert got[0].current_target == t.id
    assert loro_c.LoroText().subscribe(got.append) is None
    del sub


def test_origins():
    def build(d, mod):
        t = d.get_text("t")
        t.insert(0, "a")
        d.set_next_commit_origin("first")
        d.commit()
        t.insert(0, "b")
        d.commit_with(origin="second")
        t.insert(0, "c")
    evs = both(build)
    assert [e[1] for e in evs] == ["first", "second", ""]
    # imports carry import_with's origin
    for mod in LIBS:
        a, b = mod.LoroDoc(), mod.LoroDoc()
        a.get_list("l").insert(0, 1)
        a.commit()
        got = []
        sub = b.subscribe_root(got.append)
        b.import_with(a.export(mod.ExportMode.Snapshot()), "net")
        assert [(str(e.triggered_by).split(".")[-1], e.origin) for e in got] == [("Import", "net")]
        del sub


def test_import_of_pending_changes_fires_when_they_apply():
    for mod in LIBS:
        a, b = mod.LoroDoc(), mod.LoroDoc()
        a.peer_id = 1
        t = a.get_text("t")
        t.insert(0, "ab")
        a.commit()
        first = a.export(mod.ExportMode.Snapshot())
        v = a.oplog_vv
        t.insert(2, "cd")
        a.commit()
        second = a.export(mod.ExportMode.Updates(v))
        got = []
        sub = b.subscribe_root(lambda e: got.append(nev(e)))
        b.import_(second)
        assert got == []
        b.import_(first)
        # the two inserts come from two blobs, which loro holds in two buffers: two items
        assert [comparable(e)[3][0][3] for e in got] == [("Text", [("i", "ab"), ("i", "cd")])]
        b.import_(first)  # a duplicate changes nothing and sends nothing
        assert len(got) == 1
        del sub


def test_a_rejected_import_sends_nothing():
    doc = loro_c.LoroDoc()
    got = []
    sub = doc.subscribe_root(got.append)
    doc.get_text("t").insert(0, "x")
    with pytest.raises(loro_c.DecodeError):
        doc.import_(b"not a loro blob")
    # the open transaction was committed by the import call: that event stays
    assert [e.triggered_by for e in got] == [loro_c.EventTriggerKind.Local]
    del sub


def test_a_callback_that_edits_the_document():
    """Its commit is delivered after the current event, as its own event (as in loro)."""
    def run(mod):
        doc = mod.LoroDoc()
        doc.peer_id = 1
        t = doc.get_text("t")
        seen = []

        def cb(e):
            seen.append(nev(e))
            if len(t.to_string()) < 6:
                t.insert(0, "+")
                doc.commit()
        sub = doc.subscribe_root(cb)
        t.insert(0, "abc")
        doc.commit()
        del sub
        return seen, t.to_string()
    a, b = run(loro), run(loro_c)
    assert [comparable(e) for e in a[0]] == [comparable(e) for e in b[0]]
    assert a[1] == b[1] == "+++abc"


def test_a_callback_that_raises():
    doc = loro_c.LoroDoc()
    calls = []

    def bad(e):
        calls.append("bad")
        raise ValueError("boom")
    s1 = doc.subscribe_root(bad)
    s2 = doc.subscribe_root(lambda e: calls.append("good"))
    doc.get_text("t").insert(0, "x")
    with pytest.raises(loro_c.CallbackError, match="ValueError: boom") as info:
        doc.commit()
    assert isinstance(info.value.__cause__, ValueError)
    # every subscriber got the event, and the commit stands
    assert calls == ["bad", "good"]
    assert doc.get_text("t").to_string() == "x"
    assert doc.get_pending_txn_len() == 0
    del s1, s2


def test_a_callback_that_unsubscribes_itself_or_another():
    doc = loro_c.LoroDoc()
    calls = []
    subs = {}

    def first(e):
        calls.append("first")
        subs["first"].unsubscribe()
        subs["second"].unsubscribe()
    subs["first"] = doc.subscribe_root(first)
    subs["second"] = doc.subscribe_root(lambda e: calls.append("second"))
    subs["third"] = doc.subscribe_root(lambda e: calls.append("third"))
    t = doc.get_text("t")
    t.insert(0, "a")
    doc.commit()
    t.insert(0, "b")
    doc.commit()
    assert calls == ["first", "third", "third"]


def test_dropping_the_subscription_unsubscribes_and_detach_keeps_it():
    doc = loro_c.LoroDoc()
    got = []
    sub = doc.subscribe_root(got.append)
    del sub
    doc.get_text("t").insert(0, "a")
    doc.commit()
    assert got == []
    doc.subscribe_root(got.append).detach()
    doc.get_text("t").insert(0, "b")
    doc.commit()
    assert len(got) == 1


def test_callbacks_run_without_the_document_lock():
    """Another thread may use the document while a callback runs."""
    doc = loro_c.LoroDoc()
    t = doc.get_text("t")
    results = []

    def cb(e):
        th = threading.Thread(target=lambda: results.append(t.to_string()))
        th.start()
        th.join(timeout=10)
        results.append(th.is_alive())
    sub = doc.subscribe_root(cb)
    t.insert(0, "hi")
    doc.commit()
    assert results == ["hi", False]
    del sub


def test_events_between_threads_stay_in_commit_order():
    doc = loro_c.LoroDoc()
    got = []
    sub = doc.subscribe_root(lambda e: got.append(e.events[0].diff.diff))
    c = doc.get_counter("c")

    def work():
        for _ in range(50):
            c.increment(1)
            doc.commit()
    ths = [threading.Thread(target=work) for _ in range(4)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    assert len(got) == 200 and doc.get_counter("c").value == 200
    del sub


def test_bad_arguments_raise_and_change_nothing():
    doc = loro_c.LoroDoc()
    with pytest.raises(loro_c.LoroValueError):
        doc.subscribe_root(42)
    with pytest.raises(loro_c.LoroTypeError):
        doc.subscribe("not a container id", print)
    with pytest.raises(loro_c.LoroValueError):
        doc.events(maxsize=0)
    with pytest.raises(loro_c.LoroTypeError):
        doc.commit_with(origin=3)


# ------------------------------------------------------------------ the asyncio stream

def test_async_stream_yields_events_in_order():
    async def main():
        doc = loro_c.LoroDoc()
        t = doc.get_text("t")
        async with doc.events() as stream:
            for ch in "abc":
                t.insert(len(t.to_string()), ch)
                doc.commit()
            got = []
            async for ev in stream:
                got.append(ev.events[0].diff.diff[-1].insert)
                if len(got) == 3:
                    break
        return got
    assert asyncio.run(main()) == ["a", "b", "c"]


def test_async_stream_of_one_container():
    async def main():
        doc = loro_c.LoroDoc()
        m = doc.get_map("m")
        stream = doc.events(m.id)
        doc.get_text("t").insert(0, "x")
        doc.commit()
        m.insert("k", 1)
        doc.commit()
        ev = await asyncio.wait_for(stream.__anext__(), 5)
        await stream.aclose()
        return ev
    ev = asyncio.run(main())
    assert ev.current_target == loro_c.ContainerID.Root("m", loro_c.ContainerType.Map())
    assert [c.target.name for c in ev.events] == ["m"]


def test_async_stream_wakes_for_events_from_other_threads():
    async def main():
        doc = loro_c.LoroDoc()
        stream = doc.events()

        def writer():
            doc.get_counter("c").increment(3)
            doc.commit()
        waiter = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
        th = threading.Thread(target=writer)
        th.start()
        ev = await asyncio.wait_for(waiter, 10)
        th.join()
        stream.close()
        return ev
    assert asyncio.run(main()).events[0].diff.diff == 3.0


def test_async_stream_cancellation_loses_nothing():
    async def main():
        doc = loro_c.LoroDoc()
        stream = doc.events()
        waiter = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        doc.get_counter("c").increment(1)
        doc.commit()
        ev = await asyncio.wait_for(stream.__anext__(), 5)
        stream.close()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        return ev
    assert asyncio.run(main()).events[0].diff.diff == 1.0


def test_async_stream_overflow_policy():
    async def main():
        doc = loro_c.LoroDoc()
        stream = doc.events(maxsize=2)
        c = doc.get_counter("c")
        for _ in range(4):
            c.increment(1)
            doc.commit()
        got = [await stream.__anext__(), await stream.__anext__()]
        with pytest.raises(loro_c.EventStreamOverflow):
            await stream.__anext__()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        return got
    got = asyncio.run(main())
    assert [e.events[0].diff.diff for e in got] == [1.0, 1.0]


def test_subscribing_inside_an_open_transaction_covers_the_whole_transaction():
    def run(mod):
        doc = mod.LoroDoc()
        doc.peer_id = 1
        t = doc.get_text("t")
        t.insert(0, "hello")
        doc.commit()
        t.insert(5, "!")
        t.insert(0, ">")
        doc.get_map("m").insert("k", 1)
        doc.get_counter("c").increment(2)
        got = []
        sub = doc.subscribe_root(lambda e: got.append(nev(e)))
        t.delete(1, 1)
        doc.commit()
        del sub
        return [comparable(e) for e in got]
    assert run(loro) == run(loro_c)
    assert [r[3] for r in run(loro_c)[0][3] if r[0][1] == "t"] == [
        ("Text", [("i", ">"), ("d", 1), ("r", 4), ("i", "!")])]


def test_peer_id_change_subscribers():
    def run(mod):
        doc = mod.LoroDoc()
        doc.peer_id = 1
        doc.get_text("t").insert(0, "abc")
        doc.commit()
        seen = []
        sub = doc.subscribe_peer_id_change(lambda i: seen.append((i.peer, i.counter)) or len(seen) < 3)
        doc.peer_id = 7
        doc.peer_id = 1
        doc.peer_id = 9
        doc.peer_id = 10
        del sub
        return seen
    assert run(loro) == run(loro_c) == [(7, 0), (1, 3), (9, 0)]


def test_subscription_to_a_nested_container_made_by_a_remote_peer():
    """Subscribing by ContainerID works before the document has the container."""
    def run(mod):
        a, b = mod.LoroDoc(), mod.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        lst = a.get_map("m").insert_container("l", mod.LoroList())
        inner = lst.insert_container(0, mod.LoroMap())
        got = []
        sub = b.subscribe(lst.id, lambda e: got.append(nev(e)))
        inner.insert("k", "v")
        a.commit()
        b.import_(a.export(mod.ExportMode.Snapshot()))
        v = a.oplog_vv
        inner.insert("k", "w")
        lst.insert(0, 5)
        a.commit()
        b.import_(a.export(mod.ExportMode.Updates(v)))
        del sub
        return [comparable(e) for e in got]
    a, b = run(loro), run(loro_c)
    assert a == b
    assert len(b) == 2 and b[0][2] == ("normal", 1, 0, "List")
    # the nested map's path follows it to index 1 after the insert in front of it
    assert b[1][3][-1][1][-1][1] == ("S", 1)


def test_first_commit_from_peer_edits_join_that_commit():
    def run(mod):
        d = mod.LoroDoc()
        d.peer_id = 5
        calls = []

        def cb(payload):
            calls.append(payload["peer"])
            d.get_map("users").insert(str(payload["peer"]), "me")
            return True
        s = d.subscribe_first_commit_from_peer(cb)
        got = []
        s2 = d.subscribe_root(lambda e: got.append(nev(e)))
        d.get_text("t").insert(0, "a")
        d.commit()
        d.get_text("t").insert(0, "b")
        d.commit()
        # a peer whose ops the document already has is no first committer
        other = mod.LoroDoc()
        other.peer_id = 6
        seen = []
        s3 = other.subscribe_first_commit_from_peer(lambda p: seen.append(p["peer"]) or True)
        other.import_(d.export(mod.ExportMode.Snapshot()))
        other.get_text("t").insert(0, "c")
        other.commit()
        other.peer_id = 5
        other.get_text("t").insert(0, "d")
        other.commit()
        del s, s2, s3
        return calls, [comparable(e) for e in got], d.get_deep_value(), d.len_changes, seen
    assert run(loro) == run(loro_c)
    calls, events, value, n_changes, seen = run(loro_c)
    assert calls == [5] and seen == [6] and n_changes == 1
    assert value == {"t": "ba", "users": {"5": "me"}}
    assert len(events[0][3]) == 2


def test_first_commit_callback_that_commits_or_raises():
    d = loro_c.LoroDoc()

    def cb(payload):
        d.get_counter("c").increment(1)
        d.commit()     # the same first commit: announced once
        return True
    s = d.subscribe_first_commit_from_peer(cb)
    d.get_counter("c").increment(1)
    d.commit()
    assert d.get_counter("c").value == 2
    del s
    d2 = loro_c.LoroDoc()

    def bad(payload):
        raise ValueError("first")
    s = d2.subscribe_first_commit_from_peer(bad)
    d2.get_text("t").insert(0, "x")
    with pytest.raises(loro_c.CallbackError, match="ValueError: first"):
        d2.commit()
    assert d2.get_text("t").to_string() == "x" and d2.get_pending_txn_len() == 0
    del s


def test_pre_commit_sees_the_change_and_sets_its_message():
    def run(mod):
        d = mod.LoroDoc()
        d.peer_id = 5
        metas = []

        def cb(payload):
            m = payload["change_meta"]
            metas.append((m.id.peer, m.id.counter, m.lamport, m.message, m.len, payload["origin"]))
            payload["modifier"].set_message(f"commit {len(metas)}")
            return len(metas) < 2
        s = d.subscribe_pre_commit(cb)
        t = d.get_text("t")
        t.insert(0, "ab")
        d.commit()
        t.insert(2, "c")
        d.set_next_commit_message("mine")
        d.set_next_commit_origin("o")
        d.commit()
        t.insert(0, "z")
        d.commit()
        del s
        changes = json.loads(d.export_json_updates(mod.VersionVector(), d.oplog_vv))["changes"]
        return metas, [c["msg"] for c in changes]
    assert run(loro) == run(loro_c)
    metas, msgs = run(loro_c)
    assert metas == [(5, 0, 0, None, 2, ""), (5, 2, 2, "mine", 1, "o")]
    assert msgs == ["commit 1", "commit 2", None]


def test_an_empty_commit_uses_up_the_origin():
    def run(mod):
        d = mod.LoroDoc()
        out = []
        s = d.subscribe_root(lambda e: out.append(e.origin))
        d.get_text("t").insert(0, "a")
        d.commit()
        d.set_next_commit_origin("ui")
        d.commit()
        d.get_text("t").insert(0, "b")
        d.commit()
        d.commit_with(origin="gone")
        d.get_text("t").insert(0, "c")
        d.set_next_commit_origin("y")
        d.commit()
        del s
        return out
    assert run(loro) == run(loro_c) == ["", "", "y"]
