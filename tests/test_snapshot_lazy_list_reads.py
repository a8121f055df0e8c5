"""After a snapshot load, a list's `len`, `lst[i]`, `get(i)`, `to_vec` and a map's `len`,
`in` and `m[key]` read only that container's own state: the list's sequence (built with
the containers' registration) and its items, a child map named by an item registered alone
with its state still encoded (loro likewise decodes a container when it is first read).
What they answer, and what the document does afterwards (edits, imports, checkouts,
events, exports), must be what a document that decoded everything first shows, and what
loro shows."""
import pytest

import loro
import loro_c

from test_snapshot_lazy_maps import _plain
from test_snapshot_lazy_registration import _events


def _listed(mod, n):
    doc = mod.LoroDoc()
    doc.peer_id = 6
    rows = doc.get_list("rows")
    for i in range(n):
        if i % 9 == 4:
            rows.push(i)                # (plain items between the records)
            continue
        rec = rows.push_container(mod.LoroMap())
        rec.insert("v", i)
        rec.insert("s", f"x{i}")
        if i % 4 == 0:
            rec.insert_container("sub", mod.LoroMap()).insert("w", -i)
    doc.commit()
    rows.delete(1, 1)                   # (a dead record: its state is listed all the same)
    doc.get_map("meta").insert("title", "t")
    doc.commit()
    return doc


def _load(mod, blob, eager=False):
    d = mod.LoroDoc()
    d.import_(blob)
    if eager and mod is loro_c:
        d._check_invariants()       # (decodes every state; a list's deep read leaves them)
        assert d._state_decoded
    return d


@pytest.fixture(scope="module", params=[24, 100])
def blobs(request):
    n = request.param
    return {"n": n,
            "loro_c": _listed(loro_c, n).export(loro_c.ExportMode.Snapshot()),
            "loro": _listed(loro, n).export(loro.ExportMode.Snapshot())}


def _item(v):
    """A list item as a comparable value: a plain value, or a container's id and value."""
    if v is None:
        return None
    if hasattr(v, "container"):
        c = v.container
        return ("container", type(c).__name__, _plain(c.id), _plain(c.get_value()))
    return ("value", _plain(v.value))


def _reads(d, n):
    rows = d.get_list("rows")
    out = [len(rows), rows.is_empty(), _plain(rows.to_vec())]
    for i in (0, 3, 4, n - 2, n - 1, n, n + 5):
        out.append(_item(rows.get(i)))
        try:
            out.append(_item(rows[i]))
        except IndexError:
            out.append("IndexError")
    return out


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_list_reads_leave_the_records_encoded(blobs, who):
    blob, n = blobs[who], blobs["n"]
    d, eager, ref = _load(loro_c, blob), _load(loro_c, blob, True), _load(loro, blob)
    rows = d.get_list("rows")
    left = d._maps_encoded
    assert len(rows) == len(ref.get_list("rows"))
    assert rows[0].container.get_value() is not None
    assert rows.get(2).container is not None
    assert not d._state_decoded
    # only the records named were touched
    assert d._maps_encoded == left
    assert _reads(d, n) == _reads(ref, n) == _reads(eager, n)
    assert not d._state_decoded
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()


