"""Shared test configuration.

* ``traces_dir()`` / the ``traces_dir`` fixture: where the editing traces live.
  ``$LORO_C_TRACES`` if set, else ``<repo root>/../shared/traces``.
* ``trace_file`` is parametrized over every sequential trace (see
  ``pytest_generate_tests``); when the folder is absent the single case skips.
* Hypothesis profiles: "ci" (default) and "thorough" (``LORO_C_THOROUGH=1``).

Nothing here touches ``sys.path``: the tests import the installed ``loro_c``.
"""
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parent.parent

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(
    "thorough" if os.environ.get("LORO_C_THOROUGH", "") not in ("", "0") else "ci"
)


def traces_dir():
    env = os.environ.get("LORO_C_TRACES")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "traces"


SEQUENTIAL_GLOBS = ("sequential_traces/*.json.gz", "sequential_traces/ascii_only/*.json.gz")


def sequential_trace_files():
    """Relative paths (posix) of all sequential traces, or [] if the folder is absent."""
    root = traces_dir()
    if not root.is_dir():
        return []
    found = []
    for pattern in SEQUENTIAL_GLOBS:
        found.extend(sorted(p.relative_to(root).as_posix() for p in root.glob(pattern)))
    return found


@pytest.fixture(scope="session", name="traces_dir")
def traces_dir_fixture():
    return traces_dir()


def pytest_generate_tests(metafunc):
    if "trace_file" in metafunc.fixturenames:
        root = traces_dir()
        files = sequential_trace_files()
        if files:
            metafunc.parametrize("trace_file", files, ids=files)
        else:
            reason = (
                f"trace data absent: no sequential traces under {root} "
                "(set LORO_C_TRACES to an editing-traces folder)"
            )
            metafunc.parametrize(
                "trace_file",
                [pytest.param(None, marks=pytest.mark.skip(reason=reason))],
                ids=["no-traces"],
            )


@pytest.fixture(scope="session")
def js_env():
    """A folder with the npm packages of the end-to-end tests (loro-crdt, loro-websocket,
    loro-adaptors) installed, once per session (see tests/test_sync_js.py)."""
    try:
        import test_sync_js
    except ImportError as e:     # without the server extra there is no sync test module
        pytest.skip(f"the npm setup lives with the sync tests, which need the server extra: {e}")
    yield from test_sync_js.js_env_folder()


# every composition on the rope model of commit deltas checks its tree and recounts its
# data length (local_delta.pxi LocalRope.check)
from loro_c import _events as _events_module  # noqa: E402

_events_module._check_rope_lengths(True)

# every small MovableList import diff (read from a lazy snapshot of the list) is also
# made from the whole list and compared, and each snapshot's walk checked against the
# list's view (state/movable_local.pxi ml_check_small, ml_check_snap)
from loro_c import _doc as _doc_module  # noqa: E402

_doc_module._ml_cross_check(True)
