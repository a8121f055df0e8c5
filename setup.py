"""Build script for the loro_c Cython extensions.

Metadata lives in pyproject.toml; this file only declares the extension modules.

Environment switches:
  LORO_C_ANNOTATE=1  write Cython's HTML annotation (build/cython/src/loro_c/*.html)
  LORO_C_DEBUG=1     compile with -O0 -g (MSVC: /Od /Zi) and boundscheck=True
"""
import glob
import os
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


def _rel_glob(pattern):
    # Relative, '/'-separated paths: setuptools rejects absolute source paths.
    paths = glob.glob(os.path.join(HERE, pattern))
    return sorted(os.path.relpath(p, HERE).replace(os.sep, "/") for p in paths)


PYX = _rel_glob("src/loro_c/*.pyx")
PXD = _rel_glob("src/loro_c/*.pxd")
HEADERS = _rel_glob("include/loro_c/*.h") + _rel_glob("src/loro_c/*.h")


class BuildExt(build_ext):
    """Pick optimisation flags by compiler family (known only at build time)."""

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        if msvc:
            flags = ["/Od", "/Zi"] if DEBUG else ["/O2"]
        else:
            flags = ["-O0", "-g"] if DEBUG else ["-O2"]
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args or []) + flags
            if DEBUG and msvc:
                ext.extra_link_args = list(ext.extra_link_args or []) + ["/DEBUG"]
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
        "src/loro_c/codec/*.pxi",
        "src/loro_c/py.typed",
        "include/loro_c/*.h",
        "tests/*.py",
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


def _extensions():
    if not PYX:
        return []
    from Cython.Build import cythonize

    directives = {"language_level": 3, "embedsignature": True}
    if DEBUG:
        directives["boundscheck"] = True
    exts = []
    for pyx in PYX:
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
        include_path=["src"] + INCLUDE_DIRS,
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
    zip_safe=False,
)
