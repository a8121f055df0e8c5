"""A commit's (EventTriggerKind.Local) Text, List and MovableList deltas equal loro 1.17.1's
item for item, not only in effect: loro builds them from the transaction's event hints,
composed on its delta rope (src/loro_c/collect/local_delta.pxi). Worked examples of each way the
items used to differ, the seeds of the differential events test where they did, and
random transactions (many ops each, so the rope's B-tree splits) with rich text and
movable lists."""
import random

import loro
import pytest

import loro_c
from _events_util import ncid, nval


def ndiff(df):
    """Every item as it is: attributes, is_move, no merging."""
    name = type(df).__name__
    out = []
    if "Text" in name:
        for x in df.diff:
            k = type(x).__name__
            if "Retain" in k:
                out.append(("r", x.retain, x.attributes or None))
            elif "Insert" in k:
                out.append(("i", x.insert, x.attributes or None))
            else:
                out.append(("d", x.delete))
        return ("Text", out)
    if "List" in name:
        for x in df.diff:
            k = type(x).__name__
            if "Retain" in k:
                out.append(("r", x.retain))
            elif "Insert" in k:
                out.append(("i", [nval(v) for v in x.insert], bool(x.is_move)))
            else:
                out.append(("d", x.delete))
        return ("List", out)
    if "Map" in name:
        return ("Map", {k: (None if v is None else nval(v)) for k, v in df.diff.updated.items()})
    return (name, df.diff)


def nev(e):
    return (str(e.triggered_by).split(".")[-1],
            sorted(((ncid(c.target), ndiff(c.diff)) for c in e.events), key=repr))


def events(mod, build, styles=False):
    doc = mod.LoroDoc()
    doc.peer_id = 7
    if styles:
        cfg = mod.StyleConfigMap()
        cfg.insert("bold", mod.ExpandType.After)
        cfg.insert("link", mod.ExpandType.Null)
        doc.config_text_style(cfg)
    got = []
    sub = doc.subscribe_root(lambda e: got.append(nev(e)))
    build(doc, mod)
    doc.commit()
    del sub
    return got


def both(build, styles=False):
    want = events(loro, build, styles)
    got = events(loro_c, build, styles)
    assert got == want
    return got


def only_diff(evs, k=-1):
    return evs[k][1][0][1]


def test_deletes_over_two_id_runs_stay_two_items():
    # loro deletes a text range run by run, right to left ('bc', then 'a'), each its own
    # item: [delete 1, delete 2]
    def build(d, mod):
        t = d.get_text("t")
        t.insert(0, "ad")
        d.commit()
        t.insert(1, "bc")
        d.commit()
        t.delete(0, 3)
    assert only_diff(both(build)) == ("Text", [("d", 1), ("d", 2)])


def test_single_deleted_characters_join_backwards():
    # one-character runs form one backward span: a single delete item
    def build(d, mod):
        t = d.get_text("t")
        t.insert(0, "ac")
        d.commit()
        t.insert(1, "b")
        d.commit()
        t.delete(0, 3)
    assert only_diff(both(build)) == ("Text", [("d", 3)])


def test_inserts_whose_bytes_do_not_follow_stay_apart():
    # 'a' then text elsewhere then ' zc ' right after 'a': loro's storage does not join them
    def build(d, mod):
        t = d.get_text("t")
        other = d.get_text("u")
        t.insert(0, "a")
        other.insert(0, "x")
        t.insert(1, " zc ")
    assert only_diff(both(build)) == ("Text", [("i", "a", None), ("i", " zc ", None)])


def test_an_insert_after_a_delete_at_the_end_comes_after_it():
    def build(d, mod):
        t = d.get_text("t")
        t.insert(0, "hello")
        d.commit()
        t.delete(2, 3)
        t.insert(2, "c😀")
    assert only_diff(both(build)) == ("Text", [("r", 2, None), ("d", 3), ("i", "c😀", None)])


def test_list_ops_that_cancel_out_keep_their_retain():
    def build(d, mod):
        l = d.get_list("l")
        l.push(1)
        d.commit()
        l.insert(1, 2)
        l.delete(1, 1)
    assert only_diff(both(build)) == ("List", [("r", 1)])


def test_list_inserts_in_runs_of_eight():
    # ten values: items of 8 and 2; a value put inside the full first one cuts it
    def build(d, mod):
        l = d.get_list("l")
        for i in range(10):
            l.insert(i, i)
        l.insert(3, "x")
    evs = both(build)
    assert [len(x[1]) for x in only_diff(evs)[1]] == [3, 1, 5, 2]


def test_movable_list_move_and_set_items():
    def build(d, mod):
        l = d.get_movable_list("l")
        for v in (74, 41, 21, 77):
            l.push(v)
        d.commit()
        l.insert(1, 5)
        l.mov(4, 0)
        l.mov(3, 0)
        l.set(0, 2)
        l.delete(2, 2)
    evs = both(build)
    assert any(x[0] == "i" and x[2] for x in only_diff(evs)[1]), evs


def test_rich_text_marks_and_styled_inserts():
    def build(d, mod):
        t = d.get_text("t")
        t.insert(0, "hello world")
        d.commit()
        t.mark(0, 5, "bold", True)
        t.insert(5, "!!")
        t.insert(3, "x")
        t.unmark(1, 4, "bold")
        t.mark(6, 12, "link", "u")
        t.delete(2, 3)
        t.insert(0, "y")
    evs = both(build, styles=True)
    assert any(len(x) > 2 and x[2] for x in only_diff(evs)[1]), evs


