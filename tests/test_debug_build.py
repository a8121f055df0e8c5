"""What the debug build (LORO_C_DEBUG=1, .ci/debug-tests) catches, shown on its probe.

A debug build also compiles tests/debug_probe.pyx as loro_c._debug_probe, with the same
"# cython:" header (checks off) and the same rewrite and flags as the engine's modules. A
release build must not contain it. .ci/debug-tests sets LORO_C_EXPECT_DEBUG_BUILD (and
LORO_C_EXPECT_ASAN when it builds with AddressSanitizer), so there these tests cannot
pass by finding a release build.
"""
import importlib.util
import os
import subprocess
import sys

import pytest

PROBE = "loro_c._debug_probe"
IS_DEBUG = importlib.util.find_spec(PROBE) is not None
debug_only = pytest.mark.skipif(not IS_DEBUG, reason="release build: the probe is only in a debug build")


def test_build_is_the_one_expected():
    if os.environ.get("LORO_C_EXPECT_DEBUG_BUILD"):
        assert IS_DEBUG, "LORO_C_EXPECT_DEBUG_BUILD is set but loro_c is a release build"
    else:
        assert not IS_DEBUG, ("a release build must not ship the debug probe (or an in-place "
                              "debug build left src/loro_c/_debug_probe*.so behind)")


@debug_only
def test_sequence_index_out_of_range_raises_instead_of_reading_past_the_end():
    from loro_c._debug_probe import list_item
    items = [10, 11, 12]
    assert list_item(items, 2) == 12
    with pytest.raises(IndexError):
        list_item(items, 3)
    with pytest.raises(IndexError):
        list_item(items, 1000)
    # wraparound is on too: a negative index counts from the end instead of reading before
    # the start
    assert list_item(items, -1) == 12


@debug_only
@pytest.mark.skipif(not os.environ.get("LORO_C_EXPECT_ASAN"), reason="built without AddressSanitizer")
def test_c_array_read_past_the_end_is_caught_by_asan():
    from loro_c._debug_probe import c_array_item
    assert c_array_item(4, 3) == 3
    code = "from loro_c._debug_probe import c_array_item; c_array_item(4, 4)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert "heap-buffer-overflow" in proc.stderr, proc.stderr[-2000:]
