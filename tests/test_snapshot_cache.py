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


def _loaded_session(mod, src, action):
    """A snapshot made by `src`, loaded by `mod`, one action, then the export."""
    d = src.LoroDoc()
    d.peer_id = 3
    d.get_map("users").insert_container("u1", src.LoroMap()).insert("name", "ann")
    d.get_text("t").insert(0, "hello")
    d.get_tree("tr").create()
    d.commit()
    blob = d.export(src.ExportMode.Snapshot())
    x = mod.LoroDoc()
    x.import_(blob)
    if action == "new_root":
        x.get_text("zzz")
    elif action == "old_root":
        x.get_text("t")
    elif action == "read":
        x.get_text("t").to_string()
        x.get_deep_value()
        x.oplog_vv
        x.get_map("users").get("u1")
    elif action == "peer":
        x.peer_id = 9
    elif action == "commit":
        x.commit()
    elif action == "edit":
        x.get_text("t").insert(0, "!")
    elif action == "import_known":
        x.import_(blob)
    elif action == "hide_empty":
        x.set_hide_empty_root_containers(True)
    elif action == "delete_root":
        x.delete_root_container(loro_c.ContainerID.Root("t", loro_c.ContainerType.Text())
                                if mod is loro_c else
                                loro.ContainerID.Root("t", loro.ContainerType.Text()))
    out = x.export(mod.ExportMode.Snapshot())
    r = loro.LoroDoc()
    r.import_(out)
    return out == blob, r.get_deep_value(), x.get_deep_value()


@pytest.mark.parametrize("action", ["none", "new_root", "old_root", "read", "peer", "commit", "edit",
                                    "import_known", "hide_empty", "delete_root"])
@pytest.mark.parametrize("src", [loro, loro_c], ids=["loro_blob", "loro_c_blob"])
def test_a_loaded_snapshot_exports_its_blob_again_while_loro_does(src, action):
    """A document loaded from a snapshot answers a snapshot export with the loaded bytes
    while nothing but reads happened (as loro's does, byte for byte), without replaying
    the history; after an edit, a new root or a listing change, with a new snapshot."""
    same_c, read_c, value_c = _loaded_session(loro_c, src, action)
    same_l, read_l, value_l = _loaded_session(loro, src, action)
    if src is loro:
        assert same_c == same_l, action
    else:
        # loro re-encodes loro_c's blocks (its own bytes) whenever it exports
        assert same_c == (action in ("none", "old_root", "read", "peer", "commit",
                                     "import_known", "hide_empty")), action
    assert read_c == read_l == value_l
