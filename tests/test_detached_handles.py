"""Detached container handles (`LoroMap()`, `LoroText()`...) against loro.

loro_c makes a detached handle's private document only when the handle is first used, so
these cover both sides of that line: handles inserted untouched (every kind, nested),
handles read or edited before they are inserted, and what a fresh loro document makes of
each side's export. Also the ids the engine builds for new containers (without
ContainerID.Normal's checks): equal to, and hashing as, the checked ones.
"""
import pickle

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)
KINDS = ("LoroMap", "LoroList", "LoroText", "LoroMovableList", "LoroTree", "LoroCounter")


def exported(lib, doc):
    """What a fresh loro document makes of `doc`'s updates."""
    blob = doc.export(lib.ExportMode.Updates(lib.VersionVector()))
    back = loro.LoroDoc()
    back.import_(blob)
    return back.get_deep_value(), back.oplog_vv.encode()


@pytest.mark.parametrize("kind", KINDS)
def test_untouched_detached_inserted_everywhere(kind):
    def run(lib):
        doc = lib.LoroDoc()
        doc.peer_id = 7
        m = doc.get_map("m")
        a = m.insert_container("a", getattr(lib, kind)())
        lst = doc.get_list("l")
        b = lst.insert_container(0, getattr(lib, kind)())
        ml = doc.get_movable_list("ml")
        c = ml.insert_container(0, getattr(lib, kind)())
        ml.set_container(0, getattr(lib, kind)())
        doc.commit()
        # (loro's LoroCounter has no is_attached)
        flags = None if kind == "LoroCounter" else (a.is_attached, b.is_attached, c.is_attached)
        return (doc.get_deep_value(), exported(lib, doc), flags,
                (a.id.peer, a.id.counter), (b.id.peer, b.id.counter))
    assert run(loro) == run(loro_c)


def test_detached_read_before_insert():
    def run(lib):
        doc = lib.LoroDoc()
        doc.peer_id = 3
        out = []
        for kind in ("LoroMap", "LoroList", "LoroText", "LoroMovableList", "LoroCounter"):
            h = getattr(lib, kind)()
            flag = None if kind == "LoroCounter" else h.is_attached
            if kind == "LoroText":
                out.append((flag, h.to_string(), h.len_unicode))
            elif kind == "LoroCounter":
                out.append((flag, h.value))
            else:
                out.append((flag, h.get_value(), h.get_deep_value(), len(h)))
            doc.get_map("m").insert_container(kind, h)
        doc.commit()
        return out, doc.get_deep_value(), exported(lib, doc)
    assert run(loro) == run(loro_c)


def test_detached_edited_then_inserted_nested():
    def run(lib):
        doc = lib.LoroDoc()
        doc.peer_id = 5
        outer = lib.LoroMap()
        outer.insert("k", 1)
        inner = outer.insert_container("inner", lib.LoroList())
        inner.insert(0, "x")
        outer.insert_container("empty", lib.LoroText())
        text = lib.LoroText()
        text.insert(0, "hello")
        counter = lib.LoroCounter()
        counter.increment(2.5)
        attached = doc.get_list("l").insert_container(0, outer)
        doc.get_list("l").insert_container(1, text)
        doc.get_list("l").insert_container(2, counter)
        doc.commit()
        return (outer.get_deep_value(), attached.get_deep_value(), text.to_string(),
                doc.get_deep_value(), exported(lib, doc))
    assert run(loro) == run(loro_c)


def test_fresh_detached_handles_compare_as_distinct():
    for lib in LIBS:
        a, b = lib.LoroMap(), lib.LoroMap()
        assert a == a and hash(a) == hash(a)
        assert a != b
        assert len({a, a}) == 1


def test_engine_made_ids_equal_checked_ids():
    doc = loro_c.LoroDoc()
    doc.peer_id = 2**64 - 2
    m = doc.get_map("m")
    kids = [m.insert_container(f"k{i}", getattr(loro_c, kind)()) for i, kind in enumerate(KINDS)]
    for kid in kids:
        cid = kid.id
        same = loro_c.ContainerID.Normal(cid.peer, cid.counter, cid.container_type)
        assert cid == same and hash(cid) == hash(same)
        assert {same: 1}[cid] == 1
        assert pickle.loads(pickle.dumps(cid)) == cid
        assert repr(cid) == repr(same) and str(cid) == str(same)
        assert loro_c.ContainerID.parse(str(cid)) == cid
    unknown = loro_c.ContainerType.Unknown(9)
    assert hash(unknown) == hash(loro_c.ContainerType.Unknown(9))
    assert unknown != loro_c.ContainerType.Unknown(10)
    a = loro_c.ContainerID.Normal(1, 2, unknown)
    assert a == loro_c.ContainerID.Normal(1, 2, loro_c.ContainerType.Unknown(9))
    assert hash(a) == hash(loro_c.ContainerID.Normal(1, 2, loro_c.ContainerType.Unknown(9)))
    assert a != loro_c.ContainerID.Normal(1, 2, loro_c.ContainerType.Map())
