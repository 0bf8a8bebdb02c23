"""The realistic sets: what users give us, built from seeds and scored end to end.

- ``canvas``: one digit drawn on the 320 px canvas by a random pen (`rendering`): any brush
  from 5 to 40 px, tiny to huge, off-centre, slanted, tall and narrow, with detached parts,
  broken strokes, stray dots and specks; in the canvas's three colour schemes.
- ``photo``: the same kind of drawing in pen or pencil on paper as a phone sees it (lit from
  one side, vignetted or half in a shadow, sometimes beside the table's edge), as a JPEG.
- ``multi``: strings of 2 to 6 digits on one line, with touching, tight and loose gaps.
- ``nondigit``: letters, symbols, shapes, faces and scribbles drawn as strokes
  (`handwritten.data.nondigits`), on the canvas or photographed.

Digits come from a *source*: ``test`` (MNIST test digits: for reporting, never for a choice) or
``heldout`` (the last `HELDOUT_SIZE` MNIST training images, which the shipped recipe does not
train on: for tuning and calibration). Non-digits for ``heldout`` use only the templates that
training may use; for ``test`` they also include the held-out templates no model ever saw.
Item ``i`` of a set is drawn from its own generator seeded by (seed, set, source, i), so a set's
first N items are the same whatever the limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handwritten.data.heldout import HELDOUT_SIZE, split_off
from handwritten.data.mnist import Split, load_split
from handwritten.data.nondigits import HELD_OUT, NAMES, TRAINING_NAMES, draw_nondigit, family_of
from handwritten.data.photographs import photo_of, photo_paper
from handwritten.data.rendering import CANVAS, canvas_payload, draw_digit, draw_string
from handwritten.evaluation import DIGIT_SOURCES, REALISTIC_SETS
from handwritten.evaluation.calibration import expected_calibration_error
from handwritten.recognition.predictor import Prediction, Predictor

STYLES = REALISTIC_SETS


@dataclass(frozen=True)
class Item:
    """One realistic input and what a perfect reader answers ("" for a non-digit)."""

    image: np.ndarray | bytes
    expected: str
    kind: str  # for breakdowns: the non-digit template, the digit, or a string's length
    # (with " touching" when two of its digits touch)


def digit_source(source: str) -> Split:
    """The digits a set is drawn from: MNIST test, or the held-out tail of MNIST train."""
    if source not in DIGIT_SOURCES:
        raise ValueError(f"source must be one of {DIGIT_SOURCES}")
    if source == "test":
        return load_split("test")
    return split_off(load_split("train"), HELDOUT_SIZE)[1]


def _rng(seed: int, name: str, source: str, index: int) -> np.random.Generator:
    return np.random.default_rng(
        [seed, REALISTIC_SETS.index(name), DIGIT_SOURCES.index(source), index]
    )


def make_item(digits: Split, name: str, source: str, index: int, seed: int = 0) -> Item:
    """Item `index` of set `name`, deterministic in its arguments."""
    rng = _rng(seed, name, source, index)
    if name == "nondigit":
        names = NAMES if source == "test" else TRAINING_NAMES
        photo = rng.random() < 0.25
        size = photo_paper(rng) if photo else (CANVAS, CANVAS)
        ink, template = draw_nondigit(rng, size, names)
        return Item(photo_of(ink, rng) if photo else canvas_payload(ink, rng), "", template)
    if name == "multi":
        count = 2 + index % 5
        chosen = rng.choice(len(digits), count, replace=False)
        ink, touching = draw_string(digits.images_nhw[chosen], digits.labels_n[chosen], rng)
        expected = "".join(str(int(d)) for d in digits.labels_n[chosen])
        return Item(canvas_payload(ink, rng), expected, f"{count}{' touching' if touching else ''}")
    position = index % len(digits)
    digit, label = digits.images_nhw[position], int(digits.labels_n[position])
    if name == "photo":
        ink = draw_digit(digit, label, photo_paper(rng), rng)
        return Item(photo_of(ink, rng), str(label), str(label))
    ink = draw_digit(digit, label, (CANVAS, CANVAS), rng)
    return Item(canvas_payload(ink, rng), str(label), str(label))


def iter_set(name: str, source: str = "test", limit: int = 1000, seed: int = 0) -> Iterator[Item]:
    """The first `limit` items of a set (digit sets take the source's digits in order)."""
    if name not in REALISTIC_SETS:
        raise ValueError(f"set must be one of {REALISTIC_SETS}")
    digits = (
        digit_source(source)
        if name != "nondigit"
        else Split(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8))
    )
    for index in range(limit):
        yield make_item(digits, name, source, index, seed)


