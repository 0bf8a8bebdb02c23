"""Which model is active, and loading a model by name: ``default``, an imported model's name,
a run directory or a file.

``default`` is the model promoted with ``handwritten promote`` (recorded in
``$HANDWRITTEN_HOME/active_model.json``), or the model shipped in the package when nothing was
promoted. Every model that becomes active has been loaded and run once on a probe image; when
the promoted model is gone or cannot be used any more, ``default`` is the shipped model and
`active_model` says why, so the CLI and the dashboard warn instead of failing. Every promotion
of a run is also remembered (``promoted.json``), so the registered models — the shipped one,
every promoted run still on disk and every imported ONNX model — can be compared on one
drawing (`registered_models`).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.special import softmax

from handwritten.models.architectures import DigitModel
from handwritten.models.checkpoint import CheckpointError, Restored, load_checkpoint
from handwritten.models.imported import (
    ImportedModel,
    ModelImportError,
    describe_imported,
    imported_names,
    imported_path,
)
from handwritten.models.inference import infer_model
from handwritten.runtime.device import enable_compile_cache
from handwritten.storage.files import FileVersion, atomic_write_json, read_json
from handwritten.storage.paths import DEFAULT_MODEL_DIR, home_dir
from handwritten.storage.runs import PROMOTABLE_STATES, RunDir, RunError

SHIPPED_CHECKPOINT = DEFAULT_MODEL_DIR / "checkpoint.msgpack"


class ModelNotFoundError(ValueError):
    """The named model does not exist or cannot be loaded."""


def active_pointer() -> Path:
    return home_dir() / "active_model.json"


def promotion_history() -> Path:
    return home_dir() / "promoted.json"


def is_imported(path: Path) -> bool:
    """Whether a model file is an imported ONNX model (else a checkpoint trained here)."""
    return Path(path).suffix == ".onnx"


def _probe_images() -> np.ndarray:
    """A blank frame and a plain "1" (N, 28, 28) in [0, 1]: what any model must answer."""
    images = np.zeros((2, 28, 28), np.float32)
    images[1, 4:24, 13:16] = 1.0
    return images


def verify(restored: Restored | ImportedModel, checkpoint: Path) -> None:
    """Run the model once on the probe images; raise `ModelNotFoundError` unless it answers
    finite probabilities for ten digits, or ten and "not a digit" (finite weights can still
    overflow). The probe asks for logits, as a predictor's warm-up does, so the two share one
    compiled program (from the persistent compilation cache, enabled first: a cold dashboard
    would otherwise compile it afresh)."""
    enable_compile_cache()
    try:
        if isinstance(restored, ImportedModel):
            probabilities = restored.probabilities(_probe_images())
        else:
            logits = infer_model(restored.model, _probe_images(), output="logits")
            with np.errstate(over="ignore", invalid="ignore"):
                probabilities = softmax(logits.astype(np.float64), axis=1)
    except Exception as exc:  # a model that cannot run at all, whatever the reason
        raise ModelNotFoundError(f"{checkpoint}: the model does not run ({exc})") from exc
    if probabilities.shape not in ((2, 10), (2, 11)) or not np.isfinite(probabilities).all():
        raise ModelNotFoundError(f"{checkpoint}: the model answers NaN or infinity")


def load_verified(checkpoint: Path) -> Restored:
    """Load a checkpoint and run it once on the probe images; errors name the file."""
    if is_imported(checkpoint):
        raise ModelNotFoundError(
            f"{checkpoint}: an imported ONNX model; it predicts, is evaluated and compared, but "
            "cannot be trained, fine-tuned, explained or exported here"
        )
    try:
        restored = load_checkpoint(checkpoint)
    except CheckpointError as exc:
        raise ModelNotFoundError(str(exc)) from exc
    verify(restored, checkpoint)
    return restored


def load_verified_imported(path: Path) -> ImportedModel:
    """Open an imported ONNX model and run it once on the probe images; errors name the file."""
    try:
        model = ImportedModel.open(path)
    except ModelImportError as exc:
        raise ModelNotFoundError(str(exc)) from exc
    verify(model, path)
    return model


def _load_verified_any(path: Path) -> Restored | ImportedModel:
    return load_verified_imported(path) if is_imported(path) else load_verified(path)


# The verdict on each promoted checkpoint version this process has tried: "" when usable.
_verdicts: dict[str, str] = {}


@dataclass(frozen=True)
class ActiveModel:
    """The checkpoint ``default`` means now, and why it is not the promoted one (if so)."""

    checkpoint: Path
    warning: str = ""


def _promoted() -> tuple[Path | None, str]:
    """The promoted checkpoint (None when there is none or it is gone), and a warning."""
    pointer = active_pointer()
    if not pointer.is_file():
        return None, ""
    try:
        path = Path(read_json(pointer)["checkpoint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, f"{pointer} is unreadable; using the shipped model"
    if not path.is_file():
        return None, f"the promoted model {path} is gone; using the shipped model"
    return path, ""


def promoted_checkpoint() -> Path | None:
    """The checkpoint `promote` recorded, usable or not (None when none is, or it is gone)."""
    return _promoted()[0]


def active_model() -> ActiveModel:
    """The promoted model if it loads and answers, else the shipped one with a warning.

    A promoted checkpoint is verified once per version (path, mtime, size) per process.
    """
    path, warning = _promoted()
    if path is None:
        return ActiveModel(SHIPPED_CHECKPOINT, warning)
    try:
        key = FileVersion.of(path).key
    except OSError:
        return ActiveModel(SHIPPED_CHECKPOINT, f"the promoted model {path} is gone")
    if key not in _verdicts:
        try:
            _load_verified_any(path)
            _verdicts[key] = ""
        except ModelNotFoundError as exc:
            _verdicts[key] = str(exc)
    if _verdicts[key]:
        reason = _verdicts[key]
        return ActiveModel(SHIPPED_CHECKPOINT, f"the promoted model cannot be used ({reason}); "
                                               "using the shipped model")  # fmt: skip
    return ActiveModel(path)


def checkpoint_for(spec: str | Path) -> Path:
    """Resolve ``default``, an imported name, a run directory or a checkpoint (or ONNX) file to
    the model file (``.msgpack``, or ``.onnx`` for an imported model)."""
    if str(spec) == "default":
        return active_model().checkpoint
    imported = imported_path(spec) if isinstance(spec, str) else None
    if imported is not None:
        return imported
    path = Path(spec)
    if path.is_dir():
        checkpoint = path / RunDir.CHECKPOINT
        if not checkpoint.is_file():
            raise ModelNotFoundError(f"{path}: no checkpoint in this run directory (yet)")
        return checkpoint
    if path.exists():  # a file; anything else (a FIFO, a device) is refused on reading it
        return path
    raise ModelNotFoundError(
        f"{spec}: no such model (use 'default', a run directory, a checkpoint or an imported "
        "model's name)"
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
    warning: str = ""  # why `default` is not the promoted model, for a banner or stderr


def _fraction(value: Any) -> float | None:
    """A recorded accuracy if it is one (a number in [0, 1]); a crafted file may hold anything."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if number and math.isfinite(value) and 0.0 <= value <= 1.0 else None


