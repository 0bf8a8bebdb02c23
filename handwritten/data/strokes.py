"""Strokes as a brush draws them, and the skeleton of a stroke image.

Two jobs that both need "ink as pen paths": drawing paths with a round brush of a given width
(anti-aliased, as the canvas does) to make realistic test drawings and generated non-digits, and
thinning a binary stroke image to its one-pixel skeleton (Zhang-Suen), which turns an MNIST
bitmap back into pen paths that can be redrawn with any brush.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

SUPERSAMPLE = 2  # drawn at twice the size and reduced by area: anti-aliased edges

# Zhang-Suen neighbours P2..P9, clockwise from north, as (row, col) offsets.
_NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def draw_paths(paths: Sequence[np.ndarray], size: tuple[int, int], width: float) -> np.ndarray:
    """Ink in [0, 1], shape `size` (rows, cols): each path (K, 2) of (x, y) points drawn as a
    round brush `width` pixels wide; a one-point path is a dot."""
    segments = [np.stack([p[:-1], p[1:]], 1) for p in map(np.asarray, paths) if len(p) > 1]
    dots = [p[:1] for p in map(np.asarray, paths) if len(p) == 1]
    return draw_segments(
        np.concatenate(segments) if segments else np.zeros((0, 2, 2)),
        np.concatenate(dots) if dots else np.zeros((0, 2)),
        size,
        width,
    )


def draw_segments(
    segments_k22: np.ndarray, dots_k2: np.ndarray, size: tuple[int, int], width: float
) -> np.ndarray:
    """Ink in [0, 1] from line segments (K, 2, 2) of (x, y) ends and dots (M, 2), one brush;
    every segment end gets a round cap, so joints are round as a brush makes them."""
    factor = SUPERSAMPLE
    canvas = Image.new("L", (size[1] * factor, size[0] * factor), 0)
    draw = ImageDraw.Draw(canvas)
    radius = max(width * factor / 2.0, 0.5)
    line_width = max(1, round(2 * radius))
    for (x0, y0), (x1, y1) in np.asarray(segments_k22, np.float64) * factor:
        draw.line([(x0, y0), (x1, y1)], fill=255, width=line_width)
    ends = np.asarray(segments_k22, np.float64).reshape(-1, 2)
    dots = np.asarray(dots_k2, np.float64).reshape(-1, 2)
    points = np.unique(np.concatenate([ends, dots]), axis=0)
    for x, y in points * factor:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    canvas = canvas.resize((size[1], size[0]), Image.Resampling.BOX)
    return np.asarray(canvas, np.float32) / 255.0


def thin(mask: np.ndarray) -> np.ndarray:
    """The one-pixel skeleton of a binary image (Zhang & Suen 1984), bool of the same shape."""
    image = np.pad(np.asarray(mask, bool), 1).astype(np.uint8)
    rows, cols = image.shape
    while True:
        changed = False
        for first in (True, False):
            p = [image[1 + dr : rows - 1 + dr, 1 + dc : cols - 1 + dc] for dr, dc in _NEIGHBOURS]
            centre = image[1:-1, 1:-1]
            count = sum(n.astype(np.int32) for n in p)
            ring = [*p, p[0]]
            steps = itertools.pairwise(ring)
            transitions = sum(((a == 0) & (b == 1)).astype(np.int32) for a, b in steps)
            p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
            if first:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (centre == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            if remove.any():
                centre[remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def skeleton_segments(skeleton: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A skeleton as pen paths: segments (K, 2, 2) joining 8-neighbouring pixels, and the
    isolated pixels (M, 2) as dots; coordinates are (x, y) pixel centres."""
    skeleton = np.asarray(skeleton, bool)
    segments = []
    linked = np.zeros_like(skeleton)
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        here = skeleton.copy()
        there = np.zeros_like(skeleton)
        rows, cols = skeleton.shape
        r0, r1 = 0, rows - dr
        c0, c1 = max(0, -dc), cols - max(0, dc)
        there[r0:r1, c0:c1] = skeleton[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        pairs = here & there
        ys, xs = np.nonzero(pairs)
        if len(ys):
            segments.append(np.stack([np.stack([xs, ys], 1), np.stack([xs + dc, ys + dr], 1)], 1))
            linked[ys, xs] = True
            linked[ys + dr, xs + dc] = True
    ys, xs = np.nonzero(skeleton & ~linked)
    all_segments = np.concatenate(segments) if segments else np.zeros((0, 2, 2), np.int64)
    return all_segments.astype(np.float64), np.stack([xs, ys], 1).astype(np.float64)
