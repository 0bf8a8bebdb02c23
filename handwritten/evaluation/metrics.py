"""Evaluation from labels and logits: accuracy, per-class accuracy, confusion, mistakes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

N_CLASSES = 10


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    per_class_accuracy: list[float]  # recall of each digit 0..9 (NaN where a class is absent)
    confusion: np.ndarray  # (10, 10) int, rows = true label, columns = prediction
    misclassified: np.ndarray  # indices into the evaluated set, ascending
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "test_accuracy": self.accuracy,
            "per_class_accuracy": [None if np.isnan(a) else a for a in self.per_class_accuracy],
            "confusion_matrix": self.confusion.tolist(),
            "n": self.n,
            "n_misclassified": len(self.misclassified),
        }


def confusion_matrix(
    labels: np.ndarray, predictions: np.ndarray, columns: int = N_CLASSES
) -> np.ndarray:
    """(10, `columns`) counts, rows the true digit, columns the answer (11 columns hold an
    open-set model's "not a digit" answers)."""
    matrix = np.zeros((N_CLASSES, columns), np.int64)
    np.add.at(matrix, (np.asarray(labels, np.int64), np.asarray(predictions, np.int64)), 1)
    return matrix


def evaluate(labels: np.ndarray, logits: np.ndarray) -> Evaluation:
    """Score `logits` (N, 10), or (N, 11) with "not a digit" last, against digit `labels`
    (N,): a digit read as "not a digit" is wrong, as any other wrong answer."""
    logits = np.asarray(logits)
    if logits.ndim != 2 or logits.shape[0] != len(labels) or logits.shape[1] not in (10, 11):
        raise ValueError(f"logits must be ({len(labels)}, 10 or 11), got {logits.shape}")
    predictions = logits.argmax(axis=1)
    return evaluate_predictions(labels, np.where(predictions >= N_CLASSES, -1, predictions))


def evaluate_predictions(labels: np.ndarray, predictions: np.ndarray) -> Evaluation:
    """Score predicted digits; -1 means "no answer" (always wrong, left out of the matrix)."""
    labels = np.asarray(labels).astype(np.int64)
    predictions = np.asarray(predictions).astype(np.int64)
    answered = predictions >= 0
    matrix = confusion_matrix(labels[answered], predictions[answered])
    support = np.bincount(labels, minlength=N_CLASSES)
    hits = np.bincount(labels[predictions == labels], minlength=N_CLASSES)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, hits / np.maximum(support, 1), np.nan)
    n = len(labels)
    return Evaluation(
        accuracy=float((predictions == labels).mean()) if n else float("nan"),
        per_class_accuracy=[float(a) for a in per_class],
        confusion=matrix,
        misclassified=np.flatnonzero(predictions != labels),
        n=n,
    )
