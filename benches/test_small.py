"""Section 5: many small updates. 5,000 one-character inserts on doc A, each committed,
exported since the version before it and imported by doc B (pycrdt: get_update(state) /
apply_update). extra_info has µs per round trip and bytes per update."""
import pytest

from ._work import SMALL_VARIANTS, small_edits, small_roundtrips

N_EDITS = 5000


@pytest.mark.parametrize("variant", SMALL_VARIANTS)
def test_small_updates(benchmark, library, variant):
    name, module = library
    edits = small_edits(variant, N_EDITS)
    benchmark.group = f"small updates ({variant})"
    total, a, b = benchmark.pedantic(lambda: small_roundtrips(name, module, edits),
                                     rounds=3, iterations=1)
    benchmark.extra_info["edits"] = N_EDITS
    benchmark.extra_info["bytes_per_update"] = total / N_EDITS
    if benchmark.stats is not None:
        benchmark.extra_info["us_per_roundtrip"] = benchmark.stats.stats.min / N_EDITS * 1e6
    assert a == b and len(a) == N_EDITS
