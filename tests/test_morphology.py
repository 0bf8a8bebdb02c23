"""The round brush's dilation and erosion against SciPy's distance transform, pixel for pixel."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from handwritten.data.morphology import dilate_disk, erode_disk

# Radii as stroke correction asks for them (halves of width differences), whole numbers and
# square roots of whole numbers (where a brush's edge passes exactly through pixel centres).
RADII = (0.0, 0.4, 1.0, 1.5, 2.0, 2.5, np.sqrt(5.0), 3.0, 3.2, np.sqrt(13.0), 4.0, 5.5, 7.0, 9.3)


def _masks() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    masks = [rng.random(shape) < density
             for shape in ((1, 1), (1, 9), (9, 1), (5, 7), (23, 31), (48, 80))
             for density in (0.02, 0.2, 0.6)]  # fmt: skip
    stroke = np.zeros((40, 60), bool)
    stroke[8:32, 20:24] = True  # a 1's stem and a 7's bar
    stroke[8:12, 10:50] = True
    return [*masks, stroke]


@pytest.mark.parametrize("radius", RADII)
def test_dilation_is_the_distance_transform_within_the_radius(radius: float) -> None:
    for mask in _masks():
        if mask.any():
            expected = ndimage.distance_transform_edt(~mask) <= radius
            assert np.array_equal(dilate_disk(mask, radius), expected), mask.shape


@pytest.mark.parametrize("radius", RADII)
def test_erosion_is_the_distance_transform_beyond_the_radius(radius: float) -> None:
    for mask in _masks():
        if not mask.all():
            expected = ndimage.distance_transform_edt(mask) > radius
            assert np.array_equal(erode_disk(mask, radius), expected), mask.shape


def test_a_dot_grows_into_the_disc_of_the_radius() -> None:
    dot = np.zeros((9, 9), bool)
    dot[4, 4] = True
    # Offsets with rows**2 + cols**2 <= 2.3**2 = 5.29: up to (1, 2) and (2, 1), not (2, 2).
    expected = np.array([[dr * dr + dc * dc <= 5 for dc in range(-4, 5)] for dr in range(-4, 5)])
    assert np.array_equal(dilate_disk(dot, 2.3), expected)
    assert np.array_equal(erode_disk(dilate_disk(dot, 2.3), 2.3), dot)


def test_the_input_is_left_as_it_was() -> None:
    mask = _masks()[-1]
    original = mask.copy()
    dilate_disk(mask, 3.0)
    erode_disk(mask, 1.5)
    assert np.array_equal(mask, original)
