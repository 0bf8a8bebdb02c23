"""Prediction for people: any image in, digits (or an honest "no digit" / "not a digit" /
"unsure") out.

`Predictor` holds one model read-only and answers through `handwritten.models.inference`, whose
jitted forward pass (the weights built in as constants) pads inputs to a few fixed batch
sizes, so after warm-up nothing recompiles;
or, for an imported ONNX model, through onnxruntime (`handwritten.models.imported`).
Probabilities are calibrated: the "not a digit" logit is lowered by a margin and the logits are
divided by a temperature, both fitted on held-out data (kept in the checkpoint's metadata);
"unsure" means a calibrated confidence below the threshold chosen on held-out data. Several
digits are found by recognition (`handwritten.recognition.segmentation`). A model with an 11th
output reads "not a digit" too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from flax import nnx
from PIL import Image
from scipy.special import log_softmax

from handwritten.data.preprocess import PreprocessResult, preprocess
from handwritten.models.architectures import DigitModel, split_model
from handwritten.models.imported import ImportedModel
from handwritten.models.inference import (
    SERVING_BUCKETS,
    class_scores,
    frozen_logits,
    in_buckets,
    output_classes,
)
from handwritten.models.store import ModelInfo, ModelNotFoundError, load_any
from handwritten.recognition.prior import Prior
from handwritten.recognition.segmentation import NOT_A_DIGIT, Reading, segment
from handwritten.runtime.device import enable_compile_cache

UNSURE_BELOW = 0.7  # the threshold of a model without a calibration of its own


@dataclass(frozen=True)
class Calibration:
    """How a model's logits become honest probabilities, and where "unsure" starts."""

    temperature: float = 1.0
    unsure_below: float = UNSURE_BELOW
    # Share of held-out drawings' answers at or above the threshold that were wrong, and of
    # held-out non-digits the threshold was set to decline (None: not fitted).
    confident_error: float | None = None
    min_declined: float | None = None
    # Subtracted from the "not a digit" logit before the temperature: a reject class trained on
    # generated negatives also claims some odd but real digits; this margin, fitted on held-out
    # data, makes it answer only when it is clearly ahead (0 for a ten-output model).
    reject_offset: float = 0.0

    @classmethod
    def of(cls, meta: dict[str, Any] | None) -> Calibration:
        values = (meta or {}).get("calibration") or {}
        return cls(
            temperature=float(values.get("temperature", 1.0)),
            unsure_below=float(values.get("unsure_below", UNSURE_BELOW)),
            confident_error=_optional(values.get("confident_error")),
            reject_offset=float(values.get("reject_offset", 0.0)),
            min_declined=_optional(values.get("min_declined")),
        )

    def log_probabilities(self, logits_nk: np.ndarray) -> np.ndarray:
        """Calibrated log-probabilities (N, K), float64, of raw logits (N, K)."""
        return log_softmax(self.shifted(logits_nk) / self.temperature, axis=1)

    def probabilities(self, logits_nk: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (N, K), float64, of raw logits (N, K)."""
        return np.exp(self.log_probabilities(logits_nk))

    def shifted(self, logits_nk: np.ndarray) -> np.ndarray:
        """The logits, float64, with `reject_offset` taken off the "not a digit" column."""
        logits = np.array(logits_nk, np.float64)
        if logits.shape[1] > NOT_A_DIGIT:
            logits[:, NOT_A_DIGIT] -= self.reject_offset
        return logits

    @property
    def margin(self) -> float:
        """`reject_offset` in log-probability units: how much less likely "not a digit" is in
        these probabilities than in the model's own softmax at the same temperature (adding it
        to the class's log-probability and renormalising gives that softmax back)."""
        return self.reject_offset / self.temperature

    def raw_logits(self, probabilities_nk: np.ndarray) -> np.ndarray:
        """The inverse of `probabilities`: raw logits (N, K), up to a constant per row (which
        a softmax ignores), of calibrated probabilities."""
        logits = self.temperature * np.log(np.clip(np.asarray(probabilities_nk), 1e-30, 1.0))
        if logits.shape[1] > NOT_A_DIGIT:
            logits[:, NOT_A_DIGIT] += self.reject_offset
        return logits


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
    left to right ("" for none and for "not a digit"); `confidence` is the least confident
    digit's calibrated probability (for "not a digit": how sure the model is of that);
    `probabilities` are that digit's ten calibrated digit probabilities, which sum to one minus
    the probability that it is not a digit.
    """

    label: int | None
    digits: str
    confidence: float
    probabilities: list[float]
    unsure: bool
    reason: str
    per_digit: list[DigitPrediction] = field(default_factory=list)
    preprocessed: PreprocessResult | None = None
    not_a_digit: bool = False
    # Digits read anyway beside a part read as "not a digit": how sure the model was of that
    # part (the answer is then unsure however sure its digits are).
    read_anyway: float | None = None
    threshold: float = UNSURE_BELOW  # the calibrated confidence below which it is "unsure"
    classes: int = 10  # the model's outputs: 11 when it can say "not a digit"

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

    def __init__(
        self,
        model: DigitModel | ImportedModel,
        info: ModelInfo | None = None,
        prior: Prior | None = None,
    ):
        enable_compile_cache()
        self.info = info
        self.arch = model.arch
        self.imported = model if isinstance(model, ImportedModel) else None
        if isinstance(model, ImportedModel):
            self.classes = int(self.logits(np.zeros((1, 28, 28), np.float32)).shape[1])
        else:
            self.graphdef, self.params, self.batch_stats = split_model(model)
            self.classes = output_classes(self.graphdef, self.params, self.batch_stats)
            # Weights built into the compiled forward pass: half the latency (see there).
            self._forward = frozen_logits(self.graphdef, self.params, self.batch_stats)
        self.calibration = Calibration.of(info.meta if info else None)
        self.prior = prior or Prior.of(info.meta if info else None)

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

    def logits(self, images_n28: np.ndarray) -> np.ndarray:
        """Raw logits (N, K) for preprocessed images (N, 28, 28) in [0, 1] (for an import, the
        log of its probabilities: logits up to a constant per row, which a softmax ignores)."""
        images = np.asarray(images_n28, np.float32)
        if self.imported is not None:
            return class_scores(self.imported, images)
        # Arrays go to the compiled function as they are: jax.numpy's conversion first cost a
        # tenth of a single digit's time.
        logits = in_buckets(self._forward, images, put=np.asarray, buckets=SERVING_BUCKETS)
        return logits if logits is not None else np.zeros((0, self.classes), np.float32)

    def log_probabilities(self, images_n28: np.ndarray) -> np.ndarray:
        """Calibrated log-probabilities (N, K) over every class the model has."""
        return self.calibration.log_probabilities(self.logits(images_n28))

    def probabilities(self, images_n28: np.ndarray) -> np.ndarray:
        """Calibrated digit probabilities (N, 10); a row sums to 1 - P(not a digit)."""
        return np.exp(self.log_probabilities(images_n28))[:, :10]

    def warm_up(self) -> None:
        """Compile every batch size one drawing can need, before the first user waits."""
        for size in SERVING_BUCKETS:
            self.logits(np.zeros((size, 28, 28), np.float32))

    def predict(
        self, image: np.ndarray | bytes | Path | Image.Image, *, multi: bool = True
    ) -> Prediction:
        """Preprocess any image and read its digits: which pieces of ink form which digit is
        decided by recognition (unless `multi` is False: then all ink is one digit)."""
        return self.answer(preprocess(image, multi=multi))

    def answer(self, prepared: PreprocessResult) -> Prediction:
        """Read the digits of an already preprocessed image (one preprocessing, many models);
        a multi-digit preprocessing keeps its ink pieces for recognition to group."""
        if prepared.is_blank:
            return Prediction(
                label=None, digits="", confidence=0.0, probabilities=[0.0] * 10, unsure=False,
                reason=f"no digit: {prepared.reason}", preprocessed=prepared,
                threshold=self.calibration.unsure_below, classes=self.classes,
            )  # fmt: skip
        reading = self._read(prepared) if prepared.pieces is not None else None
        read_anyway = None
        if reading is not None:
            reading, read_anyway = self._digits_anyway(reading)
            # A copy: the same preprocessing may be read by other models (`compare`).
            prepared = dataclasses.replace(prepared, digits=reading.crops, groups=reading.groups)
            log_p, labels = reading.log_probabilities, reading.labels
        else:
            log_p = self.log_probabilities(prepared.images_n28)
            labels = [int(row.argmax()) for row in log_p]
        return self._prediction_of(prepared, np.exp(log_p), labels, read_anyway)

    def _digits_anyway(self, reading: Reading) -> tuple[Reading, float | None]:
        """The reading to answer with, and how sure the model was of "not a digit" when the
        answer is digits read anyway. A drawing whose digits all read surely beside a part
        read as "not a digit" is most often digits that touch (the model learned touching
        digits as not one digit): it is read as digits, unsure, rather than declined whole.
        Measured on the held-out sets (shipped model): strings read exactly 411 -> 419 of
        500, and 3 of 1,000 non-digits get an unsure digit reading instead of "not a digit"."""
        other = reading.digits_only
        if other is None:
            return reading, None
        probs = np.exp(reading.log_probabilities)
        sure = [probs[i, label] for i, label in enumerate(reading.labels) if label != NOT_A_DIGIT]
        if min(sure) < self.calibration.unsure_below:
            return reading, None
        rejected = [probs[i, NOT_A_DIGIT] for i, label in enumerate(reading.labels)
                    if label == NOT_A_DIGIT]  # fmt: skip
        return other, float(max(rejected))

    def _read(self, prepared: PreprocessResult) -> Reading | None:
        assert prepared.pieces is not None
        known = {
            tuple(sorted(group)): crop
            for group, crop in zip(prepared.groups, prepared.digits, strict=True)
        }
        return segment(
            prepared.ink, prepared.pieces, self.log_probabilities, self.prior, known,
            margin=self.calibration.margin,
        )  # fmt: skip

    def _prediction_of(
        self,
        prepared: PreprocessResult,
        probs_nk: np.ndarray,
        labels: list[int],
        read_anyway: float | None = None,
    ) -> Prediction:
        threshold = self.calibration.unsure_below
        per_digit = [
            DigitPrediction(label, float(p[label]), [float(v) for v in p[:10]], crop.box)
            for p, label, crop in zip(probs_nk, labels, prepared.digits, strict=True)
        ]
        rejected = [d for d in per_digit if d.label == NOT_A_DIGIT]
        if rejected:
            surest = max(rejected, key=lambda d: d.confidence)
            what = "this" if len(per_digit) == 1 else "part of this drawing"
            return Prediction(
                label=None, digits="", confidence=surest.confidence,
                probabilities=surest.probabilities, unsure=surest.confidence < threshold,
                reason=f"not a digit: {what} does not look like any digit to the model "
                f"({surest.confidence:.0%} sure)",
                per_digit=per_digit, preprocessed=prepared, not_a_digit=True, threshold=threshold,
                classes=self.classes,
            )  # fmt: skip
        weakest = min(per_digit, key=lambda d: d.confidence)
        unsure = weakest.confidence < threshold or read_anyway is not None
        return Prediction(
            label=per_digit[0].label if len(per_digit) == 1 else None,
            digits="".join(str(d.label) for d in per_digit),
            confidence=weakest.confidence,
            probabilities=weakest.probabilities,
            unsure=unsure,
            reason=_unsure_reason(weakest.confidence, threshold, read_anyway) if unsure else "",
            read_anyway=read_anyway,
            per_digit=per_digit,
            preprocessed=prepared,
            threshold=threshold,
            classes=self.classes,
        )


def _unsure_reason(confidence: float, threshold: float, read_anyway: float | None) -> str:
    if read_anyway is not None:
        return (f"unsure: read as digits, though part of this drawing looks like no digit to "
                f"the model ({read_anyway:.0%} sure): digits that touch, perhaps")  # fmt: skip
    return (f"unsure: {_below(confidence, threshold)} threshold; it may not be a digit, or is "
            "drawn in a way MNIST rarely shows")  # fmt: skip


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def _below(confidence: float, threshold: float) -> str:
    """Say "93% is below the 99%", with as many decimals as it takes to tell the two apart."""
    for decimals in range(4):
        said, cut = f"{confidence:.{decimals}%}", f"{threshold:.{decimals}%}"
        if said != cut:
            break
    return f"{said} is below the {cut}"
