"""Where a digit model fails, and why: the Tour's chapter 9, computed live on one drawing.

The seed blog post's lessons, each as something to compute rather than a story to tell:

- a plain resize of the whole canvas to 28x28 (no crop, no centring) against MNIST-style
  preprocessing, on the presenter's drawing;
- the same drawing small and high on the canvas (the blog's "high 7 that reads as a 5"):
  where a plain resize puts it is not where MNIST digits sit;
- regional styles MNIST rarely shows: a crossed 7 and a European 1 (a long flag, no base);
- a scribble that is no digit at all, and what the model honestly says about it ("not a digit"
  from a model with that output, else how unsure it is).

The generated drawings are canvas payloads (white 20 px strokes on opaque black, 320 px), so
they take exactly the path a drawing takes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from handwritten.data.ink import luminance
from handwritten.data.preprocess import MNIST_SIZE
from handwritten.models.architectures import NOT_A_DIGIT
from handwritten.recognition.predictor import UNSURE_BELOW, Prediction, Predictor

CANVAS = 320  # the Tour's canvas, in pixels
STROKE = 20  # its brush
Strokes = list[list[tuple[float, float]]]

EXAMPLE_SEVEN: Strokes = [[(90, 60), (230, 60), (130, 270)]]
CROSSED_SEVEN: Strokes = [*EXAMPLE_SEVEN, [(120, 165), (215, 165)]]
EUROPEAN_ONE: Strokes = [[(115, 110), (175, 50), (175, 270)]]
HIGH_SCALE = 0.4  # "drawn high": the ink's height as a share of the canvas, at the top
SCRIBBLE_SEED = 0  # a random walk the shipped model calls not a digit (tests hold it to that)


def canvas_drawing(strokes: Strokes, width: int = STROKE, size: int = CANVAS) -> np.ndarray:
    """Strokes as the canvas sends them: (size, size, 4) RGBA, white ink on opaque black."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        pen.line(stroke, fill=(255, 255, 255, 255), width=width, joint="curve")
        for x, y in (stroke[0], stroke[-1]):  # round pen ends, as a brush leaves them
            pen.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], "white")
    return np.asarray(image)


def example_digit() -> np.ndarray:
    """The Tour's example drawing for a shy audience: a plain 7."""
    return canvas_drawing(EXAMPLE_SEVEN)


def scribble(seed: int = SCRIBBLE_SEED) -> np.ndarray:
    """A tangled random walk across the canvas: ink, but no digit."""
    rng = np.random.default_rng(seed)
    points = np.cumsum(rng.normal(0.0, 30.0, (40, 2)), axis=0)
    points = (points - points.mean(axis=0)) / np.abs(points - points.mean(axis=0)).max()
    path = [(float(x), float(y)) for x, y in points * 120 + CANVAS / 2]
    return canvas_drawing([path], width=14)


# ---------------------------------------------------------------------------------------------
# The two preparations


def ink_image(rgba: np.ndarray) -> np.ndarray:
    """White ink on black in [0, 1], whatever the canvas's colours: the grayscale, inverted
    when the background (the border) is light. No crop, no centring, no lighting correction."""
    gray = luminance(np.asarray(rgba))
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return (1.0 - gray if float(np.median(border)) > 0.5 else gray).astype(np.float32)


def naive_resize(rgba: np.ndarray) -> np.ndarray:
    """The whole canvas shrunk to 28x28 (area averaging), with no crop and no centring: what
    a first attempt feeds a model, and what the blog post's first version did."""
    ink = Image.fromarray(ink_image(rgba).astype(np.float32), mode="F")
    small = ink.resize((MNIST_SIZE, MNIST_SIZE), Image.Resampling.BOX)
    return np.clip(np.asarray(small), 0.0, 1.0).astype(np.float32)


def drawn_high(rgba: np.ndarray, scale: float = HIGH_SCALE) -> np.ndarray:
    """The same drawing small and at the top of the canvas, as someone might draw it."""
    ink = ink_image(rgba)
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    out = np.zeros((CANVAS, CANVAS), np.float32)
    if len(rows):
        crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        factor = scale * CANVAS / max(crop.shape)
        size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
        small = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.BOX))
        top, left = CANVAS // 40, (CANVAS - size[0]) // 2
        out[top : top + size[1], left : left + size[0]] = np.clip(small, 0.0, 1.0)
    value = (out * 255).round().astype(np.uint8)
    return np.dstack([value, value, value, np.full_like(value, 255)])


# ---------------------------------------------------------------------------------------------
# The lessons, answered


@dataclass(frozen=True)
class Case:
    """What the model saw and what it answered."""

    image28: np.ndarray  # the 28x28 input the model read (zeros when it found no digit)
    # (K,) calibrated probabilities: ten digits, and "not a digit" last when the model has that
    # output (K = 11); zeros when no digit was found.
    probabilities: np.ndarray
    no_digit: str = ""  # why the pipeline found no digit, else ""
    threshold: float = UNSURE_BELOW  # the model's calibrated "unsure" threshold

    @property
    def not_a_digit(self) -> bool:
        """The model's own answer is "not a digit" (only a model with that output says it)."""
        return not self.no_digit and int(self.probabilities.argmax()) == NOT_A_DIGIT

    @property
    def answer(self) -> int | None:
        """The digit read, or None for no digit found and for "not a digit"."""
        if self.no_digit or self.not_a_digit:
            return None
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())

    @property
    def unsure(self) -> bool:
        return not self.no_digit and self.confidence < self.threshold


@dataclass(frozen=True)
class Lessons:
    naive: Case  # the drawing, plainly resized
    preprocessed: Case  # the drawing, MNIST-style
    high_naive: Case  # the drawing small and high, plainly resized
    high_preprocessed: Case  # the same, MNIST-style
    crossed_seven: Case
    european_one: Case
    scribble: Case


def _plain(predictor: Predictor, image28: np.ndarray) -> Case:
    probabilities = np.exp(predictor.log_probabilities(image28[None]))[0]
    return Case(image28, probabilities, threshold=predictor.calibration.unsure_below)


def preprocessed_case(prediction: Prediction) -> Case:
    """A prediction's first digit as a `Case` (or its "no digit" reason)."""
    if not prediction.per_digit or prediction.preprocessed is None:
        zeros = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
        return Case(zeros, np.zeros(10), prediction.reason or "no digit", prediction.threshold)
    image = prediction.preprocessed.digits[0].centred
    digits = np.asarray(prediction.per_digit[0].probabilities)
    if prediction.classes > 10:  # the ten digit probabilities sum to 1 - P(not a digit)
        digits = np.append(digits, max(0.0, 1.0 - float(digits.sum())))
    return Case(image, digits, threshold=prediction.threshold)


def lessons(predictor: Predictor, rgba: np.ndarray) -> Lessons:
    """Every lesson of chapter 9 for this drawing (seven predictions in all)."""
    high = drawn_high(rgba)
    styled = {
        name: preprocessed_case(predictor.predict(canvas_drawing(strokes), multi=False))
        for name, strokes in (("crossed_seven", CROSSED_SEVEN), ("european_one", EUROPEAN_ONE))
    }
    return Lessons(
        naive=_plain(predictor, naive_resize(rgba)),
        preprocessed=preprocessed_case(predictor.predict(rgba, multi=False)),
        high_naive=_plain(predictor, naive_resize(high)),
        high_preprocessed=preprocessed_case(predictor.predict(high, multi=False)),
        scribble=preprocessed_case(predictor.predict(scribble(), multi=False)),
        **styled,
    )
