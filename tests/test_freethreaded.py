"""Threads on one document without the `loro` oracle, and the GIL on free-threaded Python.

The wheel job for free-threaded CPython (3.14t) runs these: `loro` ships no wheel for it,
so tests/test_threads.py (which checks against `loro`) cannot run there. Here each check
is an invariant that loro_c must keep by itself: every op a thread made is in the result
exactly once, and the document round-trips through its own export.
"""
import os
import random
import subprocess
import sys
import sysconfig
import threading

import pytest

import loro_c
from loro_c import ExportMode, LoroDoc

THREADS = 4
EDITS = 300


def run_threads(targets):
    errors = []
    barrier = threading.Barrier(len(targets))

    def wrap(fn):
        def run():
            try:
                barrier.wait()
                fn()
            except BaseException as e:  # re-raised in the test thread below
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive(), "a thread is stuck (deadlock?)"
    if errors:
        raise errors[0]


@pytest.fixture(autouse=True)
def fast_switching():
    # on a GIL build, switch often so the threads interleave inside operations
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def test_threads_editing_one_document_lose_nothing():
    doc = LoroDoc()
    text, items, m, counter = (doc.get_text("t"), doc.get_list("l"), doc.get_map("m"),
                               doc.get_counter("c"))
    exports = []

    def editor(k):
        def run():
            rng = random.Random(k)
            for i in range(EDITS):
                text.insert(rng.randint(0, len(text)), chr(ord("a") + k))
                items.push(k * EDITS + i)
                m.insert(f"{k}:{i}", i)
                counter.increment(1)
                if i % 50 == 0:
                    doc.commit()
                    exports.append(doc.export(ExportMode.Snapshot()))
        return run

    def reader():
        for _ in range(EDITS):
            doc.get_deep_value()
            doc.oplog_vv.to_dict()

    run_threads([editor(k) for k in range(THREADS)] + [reader])
    doc.commit()

    s = text.to_string()
    assert len(s) == THREADS * EDITS
    for k in range(THREADS):
        assert s.count(chr(ord("a") + k)) == EDITS
    assert sorted(items.get_value()) == list(range(THREADS * EDITS))
    assert len(m) == THREADS * EDITS
    assert counter.value == THREADS * EDITS
    assert doc.len_ops == 4 * THREADS * EDITS

    copy = LoroDoc()
    copy.import_(doc.export(ExportMode.Snapshot()))
    assert copy.get_deep_value() == doc.get_deep_value()
    # every snapshot taken during the run is a consistent prefix that imports cleanly
    for blob in exports:
        part = LoroDoc()
        part.import_(blob)
        assert doc.oplog_vv.includes_vv(part.oplog_vv)


def test_threads_importing_into_one_document_converge():
    sources, steps = [], []
    for k in range(THREADS):
        src = LoroDoc()
        src.peer_id = 1000 + k
        t = src.get_text("t")
        blobs, seen = [], src.oplog_vv
        for i in range(EDITS):
            t.insert(rng_pos(k, i), chr(ord("A") + k))
            if i % 25 == 24:
                src.commit()
                blobs.append(src.export(ExportMode.Updates(seen)))
                seen = src.oplog_vv
        sources.append(src)
        steps.append(blobs)
    target = LoroDoc()

    def importer(blobs):
        def run():
            # in steps, so the imports of the threads interleave
            for blob in blobs:
                target.import_(blob)
            target.import_(blobs[0])  # a repeat changes nothing
        return run

    run_threads([importer(b) for b in steps])

    expected = LoroDoc()
    for src in sources:
        expected.import_(src.export(ExportMode.Snapshot()))
    assert target.get_deep_value() == expected.get_deep_value()
    assert target.oplog_vv == expected.oplog_vv
    assert len(target.get_text("t").to_string()) == THREADS * EDITS


def rng_pos(k, i):
    return random.Random(k * 100003 + i).randint(0, i)


FREE_THREADED_BUILD = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


@pytest.mark.skipif(not FREE_THREADED_BUILD, reason="only a free-threaded CPython can run without the GIL")
def test_free_threaded_python_turns_the_gil_on_for_loro_c():
    """loro_c does not declare itself free-threading compatible (docs/ARCHITECTURE.md,
    "Build modes", says what still relies on the GIL), so importing it makes the
    interpreter turn the GIL on: that is what keeps it safe there. Declaring the module
    compatible must come with the fixes listed there, and with this test changed."""
    # a fresh interpreter, so that only loro_c's import can have turned the GIL on
    code = ("import sys; before = sys._is_gil_enabled(); import loro_c; "
            "print(before, sys._is_gil_enabled())")
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=True).stdout.split()
    assert out == ["False", "True"]
