"""The type stubs describe the runtime API: every stubbed class and method exists."""
import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import loro_c

STUB = Path(loro_c.__file__).with_name("__init__.pyi")


def _stub_members():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = [item.name for item in node.body
                       if isinstance(item, ast.FunctionDef) and not item.name.startswith("__")]
            nested = [item.name for item in node.body if isinstance(item, ast.ClassDef)]
            yield node.name, members, nested


def test_stub_file_is_installed():
    assert STUB.is_file()
    assert STUB.with_name("py.typed").is_file()


def test_every_stubbed_name_exists_at_runtime():
    missing = []
    for cls_name, members, nested in _stub_members():
        cls = getattr(loro_c, cls_name, None)
        if cls is None:
            missing.append(cls_name)
            continue
        for name in members + nested:
            # ContainerID's variants define to_bytes themselves
            owner = cls.Root if cls_name == "ContainerID" and name == "to_bytes" else cls
            if not hasattr(owner, name):
                missing.append(f"{cls_name}.{name}")
    assert missing == []


def test_public_names_are_stubbed():
    stubbed = {name for name, _, _ in _stub_members()}
    public = {n for n in loro_c.__all__ if isinstance(getattr(loro_c, n), type)}
    assert public - stubbed == set()


def test_stubs_match_the_runtime_by_stubtest():
    """mypy's stubtest imports the installed package and compares every stubbed name,
    signature and property with the runtime object; allowed differences are listed, each
    with its reason, in stubtest_allowlist.txt. mypy is in the test extra, so CI has it."""
    if importlib.util.find_spec("mypy") is None:
        if os.environ.get("CI"):
            pytest.fail("mypy is not installed (it is in the test extra)")
        pytest.skip("mypy is not installed (pip install '.[test]' brings it)")
    here = Path(__file__).resolve().parent
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--concise",
         "--mypy-config-file", str(here / "stubtest_mypy.ini"),
         "--allowlist", str(here / "stubtest_allowlist.txt"), "loro_c"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
