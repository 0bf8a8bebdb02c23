"""One digit's ink to MNIST's look: crop, MNIST-like strokes, fit 20x20, centre of mass.

MNIST digits are fitted so the longer side is 20 px and placed in 28x28 with the centre of mass
in the middle; their strokes are then about 3.3 px wide (median; 5-95 %: 2.4-5.0 px). A canvas
brush is 5 to 40 px wide whatever the digit's size, so after fitting a big digit drawn with a
thin brush has hairline strokes and a small or tall narrow digit drawn with a fat brush has
blobs. So strokes are measured after fitting, at four times the fitted resolution (where the
measure is unbiased), and corrected both ways when they fall outside MNIST's usual range:
thin strokes are dilated, thick ones are redrawn from their medial ridge at MNIST's median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from handwritten.data.morphology import dilate_disk, erode_disk

MNIST_SIZE = 28
FIT_SIZE = 20
# MNIST's mean centre of mass, measured on the training set (row, col).
MNIST_CENTRE = (14.0, 14.0)
INK_THRESHOLD = 0.35  # normalised ink above this is part of a stroke
# Strokes are measured and corrected at this many pixels per fitted pixel.
SUPERSAMPLE = 4
# Stroke width of MNIST training digits by `stroke_width` on the 28x28 images upsampled 4x
# (threshold 0.35), in 28x28 pixels: median 3.27 (5 %: 2.44, 25 %: 2.90, 90 %: 4.42).
MNIST_STROKE_WIDTH = 3.27
# Fitted strokes inside this range (in 28x28 pixels) are left as drawn; outside it they are
# brought to MNIST's median.
STROKE_RANGE = (2.6, 4.4)
OUTLINE_TO_EDT = 0.67  # `estimate_width` / `stroke_width`, median over MNIST training digits


@dataclass
class DigitCrop:
    """One digit: where it was and each step to the 28x28 model input (floats in [0, 1])."""

    box: tuple[int, int, int, int]  # (top, left, bottom, right) in `PreprocessResult.ink` pixels
    cropped: np.ndarray  # the ink inside the box, other digits masked out
    fitted: np.ndarray  # scaled so the longer side is 20 px, strokes MNIST-like
    centred: np.ndarray  # 28x28, centre of mass at the centre
    stroke_width: float = 0.0  # after fitting, before correction, in 28x28 pixels


def padded(mask: np.ndarray, width: int) -> np.ndarray:
    """`mask` with `width` zeros around it (ten times faster than the general padding of numpy
    on arrays this small)."""
    rows, cols = mask.shape
    out = np.zeros((rows + 2 * width, cols + 2 * width), mask.dtype)
    out[width : width + rows, width : width + cols] = mask
    return out


def ink_box(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The slices of the smallest box holding all of `mask`, or None when it is empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return None
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels: four times the mean distance to the background (exact
    for a long bar; it over-reads strokes only a pixel or two wide, hence `SUPERSAMPLE`)."""
    if not mask.any():
        return 0.0
    distance = ndimage.distance_transform_edt(padded(mask, 1))[1:-1, 1:-1]
    return 4.0 * float(distance[mask].mean())


def estimate_width(mask: np.ndarray) -> float:
    """Stroke width from area and outline: a stroke of length L and width w covers L * w pixels
    and has about 2 L outline pixels (far cheaper than a distance transform of the image)."""
    framed = padded(np.asarray(mask, bool), 1)
    # A 3x3 erosion as two passes of three slices (a square is separable): faster than
    # ndimage, and than nine slices, on small images.
    across = framed[:, :-2] & framed[:, 1:-1] & framed[:, 2:]
    inner = across[:-2] & across[1:-1] & across[2:]
    area = int(np.count_nonzero(mask))
    outline = area - int(np.count_nonzero(inner))
    return 2.0 * area / max(outline, 1)


def fast_stroke_width(mask: np.ndarray) -> float:
    """`stroke_width` from `estimate_width`, without a distance transform: on MNIST digits at
    4x the two agree closely (correlation 0.986) with a ratio of 0.67."""
    return estimate_width(mask) / OUTLINE_TO_EDT


def _fitted_shape(shape: tuple[int, ...], size: int) -> tuple[int, int]:
    """(rows, cols) once the longer side is `size`, aspect ratio kept."""
    scale = size / max(shape)
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def _resize(image: np.ndarray, shape: tuple[int, int], method: Image.Resampling) -> np.ndarray:
    """Pillow's resampling of a float image (the buffer shared both ways: a fifth faster than
    `Image.fromarray` and `np.asarray`; a digit's normalisation resizes two or three times)."""
    source = np.ascontiguousarray(image, np.float32)
    picture = Image.frombuffer("F", (source.shape[1], source.shape[0]), source, "raw", "F", 0, 1)
    resized = picture.resize((shape[1], shape[0]), method)
    return np.frombuffer(resized.tobytes(), np.float32).reshape(shape)


def fit_box(crop: np.ndarray, size: int = FIT_SIZE) -> np.ndarray:
    """Scale so the longer side is `size` pixels, keeping the aspect ratio (anti-aliased)."""
    fitted = _resize(crop, _fitted_shape(crop.shape, size), Image.Resampling.LANCZOS)
    return np.clip(fitted, 0.0, 1.0)


