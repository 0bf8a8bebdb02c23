"""Segmentation by recognition: which pieces of ink form which digit, decided by the model.

Grouping ink by geometry alone reads a 5 whose hat is not joined to its body as "52", a 1 with
a separate flag as "14", and two digits that touch as one. So the pieces of ink
(`handwritten.data.pieces`: connected strokes, parts of cut components, dots), ordered left to
right by their centres, are grouped in every way that keeps each digit's pieces contiguous in
that order and close together, a few stroke widths apart at most (the candidates:
`handwritten.recognition.candidates`). Every candidate group is normalised and read by the
model in one batch, and dynamic programming picks the reading with the highest total
log-probability, minus a prior that prefers fewer, well-formed digits: a cost
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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from handwritten.data.normalise import DigitCrop
from handwritten.data.pieces import Pieces
from handwritten.models.architectures import NOT_A_DIGIT
from handwritten.recognition.candidates import (
    Box,
    Run,
    candidate_crops,
    candidate_runs,
    skippable,
)
from handwritten.recognition.prior import Prior

__all__ = ["NOT_A_DIGIT", "Reading", "best_reading", "segment", "without_margin"]

LogProbabilities = Callable[[np.ndarray], np.ndarray]  # images (N, 28, 28) -> (N, K) log p


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