def test_a_long_transaction_splits_the_ropes_tree_as_loro():
    # more than 12 items: loro's B-tree joins a new item to the next only in the same node
    def build(d, mod):
        r = random.Random(163)
        t = d.get_text("t")
        t.insert(0, "x" * 80)
        d.commit()
        for _ in range(60):
            n = len(t.to_string())
            if r.random() < 0.4:
                a = r.randrange(n)
                t.delete(a, r.randint(1, min(6, n - a)))
            else:
                t.insert(r.randint(0, n), "".join(r.choice("ab é😀") for _ in range(3)))
    evs = both(build)
    assert len(only_diff(evs)[1]) > 12


# the differential events test's sessions where a commit's items differed from loro's
# (split adjacent items, a gap's order, a trailing retain), now compared raw
# (_events_util.comparable)
@pytest.mark.parametrize("seed", [2, 9, 12, 13, 83, 93, 145, 168, 172, 272, 331, 347, 394, 430])
def test_differential_sessions_that_differed(seed):
    from test_events_differential import run_session
    run_session(seed)


def _random_session(seed, marks, movable, n_max):
    def ops(d, mod, r):
        t = d.get_text("t")
        l = d.get_movable_list("l") if movable else d.get_list("l")
        for _ in range(r.randint(1, n_max)):
            if r.random() < 0.55:
                n = len(t.to_string())
                y = r.random()
                if n and y < 0.4:
                    a = r.randrange(n)
                    t.delete(a, r.randint(1, min(6, n - a)))
                elif marks and n and y < 0.55:
                    a = r.randrange(n)
                    b = r.randint(a + 1, n)
                    if r.random() < 0.7:
                        t.mark(a, b, r.choice(["bold", "link"]), r.choice([True, 1, "x"]))
                    else:
                        t.unmark(a, b, r.choice(["bold", "link"]))
                else:
                    t.insert(r.randint(0, n), "".join(r.choice("abcxyz é😀中")
                                                      for _ in range(r.randint(1, 5))))
            else:
                n = len(l)
                y = r.random()
                if n and y < 0.35:
                    a = r.randrange(n)
                    l.delete(a, r.randint(1, min(12, n - a)))
                elif movable and n and y < 0.5:
                    l.mov(r.randrange(n), r.randrange(n))
                elif movable and n and y < 0.6:
                    l.set(r.randrange(n), r.randint(0, 9))
                else:
                    p = r.randint(0, n)
                    for j in range(r.randint(1, 10)):
                        l.insert(p + (j if r.random() < 0.8 else 0), r.randint(0, 99))

    def build(d, mod):
        rng = random.Random(seed)
        for _ in range(12):
            ops(d, mod, random.Random(rng.randrange(1 << 30)))
            d.commit()
    both(build, styles=marks)


@pytest.mark.parametrize("block", range(4))
def test_random_transactions_match_loro(block):
    for seed in range(block * 10, block * 10 + 10):
        _random_session(seed, marks=False, movable=False, n_max=30)
        _random_session(seed, marks=True, movable=False, n_max=30)
        _random_session(seed, marks=True, movable=True, n_max=30)


def _thousands_of_ops(kind, seed, n_ops=4500):
    """One transaction of `n_ops` ops at scattered places (each its own hint): past 4,000
    hints loro_c used the state-based diff, whose items join differently from loro's."""
    def build(d, mod):
        r = random.Random(seed)
        if kind == "text":
            t = d.get_text("t")
            t.insert(0, "abcdefghij" * 50)
            d.commit()
            for _ in range(n_ops):
                n = len(t.to_string())
                y = r.random()
                if y < 0.25:
                    a = r.randrange(n)
                    t.delete(a, r.randint(1, min(3, n - a)))
                elif y < 0.3:
                    a = r.randrange(n)
                    t.mark(a, r.randint(a + 1, min(n, a + 20)), r.choice(["bold", "link"]), True)
                else:
                    t.insert(r.randint(0, n), r.choice(["xy", "é", "😀z"]))
            return
        l = d.get_movable_list("l") if kind == "movable" else d.get_list("l")
        for i in range(100):
            l.insert(i, i)
        d.commit()
        for i in range(n_ops):
            n = len(l)
            y = r.random()
            if y < 0.2:
                l.delete(r.randrange(n), 1)
            elif kind == "movable" and y < 0.3:
                l.mov(r.randrange(n), r.randrange(n))
            elif kind == "movable" and y < 0.35:
                l.set(r.randrange(n), i)
            else:
                l.insert(r.randint(0, n), i)
    return build


@pytest.mark.parametrize("kind", ["text", "list", "movable"])
def test_a_transaction_of_thousands_of_ops_gives_loros_items(kind):
    evs = both(_thousands_of_ops(kind, 5), styles=kind == "text")
    # (thousands of items: the rope's tree is several levels deep)
    assert len(only_diff(evs)[1]) > 500


def test_a_commits_ropes_leave_no_cyclic_garbage():
    # the ropes' items and nodes point to their parents; they are made with the cyclic
    # collector paused and unlinked when they go, so nothing is left for it to find
    import gc
    doc = loro_c.LoroDoc()
    doc.peer_id = 1
    got = []
    sub = doc.subscribe_root(got.append)
    _thousands_of_ops("text", 3, 1500)(doc, loro_c)
    gc.collect()
    was_on = gc.isenabled()
    gc.disable()
    try:
        doc.commit()
        assert len(got) == 2
        assert gc.collect() == 0
    finally:
        if was_on:
            gc.enable()
    del sub
