"""Differential events: random multi-peer sessions run in `loro` (oracle) and `loro_c` with a
root subscriber on every peer. After every commit and import the events each peer received
are compared (target, path, diff; every delta item by item as loro's, but for JSON
imports whose changes loro_c's export lists in another order, see below; map entries too that leave a key as it was: which of those a concurrent import reports
follows loro's rule, see _events.diverged_containers), and replaying
them on a mirror of the peer's previous value gives its new deep value.

Every peer also subscribes to the root map "m" (its events, with their current target,
must come in the same order as loro's, before the root subscriber's).

Peers also check out versions they were at and return to the latest (a Checkout event each
way), and start again as a new document from another peer's snapshot (loro's event of a
loaded state), sometimes with a third peer's updates in the same import_batch (a Checkout
event for them). Sessions mix Text (with non-BMP characters), List, Map and Counter containers, nested
containers (edited after their parent entry was deleted too: such diffs are dropped),
transactions of several ops, origins, and deliveries in full (binary or JSON), split per
peer in random order (pending changes), and duplicated. Rerun one session with
``LORO_C_EVENT_SEEDS=5 python -m pytest -q tests/test_events_differential.py``;
``LORO_C_EVENT_SESSIONS=N`` runs seeds 0..N-1.

The same sessions run again with most restarted peers subscribed to only after the load
(``LORO_C_LATE_SESSIONS=N``): loro registers the containers of a load nobody records as it
reads them, so the numbers that order later events' diffs differ from a recorded load's.
"""
import copy
import json
import os
import random

import loro
import pytest

import loro_c
from _events_util import INEXACT_ORDER, apply_event, comparable, depth_ordered, nev, same_order, shown

PEERS = 3
ROOTS = [("root", "t", "Text"), ("root", "l", "List"), ("root", "m", "Map"), ("root", "c", "Counter")]
# the sessions of test_events_differential_kinds add these roots (movable list, tree)
KIND_ROOTS = [("root", "ml", "MovableList"), ("root", "tr", "Tree")]
CHARS = "abcxyz é😀中"


def _seeds(sessions="LORO_C_EVENT_SESSIONS", default="120"):
    explicit = os.environ.get("LORO_C_EVENT_SEEDS")
    if explicit:
        return [int(s) for s in explicit.replace(",", " ").split()]
    return list(range(int(os.environ.get(sessions, default))))


def make_cid(mod, key):
    ct = getattr(mod.ContainerType, key[-1])()
    if key[0] == "root":
        return mod.ContainerID.Root(key[1], ct)
    return mod.ContainerID.Normal(key[1], key[2], ct)


def key_of(cid):
    if hasattr(cid, "name"):
        return ("root", cid.name, str(cid.container_type))
    return ("normal", cid.peer, cid.counter, str(cid.container_type))


class Side:
    """One library's peers, each with a root subscriber and a mirror of its value."""

    def __init__(self, mod):
        self.mod = mod
        self.docs = []
        self.got = []
        self.subs = {}
        self.mirrors = []
        for i in range(PEERS):
            self.docs.append(None)
            self.got.append([])
            self.mirrors.append({})
            self.restart(i, i + 1)

    def restart(self, i, peer, late=False):
        """Peer `i` as a new, empty document of peer id `peer`, with its subscribers unless
        `late` (then `subscribe` adds them once the caller has loaded the document)."""
        d = self.mod.LoroDoc()
        d.peer_id = peer
        self.docs[i] = d
        self.mirrors[i] = {}
        if not late:
            self.subscribe(i)

    def subscribe(self, i):
        """Peer `i`'s subscribers, and a mirror of the value its document has now."""
        d = self.docs[i]
        got = self.got[i] = []
        self.subs[i] = [d.subscribe_root(lambda e, got=got: got.append(nev(e))),
                        # a container subscriber too: it sees the map and what is nested
                        # in it, first
                        d.subscribe(make_cid(self.mod, ("root", "m", "Map")),
                                    lambda e, got=got: got.append(nev(e)))]
        self.mirrors[i] = copy.deepcopy(d.get_deep_value())

    def unsubscribe(self, i):
        for sub in self.subs.pop(i, ()):
            sub.unsubscribe()
        self.got[i].clear()

    def handle(self, i, key):
        doc = self.docs[i]
        cid = make_cid(self.mod, key)
        if key[0] == "root":
            return getattr(doc, "get_" + ("movable_list" if key[-1] == "MovableList"
                                          else key[-1].lower()))(key[1])
        return doc.get_container(cid)

    def take(self, i):
        out = self.got[i][:]
        self.got[i].clear()
        return out


