"""Benchmarks: apply real editing traces through the text API of loro_c, loro and pycrdt.

``python -m benches`` prints a table (best of N runs); ``python -m pytest benches`` runs the
same work under pytest-benchmark. Nothing here asserts on time.
"""
