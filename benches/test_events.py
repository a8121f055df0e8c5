"""Diff events (``python -m benches.events`` prints the same comparison as one table):
a trace applied with a commit per trace transaction, and its full history imported, with
and without a root subscriber, for loro_c and loro."""
import pytest

from .events import apply_events, import_events, one_commit, rich_import, rich_import_inputs


@pytest.fixture(params=(False, True), ids=("nosub", "sub"))
def subscribed(request):
    return request.param


def test_apply_events(benchmark, trace, library, subscribed):
    name, module = library
    if name == "pycrdt":
        pytest.skip("loro's event API only")
    benchmark.group = f"events apply {trace.name}"
    text, n = benchmark.pedantic(lambda: apply_events(module, trace, subscribed), rounds=3,
                                 iterations=1)
    assert text == trace.end
    assert (n > 0) == subscribed


def test_import_events(benchmark, trace, library, subscribed, history):
    name, module = library
    if name == "pycrdt":
        pytest.skip("loro's event API only")
    _, blob = history(name, module, trace, "per_txn")
    benchmark.group = f"events import {trace.name}"
    text, n = benchmark.pedantic(lambda: import_events(module, blob, subscribed), rounds=5,
                                 iterations=1)
    assert text == trace.end
    assert n == (1 if subscribed else 0)


@pytest.mark.parametrize("concurrent", (False, True), ids=("whole", "concurrent"))
def test_rich_import_events(benchmark, library, subscribed, concurrent):
    """2,000 rich edits (inserts, deletes, marks) imported whole into an empty document,
    or one peer's over a snapshot of another's made at the same time."""
    name, module = library
    if name == "pycrdt":
        pytest.skip("loro's event API only")
    base, blob = rich_import_inputs(module, 2000, concurrent)
    benchmark.group = f"events rich import {'concurrent' if concurrent else 'whole'}"
    text, n = benchmark.pedantic(lambda: rich_import(module, blob, subscribed, base), rounds=5,
                                 iterations=1)
    assert len(text) > 1000
    assert n == (1 if subscribed else 0)


def test_one_commit_events(benchmark, library, subscribed):
    """4,000 scattered inserts and deletes of a text committed at once: one event, whose
    delta composes the transaction's 4,000 hints."""
    name, module = library
    if name == "pycrdt":
        pytest.skip("loro's event API only")
    benchmark.group = "events one commit 4000"
    text, n = benchmark.pedantic(lambda: one_commit(module, 4000, subscribed), rounds=5,
                                 iterations=1)
    assert len(text) > 5000
    assert n == (1 if subscribed else 0)
