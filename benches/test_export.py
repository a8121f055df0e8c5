"""Section 2: export the full history as one update blob (loro/loro_c:
export(ExportMode.Updates(VersionVector())); pycrdt: get_update()). The blob size is in
extra_info["bytes"]."""
from ._work import export_all


def test_export(benchmark, trace, library, commit_mode, history):
    name, module = library
    doc, _ = history(name, module, trace, commit_mode)
    benchmark.group = f"export {trace.name} ({commit_mode})"
    blob = benchmark.pedantic(lambda: export_all(name, module, doc), rounds=5, iterations=1)
    benchmark.extra_info["bytes"] = len(blob)
    assert blob
