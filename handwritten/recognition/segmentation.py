"""Segmentation by recognition: which pieces of ink form which digit, decided by the model.

Grouping ink by geometry alone reads a 5 whose hat is not joined to its body as "52", a 1 with
a separate flag as "14", and two digits that touch as one. So the pieces of ink
(`handwritten.data.pieces`: connected strokes, parts of cut components, dots), ordered left to
right by their centres, are grouped in every way that keeps each digit's pieces contiguous in
that order and close together (a few stroke widths apart at most). Every candidate group is
normalised and read by the model in one batch, and dynamic programming picks the reading with
the highest total log-probability, minus a prior that prefers fewer, well-formed digits: a cost
per digit, a cost for parting a connected component, a cost for leaving a dot or a stray mark
out (`skippable`; from amid a digit's pieces too), and a cost for a group much wider than tall.
With a model that has a "not a digit" class, a group may be
read as not a digit too, at a further cost, so that ink is called "not a digit" only when no
digit reading explains it reasonably well. A group read as one digit is scored with "not a digit"
at the model's own strength (`without_margin`): two touching digits squeezed into one group
look like no digit to the model (a "62" read as a 2 at 69% is 87% "not a digit" without the
margin). A reading that mixes digits with "not a digit" also
keeps the best reading without it (`Reading.digits_only`): two digits that touch often read as
"not a digit" whole, and the predictor may answer with the digits instead, marked unsure.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp

from handwritten.data.normalise import DigitCrop
from handwritten.data.pieces import Pieces, crop_group
from handwritten.models.architectures import NOT_A_DIGIT

__all__ = [
    "NOT_A_DIGIT", "Prior", "Reading", "Run", "best_reading", "candidate_crops", "candidate_runs",
    "segment", "without_margin",
]  # fmt: skip

LogProbabilities = Callable[[np.ndarray], np.ndarray]  # images (N, 28, 28) -> (N, K) log p
Box = tuple[int, int, int, int]  # (top, left, bottom, right)
# A whole stroke no longer than this share of the tallest piece is a stray mark, which a
# reading may leave out like a dot (measured on held-out drawings: a 12 px tick beside a
# 110 px 7 was read as a 4 beside it). 0.15 left out a tick drawn with the canvas's 20 px
# brush beside a 231 px 7 (37 px with its round ends) and read "17"; 0.25 reads two more
# held-out strings right in two samples of 500, and the same drawings and non-digits.
MARK_SHARE = 0.25


@dataclass(frozen=True)
class Prior:
    """The prior over readings, in log-probability units (tuned on held-out sets only)."""

    per_digit: float = 2.0  # each digit read costs this: fewer digits unless the ink says so
    not_a_digit: float = 3.0  # further cost of reading a group as "not a digit"
    # ... and per unit of width / height above 1 (a wide group is more likely two digits)
    wide_not_a_digit: float = 0.0
    cut: float = 1.5  # parting one connected component between two digits
    skip_dot: float = 1.0  # leaving a dot or a stray mark (`skippable`) out of the reading
    wide: float = 2.0  # per unit of width / height above `wide_from`
    wide_from: float = 1.3
    gap: float = 1.0  # per stroke width of side-by-side gap inside one digit
    # two neighbouring groups sharing columns, per share of the narrower one's width (people
    # write digits side by side: a 5's hat or a 4's stroke overlaps its own digit)
    overlap: float = 0.0
    # weight of a group's log-probability against the costs above: above 1, a group read
    # weakly loses more (two touching digits read as one unsure digit lose to the two read
    # surely, whose extra digit costs `per_digit`)
    sharpness: float = 1.0
    max_components: int = 5  # connected strokes in one digit at most (a cut one counts once)
    max_parts: int = 10  # pieces (the parts of cut strokes each count) in one digit at most
    max_gap: float = 1.5  # stroke widths between a digit's pieces (side by side) at most
    max_candidates: int = 256  # beyond this many candidate groups, read the geometric groups

    @classmethod
    def of(cls, meta: dict[str, Any] | None) -> Prior:
        """The prior tuned for a model (``meta["segmentation"]``), else the defaults."""
        values = (meta or {}).get("segmentation") or {}
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_meta(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Reading:
    """The chosen grouping: each group's pieces, crop, class and log-probabilities."""

    groups: list[list[int]]  # positions in `Pieces.pieces`
    crops: list[DigitCrop]
    labels: list[int]  # 0-9, or NOT_A_DIGIT
    log_probabilities: np.ndarray  # (len(groups), K)
    skipped: list[int]  # dots and stray marks left out
    candidates: int  # how many groups were read to choose this one
    # When this reading mixes digits with "not a digit": the best reading without "not a
    # digit", from the same candidates (the predictor decides which to answer with).
    digits_only: Reading | None = None

    @property
    def mixed(self) -> bool:
        """Digits and "not a digit" side by side: often two digits that touch, which the
        model learned to decline as one digit."""
        rejected = [label == NOT_A_DIGIT for label in self.labels]
        return any(rejected) and not all(rejected)


