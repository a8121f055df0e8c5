"""Rich text meets snapshots and time travel: what works, and what loro_c refuses cleanly
until it is built (checkout, diff and undo of marked text)."""
import loro
import pytest

import loro_c


def _marked(lib):
    d = lib.LoroDoc()
    d.peer_id = 1
    cfg = lib.StyleConfigMap()
    cfg.insert("bold", lib.ExpandType.After)
    d.config_text_style(cfg)
    t = d.get_text("t")
    t.insert(0, "hello world")
    d.commit()
    t.mark(0, 5, "bold", True)
    d.commit()
    t.insert(11, "!")
    d.commit()
    return d


def _delta(t):
    return [(x.insert, x.attributes) for x in t.to_delta()]


def test_snapshot_of_marked_text_imports_into_loro_and_back():
    ours = _marked(loro_c)
    blob = ours.export(loro_c.ExportMode.Snapshot())
    ref = loro.LoroDoc()
    ref.import_(blob)
    assert _delta(ref.get_text("t")) == _delta(ours.get_text("t"))
    again = loro_c.LoroDoc()
    again.import_(ref.export(loro.ExportMode.Snapshot()))
    assert _delta(again.get_text("t")) == _delta(ours.get_text("t"))


def test_checkout_and_diff_of_marked_text_are_refused_and_change_nothing():
    d = _marked(loro_c)
    first = loro_c.Frontiers.from_id(loro_c.ID(1, 0))
    before = (d.get_deep_value(), _delta(d.get_text("t")), d.is_detached(), d.state_frontiers)
    with pytest.raises(loro_c.LoroError):
        d.checkout(first)
    with pytest.raises(loro_c.LoroError):
        d.diff(first, d.oplog_frontiers)
    assert (d.get_deep_value(), _delta(d.get_text("t")), d.is_detached(),
            d.state_frontiers) == before
    u = loro_c.UndoManager(d)
    d.get_text("t").insert(0, ">")
    d.commit()
    with pytest.raises(loro_c.LoroError):
        u.undo()
    assert d.get_text("t").to_string() == ">hello world!" and not d.is_detached()
    d._check_invariants()


def _events_of(lib, ev):
    return [[(getattr(x, "insert", None), getattr(x, "retain", None), getattr(x, "delete", None),
              getattr(x, "attributes", None)) for x in c.diff.diff] for c in ev.events]


def test_attaching_over_marks_imported_while_detached_reports_loros_event():
    out = []
    for lib in (loro, loro_c):
        src = _marked(lib)
        d = lib.LoroDoc()
        d.peer_id = 2
        cfg = lib.StyleConfigMap()
        cfg.insert("bold", lib.ExpandType.After)
        d.config_text_style(cfg)
        d.import_(src.export(lib.ExportMode.Updates(lib.VersionVector())))
        t = src.get_text("t")
        t.mark(6, 11, "bold", True)
        t.insert(0, "> ")
        src.commit()
        d.detach()
        d.import_(src.export(lib.ExportMode.Updates(d.oplog_vv)))
        evs = []
        sub = d.subscribe_root(lambda e, lib=lib: evs.append(_events_of(lib, e)))
        d.checkout_to_latest()
        del sub
        out.append((evs, _delta(d.get_text("t"))))
    assert out[0] == out[1]
    assert out[1][0]            # an event was sent
