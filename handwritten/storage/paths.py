"""Where things live on disk: user home, MNIST cache, runs, the shipped default model.

Every location comes from an environment variable or a per-user default, never from the working
directory, so the CLI, the dashboard and a training subprocess agree on them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from handwritten.storage.files import FileVersion

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = PACKAGE_DIR / "default_model"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def home_dir() -> Path:
    """``$HANDWRITTEN_HOME``: runs, the active-model pointer, user samples."""
    value = os.environ.get("HANDWRITTEN_HOME")
    return Path(value) if value else _xdg("XDG_DATA_HOME", ".local/share") / "handwritten"


def data_dir() -> Path:
    """``$HANDWRITTEN_DATA_DIR``: where the four MNIST files are cached."""
    value = os.environ.get("HANDWRITTEN_DATA_DIR")
    return Path(value) if value else _xdg("XDG_CACHE_HOME", ".cache") / "handwritten" / "mnist"


def runs_dir() -> Path:
    return home_dir() / "runs"


def compile_cache_dir() -> Path:
    """Persistent XLA compilation cache, so a second process compiles nothing."""
    value = os.environ.get("HANDWRITTEN_COMPILE_CACHE")
    return Path(value) if value else _xdg("XDG_CACHE_HOME", ".cache") / "handwritten" / "jax"


def derived_cache_file(
    kind: str, version: FileVersion, data: tuple[bytes, ...], suffix: str
) -> Path:
    """``$HANDWRITTEN_HOME/cache/<kind>-<digest><suffix>`` for something computed from a model
    and data: the digest covers the checkpoint's version (path, mtime, size) and the data's
    bytes, so a retrained, promoted or replaced model (or other data) never reads a stale entry."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(version.key.encode())
    for chunk in data:
        digest.update(chunk)
    return home_dir() / "cache" / f"{kind}-{digest.hexdigest()[:16]}{suffix}"
