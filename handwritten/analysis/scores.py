"""A model on a test split, for the Data page: its probabilities (cached on disk), their
evaluation, and the images behind any confusion-matrix cell.

Scoring the test set is the only heavy step; `cached_probabilities` keeps its result on disk under
``$HANDWRITTEN_HOME/cache/`` keyed by the checkpoint version and the data, so a dashboard restart
or a second process reads it back instead of running the model again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import softmax

from handwritten.analysis.dataset import PER_PAGE
from handwritten.data.mnist import Split
from handwritten.evaluation.calibration import (
    Reliability,
    expected_calibration_error,
    reliability,
    top_confidence,
)
from handwritten.evaluation.metrics import N_CLASSES, Evaluation, confusion_matrix, evaluate
from handwritten.models.inference import class_scores
from handwritten.models.store import load_any
from handwritten.recognition.predictor import Calibration
from handwritten.storage.files import FileVersion, atomic_write_bytes
from handwritten.storage.paths import derived_cache_file


@dataclass(frozen=True)
class ModelScores:
    """A model's answers on a split: calibrated probabilities float32 (N, K), K = 10 digits or
    11 with "not a digit" last, and their evaluation (a digit read as "not a digit" is wrong)."""

    probabilities_nk: np.ndarray
    labels_n: np.ndarray
    evaluation: Evaluation

    @property
    def predictions_n(self) -> np.ndarray:
        return self.probabilities_nk.argmax(axis=1)

    @property
    def confusion(self) -> np.ndarray:
        """(10, K) counts, rows the true digit, columns the answer: for a model that can say
        "not a digit", its last column counts the digits it declined (which the digit-only
        matrix of `evaluation` leaves out), so the cost of the reject class shows."""
        return confusion_matrix(
            self.labels_n, self.predictions_n, columns=self.probabilities_nk.shape[1]
        )


def _cache_path(version: FileVersion, split: Split) -> Path:
    """One file per checkpoint version and data set."""
    data = (split.images_nhw.tobytes(), split.labels_n.tobytes())
    return derived_cache_file("test-probabilities", version, data, ".npy")


def _read_cached(path: Path, n: int) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        stored = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        stored = None
    shape_ok = stored is not None and stored.ndim == 2 and stored.shape[0] == n
    if (
        not shape_ok
        or stored.shape[1] not in (N_CLASSES, N_CLASSES + 1)
        or not np.isfinite(stored).all()
    ):
        path.unlink(missing_ok=True)  # a damaged cache is recomputed, never trusted
        return None
    return stored.astype(np.float32, copy=False)


def cached_probabilities(checkpoint: Path | FileVersion, split: Split) -> np.ndarray:
    """Calibrated softmax probabilities float32 (N, K) of the model in `checkpoint` on `split`
    (its logits calibrated as fitted on held-out data, kept in its metadata).

    Computed once per checkpoint version (given, or read from the file now) and data set, then
    read from the disk cache. Raises `handwritten.models.store.ModelNotFoundError` for a
    checkpoint that cannot be loaded.
    """
    version = checkpoint if isinstance(checkpoint, FileVersion) else FileVersion.of(checkpoint)
    path = _cache_path(version, split)
    cached = _read_cached(path, len(split))
    if cached is not None:
        return cached
    model, info = load_any(Path(version.path))
    logits_nk = class_scores(model, split.images_nhw)
    probabilities_nk = Calibration.of(info.meta).probabilities(logits_nk).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, probabilities_nk, allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())
    return probabilities_nk


def score(checkpoint: Path | FileVersion, split: Split) -> ModelScores:
    """The model's probabilities on `split` and their evaluation (accuracy, confusion, ...)."""
    probabilities_nk = cached_probabilities(checkpoint, split)
    return ModelScores(probabilities_nk, split.labels_n, evaluate(split.labels_n, probabilities_nk))


# ---------------------------------------------------------------------------------------------
# Confusion cells


@dataclass(frozen=True)
class CellExample:
    """One test image in a confusion cell, with the model's `top` (answer, probability) guesses
    (an answer is a digit, or 10 for "not a digit")."""

    index: int
    label: int
    top: list[tuple[int, float]]


def top_k(probabilities_nk: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The k most probable answers (N, k) and their probabilities (N, k), best first: digits,
    and for a model that can decline its "not a digit" column (10), so a declined image is
    captioned with what the model said about it."""
    probabilities_nk = np.asarray(probabilities_nk)
    answers_nk = np.argsort(-probabilities_nk, axis=1, kind="stable")[:, :k]
    return answers_nk, np.take_along_axis(probabilities_nk, answers_nk, axis=1)


def cell_indices(
    labels_n: np.ndarray, probabilities_nk: np.ndarray, true: int, predicted: int
) -> np.ndarray:
    """Indices of the images of `true` read as `predicted`, in the order worth looking at.

    Mistakes come most confident first (the model was sure and wrong); a diagonal cell's correct
    answers come least confident first (the near misses).
    """
    probabilities_nk = np.asarray(probabilities_nk)
    predictions = probabilities_nk.argmax(axis=1)
    indices = np.flatnonzero((np.asarray(labels_n) == true) & (predictions == predicted))
    confidence = probabilities_nk[indices, predicted]
    order = np.argsort(confidence if true == predicted else -confidence, kind="stable")
    return indices[order]


def cell_examples(
    labels_n: np.ndarray,
    probabilities_nk: np.ndarray,
    true: int,
    predicted: int,
    *,
    limit: int = PER_PAGE,
    k: int = 3,
) -> list[CellExample]:
    """The first `limit` images of a confusion cell (see `cell_indices`) with their top-k."""
    indices = cell_indices(labels_n, probabilities_nk, true, predicted)[:limit]
    answers_nk, probs_nk = top_k(np.asarray(probabilities_nk)[indices], k)
    return [
        CellExample(
            int(i), int(labels_n[i]), [(int(a), float(p)) for a, p in zip(ans, ps, strict=True)]
        )
        for i, ans, ps in zip(indices, answers_nk, probs_nk, strict=True)
    ]


def worst_confusion(confusion_kk: np.ndarray) -> tuple[int, int]:
    """The (true, predicted) pair the model mixes up most often; (0, 0) when it never errs."""
    off_diagonal = np.asarray(confusion_kk).copy()
    np.fill_diagonal(off_diagonal, 0)
    if off_diagonal.max(initial=0) == 0:
        return 0, 0
    true, predicted = np.unravel_index(int(off_diagonal.argmax()), off_diagonal.shape)
    return int(true), int(predicted)


# ---------------------------------------------------------------------------------------------
# Calibration


@dataclass(frozen=True)
class CalibrationView:
    """How honest the model's confidence is on a split, before and after its temperature."""

    before: Reliability
    after: Reliability
    ece_before: float
    ece_after: float


def calibration_view(model_scores: ModelScores, calibration: Calibration) -> CalibrationView:
    """Reliability tables and ECE of the top answer, calibrated (the scores as stored) and
    uncalibrated (the same logits at temperature 1 and no reject margin, recovered from them)."""
    calibrated = np.asarray(model_scores.probabilities_nk, np.float64)
    raw = softmax(calibration.raw_logits(calibrated), axis=1)
    tables = []
    for probabilities in (raw, calibrated):
        confidence, right = top_confidence(probabilities, model_scores.labels_n)
        tables.append(
            (reliability(confidence, right), expected_calibration_error(confidence, right))
        )
    (before, ece_before), (after, ece_after) = tables
    return CalibrationView(before, after, ece_before, ece_after)
