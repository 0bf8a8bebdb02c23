"""One digit to the model input: MNIST-like strokes for any brush, fit 20x20, centre of mass."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from handwritten.data import normalise as nm
from handwritten.data.preprocess import preprocess

MNIST_5_TO_95 = (2.44, 4.97)  # MNIST training digits' stroke width, 5th and 95th percentile

FOUR = [[(130, 40), (100, 190), (200, 190)], [(170, 100), (170, 300)]]
ONE = [[(150, 30), (160, 300)]]
ZERO = [[(160, 40), (230, 100), (235, 220), (160, 290), (90, 220), (85, 100), (160, 40)]]
SMALL_SEVEN = [[(130, 120), (200, 120), (150, 230)]]


def canvas(strokes: list[list[tuple[int, int]]], brush: int) -> np.ndarray:
    image = Image.new("RGBA", (320, 320), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for points in strokes:
        draw.line(points, fill=(255, 255, 255, 255), width=brush, joint="curve")
    return np.asarray(image)


def fitted_width(centred: np.ndarray) -> float:
    """Stroke width of a 28x28 input, measured as MNIST's was (upsampled 4x, threshold 0.35)."""
    big = np.asarray(Image.fromarray(centred).resize((112, 112), Image.Resampling.BICUBIC))
    return nm.stroke_width(big >= 0.35) / 4


CASES = [(s, b) for s in (FOUR, ONE, ZERO) for b in (5, 10, 20, 30, 40)] + [
    (SMALL_SEVEN, b)
    for b in (5, 10, 20)  # 30 or 40 px on a 110 px 7 is a blob: see below
]


@pytest.mark.parametrize(("strokes", "brush"), CASES)
def test_any_brush_gives_mnist_like_strokes(strokes, brush: int) -> None:
    [digit] = preprocess(canvas(strokes, brush)).digits
    low, high = MNIST_5_TO_95
    assert low <= fitted_width(digit.centred) <= high, digit.stroke_width


def test_fat_strokes_are_thinned_and_thin_ones_thickened() -> None:
    [thin] = preprocess(canvas(ZERO, 5)).digits
    assert thin.stroke_width < nm.STROKE_RANGE[0]  # a hairline as drawn ...
    assert fitted_width(thin.centred) > 1.5 * thin.stroke_width  # ... thicker after
    [fat] = preprocess(canvas(SMALL_SEVEN, 40)).digits
    assert fat.stroke_width > nm.STROKE_RANGE[1]  # a blob as drawn ...
    assert fitted_width(fat.centred) < 0.8 * fat.stroke_width  # ... thinner after


def test_strokes_in_mnist_range_are_left_as_drawn() -> None:
    crop = np.zeros((200, 200), np.float32)
    crop[20:180, 86:114] = 1.0  # 28 px of a 160 px digit: 3.5 px once fitted, in range
    crop[20:48, 40:160] = 1.0
    fitted, width = nm.fit_strokes(crop)
    assert nm.STROKE_RANGE[0] <= width <= nm.STROKE_RANGE[1]
    np.testing.assert_array_equal(fitted, nm.fit_box(crop))


def test_tall_narrow_one_gets_mnist_width_not_a_hairline() -> None:
    [digit] = preprocess(canvas(ONE, 5)).digits
    assert digit.fitted.shape[0] == 20 and digit.fitted.shape[1] >= 3  # was 1 px: a hairline
    assert (digit.centred >= 0.5).sum() >= 40