def _describe(checkpoint: Path, meta: dict[str, Any], arch: str) -> ModelInfo:
    name = meta.get("name") if isinstance(meta.get("name"), str) else None
    name = name or checkpoint.parent.name
    if checkpoint == SHIPPED_CHECKPOINT:
        name = "default (shipped)"
    return ModelInfo(name, arch, checkpoint, _fraction(meta.get("test_accuracy")), meta)


def load_model(spec: str | Path = "default") -> tuple[Restored, ModelInfo]:
    """Load and verify a model trained here (weights in a checkpoint: it can be trained on,
    explained, exported); ``default`` falls back to the shipped model (with a warning in
    `ModelInfo.warning`) when the promoted one cannot be used."""
    active = active_model() if str(spec) == "default" else None
    checkpoint = active.checkpoint if active else checkpoint_for(spec)
    restored = load_verified(checkpoint)
    meta = dict(restored.meta)
    if "test_accuracy" not in meta:
        summary_path = checkpoint.parent / RunDir.SUMMARY
        if summary_path.is_file():
            with contextlib.suppress(OSError, ValueError, AttributeError):
                meta["test_accuracy"] = read_json(summary_path).get("test_accuracy")
    info = _describe(checkpoint, meta, restored.arch)
    info.warning = active.warning if active else ""
    return restored, info


