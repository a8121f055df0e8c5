"""loro_c._hashorder (the C replay of loro's string-keyed maps) gives exactly the orders of
hash_order's Python steps (the reference; how close they are to loro's is measured in
test_diff_batch and the undo tests)."""
import json
import random

import pytest

import loro_c
from loro_c import _hashorder, hash_order


def _keys(rng, n):
    alphabet = "abcXYZ019_é漢🙂"
    return list({"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
                 for _ in range(n)})


@pytest.mark.parametrize("seed", range(40))
def test_key_orders_match_the_python_replay(seed):
    rng = random.Random(seed)
    keys = _keys(rng, rng.choice([2, 3, 7, 8, 15, 29, 57, 200, 1000]))
    h = hash_order._hash_str
    assert _hashorder.key_order(keys, "gg") == \
        hash_order._table_order(hash_order._table_order(keys, h), h)
    assert _hashorder.key_order(keys, "gfg") == hash_order._table_order(
        hash_order._fixed_table_order(hash_order._table_order(keys, h), h), h)
    for k in keys[:50]:
        assert _hashorder.str_hash(k) == h(k)


def _written_keys(keys):
    d = loro_c.LoroDoc()
    d.peer_id = 1
    m = d.get_map("m")
    for i, k in enumerate(keys):
        m.insert(k, i)
    d.commit()
    f = loro_c.LoroDoc()
    f.peer_id = 2
    f.apply_diff(d.diff(loro_c.Frontiers(), d.state_frontiers))
    f.commit()
    ops = json.loads(f.export_json_updates(loro_c.VersionVector(), f.oplog_vv))
    return [op["content"]["key"] for ch in ops["changes"] for op in ch["ops"]]


@pytest.mark.parametrize("seed", range(6))
def test_apply_diff_writes_a_big_maps_keys_in_the_replayed_order(seed, monkeypatch):
    keys = _keys(random.Random(seed), 300)
    fast = _written_keys(keys)
    monkeypatch.setattr(hash_order, "_fast", None)
    assert fast == _written_keys(keys)
    assert sorted(fast) == sorted(keys)


@pytest.mark.parametrize("seed", range(30))
def test_int_key_orders_match_the_python_replay(seed):
    """iteration_order's C path (container indices of an event, peer ids) against the
    Python steps, from a handful of keys to thousands, u32 and u64."""
    rng = random.Random(seed)
    n = rng.choice([0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 29, 57, 200, 1000, 5000])
    top = rng.choice([1 << 12, 1 << 32, 1 << 64])
    keys = list({rng.randrange(top) for _ in range(n)})
    assert _hashorder.int_key_order(keys) == hash_order._table_order(keys, hash_order._hash)
    assert _hashorder.int_key_order(iter(keys)) == hash_order.iteration_order(keys)
