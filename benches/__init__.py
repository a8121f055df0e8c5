"""Benchmarks of loro_c against loro (same API) and pycrdt on real editing traces.

``python -m benches`` prints one report (sections: local apply, export, import, merge of
concurrent traces, many small updates, memory, scaling) with the ratio loro_c/loro and the
target ratios; ``python -m pytest benches --benchmark-only`` runs sections 1-5 under
pytest-benchmark. Nothing here asserts on time.
"""
