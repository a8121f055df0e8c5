"""Mergeable child containers (`LoroMap.ensure_mergeable_*`, loro 1.17) against loro: the
child ids and the markers byte for byte, reads through every surface (get, items, deep
values, paths, jsonpath), hiding by delete or overwrite and showing again, kind changes,
refusals, apply_diff / revert_to / undo, snapshots both ways, and random three-peer
sessions (edits, syncs, checkouts, undos) whose values, refusals and events must equal
loro's after every step."""
import random

import loro
import pytest

import loro_c
from loro_c import mergeable

import _events_util as eu

LIBS = (loro, loro_c)
ENSURE = {"Text": "ensure_mergeable_text", "List": "ensure_mergeable_list",
          "Map": "ensure_mergeable_map", "Counter": "ensure_mergeable_counter",
          "MovableList": "ensure_mergeable_movable_list", "Tree": "ensure_mergeable_tree"}


def _both(fn):
    """fn(lib) for each library; an exception counts as ("raised",)."""
    out = []
    for lib in LIBS:
        try:
            out.append(fn(lib))
        except BaseException as e:     # loro raises pyo3's PanicException/BaseException
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            out.append(("raised",))
    return out


@pytest.mark.parametrize("key", ["note", "a>b", "x/y", "back\\slash", "nul\0", "", "🤝:", "ключ"])
@pytest.mark.parametrize("kind", sorted(ENSURE))
def test_ids_and_markers_match_loro(key, kind):
    got = []
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 0x1234ABCD
        root = d.get_map("root/less".replace("/", "_"))
        normal = root.insert_container("n", lib.LoroMap())
        child = getattr(normal, ENSURE["Map"])("mid")
        ids = []
        for parent in (root, normal, child):
            c = getattr(parent, ENSURE[kind])(key)
            ids.append((c.id.name, str(c.id.container_type), parent.get_value()[key]))
        got.append(ids)
        d.commit()
    assert got[0] == got[1]
    # the parser inverts the encoder, escapes included
    for name, _, _ in got[1]:
        parsed = mergeable.parse_child(loro_c.ContainerID.Root(name, loro_c.ContainerType.Map()))
        assert parsed is not None and parsed[1] == key


def test_malformed_names_are_not_mergeable_children():
    for name in ("🤝:", "🤝:$m", "🤝:$>k", "🤝:@00:1>k", "🤝:@1:-0>k", "🤝:@A:1>k", "🤝:$m>k\\q",
                 "🤝:$m>k\\", "🤝:#m>k", "🤝:$🤝:x>k"):
        cid = loro_c.ContainerID.Root(name, loro_c.ContainerType.Text())
        assert mergeable.parse_child(cid) is None, name


def _reads(lib, d):
    m = d.get_map("m")

    def cid(v):
        return v.container.id.name if lib.ValueOrContainer.is_container(v) else v.value
    with_id = d.get_deep_value_with_id()
    path = d.get_path_to_container(m.get("a").container.id) if m.get("a") is not None \
        and lib.ValueOrContainer.is_container(m.get("a")) else None
    return (d.get_deep_value(), with_id,
            {k: v for k, v in m.get_value().items() if isinstance(v, bytes)},
            sorted((k, cid(v)) for k, v in m.items()),
            [cid(v) for v in m.values()], sorted(m.keys()), len(m),
            None if path is None else [(c.name if hasattr(c, "name") else str(c), i.key)
                                       for c, i in path],
            sorted(k for k in d.get_value()))


