"""MNIST training digits redrawn the way people draw them, for a model to learn from.

MNIST's digits were written with a pen on paper and scanned; people here draw with a mouse or a
finger: a round brush of any width, any size, slanted, with a 5's hat or a 7's bar not joined,
strokes broken. A model that never saw such digits reads them less surely than MNIST's, and
less surely than the stroke-drawn non-digits it learns to decline, so a drawn digit loses to
"not a digit" or to "unsure". These positives are MNIST *training* digits (never the held-out
part) redrawn by the realistic sets' pen (`handwritten.data.rendering.draw_alone`) and
normalised exactly as a drawing's chosen grouping is, with their own labels.

A share of them (`PARTED`) are drawn touching a neighbour, as in a string written quickly, and
parted the way segmentation parts touching digits (`handwritten.data.pieces`: a cut at a thin
column): the model reads that side, a digit with a nub of its neighbour or a little of its own
stroke missing. A model that never saw such a side reads it unsurely or not at all, and the
touching pair is then read as one "not a digit" (the squeezed negatives teach that a whole pair
is none).
"""

from __future__ import annotations

import numpy as np

from handwritten.data.mnist import Split
from handwritten.data.normalise import INK_THRESHOLD, normalise_digit
from handwritten.data.pieces import Pieces, crop_group, find_pieces
from handwritten.data.rendering import draw_alone, draw_touching_pair
from handwritten.training.bank import DrawnFn, cached_bank, report_drawn

PARTED = 0.25  # share of the redrawn digits drawn touching a neighbour and parted from it
# A side is kept when at least this share of its ink is the digit's own and it holds at least
# this share of the digit's ink: else the cut went through the digit, not between the two.
PURE = 0.85


def to_input(ink: np.ndarray) -> np.ndarray | None:
    """A drawn image to the uint8 28x28 model input, or None when it holds no stroke."""
    mask = ink >= INK_THRESHOLD
    if mask.sum() < 6:
        return None
    return _as_uint8(normalise_digit(ink, mask).centred)


def _as_uint8(centred: np.ndarray) -> np.ndarray:
    """A 28x28 model input in [0, 1] as a bank stores it."""
    return np.clip(np.rint(centred * 255), 0, 255).astype(np.uint8)


def _shares(found: Pieces, layers: np.ndarray) -> np.ndarray:
    """(pieces, 2): how much of each piece's ink is each digit's own."""
    owner = found.labels
    return np.stack(
        [np.bincount(owner.ravel(), weights=layer.ravel(), minlength=len(found.pieces) + 1)
         for layer in layers], axis=1,
    )[[p.index for p in found.pieces]]  # fmt: skip


def parted(ink: np.ndarray, layers: np.ndarray, side: int) -> np.ndarray | None:
    """Side `side` (0 left, 1 right) of a touching pair (`draw_touching_pair`) as the model
    sees it once segmentation parts the pair between two of its pieces (the parting where both
    sides are purest), or None when no parting keeps both digits whole (`PURE`)."""
    found = find_pieces(ink >= INK_THRESHOLD)
    if len(found.pieces) < 2:
        return None
    shares = _shares(found, layers)
    totals = shares.sum(axis=0)
    best, best_purity = None, 0.0
    for split in range(1, len(found.pieces)):
        left, right = shares[:split].sum(axis=0), shares[split:].sum(axis=0)
        purity = min(left[0] / max(left.sum(), 1e-9), right[1] / max(right.sum(), 1e-9))
        whole = min(left[0] / totals[0], right[1] / totals[1])
        if purity >= PURE and whole >= PURE and purity > best_purity:
            best, best_purity = split, purity
    if best is None:
        return None
    members = list(range(best)) if side == 0 else list(range(best, len(found.pieces)))
    return _as_uint8(crop_group(ink, found, members).centred)


def _parted_redrawing(digits: Split, index: int, rng: np.random.Generator) -> np.ndarray | None:
    """Digit `index` drawn touching a random neighbour (on a random side) and parted from it."""
    partner = int(rng.integers(len(digits)))
    side = int(rng.integers(2))
    pair = [index, partner] if side == 0 else [partner, index]
    ink, layers = draw_touching_pair(digits.images_nhw[pair], digits.labels_n[pair], rng)
    return parted(ink, layers, side)


def chosen(count: int, seed: int, digits: Split) -> np.ndarray:
    """Which of `digits` are redrawn: `count` indices, each digit at most once while it can."""
    rng = np.random.default_rng([seed, 12])
    return rng.choice(len(digits), count, replace=count > len(digits))


def generate(
    count: int, seed: int, digits: Split, on_drawn: DrawnFn | None = None,
    parted_share: float = PARTED,
) -> np.ndarray:  # fmt: skip
    """The redrawings of `chosen(count, seed, digits)`, uint8 (count, 28, 28), `parted_share`
    of them parted from a touching neighbour; digit k is drawn by its own generator, so a bank
    is the same whatever order it is drawn in. `on_drawn` is told the count as it grows
    (`report_drawn`)."""
    out = np.zeros((count, 28, 28), np.uint8)
    for k, index in enumerate(chosen(count, seed, digits)):
        out[k] = redrawing(digits, int(index), seed, k, is_parted(seed, k, parted_share))
        report_drawn(on_drawn, k + 1, count)
    return out


def is_parted(seed: int, k: int, parted_share: float = PARTED) -> bool:
    """Whether a bank's `k`-th redrawing is drawn touching a neighbour (its own generator)."""
    return bool(np.random.default_rng([seed, 14, k]).random() < parted_share)


def redrawing(digits: Split, index: int, seed: int, k: int, parted: bool) -> np.ndarray:
    """A bank's `k`-th redrawing, of digit `index`: parted from a touching neighbour, or drawn
    alone (also when no side could be kept), by the generator of (`seed`, `k`)."""
    rng = np.random.default_rng([seed, 13, k])
    image = _parted_redrawing(digits, index, rng) if parted else None
    while image is None:  # a pen too fine for a tiny digit can leave no ink: redraw it
        image = to_input(draw_alone(digits.images_nhw[index], int(digits.labels_n[index]), rng))
    return image


def redrawn_digits(count: int, seed: int, digits: Split, on_drawn: DrawnFn | None = None) -> Split:
    """`count` redrawn digits with their labels, drawn once and then read from the cache
    (`on_drawn` hears of the drawing only when it happens)."""
    images = cached_bank(
        "redrawn-v3", count, seed, [digits], lambda: generate(count, seed, digits, on_drawn)
    )
    return Split(images, digits.labels_n[chosen(count, seed, digits)].astype(np.uint8))
