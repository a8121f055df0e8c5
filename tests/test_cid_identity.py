"""ContainerID identity (hash and equality in C, loro_c._kinds.CidCore) and the ids built
without checks (normal_cid, snapshot keys, postcard values): the same ids, hashes and
errors as the checked constructors give."""

import copy
import pickle

import pytest

import loro_c
from loro_c import ContainerID, ContainerType, LoroValueError
from loro_c import _types
from loro_c._doc import kind_of_type


def test_unchecked_normal_id_equals_checked_one():
    for ct in _types.TYPE_BY_KIND:
        a = ContainerID.Normal(2**64 - 1, -(2**31), ct)
        b = _types.normal_cid(2**64 - 1, -(2**31), ct)
        assert type(b) is type(a) is ContainerID.Normal
        assert a == b and not a != b and hash(a) == hash(b)
        assert (b.peer, b.counter, b.container_type) == (a.peer, a.counter, a.container_type)
        assert {a: 1}[b] == 1
        assert repr(b) == repr(a) and str(b) == str(a)


def test_equality_across_variants_and_other_objects():
    n = ContainerID.Normal(1, 2, ContainerType.Map())
    r = ContainerID.Root("m", ContainerType.Map())
    assert n != r and r != n and not n == r
    assert n != ContainerID.Normal(1, 2, ContainerType.List())
    assert n != ContainerID.Normal(1, 3, ContainerType.Map())
    assert r == ContainerID.Root("m", ContainerType.Map())
    assert r != ContainerID.Root("m", ContainerType.Text())
    for other in ("cid:2@1:Map", (1, 2, ContainerType.Map()), None, 3):
        assert n != other and not n == other and other != n
    with pytest.raises(TypeError):
        n < ContainerID.Normal(1, 3, ContainerType.Map())


def test_unknown_types_compare_by_kind():
    a = ContainerID.Normal(1, 2, ContainerType.Unknown(9))
    b = ContainerID.Normal(1, 2, ContainerType.Unknown(9))
    assert a == b and hash(a) == hash(b)
    assert a != ContainerID.Normal(1, 2, ContainerType.Unknown(10))
    with pytest.raises(LoroValueError):
        kind_of_type(ContainerType.Unknown(9))
    assert [kind_of_type(t) for t in _types.TYPE_BY_KIND] == list(range(len(_types.TYPE_BY_KIND)))


def test_ids_stay_immutable_and_round_trip():
    for cid in (_types.normal_cid(7, 8, ContainerType.Text()),
                ContainerID.Root("t", ContainerType.Text())):
        h = hash(cid)
        with pytest.raises(AttributeError):
            cid.container_type = ContainerType.Map()
        with pytest.raises(AttributeError):
            cid._hash = 0
        with pytest.raises(AttributeError):
            cid._key = None
        assert hash(cid) == h
        for back in (pickle.loads(pickle.dumps(cid)), copy.copy(cid), copy.deepcopy(cid)):
            assert back == cid and hash(back) == h
    with pytest.raises(TypeError):
        ContainerID()


def test_loaded_child_ids_are_the_writers():
    doc = loro_c.LoroDoc()
    doc.peer_id = 5
    users = doc.get_map("users")
    kids = [users.insert_container(f"u{i}", loro_c.LoroMap()) for i in range(3)]
    for i, kid in enumerate(kids):
        kid.insert("name", i)
    rows = doc.get_list("rows")
    rows.insert_container(0, loro_c.LoroCounter()).increment(2)
    doc.commit()
    blob = doc.export(loro_c.ExportMode.Snapshot())
    back = loro_c.LoroDoc()
    back.import_(blob)
    got = [back.get_map("users").get(f"u{i}").container.id for i in range(3)]
    assert got == [kid.id for kid in kids]
    assert {cid: i for i, cid in enumerate(got)}[kids[1].id] == 1
    assert back.get_deep_value() == doc.get_deep_value()
    assert back.get_list("rows").get(0).container.id == rows.get(0).container.id


class _EqualsEverything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


@pytest.mark.parametrize("make", [
    lambda m: m.ContainerID.Normal(1, 2, m.ContainerType.Map()),
    lambda m: m.ContainerID.Root("m", m.ContainerType.Text()),
])
def test_ne_is_the_negation_of_eq_like_loro(make):
    """`!=` answers the opposite of `==` for every kind of right operand, and hands
    foreign types back to Python (NotImplemented) the way loro's ContainerID does."""
    import loro
    for m in (loro_c, loro):
        a, same = make(m), make(m)
        others = [m.ContainerID.Normal(1, 3, m.ContainerType.Map()),
                  m.ContainerID.Root("m", m.ContainerType.Map()),
                  m.ContainerID.Normal(1, 2, m.ContainerType.List()),
                  str(a), repr(a), None, 0, (1, 2)]
        assert a == same and not a != same and a == a and not a != a
        for o in others:
            assert a != o and not a == o and o != a and not o == a
        assert a.__eq__(None) is NotImplemented and a.__ne__(None) is NotImplemented
        assert a.__eq__("x") is NotImplemented and a.__ne__("x") is NotImplemented
        assert a.__ne__(same) is False and a.__eq__(same) is True
        # A foreign type's own comparison answers, in both directions.
        assert a == _EqualsEverything() and not a != _EqualsEverything()
        assert _EqualsEverything() == a and not _EqualsEverything() != a
