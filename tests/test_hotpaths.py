"""The fast paths of text positions, span splitting, map length and root lookup, against loro.

* UTF-8/UTF-16 conversion takes a shortcut inside spans whose code points all have one width
  (ASCII, CJK, emoji) and scans other spans from their nearer end; splitting a span scans
  only its shorter part. Long spans of each kind, edited at unit positions and converted at
  every position, exercise all of these branches; the invariant checker recomputes every
  span's cached UTF-8/UTF-16 lengths.
* ``len(map)`` reads a count kept in the map table; the checker recounts it.
* ``get_text("t")`` and friends reuse the registered root; a rejected import that registered
  a root must not leave a stale entry behind.
"""
import random

import loro
import pytest

import loro_c

ALPHABETS = {
    "ascii": "abcdefgh ",
    "two_byte": "äöüßéñ",         # 2 UTF-8 bytes, 1 UTF-16 unit
    "cjk": "中文字漢語日本",        # 3 UTF-8 bytes, 1 UTF-16 unit
    "emoji": "😀😃🎉🚀🌍",          # 4 UTF-8 bytes, 2 UTF-16 units
    "mixed": "aä中😀 ",
    "latin_cjk": "ab中",           # averages 5/3 bytes: no single width
    "one_three": "a中",            # averages 2 bytes like two_byte, but mixed
}

U8 = "utf8"
U16 = "utf16"
UNI = "unicode"
_LORO_UNITS = {U8: loro.PositionType.Bytes, U16: loro.PositionType.Utf16, UNI: loro.PositionType.Unicode}


def units(s, unit):
    if unit == U8:
        return len(s.encode("utf-8"))
    if unit == U16:
        return len(s.encode("utf-16-le")) // 2
    return len(s)


def rand_str(rng, alphabet=None, long=False):
    alphabet = alphabet or rng.choice(list(ALPHABETS.values()))
    n = rng.randint(40, 300) if long else rng.randint(1, 6)
    return "".join(rng.choice(alphabet) for _ in range(n))


class Pair:
    """One loro doc and one loro_c doc with the same peer id, edited identically."""

    def __init__(self, peer):
        self.docs = []
        for lib in (loro, loro_c):
            d = lib.LoroDoc()
            d.peer_id = peer
            self.docs.append(d)
        self.texts = [d.get_text("t") for d in self.docs]

    def both(self, name, *args):
        results = []
        for t in self.texts:
            try:
                results.append(("ok", getattr(t, name)(*args)))
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:  # loro raises some errors as pyo3 panics; compare that both raised
                results.append(("err", None))
        assert results[0][0] == results[1][0], (name, args, results)
        return results[0][0] == "ok"

    def check(self):
        lo, c = self.texts
        assert c.to_string() == lo.to_string()
        assert (c.len_unicode, c.len_utf8, c.len_utf16) == (lo.len_unicode, lo.len_utf8, lo.len_utf16)


def random_edit(rng, pair):
    s = pair.texts[0].to_string()
    n = len(s)
    k = rng.random()
    at = rng.randint(0, n)
    if k < 0.15 or n < 4:
        alpha = rng.choice(list(ALPHABETS.values()))
        pair.both("insert", at, rand_str(rng, alpha, long=rng.random() < 0.5))
    elif k < 0.40:
        pair.both("insert_utf8", units(s[:at], U8), rand_str(rng))
    elif k < 0.60:
        pair.both("insert_utf16", units(s[:at], U16), rand_str(rng))
    elif k < 0.75:
        m = rng.randint(1, min(8, n - at)) if at < n else 0
        pair.both("delete_utf8", units(s[:at], U8), units(s[at:at + m], U8))
    elif k < 0.90:
        m = rng.randint(1, min(8, n - at)) if at < n else 0
        pair.both("delete_utf16", units(s[:at], U16), units(s[at:at + m], U16))
    else:
        # a unit offset that may fall inside a code point: both libraries must refuse it
        # (or accept it) alike
        unit = rng.choice([U8, U16])
        pos = rng.randint(0, units(s, unit))
        name = "insert_utf8" if unit == U8 else "insert_utf16"
        pair.both(name, pos, "x")


