"""Which model is active, and loading a model by name: ``default``, a run directory or a file.

``default`` is the run promoted with ``handwritten promote`` (recorded in
``$HANDWRITTEN_HOME/active_model.json``), or the model shipped in the package when nothing was
promoted or the promoted run has gone.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handwritten.models.checkpoint import (
    CheckpointError,
    Restored,
    load_checkpoint,
    read_checkpoint,
)
from handwritten.storage.files import FileVersion, atomic_write_json, read_json
from handwritten.storage.paths import DEFAULT_MODEL_DIR, home_dir
from handwritten.storage.runs import RunDir

SHIPPED_CHECKPOINT = DEFAULT_MODEL_DIR / "checkpoint.msgpack"


class ModelNotFoundError(ValueError):
    """The named model does not exist or cannot be loaded."""


def active_pointer() -> Path:
    return home_dir() / "active_model.json"


def checkpoint_for(spec: str | Path) -> Path:
    """Resolve ``default``, a run directory or a checkpoint file to a checkpoint path."""
    if str(spec) == "default":
        pointer = active_pointer()
        if pointer.is_file():
            try:
                path = Path(read_json(pointer)["checkpoint"])
            except (OSError, ValueError, KeyError, TypeError):
                path = None
            if path is not None and path.is_file():
                return path
        return SHIPPED_CHECKPOINT
    path = Path(spec)
    if path.is_dir():
        checkpoint = path / RunDir.CHECKPOINT
        if not checkpoint.is_file():
            raise ModelNotFoundError(f"{path}: no checkpoint in this run directory (yet)")
        return checkpoint
    if path.is_file():
        return path
    raise ModelNotFoundError(
        f"{spec}: no such model (use 'default', a run directory or a checkpoint)"
    )


def active_version() -> FileVersion:
    """The active model's version: the one cache key for everything derived from it."""
    return FileVersion.of(checkpoint_for("default"))


@dataclass
class ModelInfo:
    """What the sidebar and `evaluate` say about a model."""

    name: str
    arch: str
    checkpoint: Path
    test_accuracy: float | None
    meta: dict[str, Any]


def _describe(checkpoint: Path, meta: dict[str, Any], arch: str) -> ModelInfo:
    accuracy = meta.get("test_accuracy")
    name = meta.get("name") or checkpoint.parent.name
    if checkpoint == SHIPPED_CHECKPOINT:
        name = "default (shipped)"
    return ModelInfo(name, arch, checkpoint, accuracy, meta)


def load_model(spec: str | Path = "default") -> tuple[Restored, ModelInfo]:
    checkpoint = checkpoint_for(spec)
    try:
        restored = load_checkpoint(checkpoint)
    except CheckpointError as exc:
        raise ModelNotFoundError(str(exc)) from exc
    meta = dict(restored.meta)
    if "test_accuracy" not in meta:
        summary_path = checkpoint.parent / RunDir.SUMMARY
        if summary_path.is_file():
            with contextlib.suppress(OSError, ValueError):
                meta["test_accuracy"] = read_json(summary_path).get("test_accuracy")
    return restored, _describe(checkpoint, meta, restored.arch)


def promote(run_dir: Path) -> Path:
    """Make a run's model the active one (``default``) for the CLI and the dashboard."""
    if str(run_dir) == "default":
        raise ModelNotFoundError("promote takes a run directory")
    checkpoint = checkpoint_for(Path(run_dir))
    try:
        read_checkpoint(checkpoint)
    except CheckpointError as exc:
        raise ModelNotFoundError(str(exc)) from exc
    atomic_write_json(active_pointer(), {"checkpoint": str(checkpoint.resolve())})
    return checkpoint


def reset_active() -> None:
    """Go back to the shipped model."""
    active_pointer().unlink(missing_ok=True)