def test_reads_show_the_child_and_refusals_match_loro():
    def session(lib):
        d = lib.LoroDoc()
        d.peer_id = 9
        m = d.get_map("m")
        out = []
        t = m.ensure_mergeable_text("note")
        t.insert(0, "hi")
        a = m.ensure_mergeable_map("a")
        a.ensure_mergeable_map("b").ensure_mergeable_list("c").push(1)
        d.commit()
        out.append(_reads(lib, d))
        out.append(_both(lambda _: m.ensure_mergeable_text("note").to_string()))
        out.append(d.oplog_vv.get_last(9))            # the same-kind ensure wrote nothing
        m.insert("plain", 5)
        out.append(_both(lambda _: m.ensure_mergeable_map("plain")) [LIBS.index(lib)])
        m.delete("note")
        d.commit()
        out.append(_reads(lib, d))
        try:
            t.insert(0, "x")                            # hidden: refused as deleted
            out.append("edited")
        except BaseException:
            out.append("refused")
        out.append(m.ensure_mergeable_text("note").to_string())     # shown again, kept
        out.append(str(m.ensure_mergeable_counter("a").id.container_type))  # kind change
        d.commit()
        out.append(_reads(lib, d))
        out.append(m.ensure_mergeable_map("a").get_deep_value())   # the map's state is kept
        d.commit()
        out.append(_reads(lib, d))
        try:
            lib.LoroMap().ensure_mergeable_map("x")
            out.append("detached ok")
        except BaseException:
            out.append("detached refused")
        try:
            d.get_map("🤝:$m>note")
            out.append("reserved ok")
        except BaseException:
            out.append("reserved refused")
        # a marker copied to another key is a plain binary value there
        raw = m.get_value()["note"]
        m.insert("copy", raw)
        d.commit()
        out.append(_reads(lib, d))
        out.append(d.get_text(t.id).to_string())
        return out
    assert session(loro) == session(loro_c)


def test_apply_diff_revert_and_undo_write_markers_as_loro():
    def session(lib):
        out = []
        d = lib.LoroDoc()
        d.peer_id = 3
        m = d.get_map("m")
        d.commit()
        f0 = d.state_frontiers
        m.ensure_mergeable_text("t").insert(0, "ab")
        m.ensure_mergeable_map("x").insert("k", 1)
        d.commit()
        f1 = d.state_frontiers
        m.delete("t")
        m.insert("x", 7)
        d.commit()
        d.revert_to(f1)         # shows both children again, with the state they kept
        d.commit()
        out.append((d.get_deep_value(), m.get_value(), d.oplog_vv.get_last(3)))
        for start in (lib.Frontiers(), f0):
            e = lib.LoroDoc()
            e.peer_id = 5
            e.get_map("m").insert("t", "occupied")
            e.apply_diff(d.diff(start, d.state_frontiers))
            e.apply_diff(d.diff(start, d.state_frontiers))      # twice: no copy doubled
            e.commit()
            out.append((e.get_deep_value(), e.get_map("m").get_value(), e.oplog_vv.get_last(5)))
        u = lib.UndoManager(d)
        m.ensure_mergeable_counter("c").increment(3)
        d.commit()
        m.delete("c")
        d.commit()
        for _ in range(3):
            out.append(u.undo())
            d.commit()
            out.append(d.get_deep_value())
        return out
    assert session(loro) == session(loro_c)


def test_hidden_child_is_deleted_and_cannot_be_edited():
    d = loro_c.LoroDoc()
    m = d.get_map("m")
    t = m.ensure_mergeable_text("k")
    t.insert(0, "x")
    m.insert("k", 1)
    with pytest.raises(loro_c.ContainerDeletedError):
        t.insert(0, "y")
    with pytest.raises(loro_c.LoroValueError):
        m.ensure_mergeable_text("k")
    assert d.get_deep_value() == {"m": {"k": 1}}