def _horizontal_gap(box: Box, other: Box) -> int:
    return max(0, other[1] - box[3], box[1] - other[3])


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
    """Runs [start, stop) of pieces (in left-to-right order) that may form one digit: each
    next piece at most `max_gap` stroke widths beside the run so far (a 5's hat, a 4's bar or
    a 7's bar overlap their digit's columns; neighbouring digits usually stand further apart).
    The parts of a stroke cut where digits may touch count as one stroke towards
    `max_components`: a 5 in two strokes, its body cut in three places, is five pieces; and a
    stroke the run holds whole counts once towards `max_parts` (`_parts_added`). A run
    that holds strays (`skippable`) between its first and last piece is also tried without
    them: a dot under a 0 lies amid the 0's pieces in left-to-right order, and read with the
    0 it makes a 9. `strays`: `skippable(found)`, when the caller has it already."""
    runs = []
    width = max(found.stroke_width, 1.0)
    strays = skippable(found) if strays is None else strays
    sizes = Counter(p.component for p in found.pieces)
    for start in range(len(found.pieces)):
        box, gaps, widest, parts = found.pieces[start].box, 0.0, 0.0, 0
        held: Counter[int] = Counter()
        for stop in range(start + 1, len(found.pieces) + 1):
            piece = found.pieces[stop - 1]
            gap = _horizontal_gap(box, piece.box) / width
            held[piece.component] += 1
            if gap > prior.max_gap or len(held) > prior.max_components:
                break
            parts += _parts_added(held[piece.component], sizes[piece.component])
            gaps, widest = gaps + gap, max(widest, gap)
            box = _union(box, piece.box)
            if parts > prior.max_parts:
                continue  # a stroke completed further on may count once again
            runs.append(Run(start, stop, gaps, widest, len(held), parts, box))
            inner = tuple(i for i in range(start + 1, stop - 1) if strays[i])
            if inner and not strays[start] and not strays[stop - 1]:
                runs.extend(_without(found, start, stop, inner, prior, parts - len(inner)))
    return runs


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
    width = max(found.stroke_width, 1.0)
    members = [i for i in range(start, stop) if i not in left_out]
    box, gaps, widest = found.pieces[members[0]].box, 0.0, 0.0
    for i in members[1:]:
        gap = _horizontal_gap(box, found.pieces[i].box) / width
        if gap > prior.max_gap:
            return []
        gaps, widest, box = gaps + gap, max(widest, gap), _union(box, found.pieces[i].box)
    components = len({found.pieces[i].component for i in members})
    return [Run(start, stop, gaps, widest, components, parts, box, left_out)]


