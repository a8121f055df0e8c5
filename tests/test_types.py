"""Tests for loro_c._types and loro_c.errors (cross-checked with ``loro``)."""

import itertools
import json
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loro
import loro_c
from loro_c import (
    ID,
    ContainerID,
    ContainerMismatchError,
    ContainerType,
    CounterSpan,
    DecodeError,
    ExportMode,
    Frontiers,
    IdSpan,
    ImportStatus,
    LoroError,
    LoroTypeError,
    LoroValueError,
    OutOfBoundsError,
    UnknownContainerError,
    ValueOrContainer,
    VersionRange,
    VersionVector,
    VersionVectorDiff,
)

U64_MAX = 2**64 - 1
I32_MAX = 2**31 - 1
I32_MIN = -(2**31)

SETTINGS = settings(deadline=None, max_examples=200,
                    suppress_health_check=[HealthCheck.too_slow])

KNOWN = [
    (ContainerType.Map, "Map", 0, 1),
    (ContainerType.List, "List", 1, 2),
    (ContainerType.Text, "Text", 2, 0),
    (ContainerType.Tree, "Tree", 3, 4),
    (ContainerType.MovableList, "MovableList", 4, 3),
    (ContainerType.Counter, "Counter", 5, 5),
]


def lvv(d):
    v = loro.VersionVector()
    for p, e in d.items():
        v.set_end(loro.ID(p, e))
    return v


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

class TestErrors:
    @pytest.mark.parametrize("cls, builtin", [
        (DecodeError, ValueError),
        (OutOfBoundsError, IndexError),
        (LoroTypeError, TypeError),
        (LoroValueError, ValueError),
        (ContainerMismatchError, TypeError),
        (UnknownContainerError, KeyError),
    ])
    def test_hierarchy(self, cls, builtin):
        assert issubclass(cls, LoroError) and issubclass(cls, builtin)
        assert issubclass(LoroError, Exception)
        assert cls.__doc__
        with pytest.raises(LoroError):
            raise cls("x")

    def test_module_docs(self):
        assert loro_c.errors.__doc__
        assert loro_c._types.__doc__


# ---------------------------------------------------------------------------
# ContainerType
# ---------------------------------------------------------------------------

class TestContainerType:
    @pytest.mark.parametrize("cls, name, raw, hist", KNOWN)
    def test_variants(self, cls, name, raw, hist):
        t = cls()
        assert isinstance(t, ContainerType) and isinstance(t, cls)
        assert t == cls() and hash(t) == hash(cls())
        assert str(t) == name == str(getattr(loro.ContainerType, name)())
        assert repr(t) == f"ContainerType.{name}()"
        assert t.name == name
        assert t.kind == raw == t.to_byte()
        assert t.to_historical_byte() == hist
        assert ContainerType.from_byte(raw) == t
        assert ContainerType.from_historical_byte(hist) == t
        assert ContainerType.from_name(name) == t
        assert not t.is_unknown()
        assert pickle.loads(pickle.dumps(t)) == t
        assert cls.__qualname__ == f"ContainerType.{name}"

    def test_distinct(self):
        types = [cls() for cls, *_ in KNOWN] + [ContainerType.Unknown(k) for k in (2, 6, 255)]
        for a, b in itertools.combinations(types, 2):
            assert a != b
        assert len(set(types)) == len(types)
        assert ContainerType.Text() != "Text"
        # as in loro, Unknown(2) is not Text
        assert ContainerType.Unknown(2) != ContainerType.Text()
        assert (loro.ContainerType.Unknown(2) == loro.ContainerType.Text()) is False

    def test_unknown(self):
        u = ContainerType.Unknown(7)
        assert isinstance(u, ContainerType) and isinstance(u, ContainerType.Unknown)
        assert u.kind == 7 and u.to_byte() == 7 and u.is_unknown()
        assert str(u) == "Unknown(7)" and repr(u) == "ContainerType.Unknown(7)"
        assert u == ContainerType.Unknown(7) and hash(u) == hash(ContainerType.Unknown(7))
        assert u != ContainerType.Unknown(8)
        assert ContainerType.from_byte(7) == u
        assert ContainerType.from_name("Unknown(7)") == u
        assert ContainerType.from_name("Unknown(2)") == ContainerType.Text()
        assert pickle.loads(pickle.dumps(u)) == u
        with pytest.raises(AttributeError):
            u.kind = 3

    @pytest.mark.parametrize("k", [-1, 256, 1.5, "1"])
    def test_unknown_range_mirrors_loro(self, k):
        try:
            loro.ContainerType.Unknown(k)
        except BaseException as e:
            expected = type(e)
        with pytest.raises(expected):
            ContainerType.Unknown(k)

    def test_base_not_instantiable(self):
        with pytest.raises(TypeError):
            ContainerType()
        with pytest.raises(TypeError):
            ContainerType.Text(1)

    def test_from_name(self):
        for alias, cls in [("map", ContainerType.Map), ("movableList", ContainerType.MovableList),
                           ("counter", ContainerType.Counter), ("text", ContainerType.Text)]:
            assert ContainerType.from_name(alias) == cls()
        for bad in ["", "TEXT", "Unknown", "Unknown()", "Unknown(256)", "Unknown(-1)",
                    "Unknown(x)", "Texts", " Text"]:
            with pytest.raises(LoroValueError):
                ContainerType.from_name(bad)
        with pytest.raises(LoroTypeError):
            ContainerType.from_name(2)

    def test_immutable(self):
        with pytest.raises(AttributeError):
            ContainerType.Text().foo = 1

    def test_match(self):
        match ContainerType.Unknown(9):
            case ContainerType.Unknown(kind):
                assert kind == 9
            case _:
                pytest.fail("no match")