def text_op(rng, h):
    n = len(h.to_string())
    if n and rng.random() < 0.4:
        a = rng.randrange(n)
        h.delete(a, rng.randint(1, min(4, n - a)))
    else:
        h.insert(rng.randint(0, n), "".join(rng.choice(CHARS) for _ in range(rng.randint(1, 4))))


def edit(side, h, kind, r2, op, value, new_kind, mkey, created):
    """One local edit of container `h` (the same choices in both libraries)."""
    if kind == "Text":
        text_op(r2, h)
    elif kind == "List":
        n = len(h)
        if n and op < 0.3:
            a = r2.randrange(n)
            h.delete(a, r2.randint(1, min(3, n - a)))
        elif op < 0.5:
            child = h.insert_container(r2.randint(0, n), getattr(side.mod, "Loro" + new_kind)())
            created.append(key_of(child.id))
        else:
            h.insert(r2.randint(0, n), value)
    elif kind == "Map":
        if op < 0.25:
            h.delete(mkey)
        elif op < 0.5:
            child = h.insert_container(mkey, getattr(side.mod, "Loro" + new_kind)())
            created.append(key_of(child.id))
        else:
            h.insert(mkey, value)
    elif kind == "MovableList":
        n = len(h)
        if n and op < 0.2:
            a = r2.randrange(n)
            h.delete(a, r2.randint(1, min(3, n - a)))
        elif n and op < 0.35:
            h.mov(r2.randrange(n), r2.randrange(n))
        elif n and op < 0.45:
            h.set(r2.randrange(n), value)
        elif op < 0.6:
            child = h.insert_container(r2.randint(0, n), getattr(side.mod, "Loro" + new_kind)())
            created.append(key_of(child.id))
        elif n and op < 0.65:
            child = h.set_container(r2.randrange(n), getattr(side.mod, "Loro" + new_kind)())
            created.append(key_of(child.id))
        else:
            h.insert(r2.randint(0, n), value)
    elif kind == "Tree":
        nodes = sorted((x for x in h.nodes() if not h.is_node_deleted(x)),
                       key=lambda x: (x.peer, x.counter))
        if nodes and op < 0.2:
            h.delete(r2.choice(nodes))
        elif nodes and op < 0.4:
            try:
                h.mov(r2.choice(nodes), r2.choice(nodes + [None]))
            except BaseException as e:  # under itself or a descendant: refused by both
                if "cycle" not in str(e).lower() and "itself" not in str(e).lower():
                    raise
        elif nodes and op < 0.55:
            m = h.get_meta(r2.choice(nodes))
            if r2.random() < 0.5:
                m.insert(mkey, value)
            else:
                child = m.insert_container(mkey, getattr(side.mod, "Loro" + new_kind)())
                created.append(key_of(child.id))
        else:
            h.create(r2.choice(nodes + [None, None]) if nodes else None)
    else:
        h.increment(r2.randint(-3, 5))


def json_change_order(text):
    """The ids of the changes of JSON updates, in the order listed."""
    doc = json.loads(text)
    peers = doc.get("peers")
    out = []
    for ch in doc["changes"]:
        counter, peer = ch["id"].split("@")
        out.append((peers[int(peer)] if peers else peer, int(counter)))
    return out


