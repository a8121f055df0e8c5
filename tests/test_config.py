"""LoroDoc.config (Configure), clear_next_commit_options and compact_change_store, against
loro: the options a Configure reads and sets are the document's own, a free-standing
Configure keeps loro's defaults, and cleared commit options leave the next change bare."""
import loro
import pytest

import loro_c

LIBS = (loro, loro_c)


def test_configure_is_the_documents_options():
    seen = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 1
        c = d.config
        out = [c.record_timestamp(), c.merge_interval(), c.detached_editing()]
        c.set_merge_interval(5)
        c.set_detached_editing(True)
        out += [d.config.merge_interval(), d.is_detached_editing_enabled, c.detached_editing()]
        d.set_change_merge_interval(-1)         # the doc's setters show through the config
        d.set_detached_editing(False)
        out += [c.merge_interval(), c.detached_editing()]
        c.set_record_timestamp(True)
        out.append(d.config.record_timestamp())
        d.get_text("t").insert(0, "a")
        d.commit()
        out.append(d.get_change(lib.ID(1, 0)).timestamp > 1_700_000_000)
        c.set_record_timestamp(False)
        d.get_text("t").insert(0, "b")
        d.commit()
        # (it merged into the first change, which keeps that change's time)
        out.append(d.get_change(lib.ID(1, 1)).timestamp > 1_700_000_000)
        free = lib.Configure()
        out += [free.record_timestamp(), free.merge_interval(), free.detached_editing()]
        free.set_merge_interval(7)
        out += [free.merge_interval(), d.config.merge_interval()]
        seen[lib] = out
    assert seen[loro_c] == seen[loro]


def test_merge_interval_set_through_the_config_groups_changes_like_loro():
    lens = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 2
        d.config.set_merge_interval(10)
        for ts in (0, 5, 30, 31, 100):
            d.set_next_commit_timestamp(ts)
            d.get_text("t").insert(0, "x")
            d.commit()
        lens[lib] = d.len_changes
    assert lens[loro_c] == lens[loro] == 3


def test_bad_option_types_raise():
    d = loro_c.LoroDoc()
    for call in (lambda: d.config.set_merge_interval("5"), lambda: d.config.set_record_timestamp(1),
                 lambda: d.config.set_detached_editing(None),
                 lambda: loro_c.Configure().set_merge_interval(1.5),
                 lambda: loro_c.Configure().set_record_timestamp("yes")):
        with pytest.raises(loro_c.LoroTypeError):
            call()
    assert d.config.merge_interval() == 1000


def test_cleared_commit_options_leave_the_next_change_bare():
    metas = {}
    for lib in LIBS:
        d = lib.LoroDoc()
        d.peer_id = 3
        d.set_next_commit_message("msg")
        d.set_next_commit_timestamp(12345)
        d.set_next_commit_origin("orig")
        d.clear_next_commit_options()
        origins = []
        sub = d.subscribe_root(lambda e: origins.append(e.origin))
        d.get_text("t").insert(0, "a")
        d.commit()
        m = d.get_change(lib.ID(3, 0))
        d.set_next_commit_message("kept")
        d.get_text("t").insert(0, "b")
        d.set_record_timestamp(False)
        d.commit()
        m2 = d.get_change(lib.ID(3, 1))
        metas[lib] = (m.message, m.timestamp, origins, m2.message)
        del sub
    assert metas[loro_c] == metas[loro]


def test_compact_change_store_changes_nothing():
    d = loro_c.LoroDoc()
    d.peer_id = 4
    d.get_text("t").insert(0, "hello")
    d.get_map("m").insert("k", [1, 2])
    d.commit()
    before = (d.get_deep_value(), d.export(loro_c.ExportMode.Snapshot()), d.len_changes)
    assert d.compact_change_store() is None
    assert (d.get_deep_value(), d.export(loro_c.ExportMode.Snapshot()), d.len_changes) == before
    d._check_invariants()