# ---------------------------------------------------------------------------
# ContainerID
# ---------------------------------------------------------------------------

container_types = st.one_of(
    st.sampled_from([cls() for cls, *_ in KNOWN]),
    st.integers(6, 127).map(ContainerType.Unknown),
)
root_names = st.text(
    alphabet=st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)),
    min_size=1, max_size=12,
)
root_cids = st.builds(ContainerID.Root, root_names, container_types)
normal_cids = st.builds(ContainerID.Normal, st.integers(0, U64_MAX),
                        st.integers(I32_MIN, I32_MAX), container_types)
cids = st.one_of(root_cids, normal_cids)


class TestContainerID:
    def test_root(self):
        c = ContainerID.Root("t", ContainerType.Text())
        assert isinstance(c, ContainerID) and isinstance(c, ContainerID.Root)
        assert not isinstance(c, ContainerID.Normal)
        assert c.name == "t" and c.container_type == ContainerType.Text() and c.is_root
        assert str(c) == "cid:root-t:Text"
        assert repr(c) == "ContainerID.Root(name='t', container_type=Text)"
        assert c == ContainerID.Root(name="t", container_type=ContainerType.Text())
        assert c != ContainerID.Root("t", ContainerType.Map())
        assert c != ContainerID.Root("u", ContainerType.Text())
        assert hash(c) == hash(ContainerID.Root("t", ContainerType.Text()))

    def test_normal(self):
        c = ContainerID.Normal(7, 3, ContainerType.Map())
        assert isinstance(c, ContainerID.Normal) and not c.is_root
        assert (c.peer, c.counter, c.container_type) == (7, 3, ContainerType.Map())
        assert str(c) == "cid:3@7:Map"
        assert repr(c) == "ContainerID.Normal(peer=7, counter=3, container_type=Map)"
        assert c == ContainerID.Normal(7, 3, ContainerType.Map())
        assert c != ContainerID.Normal(7, 4, ContainerType.Map())
        assert c != ContainerID.Root("x", ContainerType.Map())
        assert len({c, ContainerID.Normal(7, 3, ContainerType.Map())}) == 1

    def test_base_not_instantiable(self):
        with pytest.raises(TypeError):
            ContainerID()

    @pytest.mark.parametrize("name", ["", "a/b", "/", "a\0b"])
    def test_invalid_root_names(self, name):
        with pytest.raises(LoroValueError):
            ContainerID.Root(name, ContainerType.Text())

    def test_root_name_checks(self):
        with pytest.raises(LoroTypeError):
            ContainerID.Root(b"x", ContainerType.Text())
        with pytest.raises(LoroValueError):
            ContainerID.Root("\ud800", ContainerType.Text())
        # mergeable names (reserved prefix) are valid container ids...
        ContainerID.Root("\U0001F91D:$m>key", ContainerType.Text())
        # ...but not valid user root names
        with pytest.raises(LoroValueError):
            loro_c._types.validate_root_name("\U0001F91D:$m>key")
        loro_c._types.validate_root_name("ok:name$>")

    def test_type_checks(self):
        with pytest.raises(LoroTypeError):
            ContainerID.Root("t", "Text")
        with pytest.raises(LoroTypeError):
            ContainerID.Root("t", ContainerType.Text)  # the class, not an instance
        with pytest.raises(LoroTypeError):
            ContainerID.Normal(1, 2, None)

    @pytest.mark.parametrize("peer, counter", [
        (-1, 0), (2**64, 0), (0, 2**31), (0, I32_MIN - 1), (1.0, 0), ("1", 0),
        (U64_MAX, I32_MAX), (0, I32_MIN), (True, 0),
    ])
    def test_normal_ranges_mirror_loro(self, peer, counter):
        expected = None
        try:
            loro.ContainerID.Normal(peer, counter, loro.ContainerType.Map())
        except BaseException as e:
            expected = type(e)
        if expected is None:
            c = ContainerID.Normal(peer, counter, ContainerType.Map())
            assert (c.peer, c.counter) == (peer, counter)
        else:
            with pytest.raises(expected):
                ContainerID.Normal(peer, counter, ContainerType.Map())

    def test_immutable(self):
        c = ContainerID.Root("t", ContainerType.Text())
        with pytest.raises(AttributeError):
            c.name = "u"
        n = ContainerID.Normal(1, 2, ContainerType.Text())
        with pytest.raises(AttributeError):
            n.peer = 3

    def test_match(self):
        match ContainerID.Normal(1, 2, ContainerType.Tree()):
            case ContainerID.Root(name, _):
                pytest.fail(name)
            case ContainerID.Normal(peer, counter, ct):
                assert (peer, counter, ct) == (1, 2, ContainerType.Tree())

    def test_parse(self):
        assert ContainerID.parse("cid:root-t:Text") == ContainerID.Root("t", ContainerType.Text())
        assert ContainerID.parse("cid:root-a:b:List") == ContainerID.Root("a:b", ContainerType.List())
        assert ContainerID.parse("cid:root-cid:root-x:Map:Map").name == "cid:root-x:Map"
        assert ContainerID.parse("cid:3@7:MovableList") == ContainerID.Normal(
            7, 3, ContainerType.MovableList())
        assert ContainerID.parse("cid:-1@0:Counter") == ContainerID.Normal(0, -1, ContainerType.Counter())
        assert ContainerID.parse(f"cid:{I32_MAX}@{U64_MAX}:Tree") == ContainerID.Normal(
            U64_MAX, I32_MAX, ContainerType.Tree())
        assert ContainerID.parse("cid:0@1:Unknown(9)") == ContainerID.Normal(1, 0, ContainerType.Unknown(9))
        assert ContainerID.parse("cid:0@1:text") == ContainerID.Normal(1, 0, ContainerType.Text())

    @pytest.mark.parametrize("s", [
        "", "cid:", "root-t:Text", "cid:root-:Text", "cid:root-t", "cid:root-t:Txt",
        "cid:root-a/b:Text", "cid:3@7", "cid:3@7:Map:Map", "cid:3:Map", "cid:@7:Map",
        "cid:3@:Map", "cid:x@7:Map", "cid:3@-7:Map", f"cid:{2**31}@1:Map",
        f"cid:0@{2**64}:Map", "cid:3@7:", " cid:3@7:Map", "\U0001F99C:cid:3@7:Map",
        "CID:3@7:Map", "cid:3 @7:Map",
    ])
    def test_parse_errors(self, s):
        with pytest.raises(LoroValueError):
            ContainerID.parse(s)

    def test_parse_type_error(self):
        with pytest.raises(LoroTypeError):
            ContainerID.parse(b"cid:root-t:Text")

    @given(cids)
    @SETTINGS
    def test_parse_roundtrip(self, c):
        assert ContainerID.parse(str(c)) == c

    def test_strings_from_loro_json(self):
        doc = loro.LoroDoc()
        doc.peer_id = 7
        m = doc.get_map("m:with:colons")
        for ctor in (loro.LoroList, loro.LoroMap, loro.LoroText, loro.LoroTree,
                     loro.LoroMovableList, loro.LoroCounter):
            m.insert_container(ctor.__name__, ctor())
        for name, getter in [("t", doc.get_text), ("l", doc.get_list), ("tr", doc.get_tree),
                             ("ml", doc.get_movable_list), ("c", doc.get_counter)]:
            getter(name)
        doc.get_text("t").insert(0, "x")
        doc.get_list("l").push(1)
        doc.get_movable_list("ml").push(1)
        doc.get_counter("c").increment(1)
        doc.get_tree("tr").create()
        doc.commit()
        data = json.loads(doc.export_json_updates(loro.VersionVector(), doc.oplog_vv))
        seen = set()
        for change in data["changes"]:
            for op in change["ops"]:
                seen.add(op["container"])
                v = op["content"].get("value")
                if isinstance(v, str) and v.startswith("\U0001F99C:"):
                    seen.add(v[len("\U0001F99C:"):])
        kinds = set()
        for s in seen:
            c = ContainerID.parse(s)
            assert str(c) == s
            kinds.add(c.container_type.name)
        assert kinds == {"Map", "List", "Text", "Tree", "MovableList", "Counter"}
        assert "cid:root-m:with:colons:Map" in seen

    def test_fields_match_loro_ids(self):
        doc = loro.LoroDoc()
        doc.peer_id = 2**64 - 2
        child = doc.get_map("m").insert_container("x", loro.LoroText())
        lid = child.id
        ours = ContainerID.Normal(lid.peer, lid.counter, ContainerType.from_name(str(lid.container_type)))
        assert ours == ContainerID.Normal(2**64 - 2, 0, ContainerType.Text())
        rid = doc.get_list("l").id
        assert ContainerID.Root(rid.name, ContainerType.from_name(str(rid.container_type))) == \
            ContainerID.Root("l", ContainerType.List())

    def test_to_bytes_layout(self):
        assert ContainerID.Root("t", ContainerType.Text()).to_bytes() == b"\x82\x01t"
        assert ContainerID.Root("é", ContainerType.Map()).to_bytes() == b"\x80\x02\xc3\xa9"
        long_name = "x" * 200
        assert ContainerID.Root(long_name, ContainerType.Counter()).to_bytes() == \
            b"\x85\xc8\x01" + long_name.encode()
        n = ContainerID.Normal(7, 3, ContainerType.MovableList())
        assert n.to_bytes() == bytes([4, 7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0])
        n = ContainerID.Normal(U64_MAX, -1, ContainerType.Unknown(9))
        assert n.to_bytes() == bytes([9]) + b"\xff" * 12

    @given(cids)
    @SETTINGS
    def test_bytes_roundtrip(self, c):
        data = c.to_bytes()
        assert ContainerID.from_bytes(data) == c
        for n in range(len(data)):
            with pytest.raises(DecodeError):
                ContainerID.from_bytes(data[:n])
        with pytest.raises(DecodeError):
            ContainerID.from_bytes(data + b"\x00")

    @pytest.mark.parametrize("data", [
        b"", b"\x82", b"\x82\x02t", b"\x82\x00", b"\x82\x01/", b"\x82\x02\xff\xfe",
        b"\x00" * 12, b"\x00" * 14, b"\x82" + b"\xff" * 11 + b"\x01",
    ])
    def test_from_bytes_malformed(self, data):
        with pytest.raises(DecodeError):
            ContainerID.from_bytes(data)

    @given(st.binary(max_size=20))
    @SETTINGS
    def test_from_bytes_random(self, data):
        try:
            c = ContainerID.from_bytes(data)
        except DecodeError:
            return
        # (over-long name lengths are accepted, so compare values, not bytes)
        assert ContainerID.from_bytes(c.to_bytes()) == c

    def test_pickle(self):
        for c in (ContainerID.Root("t", ContainerType.Text()),
                  ContainerID.Normal(U64_MAX, -3, ContainerType.Unknown(7))):
            assert pickle.loads(pickle.dumps(c)) == c


