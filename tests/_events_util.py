"""Helpers for the event tests: a library-neutral form of DiffEvents (loro and loro_c), the
canonical form of a delta, and a mirror that replays events onto a plain value."""
import loro

import loro_c


def ncid(c):
    if hasattr(c, "name"):
        return ("root", c.name, str(c.container_type))
    return ("normal", c.peer, c.counter, str(c.container_type))


def nval(v):
    for mod in (loro, loro_c):
        try:
            if mod.ValueOrContainer.is_value(v):
                return ("V", v.value)
            if mod.ValueOrContainer.is_container(v):
                return ("C", ncid(v.container.id))
        except TypeError:
            pass
    raise AssertionError(f"not a ValueOrContainer: {v!r}")


def nindex(i):
    n = type(i).__name__
    if "Key" in n:
        return ("K", i.key)
    if "Seq" in n:
        return ("S", i.index)
    return ("N", (i.target.peer, i.target.counter))      # a tree node's meta map


def ntid(t):
    return None if t is None else (t.peer, t.counter)


def ntree(items):
    """A tree diff's items: ("c", node, parent, index, fractional index) / ("m", node,
    parent, index, fractional index, old parent, old index) / ("d", node, old parent,
    old index)."""
    out = []
    for it in items:
        a = it.action
        k = type(a).__name__
        if "Create" in k:
            out.append(("c", ntid(it.target), ntid(a.parent), a.index, a.fractional_index))
        elif "Move" in k:
            out.append(("m", ntid(it.target), ntid(a.parent), a.index, a.fractional_index,
                        ntid(a.old_parent), a.old_index))
        else:
            out.append(("d", ntid(it.target), ntid(a.old_parent), a.old_index))
    return out


def ndiff(df):
    """(kind, items) with items as tuples: ("r", n) / ("i", payload) / ("d", n)."""
    n = type(df).__name__
    if "Text" in n:
        out = []
        for x in df.diff:
            k = type(x).__name__
            if "Retain" in k:
                assert x.attributes is None
                out.append(("r", x.retain))
            elif "Insert" in k:
                assert x.attributes is None
                out.append(("i", x.insert))
            else:
                out.append(("d", x.delete))
        return ("Text", out)
    if "List" in n:
        out = []
        for x in df.diff:
            k = type(x).__name__
            if "Retain" in k:
                out.append(("r", x.retain))
            elif "Insert" in k:
                # a movable list's move: the moved value, marked (only then a third part)
                out.append(("i", [nval(v) for v in x.insert]) + ((True,) if x.is_move else ()))
            else:
                out.append(("d", x.delete))
        return ("List", out)
    if "Map" in n:
        return ("Map", {k: (None if v is None else nval(v)) for k, v in df.diff.updated.items()})
    if "Counter" in n:
        return ("Counter", df.diff)
    if "Tree" in n:
        items = df.diff
        return ("Tree", ntree(items if isinstance(items, list) else items.diff))
    raise AssertionError(f"unexpected diff {n}")


def canonical(kind, items):
    """Merge adjacent items of one kind and, between two retains, put the inserts (in
    order) before the deletes: deltas equal in this form have the same effect."""
    if kind not in ("Text", "List"):
        return items
    out = []
    ins = []        # runs of inserted content: [content, rest of the item (is_move, if any)]
    dels = 0

    def flush():
        nonlocal ins, dels
        out.extend(("i", content) + rest for content, rest in ins)
        if dels:
            out.append(("d", dels))
        ins, dels = [], 0

    for it in items:
        if it[0] == "r":
            flush()
            if out and out[-1][0] == "r":
                out[-1] = ("r", out[-1][1] + it[1])
            else:
                out.append(it)
        elif it[0] == "i":
            # inserts merge while they agree on the rest (a movable list's is_move)
            if ins and ins[-1][1] == it[2:]:
                ins[-1][0] = ins[-1][0] + it[1]
            else:
                ins.append([it[1], it[2:]])
        else:
            dels += it[1]
    flush()
    while out and out[-1][0] == "r":
        out.pop()
    return out


def nev(e):
    """(trigger, origin, current target, [(target, path, is_unknown, (kind, items))])."""
    trig = str(e.triggered_by).split(".")[-1]
    return (trig, e.origin, None if e.current_target is None else ncid(e.current_target),
            [(ncid(c.target), [(ncid(p.container), nindex(p.index)) for p in c.path], c.is_unknown,
              ndiff(c.diff)) for c in e.events])


def mergeable_id(cid):
    """Whether a normalised container id names a mergeable child container."""
    return cid[0] == "root" and cid[1].startswith("\U0001f91d:")


# triggers whose diffs of one depth may come in another order than loro's: none in the
# default seeds of the differential sessions (imports and checkouts follow loro's walk of
# the version DAG, loro_c._dag_order, and what its calculators put in their map of diffs;
# test_event_order measures the seeds past them, test_events_differential lists the one
# session exempted)
INEXACT_ORDER = ()


def same_order(a, b):
    """Whether two events (nev) list their diffs in the same order."""
    return [r[0] for r in a[3]] == [r[0] for r in b[3]]


