"""Seed examples per container, each checked against loro's answer for the same calls."""
import pytest

import loro
import loro_c

LIBS = (loro, loro_c)


def both(fn):
    """Run fn(lib) in loro and loro_c and return the two results."""
    return [fn(lib) for lib in LIBS]


def unwrap(v):
    if v is None:
        return None
    if hasattr(v, "value") and not hasattr(v, "increment"):
        return v.value
    return ("container", type(v.container).__name__)


def test_text_reads():
    def run(lib):
        doc = lib.LoroDoc()
        doc.peer_id = 1
        t = doc.get_text("t")
        t.insert(0, "héllo😀 wörld")
        t.push_str("!")
        t.delete(2, 2)
        return (t.to_string(), t.slice(1, 5), t.char_at(4), t.len_unicode, t.len_utf8,
                t.len_utf16, len(t), t.is_empty(), t.splice(0, 2, "J"), t.to_string())
    ours, ref = both(run)
    assert ours == ref


def test_text_unit_offsets():
    def run(lib):
        doc = lib.LoroDoc()
        t = doc.get_text("t")
        t.insert(0, "a😀bé中c")
        t.insert_utf16(3, "X")     # after the surrogate pair
        t.insert_utf8(1, "Y")      # before the emoji (1 byte in)
        t.delete_utf16(0, 1)
        t.delete_utf8(len("Y😀".encode()), 1)
        return t.to_string(), t.len_utf8, t.len_utf16
    ours, ref = both(run)
    assert ours == ref


@pytest.mark.parametrize("call", [
    lambda t: t.insert_utf16(2, "x"),      # inside the surrogate pair of 😀
    lambda t: t.insert_utf8(2, "x"),       # inside the 4-byte 😀
    lambda t: t.delete_utf8(1, 2),         # ends inside 😀
])
def test_text_offsets_inside_a_code_point_are_rejected(call):
    doc = loro_c.LoroDoc()
    t = doc.get_text("t")
    t.insert(0, "a😀b")
    with pytest.raises(loro_c.OutOfBoundsError):
        call(t)
    assert t.to_string() == "a😀b"


def test_list_reads_and_nested_containers():
    def run(lib):
        doc = lib.LoroDoc()
        doc.peer_id = 7
        lst = doc.get_list("l")
        lst.push(1)
        lst.push("two")
        lst.insert(1, {"k": [1.5, None, True]})
        child = lst.insert_container(0, lib.LoroText())
        child.insert(0, "inner")
        m = lst.push_container(lib.LoroMap())
        m.insert("x", b"\x00\xff")
        doc.commit()
        popped = lst.pop()
        return ([unwrap(lst.get(i)) for i in range(len(lst))], lst.get(99), len(lst),
                lst.is_empty(), doc.get_deep_value(), (popped.peer, popped.counter),
                lst.get_deep_value(), (child.id.peer, child.id.counter))
    ours, ref = both(run)
    assert ours == ref


def test_map_reads():
    def run(lib):
        doc = lib.LoroDoc()
        doc.peer_id = 3
        m = doc.get_map("m")
        m.insert("a", 1)
        m.insert("b", [1, 2])
        m.insert("c", None)
        m.delete("a")
        sub = m.get_or_create_container("sub", lib.LoroList())
        sub.push("x")
        again = m.get_or_create_container("sub", lib.LoroList())
        again.push("y")
        doc.commit()
        return (sorted(m.keys()), sorted((repr(unwrap(v)) for v in m.values()), key=str),
                unwrap(m.get("b")), m.get("a"), len(m), m.is_empty(), doc.get_deep_value())
    ours, ref = both(run)
    assert ours == ref


def test_map_get_or_create_refuses_a_value():
    doc = loro_c.LoroDoc()
    m = doc.get_map("m")
    m.insert("k", 1)
    with pytest.raises(loro_c.ContainerMismatchError):
        m.get_or_create_container("k", loro_c.LoroText())


def test_counter():
    def run(lib):
        doc = lib.LoroDoc()
        c = doc.get_counter("c")
        c.increment(3)
        c.decrement(0.5)
        c.increment(-1)
        return c.value, doc.get_deep_value()
    ours, ref = both(run)
    assert ours == ref


def test_detached_containers_are_copied_on_insert():
    def run(lib):
        doc = lib.LoroDoc()
        doc.peer_id = 2
        t = lib.LoroText()
        t.insert(0, "draft")
        lst = lib.LoroList()
        lst.push(1)
        cnt = lib.LoroCounter()
        cnt.increment(4)
        m = doc.get_map("m")
        m.insert_container("t", t)
        m.insert_container("l", lst)
        m.insert_container("c", cnt)
        doc.commit()
        return doc.get_deep_value(), doc.len_ops, t.is_attached
    ours, ref = both(run)
    assert ours == ref


def test_wrong_value_types_raise_and_change_nothing():
    doc = loro_c.LoroDoc()
    m = doc.get_map("m")
    m.insert("ok", 1)
    for bad in (object(), {1: "int key"}, [1, object()], 2**64, {1, 2}):
        with pytest.raises(loro_c.LoroTypeError):
            m.insert("bad", bad)
    assert doc.get_deep_value() == {"m": {"ok": 1}}
    with pytest.raises(loro_c.LoroTypeError):
        doc.get_list("l").push(object())
    with pytest.raises(loro_c.LoroTypeError):
        doc.get_text("t").insert("0", "x")


def test_root_names_are_validated_and_strings_are_names():
    doc = loro_c.LoroDoc()
    for bad in ("", "a/b", "nul\0"):
        with pytest.raises(loro_c.LoroValueError):
            doc.get_text(bad)
    # like loro, a "cid:" string is just a root name
    t = doc.get_text("cid:0@7:List")
    assert isinstance(t.id, loro_c.ContainerID.Root) and t.id.name == "cid:0@7:List"
    # a root id includes its type, so a List root of the same name is another container
    assert doc.get_list("cid:0@7:List").id != t.id


def test_versions_and_frontiers():
    def run(lib):
        doc = lib.LoroDoc()
        doc.peer_id = 4
        doc.get_text("t").insert(0, "abc")
        before_commit = (doc.len_changes, doc.len_ops)
        doc.commit()
        doc.get_text("t").insert(3, "d")
        doc.commit()
        doc.set_next_commit_message("msg")
        doc.get_text("t").insert(4, "e")
        doc.commit()
        vv = doc.oplog_vv
        return (before_commit, doc.len_changes, doc.len_ops, vv.get_last(4),
                [(i.peer, i.counter) for i in _ids(lib, doc.oplog_frontiers)],
                doc.frontiers_to_vv(doc.oplog_frontiers) == vv)
    ours, ref = both(run)
    assert ours == ref


def _ids(lib, frontiers):
    if lib is loro:
        return [lib.ID(int(s.split("@")[1]), int(s.split("@")[0]))
                for s in str(frontiers)[len("Frontiers(["):-2].split(", ")]
    return list(frontiers)


def test_lone_surrogates_are_refused_at_the_boundary():
    """Loro text is UTF-8, so a lone surrogate could never be exported: refuse it up front."""
    doc = loro_c.LoroDoc()
    t = doc.get_text("t")
    t.insert(0, "ok")
    with pytest.raises(loro_c.LoroValueError):
        t.insert(1, "a\ud800b")
    assert t.to_string() == "ok"
    doc.commit()
    blob = doc.export(loro_c.ExportMode.Updates(loro_c.VersionVector()))
    other = loro.LoroDoc()
    other.import_(blob)
    assert other.get_text("t").to_string() == "ok"
