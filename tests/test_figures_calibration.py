"""The reliability diagram, on a hand-built table."""

from __future__ import annotations

import numpy as np

from handwritten.evaluation.calibration import reliability
from handwritten.figures.calibration import reliability_diagram


def test_reliability_diagram_draws_used_bins_and_the_threshold() -> None:
    before = reliability(np.array([0.95, 0.95, 0.55]), np.array([1, 0, 1]), bins=10)
    after = reliability(np.array([0.75, 0.75, 0.55]), np.array([1, 0, 1]), bins=10)
    figure = reliability_diagram(before, after, threshold=0.6)
    diagonal, raw, calibrated = figure.data
    assert list(diagonal.x) == [0, 1]
    np.testing.assert_allclose(raw.x, [0.55, 0.95])  # two bins hold answers
    np.testing.assert_allclose(raw.y, [1.0, 0.5])
    np.testing.assert_allclose(calibrated.x, [0.55, 0.75])
    assert figure.layout.shapes[0].x0 == 0.6
    assert len(reliability_diagram(before, after).layout.shapes) == 0