# the random sessions compare local commits' diffs unsorted for the seeds listed here (a
# commit's diffs of equal depth in another order than loro's: the containers' numbers as
# loro_c models them give another hash map order). None now: seeds 208 and 1376 restarted
# a peer from a snapshot whose state listed a dead child counter loro's leaves out, until
# loro_c's state listed the children loro's store holds (state/snapshot.pxi
# note_store_entries); before loro_c numbered a load as loro registers it (doc/exchange.pxi
# number_as_loaded), 11 of 300 differed.
LOCAL_ORDER_INEXACT: set = set()

# the sessions (seed, kinds) whose imports are compared with the diffs of one depth sorted.
# None now: seed 68 with movable lists and trees tries to edit a deleted text (step 43),
# which loro refuses after its state store made the text's entry, so the snapshot loaded at
# step 54 lists one container more, which numbers the containers otherwise (and orders the
# load's event so); loro_c is asked the same edit since, and its refusal notes the entry
# too (_containers.pyx text_store_entry; marks session 2686 ordered a commit so)
IMPORT_ORDER_INEXACT: set = set()


def _mirrored(ev, skip):
    """The event without the diffs under the roots in `skip` (the mirror leaves them out)."""
    if not skip:
        return ev
    return ev[:3] + ([d for d in ev[3] if d[1][0][1][1] not in skip],)


