"""Turn any picture of digits into what MNIST looks like, keeping every intermediate step.

MNIST digits are white ink on black, fitted to a 20x20 box with their aspect ratio kept, and
placed in 28x28 so that the centre of mass sits at the centre. A model trained on MNIST reads a
drawing well only after the same treatment, so this module does exactly that, for canvas RGBA
payloads (transparent or opaque background), photos of dark ink on light paper (uneven lighting
included) and image files of any mode. Several digits in one image are segmented left to right.
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

MNIST_SIZE = 28
FIT_SIZE = 20
# MNIST's mean centre of mass, measured on the training set (row, col).
MNIST_CENTRE = (14.0, 14.0)
# Stroke width of MNIST digits by `_stroke_width` in the 28x28 frame (median of the training set).
MNIST_STROKE_WIDTH = 4.7

INK_THRESHOLD = 0.35  # normalised ink above this is part of a stroke
MIN_CONTRAST = 0.12  # below this nothing stands out from the background: no digit


@dataclass
class DigitCrop:
    """One digit: where it was and each step to the 28x28 model input (floats in [0, 1])."""

    box: tuple[int, int, int, int]  # (top, left, bottom, right) in `PreprocessResult.ink` pixels
    cropped: np.ndarray  # the ink inside the box, other digits masked out
    fitted: np.ndarray  # scaled so the longer side is 20 px
    centred: np.ndarray  # 28x28, centre of mass at the centre


@dataclass
class PreprocessResult:
    """The pipeline's steps for display, and the model inputs."""

    original: np.ndarray  # RGBA uint8 as decoded
    grayscale: np.ndarray  # luminance after compositing transparency, [0, 1]
    ink: np.ndarray  # white ink on black, lighting-corrected, normalised
    digits: list[DigitCrop] = field(default_factory=list)
    inverted: bool = False  # True when the input was dark ink on a light background
    reason: str = ""  # why no digit was found

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


def luminance(rgba: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma in [0, 1], composited over the background that contrasts with the ink.

    A canvas with a transparent background stores strokes as opaque pixels and the rest as
    RGB 0 with alpha 0, so transparency is composited onto the opposite of the strokes' colour.
    """
    rgb = rgba[..., :3].astype(np.float32) / 255.0
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    if alpha.min() > 0.99:
        return gray
    opaque = alpha > 0.5
    stroke_level = float(np.median(gray[opaque])) if opaque.any() else 1.0
    background = 0.0 if stroke_level >= 0.5 else 1.0
    return gray * alpha + background * (1.0 - alpha)


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


def extract_ink(gray: np.ndarray) -> tuple[np.ndarray, bool, float]:
    """White-on-black ink in [0, 1] from a grayscale image of any polarity.

    Returns (ink, inverted, contrast). The background is estimated locally (a wide grey opening)
    so a photo with a shadow across it still gives a clean black background.
    """
    inverted = float(np.median(_border(gray))) > 0.5
    ink = 1.0 - gray if inverted else gray.copy()
    window = max(3, min(ink.shape) // 4)
    background = ndimage.grey_opening(ink, size=(window, window))
    background = ndimage.uniform_filter(background, size=max(3, window // 2))
    spread = float(np.percentile(background, 95) - np.percentile(background, 5))
    if spread > 0.08:  # uneven lighting: subtract the local background
        ink = ink - background
    else:
        ink = ink - float(np.median(_border(ink)))
    # Sensor noise: a grey opening sits below the paper by a few noise sigmas, so remove the
    # residual level and three robust sigmas (MAD of the border, which is paper) first.
    border = _border(ink)
    level = float(np.median(border))
    noise = 1.4826 * float(np.median(np.abs(border - level)))
    ink = np.clip(ink - level - 3.0 * noise, 0.0, None)
    contrast = (
        float(ndimage.median_filter(ink, size=3).max()) if ink.size >= 9 else float(ink.max())
    )
    if contrast < max(MIN_CONTRAST, 6.0 * noise):
        return np.zeros_like(ink), inverted, contrast
    ink = ink / contrast
    ink[ink < 0.2] = 0.0  # paper texture and sensor noise
    strokes = ink[ink >= INK_THRESHOLD]
    if strokes.size:
        ink = ink / max(float(np.percentile(strokes, 75)), 0.5)
    return np.clip(ink, 0.0, 1.0).astype(np.float32), inverted, contrast


# ---------------------------------------------------------------------------------------------
# Segmentation


def _components(mask: np.ndarray) -> list[np.ndarray]:
    """Pixel masks of the connected strokes, specks removed."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return []
    areas = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, count + 1))
    keep_min = max(4.0, 0.03 * float(areas.max()))
    return [labels == i + 1 for i, area in enumerate(areas) if area >= keep_min]


