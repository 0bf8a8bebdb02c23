"""The quick medians and percentiles against NumPy's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from handwritten.data.order_statistics import median, percentile, percentiles


def _arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    arrays = []
    for n in (1, 2, 3, 4, 5, 10, 11, 100, 101, 2916, 7680):
        arrays += [
            rng.random(n).astype(np.float32),
            rng.normal(0, 1, n).astype(np.float32),
            (rng.integers(0, 4, n) / 3).astype(np.float32),  # ties, as on a canvas
            rng.random(n),
        ]
    return arrays


@pytest.mark.parametrize("values", _arrays(), ids=lambda a: f"{a.dtype}-{a.size}")
def test_the_same_as_numpy_to_the_bit(values: np.ndarray) -> None:
    original = values.copy()
    assert median(values) == float(np.median(values))
    for q in (0, 5, 25, 50, 75, 95, 100, 33.3):
        assert percentile(values, q) == float(np.percentile(values, q)), q
    expected = [float(v) for v in np.percentile(values, [5, 95])]
    assert percentiles(values, (5, 95)) == expected
    assert np.array_equal(values, original)  # the input is left as it was
