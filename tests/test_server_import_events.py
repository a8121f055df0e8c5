"""A server's imports of one client change at a time, subscribed, against loro: the
paths the benches' ``server import`` rows take (benches/events.py server_inputs).

- A tree's sibling lists kept sorted during an import's diff are numbered again only from
  the first place a move changed (TreeMoves.end_sorted): nodes created at the end of a long
  list, at its start, in its middle, moves and deletes, then every node's index, children
  and the events must be loro's.
- An import that is one change right after the version before answers loro's meet search
  without a search (_events.one_change_after); run in a subprocess with
  LORO_C_CHECK_ONE_CHANGE=1, which makes every such answer assert the search's.
"""
import os
import random
import subprocess
import sys

import loro
import loro_c
import pytest

from _events_util import nev


def _server_and_clients(mod, n_clients, build):
    server = mod.LoroDoc()
    server.peer_id = 100
    build(server)
    server.commit()
    clients = []
    for i in range(n_clients):
        c = mod.LoroDoc()
        c.peer_id = i + 1
        c.import_(server.export(mod.ExportMode.Snapshot()))
        clients.append(c)
    events = []
    sub = server.subscribe_root(lambda e: events.append(nev(e)))
    return server, clients, events, sub


def _tree_step(mod, t, rng):
    nodes = [n for n in t.nodes() if not t.is_node_deleted(n)]
    r = rng.random()
    roots = t.roots
    if r < 0.3 or not nodes:
        t.create(None)                                  # at the end of the roots
    elif r < 0.45:
        t.create_at(0, None)                            # at the start
    elif r < 0.6:
        t.create_at(rng.randint(0, len(roots)), None)   # in the middle
    elif r < 0.7:
        t.create(rng.choice(nodes))
    elif r < 0.85:
        node = rng.choice(nodes)
        try:
            t.mov_to(node, rng.randint(0, len(roots) - 1), None) if rng.random() < 0.5 \
                else t.mov(node, None)
        except BaseException:
            pass
    else:
        t.delete(rng.choice(nodes))


def _tree_shape(t):
    """Every live node's (id, index among its siblings, fractional index, parent)."""
    out = []
    for node in t.get_nodes(False):
        out.append(((node.id.peer, node.id.counter), node.index, node.fractional_index,
                     None if node.parent is None else (node.parent.peer, node.parent.counter)))
    return sorted(out)


@pytest.mark.parametrize("seed", range(6))
def test_a_server_imports_tree_changes_one_client_change_at_a_time_as_loro(seed):
    def build(doc):
        rng = random.Random(seed)
        t = doc.get_tree("t")
        made = []
        for _ in range(120):
            made.append(t.create(rng.choice(made) if made and rng.random() < 0.3 else None))
    runs = {}
    for mod in (loro, loro_c):
        rng = random.Random(1000 + seed)
        server, clients, events, sub = _server_and_clients(mod, 3, build)
        shapes = []
        for step in range(30):
            c = clients[step % 3]
            c.import_(server.export(mod.ExportMode.Updates(c.oplog_vv)))
            for _ in range(rng.randint(1, 4)):
                _tree_step(mod, c.get_tree("t"), rng)
            c.commit()
            server.import_(c.export(mod.ExportMode.Updates(server.oplog_vv)))
            shapes.append(_tree_shape(server.get_tree("t")))
        runs[mod.__name__] = (events, shapes, server.get_deep_value())
        del sub
    assert runs["loro_c"][0] == runs["loro"][0]
    assert runs["loro_c"][1] == runs["loro"][1]
    assert runs["loro_c"][2] == runs["loro"][2]


_CHECKED = r'''
import random, sys
sys.path.insert(0, sys.argv[1])
import loro, loro_c
from _events_util import nev
out = {}
for mod in (loro, loro_c):
    rng = random.Random(7)
    server = mod.LoroDoc()
    server.peer_id = 100
    server.get_map("m").insert("a", 1)
    server.commit()
    events = []
    sub = server.subscribe_root(lambda e: events.append(nev(e)))
    clients = []
    for i in range(3):
        c = mod.LoroDoc()
        c.peer_id = i + 1
        clients.append(c)
    for r in range(60):
        c = clients[rng.randrange(3) if r % 5 == 4 else r % 3]
        if r % 7 != 6:      # (now and then a client writes without the others' changes)
            c.import_(server.export(mod.ExportMode.Updates(c.oplog_vv)))
        c.get_map("m").insert(f"k{rng.randrange(12)}", rng.choice([r, r % 3, "x"]))
        if r % 2:
            c.get_list("l").insert(0, r)
        if r % 3 == 0:
            t = c.get_tree("t")
            t.create(None)
        if r % 4 == 0:
            c.get_map("m").get_or_create_container("child", mod.LoroMap()).insert("v", r)
        c.commit()
        server.import_(c.export(mod.ExportMode.Updates(server.oplog_vv)))
    out[mod.__name__] = (events, server.get_deep_value())
    del sub
assert out["loro_c"] == out["loro"], "events differ"
print("ok", len(out["loro"][0]))
'''


def test_an_import_of_one_change_after_the_version_skips_the_meet_search_as_it_would_answer():
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, LORO_C_CHECK_ONE_CHANGE="1")
    res = subprocess.run([sys.executable, "-c", _CHECKED, here], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.startswith("ok")


@pytest.mark.parametrize("n_writes", [5, 32, 33, 80])
def test_a_maps_import_event_lists_each_key_once_few_or_many_writes_as_loro(n_writes):
    # (map_diff keeps the keys it met in a C array up to 32 notes, a set beyond)
    out = {}
    for mod in (loro, loro_c):
        rng = random.Random(n_writes)
        server = mod.LoroDoc()
        server.peer_id = 100
        m = server.get_map("m")
        for i in range(40):
            m.insert(f"k{i}", i)
        server.commit()
        client = mod.LoroDoc()
        client.peer_id = 1
        client.import_(server.export(mod.ExportMode.Snapshot()))
        events = []
        sub = server.subscribe_root(lambda e: events.append(nev(e)))
        for step in range(3):
            cm = client.get_map("m")
            for _ in range(n_writes):
                k = f"k{rng.randrange(50)}"
                r = rng.random()
                if r < 0.2 and k in cm.keys():
                    cm.delete(k)
                elif r < 0.4:
                    cm.insert(k, int(k[1:]))       # (an equal value, sometimes)
                else:
                    cm.insert(k, rng.choice([step, "s", 1.5, None, [1, 2]]))
            client.commit()
            server.import_(client.export(mod.ExportMode.Updates(server.oplog_vv)))
        out[mod.__name__] = (events, server.get_deep_value())
        del sub
    assert out["loro_c"] == out["loro"]
