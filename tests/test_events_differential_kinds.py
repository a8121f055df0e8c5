"""Differential events with MovableList and Tree containers in the mix: the random 3-peer
sessions of test_events_differential (commits, imports in pieces, duplicated or as JSON,
checkouts and back, restarts from snapshots with import_batch) with a root movable list
"ml" (insert, delete, mov, set, insert_container, set_container) and a root tree "tr"
(create, mov, delete, meta map inserts and child containers), their children edited in
turn. Each event is compared with loro's as the other sessions' are: targets, paths (a
tree node's meta map by its TreeID), diffs item by item (tree items with their indexes and
fractional indexes, a movable list's moves with is_move) and their order. The movable list
and the tree are compared through their events and values, not replayed on the mirror.

Known differences, tolerated only where an event differs, each measured on seeds 0..119
(they differed in 20 of 60 sessions before loro_c numbered a created tree node's meta map
as loro registers it, doc/registry.pxi meta_queue):
* ZERO_ML: an import concurrent with the movable list's own ops: loro leaves out the
  Counter 0.0 diff of a counter the list's insert brings in (loro_c reports it, as loro
  does for a non-concurrent import): 33 events + 6 below.
* EMPTY_TREE: a restart from a snapshot with another peer's updates in import_batch: loro's
  event lists an empty Tree diff of "tr" that loro_c's leaves out: 6 events.
* LOCAL_ORDER: a commit of a peer restarted from a snapshot lists tied diffs in another
  order (loro's snapshot state lists every tree node's meta map, which numbers them at the
  load; loro_c's snapshot lists only edited ones): 4 events.

Rerun one session with ``LORO_C_EVENT_SEEDS=5 python -m pytest -q
tests/test_events_differential_kinds.py``; ``LORO_C_EVENT_SESSIONS=N`` runs seeds 0..N-1.
"""
import pytest

import test_events_differential as T


def _drop_zero_ml_counters(ev):
    if ev[0] == "Local":
        return ev
    return ev[:3] + ([d for d in ev[3]
                      if not (d[3] == ("Counter", 0.0) and d[1][0][1][1] == "ml")],)


def _drop_empty_trees(ev):
    if ev[0] == "Local":
        return ev
    return ev[:3] + ([d for d in ev[3] if d[3] != ("Tree", [])],)


def _local_unordered(ev):
    if ev[0] != "Local":
        return ev
    return ev[:3] + (sorted(ev[3], key=repr),)


TOLERATED = (_drop_zero_ml_counters, _drop_empty_trees, _local_unordered)


def tolerate(what, a, b):
    """Loro's and loro_c's events of one check, with the known differences (above) taken
    out one by one until they agree (or none is left to take out)."""
    for f in TOLERATED:
        if a == b:
            break
        a = [f(e) for e in a]
        b = [f(e) for e in b]
    return a, b


@pytest.mark.parametrize("seed", T._seeds())
def test_random_sessions_with_movable_lists_and_trees_match_loro(seed):
    T.run_session(seed, kinds=True, tolerate=tolerate)