def test_concurrent_ensures_merge_and_snapshots_cross_both_ways():
    docs = {}
    for lib in LIBS:
        a, b = lib.LoroDoc(), lib.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        a.get_map("m").ensure_mergeable_text("t").insert(0, "left ")
        b.get_map("m").ensure_mergeable_text("t").insert(0, "right")
        a.get_map("m").ensure_mergeable_list("l").push(1)
        b.get_map("m").ensure_mergeable_map("l").insert("x", 1)    # another kind: LWW
        b.get_map("m").ensure_mergeable_counter("c").increment(2)
        tree = a.get_map("m").ensure_mergeable_tree("tree")
        tree.create()
        ml = b.get_map("m").ensure_mergeable_movable_list("ml")
        ml.push("p")
        a.commit()
        b.commit()
        a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
        b.import_(a.export(lib.ExportMode.Updates(b.oplog_vv)))
        assert a.get_deep_value() == b.get_deep_value()
        docs[lib] = a
    want = docs[loro].get_deep_value()
    assert docs[loro_c].get_deep_value() == want
    # snapshots both ways, and the mergeable children's state entries byte for byte
    from loro_c import _codec
    ours = docs[loro_c].export(loro_c.ExportMode.Snapshot())
    theirs = docs[loro].export(loro.ExportMode.Snapshot())
    x = loro.LoroDoc()
    x.import_(ours)
    y = loro_c.LoroDoc()
    y.import_(theirs)
    assert x.get_deep_value() == want == y.get_deep_value()
    ents = [{k: v for k, v in _codec._state_section_entries(blob) if "🤝".encode() in k}
            for blob in (ours, theirs)]
    assert ents[0] and ents[0] == ents[1]
    # a document loaded from loro's snapshot keeps working
    y.get_map("m").ensure_mergeable_text("t").insert(0, ">")
    x.get_map("m").ensure_mergeable_text("t").insert(0, ">")
    assert x.get_deep_value() == y.get_deep_value()


# ------------------------------------------------ the order of an import's or checkout's diffs
# (each case listed its mergeable children of one depth in another order than loro before)

def _order_session(script, peers=(1, 2, 3)):
    """The events of `script(lib, docs, sync, commit, evs)` on three documents (`peers`, root
    map "m"), subscribed at the first, from each place in `evs` the script returns, as (trigger, [target names]) in the order they list their diffs,
    with the whole event for the comparison: each library's."""
    got = []
    for lib in LIBS:
        docs = [lib.LoroDoc() for _ in range(3)]
        for k, d in enumerate(docs):
            d.peer_id = peers[k]
            d.get_map("m")
        evs = []
        sub = docs[0].subscribe_root(lambda e: evs.append(eu.nev(e)))

        def sync(i, j, lib=lib):
            docs[j].import_(docs[i].export(lib.ExportMode.Updates(docs[j].oplog_vv)))

        def commit(i):
            docs[i].commit()
            docs[i].get_deep_value()        # (as the random sessions read after each step)
        marks = script(lib, docs, sync, commit, evs)
        got.append([[(e[0], [r[0][1] for r in e[3]]) for e in evs[m:]] + [evs[m:]] for m in marks]
                   if marks else [])
        del sub
    for a, b in zip(*got):
        assert a[:-1] == b[:-1]
        assert [eu.comparable(e) for e in a[-1]] == [eu.comparable(e) for e in b[-1]]
    return got[0]


def test_a_hidden_mergeable_child_is_one_deeper_than_its_parent_map_in_loros_order():
    # an import edits a child another kind's marker hides: loro's arena gives it its
    # parent's depth plus one (no path, so no diff of it in the event, but in the map that
    # orders the others); seed 24 of the random sessions, shrunk
    def script(lib, docs, sync, commit, evs):
        m = [d.get_map("m") for d in docs]
        m[1].ensure_mergeable_list("b").insert(0, 1)
        commit(1)
        m[0].ensure_mergeable_map("nest").ensure_mergeable_map("a").insert("k0", 3)
        commit(0)
        m[0].ensure_mergeable_map("nest").ensure_mergeable_text("a").insert(0, "z")
        commit(0)
        m[0].ensure_mergeable_list("b").insert(0, 0)
        commit(0)
        m[1].ensure_mergeable_list("a").insert(0, 4)
        commit(1)
        m[0].ensure_mergeable_text("a").insert(0, "x")
        commit(0)
        m[1].ensure_mergeable_map("nest").insert("a", 5)
        commit(1)
        at = len(evs)
        sync(1, 0)
        return [at]
    _order_session(script, (2, 1, 3))