def check_conversions(pair, rng, samples=None):
    """convert_pos between every pair of units at every position (or a sample), and the
    slice_utf16 of random ranges, as loro has them."""
    lo, c = pair.texts
    for src in (U8, U16, UNI):
        end = units(lo.to_string(), src) + 1
        positions = range(end + 1) if samples is None else [rng.randint(0, end) for _ in range(samples)]
        for dst in (U8, U16, UNI):
            if src == dst:
                continue
            for p in positions:
                assert (c.convert_pos(p, src, dst)
                        == lo.convert_pos(p, _LORO_UNITS[src], _LORO_UNITS[dst])), (p, src, dst)
    n16 = lo.len_utf16
    for _ in range(10):
        a = rng.randint(0, n16)
        b = rng.randint(a, n16)
        if pair.both("slice_utf16", a, b):
            assert c.slice_utf16(a, b) == lo.slice_utf16(a, b)


@pytest.mark.parametrize("name", sorted(ALPHABETS))
def test_conversion_inside_one_long_span(name):
    """One long span of one alphabet: every conversion lands inside it."""
    pair = Pair(1)
    rng = random.Random(name)
    pair.both("insert", 0, "".join(rng.choice(ALPHABETS[name]) for _ in range(257)))
    pair.check()
    check_conversions(pair, rng)
    # edits at unit offsets split the span at both ends of the nearer-end scans
    for pos in (0, 1, 2, 3, 5, 64, 128, 129, 200, 255, 256):
        for unit, name_ in ((U8, "insert_utf8"), (U16, "insert_utf16")):
            p = pair.texts[0].convert_pos(pos, _LORO_UNITS[UNI], _LORO_UNITS[unit])
            if p is not None:
                pair.both(name_, p, "·")
    pair.check()
    check_conversions(pair, rng)
    pair.docs[1]._check_invariants()


@pytest.mark.parametrize("seed", range(24))
def test_random_unit_edits_match_loro(seed):
    rng = random.Random(seed)
    pair = Pair(7)
    for i in range(150):
        random_edit(rng, pair)
        if i % 10 == 0:
            pair.check()
        if i % 50 == 49:
            pair.docs[1]._check_invariants()
            check_conversions(pair, rng, samples=40)
    pair.check()
    check_conversions(pair, rng)
    pair.docs[1]._check_invariants()
    for d in pair.docs:
        d.commit()
    assert pair.docs[1].get_deep_value() == pair.docs[0].get_deep_value()


def sync(a, b):
    """Import into b's docs what a's docs have and they lack, per library."""
    for lib_i, lib in ((0, loro), (1, loro_c)):
        dst = b.docs[lib_i]
        dst.import_(a.docs[lib_i].export(lib.ExportMode.Updates(dst.oplog_vv)))


@pytest.mark.parametrize("seed", range(12))
def test_concurrent_non_ascii_edits_converge(seed):
    """Remote changes integrate at the tracker version, which splits non-ASCII spans to
    change their status (retreat/advance) and to insert into them."""
    rng = random.Random(1000 + seed)
    pairs = [Pair(p) for p in (1, 2, 3)]
    for rnd in range(8):
        for pair in pairs:
            for _ in range(rng.randint(1, 8)):
                random_edit(rng, pair)
            for d in pair.docs:
                d.commit()
        # sync a random subset of directions, so that peers edit concurrently
        for a in pairs:
            for b in pairs:
                if a is not b and rng.random() < 0.5:
                    sync(a, b)
                    b.check()
                    b.docs[1]._check_invariants()
    for a in pairs:
        for b in pairs:
            if a is not b:
                sync(a, b)
    for pair in pairs:
        pair.check()
        check_conversions(pair, rng, samples=60)
        pair.docs[1]._check_invariants()
    assert pairs[0].texts[1].to_string() == pairs[1].texts[1].to_string() == pairs[2].texts[1].to_string()


