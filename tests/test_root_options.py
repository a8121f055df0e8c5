"""delete_root_container and set_hide_empty_root_containers against loro: the ops the clear
makes (map keys deleted before included, counters brought to zero), which roots the deep
value lists before and after new content, and what a fork carries over."""
import random

import loro
import pytest

import loro_c

KINDS = {"m": "Map", "t": "Text", "l": "List", "c": "Counter", "e": "Map"}


def session(lib, seed):
    rng = random.Random(seed)
    d = lib.LoroDoc()
    d.peer_id = 1
    m, t, l, c = d.get_map("m"), d.get_text("t"), d.get_list("l"), d.get_counter("c")
    d.get_map("e")
    for _ in range(8):
        k = rng.choice("abcd")
        if rng.random() < 0.7:
            m.insert(k, rng.random())
        elif m.get(k) is not None:
            m.delete(k)
    t.insert(0, "hello")
    l.insert(0, 1)
    c.increment(rng.choice([0, 2.5]))
    d.commit()
    out = []
    for name in rng.sample(sorted(KINDS), 3):
        d.delete_root_container(lib.ContainerID.Root(name, getattr(lib.ContainerType, KINDS[name])()))
    out.append(d.get_pending_txn_len())
    d.commit()
    out += [d.get_deep_value(), sorted(d.get_value())]
    d.set_hide_empty_root_containers(True)
    out.append(d.get_deep_value())
    d.get_text("t").insert(0, "x")
    d.commit()
    out += [d.get_deep_value(), d.fork().get_deep_value(), bytes(d.oplog_vv.encode())]
    other = lib.LoroDoc()
    other.import_(d.export(lib.ExportMode.Updates(lib.VersionVector())))
    out.append(other.get_deep_value())
    return out


@pytest.mark.parametrize("seed", range(40))
def test_root_options_match_loro(seed):
    assert session(loro_c, seed) == session(loro, seed)


def test_other_ids_and_unknown_roots_are_ignored():
    for lib in (loro, loro_c):
        d = lib.LoroDoc()
        child = d.get_map("m").insert_container("x", lib.LoroList())
        child.insert(0, 1)
        d.commit()
        d.delete_root_container(child.id)
        d.delete_root_container(lib.ContainerID.Root("never", lib.ContainerType.Text()))
        assert d.get_pending_txn_len() == 0
        assert d.get_deep_value() == {"m": {"x": [1]}}
