"""Tests for loro_c._version: ID, VersionVector, Frontiers.

Most behaviour is cross-checked against the reference ``loro`` package.
"""

import copy
import itertools
import pickle

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import loro
from loro_c import (
    ID,
    CounterSpan,
    DecodeError,
    Frontiers,
    IdSpan,
    LoroError,
    LoroValueError,
    VersionRange,
    VersionVector,
    VersionVectorDiff,
)

U64_MAX = 2**64 - 1
I32_MAX = 2**31 - 1
I32_MIN = -(2**31)

SETTINGS = settings(deadline=None, max_examples=200,
                    suppress_health_check=[HealthCheck.too_slow])

# Peers: small ones (to get collisions between two vvs) and ones near 2**64.
peers = st.one_of(
    st.integers(0, 6),
    st.integers(0, U64_MAX),
    st.integers(U64_MAX - 4, U64_MAX),
    st.sampled_from([127, 128, 16383, 16384, 2**32 - 1, 2**32, 2**63 - 1, 2**63]),
)
ends = st.one_of(st.integers(1, 12), st.integers(1, I32_MAX),
                 st.sampled_from([63, 64, 65, 8191, 8192, I32_MAX]))
vv_dicts = st.dictionaries(peers, ends, max_size=8)
small_vv_dicts = st.dictionaries(st.integers(0, 5), st.integers(1, 9), max_size=5)
counters = st.one_of(st.integers(0, 20), st.integers(I32_MIN, I32_MAX))


def lvv(d):
    """A loro.VersionVector with the given {peer: end}."""
    v = loro.VersionVector()
    for p, e in d.items():
        v.set_end(loro.ID(p, e))
    return v


def loro_vv_dict(v):
    """Decode a loro.VersionVector into a dict via its own (known-good) bytes."""
    return VersionVector.decode(v.encode()).to_dict()


def span_tuples(spans):
    return sorted((s.peer, s.counter.start, s.counter.end) for s in spans)


def loro_raises(fn, *args):
    try:
        fn(*args)
    except BaseException as e:  # loro raises plain BaseException for decode errors
        return type(e)
    return None


# ---------------------------------------------------------------------------
# ID
# ---------------------------------------------------------------------------

class TestID:
    def test_fields_str_repr(self):
        i = ID(7, 3)
        assert i.peer == 7 and i.counter == 3
        assert str(i) == "3@7"
        assert repr(i) == "ID(peer=7, counter=3)"

    def test_keywords(self):
        assert ID(peer=1, counter=2) == ID(1, 2)

    def test_eq_hash_order(self):
        assert ID(7, 3) == ID(7, 3)
        assert ID(7, 3) != ID(7, 4)
        assert ID(7, 3) != (7, 3)
        assert hash(ID(7, 3)) == hash(ID(7, 3))
        assert len({ID(1, 1), ID(1, 1), ID(1, 2)}) == 2
        assert ID(1, 5) < ID(2, 0) < ID(2, 1)
        assert ID(2, 1) > ID(1, 9) and ID(2, 1) >= ID(2, 1) and ID(2, 1) <= ID(2, 1)
        assert sorted([ID(3, 0), ID(1, 2), ID(1, 1)]) == [ID(1, 1), ID(1, 2), ID(3, 0)]
        # ordering is unsigned on the peer
        assert ID(2**63, 0) > ID(2**63 - 1, 0)
        with pytest.raises(TypeError):
            ID(1, 1) < (1, 1)

    def test_readonly(self):
        i = ID(1, 2)
        with pytest.raises(AttributeError):
            i.peer = 3
        with pytest.raises(AttributeError):
            i.counter = 3

    @pytest.mark.parametrize("args", [
        (0, 0), (U64_MAX, 0), (0, I32_MAX), (0, I32_MIN), (0, -1), (True, 2),
        (-1, 0), (2**64, 0), (0, 2**31), (0, I32_MIN - 1),
        (1.0, 2), ("1", 2), (1, 2.0), (None, 1),
    ])
    def test_construction_errors_mirror_loro(self, args):
        expected = loro_raises(loro.ID, *args)
        got = loro_raises(ID, *args)
        assert got == expected

    def test_parse(self):
        assert ID.parse("3@7") == ID(7, 3)
        assert ID.parse("-1@0") == ID(0, -1)
        assert ID.parse(f"{I32_MAX}@{U64_MAX}") == ID(U64_MAX, I32_MAX)
        for bad in ["", "3", "3@", "@7", "a@7", "3@-7", "3@7@1", f"{2**31}@1",
                    f"1@{2**64}", " 3@7", "3@7 ", "٣@7"]:
            with pytest.raises(LoroValueError):
                ID.parse(bad)
        with pytest.raises(TypeError):
            ID.parse(b"3@7")

    @given(peers, counters)
    @SETTINGS
    def test_parse_str_roundtrip(self, p, c):
        assert ID.parse(str(ID(p, c))) == ID(p, c)

    def test_pickle_copy(self):
        i = ID(U64_MAX, -5)
        assert pickle.loads(pickle.dumps(i)) == i
        assert copy.copy(i) == i and copy.deepcopy(i) == i


