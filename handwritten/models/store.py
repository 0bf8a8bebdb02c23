"""Which model is active, and loading a model by name: ``default``, an imported model's name,
a run directory or a file.

``default`` is the model promoted with ``handwritten promote`` (recorded in
``$HANDWRITTEN_HOME/active_model.json``), or the model shipped in the package when nothing was
promoted or the promoted model has gone. Every promotion is also remembered
(``promoted.json``), so the registered models — the shipped one, every promoted run still on
disk and every imported ONNX model — can be compared on one drawing (`registered_models`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from handwritten.models.architectures import DigitModel
from handwritten.models.checkpoint import (
    CheckpointError,
    Restored,
    load_checkpoint,
    read_checkpoint,
)
from handwritten.models.imported import (
    ImportedModel,
    ModelImportError,
    describe_imported,
    imported_names,
    imported_path,
)
from handwritten.storage.files import FileVersion, atomic_write_json, read_json
from handwritten.storage.paths import DEFAULT_MODEL_DIR, home_dir
from handwritten.storage.runs import RunDir

SHIPPED_CHECKPOINT = DEFAULT_MODEL_DIR / "checkpoint.msgpack"


class ModelNotFoundError(ValueError):
    """The named model does not exist or cannot be loaded."""


def active_pointer() -> Path:
    return home_dir() / "active_model.json"


def promoted_pointer() -> Path:
    return home_dir() / "promoted.json"


def checkpoint_for(spec: str | Path) -> Path:
    """Resolve ``default``, an imported name, a run directory or a checkpoint (or ONNX) file to
    the model file (``.msgpack``, or ``.onnx`` for an imported model)."""
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
    imported = imported_path(str(spec)) if isinstance(spec, str) else None
    if imported is not None:
        return imported
    path = Path(spec)
    if path.is_dir():
        checkpoint = path / RunDir.CHECKPOINT
        if not checkpoint.is_file():
            raise ModelNotFoundError(f"{path}: no checkpoint in this run directory (yet)")
        return checkpoint
    if path.is_file():
        return path
    raise ModelNotFoundError(
        f"{spec}: no such model (use 'default', a run directory, a checkpoint or an imported "
        "model's name)"
    )


def is_imported(path: Path) -> bool:
    return Path(path).suffix == ".onnx"


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
    """A model trained here (weights in a checkpoint), ready to train on, explain or export."""
    checkpoint = checkpoint_for(spec)
    if is_imported(checkpoint):
        raise ModelNotFoundError(
            f"{spec}: an imported ONNX model; it predicts, is evaluated and compared, but cannot "
            "be trained, fine-tuned, explained or exported here"
        )
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


def load_any(spec: str | Path = "default") -> tuple[DigitModel | ImportedModel, ModelInfo]:
    """Any model that can answer: one trained here, or an imported ONNX model."""
    path = checkpoint_for(spec)
    if not is_imported(path):
        restored, info = load_model(path)
        return restored.model, info
    try:
        model = ImportedModel.open(path)
    except ModelImportError as exc:
        raise ModelNotFoundError(str(exc)) from exc
    meta = describe_imported(path)
    name = meta.get("name") or path.stem
    return model, ModelInfo(name, model.arch, path, meta.get("test_accuracy"), meta)


def _check_loadable(path: Path) -> None:
    try:
        if is_imported(path):
            ImportedModel.open(path)
        else:
            read_checkpoint(path)
    except (CheckpointError, ModelImportError) as exc:
        raise ModelNotFoundError(str(exc)) from exc


def promote(spec: str | Path) -> Path:
    """Make a run's (or an imported) model the active one (``default``) for the CLI and the
    dashboard, and remember it among the registered models."""
    if str(spec) == "default":
        raise ModelNotFoundError("promote takes a run directory or an imported model's name")
    checkpoint = checkpoint_for(str(spec))
    _check_loadable(checkpoint)
    resolved = str(checkpoint.resolve())
    atomic_write_json(active_pointer(), {"checkpoint": resolved})
    if not is_imported(checkpoint):
        history = [p for p in _promoted() if p != resolved] + [resolved]
        atomic_write_json(promoted_pointer(), {"checkpoints": history})
    return checkpoint


def _promoted() -> list[str]:
    """Checkpoints ever promoted, oldest first (the active pointer of older installs too)."""
    found: list[str] = []
    for pointer, key in ((promoted_pointer(), "checkpoints"), (active_pointer(), "checkpoint")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            value = read_json(pointer)[key]
            found += [str(p) for p in (value if isinstance(value, list) else [value])]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class RegisteredModel:
    """A model the Compare panel and ``predict --compare`` ask."""

    name: str
    source: Literal["shipped", "promoted", "imported"]
    path: Path  # what `load_any` and `Predictor.load` take
    active: bool


def registered_models() -> list[RegisteredModel]:
    """The shipped model, every promoted run still on disk, every imported model; in that order,
    the active one marked."""
    active = checkpoint_for("default").resolve()
    found = [RegisteredModel("shipped", "shipped", SHIPPED_CHECKPOINT, False)]
    for text in _promoted():
        path = Path(text)
        if path.is_file() and not is_imported(path):
            found.append(RegisteredModel(path.parent.name, "promoted", path, False))
    for name in imported_names():
        found.append(RegisteredModel(name, "imported", checkpoint_for(name), False))
    return [RegisteredModel(m.name, m.source, m.path, m.path.resolve() == active) for m in found]


def reset_active() -> None:
    """Go back to the shipped model."""
    active_pointer().unlink(missing_ok=True)
