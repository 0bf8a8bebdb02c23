"""What a model trains on: MNIST minus its held-out part, plus generated "not a digit" images
(and, when a recipe asks, its digits redrawn by a pen: `handwritten.training.redrawn`).

The negatives teach the 11th output ("not a digit", `NOT_A_DIGIT`) what people draw that is not
a digit, and what segmentation must not read as one digit:

- hand-drawn glyphs (letters, symbols, shapes, faces, scribbles; `handwritten.data.nondigits`,
  training templates only): people draw by hand, so most negatives are strokes;
- typeset glyphs from the fonts on the machine (DejaVu, Liberation), for variety;
- two or three training digits squeezed side by side into one box: what reading two touching
  digits as one looks like, so segmentation prefers to part them.

Each is drawn on a small canvas and normalised exactly as a drawing is (`normalise_digit`),
so the model sees negatives the way it will see the real thing. The bank is deterministic in
(count, seed) and cached on disk, since drawing it takes a while on a busy CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from handwritten.data.heldout import split_off
from handwritten.data.mnist import Split
from handwritten.data.nondigits import TRAINING_NAMES, draw_nondigit
from handwritten.models.architectures import NOT_A_DIGIT
from handwritten.training.bank import DrawnFn, cached_bank, report_drawn
from handwritten.training.redrawn import redrawn_digits, to_input

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
# Typeset characters that are not digit-like (see `handwritten.data.nondigits` for why some
# letters are never negatives).
TYPESET = "ACEFHJLMNPTUVWXYZekmnrtuwf+-=#%@$?*<>~^"  # none of the held-out templates
SHARES = {"drawn": 0.7, "typeset": 0.1, "squeezed": 0.2}
# With drawn digits to learn from, a share of the negatives are digits cut in two (`_fragment`).
SHARES_WITH_DRAWN = {"drawn": 0.55, "typeset": 0.1, "squeezed": 0.2, "fragment": 0.15}


def shares(with_drawn: bool) -> dict[str, float]:
    """The share of each kind of negative in a bank, with or without drawn digits."""
    return SHARES_WITH_DRAWN if with_drawn else SHARES


NEGATIVES_WHAT = "training non-digits"  # what a bank is, in progress reports
REDRAWN_WHAT = "redrawn training digits"
WORK = 112  # side of the small canvas a negative is drawn on


def _fonts() -> list[Path]:
    return sorted(p for d in FONT_DIRS if d.is_dir() for p in d.glob("*.ttf"))


def _typeset(rng: np.random.Generator, fonts: list[Path]) -> np.ndarray:
    font = ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), int(rng.integers(50, 80)))
    image = Image.new("L", (WORK, WORK), 0)
    ImageDraw.Draw(image).text((20, 10), TYPESET[int(rng.integers(len(TYPESET)))], 255, font=font)
    angle = float(rng.uniform(-12, 12))
    return np.asarray(image.rotate(angle, Image.Resampling.BILINEAR), np.float32) / 255


def _squeezed(rng: np.random.Generator, digits: Split) -> np.ndarray:
    """Two or three MNIST digits side by side, touching to a few pixels apart."""
    count = 2 if rng.random() < 0.8 else 3
    chosen = rng.choice(len(digits), count, replace=False)
    canvas = np.zeros((40, 40 * count), np.float32)
    cursor = 4
    for index in chosen:
        image = digits.images_nhw[index].astype(np.float32) / 255
        cols = np.flatnonzero(image.max(axis=0) > 0.2)
        piece = image[:, cols[0] : cols[-1] + 1]
        top = 6 + int(rng.integers(-3, 4))
        width = min(piece.shape[1], canvas.shape[1] - cursor)
        region = canvas[top : top + 28, cursor : cursor + width]
        np.maximum(region, piece[:, :width], out=region)
        cursor += width + int(rng.integers(-2, 5))
    return canvas


def _fragment(rng: np.random.Generator, digits: Split) -> np.ndarray | None:
    """The lesser side of a digit parted at a column, as segmentation parts touching digits:
    what a wrong cut hands the model beside the rest (a 5's hat end, a 4's crossbar, a 3's
    tips). The greater side often still looks like the digit (a 3 without its tips), so it is
    never a negative. None for a digit too narrow to be parted (segmentation never cuts one:
    `handwritten.data.pieces`) or a side with too little or too much of the ink."""
    image = digits.images_nhw[int(rng.integers(len(digits)))].astype(np.float32) / 255
    rows = np.flatnonzero(image.max(axis=1) > 0.2)
    cols = np.flatnonzero(image.max(axis=0) > 0.2)
    if len(rows) == 0 or len(cols) < 0.6 * len(rows):
        return None
    column = cols[0] + round(len(cols) * rng.uniform(0.3, 0.7))
    left, right = image.copy(), image.copy()
    left[:, column:] = 0
    right[:, :column] = 0
    side = left if left.sum() <= right.sum() else right
    if not 0.15 * image.sum() <= side.sum() <= 0.45 * image.sum():
        return None
    if _is_a_stick(side) or _has_a_loop(side):  # drawn like a 1 or a 0: not a negative
        return None
    return side


def _has_a_loop(ink: np.ndarray) -> bool:
    mask = ink > 0.2
    return bool((ndimage.binary_fill_holes(mask) & ~mask).sum() >= 2)


def _is_a_stick(ink: np.ndarray) -> bool:
    """Whether the ink is one straight stroke (its spread across its main axis is tiny): a
    stick is how people draw a 1, so it is never a negative."""
    ys, xs = np.nonzero(ink > 0.2)
    if len(ys) < 3:
        return True
    spread = np.linalg.eigvalsh(np.cov(np.stack([ys, xs]).astype(np.float64)))
    return bool(spread[0] < 0.15 * spread[1])


def generate(
    count: int,
    seed: int,
    digits: Split,
    drawn: Split | None = None,
    on_drawn: DrawnFn | None = None,
) -> np.ndarray:
    """`count` negatives, uint8 (count, 28, 28), deterministic in (count, seed, digits, drawn).

    With `drawn` (digits redrawn by a pen, `handwritten.training.redrawn`), half the squeezed
    digits come from it (strings are drawn with a brush, and a model that learned drawn digits
    must also learn that two of them touching are not one), and some negatives are digits cut
    in two (a model that learned broken strokes must still see that half a digit is none, or
    segmentation parts single digits). `on_drawn` is told the count as it grows."""
    rng = np.random.default_rng([seed, 10])
    fonts = _fonts()
    kinds = shares(drawn is not None)
    out = np.zeros((count, 28, 28), np.uint8)
    made = 0
    while made < count:
        kind = rng.choice(list(kinds), p=list(kinds.values()))
        ink: np.ndarray | None
        if kind == "fragment" and drawn is not None:
            ink = _fragment(rng, drawn if rng.random() < 0.5 else digits)
            if ink is None:
                continue
        elif kind == "typeset" and fonts:
            ink = _typeset(rng, fonts)
        elif kind == "squeezed" and len(digits) >= 3:
            pick = drawn if drawn is not None and len(drawn) >= 3 and rng.random() < 0.5 else digits
            ink = _squeezed(rng, pick)
        else:
            ink = draw_nondigit(rng, (WORK, WORK), TRAINING_NAMES)[0]
        image = to_input(ink)
        if image is not None:
            out[made] = image
            made += 1
            report_drawn(on_drawn, made, count)
    return out


def cached_negatives(
    count: int,
    seed: int,
    digits: Split,
    drawn: Split | None = None,
    on_drawn: DrawnFn | None = None,
) -> np.ndarray:
    """`generate`, read from the cache when it was drawn before (`cached_bank`)."""
    kind, sources = (
        ("negatives-v1", [digits]) if drawn is None else ("negatives-v3", [digits, drawn])
    )
    return cached_bank(
        kind, count, seed, sources, lambda: generate(count, seed, digits, drawn, on_drawn)
    )


BankProgress = Callable[[str, int, int], None]
"""Told (what is drawn, how many so far, of how many) while a bank is drawn; may raise to stop."""


def training_split(
    train: Split,
    heldout: int,
    negatives: int,
    seed: int,
    redrawn: int = 0,
    report: BankProgress | None = None,
) -> Split:
    """MNIST training images minus the last `heldout`, plus `negatives` labelled
    `NOT_A_DIGIT` and `redrawn` of the digits redrawn by a pen (`redrawn_digits`), shuffled
    together (deterministic in `seed`). `report` hears of each bank that is drawn rather
    than read from the cache."""

    def told(what: str, total: int) -> DrawnFn | None:
        return None if report is None else lambda done: report(what, done, total)

    digits, _ = split_off(train, heldout)
    if negatives <= 0 and redrawn <= 0:
        return digits
    parts, drawn = [digits], None
    if redrawn > 0:
        drawn = redrawn_digits(redrawn, seed, digits, told(REDRAWN_WHAT, redrawn))
        parts.append(drawn)
    if negatives > 0:
        extra = cached_negatives(negatives, seed, digits, drawn, told(NEGATIVES_WHAT, negatives))
        parts.append(Split(extra, np.full(negatives, NOT_A_DIGIT, np.uint8)))
    images = np.concatenate([part.images_nhw for part in parts])
    labels = np.concatenate([part.labels_n for part in parts])
    order = np.random.default_rng([seed, 11]).permutation(len(labels))
    return Split(images[order], labels[order])
