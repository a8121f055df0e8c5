"""Section 3: import a full-history update blob into a fresh document and materialise the
text (to_string() / str(text))."""
from ._work import import_all


def test_import(benchmark, trace, library, commit_mode, history):
    name, module = library
    _, blob = history(name, module, trace, commit_mode)
    benchmark.group = f"import {trace.name} ({commit_mode})"
    benchmark.extra_info["bytes"] = len(blob)
    text = benchmark.pedantic(lambda: import_all(name, module, [blob]), rounds=5,
                              iterations=1)
    assert text == trace.end
