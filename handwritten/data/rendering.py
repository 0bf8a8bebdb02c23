"""MNIST digits redrawn the way people draw them: pen paths, a brush, and their accidents.

An MNIST digit is thinned to its skeleton (its pen paths), then redrawn with a round brush 5 to
40 px wide on a 320 px canvas, at any size from tiny to huge, anywhere, slanted, rotated, tall
and narrow, and with the accidents real drawings have: a 5 whose hat is not joined to its
body, a 7 with a detached bar, a 4 drawn in two strokes that do not meet, a 3 in two strokes,
a 1 with a separate flag, broken strokes, stray brush dots and specks; and regional forms
(a 1 with a flag and a base, a crossed 7: `handwritten.data.regional`). Strings of digits are
laid out with touching, tight and loose gaps. Photos of the ink: `handwritten.data.photographs`.

Everything is drawn from an explicit `numpy` generator, so a set built from a seed is the same
set every time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from handwritten.data.regional import regional
from handwritten.data.strokes import draw_segments, skeleton_segments, thin

CANVAS = 320  # the Draw page's canvas side
WORK = 112  # an MNIST digit is thinned at 4x


@dataclass(frozen=True)
class Pen:
    """How one digit is drawn: size in canvas pixels, brush, slant and accidents."""

    height: float
    width: float  # brush diameter
    aspect: float  # horizontal stretch (below 1: tall and narrow)
    shear: float
    rotation: float  # radians
    detach: bool  # the class's typical detached part (a 5's hat, a 7's bar, ...)
    breaks: int  # further random breaks in the strokes
    gap: float  # visible gap at a break, canvas pixels


def random_pen(rng: np.random.Generator, height: float, *, accidents: float = 1.0) -> Pen:
    """A pen for a digit `height` px tall; `accidents` scales how often strokes come apart."""
    width = float(np.exp(rng.uniform(np.log(5), np.log(40))))
    width = float(np.clip(width, 2.5, max(3.0, 0.2 * height)))
    aspect = float(rng.uniform(0.45, 0.8)) if rng.random() < 0.25 else float(rng.uniform(0.85, 1.2))
    return Pen(
        height=height,
        width=width,
        aspect=aspect,
        shear=float(rng.uniform(-0.35, 0.35)),
        rotation=float(np.deg2rad(rng.uniform(-12, 12))),
        # People leave parts unjoined when they draw big enough to lift the pen on purpose.
        detach=bool(height >= 50 and rng.random() < 0.35 * accidents),
        breaks=int(height >= 80 and rng.random() < 0.15 * accidents)
        + int(height >= 80 and rng.random() < 0.05 * accidents),
        gap=float(rng.uniform(2.0, max(3.0, min(0.5 * width, 0.08 * height)))),
    )


def mnist_skeleton(digit_u8: np.ndarray) -> np.ndarray:
    """The pen paths of an MNIST digit: its one-pixel skeleton at 4x, cropped to the ink."""
    image = Image.fromarray(np.asarray(digit_u8, np.uint8)).resize(
        (WORK, WORK), Image.Resampling.BICUBIC
    )
    mask = np.asarray(image) > 110
    # Fill pinholes only (a closing would also fill a 9's small loop and lose it).
    holes = ndimage.binary_fill_holes(mask) & ~mask
    labels, count = ndimage.label(holes)
    if count:
        areas = ndimage.sum_labels(holes, labels, np.arange(1, count + 1))
        mask |= np.isin(labels, 1 + np.flatnonzero(areas <= 6))
    skeleton = thin(mask)
    rows = np.flatnonzero(skeleton.any(axis=1))
    cols = np.flatnonzero(skeleton.any(axis=0))
    return skeleton[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _neighbour_count(skeleton: np.ndarray) -> np.ndarray:
    kernel = np.ones((3, 3), np.int32)
    kernel[1, 1] = 0
    return ndimage.convolve(skeleton.astype(np.int32), kernel, mode="constant") * skeleton


def _detach_point(skeleton: np.ndarray, label: int) -> tuple[int, int, int] | None:
    """Where `label` is typically drawn in two strokes: (row, col, side), side -1 cuts only the
    part left of the point (a 4's crossbar), 0 cuts all around it."""
    ys, xs = np.nonzero(skeleton)
    height = max(int(ys.max()), 1)
    rel = ys / height

    def pick(keep: np.ndarray, key: np.ndarray) -> tuple[int, int] | None:
        if not keep.any():
            return None
        index = np.flatnonzero(keep)[int(np.argmin(key[keep]))]
        return int(ys[index]), int(xs[index])

    spot: tuple[int, int] | None = None
    side = 0
    if label == 5:  # the hat meets the stem at the top left
        spot = pick(rel < 0.35, xs.astype(float))
    elif label == 7:  # the bar meets the stroke at the top right
        spot = pick(rel < 0.3, -xs.astype(float))
    elif label == 3:  # the middle cusp
        spot = pick((rel > 0.35) & (rel < 0.65), xs.astype(float))
    elif label == 2:  # the bottom left corner
        spot = pick(rel > 0.7, xs.astype(float))
    elif label == 1:  # a flag meets the stem at the top; a plain stick has nothing to detach
        top = rel < 0.3
        if np.ptp(xs[top]) > 0.3 * height:
            spot = pick(top, ys.astype(float))
    elif label == 4:  # the crossbar meets the upright
        junctions = _neighbour_count(skeleton)[ys, xs] >= 3
        spot = pick(junctions & (xs > np.median(xs)), -rel)
        side = -1
    return None if spot is None else (*spot, side)


def _cut(skeleton: np.ndarray, row: int, col: int, radius: float, side: int = 0) -> np.ndarray:
    yy, xx = np.ogrid[: skeleton.shape[0], : skeleton.shape[1]]
    near = (yy - row) ** 2 + (xx - col) ** 2 <= radius * radius
    if side < 0:
        near &= xx < col - 1
    return skeleton & ~near


def accidents(skeleton: np.ndarray, label: int, pen: Pen, rng: np.random.Generator) -> np.ndarray:
    """The skeleton in its regional form, if any (`regional`), with the pen's breaks (each
    wide enough to stay open under the brush)."""
    skeleton = regional(skeleton, label, pen.height)
    scale = pen.height / max(skeleton.shape[0], 1)  # canvas px per skeleton px
    # A visible gap needs the path cut by a brush width more; never more than an eighth of
    # the digit, or a fat brush on a small digit would cut away whole strokes.
    radius = min((pen.width + pen.gap) / (2 * scale), 0.125 * skeleton.shape[0])
    if pen.detach:
        point = _detach_point(skeleton, label)
        if point is not None:
            skeleton = _cut(skeleton, point[0], point[1], radius, point[2])
    for _ in range(pen.breaks):
        ys, xs = np.nonzero(skeleton)
        if len(ys) < 10:
            break
        index = rng.integers(len(ys))
        skeleton = _cut(skeleton, int(ys[index]), int(xs[index]), radius)
    return skeleton


def _transform(points_k2: np.ndarray, centre: np.ndarray, pen: Pen, scale: float) -> np.ndarray:
    cos, sin = np.cos(pen.rotation), np.sin(pen.rotation)
    matrix = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, pen.shear], [0.0, 1.0]])
    matrix = matrix @ np.diag([pen.aspect * scale, scale])
    return (points_k2 - centre) @ matrix.T


