"""pytest-benchmark fixtures: `trace` (parametrized) and `library` (skips if not installed).

Run with ``python -m pytest benches`` (add ``--benchmark-only`` or
``--benchmark-group-by=param:trace_name`` as you like). Nothing here asserts on time.
"""
import pytest

from ._common import Trace, load_library, trace_path, traces_dir

BENCH_TRACES = ("automerge-paper", "json-crdt-patch")

_cache = {}


@pytest.fixture(params=BENCH_TRACES, scope="session")
def trace(request):
    name = request.param
    if not trace_path(name).is_file():
        pytest.skip(f"trace data absent: {trace_path(name)} (traces dir {traces_dir()})")
    if name not in _cache:
        _cache[name] = Trace(name)
    return _cache[name]


@pytest.fixture(params=("loro_c", "loro", "pycrdt"))
def library(request):
    module = load_library(request.param)
    if module is None:
        pytest.skip(f"{request.param} is not installed")
    return request.param, module