# ---------------------------------------------------------------------------
# CounterSpan / IdSpan
# ---------------------------------------------------------------------------

class TestSpans:
    def test_counter_span(self):
        s = CounterSpan(1, 5)
        assert (s.start, s.end) == (1, 5)
        assert s == CounterSpan(1, 5) and s != CounterSpan(5, 1)
        assert hash(s) == hash(CounterSpan(1, 5))
        assert repr(s) == "CounterSpan(start=1, end=5)"
        assert CounterSpan(5, 1).normalized() == (2, 6)
        assert CounterSpan(3, 3).normalized() == (3, 3)
        assert len(CounterSpan(5, 1)) == 4
        with pytest.raises(AttributeError):
            s.start = 3
        assert pickle.loads(pickle.dumps(s)) == s

    @pytest.mark.parametrize("args", [
        (0, 2**31), (I32_MIN - 1, 0), (1.0, 2), (-1, I32_MAX), (I32_MIN, I32_MAX), ("1", 2),
    ])
    def test_counter_span_ranges_mirror_loro(self, args):
        expected = None
        try:
            loro.CounterSpan(*args)
        except BaseException as e:
            expected = type(e)
        if expected is None:
            CounterSpan(*args)
        else:
            with pytest.raises(expected):
                CounterSpan(*args)

    def test_id_span(self):
        s = IdSpan(1, CounterSpan(1, 5))
        assert s.peer == 1 and s.counter == CounterSpan(1, 5)
        assert s == IdSpan(1, CounterSpan(1, 5)) and s != IdSpan(2, CounterSpan(1, 5))
        assert hash(s) == hash(IdSpan(1, CounterSpan(1, 5)))
        assert repr(s) == "IdSpan(peer=1, counter=CounterSpan(start=1, end=5))"
        assert len(s) == 4
        with pytest.raises(AttributeError):
            s.peer = 2
        assert pickle.loads(pickle.dumps(s)) == s
        with pytest.raises(TypeError):
            IdSpan(1, (1, 5))
        with pytest.raises(TypeError):
            loro.IdSpan(1, (1, 5))
        with pytest.raises(OverflowError):
            IdSpan(-1, CounterSpan(1, 5))
        IdSpan(U64_MAX, CounterSpan(1, 5))


