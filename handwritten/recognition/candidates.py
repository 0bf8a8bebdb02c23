"""Candidate digits: the groups of ink pieces that may form one digit, and their model inputs.

Pieces (`handwritten.data.pieces`) are ordered left to right by their centres, and a digit's
pieces are contiguous in that order and close together: a few stroke widths of empty columns
between them at most, whatever order they come in. Dots and stray marks (`skippable`) may be
left out of a reading, and from amid a digit's pieces too. Which candidates form the reading
is decided by the model, in `handwritten.recognition.segmentation`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from handwritten.data.normalise import DigitCrop
from handwritten.data.pieces import Pieces, crop_group
from handwritten.recognition.prior import Prior

Box = tuple[int, int, int, int]  # (top, left, bottom, right)
# A whole stroke no longer than this share of the tallest piece is a stray mark, which a
# reading may leave out like a dot (measured on held-out drawings: a 12 px tick beside a
# 110 px 7 was read as a 4 beside it). 0.15 left out a tick drawn with the canvas's 20 px
# brush beside a 231 px 7 (37 px with its round ends) and read "17"; 0.25 reads two more
# held-out strings right in two samples of 500, and the same drawings and non-digits.
MARK_SHARE = 0.25


@dataclass(frozen=True)
class Run:
    """A candidate digit: pieces [start, stop) and its side-by-side gaps in stroke widths."""

    start: int
    stop: int
    gaps: float  # their sum
    widest: float  # the largest one
    components: int  # how many connected strokes (whole or in part) it holds
    # its parts towards `Prior.max_parts`: a stroke it holds whole counts once, each piece of
    # a stroke it holds only in part counts
    parts: int
    box: Box  # around all its pieces
    left_out: tuple[int, ...] = ()  # strays among its pieces that are not part of the digit

    @property
    def members(self) -> list[int]:
        """The positions of the pieces that form the digit."""
        return [i for i in range(self.start, self.stop) if i not in self.left_out]


def skippable(found: Pieces) -> list[bool]:
    """Which pieces a reading may leave out: dots (about one brush dab), and stray marks:
    whole strokes no longer than `MARK_SHARE` of the tallest piece, outside every larger
    piece's box (the pen touching down on the way; inside a ring, small strokes are a face's
    eyes as often as a slip). Nothing is, when every piece is (dots are read as they are)."""
    tallest = max(p.height for p in found.pieces)
    strokes = Counter(p.component for p in found.pieces)
    small = [
        strokes[p.component] == 1 and max(p.height, p.width) <= MARK_SHARE * tallest
        for p in found.pieces
    ]
    large = [p.box for p, tiny in zip(found.pieces, small, strict=True) if not tiny]
    marks = [
        tiny and not any(_intersect(p.box, box) for box in large)
        for p, tiny in zip(found.pieces, small, strict=True)
    ]
    strays = [p.dot or mark for p, mark in zip(found.pieces, marks, strict=True)]
    return [False] * len(strays) if all(strays) else strays


def _intersect(box: Box, other: Box) -> bool:
    return box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]


def candidate_runs(found: Pieces, prior: Prior, strays: list[bool] | None = None) -> list[Run]:
    """Runs [start, stop) of pieces (in left-to-right order) that may form one digit: no more
    than `max_gap` stroke widths of empty columns between its pieces (`_column_gaps`: a 5's hat,
    a 4's bar or a 7's bar overlap their digit's columns; neighbouring digits usually stand
    further apart). The parts of a stroke cut where digits may touch count as one stroke
    towards `max_components`: a 5 in two strokes, its body cut in three places, is five pieces;
    and a stroke the run holds whole counts once towards `max_parts` (`_parts_added`). A run
    that holds strays (`skippable`) between its first and last piece is also tried without
    them: a dot under a 0 lies amid the 0's pieces in left-to-right order, and read with the
    0 it makes a 9. `strays`: `skippable(found)`, when the caller has it already."""
    runs = []
    strays = skippable(found) if strays is None else strays
    sizes = Counter(p.component for p in found.pieces)
    for start in range(len(found.pieces)):
        box, parts = found.pieces[start].box, 0
        spans: list[tuple[int, int]] = []
        held: Counter[int] = Counter()
        for stop in range(start + 1, len(found.pieces) + 1):
            piece = found.pieces[stop - 1]
            held[piece.component] += 1
            if len(held) > prior.max_components:
                break
            parts += _parts_added(held[piece.component], sizes[piece.component])
            box = _union(box, piece.box)
            spans.append((piece.box[1], piece.box[3]))
            gaps, widest = _column_gaps(spans, found.stroke_width)
            if parts > prior.max_parts or widest > prior.max_gap:
                continue  # a piece further on may fill a gap or complete a stroke
            runs.append(Run(start, stop, gaps, widest, len(held), parts, box))
            inner = tuple(i for i in range(start + 1, stop - 1) if strays[i])
            if inner and not strays[start] and not strays[stop - 1]:
                runs.extend(_without(found, start, stop, inner, prior, parts - len(inner)))
    return runs


def _column_gaps(spans: list[tuple[int, int]], stroke_width: float) -> tuple[float, float]:
    """(sum, largest) of the empty column spans between pieces' [left, right) `spans`, in
    stroke widths, whatever order the pieces come in: pieces are ordered by their centres,
    and a 9's tail drawn apart lies between the two halves of its cut loop."""
    width, gaps, reach = max(stroke_width, 1.0), [], None
    for left, right in sorted(spans):
        if reach is not None and left > reach:
            gaps.append((left - reach) / width)
        reach = right if reach is None else max(reach, right)
    return sum(gaps), max(gaps, default=0.0)


def _parts_added(held: int, size: int) -> int:
    """How a run's part count changes when it takes the `held`-th of a stroke's `size` pieces:
    each counts while the stroke is held in part, and once the stroke is whole it counts once
    (a 5 drawn large with a thin brush is cut where digits might touch into more pieces than
    any digit may hold, yet read whole it is two strokes)."""
    return 1 if held < size else 2 - held


def _union(box: Box, other: Box) -> Box:
    return (min(box[0], other[0]), min(box[1], other[1]),
            max(box[2], other[2]), max(box[3], other[3]))  # fmt: skip


def _without(
    found: Pieces, start: int, stop: int, left_out: tuple[int, ...], prior: Prior, parts: int
) -> list[Run]:
    """Run [start, stop) with the strays `left_out` not part of it, if its other pieces still
    stand close enough together (a stray may have bridged a gap)."""
    members = [i for i in range(start, stop) if i not in left_out]
    spans = [(found.pieces[i].box[1], found.pieces[i].box[3]) for i in members]
    gaps, widest = _column_gaps(spans, found.stroke_width)
    if widest > prior.max_gap:
        return []
    components = len({found.pieces[i].component for i in members})
    return [Run(start, stop, gaps, widest, components, parts, found.box_of(members), left_out)]


def candidate_crops(
    ink: np.ndarray,
    found: Pieces,
    runs: list[Run],
    known: dict[tuple[int, ...], DigitCrop] | None = None,
) -> list[DigitCrop]:
    """The model input of every candidate run, `known` crops (by their piece positions)
    reused rather than normalised again."""
    known = known or {}
    crops = []
    for run in runs:
        members = tuple(run.members)
        crops.append(known[members] if members in known else crop_group(ink, found, list(members)))
    return crops
