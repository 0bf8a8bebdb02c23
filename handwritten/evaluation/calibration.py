"""Calibration: how far stated confidence is from the accuracy it comes with, and a fix.

A softmax's top probability is not a probability of being right until it is calibrated. This
module measures the gap (expected calibration error and the reliability table behind it) and
fits one temperature on held-out logits by minimising the negative log-likelihood (Guo et al.
2017, "On calibration of modern neural networks"), which keeps every argmax and so every
answer. It also picks the "unsure" threshold from calibrated confidences on held-out data
(`threshold_for_declines`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

if TYPE_CHECKING:
    from handwritten.evaluation.metrics import Evaluation
    from handwritten.recognition.predictor import Calibration

BINS = 15


@dataclass(frozen=True)
class Reliability:
    """Per confidence bin: its edges, how many answers, their mean confidence and accuracy."""

    edges: np.ndarray  # (BINS + 1,)
    counts: np.ndarray  # (BINS,) int
    confidence: np.ndarray  # (BINS,) mean confidence in the bin (NaN when empty)
    accuracy: np.ndarray  # (BINS,) fraction right in the bin (NaN when empty)


def reliability(confidence_n: np.ndarray, correct_n: np.ndarray, bins: int = BINS) -> Reliability:
    """The reliability table: equal-width bins over [0, 1], right-closed (as Guo et al.)."""
    confidence = np.asarray(confidence_n, np.float64)
    correct = np.asarray(correct_n, np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, confidence, bins) / counts
        accuracy = np.bincount(which, correct, bins) / counts
    return Reliability(edges, counts, mean_confidence, accuracy)


def expected_calibration_error(
    confidence_n: np.ndarray, correct_n: np.ndarray, bins: int = BINS
) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over the bins."""
    if len(confidence_n) == 0:
        return float("nan")
    table = reliability(confidence_n, correct_n, bins)
    used = table.counts > 0
    gaps = np.abs(table.confidence[used] - table.accuracy[used])
    return float((table.counts[used] * gaps).sum() / table.counts.sum())


def softmax_t(logits_nk: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax of logits / temperature, float64 (N, K)."""
    return np.exp(log_softmax(np.asarray(logits_nk, np.float64) / temperature, axis=1))


def fit_temperature(logits_nk: np.ndarray, labels_n: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of `labels_n` (searched in
    [0.05, 20] on a log scale)."""
    logits = np.asarray(logits_nk, np.float64)
    labels = np.asarray(labels_n, np.int64)

    rows = np.arange(len(labels))

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[rows, labels].mean())

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def top_confidence(
    probabilities_nk: np.ndarray, labels_n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(the top probability, whether the top class is the label) per row."""
    probabilities = np.asarray(probabilities_nk)
    return probabilities.max(axis=1), probabilities.argmax(axis=1) == np.asarray(labels_n)


def calibrated_figures(
    logits_nk: np.ndarray, labels_n: np.ndarray, calibration: Calibration
) -> tuple[Evaluation, dict[str, float]]:
    """The answers' evaluation after `calibration` (its reject margin moves some answers), and
    the ECE of the top answer with and without it ("ece", "ece_uncalibrated")."""
    from handwritten.evaluation.metrics import evaluate

    calibrated = calibration.probabilities(logits_nk)
    labels = np.asarray(labels_n)
    ece = {}
    for key, probabilities in (("ece_uncalibrated", softmax_t(logits_nk)), ("ece", calibrated)):
        confidence, right = top_confidence(probabilities, labels)
        ece[key] = expected_calibration_error(confidence, right)
    return evaluate(labels, calibrated), ece


def threshold_for_declines(
    confidence_n: np.ndarray, read_a_digit_n: np.ndarray, min_declined: float, lowest: float
) -> float:
    """The lowest threshold (at least `lowest`) at which `min_declined` of these non-digits get
    no confident digit: those read as no digit always, those read as a digit when their
    confidence is below the threshold."""
    confidence = np.asarray(confidence_n, np.float64)
    read = np.asarray(read_a_digit_n, bool)
    if len(read) == 0:
        return lowest
    still_to_decline = int(np.ceil(min_declined * len(read) - 1e-9)) - int((~read).sum())
    if still_to_decline <= 0:
        return lowest
    highest_declined = np.sort(confidence[read])[still_to_decline - 1]
    return float(min(1.0, max(lowest, np.nextafter(highest_declined, np.inf))))
