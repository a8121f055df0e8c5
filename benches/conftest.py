"""pytest-benchmark fixtures for sections 1-5 of ``python -m benches``.

Run with ``python -m pytest benches --benchmark-only`` (add e.g.
``--benchmark-group-by=group`` or ``-k automerge``). ``python -m pytest tests`` never
collects these (pyproject.toml sets ``testpaths = ["tests"]``). Nothing here asserts on
time; the asserts check results (final text == the trace's endContent).

Fixtures: ``library`` (loro_c, loro, pycrdt; skips one that is not installed), ``trace``
(sequential traces in BENCH_TRACES), ``commit_mode`` (once / per_txn), ``ctrace``
(concurrent traces), and session caches that build documents, blobs and concurrent
replays outside the timed code.
"""
import pytest

from ._common import (CONCURRENT_TRACES, ConcurrentTrace, Trace, concurrent_trace_path,
                      load_library, trace_path, traces_dir)
from ._work import apply_fn, export_all, replay_concurrent

BENCH_TRACES = ("automerge-paper", "json-crdt-patch")
_traces = {}
_ctraces = {}


@pytest.fixture(params=BENCH_TRACES, scope="session")
def trace(request):
    name = request.param
    if not trace_path(name).is_file():
        pytest.skip(f"trace data absent: {trace_path(name)} (traces dir {traces_dir()})")
    if name not in _traces:
        _traces[name] = Trace(name)
    return _traces[name]


@pytest.fixture(params=CONCURRENT_TRACES, scope="session")
def ctrace(request):
    name = request.param
    if not concurrent_trace_path(name).is_file():
        pytest.skip(f"trace data absent: {concurrent_trace_path(name)}")
    if name not in _ctraces:
        _ctraces[name] = ConcurrentTrace(name)
    return _ctraces[name]


@pytest.fixture(params=("loro_c", "loro", "pycrdt"))
def library(request):
    module = load_library(request.param)
    if module is None:
        pytest.skip(f"{request.param} is not installed")
    return request.param, module


@pytest.fixture(params=("once", "per_txn"))
def commit_mode(request, library):
    if request.param == "per_txn" and library[0] == "pycrdt":
        pytest.skip("pycrdt runs one transaction per trace txn in both modes: see 'once'")
    return request.param


@pytest.fixture(scope="session")
def history():
    """history(lib, module, trace, mode) -> (doc, blob): the document after applying the
    trace and its full-history update blob, built once per session (untimed)."""
    cache = {}

    def get(name, module, trace, mode):
        key = (name, trace.name, mode)
        if key not in cache:
            doc, text = apply_fn(name, module, trace, mode == "per_txn")()
            assert text == trace.end
            cache[key] = (doc, export_all(name, module, doc))
        return cache[key]

    return get


@pytest.fixture(scope="session")
def agent_blobs():
    """agent_blobs(lib, module, ctrace) -> the per-agent full-history blobs of the
    untimed concurrent replay, once per session."""
    cache = {}

    def get(name, module, ctrace):
        key = (name, ctrace.name)
        if key not in cache:
            cache[key] = replay_concurrent(name, module, ctrace)[0]
        return cache[key]

    return get
