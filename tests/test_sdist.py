"""The sdist carries every source file a build from it needs.

A `.pxi` that setup.py's list of sdist files misses breaks only the user who builds from the
sdist (pip on a platform without a wheel): Cython stops at its `include`. So the sdist is
built here and checked against the source tree.
"""
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_SUFFIXES = {".pyx", ".pxd", ".pxi", ".h", ".py", ".pyi"}

pytestmark = pytest.mark.skipif(
    not (ROOT / "setup.py").is_file() or not (ROOT / "src" / "loro_c" / "_doc.pyx").is_file(),
    reason="needs the source checkout (setup.py and the .pyx sources)",
)


def build_sources():
    """The package's and headers' source files, relative to the checkout, '/'-separated."""
    found = set()
    for top in ("src/loro_c", "include"):
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and (path.suffix in SOURCE_SUFFIXES or path.name == "py.typed"):
                if "__pycache__" not in path.parts:
                    found.add(path.relative_to(ROOT).as_posix())
    return found


@pytest.fixture(scope="module")
def sdist_members(tmp_path_factory):
    out = tmp_path_factory.mktemp("sdist")
    # egg_info writes into a scratch folder, not into src/ of the checkout. No extension
    # modules are declared (setup.py LORO_C_NO_EXTENSIONS): the test environment has no
    # Cython, and the sources the sdist carries come from SDist.EXTRA, not from them
    # (their generated C is left out of it).
    run = subprocess.run(
        [sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(out),
         "sdist", "--dist-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "LORO_C_NO_EXTENSIONS": "1"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (archive,) = out.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        # members are "<name>-<version>/<path>"
        return {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile() and "/" in m.name}


def test_the_sdist_carries_every_source_file_of_the_package_and_headers(sdist_members):
    missing = sorted(build_sources() - sdist_members)
    assert missing == [], f"left out of the sdist: {missing}"


def test_every_cython_include_is_in_the_sdist(sdist_members):
    # the files the .pyx sources include, found by reading them (not by globbing)
    included = set()
    for pyx in (ROOT / "src" / "loro_c").glob("*.pyx"):
        for line in pyx.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("include "):
                name = stripped.split(None, 1)[1].split("#")[0].strip().strip("\"'")
                included.add((pyx.parent / name).relative_to(ROOT).as_posix())
    assert included, "no include statements found: the reader is wrong"
    assert sorted(included - sdist_members) == []