def _redraw(mask: np.ndarray, width: float, target: float) -> np.ndarray:
    """`mask` (padded where it grows) with strokes `target` px wide, measured `width` now: thin
    strokes dilated by the missing half-width; thick ones eroded by the extra half-width (exact
    for a brush's even strokes), keeping any piece the erosion would remove entirely. The
    round brush is `handwritten.data.morphology`'s, which gives a distance transform's pixels."""
    if width < target:
        reach = (target - width) / 2
        return dilate_disk(padded(mask, int(np.ceil(reach)) + 1), reach)
    core = erode_disk(padded(mask, 1), (width - target) / 2)[1:-1, 1:-1]
    pieces, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count > 1:
        kept = np.unique(pieces[core])
        core |= ~np.isin(pieces, kept) & (pieces > 0)
    return core


def _crop_to_ink(mask: np.ndarray) -> np.ndarray:
    box = ink_box(mask)
    assert box is not None, "a redrawn digit keeps its ink"
    return mask[box]


def _goal(target: float, width: float, side: int) -> float:
    """The width to redraw at so that it is `target` once the redrawn ink is refitted: changing
    strokes from `width` to w' moves the box's longer `side` by (w' - width) too."""
    path = max(side - width, 1.0)
    return max(target * path / max(side - target, 1.0), 0.5 * target)


def fit_strokes(crop: np.ndarray, size: int = FIT_SIZE) -> tuple[np.ndarray, float]:
    """`fit_box` with MNIST-like strokes: (fitted image, its stroke width before correction, in
    fitted pixels). A corrected digit is refitted to its new box (a thin 1 gets wider)."""
    work_shape = _fitted_shape(crop.shape, size * SUPERSAMPLE)
    grow = max(work_shape) >= max(crop.shape)
    work = _resize(crop, work_shape, Image.Resampling.BILINEAR if grow else Image.Resampling.BOX)
    mask = work >= 0.3
    width = fast_stroke_width(mask) / SUPERSAMPLE
    if width <= 0 or STROKE_RANGE[0] <= width <= STROKE_RANGE[1]:
        return fit_box(crop, size), width
    target, side = MNIST_STROKE_WIDTH * SUPERSAMPLE, size * SUPERSAMPLE
    measured = width * SUPERSAMPLE
    redrawn = _crop_to_ink(_redraw(mask, measured, _goal(target, measured, side)))
    again = fast_stroke_width(redrawn) * side / max(redrawn.shape)  # the first measure over-reads
    if again < 0.85 * target:  # hairlines, so correct once more
        scale = max(redrawn.shape) / side
        now = again * scale
        redrawn = _crop_to_ink(
            _redraw(redrawn, now, _goal(target * scale, now, max(redrawn.shape)))
        )
    fitted = _resize(
        redrawn.astype(np.float32), _fitted_shape(redrawn.shape, size), Image.Resampling.BOX
    )
    return np.clip(fitted, 0.0, 1.0), width


def centre_by_mass(fitted: np.ndarray, size: int = MNIST_SIZE) -> np.ndarray:
    """Place `fitted` in a size x size frame with its centre of mass at MNIST's centre."""
    out = np.zeros((size, size), np.float32)
    if fitted.sum() <= 0:
        return out
    weights = fitted.astype(np.float64)
    total = weights.sum()
    com_y = float((weights.sum(axis=1) * np.arange(fitted.shape[0])).sum() / total)
    com_x = float((weights.sum(axis=0) * np.arange(fitted.shape[1])).sum() / total)
    top = round(MNIST_CENTRE[0] - com_y)
    left = round(MNIST_CENTRE[1] - com_x)
    height, width = fitted.shape
    # Clip the paste to the frame (only matters for extreme aspect ratios).
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    rows = min(height - src_top, size - dst_top)
    cols = min(width - src_left, size - dst_left)
    out[dst_top : dst_top + rows, dst_left : dst_left + cols] = fitted[
        src_top : src_top + rows, src_left : src_left + cols
    ]
    return out


def normalise_crop(cropped: np.ndarray, box: tuple[int, int, int, int]) -> DigitCrop:
    """A digit's cropped ink (other ink already masked out) to the 28x28 model input."""
    fitted, width = fit_strokes(cropped)
    return DigitCrop(box, cropped, fitted, centre_by_mass(fitted), width)


def normalise_digit(ink: np.ndarray, group: np.ndarray) -> DigitCrop:
    """Crop one digit's ink (its pixels `group`, a full-size mask), fit it and centre it."""
    # Keep the anti-aliased fringe of this digit's strokes but no ink of its neighbours.
    box = ink_box(group)
    assert box is not None, "a digit has ink"
    (top, bottom), (left, right) = (box[0].start, box[0].stop), (box[1].start, box[1].stop)
    pad = 2
    t, b = max(0, top - pad), min(ink.shape[0], bottom + pad)
    lo, hi = max(0, left - pad), min(ink.shape[1], right + pad)
    region = ndimage.binary_dilation(
        group[t:b, lo:hi], structure=np.ones((3, 3), bool), iterations=2
    )
    local = np.where(region, ink[t:b, lo:hi], 0.0)
    cropped = local[top - t : bottom - t, left - lo : right - lo].astype(np.float32)
    return normalise_crop(cropped, (int(top), int(left), int(bottom), int(right)))