def pen_strokes(
    skeleton: np.ndarray, pen: Pen
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """Segments and dots of the skeleton in canvas units around (0, 0), and their extent
    (x0, y0, x1, y1) including the brush."""
    segments, dots = skeleton_segments(skeleton)
    scale = pen.height / max(skeleton.shape[0], 1)
    centre = np.array([skeleton.shape[1] / 2, skeleton.shape[0] / 2])
    segments = _transform(segments.reshape(-1, 2), centre, pen, scale).reshape(-1, 2, 2)
    dots = _transform(dots, centre, pen, scale)
    everything = np.concatenate([segments.reshape(-1, 2), dots])
    half = pen.width / 2
    low, high = everything.min(axis=0) - half, everything.max(axis=0) + half
    return segments, dots, (float(low[0]), float(low[1]), float(high[0]), float(high[1]))


def specks_and_dots(
    ink: np.ndarray, box: tuple[float, float, float, float], pen: Pen, rng: np.random.Generator
) -> np.ndarray:
    """Add what lands on real canvases: specks (far smaller than a stroke) and, sometimes, a
    stray brush dot near the digit that touches no stroke."""
    size = ink.shape
    dots: list[tuple[float, float, float]] = []
    if rng.random() < 0.3:
        for _ in range(rng.integers(1, 5)):
            dots.append((rng.uniform(0, size[1]), rng.uniform(0, size[0]), rng.uniform(0.5, 1.5)))
    if rng.random() < 0.12:
        x0, y0, x1, y1 = box
        reach = 0.35 * (y1 - y0)
        for _ in range(20):  # a place near the digit that touches nothing
            x, y = rng.uniform(x0 - reach, x1 + reach), rng.uniform(y0 - reach, y1 + reach)
            r = pen.width / 2
            if not (2 * r <= x < size[1] - 2 * r and 2 * r <= y < size[0] - 2 * r):
                continue
            rows = slice(max(0, int(y - 3 * r)), int(y + 3 * r) + 1)
            cols = slice(max(0, int(x - 3 * r)), int(x + 3 * r) + 1)
            if ink[rows, cols].max() < 0.05:
                dots.append((x, y, r))
                break
    if not dots:
        return ink
    extra = np.zeros_like(ink)
    for x, y, r in dots:
        dot = draw_segments(np.zeros((0, 2, 2)), np.array([[x, y]]), size, 2 * r)
        extra = np.maximum(extra, dot)
    return np.maximum(ink, extra)


def draw_digit(
    digit_u8: np.ndarray, label: int, size: tuple[int, int], rng: np.random.Generator,
    *, height: float | None = None, accidents_rate: float = 1.0,
) -> np.ndarray:  # fmt: skip
    """Ink in [0, 1] of shape `size`: one MNIST digit redrawn by a random pen, anywhere."""
    side = min(size)
    if height is None:
        height = _random_height(rng, side)
    pen = random_pen(rng, height, accidents=accidents_rate)
    segments, dots, (x0, y0, x1, y1) = _pen_paths(digit_u8, label, pen, rng)
    fit = min(1.0, 0.98 * size[1] / (x1 - x0), 0.98 * size[0] / (y1 - y0))
    segments, dots = segments * fit, dots * fit
    x0, y0, x1, y1 = x0 * fit, y0 * fit, x1 * fit, y1 * fit
    dx = rng.uniform(-x0, size[1] - x1)
    dy = rng.uniform(-y0, size[0] - y1)
    shift = np.array([dx, dy])
    ink = draw_segments(segments + shift, dots + shift, size, pen.width * fit)
    return specks_and_dots(ink, (x0 + dx, y0 + dy, x1 + dx, y1 + dy), pen, rng)


def draw_alone(digit_u8: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """Ink in [0, 1] of one MNIST digit redrawn by a random pen of the canvas (any size and
    brush, slanted, with detached parts and broken strokes, as `draw_digit`), on a canvas just
    big enough for it and with no specks or stray dots: what the right grouping of a drawing
    hands the model, so a model can learn drawn digits (`handwritten.training.redrawn`)."""
    pen = random_pen(rng, _random_height(rng, CANVAS))
    segments, dots, (x0, y0, x1, y1) = _pen_paths(digit_u8, label, pen, rng)
    margin = 2.0
    shift = np.array([margin - x0, margin - y0])
    size = (math.ceil(y1 - y0 + 2 * margin), math.ceil(x1 - x0 + 2 * margin))
    return draw_segments(segments + shift, dots + shift, size, pen.width)


def _random_height(rng: np.random.Generator, side: int) -> float:
    """A digit's height on a canvas of `side` px: tiny to huge, evenly on a log scale."""
    return float(np.exp(rng.uniform(np.log(0.1 * side), np.log(0.9 * side))))


def _pen_paths(
    digit_u8: np.ndarray, label: int, pen: Pen, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """The digit's pen paths with the pen's accidents, in canvas units (`pen_strokes`)."""
    return pen_strokes(accidents(mnist_skeleton(digit_u8), label, pen, rng), pen)


def canvas_payload(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink as the canvas sends it: RGBA uint8, in one of the canvas's three looks."""
    value = (np.clip(ink, 0, 1) * 255).round().astype(np.uint8)
    rgba = np.zeros((*ink.shape, 4), np.uint8)
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


def _gap(rng: np.random.Generator, height: float, width: float) -> float:
    """The visible gap before a digit in a string: touching, tight or loose."""
    kind = rng.random()
    if kind < 0.1:  # touching: strokes overlap by up to half a brush
        return float(rng.uniform(-0.5 * width, 0.0))
    if kind < 0.5:
        return float(rng.uniform(2.0, max(3.0, 0.25 * height)))
    return float(rng.uniform(0.25 * height, 1.0 * height))


def _string_digit(
    digit: np.ndarray, label: int, shared: Pen, rng: np.random.Generator
) -> tuple[Pen, np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """One digit of a string: the string's brush, slant and stretch give or take a little, its
    own size and accidents (half as often as alone); its pen paths (`pen_strokes`)."""
    own = random_pen(rng, shared.height * rng.uniform(0.88, 1.12), accidents=0.5)
    pen = Pen(
        height=own.height, width=shared.width, aspect=shared.aspect * rng.uniform(0.9, 1.1),
        shear=shared.shear + rng.uniform(-0.08, 0.08), rotation=own.rotation * 0.5,
        detach=own.detach, breaks=own.breaks, gap=own.gap,
    )  # fmt: skip
    skeleton = accidents(mnist_skeleton(digit), label, pen, rng)
    return (pen, *pen_strokes(skeleton, pen))


@dataclass(frozen=True)
class _Line:
    """Digits laid out side by side on one line with one pen."""

    pen: Pen  # the line's pen (each digit's own varies it a little: `_string_digit`)
    placed: list[tuple[np.ndarray, np.ndarray]]  # each digit's segments and dots, in place
    size: tuple[int, int]  # of the canvas that holds them
    margin: float
    end: float  # where the last digit ends (x)
    gaps: list[float]  # before each digit but the first (negative: overlapping)


def _lay_out(
    digits_nhw: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
    margin_of: Callable[[Pen], float], gap_of: Callable[[Pen], float],
) -> _Line:  # fmt: skip
    """Digits drawn by a string's pen, left to right with `gap_of(pen)` before each but the
    first, on a canvas with `margin_of(pen)` all round."""
    height = float(np.exp(rng.uniform(np.log(45), np.log(190))))
    shared = random_pen(rng, height)
    drawn = [_string_digit(digit, int(label), shared, rng) for digit, label in
             zip(digits_nhw, labels, strict=True)]  # fmt: skip
    margin = margin_of(shared)
    placed, cursor, gaps = [], margin, []
    for index, (_, segments, dots, (x0, y0, x1, y1)) in enumerate(drawn):
        if index:
            gaps.append(gap_of(shared))
            cursor += gaps[-1]
        shift = np.array([cursor - x0, margin + 0.6 * height - (y0 + y1) / 2])
        shift[1] += rng.uniform(-0.06, 0.06) * height
        placed.append((segments + shift, dots + shift))
        cursor += x1 - x0
    size = (round(1.2 * height + 2 * margin), round(cursor + margin))
    return _Line(shared, placed, size, margin, cursor, gaps)


def draw_touching_pair(
    digits_nhw: np.ndarray, labels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two MNIST digits drawn as a string's neighbours (`draw_string`'s pen) whose strokes
    touch, overlapping by up to half a brush: the ink, and each digit's own ink (2, H, W) on
    the same canvas, so a cut through the pair can be told apart by whose ink it holds."""
    line = _lay_out(
        digits_nhw, labels, rng, lambda pen: pen.width + 2.0,
        lambda pen: -float(rng.uniform(0.05, 0.5)) * pen.width,
    )  # fmt: skip
    layers = np.stack([draw_segments(s, d, line.size, line.pen.width) for s, d in line.placed])
    return layers.max(axis=0), layers


def draw_string(
    digits_nhw: np.ndarray, labels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Ink of a string of MNIST digits on one line, one pen, each digit with its own accidents
    (half as often as alone) and its own gap before it; and whether any two digits were set
    touching (their boxes overlap)."""
    line = _lay_out(
        digits_nhw, labels, rng, lambda pen: 0.3 * pen.height + pen.width,
        lambda pen: _gap(rng, pen.height, pen.width),
    )  # fmt: skip
    segments = np.concatenate([s for s, _ in line.placed])
    dots = np.concatenate([d for _, d in line.placed])
    ink = draw_segments(segments, dots, line.size, line.pen.width)
    box = (line.margin, line.margin, line.end, line.size[0] - line.margin)
    return specks_and_dots(ink, box, line.pen, rng), any(gap <= 0 for gap in line.gaps)
