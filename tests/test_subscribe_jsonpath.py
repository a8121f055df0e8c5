"""subscribe_jsonpath against loro: the callback fires whenever loro's does (loro allows
false positives, so loro_c may fire more, but only where a recursive descent, index, slice
or filter could select the change), never misses a change of what the path selects, and
stays silent for changes the path cannot reach (other roots, other map keys)."""
import random

import loro
import pytest

import loro_c

LIBS = (loro, loro_c)
PATHS = ["$.m.k", "$.m", "$..k", "$.l[0]", "$.t", "$.m.sub.x", "$['m']['k']", "$.*",
         "$.m[?(@ > 1)]", "$.l[*].a", "$.m.sub", "$.c", "$", "$.l[1:3]", "$.m['k','j']"]
# (path, change) pairs the path cannot reach (unless the change also makes "m.sub"):
# when loro stays silent there, loro_c must too
SILENT = {("$.m.k", "m.j"), ("$.t", "m.k"), ("$.m.sub.x", "m.sub.y"), ("$.c", "t"),
          ("$['m']['k']", "m.j"), ("$.m['k','j']", "m.z")}


def edits(lib):
    def sub_map(d):
        v = d.get_map("m").get("sub")
        return v.container if v is not None else d.get_map("m").insert_container("sub", lib.LoroMap())
    return [
        ("m.k", lambda d: d.get_map("m").insert("k", 1)),
        ("m.j", lambda d: d.get_map("m").insert("j", 2)),
        ("m.z", lambda d: d.get_map("m").insert("z", 2)),
        ("t", lambda d: d.get_text("t").insert(0, "a")),
        ("l", lambda d: d.get_list("l").insert(0, 1)),
        ("l.map", lambda d: d.get_list("l").insert_container(0, lib.LoroMap()).insert("a", 1)),
        ("m.sub", lambda d: sub_map(d)),
        ("m.sub.x", lambda d: sub_map(d).insert("x", 1)),
        ("m.sub.y", lambda d: sub_map(d).insert("y", 1)),
        ("c", lambda d: d.get_counter("c").increment(1)),
        ("other.k", lambda d: d.get_map("other").insert("k", 1)),
        ("m.k del", lambda d: d.get_map("m").delete("k")),
    ]


def run(lib, order, via_import):
    fired = {p: [] for p in PATHS}
    d = lib.LoroDoc()
    d.peer_id = 1
    src = lib.LoroDoc()
    src.peer_id = 2
    subs = [d.subscribe_jsonpath(p, lambda p=p: fired[p].append(step[0])) for p in PATHS]
    step = [None]
    named = dict(edits(lib))
    values = []
    for name in order:
        step[0] = name
        target = src if via_import else d
        named[name](target)
        target.commit()
        if via_import:
            d.import_(src.export(lib.ExportMode.Updates(d.oplog_vv)))
        values.append({p: repr(d.jsonpath(p)) if lib is loro_c else None for p in PATHS})
    del subs
    return fired, values


@pytest.mark.parametrize("via_import", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_fires_when_loro_does_and_is_silent_where_loro_is(seed, via_import):
    rng = random.Random(seed)
    order = [name for name, _ in edits(loro)]
    rng.shuffle(order)
    ours, values = run(loro_c, order, via_import)
    theirs, _ = run(loro, order, via_import)
    for p in PATHS:
        assert set(theirs[p]) <= set(ours[p]), (p, theirs[p], ours[p])
        for name in ours[p]:
            # where loro is silent on a change the path cannot reach, so is loro_c
            assert (p, name) not in SILENT or name in theirs[p], (p, name)
    # no change of a path's result goes unannounced
    prev = {p: "[]" for p in PATHS}
    for name, now in zip(order, values):
        for p in PATHS:
            if now[p] != prev[p] and p != "$":
                assert name in ours[p], (p, name)
        prev = now


def test_checkout_events_fire_it_too():
    d = loro_c.LoroDoc()
    d.get_map("m").insert("k", 1)
    d.commit()
    f = d.oplog_frontiers
    d.get_map("m").insert("k", 2)
    d.commit()
    hits = []
    sub = d.subscribe_jsonpath("$.m.k", lambda: hits.append(1))
    d.checkout(f)
    d.checkout_to_latest()
    assert hits == [1, 1]
    sub.unsubscribe()
    d.get_map("m").insert("k", 3)
    d.commit()
    assert hits == [1, 1]


def test_bad_paths_and_callbacks_raise():
    d = loro_c.LoroDoc()
    for bad in ("$[", "m.k", "$..", "$.m[?(@ >)]"):
        with pytest.raises(loro_c.LoroValueError):
            d.subscribe_jsonpath(bad, lambda: None)
    with pytest.raises(loro_c.LoroValueError):
        d.subscribe_jsonpath("$.m", 5)
