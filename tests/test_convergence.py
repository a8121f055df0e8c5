"""Convergence under any delivery order (Hypothesis).

Two or three loro_c peers edit a Text, a List, a Map and a Counter and sometimes sync. Every
commit is exported as its own JSON update chunk, ``export_json_updates(vv_before_commit,
vv_after_commit)``. All chunks are then delivered to a fresh document in a drawn permutation,
with duplicates; the result must equal delivery in causal (creation) order, which in turn
must equal what loro makes of the same chunks.

Also: a chunk whose dependencies are missing is reported as pending and is applied once the
missing chunk arrives.
"""
import loro
import pytest
from hypothesis import given, strategies as st

import loro_c

TEXT_CHARS = st.sampled_from(list("abcxyz é中😀\n"))
SCALARS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0.5, -1.25, 3.0, 1e-3]),
    st.text(alphabet=TEXT_CHARS, max_size=4),
    st.none(),
    st.booleans(),
)
KEYS = st.sampled_from(["a", "b", "c", "ké"])


def vv_dict(vv, peers):
    return {p: vv.get_last(p) for p in peers if vv.get_last(p) is not None}


class Peer:
    def __init__(self, peer_id):
        self.doc = loro_c.LoroDoc()
        self.doc.peer_id = peer_id
        self.base = self.doc.oplog_vv  # version right after the last commit or import

    def commit(self, chunks):
        self.doc.commit()
        after = self.doc.oplog_vv
        if after != self.base:
            chunks.append(self.doc.export_json_updates(self.base, after))
        self.base = after


def do_edit(data, doc):
    target = data.draw(st.sampled_from(["text", "text", "list", "map", "counter"]), label="target")
    if target == "text":
        t = doc.get_text("text")
        n = t.len_unicode
        if n and data.draw(st.booleans(), label="text delete?"):
            pos = data.draw(st.integers(0, n - 1), label="pos")
            t.delete(pos, data.draw(st.integers(1, n - pos), label="len"))
        else:
            t.insert(data.draw(st.integers(0, n), label="pos"),
                     data.draw(st.text(alphabet=TEXT_CHARS, min_size=1, max_size=5), label="s"))
    elif target == "list":
        lst = doc.get_list("list")
        n = len(lst)
        if n and data.draw(st.booleans(), label="list delete?"):
            pos = data.draw(st.integers(0, n - 1), label="pos")
            lst.delete(pos, data.draw(st.integers(1, n - pos), label="len"))
        else:
            lst.insert(data.draw(st.integers(0, n), label="pos"), data.draw(SCALARS, label="v"))
    elif target == "map":
        m = doc.get_map("map")
        key = data.draw(KEYS, label="key")
        if data.draw(st.integers(0, 3), label="map op") == 0:
            m.delete(key)
        else:
            m.insert(key, data.draw(SCALARS, label="v"))
    else:
        doc.get_counter("counter").increment(data.draw(st.sampled_from([1, 2, -1, 0.5]),
                                                       label="delta"))


def generate_chunks(data):
    peer_ids = data.draw(
        st.lists(st.one_of(st.integers(1, 20), st.integers(2**63, 2**64 - 2)),
                 min_size=2, max_size=3, unique=True),
        label="peer ids",
    )
    peers = [Peer(p) for p in peer_ids]
    chunks = []
    n_steps = data.draw(st.integers(1, 30), label="steps")
    for _ in range(n_steps):
        action = data.draw(st.sampled_from(["edit"] * 5 + ["commit"] * 2 + ["sync"]),
                           label="action")
        if action == "edit":
            do_edit(data, data.draw(st.sampled_from(peers), label="peer").doc)
        elif action == "commit":
            data.draw(st.sampled_from(peers), label="peer").commit(chunks)
        else:
            src, dst = data.draw(st.permutations(peers), label="sync pair")[:2]
            src.commit(chunks)
            dst.commit(chunks)
            dst.doc.import_json_updates(src.doc.export_json_updates(dst.doc.oplog_vv,
                                                                   src.doc.oplog_vv))
            dst.base = dst.doc.oplog_vv
    for p in peers:
        p.commit(chunks)
    return peer_ids, chunks