def _x_range(component: np.ndarray) -> tuple[int, int]:
    columns = np.flatnonzero(component.any(axis=0))
    return int(columns[0]), int(columns[-1])


def group_digits(mask: np.ndarray) -> list[np.ndarray]:
    """Connected components merged into digits, left to right.

    Pieces whose column ranges overlap by half of the narrower one belong to the same digit (a
    5's hat, the two strokes of a 4, a crossed 7); separate digits side by side do not overlap.
    """
    pieces = sorted(_components(mask), key=lambda c: _x_range(c)[0])
    groups: list[np.ndarray] = []
    for piece in pieces:
        left, right = _x_range(piece)
        for index, group in enumerate(groups):
            g_left, g_right = _x_range(group)
            overlap = min(right, g_right) - max(left, g_left) + 1
            if overlap >= 0.5 * min(right - left + 1, g_right - g_left + 1):
                groups[index] = group | piece
                break
        else:
            groups.append(piece)
    return sorted(groups, key=lambda g: _x_range(g)[0])


# ---------------------------------------------------------------------------------------------
# Normalisation of one digit


def _stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels: four times the mean distance to the background."""
    if not mask.any():
        return 0.0
    distance = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    return 4.0 * float(distance[mask].mean())


def _disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y) <= radius * radius + 0.5


def _thicken_thin_strokes(crop: np.ndarray) -> np.ndarray:
    """Dilate strokes that would be much thinner than MNIST's once fitted to 20 px."""
    mask = crop >= INK_THRESHOLD
    side = max(crop.shape)
    width_fitted = _stroke_width(mask) * FIT_SIZE / side
    target = 0.75 * MNIST_STROKE_WIDTH
    if width_fitted <= 0 or width_fitted >= target:
        return crop
    radius = round((target - width_fitted) / 2 * side / FIT_SIZE)
    if radius < 1:
        return crop
    return ndimage.grey_dilation(crop, footprint=_disk(radius))


def fit_box(crop: np.ndarray, size: int = FIT_SIZE) -> np.ndarray:
    """Scale so the longer side is `size` pixels, keeping the aspect ratio (anti-aliased)."""
    height, width = crop.shape
    scale = size / max(height, width)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(crop.astype(np.float32), mode="F").resize(
        new_size, Image.Resampling.LANCZOS
    )
    return np.clip(np.asarray(resized), 0.0, 1.0).astype(np.float32)


def centre_by_mass(fitted: np.ndarray, size: int = MNIST_SIZE) -> np.ndarray:
    """Place `fitted` in a size x size frame with its centre of mass at MNIST's centre."""
    out = np.zeros((size, size), np.float32)
    if fitted.sum() <= 0:
        return out
    com_y, com_x = ndimage.center_of_mass(fitted)
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


def normalise_digit(ink: np.ndarray, group: np.ndarray) -> DigitCrop:
    """Crop one digit's ink, fit it to 20x20 and centre it in 28x28 by centre of mass."""
    # Keep the anti-aliased fringe of this digit's strokes but no ink of its neighbours.
    region = ndimage.binary_dilation(group, structure=np.ones((3, 3), bool), iterations=2)
    rows = np.flatnonzero(group.any(axis=1))
    cols = np.flatnonzero(group.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    cropped = np.where(region, ink, 0.0)[top:bottom, left:right].astype(np.float32)
    fitted = fit_box(_thicken_thin_strokes(cropped))
    return DigitCrop(
        box=(int(top), int(left), int(bottom), int(right)),
        cropped=cropped,
        fitted=fitted,
        centred=centre_by_mass(fitted),
    )


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
    groups = group_digits(mask) if multi else [mask]
    min_extent = max(4, round(0.03 * max(mask.shape)))
    groups = [g for g in groups if _extent(g) >= min_extent]
    if not groups:
        result.reason = "only specks, no stroke long enough to be a digit"
        return result
    result.digits = [normalise_digit(ink, g) for g in groups]
    return result


def _extent(group: np.ndarray) -> int:
    rows = np.flatnonzero(group.any(axis=1))
    cols = np.flatnonzero(group.any(axis=0))
    return int(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)