def test_split_at_every_offset_of_mixed_spans():
    """Deleting one code point at every offset of a long mixed span splits it into both a
    shorter left and a shorter right part; the checker recomputes both parts' lengths."""
    for alpha in ("mixed", "latin_cjk", "one_three", "cjk", "emoji"):
        rng = random.Random(alpha)
        pair = Pair(3)
        s = "".join(rng.choice(ALPHABETS[alpha]) for _ in range(120))
        pair.both("insert", 0, s)
        for i in range(0, 110, 3):
            pair.both("delete", i, 1)
            pair.both("insert", i, rng.choice(ALPHABETS["mixed"]))
        pair.check()
        pair.docs[1]._check_invariants()
        check_conversions(pair, rng)


@pytest.mark.parametrize("seed", range(6))
def test_leaf_splits_of_long_spans_with_counter_gaps(seed):
    """Long pastes fill leaves with long spans; short inserts and deletes inside them split
    spans and leaves (the atom index moves one slot per span), merges fold spans back (their
    start bits go away), and map ops between the pastes leave counters that no span holds.
    Remote peers then look atoms up by id (origins, tracker records) while integrating."""
    rng = random.Random(500 + seed)
    pairs = [Pair(p) for p in (11, 12)]
    for rnd in range(6):
        for pair in pairs:
            for i in range(rng.randint(3, 10)):
                s = pair.texts[0].to_string()
                at = rng.randint(0, len(s))
                r = rng.random()
                if r < 0.3:
                    pair.both("insert", at, rand_str(rng, long=True))
                elif r < 0.7:
                    pair.both("insert", at, rng.choice("xé中😀"))
                elif len(s) > at:
                    pair.both("delete", at, rng.randint(1, min(40, len(s) - at)))
                for d in pair.docs:
                    d.get_map("gap").insert("k", i)   # a counter that no span holds
            for d in pair.docs:
                d.commit()
            pair.docs[1]._check_invariants()
        sync(pairs[0], pairs[1])
        if rng.random() < 0.7:
            sync(pairs[1], pairs[0])
        for pair in pairs:
            pair.check()
            pair.docs[1]._check_invariants()
    sync(pairs[0], pairs[1])
    sync(pairs[1], pairs[0])
    for pair in pairs:
        pair.check()
        check_conversions(pair, rng, samples=30)
        pair.docs[1]._check_invariants()
    # a snapshot import rebuilds the index from scratch
    fresh = loro_c.LoroDoc()
    fresh.import_(pairs[0].docs[1].export(loro_c.ExportMode.Snapshot()))
    assert fresh.get_text("t").to_string() == pairs[0].texts[0].to_string()
    fresh._check_invariants()


# ---------------------------------------------------------------------------
# len(map)

@pytest.mark.parametrize("seed", range(10))
def test_map_len_matches_loro(seed):
    rng = random.Random(seed)
    docs = [[lib.LoroDoc() for lib in (loro, loro_c)] for _ in range(3)]
    for p, pair in enumerate(docs):
        for d in pair:
            d.peer_id = p + 1
    keys = [f"k{i}" for i in range(30)]
    for step in range(300):
        p = rng.randrange(3)
        key = rng.choice(keys)
        r = rng.random()
        for d in docs[p]:
            m = d.get_map("m")
            if r < 0.55:
                m.insert(key, step)
            elif r < 0.9:
                m.delete(key)
            elif r < 0.95:
                m.clear()
            else:
                m.insert_container(key, type(m)())
            d.commit()
        if rng.random() < 0.2:
            q = rng.randrange(3)
            for lib_i, lib in ((0, loro), (1, loro_c)):
                dst = docs[q][lib_i]
                dst.import_(docs[p][lib_i].export(lib.ExportMode.Updates(dst.oplog_vv)))
        for pair in docs:
            lo, c = (d.get_map("m") for d in pair)
            assert len(c) == len(lo) == len(lo.keys())
            assert c.is_empty() == lo.is_empty()
    for pair in docs:
        pair[1]._check_invariants()


