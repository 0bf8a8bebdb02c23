"""The library must stay usable without Streamlit (notebooks, CLI, training subprocesses)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_library_does_not_import_streamlit() -> None:
    code = (
        "import sys, handwritten, handwritten.cli, handwritten.train, handwritten.predict, "
        "handwritten.preprocess, handwritten.data, handwritten.realistic, handwritten.jobs, "
        "handwritten.bench; print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
