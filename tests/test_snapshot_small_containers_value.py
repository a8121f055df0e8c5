"""A snapshot of many small lists and texts under one map, loaded and then read whole: the
deferred build decodes each of them (their peer tables shared while the bytes are the
same, a plain text's marks read without lists, the rows untracked by the collector) and
the deep read takes the child lists its numbering walk read. loro's rules pinned here: the
first deep value of a loaded snapshot is the state it holds (each list's value a private
copy), the containers it reaches are numbered as loro's arena numbers them (the order of
a later event's diffs), later reads, checkouts and events are loro's, and a state with
one lying entry is refused at the import with the document left as it was."""
import pytest

import loro
import loro_c
from loro_c import _codec

from _events_util import nev
from test_snapshot_state_load import _with_state, _expect_error_empty
from test_snapshot_lazy_lists import _load
from test_snapshot_lazy_maps import _plain
from test_snapshot_lazy_seq_checks import fill_small


N = 90      # (over 64: the presized registry and the bulk registration paths)


def _small(mod):
    """A map of N small lists and texts by peer 7, some edited by peer 8 (other peer
    tables, interleaved with the shared one), a list of nested values, a list naming a
    child map, a marked text and an emptied one."""
    doc = mod.LoroDoc()
    doc.peer_id = 7
    m = doc.get_map("m")
    fill_small(mod, m, N, lambda i: f"t{i} é" if i % 10 == 0 else f"t{i}")
    nested = m.insert_container("nested", mod.LoroList())
    nested.push([1, [2, 3]])
    nested.push({"a": [4]})
    holder = m.insert_container("holder", mod.LoroList())
    holder.push(5)
    holder.insert_container(1, mod.LoroMap()).insert("x", 6)
    m.insert_container("marked", mod.LoroText()).insert(0, "bold here")
    m.get("marked").container.mark(0, 4, "bold", True)
    m.insert_container("emptied", mod.LoroText()).insert(0, "gone")
    m.get("emptied").container.delete(0, 4)
    doc.commit()
    first = doc.state_frontiers.encode()
    other = mod.LoroDoc()
    other.peer_id = 8
    other.import_(doc.export(mod.ExportMode.Snapshot()))
    om = other.get_map("m")
    for i in range(0, N, 7):
        c = om.get(f"l{i}" if i % 2 else f"t{i}").container
        if i % 2:
            c.push("eight")
        else:
            c.insert(0, "8")
    other.commit()
    doc.import_(other.export(mod.ExportMode.Updates(doc.oplog_vv)))
    return doc, first


@pytest.fixture(scope="module")
def blobs():
    out = {}
    for mod in (loro_c, loro):
        doc, first = _small(mod)
        out[mod.__name__] = (doc.export(mod.ExportMode.Snapshot()), first)
    return out


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_the_first_deep_value_is_the_state_and_numbers_as_the_eager_load(blobs, who):
    blob = blobs[who][0]
    d = _load(loro_c, blob)
    assert not d._state_decoded
    got = d.get_deep_value()
    eager = _load(loro_c, blob, eager=True)
    assert got == eager.get_deep_value() == _load(loro, blob).get_deep_value()
    assert d._loro_numbers() == eager._loro_numbers()
    # (each read's lists are its own: the numbering walk's copies are handed out once)
    got["m"]["nested"][0][1].append(99)
    got["m"]["l1"].append(99)
    again = d.get_deep_value()
    assert again == eager.get_deep_value()
    assert again["m"]["l1"] is not got["m"]["l1"]
    d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_reads_checkouts_and_events_after_the_first_deep_value_are_loros(blobs, who):
    blob, first = blobs[who]
    docs = [_load(loro_c, blob), _load(loro, blob)]
    got = []
    for mod, d in zip((loro_c, loro), docs):
        d.get_deep_value()
        m = d.get_map("m")
        reads = (m.get("t0").container.to_string(), m.get("l7").container.get_value(),
                 m.get("marked").container.get_richtext_value(), m.get("holder").container.get_deep_value())
        seen = []
        sub = d.subscribe_root(lambda e, seen=seen: seen.append(nev(e)))
        d.peer_id = 9
        m.get("t14").container.insert(0, "nine")
        m.get("l21").container.insert(0, "nine")
        m.insert("new", 1)
        d.commit()
        sub.unsubscribe()
        d.checkout(mod.Frontiers.decode(first))
        got.append(_plain((reads, seen, d.get_deep_value())))
    assert got[0] == got[1]
    docs[0]._check_invariants()