def test_a_checkout_brings_mergeable_children_back_after_the_diffs_of_their_depth():
    # a map's marker shows a child again: loro's map calculator does not report it (a marker
    # is no container value), its state brings it back after the diffs of the child's depth,
    # in the order the map's diff shows them (seeds 21 and 35 of the random sessions, shrunk)
    def script(lib, docs, sync, commit, evs):
        m = docs[0].get_map("m")
        m.ensure_mergeable_map("nest").ensure_mergeable_counter("b").increment(1)
        commit(0)
        m.ensure_mergeable_list("a").insert(0, 3)
        commit(0)
        m.ensure_mergeable_list("c").insert(0, 4)
        commit(0)
        v = docs[0].oplog_frontiers
        m.ensure_mergeable_map("a").insert("k2", 2)
        commit(0)
        m.ensure_mergeable_map("nest").delete("b")
        commit(0)
        m.ensure_mergeable_counter("a").increment(5)
        m.ensure_mergeable_map("c").insert("k2", 2)
        commit(0)
        at = len(evs)
        docs[0].checkout(v)
        back = len(evs)
        docs[0].checkout_to_latest()
        return [at, back]
    _order_session(script)


def test_an_import_brings_back_a_mergeable_counter_whose_ops_add_up_to_zero():
    # its calculator's diff is empty, so loro's state shows it after the other diffs of its
    # depth (seed 37 of the random sessions, shrunk)
    def script(lib, docs, sync, commit, evs):
        docs[1].get_map("m").ensure_mergeable_list("b").insert(0, 0)
        commit(1)
        docs[2].get_map("m").ensure_mergeable_counter("a").increment(0)
        commit(2)
        sync(1, 2)
        at = len(evs)
        sync(2, 0)
        return [at]
    _order_session(script)


def _replay_actions(actions):
    """Replay a shrunk random session (the steps of run_session, checkouts naming the
    version by its place in the document's list) on both libraries, comparing every event
    with its diffs in order."""
    sides = [Side(loro), Side(loro_c)]
    versions = [[] for _ in range(3)]

    def check(i):
        evs = [[eu.comparable(e, ()) for e in s.take(i) if e[3]] for s in sides]
        assert evs[0] == evs[1]
        assert sides[0].docs[i].get_deep_value() == sides[1].docs[i].get_deep_value()

    def commit(i):
        for side in sides:
            side.docs[i].commit()
        check(i)
        versions[i].append([(x.peer, x.counter) for x in sides[1].docs[i].oplog_frontiers.to_list()])
    for a in actions:
        i = a[1]
        if a[0] == "edit":
            _, i, key, kind, nested, n = a
            for side in sides:
                _edit(side.ensure(i, nested, key, kind), kind, n)
            commit(i)
        elif a[0] == "del":
            for side in sides:
                side.parent(i, a[3]).delete(a[2])
            commit(i)
        elif a[0] == "ins":
            for side in sides:
                side.parent(i, a[3]).insert(a[2], a[4])
            commit(i)
        elif a[0] == "undo":
            for side in sides:
                side.undos[i].undo()
            commit(i)
        elif a[0] == "sync":
            j = a[2]
            for side in sides:
                side.docs[i].commit()
            check(i)
            for side in sides:
                side.docs[j].import_(side.docs[i].export(side.lib.ExportMode.Updates(side.docs[j].oplog_vv)))
            check(j)
            versions[j].append([(x.peer, x.counter) for x in sides[1].docs[j].oplog_frontiers.to_list()])
        else:
            at = versions[i][a[2]]
            for side in sides:
                side.docs[i].checkout(side.lib.Frontiers.from_ids([side.lib.ID(p, c) for p, c in at]))
            check(i)
            for side in sides:
                side.docs[i].checkout_to_latest()
            check(i)


