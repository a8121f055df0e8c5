"""A document keeps its last snapshot export until it changes: the same bytes again for an
unchanged document (a server handing one snapshot to every joining client), new bytes
after any change a snapshot shows."""
import loro
import pytest

import loro_c


def _doc():
    d = loro_c.LoroDoc()
    d.peer_id = 7
    d.get_text("t").insert(0, "hello")
    d.get_map("m").insert("k", 1)
    d.commit()
    return d


def test_an_unchanged_document_gives_the_same_bytes_object():
    d = _doc()
    a = d.export(loro_c.ExportMode.Snapshot())
    b = d.export(loro_c.ExportMode.Snapshot())
    assert a is b
    r = loro.LoroDoc()
    r.import_(b)
    assert r.get_deep_value() == d.get_deep_value()


@pytest.mark.parametrize("change", ["insert", "delete", "fold_delete", "map", "counter", "import",
                                    "new_root", "delete_root", "hide_empty", "undo"])
def test_every_change_makes_a_new_snapshot(change):
    d = _doc()
    d.get_text("t").delete(0, 1)            # a delete a later delete can fold into
    d.commit()
    before = d.export(loro_c.ExportMode.Snapshot())
    undo = loro_c.UndoManager(d)
    if change == "insert":
        d.get_text("t").insert(0, "x")
    elif change == "delete":
        d.get_text("t").delete(1, 1)
    elif change == "fold_delete":
        d.get_text("t").delete(0, 1)        # folds into the delete before it
    elif change == "map":
        d.get_map("m").insert("k", 2)
    elif change == "counter":
        d.get_counter("c").increment(1)
    elif change == "import":
        o = loro_c.LoroDoc()
        o.peer_id = 9
        o.get_list("l").insert(0, 1)
        o.commit()
        d.import_(o.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    elif change == "new_root":
        d.get_list("empty")                 # listed in the state, no op
    elif change == "delete_root":
        d.delete_root_container(loro_c.ContainerID.Root("m", loro_c.ContainerType.Map()))
    elif change == "hide_empty":
        d.get_list("empty")
        before = d.export(loro_c.ExportMode.Snapshot())
        d.set_hide_empty_root_containers(True)
    elif change == "undo":
        d.get_text("t").insert(0, "u")
        d.commit()
        before = d.export(loro_c.ExportMode.Snapshot())
        undo.undo()
    d.commit()
    after = d.export(loro_c.ExportMode.Snapshot())
    r = loro.LoroDoc()
    r.set_hide_empty_root_containers(change == "hide_empty")
    r.import_(after)
    assert r.get_deep_value() == d.get_deep_value()
    if change != "hide_empty":
        assert after != before
    # loro_c reads back what the document holds, roots listed the same way
    twin = loro_c.LoroDoc()
    twin.import_(after)
    twin.set_hide_empty_root_containers(change == "hide_empty")
    assert twin.get_deep_value() == d.get_deep_value()


def test_a_failed_import_keeps_the_cached_snapshot_valid():
    d = _doc()
    before = d.export(loro_c.ExportMode.Snapshot())
    o = loro_c.LoroDoc()
    o.get_text("t").insert(0, "zz")
    o.commit()
    bad = bytearray(o.export(loro_c.ExportMode.Updates(loro_c.VersionVector())))
    bad[-2] ^= 0xFF
    with pytest.raises(loro_c.LoroError):
        d.import_(bytes(bad))
    after = d.export(loro_c.ExportMode.Snapshot())
    assert after == before
    r = loro.LoroDoc()
    r.import_(after)
    assert r.get_deep_value() == d.get_deep_value()
