"""Calibration figures against hand-computed values, and temperature fitting."""

from __future__ import annotations

import numpy as np
import pytest

from handwritten.evaluation.calibration import (
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
    reliability,
    softmax_t,
)


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