def test_brought_back_mergeable_children_come_in_the_order_their_maps_diff_shows_them():
    # a checkout shows two children again through their map's markers: loro's state puts
    # them in a set in the order the map's diff (a hash map of its keys) yields them
    # (seed 35 of the random sessions, shrunk)
    _replay_actions([
        ("edit", 2, "a", "Map", False, 2), ("del", 1, "c", False), ("sync", 2, 0),
        ("sync", 0, 1), ("sync", 0, 1), ("edit", 1, "b", "Map", False, 0), ("undo", 1),
        ("sync", 0, 1), ("edit", 1, "c", "Text", True, 5), ("edit", 1, "c", "List", False, 4),
        ("edit", 1, "a", "Map", False, 0), ("edit", 1, "b", "Map", False, 0),
        ("edit", 1, "a", "Counter", False, 5), ("edit", 1, "c", "Map", False, 2),
        ("co", 1, 9)])


# keys of a map's checkout diff as loro's walk of the version DAG first meets their ops
# (only ops one version has: a walk from below both versions replays the others)
_WALK_ORDER_SESSIONS = {
    # a concurrent peer's write of nest's b, imported later, is met before the local write
    # of c (seed 69 of the random sessions, shrunk)
    "69": [
        ("edit", 1, "b", "Text", False, 1), ("edit", 1, "c", "List", True, 3),
        ("edit", 2, "c", "Map", False, 0), ("edit", 1, "b", "Counter", True, 4),
        ("edit", 1, "a", "Text", False, 3), ("ins", 0, "b", True, 0), ("sync", 2, 1),
        ("edit", 1, "a", "Text", False, 2), ("edit", 1, "c", "Text", True, 2), ("sync", 0, 1),
        ("edit", 1, "b", "List", True, 1), ("co", 1, 5)],
    # the same with the walk starting from the empty version: c's first write, which both
    # versions have, does not count (seed 365, shrunk)
    "365": [
        ("edit", 2, "c", "List", True, 1), ("edit", 2, "c", "List", True, 0), ("sync", 1, 2),
        ("edit", 2, "c", "Map", False, 2), ("ins", 0, "a", True, 2),
        ("edit", 2, "a", "Counter", False, 0), ("edit", 1, "b", "List", True, 3),
        ("edit", 0, "a", "Counter", False, 3), ("edit", 0, "a", "Map", False, 5),
        ("ins", 2, "c", False, 4), ("ins", 0, "b", True, 3), ("ins", 2, "b", False, 3),
        ("edit", 1, "b", "List", False, 4), ("edit", 1, "b", "Text", True, 4), ("sync", 1, 2),
        ("sync", 0, 2), ("edit", 2, "c", "Counter", True, 0), ("co", 2, 7)],
    # m's children b and c: the walk meets c first (shrunk from seed 300)
    "300": [
        ("edit", 2, "b", "List", False, 4), ("edit", 1, "a", "Text", True, 3),
        ("edit", 2, "c", "Counter", False, 3), ("sync", 2, 1), ("edit", 2, "c", "Map", False, 2),
        ("edit", 1, "c", "List", False, 2), ("sync", 2, 0), ("edit", 0, "a", "Text", False, 2),
        ("edit", 1, "b", "Text", False, 0), ("edit", 1, "a", "Counter", True, 2), ("sync", 0, 1),
        ("edit", 1, "c", "Map", True, 4), ("edit", 2, "c", "Text", False, 0), ("sync", 2, 0),
        ("ins", 1, "b", False, 5), ("sync", 0, 1), ("co", 1, 6)],
}


@pytest.mark.parametrize("session", sorted(_WALK_ORDER_SESSIONS))
def test_brought_back_children_sharing_a_bucket_come_in_the_order_the_walk_meets_their_keys(session):
    # a checkout shows two children again whose container numbers share a bucket of the
    # set loro's state brings them back from: the one inserted first comes first, and they
    # are inserted as their map's diff yields its keys; keys b and c share a bucket of that
    # diff too, so its calculator's order decides: the order loro's walk of the version DAG
    # first meets an op of each key between the two versions
    _replay_actions(_WALK_ORDER_SESSIONS[session])


def test_an_import_showing_a_mergeable_child_in_a_whole_value_does_not_raise():
    # nest comes whole into a document that never saw it, its child b with it: b is a
    # root, made by no map op (loro_c raised AttributeError here; seeds 659 and 897 of the
    # random sessions, the latter shrunk)
    _replay_actions([
        ("edit", 0, "b", "Map", True, 1), ("undo", 0), ("sync", 0, 1),
        ("edit", 2, "b", "Counter", True, 0), ("sync", 2, 1)])


