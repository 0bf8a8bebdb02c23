"""Prediction for people: any image in, digits (or an honest "no digit" / "unsure") out.

`Predictor` holds one model read-only and answers through `handwritten.models.inference`, whose
jitted forward pass pads inputs to a few fixed batch sizes, so after warm-up nothing recompiles;
or, for an imported ONNX model, through onnxruntime (`handwritten.models.imported`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from flax import nnx
from PIL import Image

from handwritten.data.preprocess import PreprocessResult, preprocess
from handwritten.models.architectures import DigitModel, split_model
from handwritten.models.imported import ImportedModel
from handwritten.models.inference import SERVING_BUCKETS, infer
from handwritten.models.store import ModelInfo, ModelNotFoundError, load_any
from handwritten.runtime.device import enable_compile_cache

UNSURE_BELOW = 0.7  # a top probability below this is reported as "unsure"


@dataclass
class DigitPrediction:
    label: int
    confidence: float
    probabilities: list[float]
    box: tuple[int, int, int, int]  # in the preprocessed ink image's pixels


@dataclass
class Prediction:
    """The answer for one image.

    `label` is the digit when exactly one was found, else None; `digits` is the string read
    left to right ("" for none); `confidence` is the least confident digit's probability.
    """

    label: int | None
    digits: str
    confidence: float
    probabilities: list[float]
    unsure: bool
    reason: str
    per_digit: list[DigitPrediction] = field(default_factory=list)
    preprocessed: PreprocessResult | None = None

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "label": self.label,
            "confidence": self.confidence,
            "probabilities": self.probabilities,
            "unsure": self.unsure,
        }
        if len(self.per_digit) > 1:
            value["digits"] = self.digits
            value["per_digit"] = [
                {"label": d.label, "confidence": d.confidence, "probabilities": d.probabilities}
                for d in self.per_digit
            ]
        if self.reason:
            value["reason"] = self.reason
        return value


class Predictor:
    """A read-only model ready to answer: safe to share between threads and sessions."""

    def __init__(self, model: DigitModel | ImportedModel, info: ModelInfo | None = None):
        enable_compile_cache()
        self.info = info
        self.arch = model.arch
        self.imported = model if isinstance(model, ImportedModel) else None
        if not isinstance(model, ImportedModel):
            self.graphdef, self.params, self.batch_stats = split_model(model)

    @classmethod
    def load(cls, spec: str | Path = "default") -> Predictor:
        model, info = load_any(spec)
        return cls(model, info)

    @property
    def explainable(self) -> bool:
        """Whether the model can be opened layer by layer (one trained here, not an import)."""
        return self.imported is None

    @property
    def model(self) -> DigitModel:
        """A fresh module view of the weights (for the Explain page); never mutate it."""
        if self.imported is not None:
            name = self.info.name if self.info else str(self.imported.path)
            raise ModelNotFoundError(
                f"{name} is an imported ONNX model: it answers, but has no layers to open here"
            )
        return nnx.merge(self.graphdef, self.params, self.batch_stats)

    def probabilities(self, images_n28: np.ndarray) -> np.ndarray:
        """Softmax probabilities (N, 10) for preprocessed images (N, 28, 28) in [0, 1]."""
        images = np.asarray(images_n28, np.float32)
        if self.imported is not None:
            return self.imported.probabilities(images)
        return infer(
            self.graphdef, self.params, self.batch_stats, images, output="probabilities",
            buckets=SERVING_BUCKETS,
        )  # fmt: skip

    def warm_up(self) -> None:
        """Compile every batch size one drawing can need, before the first user waits."""
        for size in SERVING_BUCKETS:
            self.probabilities(np.zeros((size, 28, 28), np.float32))

    def predict(
        self, image: np.ndarray | bytes | Path | Image.Image, *, multi: bool = True
    ) -> Prediction:
        """Preprocess any image and read its digits."""
        return self.answer(preprocess(image, multi=multi))

    def answer(self, prepared: PreprocessResult) -> Prediction:
        """Read the digits of an already preprocessed image (one preprocessing, many models)."""
        if prepared.is_blank:
            return Prediction(
                label=None, digits="", confidence=0.0, probabilities=[0.0] * 10, unsure=False,
                reason=f"no digit: {prepared.reason}", preprocessed=prepared,
            )  # fmt: skip
        probs = self.probabilities(prepared.images_n28)
        per_digit = [
            DigitPrediction(int(p.argmax()), float(p.max()), [float(v) for v in p], crop.box)
            for p, crop in zip(probs, prepared.digits, strict=True)
        ]
        weakest = min(per_digit, key=lambda d: d.confidence)
        unsure = weakest.confidence < UNSURE_BELOW
        return Prediction(
            label=per_digit[0].label if len(per_digit) == 1 else None,
            digits="".join(str(d.label) for d in per_digit),
            confidence=weakest.confidence,
            probabilities=weakest.probabilities,
            unsure=unsure,
            reason="low confidence: this may not be a digit" if unsure else "",
            per_digit=per_digit,
            preprocessed=prepared,
        )
