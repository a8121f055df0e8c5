"""UndoManager scenarios (after Loro's documentation and tests, written as our own); where
loro's Python bindings can run the scenario, the result is checked against loro too."""
import loro
import pytest

import loro_c
from loro_c import UndoManager, UndoOrRedo, UndoItemMeta, CursorWithPos, Side, AbsolutePosition


def both(fn):
    """Run a scenario with each library; return both results."""
    return fn(loro), fn(loro_c)


def test_undo_redo_text_commits():
    def scenario(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        u = lib.UndoManager(d)
        t = d.get_text("t")
        t.insert(0, "hello")
        d.commit()
        t.insert(5, " world")
        d.commit()
        out = [t.to_string(), u.undo_count()]
        out += [u.undo(), t.to_string(), u.can_undo(), u.can_redo()]
        out += [u.undo(), t.to_string(), u.undo(), u.redo(), t.to_string(), u.redo(),
                t.to_string(), u.redo(), u.undo_count(), u.redo_count()]
        return out
    a, b = both(scenario)
    assert a == b
    assert b[:4] == ["hello world", 2, True, "hello"]


def test_remote_edits_are_kept():
    def scenario(lib):
        a, b = lib.LoroDoc(), lib.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        u = lib.UndoManager(a)
        a.get_text("t").insert(0, "hello")
        a.commit()
        b.import_(a.export(lib.ExportMode.Snapshot()))
        b.get_text("t").insert(0, "Hi! ")
        b.get_text("t").insert(9, ",")
        b.commit()
        a.get_text("t").insert(5, " world")
        a.commit()
        a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
        first = a.get_text("t").to_string()
        u.undo()
        second = a.get_text("t").to_string()
        u.undo()
        third = a.get_text("t").to_string()
        u.redo()
        u.redo()
        return first, second, third, a.get_text("t").to_string()
    r1, r2 = both(scenario)
    assert r1 == r2
    assert r2[2] == "Hi! ,"          # only the remote edits are left


def test_undo_restores_a_deleted_nested_container():
    def scenario(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        u = lib.UndoManager(d)
        m = d.get_map("m")
        t = m.insert_container("note", lib.LoroText())
        t.insert(0, "abc")
        d.commit()
        t.insert(3, "def")
        d.commit()
        m.delete("note")
        d.commit()
        u.undo()          # the entry comes back as a new text
        v1 = d.get_deep_value()
        u.undo()          # that new text loses "def"
        v2 = d.get_deep_value()
        u.redo()
        u.redo()
        return v1, v2, d.get_deep_value()
    r1, r2 = both(scenario)
    assert r1 == r2
    assert r2[0] == {"m": {"note": "abcdef"}} and r2[1] == {"m": {"note": "abc"}}


def test_group_makes_one_item():
    def scenario(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        u = lib.UndoManager(d)
        u.group_start()
        for ch in "abc":
            d.get_text("t").insert(0, ch)
            d.commit()
        u.group_end()
        d.get_text("t").insert(0, "z")
        d.commit()
        counts = (u.undo_count(),)
        u.undo()
        u.undo()
        return counts, d.get_text("t").to_string(), u.undo_count(), u.redo_count()
    r1, r2 = both(scenario)
    assert r1 == r2 == ((2,), "", 0, 2)


def test_group_started_twice_is_an_error():
    d = loro_c.LoroDoc()
    u = UndoManager(d)
    u.group_start()
    with pytest.raises(loro_c.LoroError):
        u.group_start()


def test_group_split_by_a_conflicting_import():
    def scenario(lib):
        a, b = lib.LoroDoc(), lib.LoroDoc()
        a.peer_id, b.peer_id = 1, 2
        u = lib.UndoManager(a)
        u.group_start()
        a.get_text("t").insert(0, "x")
        a.commit()
        b.get_text("t").insert(0, "remote")     # touches the group's container
        a.import_(b.export(lib.ExportMode.Updates(a.oplog_vv)))
        a.get_text("t").insert(0, "y")
        a.commit()
        n = u.undo_count()
        u.undo()
        return n, a.get_text("t").to_string()
    r1, r2 = both(scenario)
    assert r1 == r2 and r2[0] == 2


def test_merge_interval_merges_fast_commits():
    def scenario(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        u = lib.UndoManager(d)
        u.set_merge_interval(10 ** 9)
        for ch in "abcd":
            d.get_text("t").insert(0, ch)
            d.commit()
        n = u.undo_count()
        u.undo()
        return n, d.get_text("t").to_string()
    r1, r2 = both(scenario)
    assert r1 == r2 == (1, "")


def test_record_new_checkpoint_splits_merged_commits():
    d = loro_c.LoroDoc()
    u = UndoManager(d)
    u.set_merge_interval(10 ** 9)
    d.get_text("t").insert(0, "a")
    d.commit()
    u.record_new_checkpoint()
    u.set_merge_interval(0)
    d.get_text("t").insert(1, "b")
    d.commit()
    assert u.undo_count() == 2


def test_excluded_origin_is_not_undone():
    def scenario(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        u = lib.UndoManager(d)
        u.add_exclude_origin_prefix("sys:")
        d.get_text("t").insert(0, "user ")
        d.commit()
        d.get_text("t").insert(5, "system")
        d.commit_with(origin="sys:autosave")
        n = u.undo_count()
        u.undo()
        return n, d.get_text("t").to_string()
    r1, r2 = both(scenario)
    assert r1 == r2 == (1, "system")


def test_max_undo_steps_drops_the_oldest():
    def scenario(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        u = lib.UndoManager(d)
        u.set_max_undo_steps(2)
        for ch in "abcd":
            d.get_text("t").insert(d.get_text("t").len_unicode, ch)
            d.commit()
        n = u.undo_count()
        while u.undo():
            pass
        return n, d.get_text("t").to_string()
    r1, r2 = both(scenario)
    assert r1 == r2 == (2, "ab")


def test_clear_and_checkout_and_peer_change_empty_the_stacks():
    d = loro_c.LoroDoc()
    u = UndoManager(d)
    d.get_text("t").insert(0, "a")
    d.commit()
    u.clear()
    assert not u.can_undo()
    d.get_text("t").insert(0, "b")
    d.commit()
    f = d.state_frontiers
    d.get_text("t").insert(0, "c")
    d.commit()
    assert u.undo_count() == 2
    d.checkout(f)
    assert u.undo_count() == 0
    d.checkout_to_latest()
    d.get_text("t").insert(0, "d")
    d.commit()
    d.peer_id = 77
    assert u.undo_count() == 0 and u.peer() == 77


def test_undo_commits_with_origin_undo():
    def scenario(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        u = lib.UndoManager(d)
        d.get_text("t").insert(0, "a")
        d.commit()
        seen = []
        sub = d.subscribe_root(lambda e: seen.append(e.origin))
        u.undo()
        del sub
        return seen
    r1, r2 = both(scenario)
    assert r1 == r2 == ["undo"]


def test_on_push_and_on_pop_restore_the_selection():
    d = loro_c.LoroDoc()
    d.peer_id = 1
    remote = loro_c.LoroDoc()
    remote.peer_id = 2
    u = UndoManager(d)
    t = d.get_text("t")
    t.insert(0, "hello world")
    d.commit()
    popped = []

    def on_push(kind, span, event):
        meta = UndoItemMeta(value={"kind": kind.value})
        cur = t.get_cursor(5, Side.Left)      # the caret before the space
        meta.add_cursor(cur)
        return meta

    def on_pop(kind, span, meta):
        popped.append((kind, meta.value, [c.pos.pos for c in meta.cursors],
                       [d.get_cursor_pos(c.cursor).current.pos for c in meta.cursors]))

    u.set_on_push(on_push)
    u.set_on_pop(on_pop)
    t.delete(6, 5)
    d.commit()
    assert u.top_undo_meta().value == {"kind": "undo"}
    # a remote edit puts 3 characters before the caret
    remote.import_(d.export(loro_c.ExportMode.Snapshot()))
    remote.get_text("t").insert(0, ">> ")
    remote.commit()
    d.import_(remote.export(loro_c.ExportMode.Updates(d.oplog_vv)))
    assert u.undo()
    assert t.to_string() == ">> hello world"
    kind, value, moved, current = popped[-1]
    assert kind is UndoOrRedo.Undo and value == {"kind": "undo"}
    assert moved == [8] and current == [8]          # 5 moved over the remote ">> "


def test_on_push_may_return_a_dict_or_none():
    d = loro_c.LoroDoc()
    u = UndoManager(d)
    u.set_on_push(lambda k, s, e: {"value": 5})
    d.get_text("t").insert(0, "a")
    d.commit()
    assert u.top_undo_value() == 5
    u.set_on_push(lambda k, s, e: None)
    d.get_text("t").insert(0, "b")
    d.commit()
    assert u.top_undo_meta().value is None
    u.set_on_push(lambda k, s, e: 42)
    with pytest.raises(loro_c.LoroError):
        d.get_text("t").insert(0, "c")
        d.commit()


def test_callback_undoing_during_an_event_is_safe():
    d = loro_c.LoroDoc()
    u = UndoManager(d)
    d.get_text("t").insert(0, "a")
    d.commit()
    fired = []

    def cb(e):
        if not fired:
            fired.append(1)
            u.undo()
    sub = d.subscribe_root(cb)
    d.get_text("t").insert(1, "b")
    d.commit()
    assert d.get_text("t").to_string() == "a"
    assert u.undo_count() == 1 and u.redo_count() == 1
    del sub


def test_dropping_the_manager_unsubscribes():
    import gc
    import weakref
    d = loro_c.LoroDoc()
    u = UndoManager(d)
    ref = weakref.ref(u)
    del u
    gc.collect()
    assert ref() is None
    d.get_text("t").insert(0, "a")
    d.commit()


def test_diff_leaves_no_journal_behind():
    # LoroDoc.diff moves the state and back; the way back must not reach the next event
    d = loro_c.LoroDoc()
    d.peer_id = 2
    seen = []
    sub = d.subscribe_root(lambda e: seen.append(e.events[0].diff.diff.updated))
    m = d.get_map("m")
    m.insert("c", 0)
    m.insert("b", 7)
    d.commit()
    m.delete("c")
    m.delete("b")
    d.commit()
    d.diff(loro_c.Frontiers.from_ids([loro_c.ID(2, 3)]), loro_c.Frontiers.from_ids([loro_c.ID(2, 1)]))
    m.delete("b")
    d.commit()
    assert seen[-1] == {"b": None}
    del sub


def test_undo_that_changes_nothing_returns_false():
    def scenario(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        u = lib.UndoManager(d)
        m = d.get_map("m")
        m.insert("x", 1)
        d.commit()
        m.delete("a")
        d.commit()
        m.delete("a")
        out = [u.undo(), u.undo_count(), u.redo_count(), u.undo(), u.undo_count(),
               u.redo(), u.redo(), u.redo_count(), d.get_deep_value()]
        return out
    r1, r2 = both(scenario)
    assert r1 == r2


def test_undo_cut_where_another_peer_depends_on_the_span():
    # the item spans an op that a remote change depends on: loro undoes it in two pieces
    def scenario(lib):
        a, c = lib.LoroDoc(), lib.LoroDoc()
        a.peer_id, c.peer_id = 1, 3
        u = lib.UndoManager(a)
        a.get_text("t").insert(0, "a")
        u.group_start()
        c.import_(a.export(lib.ExportMode.Updates(c.oplog_vv)))
        a.get_text("t").delete(0, 1)
        c.get_map("m").insert("b", 4)
        a.import_(c.export(lib.ExportMode.Updates(a.oplog_vv)))
        n = u.undo_count()
        return n, u.undo(), a.get_deep_value()
    r1, r2 = both(scenario)
    assert r1 == r2 == (1, True, {"m": {"b": 4}, "t": "a"})


def test_multi_piece_undo_keeps_the_later_map_write():
    def scenario(lib):
        b, c = lib.LoroDoc(), lib.LoroDoc()
        b.peer_id, c.peer_id = 2, 3
        u = lib.UndoManager(c)
        m = c.get_map("m")
        m.delete("a")
        first = u.undo()
        u.group_start()
        b.get_list("l").insert(0, 78)
        m.insert("a", 4)
        c.import_(b.export(lib.ExportMode.Updates(c.oplog_vv)))
        m.delete("a")
        return first, u.undo(), c.get_deep_value(), u.undo_count(), u.redo_count()
    r1, r2 = both(scenario)
    assert r1 == r2


def test_default_max_undo_steps_is_loros():
    def scenario(lib):
        d = lib.LoroDoc()
        d.peer_id = 1
        u = lib.UndoManager(d)
        for i in range(120):
            d.get_text("t").insert(0, "x")
            d.commit()
        n = u.undo_count()
        while u.undo():
            pass
        return n, d.get_text("t").len_unicode
    r1, r2 = both(scenario)
    assert r1 == r2 == (100, 20)


def test_item_meta_takes_cursors_and_cursor_with_pos():
    d = loro_c.LoroDoc()
    t = d.get_text("t")
    t.insert(0, "abc")
    c = t.get_cursor(1, Side.Left)
    meta = UndoItemMeta("v", [c, CursorWithPos(c, AbsolutePosition(2, Side.Right))])
    assert [x.pos.pos for x in meta.cursors] == [1, 2]
    with pytest.raises(loro_c.LoroError):
        UndoItemMeta(cursors=[1])


def test_undo_from_threads_while_others_edit():
    import threading
    d = loro_c.LoroDoc()
    d.peer_id = 1
    u = UndoManager(d)
    u.set_max_undo_steps(1000)
    errors = []

    def edit(tag):
        try:
            for i in range(150):
                t = d.get_text("t")
                t.insert(0, tag)
                d.commit()
                d.get_map("m").insert(tag, i)
                d.commit()
        except Exception as e:          # pragma: no cover - reported below
            errors.append(e)

    def undo_redo():
        try:
            for i in range(150):
                u.undo() if i % 3 else u.redo()
        except Exception as e:          # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=edit, args=(c,)) for c in "ab"]
    threads.append(threading.Thread(target=undo_redo))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    d._check_invariants()
    u.clear_redo()      # the undo thread may have stopped after an undo
    before = d.get_deep_value()
    n = u.undo_count()
    while u.undo():
        pass
    assert u.undo_count() <= n
    while u.redo():
        pass
    # redoing everything undone brings back the document (every item undoes its own ops)
    assert d.get_deep_value() == before