def run_session(seed, steps=60, order_stats=None, kinds=False, late=False, gaps=False):
    """One random session. With `late`, a peer that starts again from a snapshot is
    subscribed to only after the load, most times (a server loads a stored document, then
    listens): loro numbers the containers of a load nobody records otherwise, which shows
    in the order of later events' diffs. With `gaps`, peers drop their subscribers now and
    then and subscribe again later (after a commit, with a mirror of the value then): what
    nobody listened to must not change the events that follow. `order_stats` (a Counter), when given, counts per trigger the
    events with diffs that tie on depth and kind of id (where the order follows loro's hash
    maps) and those among them listed in another order than loro's. `kinds`: with the
    roots of KIND_ROOTS too (their values are compared, not replayed on the mirror: a
    move's item carries the moved value, which the mirror's plain values cannot follow)."""
    rng = random.Random(seed)
    sides = [Side(loro), Side(loro_c)]
    known = list(ROOTS) + (list(KIND_ROOTS) if kinds else [])
    unmirrored = {k[1] for k in KIND_ROOTS} if kinds else set()
    versions = [[] for _ in range(PEERS)]      # frontiers each peer has been at

    def remember(i):
        versions[i].append([(x.peer, x.counter) for x in sides[1].docs[i].oplog_frontiers.to_list()])

    inexact = (INEXACT_ORDER + (("Local",) if seed in LOCAL_ORDER_INEXACT else ())
               + (("Import",) if (seed, kinds) in IMPORT_ORDER_INEXACT else ()))

    def check(i, what):
        evs = [s.take(i) for s in sides]
        seen = [[], []]
        if order_stats is not None and len(evs[0]) == len(evs[1]):
            for a, b in zip(*evs):
                keys = [(len(r[1]), 0 if r[0][0] == "root" else r[0][2] + 1) for r in a[3]]
                if len(set(keys)) < len(keys):
                    order_stats[a[0]] += 1
                    if not same_order(a, b):
                        order_stats[a[0] + " differs"] += 1
        for k, (side, e_list) in enumerate(zip(sides, evs)):
            for e in e_list:
                shown_ev = comparable(e, inexact)
                if shown_ev[3]:
                    seen[k].append(shown_ev)
                if e[2] is None:
                    apply_event(side.mirrors[i], _mirrored(e, unmirrored))
        assert seen[0] == seen[1], (f"seed {seed} peer {i} after {what}:\nloro   {seen[0]}\n"
                                    f"loro_c {seen[1]}\nraw loro {evs[0]}")
        for e in evs[1]:
            assert depth_ordered(e), f"seed {seed}: diffs not parents-first: {e}"
        for side in sides:
            if unsubscribed[i]:
                continue
            value = side.docs[i].get_deep_value()
            if unmirrored:
                value = {k: v for k, v in value.items() if k not in unmirrored}
                # (a mirror that started from a loaded value has them too)
                side.mirrors[i] = {k: v for k, v in side.mirrors[i].items()
                                   if k not in unmirrored}
            assert shown(side.mirrors[i]) == shown(value), (
                f"seed {seed} peer {i} ({side.mod.__name__}) after {what}: replayed events give "
                f"{side.mirrors[i]!r}, the document is {value!r}")

    # (the gaps' own generator: the sessions stay those of the same seed)
    gap_rng = random.Random(seed * 13 + 5)
    unsubscribed = [False] * PEERS

    def subscribe_or_drop():
        g = gap_rng.randrange(PEERS)
        if gap_rng.random() >= 0.15:
            return
        for side in sides:
            if unsubscribed[g]:
                side.docs[g].commit()
                side.subscribe(g)
            else:
                side.unsubscribe(g)
        unsubscribed[g] = not unsubscribed[g]

    for step in range(steps):
        if gaps:
            subscribe_or_drop()
        r = rng.random()
        i = rng.randrange(PEERS)
        if 0.55 <= r < 0.65 and versions[i]:
            # travel to an earlier version and back: a Checkout event each way
            at = rng.choice(versions[i])
            for side in sides:
                side.docs[i].checkout(side.mod.Frontiers.from_ids([side.mod.ID(p, c) for p, c in at]))
            check(i, f"step {step}: checkout {at}")
            for side in sides:
                side.docs[i].checkout_to_latest()
            check(i, f"step {step}: back to the latest version")
            continue
        if 0.65 <= r < 0.69:
            # peer j starts again from peer i's snapshot (an Import event of the loaded
            # state), sometimes with another peer's updates in the same import_batch (then
            # a Checkout event for them)
            j = (i + rng.randrange(1, PEERS)) % PEERS
            k = (j + rng.randrange(1, PEERS)) % PEERS
            with_batch = rng.random() < 0.5
            # (its own generator: the sessions of `late` stay those of the same seed)
            late_load = late and random.Random(seed * 7 + step).random() < 0.6
            for side in sides:
                for x in (i, j, k):
                    side.docs[x].commit()
            for x in (i, j, k):
                check(x, f"step {step}: commit before the snapshot")
            for side in sides:
                snap = side.docs[i].export(side.mod.ExportMode.Snapshot())
                blobs = [snap]
                if with_batch:
                    blobs.append(side.docs[k].export(side.mod.ExportMode.Updates(side.mod.VersionVector())))
                side.restart(j, 100 + step, late=late_load)
                if with_batch:
                    side.docs[j].import_batch(blobs)
                else:
                    side.docs[j].import_(snap)
                if late_load:
                    side.subscribe(j)
            versions[j] = []
            unsubscribed[j] = False
            check(j, f"step {step}: restart from peer {i}'s snapshot"
                     + (f" and peer {k}'s updates" if with_batch else ""))
            remember(j)
            continue
        if r < 0.6:
            # a local edit; the oracle peer must know the container
            key = rng.choice(known)
            if key[0] != "root" and not sides[0].docs[i].has_container(make_cid(loro, key)):
                continue
            kind = key[-1]
            op = rng.random()
            value = rng.choice([1, 2, "s", None, True, 2.5, [1, "x"], {"k": 1}])
            new_kind = rng.choice(["Text", "List", "Map", "Counter"])
            mkey = rng.choice("abcd")
            created = []
            refused = False
            for side in sides:
                h = side.handle(i, key)
                r2 = random.Random(seed * 100003 + step)
                try:
                    edit(side, h, kind, r2, op, value, new_kind, mkey, created)
                except BaseException as e:  # loro's refusal is a pyo3 PanicException
                    # loro_c is asked too: the refused op leaves a trace in the store
                    if "is deleted" not in str(e) or refused != (side.mod is not loro):
                        raise
                    refused = True
                    continue
                assert not refused, f"seed {seed} step {step}: loro_c applied an edit loro refused"
            if refused:
                continue
            if created:
                assert created[0] == created[1]
                known.append(created[0])
            if rng.random() < 0.5:
                how = rng.random()
                origin = rng.choice(["", "ui", "undo"])
                for side in sides:
                    d = side.docs[i]
                    if how < 0.3:
                        d.set_next_commit_origin(origin)
                        d.commit()
                    elif how < 0.6:
                        d.commit_with(origin=origin)
                    else:
                        d.commit()
                check(i, f"step {step}: commit")
                remember(i)
        else:
            # peer j imports what peer i has that it lacks
            j = (i + rng.randrange(1, PEERS)) % PEERS
            mode = rng.random()
            origin = rng.choice([None, "sync"])
            for side in sides:
                side.docs[i].commit()
            check(i, f"step {step}: commit before export")
            blobs = []
            for side in sides:
                src, dst = side.docs[i], side.docs[j]
                if mode < 0.4:
                    blobs.append([src.export(side.mod.ExportMode.Updates(dst.oplog_vv))])
                elif mode < 0.5:
                    blobs.append([src.export_json_updates(dst.oplog_vv, src.oplog_vv)])
                else:
                    # one blob per peer's missing range, delivered in a random order (a later
                    # piece may wait for an earlier one), sometimes twice
                    spans = sorted(src.oplog_vv.sub_iter(dst.oplog_vv), key=lambda s: s.peer)
                    blobs.append([src.export(side.mod.ExportMode.UpdatesInRange([span]))
                                  for span in spans])
            order = list(range(len(blobs[0])))
            rng.shuffle(order)
            if order and rng.random() < 0.3:
                order.append(rng.choice(order))
            if blobs[0] and isinstance(blobs[0][0], str):
                # changes of equal Lamport in the order of loro's version hash map (a JSON
                # import's text goes to the importer's string arena in that order, which
                # shows in its text deltas: seed 154, step 39)
                assert json_change_order(blobs[0][0]) == json_change_order(blobs[1][0]), (seed, step)
            for k in order:
                for side, bl in zip(sides, blobs):
                    if isinstance(bl[k], str):
                        side.docs[j].import_json_updates(bl[k])
                    elif origin is None:
                        side.docs[j].import_(bl[k])
                    else:
                        side.docs[j].import_with(bl[k], origin)
                check(j, f"step {step}: import piece {k} from peer {i}")
            remember(j)
    for side in sides:
        for d in side.docs:
            d.commit()
    for i in range(PEERS):
        check(i, "the end")