def test_a_mergeable_child_whose_calculator_holds_a_key_is_not_brought_back():
    # an import shows a child again whose own write loses to an equal one (a key its map's
    # calculator holds, with nothing to show): loro's calculator has it in its map of
    # diffs, so it comes where that map puts it (seed 152 of the random sessions, shrunk)
    _replay_actions([
        ("edit", 2, "b", "Counter", False, 1), ("edit", 0, "b", "List", False, 1),
        ("edit", 1, "c", "Map", False, 0), ("edit", 1, "b", "Text", False, 5),
        ("edit", 2, "a", "Text", True, 4), ("edit", 1, "c", "List", False, 2),
        ("edit", 2, "c", "Map", False, 1), ("edit", 0, "c", "Map", True, 2),
        ("ins", 1, "c", True, 1), ("edit", 0, "a", "Map", False, 3),
        ("edit", 1, "a", "Map", False, 3), ("undo", 0), ("sync", 0, 2), ("sync", 1, 2)])


def test_an_import_numbers_a_mergeable_childs_parent_right_after_the_child():
    # the import's first op on nest is nest>b's (peer 2's block comes first): loro's arena
    # links a mergeable child to its parent when it registers the child, so nest takes
    # the number after nest>b, ahead of c; the hash order of those numbers puts c before
    # nest (seed 1962 of the random sessions, shrunk)
    def script(lib, docs, sync, commit, evs):
        docs[2].get_map("m").ensure_mergeable_map("nest").ensure_mergeable_text("b").insert(0, "y")
        commit(2)
        sync(2, 1)
        docs[1].get_map("m").ensure_mergeable_map("nest").ensure_mergeable_text("b").insert(0, "z")
        commit(1)
        docs[1].get_map("m").ensure_mergeable_map("c").insert("k1", 4)
        commit(1)
        at = len(evs)
        sync(1, 0)
        return [at]
    got = _order_session(script)
    assert got[0][0][1] == ["m", "🤝:$m>c", "🤝:$m>nest", "🤝:$m>nest>b"]


def test_a_key_deleted_again_by_an_import_is_in_the_map_calculators_diff():
    # the import deletes m's c again, which the document had deleted: the event shows no
    # diff of m, but loro's calculator (comparing the winning writes) has the key, so m is
    # in its map of diffs, which then orders nest's children a and c as loro does (seed
    # 2408 of the random sessions, shrunk; 2680 the same)
    _replay_actions([
        ("edit", 1, "b", "Text", True, 0), ("edit", 0, "b", "Counter", False, 5),
        ("sync", 1, 2), ("edit", 1, "b", "List", False, 1), ("del", 1, "c", False),
        ("edit", 2, "a", "List", False, 2), ("sync", 2, 0), ("edit", 0, "b", "Text", False, 4),
        ("sync", 1, 0), ("edit", 1, "a", "Text", True, 3), ("del", 1, "c", False),
        ("edit", 1, "c", "Counter", True, 1), ("sync", 1, 0)])


# ---------------------------------------------------------------- random sessions

KEYS = ("a", "b", "c")
KINDS = ("Text", "List", "Map", "Counter")


class Side:
    def __init__(self, lib):
        self.lib = lib
        self.docs = []
        self.events = []
        self.mirrors = []
        self.handles = {}
        self.subs = []
        for p in range(3):
            d = lib.LoroDoc()
            d.peer_id = p + 1
            d.get_map("m")
            self.docs.append(d)
            self.events.append([])
            self.mirrors.append({})
            self.subs.append(d.subscribe_root(lambda e, k=p: self.events[k].append(eu.nev(e))))
        self.undos = [lib.UndoManager(d) for d in self.docs]

    def parent(self, i, nested):
        m = self.docs[i].get_map("m")
        return m.ensure_mergeable_map("nest") if nested else m

    def ensure(self, i, nested, key, kind):
        h = getattr(self.parent(i, nested), ENSURE[kind])(key)
        self.handles[(i, nested, key, kind)] = h
        return h

    def take(self, i):
        out, self.events[i] = self.events[i], []
        return out


