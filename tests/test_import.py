"""The library must stay usable without Streamlit (notebooks, CLI, training subprocesses)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import handwritten


def library_modules() -> list[str]:
    """Every module of the package except the Streamlit glue, found by walking it."""
    walked = pkgutil.walk_packages(handwritten.__path__, prefix="handwritten.")
    return sorted(m.name for m in walked if not m.name.startswith("handwritten.ui"))


def test_the_walk_finds_every_layer() -> None:
    modules = library_modules()
    for expected in ("handwritten.cli", "handwritten.training.loop", "handwritten.data.mnist"):
        assert any(m == expected or m.startswith(expected + ".") for m in modules)
    assert len(modules) > 25


def test_importing_the_library_does_not_import_streamlit() -> None:
    imports = "; ".join(
        f"import {name}" for name in library_modules() if name != "handwritten.__main__"
    )
    code = f"import sys; {imports}; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
