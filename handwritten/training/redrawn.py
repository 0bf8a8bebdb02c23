"""MNIST training digits redrawn the way people draw them, for a model to learn from.

MNIST's digits were written with a pen on paper and scanned; people here draw with a mouse or a
finger: a round brush of any width, any size, slanted, with a 5's hat or a 7's bar not joined,
strokes broken. A model that never saw such digits reads them less surely than MNIST's, and
less surely than the stroke-drawn non-digits it learns to decline, so a drawn digit loses to
"not a digit" or to "unsure". These positives are MNIST *training* digits (never the held-out
part) redrawn by the realistic sets' pen (`handwritten.data.rendering.draw_alone`) and
normalised exactly as a drawing's chosen grouping is, with their own labels.
"""

from __future__ import annotations

import numpy as np

from handwritten.data.mnist import Split
from handwritten.data.normalise import INK_THRESHOLD, normalise_digit
from handwritten.data.rendering import draw_alone
from handwritten.training.bank import DrawnFn, cached_bank, report_drawn


def to_input(ink: np.ndarray) -> np.ndarray | None:
    """A drawn image to the uint8 28x28 model input, or None when it holds no stroke."""
    mask = ink >= INK_THRESHOLD
    if mask.sum() < 6:
        return None
    centred = normalise_digit(ink, mask).centred
    return np.clip(np.rint(centred * 255), 0, 255).astype(np.uint8)


def chosen(count: int, seed: int, digits: Split) -> np.ndarray:
    """Which of `digits` are redrawn: `count` indices, each digit at most once while it can."""
    rng = np.random.default_rng([seed, 12])
    return rng.choice(len(digits), count, replace=count > len(digits))


def generate(count: int, seed: int, digits: Split, on_drawn: DrawnFn | None = None) -> np.ndarray:
    """The redrawings of `chosen(count, seed, digits)`, uint8 (count, 28, 28); digit k is drawn
    by its own generator, so a bank is the same whatever order it is drawn in. `on_drawn` is
    told the count as it grows (`report_drawn`)."""
    out = np.zeros((count, 28, 28), np.uint8)
    for k, index in enumerate(chosen(count, seed, digits)):
        rng = np.random.default_rng([seed, 13, k])
        label = int(digits.labels_n[index])
        image = None
        while image is None:  # a pen too fine for a tiny digit can leave no ink: redraw it
            image = to_input(draw_alone(digits.images_nhw[index], label, rng))
        out[k] = image
        report_drawn(on_drawn, k + 1, count)
    return out


def redrawn_digits(count: int, seed: int, digits: Split, on_drawn: DrawnFn | None = None) -> Split:
    """`count` redrawn digits with their labels, drawn once and then read from the cache
    (`on_drawn` hears of the drawing only when it happens)."""
    images = cached_bank(
        "redrawn-v1", count, seed, [digits], lambda: generate(count, seed, digits, on_drawn)
    )
    return Split(images, digits.labels_n[chosen(count, seed, digits)].astype(np.uint8))