def deliver(lib, chunks, order):
    d = lib.LoroDoc()
    d.peer_id = 424242
    for i in order:
        d.import_json_updates(chunks[i])
    return d


@given(data=st.data())
def test_any_delivery_order_converges(data):
    peer_ids, chunks = generate_chunks(data)
    if not chunks:
        return

    causal = deliver(loro_c, chunks, range(len(chunks)))
    want = causal.get_deep_value()
    want_vv = vv_dict(causal.oplog_vv, peer_ids)

    oracle = deliver(loro, chunks, range(len(chunks)))
    assert oracle.get_deep_value() == want, "loro disagrees with loro_c on the same chunks"
    assert vv_dict(oracle.oplog_vv, peer_ids) == want_vv

    order = list(data.draw(st.permutations(range(len(chunks))), label="delivery order"))
    dups = data.draw(st.lists(st.tuples(st.integers(0, len(chunks) - 1),
                                        st.integers(0, len(chunks) + 8)), max_size=6),
                     label="duplicates (chunk, position)")
    for chunk, at in dups:
        order.insert(min(at, len(order)), chunk)

    d = loro_c.LoroDoc()
    d.peer_id = 424242
    for i in order:
        d.import_json_updates(chunks[i])
    assert d.get_deep_value() == want, f"delivery order {order} diverged"
    assert vv_dict(d.oplog_vv, peer_ids) == want_vv


def _doc(peer):
    d = loro_c.LoroDoc()
    d.peer_id = peer
    return d


def test_missing_dependency_is_pending_until_it_arrives():
    a = _doc(1)
    t = a.get_text("t")
    v0 = a.oplog_vv
    t.insert(0, "abc")
    a.commit()
    v1 = a.oplog_vv
    t.insert(3, "def")
    a.commit()
    v2 = a.oplog_vv
    first = a.export_json_updates(v0, v1)
    second = a.export_json_updates(v1, v2)

    b = _doc(2)
    status = b.import_json_updates(second)
    assert status.pending is not None
    assert b.oplog_vv.get_last(1) is None
    assert b.get_text("t").to_string() == ""

    status = b.import_json_updates(first)
    assert status.pending is None
    assert b.get_text("t").to_string() == "abcdef"
    assert vv_dict(b.oplog_vv, [1, 2]) == vv_dict(a.oplog_vv, [1, 2]) == {1: 5}

    # a duplicate of an already applied chunk changes nothing
    status = b.import_json_updates(second)
    assert status.pending is None
    assert b.get_text("t").to_string() == "abcdef"


def test_pending_across_peers():
    a = _doc(1)
    a.get_list("l").push(1)
    a.commit()
    from_a = a.export_json_updates(loro_c.VersionVector(), a.oplog_vv)

    b = _doc(2)
    b.import_json_updates(from_a)
    base = b.oplog_vv
    b.get_list("l").push(2)
    b.commit()
    from_b = b.export_json_updates(base, b.oplog_vv)  # only b's op; depends on a's

    c = _doc(3)
    status = c.import_json_updates(from_b)
    assert status.pending is not None
    assert c.get_list("l").to_vec() == []
    status = c.import_json_updates(from_a)
    assert status.pending is None
    assert c.get_list("l").to_vec() == [1, 2]
    assert c.get_deep_value() == b.get_deep_value()


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
def test_chain_of_chunks(reverse):
    """Ten single-commit chunks, delivered in order or fully reversed."""
    a = _doc(5)
    t = a.get_text("t")
    chunks = []
    for i in range(10):
        before = a.oplog_vv
        t.insert(t.len_unicode, str(i))
        a.commit()
        chunks.append(a.export_json_updates(before, a.oplog_vv))
    b = _doc(6)
    statuses = [b.import_json_updates(c) for c in (reversed(chunks) if reverse else chunks)]
    assert statuses[-1].pending is None
    if reverse:
        assert all(s.pending is not None for s in statuses[:-1])
    assert b.get_text("t").to_string() == "0123456789"