# ---------------------------------------------------------------------------
# VersionRange
# ---------------------------------------------------------------------------

def lspan(p, s, e):
    return loro.IdSpan(p, loro.CounterSpan(s, e))


def cspan(p, s, e):
    return IdSpan(p, CounterSpan(s, e))


class TestVersionRange:
    def test_basics(self):
        r = VersionRange()
        assert r.is_empty and r.inner() == {} and repr(r) == "VersionRange({})" == str(loro.VersionRange())
        r.insert(7, 0, 6)
        assert not r.is_empty
        assert repr(r) == "VersionRange({7: (0, 6)})" == str(loro.VersionRange.from_map({7: (0, 6)}))
        assert r.get(7) == (0, 6) and r.get(8) is None
        r.insert(7, 6, 4)  # stored as given, replacing
        assert r.get(7) == (6, 4)
        r.insert(3, 4, 4)
        assert repr(r) == "VersionRange({3: (4, 4), 7: (6, 4)})"
        inner = r.inner()
        inner[99] = (0, 1)
        assert r.get(99) is None
        r.clear()
        assert r.is_empty

    def test_from_map_from_vv(self):
        m = {1: (0, 5), 2: (3, 4), 3: (5, 0), 4: (-5, 5)}
        assert VersionRange.from_map(m).inner() == loro.VersionRange.from_map(m).inner() == m
        assert VersionRange.from_map({1: [0, 5]}).inner() == {1: (0, 5)}
        with pytest.raises(OverflowError):
            VersionRange.from_map({-1: (0, 1)})
        with pytest.raises(OverflowError):
            VersionRange.from_map({1: (0, 2**31)})
        vv = VersionVector.from_dict({1: 5, 2: 3})
        assert VersionRange.from_vv(vv).inner() == {1: (0, 5), 2: (0, 3)} == \
            loro.VersionRange.from_vv(lvv({1: 5, 2: 3})).inner()

    def test_eq(self):
        a = VersionRange.from_map({1: (0, 5)})
        assert a == VersionRange.from_map({1: (0, 5)})
        assert a != VersionRange.from_map({1: (0, 4)})
        assert a != {1: (0, 5)}
        with pytest.raises(TypeError):
            hash(a)
        assert pickle.loads(pickle.dumps(a)) == a

    GRID = list(range(-3, 9)) + [I32_MIN, I32_MAX]
    RANGES = [None, (2, 5), (0, 5), (5, 2), (3, 3), (-1, 4), (0, I32_MAX), (I32_MAX, I32_MIN)]

    def test_span_methods_grid_vs_loro(self):
        bad = []
        for rng in self.RANGES:
            m = {} if rng is None else {1: rng, 2: (0, 3)}
            ours, theirs = VersionRange.from_map(m), loro.VersionRange.from_map(m)
            for s, e in itertools.product(self.GRID, self.GRID):
                for name in ("has_overlap_with", "contains_id_span"):
                    if getattr(ours, name)(cspan(1, s, e)) != getattr(theirs, name)(lspan(1, s, e)):
                        bad.append((name, m, s, e))
                o2, t2 = VersionRange.from_map(m), loro.VersionRange.from_map(m)
                o2.extends_to_include_id_span(cspan(1, s, e))
                t2.extends_to_include_id_span(lspan(1, s, e))
                if o2.inner() != t2.inner():
                    bad.append(("extends_to_include_id_span", m, s, e))
            for c in self.GRID:
                if ours.contains_id(ID(1, c)) != theirs.contains_id(loro.ID(1, c)):
                    bad.append(("contains_id", m, c))
        assert bad == []

    def test_contains_ops_between_grid_vs_loro(self):
        ends = [None, 1, 2, 3, 5, 6]
        bad = []
        for rng in self.RANGES:
            m = {} if rng is None else {1: rng}
            ours, theirs = VersionRange.from_map(m), loro.VersionRange.from_map(m)
            for x, y in itertools.product(ends, ends):
                da = {} if x is None else {1: x}
                db = {} if y is None else {1: y}
                a = ours.contains_ops_between(VersionVector.from_dict(da), VersionVector.from_dict(db))
                b = theirs.contains_ops_between(lvv(da), lvv(db))
                if a != b:
                    bad.append((m, da, db))
        assert bad == []

    @given(st.dictionaries(st.integers(0, 4), st.tuples(st.integers(-2, 8), st.integers(-2, 8)),
                           max_size=4),
           st.dictionaries(st.integers(0, 4), st.integers(1, 8), max_size=4),
           st.dictionaries(st.integers(0, 4), st.integers(1, 8), max_size=4))
    @SETTINGS
    def test_contains_ops_between_random(self, m, da, db):
        ours = VersionRange.from_map(m).contains_ops_between(
            VersionVector.from_dict(da), VersionVector.from_dict(db))
        assert ours == loro.VersionRange.from_map(m).contains_ops_between(lvv(da), lvv(db))

    def test_type_errors(self):
        r = VersionRange()
        with pytest.raises(TypeError):
            r.has_overlap_with((1, 2))
        with pytest.raises(TypeError):
            r.contains_id((1, 2))
        with pytest.raises(TypeError):
            r.contains_id_span(None)


