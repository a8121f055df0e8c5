"""Build script for the loro_c Cython extensions.

Metadata lives in pyproject.toml; this file only declares the extension modules.

Environment switches:
  LORO_C_ANNOTATE=1  write Cython's HTML annotation (build/cython/src/loro_c/*.html)
  LORO_C_DEBUG=1     a checking build: Cython boundscheck, wraparound and initializedcheck
                     on (overriding the modules' own directives), C asserts on
                     (-UNDEBUG), -O0 -g (MSVC: /Od /Zi); its C goes to build/cython-debug
  LORO_C_SANITIZE=address   with LORO_C_DEBUG on gcc/clang: also -fsanitize=address, which
                     catches out-of-bounds reads of the C arrays (Cython's checks only cover
                     Python sequences); run it with the ASan runtime preloaded (.ci/debug-tests)
  LORO_C_NO_EXTENSIONS=1  declare no extension modules, so Cython is not needed: for listing
                     the sdist's files (SDist.EXTRA decides which sources it carries;
                     tests/test_sdist.py), not for a build
"""
import glob
import os
import re
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_DIR = os.path.join("src", "loro_c")
INCLUDE_DIRS = ["include", PKG_DIR]


def _flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


ANNOTATE = _flag("LORO_C_ANNOTATE")
DEBUG = _flag("LORO_C_DEBUG")
SANITIZE = DEBUG and os.environ.get("LORO_C_SANITIZE", "").strip().lower() == "address"
NO_EXTENSIONS = _flag("LORO_C_NO_EXTENSIONS")


def _rel_glob(pattern):
    # Relative, '/'-separated paths: setuptools rejects absolute source paths.
    paths = glob.glob(os.path.join(HERE, pattern), recursive=True)
    return sorted(os.path.relpath(p, HERE).replace(os.sep, "/") for p in paths)


PYX = _rel_glob("src/loro_c/*.pyx")
PXD = _rel_glob("src/loro_c/*.pxd")
HEADERS = _rel_glob("include/loro_c/*.h") + _rel_glob("src/loro_c/*.h")


class BuildExt(build_ext):
    """Pick optimisation flags by compiler family (known only at build time)."""

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        if msvc:
            flags = ["/Od", "/Zi", "/UNDEBUG"] if DEBUG else ["/O2"]
        else:
            flags = ["-O0", "-g", "-UNDEBUG"] if DEBUG else ["-O2"]
            if SANITIZE:
                flags += ["-fsanitize=address", "-fno-omit-frame-pointer"]
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args or []) + flags
            if DEBUG and msvc:
                ext.extra_link_args = list(ext.extra_link_args or []) + ["/DEBUG"]
            if SANITIZE and not msvc:
                ext.extra_link_args = list(ext.extra_link_args or []) + ["-fsanitize=address"]
        super().build_extensions()


class SDist(sdist):
    """Ship the Cython sources, the .pxd files and the C headers in the sdist.

    cythonize() swaps each extension's .pyx for the generated .c, and headers
    under include/ are outside the package, so setuptools would leave them out.
    """

    EXTRA = (
        "src/loro_c/*.pyx",
        "src/loro_c/*.pxd",
        "src/loro_c/*.pyi",
        "src/loro_c/*.h",
        "src/loro_c/**/*.pxi",     # every folder's: a missing include fails only at the user's build
        "src/loro_c/py.typed",
        "include/loro_c/*.h",
        "tests/*.py",
        "tests/*.pyx",
        "tests/*.txt",
        "tests/*.ini",
        "tests/js/*",
        "examples/*.py",
        "benches/*.py",
        "docs/*.md",
        "LICENSE*",
    )

    def make_release_tree(self, base_dir, files):
        # Generated C under build/ is rebuilt from the .pyx; keep it out.
        files = [f for f in files if not f.replace(os.sep, "/").startswith("build/")]
        have = {f.replace(os.sep, "/") for f in files}
        for pattern in self.EXTRA:
            for path in _rel_glob(pattern):
                if path not in have:
                    files.append(path)
                    have.add(path)
        super().make_release_tree(base_dir, files)


CHECKS_OFF = re.compile(r"\b(boundscheck|wraparound|initializedcheck)\s*=\s*False\b")
DEBUG_SRC = os.path.join("build", "debug-src")
PROBE = "tests/debug_probe.pyx"


def _debug_sources():
    """Copies of the Cython modules with their checks turned on, for LORO_C_DEBUG.

    The modules switch boundscheck/wraparound/initializedcheck off in their "# cython:"
    header, and such a header wins over cythonize(compiler_directives=...), so the debug
    build compiles copies whose header says True. Unchanged copies keep their mtime.
    """
    pkg = os.path.join(DEBUG_SRC, "loro_c")
    os.makedirs(pkg, exist_ok=True)
    # Cython names a module after the packages (folders with __init__.py) around it
    targets = {os.path.join(pkg, "__init__.py"): ""}
    # The probe of tests/test_debug_build.py goes through the same rewrite and flags.
    copies = {path: os.path.basename(path) for path in PYX + PXD}
    copies[PROBE] = "_debug_probe.pyx"
    for path, name in copies.items():
        with open(os.path.join(HERE, path), encoding="utf-8") as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            if not line.startswith("#"):
                break
            if line.startswith("# cython:"):
                lines[i] = CHECKS_OFF.sub(r"\1=True", line)
        targets[os.path.join(pkg, name)] = "\n".join(lines)
    for dst, text in targets.items():
        if os.path.exists(dst):
            with open(dst, encoding="utf-8") as f:
                if f.read() == text:
                    continue
        with open(dst, "w", encoding="utf-8") as f:
            f.write(text)
    return [os.path.join(pkg, copies[p]).replace(os.sep, "/") for p in PYX + [PROBE]]


def _extensions():
    if not PYX or NO_EXTENSIONS:
        return []
    from Cython.Build import cythonize

    directives = {"language_level": 3, "embedsignature": True}
    sources, search = PYX, ["src"]
    if DEBUG:
        directives.update(boundscheck=True, wraparound=True, initializedcheck=True)
        sources, search = _debug_sources(), [DEBUG_SRC]
    exts = []
    for pyx in sources:
        name = os.path.splitext(os.path.basename(pyx))[0]
        exts.append(
            Extension(
                "loro_c." + name,
                sources=[pyx],
                include_dirs=INCLUDE_DIRS,
                depends=PXD + HEADERS,
            )
        )
    return cythonize(
        exts,
        compiler_directives=directives,
        annotate=ANNOTATE,
        include_path=search + INCLUDE_DIRS,
        # Generated C lives under build/, one tree per flavour, so a debug build
        # never leaves stale C behind for a release build (and src/ stays clean).
        build_dir=os.path.join("build", "cython-debug" if DEBUG else "cython"),
        # Annotation HTML is only written when a module is (re)compiled.
        force=ANNOTATE,
        quiet=True,
    )


setup(
    ext_modules=_extensions(),
    cmdclass={"build_ext": BuildExt, "sdist": SDist},
    # A debug build keeps its objects and libraries apart, so neither flavour ever
    # mistakes the other's up-to-date .so for its own.
    options={"build": {"build_base": os.path.join("build", "debug")}} if DEBUG else {},
    zip_safe=False,
)