# ---------------------------------------------------------------------------
# VersionVector: basics
# ---------------------------------------------------------------------------

class TestVersionVectorBasics:
    def test_empty(self):
        v = VersionVector()
        assert len(v) == 0
        assert repr(v) == "VersionVector({})" == str(loro.VersionVector())
        assert v.encode() == b"\x00"
        assert v.to_dict() == {}

    def test_repr_matches_loro_single(self):
        v = VersionVector()
        v.set_end(ID(7, 6))
        assert repr(v) == str(v) == "VersionVector({7: 6})" == str(lvv({7: 6}))

    def test_repr_sorted(self):
        assert repr(VersionVector.from_dict({7: 1, 3: 2})) == "VersionVector({3: 2, 7: 1})"

    def test_from_dict_to_dict(self):
        v = VersionVector.from_dict({1: 5, 2: 0, 3: -4})
        assert v.to_dict() == {1: 5}
        d = v.to_dict()
        d[9] = 9
        assert v.to_dict() == {1: 5}  # a copy
        with pytest.raises(OverflowError):
            VersionVector.from_dict({-1: 1})
        with pytest.raises(OverflowError):
            VersionVector.from_dict({2**64: 1})
        with pytest.raises(OverflowError):
            VersionVector.from_dict({1: 2**31})
        with pytest.raises(TypeError):
            VersionVector.from_dict({1: "x"})

    def test_eq_ignores_zero_entries(self):
        # loro can hold a zero entry (decoded); it equals the empty vv.
        zero = VersionVector.decode(b"\x01\x01\x00")
        assert zero == VersionVector()
        assert len(zero) == 0
        assert loro.VersionVector.decode(b"\x01\x01\x00") == loro.VersionVector()
        v = VersionVector()
        v.set_end(ID(3, 0))
        assert v == VersionVector() and len(v) == 0

    def test_eq_other_types(self):
        assert VersionVector() != {}
        assert not (VersionVector() == None)  # noqa: E711

    def test_unhashable_and_no_ordering(self):
        with pytest.raises(TypeError):
            hash(VersionVector())
        a, b = VersionVector(), VersionVector()
        for op in ("__lt__", "__le__", "__gt__", "__ge__"):
            with pytest.raises(NotImplementedError):
                getattr(a, op)(b)
            with pytest.raises(NotImplementedError):
                getattr(lvv({}), op)(lvv({}))

    def test_no_iter_like_loro(self):
        with pytest.raises(TypeError):
            iter(VersionVector())

    def test_pickle_copy(self):
        v = VersionVector.from_dict({U64_MAX: I32_MAX, 0: 1})
        assert pickle.loads(pickle.dumps(v)) == v
        c = copy.deepcopy(v)
        assert c == v and c is not v
        c.set_end(ID(5, 5))
        assert c != v

    def test_type_errors(self):
        v = VersionVector()
        with pytest.raises(TypeError):
            v.set_end((1, 2))
        with pytest.raises(TypeError):
            v.set_end(None)
        with pytest.raises(TypeError):
            v.merge({1: 2})
        with pytest.raises(TypeError):
            v.intersect_span((1, 2, 3))
        with pytest.raises(OverflowError):
            v.get_last(-1)

    def test_known_encoding(self):
        # spec 1.5: {1:5, 300:70} -> 02 ac02 8c01 01 0a (loro's hash order)
        v = VersionVector.decode(bytes.fromhex("02ac028c01010a"))
        assert v.to_dict() == {1: 5, 300: 70}
        assert v.encode() == bytes.fromhex("02010aac028c01")  # ascending peers

    def test_saturating_last(self):
        for name in ("set_last", "extend_to_include_last_id", "try_update_last"):
            a, b = VersionVector(), lvv({})
            getattr(a, name)(ID(1, I32_MAX))
            getattr(b, name)(loro.ID(1, I32_MAX))
            assert a.to_dict() == loro_vv_dict(b) == {1: I32_MAX}
        # ...but span normalisation wraps around (loro: i32 wrapping add),
        # so a reversed span starting at i32::MAX changes nothing.
        a, b = VersionVector(), lvv({})
        a.extend_to_include(IdSpan(1, CounterSpan(I32_MAX, 5)))
        b.extend_to_include(loro.IdSpan(1, loro.CounterSpan(I32_MAX, 5)))
        assert a.to_dict() == loro_vv_dict(b) == {}

    def test_examples(self):
        a = VersionVector.from_dict({1: 5, 2: 3, 4: 2})
        b = VersionVector.from_dict({1: 2, 2: 7, 3: 4})
        d = a.diff(b)
        assert isinstance(d, VersionVectorDiff)
        assert d.retreat == VersionRange.from_map({1: (2, 5), 4: (0, 2)})
        assert d.forward == VersionRange.from_map({2: (3, 7), 3: (0, 4)})
        assert a.distance_between(b) == 13
        assert a.intersection(b).to_dict() == {1: 2, 2: 3}
        assert list(a.get_frontiers()) == [ID(1, 4), ID(2, 2), ID(4, 1)]
        assert a.get_last(1) == 4 and a.get_last(9) is None
        assert a.includes_id(ID(1, 4)) and not a.includes_id(ID(1, 5))
        assert not a.includes_id(ID(1, -1))


