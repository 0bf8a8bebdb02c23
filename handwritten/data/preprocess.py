"""Turn any picture of digits into what MNIST looks like, keeping every intermediate step.

MNIST digits are white ink on black, fitted to a 20x20 box with their aspect ratio kept, and
placed in 28x28 so that the centre of mass sits at the centre. A model trained on MNIST reads a
drawing well only after the same treatment, so this module does exactly that, for canvas RGBA
payloads (transparent or opaque background), photos of pen or pencil on paper (uneven light, a
vignette, a shadow, the table beside the sheet: `handwritten.data.ink`) and image files of any
mode. Several digits in one image are segmented left to right:
the pieces of ink are found here (`handwritten.data.pieces`) and grouped by column overlap; a
predictor then regroups them by what its model reads best (`handwritten.recognition`). One
digit's normalisation (MNIST-like strokes, fit, centre) is `handwritten.data.normalise`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

# Decoding lives in `handwritten.data.decode`; its limits and error stay importable from here.
from handwritten.data.decode import MAX_PIXELS as MAX_PIXELS
from handwritten.data.decode import MAX_UPLOAD_BYTES as MAX_UPLOAD_BYTES
from handwritten.data.decode import WORK_SIDE, ImageError, decode_image, image_to_rgba, load_image
from handwritten.data.ink import MIN_CONTRAST, drawn_box, extract_ink, luminance, reduce_large
from handwritten.data.normalise import (  # re-exported: the pipeline's public names
    FIT_SIZE,
    INK_THRESHOLD,
    MNIST_CENTRE,
    MNIST_SIZE,
    MNIST_STROKE_WIDTH,
    DigitCrop,
    centre_by_mass,
    fit_box,
    ink_box,
    normalise_digit,
)
from handwritten.data.pieces import Pieces, crop_group, find_pieces, geometric_groups

__all__ = [
    "FIT_SIZE", "INK_THRESHOLD", "MAX_PIXELS", "MAX_UPLOAD_BYTES", "MNIST_CENTRE", "MNIST_SIZE",
    "MNIST_STROKE_WIDTH", "WORK_SIDE", "DigitCrop", "ImageError", "PreprocessResult",
    "centre_by_mass", "decode_image", "fit_box", "image_to_rgba", "load_image",
    "normalise_digit", "preprocess",
]  # fmt: skip


@dataclass
class PreprocessResult:
    """The pipeline's steps for display, and the model inputs."""

    original: np.ndarray  # RGBA uint8 as decoded
    grayscale: np.ndarray  # luminance after compositing transparency, [0, 1]
    ink: np.ndarray  # white ink on black, lighting-corrected, normalised
    digits: list[DigitCrop] = field(default_factory=list)
    inverted: bool = False  # True when the input was dark ink on a light background
    reason: str = ""  # why no digit was found
    pieces: Pieces | None = None  # the ink's pieces, for regrouping by recognition
    groups: list[list[int]] = field(default_factory=list)  # each digit's pieces (positions)

    @property
    def is_blank(self) -> bool:
        return not self.digits

    @property
    def images_n28(self) -> np.ndarray:
        """Model inputs, (N, 28, 28) float32, one per digit from left to right."""
        if not self.digits:
            return np.zeros((0, MNIST_SIZE, MNIST_SIZE), np.float32)
        return np.stack([d.centred for d in self.digits]).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Arrays


def as_rgba(image: np.ndarray) -> np.ndarray:
    """Accept (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA arrays, uint8 or floats in [0, 1]."""
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ImageError(f"expected an image array (H, W[, 1|3|4]), got shape {array.shape}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ImageError("the image has no pixels")
    if array.dtype != np.uint8:
        array = np.clip(np.nan_to_num(array.astype(np.float64)), 0.0, 1.0) * 255.0
        array = np.rint(array).astype(np.uint8)
    if array.ndim == 2:
        array = array[..., None]
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.shape[2] == 3:
        array = np.concatenate([array, np.full((*array.shape[:2], 1), 255, np.uint8)], axis=2)
    return array


# ---------------------------------------------------------------------------------------------
# The pipeline


def preprocess(
    image: np.ndarray | bytes | Path | Image.Image, *, multi: bool = True
) -> PreprocessResult:
    """Run the whole pipeline on an array, encoded bytes, a file path or a PIL image.

    With ``multi=False`` all ink is treated as one digit.
    """
    if isinstance(image, bytes):
        rgba = decode_image(image)
    elif isinstance(image, Path):
        rgba = load_image(image)
    elif isinstance(image, Image.Image):
        rgba = image_to_rgba(image)
    else:
        rgba = as_rgba(image)
    drawn = drawn_box(rgba)  # a canvas: only its drawing's box needs computing
    gray = luminance(rgba, drawn)
    reduced = reduce_large(gray)
    ink, inverted, contrast = extract_ink(reduced, drawn if reduced is gray else None)
    result = PreprocessResult(original=rgba, grayscale=gray, ink=ink, inverted=inverted)
    mask = ink >= INK_THRESHOLD
    if contrast < MIN_CONTRAST or not mask.any():
        result.reason = "nothing stands out from the background"
        return result
    min_area = max(6.0, 2e-4 * mask.size)
    if np.count_nonzero(mask) < min_area:
        result.reason = "too little ink to be a digit"
        return result
    min_extent = max(4, round(0.03 * max(mask.shape)))
    if not multi:
        box = ink_box(mask)
        assert box is not None  # the mask has ink: checked above
        if max(box[0].stop - box[0].start, box[1].stop - box[1].start) < min_extent:
            result.reason = "only specks, no stroke long enough to be a digit"
            return result
        result.digits = [normalise_digit(ink, mask)]
        return result
    found = find_pieces(mask)
    groups = [g for g in geometric_groups(found) if _extent(found, g) >= min_extent]
    if not groups:
        result.reason = "only specks, no stroke long enough to be a digit"
        return result
    result.pieces, result.groups = found, groups
    result.digits = [crop_group(ink, found, g) for g in groups]
    return result


def _extent(found: Pieces, group: list[int]) -> int:
    top, left, bottom, right = found.box_of(group)
    return max(bottom - top, right - left)
