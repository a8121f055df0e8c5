"""Apply a whole trace through each library's text API (fresh doc, one commit at the end)."""
from ._common import runner


def test_apply_trace(benchmark, trace, library):
    name, module = library
    benchmark.group = f"apply {trace.name}"
    benchmark.extra_info["patches"] = len(trace.patches)
    run = runner(name, module, trace)
    result = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0)
    # correctness of the replay, not speed
    assert result == trace.end
