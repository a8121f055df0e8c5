"""LoroList.for_each / get_id_at and LoroMap.for_each / get_last_editor, against loro, on
concurrent histories and at checked-out versions."""
import random

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)


def norm(lib, v):
    if lib.ValueOrContainer.is_container(v):
        c = v.container.id
        return ("C", c.peer, c.counter, str(c.container_type))
    return ("V", v.value)


def reads(lib, d):
    lst, m = d.get_list("l"), d.get_map("m")
    items, entries = [], []
    lst.for_each(lambda v: items.append(norm(lib, v)))
    m.for_each(lambda k, v: entries.append((k, norm(lib, v))))
    ids = []
    for i in range(len(lst) + 2):
        x = lst.get_id_at(i)
        ids.append(None if x is None else (x.peer, x.counter))
    editors = [m.get_last_editor(k) for k in "abcdz"]
    return items, sorted(entries), ids, editors


@pytest.mark.parametrize("seed", range(10))
def test_reads_match_loro(seed):
    rng = random.Random(seed)
    docs = {lib: [lib.LoroDoc() for _ in range(3)] for lib in LIBS}
    for lib, ds in docs.items():
        for i, d in enumerate(ds):
            d.peer_id = i + 1
    marks = []
    for step in range(30):
        i = rng.randrange(3)
        r = rng.random()
        s = rng.randrange(1 << 20)
        for lib, ds in docs.items():
            d, r2 = ds[i], random.Random(s)
            lst, m = d.get_list("l"), d.get_map("m")
            if r < 0.35:
                lst.insert(r2.randint(0, len(lst)), r2.randint(0, 9))
            elif r < 0.45 and len(lst):
                lst.delete(r2.randrange(len(lst)), 1)
            elif r < 0.55:
                lst.insert_container(r2.randint(0, len(lst)), lib.LoroMap())
            elif r < 0.8:
                m.insert(r2.choice("abcd"), r2.randint(0, 9))
            elif r < 0.9:
                m.delete(r2.choice("abcd"))
            else:
                j = (i + 1) % 3
                ds[j].import_(d.export(lib.ExportMode.Updates(ds[j].oplog_vv)))
            d.commit()
        marks.append([(x.peer, x.counter) for x in docs[loro_c][0].oplog_frontiers.to_list()])
        got = {lib: reads(lib, ds[i]) for lib, ds in docs.items()}
        assert got[loro_c] == got[loro], (seed, step)
    # at old versions too
    for at in rng.sample(marks, 5):
        got = {}
        for lib, ds in docs.items():
            ds[0].checkout(lib.Frontiers.from_ids([lib.ID(p, c) for p, c in at]) if at else lib.Frontiers())
            got[lib] = reads(lib, ds[0])
        assert got[loro_c] == got[loro]


def test_callbacks_may_edit_and_bad_arguments_raise():
    d = loro_c.LoroDoc()
    lst, m = d.get_list("l"), d.get_map("m")
    lst.insert(0, 1)
    lst.insert(1, 2)
    m.insert("a", 1)
    lst.for_each(lambda v: lst.push(v.value * 10))      # reads first, then calls
    m.for_each(lambda k, v: m.insert(k + k, v.value))
    assert lst.get_value() == [1, 2, 10, 20]
    assert m.get_value() == {"a": 1, "aa": 1}
    for bad in (lambda: lst.for_each(5), lambda: m.for_each(None),
                lambda: lst.get_id_at("0"), lambda: m.get_last_editor(1)):
        with pytest.raises((loro_c.LoroTypeError, TypeError)):
            bad()
    with pytest.raises(OverflowError):                  # as loro (an unsigned position)
        lst.get_id_at(-1)
    assert lst.get_id_at(1 << 70) is None
