"""The realistic sets: built deterministically from seeds, drawn as promised, scored honestly."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from handwritten.data import photographs, rendering
from handwritten.data.mnist import Split
from handwritten.data.nondigits import HELD_OUT
from handwritten.evaluation.realistic import is_declined, make_item, score_set
from handwritten.recognition.predictor import Prediction


def mnist_like(strokes: list[list[tuple[int, int]]]) -> np.ndarray:
    """A 28x28 uint8 digit drawn with a 2.5 px pen, like MNIST's."""
    image = Image.new("L", (112, 112), 0)
    draw = ImageDraw.Draw(image)
    for points in strokes:
        draw.line([(x * 4, y * 4) for x, y in points], fill=255, width=10, joint="curve")
    return np.asarray(image.resize((28, 28), Image.Resampling.BOX))


SEVEN = mnist_like([[(6, 5), (22, 5), (12, 24)]])
FIVE = mnist_like([[(20, 4), (9, 4), (8, 12), (16, 12), (19, 17), (15, 23), (7, 22)]])
DIGITS = Split(np.stack([SEVEN, FIVE] * 4), np.array([7, 5] * 4, np.uint8))


def test_items_are_the_same_for_the_same_seed_and_differ_by_index() -> None:
    for name in ("canvas", "photo", "multi", "nondigit"):
        first = make_item(DIGITS, name, "test", 3, seed=1)
        again = make_item(DIGITS, name, "test", 3, seed=1)
        other = make_item(DIGITS, name, "test", 4, seed=1)
        assert np.array_equal(np.asarray(first.image), np.asarray(again.image)), name
        assert first.expected == again.expected
        assert not np.array_equal(np.asarray(first.image), np.asarray(other.image)), name


def test_canvas_photo_multi_items_hold_what_they_say() -> None:
    canvas = make_item(DIGITS, "canvas", "test", 0)
    assert isinstance(canvas.image, np.ndarray) and canvas.image.shape == (320, 320, 4)
    assert canvas.expected == "7"
    photo = make_item(DIGITS, "photo", "test", 1)
    assert isinstance(photo.image, bytes)
    assert Image.open(io.BytesIO(photo.image)).format == "JPEG"
    assert photo.expected == "5"
    for index in range(5):
        multi = make_item(DIGITS, "multi", "test", index)
        assert len(multi.expected) == 2 + index and set(multi.expected) <= {"5", "7"}


def test_tuning_nondigits_never_use_held_out_templates() -> None:
    empty = Split(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8))
    tuning = {make_item(empty, "nondigit", "heldout", i).kind for i in range(60)}
    report = {make_item(empty, "nondigit", "test", i).kind for i in range(60)}
    assert not tuning & set(HELD_OUT)
    assert report & set(HELD_OUT)


@pytest.mark.parametrize(("digit", "label"), [(SEVEN, 7), (FIVE, 5)])
def test_detached_part_comes_apart(digit: np.ndarray, label: int) -> None:
    pen = rendering.Pen(height=200, width=12, aspect=1, shear=0, rotation=0, detach=True,
                        breaks=0, gap=6)  # fmt: skip
    whole = rendering.mnist_skeleton(digit)
    assert ndimage.label(whole, structure=np.ones((3, 3)))[1] == 1
    cut = rendering.accidents(whole, label, pen, np.random.default_rng(0))
    segments, dots, box = rendering.pen_strokes(cut, pen)
    shift = np.array([-box[0] + 5, -box[1] + 5])
    ink = rendering.draw_segments(segments + shift, dots + shift, (260, 260), pen.width)
    assert ndimage.label(ink > 0.3, structure=np.ones((3, 3)))[1] == 2  # e.g. the 5's hat


def test_random_pens_stay_in_the_canvas_brush_range() -> None:
    rng = np.random.default_rng(0)
    for height in (30, 100, 280):
        for _ in range(50):
            pen = rendering.random_pen(rng, height)
            assert 2.5 <= pen.width <= max(3.0, 0.2 * height) and pen.width <= 40


class FixedAnswer:
    """A stand-in predictor that gives every image the same answer."""

    def __init__(self, prediction: Prediction):
        self.prediction = prediction

    def predict(self, image: object) -> Prediction:
        return self.prediction


def answer(digits: str, confidence: float, unsure: bool) -> Prediction:
    label = int(digits) if len(digits) == 1 else None
    reason = "" if digits else "not a digit: test"
    return Prediction(label, digits, confidence, [0.0] * 10, unsure, reason)


def test_nondigit_scoring_counts_declines() -> None:
    declined = score_set(FixedAnswer(answer("", 0.9, False)), "nondigit", limit=20)  # type: ignore[arg-type]
    assert declined.figures["declined"] == 1.0 and declined.n == 20
    fooled = score_set(FixedAnswer(answer("7", 0.99, False)), "nondigit", limit=20)  # type: ignore[arg-type]
    assert fooled.figures["declined"] == 0.0 and len(fooled.failures) == 20
    unsure = answer("7", 0.4, True)
    assert is_declined(unsure) and not is_declined(answer("7", 0.99, False))


@pytest.mark.parametrize("seed", range(20))
def test_the_table_beside_a_photos_sheet_never_covers_the_ink(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ink = rendering.draw_digit(SEVEN, 7, photographs.photo_paper(rng), rng)
    image = np.ones_like(ink)
    photographs._table_beside(image, ink, rng)
    assert np.all(image[ink > 0.05] == 1.0)
    dark = image < 1.0
    if dark.any():  # a band along one whole side
        assert dark.all(axis=0).any() or dark.all(axis=1).any()
