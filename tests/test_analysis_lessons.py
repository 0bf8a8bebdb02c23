"""Where a digit model fails: the two preparations, the drawing moved high, the generated styles,
and what the shipped model says about each."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from handwritten.analysis import lessons as failures
from handwritten.data.preprocess import preprocess
from handwritten.recognition.predictor import UNSURE_BELOW, Predictor


def square_in_the_corner() -> np.ndarray:
    """A 320 px canvas, white on opaque black, with an 80 px square of ink at its top left."""
    rgba = np.zeros((320, 320, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[0:80, 0:80, :3] = 255
    return rgba


def test_a_plain_resize_keeps_the_ink_where_it_was() -> None:
    small = failures.naive_resize(square_in_the_corner())
    assert small.shape == (28, 28) and small.dtype == np.float32
    # 80 of 320 px is 7 of 28: the square fills the top-left 7x7 cells, exactly (area average).
    np.testing.assert_allclose(small[:7, :7], 1.0)
    assert small[7:, :].max() == 0.0 and small[:, 7:].max() == 0.0
    # MNIST-style preprocessing crops and centres a stroke drawn in the same corner instead.
    stroke = square_in_the_corner()
    stroke[0:80, 12:80, :3] = 0  # a bar 12 px wide and 80 tall: a small "1" at the top left
    small = failures.naive_resize(stroke)
    assert small[8:, :].max() == 0.0 and small[:, 2:].max() == 0.0
    centred = preprocess(stroke).digits[0].centred
    assert ndimage.center_of_mass(centred) == pytest.approx((14, 14), abs=1)


def test_the_plain_resize_reads_dark_ink_on_white_paper_too() -> None:
    rgba = 255 - square_in_the_corner()
    rgba[..., 3] = 255
    np.testing.assert_allclose(failures.naive_resize(rgba), failures.naive_resize(
        square_in_the_corner()), atol=1e-6)  # fmt: skip


def test_drawn_high_is_small_and_at_the_top() -> None:
    high = failures.drawn_high(failures.example_digit())
    assert high.shape == (320, 320, 4) and (high[..., 3] == 255).all()
    rows = np.flatnonzero(high[..., 0].max(axis=1) > 128)
    cols = np.flatnonzero(high[..., 0].max(axis=0) > 128)
    height = rows[-1] - rows[0] + 1
    assert rows[0] < 16 and rows[-1] < 0.5 * 320  # in the top half
    assert height == pytest.approx(failures.HIGH_SCALE * 320, abs=4)  # the longer side: height
    assert abs((cols[0] + cols[-1]) / 2 - 160) < 20  # centred left to right
    assert failures.drawn_high(np.zeros((320, 320, 4), np.uint8))[..., 0].max() == 0


def test_the_generated_drawings_are_canvas_payloads() -> None:
    for rgba in (failures.example_digit(), failures.scribble(),
                 failures.canvas_drawing(failures.CROSSED_SEVEN)):  # fmt: skip
        assert rgba.shape == (320, 320, 4) and rgba.dtype == np.uint8
        assert (rgba[..., 3] == 255).all()
        assert set(np.unique(rgba[..., 0])) >= {0, 255}
    np.testing.assert_array_equal(failures.scribble(), failures.scribble())  # deterministic


def test_a_case_says_what_the_model_answered() -> None:
    sure = failures.Case(np.zeros((28, 28)), np.eye(10)[3] * 0.9 + 0.01)
    assert sure.answer == 3 and not sure.unsure
    doubtful = failures.Case(np.zeros((28, 28)), np.full(10, 0.1))
    assert doubtful.unsure and doubtful.confidence < UNSURE_BELOW
    blank = failures.Case(np.zeros((28, 28)), np.zeros(10), "no digit: nothing stands out")
    assert blank.answer is None and not blank.unsure


@pytest.fixture(scope="module")
def shipped() -> Predictor:
    return Predictor.load("default")


def test_the_lessons_with_the_shipped_model(shipped: Predictor) -> None:
    told = failures.lessons(shipped, failures.example_digit())
    assert told.preprocessed.answer == 7 and not told.preprocessed.unsure
    assert told.high_preprocessed.answer == 7  # preprocessing undoes "small and high"
    assert told.high_naive.answer != 7  # a plain resize of the same drawing does not
    assert told.crossed_seven.answer == 7
    # The scribble: a model of ten digits must answer one; the shipped one says it is unsure.
    assert told.scribble.answer is None or told.scribble.unsure
    np.testing.assert_allclose(told.naive.image28, failures.naive_resize(failures.example_digit()))
