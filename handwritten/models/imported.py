"""Models from elsewhere: an ONNX file checked, probed, adapted, registered by name and run.

``handwritten import-model FILE.onnx --name NAME`` checks that the model takes one float image
tensor, (N, 28, 28, 1) or (N, 1, 28, 28), and returns (N, 10) class scores; runs it once on a
probe (a drawn "1" and a blank image, preprocessed as this project does); records whether it
answers with probabilities or raw logits (then softmax is applied here); and copies it to
``$HANDWRITTEN_HOME/models/NAME/`` with what was found (``model.json``). Anything else is
refused with one line saying what the model takes or returns instead.

onnxruntime is an optional dependency (``pip install -e ".[onnx]"``): it is imported only here,
only when an ONNX model is inspected or run.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from handwritten.storage.files import atomic_write_json, read_json
from handwritten.storage.paths import home_dir

MODEL_FILE = "model.onnx"
INFO_FILE = "model.json"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
RESERVED = ("default", "shipped")
CHUNK = 1024  # images a run when the batch size is free
LAYOUTS = {"nhwc": (28, 28, 1), "nchw": (1, 28, 28)}


class ModelImportError(ValueError):
    """An ONNX model that cannot be used here, or a name that cannot be registered."""


@dataclass(frozen=True)
class OnnxAdapter:
    """How to feed an imported model and read its answer."""

    layout: Literal["nhwc", "nchw"]
    output: Literal["probabilities", "logits"]
    batch: int | None  # the fixed batch size the graph insists on, else None (any)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> OnnxAdapter:
        return cls(value["layout"], value["output"], value.get("batch"))


def imported_root() -> Path:
    return home_dir() / "models"


def imported_path(name: str) -> Path | None:
    """The registered model file of `name`, or None when no model has that name."""
    if not NAME_PATTERN.fullmatch(name):
        return None
    path = imported_root() / name / MODEL_FILE
    return path if path.is_file() else None


def imported_names() -> list[str]:
    root = imported_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / MODEL_FILE).is_file())


def _session(path: Path) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ModelImportError(
            'onnxruntime is not installed: pip install -e ".[onnx]" to use ONNX models'
        ) from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: a warning is not the user's business
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own unrelated types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelImportError(f"{path}: not a model onnxruntime can load ({first})") from exc


def _adapters_for(shape: list[Any], path: Path) -> list[OnnxAdapter]:
    """The input layouts a declared shape fits (a symbolic size fits anything), with its batch."""
    shown = "(" + ", ".join(str(d) if isinstance(d, int) else "N" for d in shape) + ")"
    fits = []
    if len(shape) == 4:
        batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        for layout, sizes in LAYOUTS.items():
            if all(not isinstance(d, int) or d == s for d, s in zip(shape[1:], sizes, strict=True)):
                fits.append(OnnxAdapter(layout, "probabilities", batch))  # type: ignore[arg-type]
    if not fits:
        raise ModelImportError(
            f"{path}: takes input {shown}; an imported model must take (N, 28, 28, 1) or "
            "(N, 1, 28, 28) float images"
        )
    return fits


def _probe(session: Any, candidates: list[OnnxAdapter], path: Path) -> tuple[OnnxAdapter, Any]:
    """The first layout the model runs the probe in, and its raw scores."""
    for adapter in candidates:
        try:
            return adapter, _run(session, adapter, probe_images())
        except Exception as exc:  # onnxruntime's own error types
            failure = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    raise ModelImportError(f"{path}: failed on a probe image ({failure})")


def probe_images() -> np.ndarray:
    """(2, 28, 28) float32: a "1" as preprocessing centres it, and a blank image."""
    images = np.zeros((2, 28, 28), np.float32)
    images[0, 4:24, 13:16] = 1.0
    return images


def _run(session: Any, adapter: OnnxAdapter, images_n28: np.ndarray) -> np.ndarray:
    """Raw outputs (N, ...) in chunks the graph accepts; the last chunk is padded."""
    size = adapter.batch or CHUNK
    name = session.get_inputs()[0].name
    outputs = []
    for start in range(0, len(images_n28), size):
        chunk = images_n28[start : start + size]
        count = len(chunk)
        if adapter.batch and count < size:
            chunk = np.concatenate([chunk, np.zeros((size - count, 28, 28), np.float32)])
        x = chunk[:, :, :, None] if adapter.layout == "nhwc" else chunk[:, None]
        outputs.append(np.asarray(session.run(None, {name: x.astype(np.float32)})[0])[:count])
    return np.concatenate(outputs) if outputs else np.zeros((0, 10), np.float32)


def _softmax(logits_nk: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits_nk - logits_nk.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def inspect_onnx(path: Path) -> OnnxAdapter:
    """Check an ONNX model's signature, run it on the probe, and say how to adapt it.

    Raises ModelImportError (one line) for anything that is not a 28×28 ten-class classifier.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelImportError(f"{path}: no such file")
    session = _session(path)
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelImportError(f"{path}: takes {len(inputs)} inputs; an imported model takes one")
    if inputs[0].type != "tensor(float)":
        raise ModelImportError(f"{path}: takes {inputs[0].type}; it must take float32 images")
    adapter, scores = _probe(session, _adapters_for(list(inputs[0].shape), path), path)
    if scores.shape not in ((2, 10), (2, 11)):
        raise ModelImportError(
            f"{path}: returns shape {scores.shape[1:]} an image; expected 10 class scores "
            "(or 11, the last for 'not a digit')"
        )
    if not np.isfinite(scores).all():
        raise ModelImportError(f"{path}: returns NaN or infinite scores for a probe image")
    is_probability = (scores >= -1e-6).all() and np.allclose(scores.sum(axis=1), 1, atol=1e-3)
    return OnnxAdapter(
        adapter.layout, "probabilities" if is_probability else "logits", adapter.batch
    )


