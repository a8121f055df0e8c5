"""Section 4: merge of real concurrency. The concurrent trace is replayed (untimed, once per
session) with one doc per agent; the benchmark is a fresh doc importing every agent's
full-history blob and materialising the text."""
from ._work import import_all


def test_merge(benchmark, ctrace, library, agent_blobs):
    name, module = library
    blobs = agent_blobs(name, module, ctrace)
    benchmark.group = f"merge {ctrace.name}"
    benchmark.extra_info["bytes"] = sum(map(len, blobs))
    text = benchmark.pedantic(lambda: import_all(name, module, blobs), rounds=5,
                              iterations=1)
    assert text == ctrace.end