def is_declined(prediction: Prediction) -> bool:
    """No confident digit: "no digit" / "not a digit", or only an unsure reading."""
    return not prediction.digits or prediction.unsure


@dataclass
class SetReport:
    """The figures of one realistic set, and which items went wrong."""

    name: str
    source: str
    n: int
    figures: dict[str, float]
    by_kind: dict[str, float] = field(default_factory=dict)
    failures: list[tuple[int, str, str]] = field(default_factory=list)  # (index, expected, read)

    def to_dict(self) -> dict[str, Any]:
        return {
            "set": self.name, "source": self.source, "n": self.n, **self.figures,
            "by_kind": self.by_kind, "failures": [list(f) for f in self.failures[:50]],
        }  # fmt: skip


def _rate(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else float("nan")


def score_set(
    predictor: Predictor, name: str, source: str = "test", limit: int = 1000, seed: int = 0
) -> SetReport:
    """Read every item of a set as a user would (`Predictor.predict`) and compute its figures.

    Digit sets: ``accuracy`` (read exactly right), ``confident`` (right and not unsure),
    ``unsure`` and ``ece`` (calibration of the answer's confidence). ``nondigit``:
    ``declined`` (no confident digit), split into seen and ``unseen`` templates.
    """
    right, confident, unsure, confidences, kinds = [], [], [], [], []
    failures = []
    for index, item in enumerate(iter_set(name, source, limit, seed)):
        prediction = predictor.predict(item.image)
        read = prediction.digits
        if name == "nondigit":
            ok = is_declined(prediction)
        else:
            ok = read == item.expected
            confident.append(ok and not prediction.unsure)
            unsure.append(prediction.unsure)
            confidences.append(prediction.confidence)
        right.append(ok)
        kinds.append(item.kind)
        if not ok:
            failures.append((index, item.expected or item.kind, read or prediction.reason))
    by_kind = {
        kind: _rate([r for r, k in zip(right, kinds, strict=True) if k == kind])
        for kind in sorted(set(kinds))
    }
    if name == "nondigit":
        unseen = [r for r, k in zip(right, kinds, strict=True) if k in HELD_OUT]
        by_family: dict[str, list[bool]] = {}
        for r, k in zip(right, kinds, strict=True):
            by_family.setdefault(family_of(k), []).append(r)
        figures = {"declined": _rate(right), "declined_unseen": _rate(unseen)}
        figures |= {f"declined_{f}": _rate(v) for f, v in sorted(by_family.items())}
    else:
        key = "exact" if name == "multi" else "accuracy"
        figures = {
            key: _rate(right), "confident": _rate(confident), "unsure": _rate(unsure),
            "ece": expected_calibration_error(np.array(confidences), np.array(right)),
        }  # fmt: skip
        if name == "multi":
            apart = ["touching" not in k for k in kinds]
            figures["exact_apart"] = _rate([r for r, a in zip(right, apart, strict=True) if a])
            figures["exact_touching"] = _rate(
                [r for r, a in zip(right, apart, strict=True) if not a]
            )
    return SetReport(name, source, len(right), figures, by_kind, failures)
