"""Dilation and erosion of a binary mask by a round brush, exactly as a distance transform.

Stroke correction (`handwritten.data.normalise`) grows thin strokes to every pixel within a
distance of the ink and thins thick ones to the pixels farther than a distance from the paper.
A Euclidean distance transform of the whole crop answers both, but it computes every pixel's
exact distance when only "within r or not" is asked, and took most of a thin digit's
normalisation (240 us of 430 on a canvas crop). A round brush of radius r is a stack of
horizontal runs, one per row offset, so the same answer is a few shifted ORs of the rows
grown sideways: a tenth of the time, and the same pixels (the brush holds exactly the offsets
whose distance, computed as the transform computes it, is within r).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=256)
def _half_widths(radius: float) -> tuple[int, ...]:
    """For row offsets 0, 1, ... the largest column offset within `radius` (as
    `scipy.ndimage.distance_transform_edt` measures: the square root of an exact integer sum of
    squares, in double precision); rows with no offset within it are left off."""
    reach = int(np.floor(radius)) + 1
    rows, cols = np.mgrid[0:reach, 0:reach]
    inside = np.sqrt((rows * rows + cols * cols).astype(np.float64)) <= radius
    return tuple(int(np.flatnonzero(row)[-1]) for row in inside if row.any())


def _shifted_or(target: np.ndarray, source: np.ndarray, rows: int, cols: int) -> None:
    """target |= source moved by (rows, cols), what moves out of the frame dropped."""
    height, width = source.shape
    if abs(rows) >= height or abs(cols) >= width:
        return
    r0, r1 = max(rows, 0), height + min(rows, 0)
    c0, c1 = max(cols, 0), width + min(cols, 0)
    target[r0:r1, c0:c1] |= source[r0 - rows : r1 - rows, c0 - cols : c1 - cols]


def dilate_disk(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels within `radius` of a True pixel of `mask` (the frame's outside counts as False):
    ``distance_transform_edt(~mask) <= radius`` where `mask` has a True pixel."""
    mask = np.asarray(mask, bool)
    if radius < 0:
        return np.zeros_like(mask)
    widths = _half_widths(radius)
    across: dict[int, np.ndarray] = {}
    grown = mask.copy()
    for step in range(1, max(widths) + 1):  # rows grown sideways by 1, 2, ... px
        _shifted_or(grown, mask, 0, step)
        _shifted_or(grown, mask, 0, -step)
        if step in widths:
            across[step] = grown.copy()
    across[0] = mask
    out = across[widths[0]].copy()
    for offset, half in enumerate(widths[1:], 1):
        _shifted_or(out, across[half], offset, 0)
        _shifted_or(out, across[half], -offset, 0)
    return out


def erode_disk(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels of `mask` farther than `radius` from every False pixel (the frame's outside is
    not paper): ``distance_transform_edt(mask) > radius`` where `mask` has a False pixel."""
    return ~dilate_disk(~np.asarray(mask, bool), radius)
