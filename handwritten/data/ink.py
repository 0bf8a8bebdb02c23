"""White ink on black from any picture: transparency composited, polarity, lighting, noise, scale.

A canvas's strokes, a photo of dark ink on paper lit from one side and a scan all come out the
same way: white strokes on a clean black background, normalised so a typical stroke is 1. This
runs on every stroke drawn, so it passes over the image only a few times, in place. A canvas
payload is mostly transparent: its drawing's box (`drawn_box`) is known before anything is
computed, and outside it every step gives the same constant, so the work is done inside the
box only and the result is what the whole image's computation gives, pixel for pixel.
A photo is not always plain paper to its edges: it may darken towards the corners, cross a
shadow or show the table beyond the sheet, so where its border is not plain the ink's polarity
is read from the whole image and the picture's own edges are cleared
(`handwritten.data.photo_frame`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from handwritten.data.decode import WORK_SIDE
from handwritten.data.normalise import INK_THRESHOLD, ink_box, padded
from handwritten.data.order_statistics import median, percentile, percentiles
from handwritten.data.photo_frame import (
    border,
    grain,
    plain_polarity,
    tail_polarity,
    without_frame_lines,
    without_the_table,
)

LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 weights of R, G and B
MIN_CONTRAST = 0.12  # below this nothing stands out from the background: no digit
UNEVEN_LIGHTING = 0.08  # a local background varying more than this is subtracted

Box = tuple[slice, slice]


def drawn_box(rgba: np.ndarray) -> Box | None:
    """The box of an image's pixels that are not fully transparent, when there are any outside
    it (a canvas payload), else None: the part of the image that `luminance` and `extract_ink`
    need to look at."""
    box = _visible_box(rgba)
    if box is None or (box[0].stop - box[0].start, box[1].stop - box[1].start) == rgba.shape[:2]:
        return None
    return box


def _visible_box(rgba: np.ndarray) -> Box | None:
    """A pixel as one little-endian word has alpha as its top byte, so a row or column holds
    a pixel that is not transparent where its largest word reaches 2**24: two quick
    reductions, where the strided alpha channel took four slow passes."""
    if not np.little_endian:
        return ink_box(rgba[..., 3] != 0)
    words = np.ascontiguousarray(rgba).view(np.uint32).reshape(rgba.shape[:2])
    visible = np.uint32(1 << 24)
    rows = np.flatnonzero(words.max(axis=1) >= visible)
    if not rows.size:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(words[top:bottom].max(axis=0) >= visible)
    return slice(top, bottom), slice(int(cols[0]), int(cols[-1]) + 1)


def _luma(rgba: np.ndarray) -> np.ndarray:
    """The channels weighed one by one: a product over the last axis of (H, W, 3) took ten
    times as long, and a matrix product goes through BLAS threads, which wait for a busy CPU."""
    gray = np.multiply(rgba[..., 0], np.float32(LUMA[0] / 255.0), dtype=np.float32)
    channel = np.empty_like(gray)
    for c in (1, 2):
        gray += np.multiply(rgba[..., c], np.float32(LUMA[c] / 255.0), out=channel)
    return gray


def luminance(rgba: np.ndarray, drawn: Box | None = None) -> np.ndarray:
    """ITU-R 601 luma in [0, 1], composited over the background that contrasts with the ink.

    A canvas with a transparent background stores strokes as opaque pixels and the rest as
    RGB 0 with alpha 0, so transparency is composited onto the opposite of the strokes' colour
    (black behind strokes that are mostly light). With `drawn` (`drawn_box`), only that box is
    computed: outside it alpha is 0, so the composite is the background's level everywhere.
    """
    if drawn is not None:
        part = rgba[drawn]
        inside, light_strokes = _composited(_luma(part), part[..., 3])
        gray = np.full(rgba.shape[:2], 0.0 if light_strokes else 1.0, np.float32)
        gray[drawn] = inside
        return gray
    gray = _luma(rgba)
    alpha_levels = rgba[..., 3]
    if alpha_levels.min() >= 253:  # alpha above 0.99 everywhere: opaque
        return gray
    return _composited(gray, alpha_levels)[0]


def _composited(gray: np.ndarray, alpha_levels: np.ndarray) -> tuple[np.ndarray, bool]:
    """`gray` (changed in place) over black behind light strokes, over white behind dark; and
    whether the strokes are light."""
    alpha = np.multiply(alpha_levels, np.float32(1 / 255.0), dtype=np.float32)
    strokes = gray[alpha_levels >= 128]
    light_strokes = bool(2 * np.count_nonzero(strokes >= 0.5) >= strokes.size)
    gray *= alpha
    if not light_strokes:  # dark strokes: composite onto white
        gray += 1.0
        gray -= alpha
    return gray, light_strokes


def reduce_large(gray: np.ndarray) -> np.ndarray:
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
    at_max = ink == brightest
    across = at_max[:, :-2] & at_max[:, 1:-1] & at_max[:, 2:]
    if (across[:-2] & across[1:-1] & across[2:]).any():  # a whole window at the maximum
        return brightest
    at_max = padded(at_max, 1).view(np.uint8)
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


def _robust_max_within(ink: np.ndarray, box: Box | None) -> float:
    """`_robust_max(ink)` where all ink lies in `box` (zeros around it): the box and one pixel
    around it hold every window that can reach the maximum."""
    if box is None:
        return _robust_max(ink)
    grown = _grown(box, 1, ink.shape)
    inside = ink[grown]
    return _robust_max(inside if min(inside.shape) >= 3 else ink)


def _grown(box: Box, margin: int, shape: tuple[int, ...]) -> Box:
    return (slice(max(0, box[0].start - margin), min(shape[0], box[0].stop + margin)),
            slice(max(0, box[1].start - margin), min(shape[1], box[1].stop + margin)))  # fmt: skip


def _pooling(window: int) -> int:
    return max(1, window // 12)


def _min_pooled(ink: np.ndarray, factor: int, box: Box | None) -> np.ndarray:
    """`ink`'s minimum over `factor` x `factor` cells (its last row and column repeated to fill
    the last cells). The minimum of strided slices, rows then columns: three times faster than
    a reduction over the axes of a reshaped view, and ten times faster than over two at once.
    With `box` (ink outside it all 0), only the cells that overlap it are computed: every
    other cell's minimum is 0."""
    rows, cols = ink.shape
    cells = (-(-rows // factor), -(-cols // factor))
    if box is None:
        first, last = (0, 0), cells
    else:
        first = (box[0].start // factor, box[1].start // factor)
        last = (-(-box[0].stop // factor), -(-box[1].stop // factor))
    part = ink[first[0] * factor : last[0] * factor, first[1] * factor : last[1] * factor]
    part = _edge_padded(part, (last[0] - first[0]) * factor, (last[1] - first[1]) * factor)
    rows_min = np.minimum.reduce([part[i::factor] for i in range(factor)])
    part_min = np.minimum.reduce([rows_min[:, i::factor] for i in range(factor)])
    if box is None:
        return part_min
    small = np.zeros(cells, ink.dtype)
    small[first[0] : last[0], first[1] : last[1]] = part_min
    return small


def _background(small: np.ndarray, window: int) -> tuple[np.ndarray, float]:
    """The paper's local level (a grey opening `window` wide, then a box blur) on the min-pooled
    image, and how much it varies (5 to 95 percentile). Lighting varies slowly, so it is
    computed with about 12 samples per window (a full-size 80 px opening took most of a
    canvas's preprocessing time); `_enlarged` brings it back to full size, only when the
    lighting is uneven enough to need it."""
    side = max(1, window // _pooling(window))
    if _opens_to_black(small, side):
        return np.zeros_like(small), 0.0
    small = ndimage.grey_opening(small, size=(side, side))
    small = ndimage.uniform_filter(small, size=max(3, side // 2))
    low, high = percentiles(small.ravel(), (5, 95))
    return small, high - low


def _opens_to_black(small: np.ndarray, side: int) -> bool:
    """Whether a grey opening `side` wide leaves `small` all 0, known without computing it: no
    level is below 0, and no block of lit cells is as large as the part of a window that lies
    inside the image (mode "reflect": at least half its side each way, even at a corner), so
    every window holds a 0, the erosion is 0 everywhere and so is the dilation after it. A
    drawing's strokes are far narrower than a window, so a canvas's background is black and
    this saves the opening and the blur (most of its ink extraction)."""
    if float(small.min()) < 0.0:
        return False
    rows, cols = (min(n, -(-side // 2)) for n in small.shape)
    lit = small > 0
    across = np.logical_and.reduce([lit[:, c : lit.shape[1] - cols + 1 + c] for c in range(cols)])
    block = np.logical_and.reduce([across[r : across.shape[0] - rows + 1 + r] for r in range(rows)])
    return not block.any()


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


def _polarised(gray: np.ndarray, inverted: bool, box: Box | None) -> np.ndarray:
    """Light ink on dark, as a new array; with `box`, 0 outside it."""
    if box is None:
        return 1.0 - gray if inverted else gray.copy()
    ink = np.zeros(gray.shape, np.float32)
    if inverted:
        np.subtract(1.0, gray[box], out=ink[box])
    else:
        ink[box] = gray[box]
    return ink


def _paper_outside(gray: np.ndarray, box: Box | None, inverted: bool) -> Box | None:
    """`box` when `gray` outside it (one level, as `luminance` leaves a transparent canvas's
    background) is black once polarised, else None: then the whole image is worked on."""
    if box is None:
        return None
    (top, bottom), (left, right) = (box[0].start, box[0].stop), (box[1].start, box[1].stop)
    rows, cols = gray.shape
    beside = [(r, c) for r, c in ((top - 1, left), (bottom, left), (top, left - 1), (top, right))
              if 0 <= r < rows and 0 <= c < cols]  # fmt: skip
    if not beside:  # the box is the whole image
        return None
    level = float(gray[beside[0]])
    return box if (1.0 - level if inverted else level) == 0.0 else None


def extract_ink(gray: np.ndarray, drawn: Box | None = None) -> tuple[np.ndarray, bool, float]:
    """White-on-black ink in [0, 1] from a grayscale image of any polarity.

    Returns (ink, inverted, contrast). The background is estimated locally (a wide grey opening)
    so a photo with a shadow across it still gives a clean black background. The levels to
    remove are found on the border's pixels and the scale on the strokes', so the whole image
    is passed over only a few times, in place. `drawn`: `drawn_box` of the image `luminance`
    made `gray` from (outside it the background's level); the answer is the same without it.
    """
    plain = plain_polarity(gray)
    inverted = tail_polarity(gray) if plain is None else plain
    box = _paper_outside(gray, drawn, inverted)
    ink = _polarised(gray, inverted, box)
    if plain is None:
        without_the_table(ink, MIN_CONTRAST)
    window = max(3, min(ink.shape) // 4)
    background, spread = _background(_min_pooled(ink, _pooling(window), box), window)
    uneven = spread > UNEVEN_LIGHTING
    if uneven:  # subtract the local background
        box = None
        ink -= _enlarged(background, window, ink.shape)
    paper = border(ink)
    shift = 0.0 if uneven else median(paper)
    # Sensor noise: a grey opening sits below the paper by a few noise sigmas, so remove the
    # residual level and three robust sigmas (MAD of the border, which is paper) first.
    residue = paper - shift
    level = median(residue)
    noise = 1.4826 * median(np.abs(residue - level))
    removed = shift + level + 3.0 * noise
    if removed < 0:  # the paper outside the box would be lifted above black
        box = None
    work = ink if box is None else ink[box]
    work -= removed
    np.maximum(work, 0.0, out=work)
    least = max(MIN_CONTRAST, 3.0 * noise, 6.0 * grain(paper))
    contrast = _robust_max_within(ink, box)
    if contrast < least:
        return np.zeros_like(ink), inverted, contrast
    work[work < 0.2 * contrast] = 0.0  # paper texture and sensor noise
    # A picture whose border is not plain (a photo) may show the sheet's edge; clearing it may
    # leave a fainter digit, so the contrast is taken again.
    if plain is None and without_frame_lines(work):
        contrast = _robust_max_within(ink, box)
        if contrast < least:
            return np.zeros_like(ink), inverted, contrast
    strokes = work[work >= INK_THRESHOLD * contrast]
    typical = percentile(strokes, 75) / contrast if strokes.size else 1.0
    work *= 1.0 / (contrast * max(typical, 0.5))
    np.minimum(work, 1.0, out=work)
    return ink, inverted, contrast