def comparable(ev, inexact=INEXACT_ORDER):
    """An event with its diffs in loro's order, or, for the triggers in `inexact`, in a
    fixed order (loro orders diffs by depth, then roots, then creation counter; ties follow
    hash maps of its container numbers), each diff as loro's item by item:
    counters (a checkout's 0 included), sequence deltas of commits (built as loro composes
    them: local_delta.pxi; e.g. seed 40, step 49 of test_events_differential, the commit an
    import makes first: [retain 2, delete 3, delete 1]), imports (JSON ones too: loro_c's
    JSON updates list changes of equal Lamport in loro's order) and checkouts.
    (test_checkout_text_deltas lists the cases with snapshots that still differ.)"""
    trig, origin, target, diffs = ev
    rows = []
    for cid, path, unknown, (kind, items) in diffs:
        rows.append((cid, path, unknown, (kind, items)))
    if trig in inexact:
        rows.sort(key=lambda r: (len(r[1]), r[0][0] != "root", repr(r[0])))
    return (trig, origin, target, rows)


def depth_ordered(ev):
    """Whether the diffs come parents first (by path length)."""
    depths = [len(d[1]) for d in ev[3]]
    return depths == sorted(depths)


def empty(kind):
    return {"Text": "", "List": [], "Map": {}, "Counter": 0.0}[kind]


def _empty_of(val):
    tag, v = val
    if tag == "C":
        return empty(v[-1])
    return v


def apply_event(mirror, ev):
    """Replay a normalised event on `mirror` (dict root name -> plain value)."""
    for cid, path, _, (kind, items) in ev[3]:
        # the parent of the target, then the target's value
        root = path[0][1][1]
        if len(path) == 1:
            holder, key = mirror, root
            if key not in mirror:
                mirror[key] = empty(kind)
        else:
            holder = mirror[root]
            for _, (_, idx) in path[1:-1]:
                holder = holder[idx]
            key = path[-1][1][1]
        cur = holder[key]
        if kind == "Text":
            out, pos = [], 0
            for it in items:
                if it[0] == "r":
                    out.append(cur[pos:pos + it[1]])
                    pos += it[1]
                elif it[0] == "i":
                    out.append(it[1])
                else:
                    pos += it[1]
            out.append(cur[pos:])
            holder[key] = "".join(out)
        elif kind == "List":
            out, pos = [], 0
            for it in items:
                if it[0] == "r":
                    out.extend(cur[pos:pos + it[1]])
                    pos += it[1]
                elif it[0] == "i":
                    out.extend(_empty_of(v) for v in it[1])
                else:
                    pos += it[1]
            out.extend(cur[pos:])
            holder[key] = out
        elif kind == "Map":
            for k, v in items.items():
                if v is None:
                    cur.pop(k, None)
                else:
                    cur[k] = _empty_of(v)
        else:
            holder[key] = cur + items


def shown(value):
    """A deep value without its empty roots (events never mention a root nobody edited)."""
    return {k: v for k, v in value.items() if v not in ("", [], {}, 0, 0.0)}


def hub_and_peers(mod, blob, hub_peer=None, peer_ids=(2, 3)):
    """(a server's document, its peers' documents), each loaded from `blob`."""
    hub = mod.LoroDoc()
    if hub_peer is not None:
        hub.peer_id = hub_peer
    hub.import_(blob)
    peers = []
    for pid in peer_ids:
        p = mod.LoroDoc()
        p.peer_id = pid
        p.import_(blob)
        peers.append(p)
    return hub, peers


def new_roots(doc, n, kinds=("Text", "List", "Map", "Counter"), prefix="p"):
    """Create roots p0 .. p{n-1} in `doc`, of `kinds` in turn, each with one edit
    (uncommitted): an import of them lists them in the order of the importer's numbers,
    which shows how many containers it had registered before (and so does a commit of them
    on the document itself)."""
    for i in range(n):
        kind = kinds[i % len(kinds)]
        h = getattr(doc, "get_" + ("movable_list" if kind == "MovableList" else kind.lower()))(
            f"{prefix}{i}")
        if kind == "Text":
            h.insert(0, "q")
        elif kind == "List" or kind == "MovableList":
            h.insert(0, 1)
        elif kind == "Map":
            h.insert("k", 1)
        else:
            h.increment(1)


def peer_doc(mod, peer):
    d = mod.LoroDoc()
    d.peer_id = peer
    return d


def send(mod, src, dst):
    """What `dst` lacks of `src`'s history."""
    dst.import_(src.export(mod.ExportMode.Updates(dst.oplog_vv)))


def dead_child_history(mod):
    """The history of late session 4560: peer 3 puts a counter child (0@3) in root map m,
    peer 106 deletes it (a dead child) and inserts into movable list ml, peers 1 and 109
    create tree nodes. Returns the documents of peers 3, 1, 106, 109 and peer 109's
    snapshot (its only frontier is peer 109's)."""
    a, b, c, d = (peer_doc(mod, p) for p in (3, 1, 106, 109))
    a.get_map("m").insert_container("c", mod.LoroCounter())
    a.commit()
    b.get_tree("tr").create()
    b.commit()
    send(mod, b, c)
    c.get_map("m").delete("c")
    c.commit()
    send(mod, c, a)
    send(mod, a, c)
    c.get_movable_list("ml").insert(0, [1, "x"])       # 106's block: m, then ml
    c.commit()
    send(mod, c, d)
    d.get_tree("tr").create()
    d.commit()
    return a, b, c, d, d.export(mod.ExportMode.Snapshot())


def span_mode(mod, peer, a, b):
    """ExportMode.UpdatesInRange of peer's counters a..b."""
    return mod.ExportMode.UpdatesInRange([mod.IdSpan(peer, mod.CounterSpan(a, b))])


def peer_doc(mod, peer):
    """A new document of this peer id."""
    d = mod.LoroDoc()
    d.peer_id = peer
    return d
