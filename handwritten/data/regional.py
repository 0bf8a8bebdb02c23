"""Regional forms of digits that MNIST rarely holds: a 1 with a flag (and a base), a crossed 7.

MNIST's digits were written by American Census Bureau staff and students: its 1s are mostly
plain sticks and its 7s seldom crossed. Much of Europe writes a 1 with a long flag, often with
a base, and crosses its 7s; a model that never saw such a 1 reads it as a 7. The realistic pen
(`handwritten.data.rendering`) adds these strokes to a share of the 1s and 7s it redraws, both
for the sets that measure the reader and for the redrawn digits a model learns from.

The choice and the shape come from a generator seeded by the digit's own skeleton and the
pen's height, not from the caller's generator: every other digit of a set is drawn exactly as
before, and one digit redrawn by two pens can get two forms.
"""

from __future__ import annotations

import hashlib

import numpy as np

FLAG_SHARE = 0.4  # of plain-stick 1s drawn with a flag
BASE_SHARE = 0.3  # of flagged 1s also drawn with a base
CROSSED_SHARE = 0.3  # of 7s drawn crossed
PLAIN_STICK = 0.15  # a 1 whose top spans at most this share of its height has no flag yet


def _generator(skeleton: np.ndarray, label: int, height: float) -> np.random.Generator:
    digest = hashlib.blake2b(
        skeleton.tobytes() + bytes([label]) + np.float64(height).tobytes(), digest_size=8
    ).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def _line(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of a straight line through two points, 8-connected."""
    steps = int(max(abs(rows[1] - rows[0]), abs(cols[1] - cols[0]))) + 1
    return (
        np.rint(np.linspace(rows[0], rows[1], steps)).astype(int),
        np.rint(np.linspace(cols[0], cols[1], steps)).astype(int),
    )


def _with_strokes(
    skeleton: np.ndarray, lines: list[tuple[float, float, float, float]]
) -> np.ndarray:
    """The skeleton with straight strokes (row0, col0, row1, col1) added, grown to hold them."""
    rows = np.concatenate([[r0, r1] for r0, _, r1, _ in lines])
    cols = np.concatenate([[c0, c1] for _, c0, _, c1 in lines])
    top, left = min(0, int(np.floor(rows.min()))), min(0, int(np.floor(cols.min())))
    bottom = max(skeleton.shape[0], int(np.ceil(rows.max())) + 1)
    right = max(skeleton.shape[1], int(np.ceil(cols.max())) + 1)
    grown = np.zeros((bottom - top, right - left), bool)
    grown[-top : -top + skeleton.shape[0], -left : -left + skeleton.shape[1]] = skeleton
    for r0, c0, r1, c1 in lines:
        rr, cc = _line(np.array([r0, r1]) - top, np.array([c0, c1]) - left)
        grown[rr, cc] = True
    return grown


def _flagged_one(skeleton: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ys, xs = np.nonzero(skeleton)
    height = float(ys.max() - ys.min() + 1)
    if (
        np.ptp(xs[ys < ys.min() + 0.3 * height]) > PLAIN_STICK * height
        or rng.random() >= FLAG_SHARE
    ):
        return skeleton
    top_row, bottom_row = ys.min(), ys.max()
    top_col = float(xs[ys == top_row].mean())
    bottom_col = float(xs[ys == bottom_row].mean())
    up = np.array([top_row - bottom_row, top_col - bottom_col], float)
    up /= np.hypot(*up)
    left = np.array([-up[1], up[0]])  # the stem's left, whatever its slant
    # The flag leaves the top 120-150 degrees from the stem, down and to its left: a flatter
    # or longer one is a 7's bar.
    angle = np.deg2rad(rng.uniform(120, 150))
    row, col = (np.cos(angle) * up + np.sin(angle) * left) * rng.uniform(0.15, 0.35) * height
    lines = [(top_row, top_col, top_row + row, top_col + col)]
    if rng.random() < BASE_SHARE:
        half = rng.uniform(0.12, 0.25) * height
        lines.append((bottom_row, bottom_col - half, bottom_row, bottom_col + half))
    return _with_strokes(skeleton, lines)


def _crossed_seven(skeleton: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() >= CROSSED_SHARE:
        return skeleton
    ys, xs = np.nonzero(skeleton)
    height = float(ys.max() - ys.min() + 1)
    row = ys.min() + rng.uniform(0.45, 0.6) * height
    near = np.abs(ys - row) <= max(1.0, 0.04 * height)
    if not near.any():
        return skeleton
    col = float(xs[near].mean())
    half = rng.uniform(0.15, 0.3) * height
    tilt = rng.uniform(-0.05, 0.05) * height
    return _with_strokes(skeleton, [(row + tilt, col - half, row - tilt, col + half)])


def regional(skeleton: np.ndarray, label: int, height: float) -> np.ndarray:
    """The digit's skeleton, for a share of 1s and 7s in a regional form (flag and base,
    cross stroke); every other digit as it is."""
    if label not in (1, 7) or not skeleton.any():
        return skeleton
    rng = _generator(skeleton, label, height)
    return _flagged_one(skeleton, rng) if label == 1 else _crossed_seven(skeleton, rng)