def test_list_handles_compare_as_before(blobs):
    blob = blobs["loro_c"]
    d = _load(loro_c, blob)
    rows = d.get_list("rows")
    a, b = rows[2].container, rows.get(2).container
    assert a == b and hash(a) == hash(b)
    assert a != rows[5].container
    a.get("v")
    d._check_invariants()                       # everything decoded: the same handle
    assert d._state_decoded
    c = rows[2].container
    assert c == a and hash(c) == hash(a)
    assert c.get_value() == a.get_value()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_map_len_in_and_getitem_leave_the_map_encoded(blobs, who):
    blob = blobs[who]
    d, eager, ref = _load(loro_c, blob), _load(loro_c, blob, True), _load(loro, blob)
    for doc in (d, eager, ref):
        rows = doc.get_list("rows")
        rec, sub_rec = rows[0].container, rows[8].container
        left = doc._maps_encoded if doc is d else None
        got = [len(rec), "v" in rec, "sub" in rec, "nope" in rec, "" in rec,
               rec["v"].value, rec["s"].value, _plain(rec["sub"].container.id),
               len(rows[2].container), "sub" in rows[2].container, len(sub_rec)]
        with pytest.raises(KeyError):
            rec["nope"]
        with pytest.raises(TypeError):
            5 in rec
        if doc is d:
            assert not d._state_decoded
            assert d._maps_encoded == left      # (each map read stays encoded)
            mine = got
        elif doc is eager:
            assert got == mine
        else:
            assert _plain(got) == _plain(mine)
    assert d.get_deep_value() == ref.get_deep_value()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_edits_after_lazy_list_reads(blobs, who):
    blob, n = blobs[who], blobs["n"]
    d, eager, ref = _load(loro_c, blob), _load(loro_c, blob, True), _load(loro, blob)
    for doc, mod in ((d, loro_c), (eager, loro_c), (ref, loro)):
        doc.peer_id = 9
        rows = doc.get_list("rows")
        assert len(rows) == n - 1
        rec = rows[5].container
        assert "v" in rec
        rec.insert("v", "edited")
        rows.insert(0, "head")
        rows.push_container(mod.LoroMap()).insert("k", 1)
        doc.commit()
    assert _plain(d.get_deep_value()) == _plain(ref.get_deep_value())
    assert _reads(d, n + 1) == _reads(eager, n + 1)
    assert _plain(_reads(d, n + 1)) == _plain(_reads(ref, n + 1))
    base = _load(loro_c, blob).oplog_vv
    assert d.export(loro_c.ExportMode.Updates(base)) == eager.export(loro_c.ExportMode.Updates(base))
    assert d.export(loro_c.ExportMode.Snapshot()) == eager.export(loro_c.ExportMode.Snapshot())
    assert d._loro_numbers() == eager._loro_numbers()
    d._check_invariants()


def _peer_update(mod, blob):
    other = _load(mod, blob)
    other.peer_id = 77
    rows = other.get_list("rows")
    rows[2].container.insert("v", -3)
    rows.delete(0, 1)
    rows.insert_container(2, mod.LoroMap()).insert("new", True)
    other.commit()
    return other.export(mod.ExportMode.Updates(_load(mod, blob).oplog_vv))


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_import_after_lazy_list_reads(blobs, who):
    blob, n = blobs[who], blobs["n"]
    d, ref = _load(loro_c, blob), _load(loro, blob)
    assert _plain(_reads(d, n)) == _plain(_reads(ref, n))
    assert not d._state_decoded
    assert _events(loro_c, d, lambda: d.import_(_peer_update(loro_c, blob))) == \
        _events(loro, ref, lambda: ref.import_(_peer_update(loro, blob)))
    assert _plain(_reads(d, n)) == _plain(_reads(ref, n))
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()


@pytest.mark.parametrize("who", ["loro_c", "loro"])
def test_checkout_after_lazy_list_reads(blobs, who):
    blob, n = blobs[who], blobs["n"]
    d, ref = _load(loro_c, blob), _load(loro, blob)
    assert _plain(_reads(d, n)) == _plain(_reads(ref, n))
    rec = d.get_list("rows")[0].container
    assert len(rec) == 3 and "sub" in rec
    got = _events(loro_c, d, lambda: d.checkout(loro_c.Frontiers.from_id(loro_c.ID(6, 10))))
    want = _events(loro, ref, lambda: ref.checkout(loro.Frontiers.from_id(loro.ID(6, 10))))
    assert got == want
    assert _plain(_reads(d, n)) == _plain(_reads(ref, n))
    d.checkout_to_latest()
    ref.checkout_to_latest()
    assert _plain(_reads(d, n)) == _plain(_reads(ref, n))
    assert d.get_deep_value() == ref.get_deep_value()
    d._check_invariants()
