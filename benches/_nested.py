"""Section 15: nested containers, loro_c against loro.

Building a document of nested containers is the commonest way to use one: a map of
records, a list of records, tree nodes with their meta maps. Each child container is
created, then edited at once; every local edit of a child checks that it is still
attached (loro refuses edits of deleted containers).

* ``map of maps``: N child maps in a root map, one field each.
* ``list of maps``: N child maps appended to a root list, one field each.
* ``tree nodes with meta``: N tree nodes (a third under an earlier node), a meta field each.
* ``fields after root writes``: N child maps, then N rounds of a root-map write (which
  can detach children) followed by a write into a child.
* ``tree snapshot export``: a snapshot of the N-node tree (each export after one more
  edit, so no cached bytes).
* ``tree: first snapshot export``: the first snapshot of a tree just built (every
  container's state encoded afresh; the documents are built untimed).
* ``map of maps: load + snapshot export``: the map of maps' snapshot loaded into a new
  document and exported again (a server storing back a document it read).
* ``map of maps: load + read all`` / ``list of maps: load + read all``: the snapshot
  loaded into a new document, then its whole value read (a server serving a stored
  document).
* ``map of maps: load + read one``: the snapshot loaded, then one child's field read.

N = 20,000 (``--quick``: 2,000). Values are compared with loro's.
"""
import random

from ._common import workload_result, workload_table

SIZES = {"n": 2_000}


def _map_of_maps(mod):
    doc = mod.LoroDoc()
    users = doc.get_map("users")
    for i in range(SIZES["n"]):
        users.insert_container(f"u{i}", mod.LoroMap()).insert("name", i)
    doc.commit()
    return doc


def _list_of_maps(mod):
    doc = mod.LoroDoc()
    rows = doc.get_list("rows")
    for i in range(SIZES["n"]):
        rows.insert_container(i, mod.LoroMap()).insert("name", i)
    doc.commit()
    return doc


def _tree_with_meta(mod):
    doc = mod.LoroDoc()
    doc.peer_id = 1
    tree = doc.get_tree("tree")
    rng = random.Random(15)
    nodes = []
    for i in range(SIZES["n"]):
        parent = nodes[rng.randrange(len(nodes))] if nodes and rng.random() < 0.3 else None
        node = tree.create(parent)
        nodes.append(node)
        tree.get_meta(node).insert("name", i)
    doc.commit()
    return doc


def _fields_after_root_writes(mod):
    doc = mod.LoroDoc()
    users = doc.get_map("users")
    kids = [users.insert_container(f"u{i}", mod.LoroMap()) for i in range(SIZES["n"])]
    doc.commit()
    for i, kid in enumerate(kids):
        users.insert(f"x{i}", i)
        kid.insert("age", i)
    doc.commit()
    return doc


def run_nested(run, log):
    SIZES["n"] = 2_000 if run.args.quick else 20_000
    libs = [lib for lib in run.libs if lib in ("loro", "loro_c")]
    mods = run.modules
    out = run.results.setdefault("nested", {})
    builds = [("map of maps", _map_of_maps), ("list of maps", _list_of_maps),
              ("tree nodes with meta", _tree_with_meta),
              ("fields after root writes", _fields_after_root_writes)]
    rows = [(name, {lib: (lambda lib=lib, f=f: f(mods[lib]).get_deep_value()) for lib in libs})
            for name, f in builds]
    trees = {lib: _tree_with_meta(mods[lib]) for lib in libs}
    edits = {lib: 0 for lib in libs}

    def export(lib):
        doc = trees[lib]
        edits[lib] += 1
        doc.get_map("m").insert("k", edits[lib])     # a new version: no cached bytes
        doc.commit()
        return doc.export(mods[lib].ExportMode.Snapshot())

    def read_back(blob):
        # loro reads every blob (untimed): the state must be loro's
        doc = mods["loro"].LoroDoc()
        doc.import_(blob)
        value = doc.get_deep_value()
        return value.get("tree", value.get("users"))

    rows.append(("tree snapshot export", {lib: (lambda lib=lib: export(lib)) for lib in libs}))
    # the first export of a tree just built (no state entries kept yet): each call takes a
    # document built beforehand, untimed (one more is built, timed, if the pool runs out)
    fresh = {lib: [_tree_with_meta(mods[lib]) for _ in range(run.args.repeat + 2)] for lib in libs}

    def first_export(lib):
        doc = fresh[lib].pop() if fresh[lib] else _tree_with_meta(mods[lib])
        return doc.export(mods[lib].ExportMode.Snapshot())

    rows.append(("tree: first snapshot export",
                 {lib: (lambda lib=lib: first_export(lib)) for lib in libs}))
    records = {lib: _map_of_maps(mods[lib]).export(mods[lib].ExportMode.Snapshot()) for lib in libs}

    def load_export(lib):
        doc = mods[lib].LoroDoc()
        doc.import_(records[lib])
        return doc.export(mods[lib].ExportMode.Snapshot())

    rows.append(("map of maps: load + snapshot export",
                 {lib: (lambda lib=lib: load_export(lib)) for lib in libs}))
    lists = {lib: _list_of_maps(mods[lib]).export(mods[lib].ExportMode.Snapshot()) for lib in libs}

    def load_read(lib, blobs, read):
        doc = mods[lib].LoroDoc()
        doc.import_(blobs[lib])
        return read(doc)

    def read_all(doc):
        return doc.get_deep_value()

    def read_one(doc):
        child = doc.get_map("users").get(f"u{SIZES['n'] // 2}")
        return child.container.get("name").value

    for name, blobs, read in (("map of maps: load + read all", records, read_all),
                              ("list of maps: load + read all", lists, read_all),
                              ("map of maps: load + read one", records, read_one)):
        rows.append((name, {lib: (lambda lib=lib, blobs=blobs, read=read: load_read(lib, blobs, read))
                            for lib in libs}))
    for name, fns in rows:
        log(f"[nested] {name}")
        decode = read_back if "snapshot export" in name and "loro" in mods else (lambda r: r)
        expect = decode(fns["loro"]()) if "loro" in fns else None

        def check(lib, result, expect=expect, decode=decode):
            return None if expect is None or decode(result) == expect else "the value differs from loro's"

        out[name] = workload_result(run.timed(f"nested ({name})", fns, run.repeats(libs), check))


def table_nested(run, render, fmt_ratio, ratio):
    workload_table(
        run, "nested",
        f"15. Nested containers: {SIZES['n']:,} children, each edited once; the tree's snapshot",
        ["best of the runs, libraries interleaved; values checked against loro's",
         "tree snapshot export: each blob read back by loro (untimed) must hold loro's tree",
         "load + read: a snapshot imported into a new document, then read (all of it, or one field)"],
        render, fmt_ratio, ratio)