# ---------------------------------------------------------------------------
# VersionVectorDiff, ImportStatus
# ---------------------------------------------------------------------------

class TestResults:
    def test_version_vector_diff(self):
        d = VersionVectorDiff(VersionRange.from_map({1: (0, 2)}), VersionRange())
        assert d.retreat.get(1) == (0, 2) and d.forward.is_empty
        assert repr(d) == "VersionVectorDiff(retreat=VersionRange({1: (0, 2)}), forward=VersionRange({}))"
        assert d == VersionVectorDiff(VersionRange.from_map({1: (0, 2)}), VersionRange())
        with pytest.raises(AttributeError):
            d.retreat = None

    def test_import_status(self):
        s = ImportStatus(VersionRange.from_map({1: (0, 2)}))
        assert s.pending is None
        assert repr(s) == "ImportStatus(success=VersionRange({1: (0, 2)}), pending=None)"
        p = ImportStatus(VersionRange(), VersionRange.from_map({1: (1, 2)}))
        assert p.pending.get(1) == (1, 2)
        assert s == ImportStatus(VersionRange.from_map({1: (0, 2)}), None) and s != p
        with pytest.raises(AttributeError):
            s.success = None


# ---------------------------------------------------------------------------
# ExportMode
# ---------------------------------------------------------------------------

