"""Medians and percentiles of a 1-D float array, equal to NumPy's bit for bit, but quicker.

`np.median` and `np.percentile` spend most of their time on a small array in checks and
dispatch (about 55 and 220 microseconds for the 7,680 border pixels and 6,000 stroke pixels
of a canvas, against 30 for the partition they need): preprocessing takes six of them on every
stroke drawn. These do the same partition and the same arithmetic ("linear" interpolation,
the default), in the same dtypes, so preprocessing gives exactly what it gave before.
"""

from __future__ import annotations

import math

import numpy as np


def median(values: np.ndarray) -> float:
    """`np.median` of a non-empty 1-D float array (no NaN): the mean of the two middle values
    in the array's dtype when their count is even."""
    n = values.size
    k = n // 2
    if n % 2:
        return float(np.partition(values, k)[k])
    part = np.partition(values, (k - 1, k))
    return float((part[k - 1] + part[k]) / 2)


def percentile(values: np.ndarray, q: float) -> float:
    """`np.percentile(values, q)` of a non-empty 1-D float array (no NaN), q in [0, 100]:
    linear interpolation between the two order statistics around (n - 1) q / 100, in the
    array's dtype as NumPy does for a scalar q."""
    low, high, gamma = _neighbours(values.size, q)
    part = np.partition(values, (low, high)) if high != low else np.partition(values, low)
    return float(_lerp(part[low], part[high], gamma))


def percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """`np.percentile(values, list(qs))`: with several q, NumPy interpolates in float64."""
    around = [_neighbours(values.size, q) for q in qs]
    part = np.partition(values, sorted({i for low, high, _ in around for i in (low, high)}))
    return [float(_lerp(part[low], part[high], np.float64(gamma))) for low, high, gamma in around]


def _neighbours(n: int, q: float) -> tuple[int, int, float]:
    virtual = (n - 1) * (q / 100)
    low = min(max(math.floor(virtual), 0), n - 1)
    high = min(low + 1, n - 1)
    return low, high, virtual - low


def _lerp(a: np.floating, b: np.floating, gamma: float | np.float64) -> np.floating:
    """NumPy's `_lerp`: from below for gamma < 0.5, from above otherwise (monotone). The
    difference is taken in the values' dtype; a Python float gamma keeps it (NumPy's scalar
    q), a float64 one promotes to float64 (NumPy's list of q)."""
    difference = b - a
    if gamma >= 0.5:
        return b - difference * (1 - gamma)
    return a + difference * gamma