# ---------------------------------------------------------------------------
# VersionVector: encoding, cross-checked with loro
# ---------------------------------------------------------------------------

class TestVersionVectorEncoding:
    @given(vv_dicts)
    @SETTINGS
    @example({U64_MAX: I32_MAX, 0: 1, 2**63: 1})
    def test_ours_to_loro(self, d):
        ours = VersionVector.from_dict(d)
        data = ours.encode()
        theirs = loro.VersionVector.decode(data)
        assert theirs == lvv(d)
        for p, e in d.items():
            assert theirs.get_last(p) == e - 1

    @given(vv_dicts)
    @SETTINGS
    def test_loro_to_ours(self, d):
        data = lvv(d).encode()
        ours = VersionVector.decode(data)
        assert ours.to_dict() == d
        assert VersionVector.decode(ours.encode()) == ours

    def test_real_document(self):
        docs = []
        expected = {}
        for peer in (1, 2**64 - 2, 2**63, 300):
            doc = loro.LoroDoc()
            doc.peer_id = peer
            doc.get_text("t").insert(0, "hello" * (peer % 7 + 1))
            doc.commit()
            docs.append(doc)
            expected[peer] = 5 * (peer % 7 + 1)
        main = docs[0]
        for other in docs[1:]:
            main.import_(other.export(loro.ExportMode.Snapshot()))
        vv = VersionVector.decode(main.oplog_vv.encode())
        assert vv.to_dict() == expected
        assert loro.VersionVector.decode(vv.encode()) == main.oplog_vv
        fr = Frontiers.decode(main.oplog_frontiers.encode())
        assert fr == vv.get_frontiers()
        assert loro.Frontiers.decode(fr.encode()).encode() == main.oplog_frontiers.encode()

    def test_accepts_bytes_like(self):
        v = VersionVector.from_dict({1: 2})
        data = v.encode()
        assert VersionVector.decode(bytearray(data)) == v
        assert VersionVector.decode(memoryview(data)) == v
        with pytest.raises(TypeError):
            VersionVector.decode(data.hex())
        with pytest.raises(TypeError):
            VersionVector.decode(None)

    def test_overlong_varints_accepted_like_postcard(self):
        assert VersionVector.decode(bytes([1, 1, 0x82, 0x00])).to_dict() == {1: 1}
        assert VersionVector.decode(bytes([0x81, 0x00, 0x81, 0x00, 2])).to_dict() == {1: 1}
        assert loro_vv_dict(loro.VersionVector.decode(bytes([1, 1, 0x82, 0x00]))) == {1: 1}

    @pytest.mark.parametrize("data", [
        b"",                                        # no count
        b"\x01",                                    # missing entry
        b"\x01\x01",                                # missing counter
        b"\x02\x01\x02",                            # missing second entry
        b"\x00\x00",                                # trailing byte
        b"\x01\x01\x02\xff",                        # trailing byte
        b"\x01\x01\x01",                            # negative counter (-1)
        b"\x01\x01\xff\xff\xff\xff\x0f",            # i32::MIN
        b"\x02\x01\x02\x01\x04",                    # duplicate peer
        b"\x02\x01\x00\x01\x04",                    # duplicate peer (first is zero)
        bytes([1] + [0xFF] * 9 + [0x02, 2]),        # peer > u64
        bytes([1] + [0xFF] * 10 + [0x01, 2]),       # peer varint too long
        bytes([1, 1, 0xFE, 0xFF, 0xFF, 0xFF, 0x1F]),  # counter > u32 varint
        bytes([1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),  # counter varint > 5 bytes
        bytes([0xFF] * 20),
        bytes([0xFF] * 9 + [0x01]),                 # huge count
    ])
    def test_malformed(self, data):
        with pytest.raises(DecodeError):
            VersionVector.decode(data)

    def test_decode_error_hierarchy(self):
        with pytest.raises(LoroError):
            VersionVector.decode(b"")
        with pytest.raises(ValueError):
            VersionVector.decode(b"")

    @given(vv_dicts)
    @SETTINGS
    def test_every_truncation_fails(self, d):
        data = VersionVector.from_dict(d).encode()
        for n in range(len(data)):
            with pytest.raises(DecodeError):
                VersionVector.decode(data[:n])
        with pytest.raises(DecodeError):
            VersionVector.decode(data + b"\x00")

    @given(st.binary(max_size=40))
    @SETTINGS
    @example(b"\x01\x01\x00")
    @example(b"\x02\x05\x02\x05\x02")
    def test_random_bytes_never_crash(self, data):
        try:
            ours = VersionVector.decode(data)
        except DecodeError:
            return
        # anything we accept, loro accepts with the same meaning
        assert loro_vv_dict(loro.VersionVector.decode(data)) == ours.to_dict()


# ---------------------------------------------------------------------------
# VersionVector: methods, cross-checked with loro
# ---------------------------------------------------------------------------

class TestVersionVectorMethods:
    @given(small_vv_dicts, small_vv_dicts)
    @SETTINGS
    def test_binary_methods(self, da, db):
        a, b = VersionVector.from_dict(da), VersionVector.from_dict(db)
        la, lb = lvv(da), lvv(db)

        d, ld = a.diff(b), la.diff(lb)
        assert d.retreat.inner() == ld.retreat.inner()
        assert d.forward.inner() == ld.forward.inner()
        x, y = a.diff_iter(b)
        lx, ly = la.diff_iter(lb)
        assert span_tuples(x) == span_tuples(lx) and span_tuples(y) == span_tuples(ly)
        assert span_tuples(a.sub_iter(b)) == span_tuples(la.sub_iter(lb))
        assert span_tuples(a.iter_between(b)) == span_tuples(la.iter_between(lb))
        assert span_tuples(a.get_missing_span(b)) == span_tuples(la.get_missing_span(lb))
        assert a.sub_vec(b).inner() == la.sub_vec(lb).inner()
        assert a.distance_between(b) == la.distance_between(lb)
        assert a.includes_vv(b) == la.includes_vv(lb)
        assert a.intersection(b).to_dict() == loro_vv_dict(la.intersection(lb))
        assert (a == b) == (la == lb)

        m, lm = VersionVector.from_dict(da), lvv(da)
        m.merge(b)
        lm.merge(lb)
        assert m.to_dict() == loro_vv_dict(lm)
        m, lm = VersionVector.from_dict(da), lvv(da)
        m.extend_to_include_vv(b)
        lm.extend_to_include_vv(lb)
        assert m.to_dict() == loro_vv_dict(lm)

    @given(small_vv_dicts)
    @SETTINGS
    def test_unary_methods(self, d):
        a, la = VersionVector.from_dict(d), lvv(d)
        assert a.to_spans().inner() == la.to_spans().inner()
        assert a.get_frontiers().encode() == la.get_frontiers().encode()
        for p in range(6):
            assert a.get_last(p) == la.get_last(p)

    # Exhaustive small grids for the span/id methods: reversed, empty and
    # negative spans included.
    GRID = list(range(-3, 9)) + [I32_MIN, I32_MIN + 1, I32_MAX - 1, I32_MAX]
    CURRENT = [None, 1, 2, 3, 5, 7, I32_MAX]

    def test_span_methods_grid(self):
        bad = []
        for cur in self.CURRENT:
            d = {} if cur is None else {1: cur, 2: 4}
            for s, e in itertools.product(self.GRID, self.GRID):
                span, lspan = IdSpan(1, CounterSpan(s, e)), loro.IdSpan(1, loro.CounterSpan(s, e))
                r = VersionVector.from_dict(d).intersect_span(span)
                lr = lvv(d).intersect_span(lspan)
                if (None if r is None else (r.start, r.end)) != (None if lr is None else (lr.start, lr.end)):
                    bad.append(("intersect_span", d, s, e))
                for name in ("extend_to_include", "shrink_to_exclude"):
                    v, lv = VersionVector.from_dict(d), lvv(d)
                    getattr(v, name)(span)
                    getattr(lv, name)(lspan)
                    if v.to_dict() != loro_vv_dict(lv):
                        bad.append((name, d, s, e))
        assert bad == []

    def test_id_methods_grid(self):
        bad = []
        names = ("set_last", "set_end", "try_update_last", "extend_to_include_last_id",
                 "extend_to_include_end_id")
        for cur in self.CURRENT:
            d = {} if cur is None else {1: cur, 2: 4}
            for c in self.GRID:
                for name in names:
                    v, lv = VersionVector.from_dict(d), lvv(d)
                    r = getattr(v, name)(ID(1, c))
                    lr = getattr(lv, name)(loro.ID(1, c))
                    if r != lr or v.to_dict() != loro_vv_dict(lv):
                        bad.append((name, d, c))
                v, lv = VersionVector.from_dict(d), lvv(d)
                if v.includes_id(ID(1, c)) != lv.includes_id(loro.ID(1, c)):
                    bad.append(("includes_id", d, c))
                if v.includes_id(ID(9, c)) != lv.includes_id(loro.ID(9, c)):
                    bad.append(("includes_id", d, c))
        assert bad == []

    def test_results_are_independent_copies(self):
        a = VersionVector.from_dict({1: 3})
        i = a.intersection(VersionVector.from_dict({1: 5}))
        i.set_end(ID(1, 1))
        assert a.to_dict() == {1: 3}
        spans = a.to_spans()
        spans.insert(1, 0, 99)
        assert a.to_dict() == {1: 3}


# ---------------------------------------------------------------------------
# Frontiers
# ---------------------------------------------------------------------------

id_lists = st.lists(st.tuples(peers, counters), max_size=8)


class TestFrontiers:
    def test_empty(self):
        f = Frontiers()
        assert len(f) == 0 and list(f) == [] and f.to_list() == []
        assert repr(f) == "Frontiers([])" == str(loro.Frontiers())
        assert f.encode() == b"\x00" == loro.Frontiers().encode()

    def test_from_id(self):
        f = Frontiers.from_id(ID(7, 5))
        assert repr(f) == str(f) == "Frontiers([5@7])" == str(loro.Frontiers.from_id(loro.ID(7, 5)))
        assert list(f) == [ID(7, 5)]
        assert ID(7, 5) in f and ID(7, 4) not in f and (7, 5) not in f

    def test_from_ids_keeps_max_per_peer_like_loro(self):
        ids = [(7, 5), (1, 2), (7, 1)]
        f = Frontiers.from_ids([ID(*x) for x in ids])
        lf = loro.Frontiers.from_ids([loro.ID(*x) for x in ids])
        assert f.to_list() == [ID(1, 2), ID(7, 5)]
        assert f.encode() == lf.encode() == bytes.fromhex("020104070a")
        # (listed in the order of loro's hash map of them, as loro prints them)
        assert repr(f) == str(lf) == "Frontiers([5@7, 2@1])"

    def test_eq_hash(self):
        a = Frontiers.from_ids([ID(7, 5), ID(1, 2)])
        b = Frontiers.from_ids([ID(1, 2), ID(7, 5)])
        assert a == b and hash(a) == hash(b)
        assert a != Frontiers.from_id(ID(1, 2))
        assert a != [ID(1, 2), ID(7, 5)]
        assert len({a, b}) == 1

    def test_type_errors(self):
        with pytest.raises(TypeError):
            Frontiers.from_ids([1])
        with pytest.raises(TypeError):
            Frontiers.from_id((1, 2))
        with pytest.raises(TypeError):
            Frontiers.from_id(None)
        with pytest.raises(TypeError):
            Frontiers.decode("00")

    def test_negative_counter_roundtrip(self):
        f = Frontiers.from_id(ID(1, -1))
        assert f.encode() == loro.Frontiers.from_id(loro.ID(1, -1)).encode() == b"\x01\x01\x01"
        assert Frontiers.decode(f.encode()) == f

    def test_pickle_copy(self):
        f = Frontiers.from_ids([ID(U64_MAX, 3), ID(0, 0)])
        assert pickle.loads(pickle.dumps(f)) == f
        assert copy.deepcopy(f) == f

    def test_decode_unsorted_input_is_normalised(self):
        f = Frontiers.decode(bytes([2, 7, 10, 1, 4]))
        assert f.to_list() == [ID(1, 2), ID(7, 5)]

    @given(id_lists)
    @SETTINGS
    def test_bytes_identical_to_loro(self, ids):
        f = Frontiers.from_ids([ID(p, c) for p, c in ids])
        lf = loro.Frontiers.from_ids([loro.ID(p, c) for p, c in ids])
        assert f.encode() == lf.encode()
        assert Frontiers.decode(lf.encode()) == f
        assert loro.Frontiers.decode(f.encode()).encode() == lf.encode()
        assert Frontiers.decode(f.encode()) == f
        best = {}
        for p, c in ids:
            best[p] = max(c, best.get(p, c))
        assert f.to_list() == [ID(p, c) for p, c in sorted(best.items())]
        assert len(f) == len(best)
        assert all(ID(p, c) in f for p, c in best.items())

    @pytest.mark.parametrize("data", [
        b"", b"\x01", b"\x01\x01", b"\x00\x00", b"\x01\x01\x02\x00",
        b"\x02\x07\x0a\x07\x04",                    # duplicate peer
        bytes([1] + [0xFF] * 9 + [0x02, 2]),
        bytes([1, 1, 0xFE, 0xFF, 0xFF, 0xFF, 0x1F]),
        bytes([0xFF] * 9 + [0x01]),
    ])
    def test_malformed(self, data):
        with pytest.raises(DecodeError):
            Frontiers.decode(data)

    @given(id_lists)
    @SETTINGS
    def test_every_truncation_fails(self, ids):
        data = Frontiers.from_ids([ID(p, c) for p, c in ids]).encode()
        for n in range(len(data)):
            with pytest.raises(DecodeError):
                Frontiers.decode(data[:n])
        with pytest.raises(DecodeError):
            Frontiers.decode(data + b"\x00")

    @given(st.binary(max_size=40))
    @SETTINGS
    def test_random_bytes_never_crash(self, data):
        try:
            ours = Frontiers.decode(data)
        except DecodeError:
            return
        assert loro.Frontiers.decode(data).encode() == ours.encode()