class TestExportMode:
    def test_variants(self):
        vv = VersionVector.from_dict({1: 2})
        f = Frontiers.from_id(ID(1, 1))
        spans = [IdSpan(1, CounterSpan(0, 2))]
        assert isinstance(ExportMode.Snapshot(), ExportMode)
        u = ExportMode.Updates(vv)
        assert isinstance(u, ExportMode.Updates) and u.from_ is vv
        assert ExportMode.Updates(from_=vv).from_ is vv
        assert ExportMode.UpdatesInRange(spans).spans == spans
        assert ExportMode.ShallowSnapshot(f).frontiers == f
        assert ExportMode.StateOnly(f).frontiers == f
        assert ExportMode.StateOnly(None).frontiers is None
        assert ExportMode.StateOnly().frontiers is None
        assert ExportMode.SnapshotAt(f).version == f
        assert ExportMode.SnapshotAt(version=f).version == f
        assert repr(ExportMode.Snapshot()) == "ExportMode.Snapshot()"
        assert repr(ExportMode.Updates(vv)) == "ExportMode.Updates(from_=VersionVector({1: 2}))"
        assert ExportMode.Snapshot() == ExportMode.Snapshot()
        assert ExportMode.Updates(vv) == ExportMode.Updates(VersionVector.from_dict({1: 2}))
        assert ExportMode.ShallowSnapshot(f) != ExportMode.SnapshotAt(f)
        assert not isinstance(ExportMode.Snapshot(), ExportMode.Updates)

    def test_argument_errors(self):
        with pytest.raises(TypeError):
            ExportMode()
        with pytest.raises(TypeError):
            ExportMode.Updates()
        with pytest.raises(TypeError):
            ExportMode.Snapshot(1)
        with pytest.raises(TypeError):
            ExportMode.SnapshotAt(frontiers=None)
        with pytest.raises(TypeError):
            ExportMode.Updates(VersionVector(), from_=VersionVector())
        with pytest.raises(AttributeError):
            ExportMode.Updates(VersionVector()).from_ = None

    def test_match(self):
        match ExportMode.Updates(VersionVector()):
            case ExportMode.Snapshot():
                pytest.fail("snapshot")
            case ExportMode.Updates(from_=vv):
                assert vv == VersionVector()