def _split_cost(found: Pieces, run: Run, prior: Prior) -> float:
    """Half the cut cost for each component this run holds only part of (the other half is
    charged to the run holding the rest)."""
    members = set(run.members)
    inside = {found.pieces[i].component for i in members}
    outside = {p.component for i, p in enumerate(found.pieces) if i not in members}
    return 0.5 * prior.cut * len(inside & outside)


def _run_score(
    found: Pieces, run: Run, log_p: np.ndarray, as_digit: np.ndarray, prior: Prior, reject: bool
) -> tuple[float, int]:
    """(score, class) of one run: read as a digit or (with `reject`) as not a digit, whichever
    the calibrated `log_p` makes likelier. A digit reading is scored by `as_digit` (`log_p`
    with the calibration's margin against "not a digit" taken back), so that ink the model
    itself calls no digit explains itself badly as one digit against other groupings (two
    touching digits as one) without being declined where its own probabilities say digit."""
    top, left, bottom, right = run.box
    aspect = (right - left) / max(bottom - top, 1)
    shape = prior.wide * max(0.0, aspect - prior.wide_from) + prior.gap * run.gaps
    strays = prior.skip_dot * len(run.left_out)
    cost = prior.per_digit + shape + strays + _split_cost(found, run, prior)
    digit = int(np.argmax(log_p[:10]))
    if reject and len(log_p) > NOT_A_DIGIT:
        against = prior.not_a_digit + prior.wide_not_a_digit * max(0.0, aspect - 1.0)
        rejected = prior.sharpness * float(log_p[NOT_A_DIGIT]) - against
        if rejected > prior.sharpness * float(log_p[digit]):
            return rejected - cost, NOT_A_DIGIT
    return prior.sharpness * float(as_digit[digit]) - cost, digit


def _overlap(box: Box, other: Box) -> float:
    """How much of the narrower of two groups lies in the other's columns (0 to 1)."""
    shared = min(box[3], other[3]) - max(box[1], other[1])
    narrower = min(box[3] - box[1], other[3] - other[1])
    return max(0.0, shared / max(narrower, 1))


def without_margin(log_p: np.ndarray, margin: float) -> np.ndarray:
    """Calibrated log-probabilities (N, K) with their margin against "not a digit" taken back
    (`Calibration.margin`): that class made e^`margin` times as likely, renormalised. The
    margin keeps odd single digits from being declined, and would let two touching digits
    squeezed into one group pass as one digit."""
    if margin == 0.0 or log_p.ndim != 2 or log_p.shape[1] <= NOT_A_DIGIT:
        return log_p
    raised = np.array(log_p, np.float64)
    raised[:, NOT_A_DIGIT] += margin
    return raised - logsumexp(raised, axis=1, keepdims=True)


def _allowed(
    found: Pieces, runs: list[Run], log_p: np.ndarray, prior: Prior, reject: bool,
    as_digit: np.ndarray,
) -> dict[int, list[tuple[int, float, int]]]:  # fmt: skip
    """The runs `prior` allows, by first piece: (run index, score, class)."""
    starting: dict[int, list[tuple[int, float, int]]] = {}
    for index, (run, lp, digit_lp) in enumerate(zip(runs, log_p, as_digit, strict=True)):
        within = run.components <= prior.max_components and run.parts <= prior.max_parts
        if within and run.widest <= prior.max_gap:
            score, label = _run_score(found, run, lp, digit_lp, prior, reject)
            starting.setdefault(run.start, []).append((index, score, label))
    return starting


