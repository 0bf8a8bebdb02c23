"""Turn any picture of digits into what MNIST looks like, keeping every intermediate step.

MNIST digits are white ink on black, fitted to a 20x20 box with their aspect ratio kept, and
placed in 28x28 so that the centre of mass sits at the centre. A model trained on MNIST reads a
drawing well only after the same treatment, so this module does exactly that, for canvas RGBA
payloads (transparent or opaque background), photos of dark ink on light paper (uneven lighting
included) and image files of any mode. Several digits in one image are segmented left to right:
the pieces of ink are found here (`handwritten.data.pieces`) and grouped by column overlap; a
predictor then regroups them by what its model reads best (`handwritten.recognition`). One
digit's normalisation (MNIST-like strokes, fit, centre) is `handwritten.data.normalise`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

# Decoding lives in `handwritten.data.decode`; its limits and error stay importable from here.
from handwritten.data.decode import MAX_PIXELS as MAX_PIXELS
from handwritten.data.decode import MAX_UPLOAD_BYTES as MAX_UPLOAD_BYTES
from handwritten.data.decode import WORK_SIDE, ImageError, decode_image, image_to_rgba, load_image
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
    padded,
)
from handwritten.data.order_statistics import median, percentile, percentiles
from handwritten.data.pieces import Pieces, crop_group, find_pieces, geometric_groups

__all__ = [
    "FIT_SIZE", "INK_THRESHOLD", "MAX_PIXELS", "MAX_UPLOAD_BYTES", "MNIST_CENTRE", "MNIST_SIZE",
    "MNIST_STROKE_WIDTH", "WORK_SIDE", "DigitCrop", "ImageError", "PreprocessResult",
    "centre_by_mass", "decode_image", "fit_box", "image_to_rgba", "load_image",
    "normalise_digit", "preprocess",
]  # fmt: skip

MIN_CONTRAST = 0.12  # below this nothing stands out from the background: no digit


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
# Ink extraction


LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 weights of R, G and B


def luminance(rgba: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma in [0, 1], composited over the background that contrasts with the ink.

    A canvas with a transparent background stores strokes as opaque pixels and the rest as
    RGB 0 with alpha 0, so transparency is composited onto the opposite of the strokes' colour
    (black behind strokes that are mostly light). The channels are weighed one by one: a
    product over the last axis of (H, W, 3) took ten times as long, and a matrix product goes
    through BLAS threads, which wait for a busy CPU.
    """
    gray = np.multiply(rgba[..., 0], np.float32(LUMA[0] / 255.0), dtype=np.float32)
    channel = np.empty_like(gray)
    for c in (1, 2):
        gray += np.multiply(rgba[..., c], np.float32(LUMA[c] / 255.0), out=channel)
    alpha_levels = rgba[..., 3]
    if alpha_levels.min() >= 253:  # alpha above 0.99 everywhere: opaque
        return gray
    alpha = np.multiply(alpha_levels, np.float32(1 / 255.0), out=channel)
    strokes = gray[alpha_levels >= 128]
    light_strokes = 2 * np.count_nonzero(strokes >= 0.5) >= strokes.size
    gray *= alpha
    if not light_strokes:  # dark strokes: composite onto white
        gray += 1.0
        gray -= alpha
    return gray