@pytest.mark.parametrize("seed", _seeds())
def test_random_sessions_match_loro(seed):
    run_session(seed)


# sessions past the default range that once failed, run always: 6142 (a doc restarted from
# a snapshot exported its whole history, which numbers the dead children of the blocks it
# reads, before a local edit created a container), 6530 (a doc restarted from a batch of a
# snapshot and its own updates, then checked out at its own version and back: neither
# parses a block, its dead children wait); tests/test_export_numbering.py; 5775 (a
# concurrent import walked from the version before, whose frontiers loro takes in the order
# of the log's own map of them); tests/test_event_order.py; 7002 (a checkout brought back
# the list a dead map's key held, whose child lists no calculator reports: they were in
# loro_c's calculator map; tests/test_event_order_reported.py), 7993 (a doc restarted from
# a snapshot holding part of a peer's change took the rest, which joins that block: loro
# parses it and numbers the dead child it holds; tests/test_export_numbering.py), 7455 and
# 8736 (a concurrent import replayed from a critical version below the version before, its
# heads in the order loro's map of them yields them: filled as loro turns the base's version
# vector into frontiers, 7455 a tie of Lamports, 8736 peers in buckets of their own;
# tests/test_event_order.py), 8735 (a doc restarted from a batch of a snapshot and another
# peer's updates, whose block of a peer the snapshot has whole loro leaves unparsed: the
# dead child only that block names waits, after the root a new change creates;
# tests/test_batch_known_blocks.py)
FIXED_SESSIONS = (6142, 6530, 5775, 7002, 7993, 7455, 8736, 8735,
                  # (tests/test_history_visit_numbering.py)
                  21028)


