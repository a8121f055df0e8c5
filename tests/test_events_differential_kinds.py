"""Differential events with MovableList and Tree containers in the mix: the random 3-peer
sessions of test_events_differential (commits, imports in pieces, duplicated or as JSON,
checkouts and back, restarts from snapshots with import_batch) with a root movable list
"ml" (insert, delete, mov, set, insert_container, set_container) and a root tree "tr"
(create, mov, delete, meta map inserts and child containers), their children edited in
turn. Each event is compared with loro's exactly as the other sessions' are: targets,
paths (a tree node's meta map by its TreeID), diffs item by item (tree items with their
indexes and fractional indexes, a movable list's moves with is_move) and their order. The
movable list and the tree are compared through their events and the documents' values,
not replayed on the mirror (a move's item carries the moved value, which the mirror's
plain values cannot follow).

Before loro_c numbered a created tree node's meta map as loro registers it (doc/registry.pxi
meta_queue), listed every node's meta map in its snapshots' state and the Tree and
MovableList roots a loaded snapshot names, and reported zero counters a movable list shows
as loro does, 20 of the first 60 sessions differed. The default seeds 0-119 all agree;
of seeds 0-399, 7 still differ (not tolerated here, measured): a concurrent import whose
tree diff shows a created node's meta map whole with a counter at 0 in it, which loro
leaves out (seeds 167, 239, 357); a concurrent import from a lowered base where loro does
report a movable list's new counter at 0 (133, 333: _events._ml_base_lowered is not loro's
exact rule); a commit listing two roots that tie on depth in another order (359, 361).

Rerun one session with ``LORO_C_EVENT_SEEDS=5 python -m pytest -q
tests/test_events_differential_kinds.py``; ``LORO_C_EVENT_SESSIONS=N`` runs seeds 0..N-1.
"""
import pytest

import test_events_differential as T


@pytest.mark.parametrize("seed", T._seeds())
def test_random_sessions_with_movable_lists_and_trees_match_loro(seed):
    T.run_session(seed, kinds=True)
