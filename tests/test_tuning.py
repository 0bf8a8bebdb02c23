"""Tuning the segmentation prior: one reading of the candidates, many priors scored."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from handwritten.data.pieces import find_pieces
from handwritten.evaluation.tuning import LOOSEST, Case, read, score, tune
from handwritten.recognition.segmentation import NOT_A_DIGIT, Prior, candidate_runs


def pieces_of(strokes: list[list[tuple[int, int]]]):
    image = Image.new("L", (320, 320), 0)
    for points in strokes:
        ImageDraw.Draw(image).line(points, fill=255, width=20)
    return find_pieces(np.asarray(image, np.float32) / 255 >= 0.35)


def case(strokes, rows: list[tuple[int, float]], expected: str, name: str) -> Case:
    found = pieces_of(strokes)
    runs = candidate_runs(found, LOOSEST)
    assert len(runs) == len(rows)
    log_p = np.full((len(rows), 11), np.log(1e-4))
    for row, (label, p) in zip(log_p, rows, strict=True):
        row[label] = np.log(p)
    return Case(name, expected, found, runs, log_p)


HAT_AND_BODY = [[(110, 60), (210, 60)], [(110, 95), (110, 250), (210, 250)]]  # overlapping
CLOSE_BARS = [[(140, 60), (140, 260)], [(185, 60), (185, 260)]]  # a brush and a bit apart


def test_tuning_finds_a_prior_that_reads_both_kinds_right() -> None:
    five = case(HAT_AND_BODY, [(7, 0.9), (5, 0.6), (6, 0.9)], "5", "canvas")
    eleven = case(CLOSE_BARS, [(1, 0.99), (4, 0.6), (1, 0.99)], "11", "multi")
    cases = [five, eleven]
    # A prior that charges too little per digit splits the 5.
    assert read(five, Prior(per_digit=0.1, wide=0.0)) == "76"
    prior, figures = tune(cases, start=Prior(per_digit=0.1, wide=0.0))
    assert figures["objective"] == 1.0 and read(five, prior) == "5" and read(eleven, prior) == "11"
    assert score(cases, prior) == figures


def test_not_a_digit_reads_as_nothing() -> None:
    scribble = case(CLOSE_BARS, [(NOT_A_DIGIT, 0.99), (NOT_A_DIGIT, 0.99), (NOT_A_DIGIT, 0.99)],
                    "", "nondigit")  # fmt: skip
    assert read(scribble, LOOSEST) == ""
    assert read(Case("canvas", "1", None, [], np.zeros((0, 11))), LOOSEST) == ""
