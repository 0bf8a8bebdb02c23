"""Tuning the segmentation prior of a model on held-out sets only.

Every held-out drawing (canvas digits, multi-digit strings, non-digits from the training
templates) is preprocessed once and all its candidate groups are read by the model once, under
the loosest candidate limits; each prior is then scored by re-running only the dynamic
programme (`best_reading`), so hundreds of priors cost about what one pass of reading does.
A coordinate search over `GRID` keeps the prior with the most held-out items read right:
digits exactly, strings exactly, and non-digits as "not a digit". Then each cost goes back to
its starting value wherever that reads at most one held-out item fewer than the best prior
found (one item is sampling noise): chasing it had moved leaving a stray out from 1.0 to 2.0
for one more non-digit declined, and a 7 with a small tick beside it read "17".
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from handwritten.data.pieces import Pieces
from handwritten.data.preprocess import preprocess
from handwritten.evaluation.realistic import iter_set
from handwritten.recognition.candidates import Run, candidate_crops, candidate_runs, skippable
from handwritten.recognition.predictor import Predictor
from handwritten.recognition.prior import Prior
from handwritten.recognition.segmentation import NOT_A_DIGIT, best_reading, without_margin

LOOSEST = Prior(max_gap=2.5, max_components=5, max_parts=10)
GRID: dict[str, tuple[float, ...]] = {
    "per_digit": (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0),
    "not_a_digit": (0.0, 1.0, 2.0, 3.0, 4.0, 6.0),
    "wide_not_a_digit": (0.0, 2.0, 4.0, 8.0, 16.0),
    "cut": (0.0, 0.75, 1.5, 3.0, 5.0),
    "skip_dot": (0.25, 0.5, 1.0, 2.0, 3.0),
    "gap": (0.0, 0.5, 1.0, 2.0, 3.0),
    "max_gap": (0.75, 1.0, 1.5, 2.0, 2.5),
    "wide": (0.0, 1.0, 2.0, 4.0),
    "overlap": (0.0, 0.5, 1.0, 2.0, 4.0),
    "sharpness": (1.0, 2.0, 3.0, 4.0, 6.0, 8.0),
}


@dataclass
class Case:
    """One held-out item, read once: its pieces, candidate runs and their log-probabilities."""

    name: str  # the realistic set
    expected: str  # "" for a non-digit
    found: Pieces | None  # None: nothing to read
    runs: list[Run]
    log_p: np.ndarray
    strays: list[bool] | None = None  # `skippable(found)`, found once
    # `log_p` with the calibration's margin against "not a digit" taken back (`without_margin`,
    # once: hundreds of priors score each case), which digit readings are scored by; None: log_p
    as_digit: np.ndarray | None = None


def collect(predictor: Predictor, counts: dict[str, int], seed: int = 0) -> list[Case]:
    """Read every candidate of the first `counts[name]` held-out items of each set."""
    cases = []
    for name, count in counts.items():
        for item in iter_set(name, "heldout", count, seed):
            prepared = preprocess(item.image)
            found = prepared.pieces
            if prepared.is_blank or found is None or not found.pieces:
                cases.append(Case(name, item.expected, None, [], np.zeros((0, 11))))
                continue
            strays = skippable(found)
            runs = candidate_runs(found, LOOSEST, strays)
            crops = candidate_crops(prepared.ink, found, runs)
            log_p = predictor.log_probabilities(np.stack([c.centred for c in crops]))
            as_digit = without_margin(log_p, predictor.calibration.margin)
            cases.append(Case(name, item.expected, found, runs, log_p, strays, as_digit))
    return cases


def read(case: Case, prior: Prior) -> str:
    """The digits a prior reads ("" for "no digit" and for "not a digit")."""
    if case.found is None:
        return ""
    reading = best_reading(
        case.found, case.runs, case.log_p, prior, strays=case.strays, as_digit=case.as_digit
    )
    if reading is None or NOT_A_DIGIT in reading[1]:
        return ""
    return "".join(str(label) for label in reading[1])


def score(cases: list[Case], prior: Prior) -> dict[str, float]:
    """Share read right per set, and their mean (the objective)."""
    right: dict[str, list[bool]] = {}
    for case in cases:
        right.setdefault(case.name, []).append(read(case, prior) == case.expected)
    figures = {name: float(np.mean(flags)) for name, flags in right.items()}
    figures["objective"] = float(np.mean(list(figures.values())))
    return figures


def one_item(cases: list[Case]) -> float:
    """What one item of the smallest set is worth in the objective (a mean of shares)."""
    sizes = Counter(case.name for case in cases)
    return 1.0 / (len(sizes) * min(sizes.values())) if sizes else 0.0


def relax(cases: list[Case], best: Prior, best_figures: dict, start: Prior) -> tuple[Prior, dict]:
    """`best` with each `GRID` field back at `start`'s value wherever the objective stays
    within `one_item` of `best`'s: a cost moves from its reasoned default only for more than
    noise."""
    floor = best_figures["objective"] - one_item(cases) - 1e-9
    for field in GRID:
        change: dict[str, Any] = {field: getattr(start, field)}
        candidate = dataclasses.replace(best, **change)
        if candidate == best:  # already at its start: nothing to score
            continue
        figures = score(cases, candidate)
        if figures["objective"] >= floor:
            best, best_figures = candidate, figures
    return best, best_figures


def tune(cases: list[Case], start: Prior = LOOSEST, passes: int = 2) -> tuple[Prior, dict]:
    """Coordinate search from `start` over `GRID`, then `relax` towards `start`; (best
    prior, its figures)."""
    best, best_figures = start, score(cases, start)
    for _ in range(passes):
        for field, values in GRID.items():
            for value in values:
                change: dict[str, Any] = {field: value}
                candidate = dataclasses.replace(best, **change)
                figures = score(cases, candidate)
                if figures["objective"] > best_figures["objective"] + 1e-9:
                    best, best_figures = candidate, figures
    best, best_figures = relax(cases, best, best_figures, start)
    limits = {"max_components": LOOSEST.max_components, "max_parts": LOOSEST.max_parts}
    return dataclasses.replace(best, **limits), best_figures
