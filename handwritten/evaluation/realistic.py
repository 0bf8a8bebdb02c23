"""A realistic test set: MNIST test digits re-rendered the way users give them to us.

- ``canvas``: a 280x280 RGBA canvas payload: the digit drawn at a random size and place, slanted,
  with a thin or thick brush, as white strokes on a transparent or black background or black
  strokes on white.
- ``photo``: a JPEG of dark ink on light paper: random paper size, uneven lighting, noise, blur.

Each image then goes through the full `preprocess` pipeline, so the accuracy measures what a
user of the Draw page or of ``handwritten predict`` gets, not what a centred MNIST digit gets.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from handwritten.data.mnist import load_split
from handwritten.evaluation import REALISTIC_SETS
from handwritten.evaluation.metrics import Evaluation, evaluate_predictions
from handwritten.models.architectures import DigitModel
from handwritten.models.imported import ImportedModel
from handwritten.recognition.predictor import Predictor

CANVAS = 280
STYLES = REALISTIC_SETS


def _digit_strokes(
    digit_u8: np.ndarray, height: int, shear: float, rng: np.random.Generator
) -> np.ndarray:
    """The digit scaled so its longer side is `height` px, slanted, as a stroke mask in [0, 1]."""
    image = digit_u8.astype(np.float32) / 255.0
    rows = np.flatnonzero(image.max(axis=1) > 0.1)
    cols = np.flatnonzero(image.max(axis=0) > 0.1)
    image = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = height / max(image.shape)
    size = (max(2, round(image.shape[1] * scale)), max(2, round(image.shape[0] * scale)))
    big = np.asarray(Image.fromarray(image, mode="F").resize(size, Image.Resampling.BICUBIC))
    pad = int(abs(shear) * big.shape[0]) + 4
    big = np.pad(big, ((4, 4), (pad, pad)))
    centre = big.shape[0] / 2
    matrix = np.array([[1.0, 0.0], [shear, 1.0]])
    offset = np.array([0.0, -shear * centre])
    big = ndimage.affine_transform(big, matrix, offset=offset, order=1)
    threshold = rng.uniform(0.25, 0.6)  # lower threshold: bolder strokes
    mask = big > threshold
    brush = round(rng.uniform(-0.35, 0.6) * scale)  # thin or thick pen, in output pixels
    if brush > 0:
        mask = ndimage.binary_dilation(mask, iterations=brush)
    elif brush < 0:
        thinner = ndimage.binary_erosion(mask, iterations=-brush)
        mask = thinner if thinner.sum() > 0.25 * mask.sum() else mask
    return ndimage.gaussian_filter(mask.astype(np.float32), 0.7).clip(0, 1)


def _place(strokes: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(size, np.float32)
    height, width = strokes.shape
    if height > size[0] or width > size[1]:
        factor = min(size[0] / height, size[1] / width) * 0.98
        new = (max(2, int(width * factor)), max(2, int(height * factor)))
        strokes = np.asarray(
            Image.fromarray(strokes, mode="F").resize(new, Image.Resampling.BILINEAR)
        )
        height, width = strokes.shape
    top = rng.integers(0, size[0] - height + 1)
    left = rng.integers(0, size[1] - width + 1)
    out[top : top + height, left : left + width] = strokes
    return out


def render_canvas(digit_u8: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A (280, 280, 4) uint8 canvas payload of the digit as someone might draw it."""
    strokes = _digit_strokes(digit_u8, int(rng.uniform(70, 250)), rng.uniform(-0.25, 0.25), rng)
    ink = _place(strokes, (CANVAS, CANVAS), rng)
    value = (ink * 255).round().astype(np.uint8)
    rgba = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    style = rng.integers(3)
    if style == 0:  # white strokes on a transparent background (the canvas default)
        rgba[..., :3] = np.where(value[..., None] > 0, 255, 0)
        rgba[..., 3] = value
    elif style == 1:  # white on opaque black
        rgba[..., :3] = value[..., None]
        rgba[..., 3] = 255
    else:  # black on opaque white
        rgba[..., :3] = 255 - value[..., None]
        rgba[..., 3] = 255
    return rgba


def render_photo(digit_u8: np.ndarray, rng: np.random.Generator) -> bytes:
    """JPEG bytes: the digit in dark ink on unevenly lit paper."""
    height = int(rng.integers(240, 900))
    width = int(height * rng.uniform(0.8, 1.5))
    digit_height = int(height * rng.uniform(0.3, 0.75))
    strokes = _digit_strokes(digit_u8, digit_height, rng.uniform(-0.2, 0.2), rng)
    ink = _place(strokes, (height, width), rng)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx / width + np.sin(angle) * yy / height
    paper = rng.uniform(0.72, 0.95) - rng.uniform(0.0, 0.25) * (ramp - ramp.min()) / np.ptp(ramp)
    ink_level = rng.uniform(0.05, 0.3)
    image = paper * (1 - ink) + ink_level * ink
    image = image + rng.normal(0, 0.02, image.shape)
    tint = rng.uniform(0.9, 1.05, 3)
    rgb = np.clip(image[..., None] * tint * 255, 0, 255).astype(np.uint8)
    picture = Image.fromarray(rgb, mode="RGB").filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=int(rng.integers(60, 92)))
    return buffer.getvalue()


def realistic_predictions(
    predictor: Predictor, images_nhw: np.ndarray, style: str, seed: int = 0
) -> np.ndarray:
    """Predicted digit for each re-rendered image; -1 when the reading is not one digit."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}")
    rng = np.random.default_rng(seed)
    predictions = np.full(len(images_nhw), -1, np.int64)
    for index, digit in enumerate(images_nhw):
        rendered = render_canvas(digit, rng) if style == "canvas" else render_photo(digit, rng)
        prediction = predictor.predict(rendered)
        if len(prediction.per_digit) == 1:
            predictions[index] = prediction.per_digit[0].label
    return predictions


def evaluate_realistic(
    model: DigitModel | ImportedModel, style: str, limit: int = 1000, seed: int = 0
) -> Evaluation:
    """Accuracy of `model` on the first `limit` MNIST test digits rendered in `style`."""
    test = load_split("test").subset(limit)
    predictions = realistic_predictions(Predictor(model), test.images_nhw, style, seed)
    return evaluate_predictions(test.labels_n, predictions)
