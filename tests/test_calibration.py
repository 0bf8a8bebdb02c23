"""Calibration figures against hand-computed values, and temperature fitting."""

from __future__ import annotations

import numpy as np
import pytest

from handwritten.evaluation.calibrate import choose_reject_offset
from handwritten.evaluation.calibration import (
    expected_calibration_error,
    fit_temperature,
    reliability,
    softmax_t,
    threshold_for_declines,
)
from handwritten.recognition.predictor import Calibration
from handwritten.recognition.segmentation import without_margin


def test_ece_by_hand() -> None:
    # Five bins of 0.2. (0.8, 1]: two answers at 0.9, one right: gap 0.4. (0.4, 0.6]: two at
    # 0.6, both right: gap 0.4. (0, 0.2]: one at 0.2, wrong: gap 0.2. ECE = (2*.4+2*.4+.2)/5.
    confidence = np.array([0.9, 0.9, 0.6, 0.6, 0.2])
    correct = np.array([1, 0, 1, 1, 0])
    assert expected_calibration_error(confidence, correct, bins=5) == pytest.approx(0.36)
    table = reliability(confidence, correct, bins=5)
    assert table.counts.tolist() == [1, 0, 2, 0, 2]
    assert table.accuracy[4] == 0.5 and np.isnan(table.accuracy[1])


def test_perfectly_calibrated_is_zero() -> None:
    confidence = np.array([0.75] * 4)
    assert expected_calibration_error(confidence, np.array([1, 1, 1, 0])) == pytest.approx(0.0)


def test_fit_temperature_recovers_the_true_one() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, (20000, 10))
    probabilities = softmax_t(logits, 2.5)
    labels = np.array([rng.choice(10, p=p) for p in probabilities])
    assert fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.05)
    raw = softmax_t(logits)
    before = expected_calibration_error(raw.max(1), raw.argmax(1) == labels)
    fitted = softmax_t(logits, fit_temperature(logits, labels))
    after = expected_calibration_error(fitted.max(1), fitted.argmax(1) == labels)
    assert after < 0.02 < before


def test_threshold_for_declines_by_hand() -> None:
    # Ten non-digits: six read as "not a digit" (declined at any threshold), four read as a
    # digit at 0.6, 0.8, 0.95 and 0.99.
    confidence = np.array([0.9] * 6 + [0.6, 0.8, 0.95, 0.99])
    read = np.array([False] * 6 + [True] * 4)
    # 80% declined: two of the four must fall below it, so just above 0.8.
    cut = threshold_for_declines(confidence, read, 0.8, 0.5)
    assert 0.8 < cut < 0.8 + 1e-9 and (confidence[read] < cut).sum() == 2
    # 100%: just above 0.99; 60%: the six suffice, so the lowest allowed.
    assert 0.99 < threshold_for_declines(confidence, read, 1.0, 0.5) <= 1.0
    assert threshold_for_declines(confidence, read, 0.6, 0.5) == 0.5
    # 70% needs only the 0.6 below it: the floor 0.7 is higher and wins.
    assert threshold_for_declines(confidence, read, 0.7, 0.7) == 0.7
    assert threshold_for_declines(np.array([]), np.array([], bool), 0.97, 0.5) == 0.5


def _rows(margins: list[float]) -> np.ndarray:
    """Eleven logits per row: digit 3 at 0, "not a digit" `margin` above it, the rest at -5."""
    logits = np.full((len(margins), 11), -5.0)
    logits[:, 3] = 0.0
    logits[:, 10] = margins
    return logits


def test_reject_offset_is_the_largest_step_that_keeps_the_non_digits() -> None:
    # Ten non-digits ahead by 0.1, 1.1, ..., 9.1 and one digit the class wrongly claims (by 2).
    margins = [0.1 + k for k in range(10)]
    logits = _rows([*margins, 2.0])
    labels = np.array([10] * 10 + [3])
    # 90% kept: the offset may pass the smallest margin, not the second: 1.0 (a multiple of
    # 0.25 below 1.1); 100% kept: only offsets below 0.1, so 0.
    assert choose_reject_offset(logits, labels, min_rejected=0.9) == 1.0
    assert choose_reject_offset(logits, labels, min_rejected=1.0) == 0.0
    # 50%: margins above the offset must be at least 5 of 10, so up to 5.0 (5.1..9.1 remain).
    assert choose_reject_offset(logits, labels, min_rejected=0.5) == 5.0


def test_reject_offset_is_zero_without_the_output_or_the_negatives() -> None:
    assert choose_reject_offset(np.zeros((4, 10)), np.array([1, 2, 3, 4])) == 0.0
    assert choose_reject_offset(_rows([3.0, 4.0]), np.array([3, 3])) == 0.0
    # Non-digits the class does not even win: no margin helps, none is taken.
    assert choose_reject_offset(_rows([-1.0, -2.0]), np.array([10, 10])) == 0.0


def test_calibration_takes_the_margin_off_before_the_temperature() -> None:
    logits = _rows([2.0])
    calibration = Calibration(temperature=2.0, reject_offset=1.5)
    expected = softmax_t(np.where(np.arange(11) == 10, 0.5, logits), 2.0)
    np.testing.assert_allclose(calibration.probabilities(logits), expected)
    # The argmax moves to the digit once the margin exceeds the lead.
    assert Calibration(reject_offset=2.5).probabilities(logits).argmax() == 3
    assert Calibration(reject_offset=1.5).probabilities(logits).argmax() == 10
    assert Calibration(reject_offset=9.0).probabilities(np.zeros((1, 10))).shape == (1, 10)


def test_raw_logits_undo_the_calibration() -> None:
    logits = np.random.default_rng(2).normal(0, 4, (50, 11))
    calibration = Calibration(temperature=0.7, reject_offset=2.25)
    recovered = calibration.raw_logits(calibration.probabilities(logits))
    np.testing.assert_allclose(softmax_t(recovered), softmax_t(logits), atol=1e-9)


def test_taking_the_margin_back_gives_the_models_own_softmax() -> None:
    """Segmentation scores a digit reading with "not a digit" at the model's own strength:
    the calibrated log-probabilities with `margin` taken back are the softmax of the raw
    logits at the same temperature (computed here from the logits directly)."""
    logits = np.random.default_rng(0).normal(0.0, 3.0, (6, 11))
    calibration = Calibration(temperature=0.7, reject_offset=2.25)
    assert calibration.margin == pytest.approx(2.25 / 0.7)
    shown = calibration.log_probabilities(logits)
    own = logits / 0.7 - np.log(np.exp(logits / 0.7).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(without_margin(shown, calibration.margin), own, atol=1e-12)
    assert without_margin(shown, 0.0) is shown
    ten = Calibration(temperature=0.7).log_probabilities(logits[:, :10])
    assert without_margin(ten, 5.0) is ten  # no "not a digit" output: nothing to take back