def _edit(h, kind, n):
    if kind == "Text":
        h.insert(min(n, len(h.to_string())), "xyz"[n % 3])
    elif kind == "List":
        h.insert(min(n, len(h)), n)
    elif kind == "Map":
        h.insert("k%d" % (n % 3), n)
    else:
        h.increment(n)


# every event's diffs are compared in order (imports and checkouts too, since their
# mergeable children are ordered as loro's arena and state order them: the tests above);
# seeds 0..399 all agree
MERGEABLE_INEXACT = eu.INEXACT_ORDER


def run_session(seed, steps=50):
    rng = random.Random(seed)
    sides = [Side(loro), Side(loro_c)]
    versions = [[] for _ in range(3)]

    def check(i, what):
        evs = [s.take(i) for s in sides]
        seen = [[], []]
        replayed = [True, True]
        for k, (side, e_list) in enumerate(zip(sides, evs)):
            for e in e_list:
                shown_ev = eu.comparable(e, MERGEABLE_INEXACT)
                if shown_ev[3]:
                    seen[k].append(shown_ev)
                try:
                    eu.apply_event(side.mirrors[i], e)
                except (KeyError, IndexError, TypeError):
                    replayed[k] = False
        assert seen[0] == seen[1], (seed, what, seen)
        values = [s.docs[i].get_deep_value() for s in sides]
        assert values[0] == values[1], (seed, what)
        # replaying the events gives the value, except where loro's own events do not
        # (a hidden child shown again locally reports no diff of the state it kept):
        # loro_c's are the same events, so both mirrors restart from the value there
        if replayed[0] and eu.shown(sides[0].mirrors[i]) == eu.shown(values[0]):
            assert replayed[1], (seed, what)
            assert eu.shown(sides[1].mirrors[i]) == eu.shown(values[1]), (seed, what)
        else:
            for side in sides:
                side.mirrors[i] = side.docs[i].get_deep_value()
        assert sides[0].docs[i].get_deep_value_with_id() == sides[1].docs[i].get_deep_value_with_id()

    for step in range(steps):
        i = rng.randrange(3)
        r = rng.random()
        key, kind, nested, n = rng.choice(KEYS), rng.choice(KINDS), rng.random() < 0.3, rng.randrange(6)
        if r < 0.5:
            # ensure (maybe a kind change) and edit; or edit through an old handle
            stale = rng.random() < 0.25 and (i, nested, key, kind) in sides[1].handles
            results = []
            for side in sides:
                try:
                    h = side.handles[(i, nested, key, kind)] if stale else side.ensure(i, nested, key, kind)
                    _edit(h, kind, n)
                    results.append("ok")
                except BaseException as e:
                    if isinstance(e, (KeyboardInterrupt, SystemExit)):
                        raise
                    results.append("refused")
            assert results[0] == results[1], (seed, step, results)
        elif r < 0.6:
            for side in sides:
                side.parent(i, nested).delete(key)
        elif r < 0.67:
            for side in sides:
                side.parent(i, nested).insert(key, n)
        elif r < 0.72:
            results = [side.undos[i].undo() for side in sides]
            assert results[0] == results[1], (seed, step, results)
        elif r < 0.77 and versions[i]:
            at = rng.choice(versions[i])
            for side in sides:
                side.docs[i].checkout(side.lib.Frontiers.from_ids([side.lib.ID(p, c) for p, c in at]))
            check(i, f"{step} checkout")
            for side in sides:
                side.docs[i].checkout_to_latest()
            check(i, f"{step} back")
            continue
        else:
            j = (i + rng.randrange(1, 3)) % 3
            for side in sides:
                side.docs[i].commit()
            check(i, f"{step} commit before sync")
            for side in sides:
                side.docs[j].import_(side.docs[i].export(side.lib.ExportMode.Updates(side.docs[j].oplog_vv)))
            check(j, f"{step} import")
            versions[j].append([(x.peer, x.counter) for x in sides[1].docs[j].oplog_frontiers.to_list()])
            continue
        for side in sides:
            side.docs[i].commit()
        check(i, f"{step} commit")
        versions[i].append([(x.peer, x.counter) for x in sides[1].docs[i].oplog_frontiers.to_list()])
    for side in sides:
        for d in side.docs[1:]:
            side.docs[0].import_(d.export(side.lib.ExportMode.Updates(side.docs[0].oplog_vv)))
    check(0, "the end")
    # the merged document through snapshots, both ways
    blob_c = sides[1].docs[0].export(loro_c.ExportMode.Snapshot())
    blob_l = sides[0].docs[0].export(loro.ExportMode.Snapshot())
    x, y = loro.LoroDoc(), loro_c.LoroDoc()
    x.import_(blob_c)
    y.import_(blob_l)
    assert x.get_deep_value() == y.get_deep_value() == sides[0].docs[0].get_deep_value()


