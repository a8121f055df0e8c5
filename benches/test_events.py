"""Diff events (``python -m benches.events`` prints the same comparison as one table):
a trace applied with a commit per trace transaction, and its full history imported, with
and without a root subscriber, for loro_c and loro."""
import pytest

from .events import apply_events, import_events


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