def _border(array: np.ndarray) -> np.ndarray:
    width = max(1, min(array.shape) // 50)
    return np.concatenate(
        [
            array[:width].ravel(),
            array[-width:].ravel(),
            array[:, :width].ravel(),
            array[:, -width:].ravel(),
        ]
    )


def _reduce(gray: np.ndarray) -> np.ndarray:
    """Shrink large images (area averaging) so later filters stay fast."""
    side = max(gray.shape)
    if side <= WORK_SIDE:
        return gray
    scale = WORK_SIDE / side
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    return np.asarray(Image.fromarray(gray, mode="F").resize(size, Image.Resampling.BOX))


def _robust_max(ink: np.ndarray) -> float:
    """The brightest level a 3x3 median keeps (a hot pixel does not count), computed only
    where it can be reached: at pixels at least half as bright as the brightest. Drawn ink is
    usually saturated, so first the cheap case: where five of a window's nine pixels hold the
    maximum, the median there is the maximum, and no median can exceed it."""
    if ink.size < 9 or min(ink.shape) < 3:
        return float(ink.max())
    brightest = float(ink.max())
    at_max = padded(ink == brightest, 1).view(np.uint8)
    rows, cols = ink.shape
    count = np.zeros(ink.shape, np.uint8)
    for dr in range(3):
        for dc in range(3):
            count += at_max[dr : dr + rows, dc : dc + cols]
    if count.max() >= 5:
        return brightest
    framed = padded(ink, 1)
    rows_at, cols_at = np.nonzero(ink >= 0.5 * brightest)
    windows = np.stack([framed[rows_at + dr, cols_at + dc] for dr in range(3) for dc in range(3)])
    return float(np.partition(windows, 4, axis=0)[4].max())


def _pooling(window: int) -> int:
    return max(1, window // 12)


def _background(ink: np.ndarray, window: int) -> tuple[np.ndarray, float]:
    """The paper's local level (a grey opening `window` wide, then a box blur) on a min-pooled
    copy, and how much it varies (5 to 95 percentile). Lighting varies slowly, so it is
    computed with about 12 samples per window (a full-size 80 px opening took most of a
    canvas's preprocessing time); `_enlarged` brings it back to full size, only when the
    lighting is uneven enough to need it."""
    factor = _pooling(window)
    rows, cols = ink.shape
    tall, wide = -(-rows // factor) * factor, -(-cols // factor) * factor
    padded = _edge_padded(ink, tall, wide)
    # The minimum of `factor` strided slices, rows then columns: three times faster than a
    # reduction over the axes of a reshaped view, and ten times faster than over two at once.
    rows_min = np.minimum.reduce([padded[i::factor] for i in range(factor)])
    small = np.minimum.reduce([rows_min[:, i::factor] for i in range(factor)])
    side = max(1, window // factor)
    small = ndimage.grey_opening(small, size=(side, side))
    small = ndimage.uniform_filter(small, size=max(3, side // 2))
    low, high = percentiles(small.ravel(), (5, 95))
    return small, high - low


def _edge_padded(image: np.ndarray, tall: int, wide: int) -> np.ndarray:
    """`image` grown to (tall, wide) by repeating its last row and column (`np.pad`'s "edge"
    mode, which costs six times as much on a canvas)."""
    rows, cols = image.shape
    if (rows, cols) == (tall, wide):
        return image
    out = np.empty((tall, wide), image.dtype)
    out[:rows, :cols] = image
    out[:rows, cols:] = image[:, -1:]
    out[rows:] = out[rows - 1 : rows]
    return out


def _enlarged(small: np.ndarray, window: int, shape: tuple[int, int]) -> np.ndarray:
    """`_background`'s min-pooled level at full size `shape` (bilinear)."""
    factor = _pooling(window)
    if factor == 1:
        return small[: shape[0], : shape[1]]
    tall, wide = small.shape[0] * factor, small.shape[1] * factor
    image = Image.fromarray(small.astype(np.float32), mode="F")
    enlarged = np.asarray(image.resize((wide, tall), Image.Resampling.BILINEAR))
    return enlarged[: shape[0], : shape[1]]


def extract_ink(gray: np.ndarray) -> tuple[np.ndarray, bool, float]:
    """White-on-black ink in [0, 1] from a grayscale image of any polarity.

    Returns (ink, inverted, contrast). The background is estimated locally (a wide grey opening)
    so a photo with a shadow across it still gives a clean black background. The levels to
    remove are found on the border's pixels and the scale on the strokes', so the whole image
    is passed over only a few times, in place (this runs on every stroke drawn).
    """
    inverted = median(_border(gray)) > 0.5
    ink = 1.0 - gray if inverted else gray.copy()
    window = max(3, min(ink.shape) // 4)
    background, spread = _background(ink, window)
    shift = 0.0
    if spread > 0.08:  # uneven lighting: subtract the local background
        ink -= _enlarged(background, window, ink.shape)
    else:
        shift = median(_border(ink))
    # Sensor noise: a grey opening sits below the paper by a few noise sigmas, so remove the
    # residual level and three robust sigmas (MAD of the border, which is paper) first.
    border = _border(ink) - shift
    level = median(border)
    noise = 1.4826 * median(np.abs(border - level))
    ink -= shift + level + 3.0 * noise
    np.maximum(ink, 0.0, out=ink)
    contrast = _robust_max(ink)
    if contrast < max(MIN_CONTRAST, 6.0 * noise):
        return np.zeros_like(ink), inverted, contrast
    ink[ink < 0.2 * contrast] = 0.0  # paper texture and sensor noise
    strokes = ink[ink >= INK_THRESHOLD * contrast]
    typical = percentile(strokes, 75) / contrast if strokes.size else 1.0
    ink *= 1.0 / (contrast * max(typical, 0.5))
    np.minimum(ink, 1.0, out=ink)
    return ink, inverted, contrast


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
    gray = luminance(rgba)
    ink, inverted, contrast = extract_ink(_reduce(gray))
    result = PreprocessResult(original=rgba, grayscale=gray, ink=ink, inverted=inverted)
    mask = ink >= INK_THRESHOLD
    if contrast < MIN_CONTRAST or not mask.any():
        result.reason = "nothing stands out from the background"
        return result
    min_area = max(6.0, 2e-4 * mask.size)
    if mask.sum() < min_area:
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