def test_a_checkout_before_any_read_sees_the_loaded_texts(blobs):
    """The texts' runs a load notes (read at a checkout) are the state's."""
    blob, first = blobs["loro_c"]
    values = []
    for mod in (loro_c, loro):
        d = _load(mod, blob)
        d.checkout(mod.Frontiers.decode(first))
        values.append(d.get_deep_value())
        d.checkout_to_latest()
        values.append(d.get_map("m").get("t0").container.to_string())
    assert values[:2] == values[2:]


def _entry_of(blob, name):
    d = loro_c.LoroDoc()
    d.import_(blob)
    key = d.get_map("m").get(name).container.id.to_bytes()
    entries = _codec._state_section_entries(blob)
    return entries, [i for i, (k, _) in enumerate(entries) if k == key][0]


@pytest.mark.parametrize("name", ["t2", "l3", "t4"])
def test_an_entry_whose_peer_table_lies_is_refused_whole(blobs, name):
    """One small text's or list's peer table names a peer the history lacks, the entries
    around it with the shared table intact: the import refuses the whole section."""
    blob = blobs["loro_c"][0]
    entries, k = _entry_of(blob, name)
    value = entries[k][1]
    peer7 = (7).to_bytes(8, "little")
    at = value.index(peer7)
    edited = value[:at] + (77).to_bytes(8, "little") + value[at + 8:]
    data = _with_state(blob, entries[:k] + [(entries[k][0], edited)] + entries[k + 1:])
    assert not _codec._state_section_ok(data)
    _expect_error_empty(data)


def test_an_entry_whose_table_names_its_peer_twice_is_refused_whole(blobs):
    """A table of two peers (the same one twice) after tables of one: not the shared
    list, refused as a peer named twice."""
    blob = blobs["loro_c"][0]
    entries, k = _entry_of(blob, "t2")
    value = entries[k][1]
    peer7 = (7).to_bytes(8, "little")
    at = value.index(b"\x01" + peer7)
    edited = value[:at] + b"\x02" + peer7 + peer7 + value[at + 9:]
    data = _with_state(blob, entries[:k] + [(entries[k][0], edited)] + entries[k + 1:])
    _expect_error_empty(data)


KEYS = ["", "a", "a\x00", "a\x00b", "abcdefgh", "abcdefghi", "abcdefgh\x00", "abcdefgg~",
        "aé", "abcdefghé", "\x7f", "\x80x", "ÿ", "k1", "k10", "k2", "😀", "abcdefgh😀"]


def _keyed(mod, keys):
    doc = mod.LoroDoc()
    doc.peer_id = 3
    m = doc.get_map("m")
    for i in range(70):
        m.insert_container(f"c{i}", mod.LoroList()).push(i)
    for k in keys:
        m.insert_container(k, mod.LoroText()).insert(0, k or "-")
    doc.commit()
    return doc.export(mod.ExportMode.Snapshot())


@pytest.mark.parametrize("wide", [True, False])
def test_a_holder_maps_keys_sorted_for_the_walk_and_the_value(wide):
    """Keys sharing 8-byte prefixes, with NULs, one byte and wider: the deep value's keys in
    code point order (the prefixes compared as integers decide as the str would), numbered
    as the eager load numbers them, and a later event's diffs in loro's order."""
    keys = KEYS if wide else [k for k in KEYS if all(ord(ch) < 256 for ch in k)]
    blob = _keyed(loro_c, keys)
    d = _load(loro_c, blob)
    v = d.get_deep_value()
    assert list(v["m"]) == sorted(v["m"])
    eager = _load(loro_c, blob, eager=True)
    assert v == eager.get_deep_value() == _load(loro, blob).get_deep_value()
    assert d._loro_numbers() == eager._loro_numbers()
    seen = []
    for mod, doc in ((loro_c, d), (loro, _load(loro, blob))):
        doc.get_deep_value()
        got = []
        sub = doc.subscribe_root(lambda e, got=got: got.append(nev(e)))
        doc.peer_id = 4
        m = doc.get_map("m")
        for k in reversed(keys):
            m.get(k).container.insert(0, "x")
        doc.commit()
        sub.unsubscribe()
        seen.append(got)
    assert seen[0] == seen[1]