class ImportedModel:
    """An ONNX model registered here: answers probabilities (N, 10) for preprocessed images, or
    (N, 11) for one that can say "not a digit" (the last), as ours export.

    Not a Flax module: it predicts, is evaluated and compared, but cannot be trained, fine-tuned
    or opened layer by layer (the Explain page says so instead).
    """

    arch = "onnx"
    layer_spec = ""

    def __init__(self, path: Path, adapter: OnnxAdapter | None = None):
        self.path = Path(path)
        self.adapter = adapter or inspect_onnx(self.path)
        self._session = _session(self.path)

    @classmethod
    def open(cls, path: Path) -> ImportedModel:
        """A registered model (its adapter read from ``model.json``) or any ONNX file."""
        info = Path(path).parent / INFO_FILE
        if Path(path).name == MODEL_FILE and info.is_file():
            return cls(path, OnnxAdapter.from_json(read_json(info)["adapter"]))
        return cls(path)

    def probabilities(self, images_n28: np.ndarray) -> np.ndarray:
        """(N, 10 or 11) float32 probabilities for (N, 28, 28) images in [0, 1] (or uint8)."""
        images = np.asarray(images_n28)
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / 255.0
        scores = _run(self._session, self.adapter, images.astype(np.float32))
        if self.adapter.output == "logits":
            scores = _softmax(scores)
        return scores.astype(np.float32)


def describe_imported(path: Path) -> dict[str, Any]:
    """What ``model.json`` recorded at import (empty for an unregistered file)."""
    info = Path(path).parent / INFO_FILE
    return dict(read_json(info)) if info.is_file() else {}


def register_onnx(source: Path, name: str, *, replace: bool = False) -> tuple[Path, OnnxAdapter]:
    """Check, probe and copy `source` in as `name`; returns the registered file and adapter."""
    if not NAME_PATTERN.fullmatch(name) or name.lower() in RESERVED:
        raise ModelImportError(
            f"{name!r}: a name is 1-40 letters, digits, '-' or '_' (not {' or '.join(RESERVED)})"
        )
    if imported_path(name) is not None and not replace:
        raise ModelImportError(f"{name!r} is already registered; pass --replace to replace it")
    adapter = inspect_onnx(source)
    probe = ImportedModel(Path(source), adapter).probabilities(probe_images()[:1])[0]
    folder = imported_root() / name
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".{MODEL_FILE}.tmp"
    shutil.copyfile(source, staged)
    staged.replace(folder / MODEL_FILE)
    atomic_write_json(folder / INFO_FILE, {
        "name": name, "source": str(Path(source).resolve()), "adapter": asdict(adapter),
        "imported_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "probe": {"label": int(probe.argmax()), "confidence": float(probe.max())},
    })  # fmt: skip
    return folder / MODEL_FILE, adapter
