"""What an installed loro_c carries (wheel or sdist install; not a source checkout)."""
from pathlib import Path

import pytest

import loro_c

PKG = Path(loro_c.__file__).parent
FROM_SOURCE = (PKG / "_doc.pyx").exists()
installed_only = pytest.mark.skipif(FROM_SOURCE, reason="loro_c is imported from the source tree")


@installed_only
def test_no_cython_declarations_without_their_headers():
    # The .pxd files include C headers from include/, which are not installed: a .pxd
    # shipped alone would make `cimport loro_c...` fail, so neither is installed.
    assert sorted(p.name for p in PKG.rglob("*.pxd")) == []
    assert sorted(p.name for p in PKG.rglob("*.pyx")) == []


@installed_only
def test_compiled_modules_and_typing_files_are_installed():
    compiled = {p.name.split(".")[0] for p in PKG.iterdir() if p.suffix in (".so", ".pyd")}
    assert {"_codec", "_containers", "_doc", "_import", "_oplog", "_seq", "_version"} <= compiled
    assert (PKG / "__init__.pyi").is_file()
    assert (PKG / "py.typed").is_file()