def load_any(spec: str | Path = "default") -> tuple[DigitModel | ImportedModel, ModelInfo]:
    """Any model that can answer: one trained here (`load_model`), or an imported ONNX one."""
    active = active_model() if str(spec) == "default" else None
    path = active.checkpoint if active else checkpoint_for(spec)
    if not is_imported(path):
        restored, info = load_model(spec if active else path)
        return restored.model, info
    model = load_verified_imported(path)
    meta = describe_imported(path)
    name = meta["name"] if isinstance(meta.get("name"), str) else path.parent.name
    info = ModelInfo(name, model.arch, path, _fraction(meta.get("test_accuracy")), meta)
    info.warning = active.warning if active else ""
    return model, info


def _check_promotable(checkpoint: Path) -> None:
    """Refuse a run that is still training (or was interrupted, or failed): its checkpoint is
    not the model it will end with. A checkpoint outside a run directory is fine."""
    run = RunDir(checkpoint.parent)
    if not (run.path / RunDir.STATUS).is_file():
        return
    try:
        state = str(run.status().get("state"))
    except RunError as exc:
        raise ModelNotFoundError(str(exc)) from exc
    if state == "running":
        raise ModelNotFoundError(f"{run.path}: the run is still running (or was interrupted); "
                                 "promote it once it has finished or stopped")  # fmt: skip
    if state not in PROMOTABLE_STATES:
        raise ModelNotFoundError(f"{run.path}: the run {state}; only finished or stopped runs "
                                 "can be promoted")  # fmt: skip


def promote(spec: str | Path) -> Path:
    """Make a run's (or an imported) model the active one (``default``) for the CLI and the
    dashboard, and remember a run among the registered models.

    The model is loaded and run on the probe images first: a model that would break every
    page never becomes active.
    """
    if str(spec) == "default":
        raise ModelNotFoundError("promote takes a run directory or an imported model's name")
    checkpoint = checkpoint_for(str(spec))
    if not is_imported(checkpoint):
        _check_promotable(checkpoint)
    _load_verified_any(checkpoint)
    resolved = str(checkpoint.resolve())
    atomic_write_json(active_pointer(), {"checkpoint": resolved})
    if not is_imported(checkpoint):
        history = [p for p in _promoted_runs() if p != resolved] + [resolved]
        atomic_write_json(promotion_history(), {"checkpoints": history})
    return checkpoint


def _promoted_runs() -> list[str]:
    """Checkpoints ever promoted, oldest first (the active pointer of older installs too)."""
    found: list[str] = []
    for pointer, key in ((promotion_history(), "checkpoints"), (active_pointer(), "checkpoint")):
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
    for text in _promoted_runs():
        path = Path(text)
        if path.is_file() and not is_imported(path):
            found.append(RegisteredModel(path.parent.name, "promoted", path, False))
    for name in imported_names():
        found.append(RegisteredModel(name, "imported", checkpoint_for(name), False))
    return [RegisteredModel(m.name, m.source, m.path, m.path.resolve() == active) for m in found]


def reset_active() -> None:
    """Go back to the shipped model."""
    active_pointer().unlink(missing_ok=True)