# ---------------------------------------------------------------------------
# ValueOrContainer
# ---------------------------------------------------------------------------

class TestValueOrContainer:
    def test_value(self):
        v = ValueOrContainer.Value(5)
        assert v.value == 5 and isinstance(v, ValueOrContainer)
        assert ValueOrContainer.is_value(v) and not ValueOrContainer.is_container(v)
        assert v == ValueOrContainer.Value(5) and v != ValueOrContainer.Value(6)
        assert repr(v) == "ValueOrContainer.Value(5)"
        with pytest.raises(AttributeError):
            v.value = 6

    def test_container(self):
        sentinel = object()
        c = ValueOrContainer.Container(sentinel)
        assert c.container is sentinel
        assert ValueOrContainer.is_container(c) and not ValueOrContainer.is_value(c)
        assert c != ValueOrContainer.Value(sentinel)

    def test_none_and_errors_like_loro(self):
        assert ValueOrContainer.is_value(None) is False
        assert ValueOrContainer.is_container(None) is False
        assert loro.ValueOrContainer.is_value(None) is False
        with pytest.raises(TypeError):
            ValueOrContainer.is_value(5)
        with pytest.raises(TypeError):
            loro.ValueOrContainer.is_value(5)
        with pytest.raises(TypeError):
            ValueOrContainer()

    def test_match(self):
        match ValueOrContainer.Value([1, 2]):
            case ValueOrContainer.Container(c):
                pytest.fail(repr(c))
            case ValueOrContainer.Value(v):
                assert v == [1, 2]
