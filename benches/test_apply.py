"""Section 1: apply a whole sequential trace through the text API (fresh doc each round).

commit_mode "once": one commit at the end; "per_txn": one commit per trace transaction.
pycrdt always runs one transaction per trace txn (its "per_txn" case is skipped).
"""
from ._common import rounds_for
from ._work import apply_fn


def test_apply(benchmark, trace, library, commit_mode):
    name, module = library
    benchmark.group = f"apply {trace.name} ({commit_mode})"
    benchmark.extra_info["patches"] = len(trace.patches)
    run = apply_fn(name, module, trace, commit_mode == "per_txn")
    doc, text = benchmark.pedantic(run, rounds=rounds_for(name, trace), iterations=1)
    assert text == trace.end  # correctness of the replay, not speed
