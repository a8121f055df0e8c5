"""A rejected import in a document somebody listens to leaves no trace in its events.

A server document with subscribers (the root, one container, an async stream) takes a
stream of client updates (and makes edits of its own, which an UndoManager records): most
valid (some late, some duplicated, some arriving while the server has an open
transaction), some with a bad op at the end of a change that also holds
valid ops (new containers, map keys, counters, text). loro_c applies the valid ops, reaches
the bad one and undoes the import in place; `loro` rejects the same JSON. Nobody may hear
of it: no event. What later events show, and their order, must be `loro`'s: loro numbers
containers as it meets them, also in an import it then rejects, and that numbering orders
an event's diffs. After every step loro_c's events equal loro's, and replaying them on a
mirror gives the document's value.
"""
import asyncio
import os
import random

import loro
import pytest

import loro_c
from _events_util import apply_event, comparable, nev, shown
from test_atomic_import import snapshot_of
from test_rejected_import_undo import corrupt_random_seq_op, edit

LIBS = (loro, loro_c)


class Server:
    """One library's server document, its subscribers and what they heard."""

    def __init__(self, lib):
        self.lib = lib
        self.doc = lib.LoroDoc()
        self.doc.peer_id = 1
        self.root_events, self.map_events = [], []
        self.subs = [self.doc.subscribe_root(lambda e: self.root_events.append(comparable(nev(e)))),
                     self.doc.subscribe(lib.ContainerID.Root("m", lib.ContainerType.Map()),
                                        lambda e: self.map_events.append(comparable(nev(e))))]
        self.stream = self.doc.events(maxsize=100_000) if lib is loro_c else None
        self.undo = lib.UndoManager(self.doc)     # the server's own edits only

    def heard(self):
        return len(self.root_events), len(self.map_events)


def drain(stream):
    async def read():
        got = []
        stream.close()
        async for ev in stream:
            got.append(comparable(nev(ev)))
        return got
    return asyncio.run(read())


@pytest.mark.parametrize("seed", range(int(os.environ.get("LORO_C_REJECT_EVENT_SESSIONS", "16"))))
def test_a_subscribed_server_rejects_bad_changes_without_a_trace_in_its_events(seed):
    rng = random.Random(seed)
    clients = {lib: [] for lib in LIBS}
    for lib in LIBS:
        for i in range(3):
            c = lib.LoroDoc()
            c.peer_id = 100 + i
            clients[lib].append(c)
    server = {lib: Server(lib) for lib in LIBS}
    sent, rejected = [], 0
    for step in range(30):
        i = rng.randrange(3)
        s = rng.randrange(1 << 30)
        k = rng.randint(1, 5)
        for lib in LIBS:
            c = clients[lib][i]
            c.import_(server[lib].doc.export(lib.ExportMode.Updates(c.oplog_vv)))
            edit(s, c, k)
            c.commit()
        if rng.random() < 0.2:
            # the server's own edit, left open: the next import commits it first
            s = rng.randrange(1 << 30)
            for lib in LIBS:
                edit(s, server[lib].doc, 1)
        r = rng.random()
        if r < 0.25 and sent:
            blobs = rng.choice(sent)        # late or duplicated
            for lib in LIBS:
                server[lib].doc.import_(blobs[lib])
        elif r < 0.6:
            srv = server[loro_c]
            probe = loro_c.LoroDoc()
            probe.import_(clients[loro_c][i].export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
            probe.peer_id = 200 + step
            edit(rng.randrange(1 << 30), probe, 4)
            probe.get_map("m").insert_container("fresh", loro_c.LoroList()).insert(0, "x")
            probe.get_text("t").insert(0, "zz")
            probe.get_list("l").insert(0, 1)
            probe.commit()
            bad = corrupt_random_seq_op(
                probe.export_json_updates(srv.doc.oplog_vv, probe.oplog_vv), rng)
            for lib in LIBS:
                server[lib].doc.commit()    # the import would commit the open edit first
            before, heard = snapshot_of(srv.doc), srv.heard()
            with pytest.raises(loro_c.LoroError):
                srv.doc.import_json_updates(bad)
            with pytest.raises(BaseException):
                server[loro].doc.import_json_updates(bad)
            assert snapshot_of(srv.doc) == before
            assert srv.heard() == heard == server[loro].heard()
            srv.doc._check_invariants()
            rejected += 1
        blobs = {lib: clients[lib][i].export(lib.ExportMode.Updates(server[lib].doc.oplog_vv))
                 for lib in LIBS}
        sent.append(blobs)
        if rng.random() < 0.8:
            for lib in LIBS:
                server[lib].doc.import_(blobs[lib])
        for lib in LIBS:
            server[lib].doc.commit()
        assert server[loro_c].root_events == server[loro].root_events, f"step {step}"
        assert server[loro_c].map_events == server[loro].map_events, f"step {step}"
    assert rejected > 0
    # the server's own edits undo as loro's do, around the imports and rejections
    for _ in range(3):
        assert server[loro_c].undo.can_undo() == server[loro].undo.can_undo()
        for lib in LIBS:
            server[lib].undo.undo()
        assert server[loro_c].root_events == server[loro].root_events
    assert server[loro_c].doc.get_deep_value() == server[loro].doc.get_deep_value()
    srv = server[loro_c]
    mirror = {}
    for ev in srv.root_events:
        apply_event(mirror, ev)
    assert shown(mirror) == shown(srv.doc.get_deep_value())
    assert drain(srv.stream) == srv.root_events
    assert srv.doc._stats()["state_rebuilds"] == 0