def _undo_after_a_child_shown_again(lib, kind, how):
    """Peer 1 writes into a mergeable child twice (two undo items); peer 2, who never saw
    it, deletes the key; peer 3, who saw the first write and the delete, writes the key
    again. Peer 1 takes the delete and the new write (`how`), then undoes and redoes."""
    docs = []
    for p in (1, 2, 3):
        d = lib.LoroDoc()
        d.peer_id = p
        docs.append(d)
    undo = lib.UndoManager(docs[0])

    def child(i):
        m = docs[i].get_map("m")
        return m.ensure_mergeable_list("a") if kind == "List" else m.ensure_mergeable_text("a")

    def write(i, pos, v):
        child(i).insert(pos, v if kind == "List" else str(v))
        docs[i].commit()

    def sync(i, j):
        docs[j].import_(docs[i].export(lib.ExportMode.Updates(docs[j].oplog_vv)))

    write(0, 0, 0)
    sync(0, 2)
    docs[1].get_map("m").delete("a")
    docs[1].commit()
    write(0, 1, 4)
    if how != "together":
        sync(1, 0)              # the child hidden: its event is the key's delete only
    sync(1, 2)
    if how == "key only":
        child(2)
        docs[2].get_map("m").insert("z", 1)
        docs[2].commit()
    else:
        write(2, 0 if how != "at the end" else len(child(2)), 1)
    sync(2, 0)
    if how == "twice":
        sync(2, 0)
        sync(1, 0)
    seen = [docs[0].get_deep_value()]
    for step in ("undo", "redo", "undo", "undo", "redo"):
        done = getattr(undo, step)()
        seen.append((step, done, docs[0].get_deep_value(), undo.undo_count(), undo.redo_count()))
    return seen


@pytest.mark.parametrize("how", ["apart", "at the end", "key only", "together", "twice"])
@pytest.mark.parametrize("kind", ["List", "Text"])
def test_an_undo_moves_over_a_child_shown_again_by_its_own_ops(kind, how):
    # the import that shows the child again reports its whole value, but loro's undo moves
    # the item over the child's own change while it was hidden (here: one insert, or none),
    # so undoing the 4 removes it (the whole value as an insert put the undo's delete past
    # the end: it did nothing; mergeable session 5837)
    got = _undo_after_a_child_shown_again(loro_c, kind, how)
    assert got == _undo_after_a_child_shown_again(loro, kind, how)
    assert got[1][1] is True


# 357: an import into an empty document whose first changes' peers share a bucket of
# loro's maps (see test_event_order's empty importer); 69, 365: a checkout's map shows two
# children again in the order loro's walk meets its keys; 1747: a checkout back to the
# latest version walks to the log's own map of the frontiers, in its order (it listed
# "🤝:$m>b" before "🤝:$m>nest")
@pytest.mark.parametrize("seed", list(range(40)) + [69, 357, 365, 659, 1747, 5837])
def test_random_sessions_match_loro(seed):
    run_session(seed)