@pytest.mark.parametrize("seed", FIXED_SESSIONS)
def test_fixed_sessions_match_loro(seed):
    run_session(seed)


@pytest.mark.parametrize("seed", _seeds("LORO_C_LATE_SESSIONS", "200"))
def test_random_sessions_subscribed_after_a_load_match_loro(seed):
    run_session(seed, late=True)


@pytest.mark.parametrize("seed", _seeds("LORO_C_GAP_SESSIONS", "100"))
def test_random_sessions_with_subscribers_that_come_and_go_match_loro(seed):
    run_session(seed, gaps=True)


# late sessions (run_session(seed, late=True)) that once failed, run always: a doc
# restarted from a snapshot nobody recorded, whose dead children loro's arena registers
# only when touched: a handle of one (464, 2448), a parse of its change block by an export,
# a lookup by id or a checkout whose diff replays the whole history (174, 311, 1627, 1909;
# tests/test_thin_load_numbering.py); 479, 2723 and 2769 restarted with an import_batch of
# a snapshot and updates, whose dead child loro numbered at a later checkout
# (tests/test_batch_lazy_dead_child.py); 681's batch held a known block loro parsed, its
# first change's deps rebuilt in another order (tests/test_batch_known_block_deps.py);
# 1269, 2188 and 2460's held known blocks whose bytes differ from the snapshot's, which
# loro parses (tests/test_batch_known_block_bytes.py); 1700 a checkout bringing back a
# container whose own diff shows only some of its children (test_event_order_reported.py);
# 962 and 1431: an import_batch whose move to the latest version parsed blocks of the
# history (tests/test_batch_lazy_move_numbering.py); 557 and 2417 too: the blocks under the
# snapshot's frontier change first, and the replay from the empty version past a new change
# with no deps (tests/test_batch_lazy_concurrent_move.py)
FIXED_LATE_SESSIONS = (174, 311, 464, 1627, 1909, 2448, 479, 681, 2723, 2769, 1269, 2188, 2460, 1700,
                       962, 1431, 557, 2417,
                       # deps listed as a re-encoded block lists them
                       # (tests/test_snapshot_flush_deps.py)
                       3201,
                       # an import's diff walks (and parses) the old changes above the
                       # common ancestor (tests/test_import_walk_numbering.py)
                       7375,
                       # updates that follow the snapshot's frontiers: its version is the
                       # common ancestor, nothing parsed (doc/exchange.pxi follows_frontiers)
                       9914,
                       # loro's version map: updated at every local op, made with room for
                       # all the peers a snapshot load lists, written so by a re-export
                       # (tests/test_version_map_order.py): JSON change order 16790, 18500,
                       # 22784, 25875, the walk's peer order 13547
                       13547, 16790, 18500, 22784, 25875,
                       # with the lowered base's meet (tests/test_critical_base_meet_order.py)
                       29601,
                       # a recorded load's dead child, numbered by the first build of the
                       # map history cache (tests/test_history_visit_numbering.py)
                       21028)


@pytest.mark.parametrize("seed", FIXED_LATE_SESSIONS)
def test_fixed_late_sessions_match_loro(seed):
    run_session(seed, late=True)