def test_map_len_after_a_rejected_import():
    src = loro.LoroDoc()
    src.peer_id = 5
    for i in range(20):
        src.get_map("m").insert(f"k{i}", i)
    src.commit()
    good = src.export(loro.ExportMode.Updates(loro.VersionVector()))
    bad = bytearray(good)
    bad[-3] ^= 0xFF
    doc = loro_c.LoroDoc()
    doc.get_map("m").insert("mine", 1)
    doc.commit()
    with pytest.raises(loro_c.LoroError):
        doc.import_batch([good, bytes(bad)])
    assert len(doc.get_map("m")) == 1
    doc._check_invariants()
    doc.import_(good)
    lo = loro.LoroDoc()
    lo.import_(doc.export(loro_c.ExportMode.Snapshot()))
    assert len(doc.get_map("m")) == len(lo.get_map("m")) == 21
    doc._check_invariants()


# ---------------------------------------------------------------------------
# root lookup

def test_root_lookup_reuses_the_registered_container():
    doc = loro_c.LoroDoc()
    t = doc.get_text("t")
    t.insert(0, "hi")
    assert doc.get_text("t") == t
    assert doc.get_text("t").to_string() == "hi"
    # same name, other kinds: other containers
    lst = doc.get_list("t")
    mp = doc.get_map("t")
    cnt = doc.get_counter("t")
    assert len({t.id, lst.id, mp.id, cnt.id}) == 4
    assert doc.get_list("t") == lst and doc.get_map("t") == mp and doc.get_counter("t") == cnt
    assert doc.get_text(t.id) == t
    # names are still validated after others are cached
    for bad in ("", "a/b", "a\0b"):
        with pytest.raises(loro_c.LoroValueError):
            doc.get_text(bad)
    with pytest.raises(loro_c.LoroValueError):
        doc.get_text(3)
    assert set(doc.get_value()) == {"t"}


def test_root_registered_by_a_rejected_import():
    """A rolled-back import unregisters the roots it created; asking for one by name later
    registers it again, and the document converges with loro."""
    src = loro.LoroDoc()
    src.peer_id = 9
    src.get_text("x").insert(0, "remote 中文")
    src.commit()
    good = src.export(loro.ExportMode.Updates(loro.VersionVector()))
    bad = bytearray(good)
    bad[-3] ^= 0xFF
    docs = [loro.LoroDoc(), loro_c.LoroDoc()]
    for d in docs:
        d.peer_id = 2
        d.get_text("a").insert(0, "a")
        d.commit()
    # loro_c's import_batch is all or nothing; the oracle simply never sees the batch
    with pytest.raises(loro_c.LoroError):
        docs[1].import_batch([good, bytes(bad)])
    assert not docs[1].has_container(loro_c.ContainerID.Root("x", loro_c.ContainerType.Text()))
    for _ in range(3):
        for d in docs:
            d.get_text("x").insert(0, "L")
    for d in docs:
        d.commit()
        d.import_(good)
    assert docs[1].get_deep_value() == docs[0].get_deep_value()
    assert docs[1].get_text("x").to_string() == docs[0].get_text("x").to_string()
    docs[1]._check_invariants()


def test_convert_pos_between_every_position_type_is_loros():
    """Every PositionType pair, Event and Entity included, at every position and past the
    end: a position kept in its own type is returned as is, Event is Unicode, and Entity
    converts to and from nothing else (loro's rules)."""
    got, want = [], []
    for lib, out in ((loro, want), (loro_c, got)):
        doc = lib.LoroDoc()
        text = doc.get_text("t")
        text.insert(0, "héllo😀 wörld 我能 ok")
        text.mark(1, 3, "bold", True)
        kinds = [getattr(lib.PositionType, k) for k in ("Bytes", "Unicode", "Utf16", "Event", "Entity")]
        for i in list(range(40)) + [100, 2 ** 40]:
            for a in range(5):
                for b in range(5):
                    out.append((i, a, b, text.convert_pos(i, kinds[a], kinds[b])))
    assert got == want
    with pytest.raises(loro_c.LoroTypeError):
        loro_c.LoroDoc().get_text("t").convert_pos(1.0, loro_c.PositionType.Unicode,
                                                   loro_c.PositionType.Unicode)