def best_reading(
    found: Pieces, runs: list[Run], log_p: np.ndarray, prior: Prior, *, reject: bool = True,
    strays: list[bool] | None = None, as_digit: np.ndarray | None = None,
) -> tuple[list[int], list[int], list[int]] | None:  # fmt: skip
    """The dynamic programme: (chosen run indices, their classes, skipped dots) of the best
    reading, left to right, using only the runs `prior` allows (so one set of candidates can
    be re-scored under many priors when tuning); without `reject`, every group is a digit.
    A state is how many pieces are read and the last group chosen, so that two neighbouring
    groups can be charged for sharing columns (`Prior.overlap`). `strays`: `skippable(found)`,
    when the caller has it already (tuning reads one set of pieces under hundreds of priors).
    `as_digit`: what a group read as one digit is scored by (`without_margin`; None: `log_p`)."""
    pieces = found.pieces
    as_digit = log_p if as_digit is None else as_digit
    starting = _allowed(found, runs, log_p, prior, reject, as_digit)
    can_skip = skippable(found) if strays is None else strays
    # best[position][last group or -1] = (score, the state before, the group taken or -1)
    State = tuple[float, tuple[int, int], int]
    best: list[dict[int, State]] = [{} for _ in range(len(pieces) + 1)]
    best[0][-1] = (0.0, (0, -1), -1)

    def offer(position: int, last: int, score: float, before: tuple[int, int], taken: int) -> None:
        if last not in best[position] or score > best[position][last][0]:
            best[position][last] = (score, before, taken)

    for position in range(len(pieces)):
        for last, (score, _, _) in list(best[position].items()):
            if can_skip[position]:
                offer(position + 1, last, score - prior.skip_dot, (position, last), -1)
            for index, run_score, _ in starting.get(position, []):
                shared = _overlap(runs[last].box, runs[index].box) if last >= 0 else 0.0
                total = score + run_score - prior.overlap * shared
                offer(runs[index].stop, index, total, (position, last), index)
    ends = best[len(pieces)]
    if not ends:  # cannot happen while every single piece is a run
        return None
    classes = {i: label for options in starting.values() for i, _, label in options}
    chosen, labels, skipped = [], [], []
    position, last = len(pieces), max(ends, key=lambda k: ends[k][0])
    while position > 0:
        _, (position, last), taken = best[position][last]
        if taken < 0:
            skipped.append(position)
        else:
            chosen.append(taken)
            labels.append(classes[taken])
            skipped.extend(runs[taken].left_out)
    return chosen[::-1], labels[::-1], sorted(skipped)


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


def segment(
    ink: np.ndarray,
    found: Pieces,
    log_probabilities: LogProbabilities,
    prior: Prior = Prior(),
    known: dict[tuple[int, ...], DigitCrop] | None = None,
    margin: float = 0.0,
) -> Reading | None:
    """The best reading of the pieces, or None when there are too many to search. `known`
    crops (by their sorted piece positions: the preprocessing's geometric groups) are reused,
    not normalised again (a crop costs about half a millisecond). `margin`: `Calibration.margin`,
    taken back where a group is scored as one digit (the reading keeps `log_p`)."""
    if not found.pieces:
        return None
    strays = skippable(found)
    runs = candidate_runs(found, prior, strays)
    if len(runs) > prior.max_candidates:
        return None
    crops = candidate_crops(ink, found, runs, known)
    log_p = log_probabilities(np.stack([c.centred for c in crops]).astype(np.float32))
    as_digit = without_margin(log_p, margin)
    best = best_reading(found, runs, log_p, prior, strays=strays, as_digit=as_digit)
    reading = _reading(runs, crops, log_p, best)
    if reading is not None and reading.mixed:
        digits_only = best_reading(
            found, runs, log_p, prior, reject=False, strays=strays, as_digit=as_digit
        )
        reading.digits_only = _reading(runs, crops, log_p, digits_only)
    return reading


def _reading(
    runs: list[Run],
    crops: list[DigitCrop],
    log_p: np.ndarray,
    best: tuple[list[int], list[int], list[int]] | None,
) -> Reading | None:
    if best is None:
        return None
    chosen, labels, skipped = best
    return Reading(
        groups=[runs[i].members for i in chosen],
        crops=[crops[i] for i in chosen],
        labels=labels,
        log_probabilities=log_p[chosen],
        skipped=skipped,
        candidates=len(runs),
    )
