"""Calibration figures against hand-computed values, and temperature fitting."""

from __future__ import annotations

import numpy as np
import pytest

from handwritten.evaluation.calibrate import choose_reject_offset
from handwritten.evaluation.calibration import (
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
    reliability,
    softmax_t,
)
from handwritten.recognition.predictor import Calibration


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


def test_choose_threshold_keeps_the_error_above_it_low() -> None:
    confidence = np.array([0.99, 0.98, 0.97, 0.9, 0.8, 0.7])
    correct = np.array([1, 1, 1, 0, 1, 0], bool)
    assert choose_threshold(confidence, correct, max_error=0.0) == 0.97
    assert choose_threshold(confidence, correct, max_error=0.2) == 0.8


def _rows(margins: list[float]) -> np.ndarray:
    """Eleven logits per row: digit 3 at 0, "not a digit" `margin` above it, the rest at -5."""
    logits = np.full((len(margins), 11), -5.0)
    logits[:, 3] = 0.0
    logits[:, 10] = margins
    return logits


def test_reject_offset_is_the_largest_step_that_keeps_the_non_digits() -> None:
    # Ten non-digits ahead by 0.1, 1.1, ..., 9.1 and one digit the class wrongly claims (by 2).
    margins = [0.1 + k for k in range(10)]
    logits = _rows(margins + [2.0])
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
