"""Tuning the segmentation prior: one reading of the candidates, many priors scored."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from handwritten.data.pieces import find_pieces
from handwritten.evaluation.tuning import LOOSEST, Case, one_item, read, score, tune
from handwritten.recognition.candidates import candidate_runs
from handwritten.recognition.prior import Prior
from handwritten.recognition.segmentation import NOT_A_DIGIT, without_margin


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


# Overlapping columns; the body slanted, so there is no upright stroke for a 1 to be parted beside.
HAT_AND_BODY = [[(110, 60), (210, 60)], [(120, 95), (90, 250), (210, 250)]]
CLOSE_BARS = [[(140, 60), (140, 260)], [(185, 60), (185, 260)]]  # a brush and a bit apart


def test_tuning_finds_a_prior_that_reads_both_kinds_right() -> None:
    five = case(HAT_AND_BODY, [(7, 0.9), (5, 0.6), (6, 0.9)], "5", "canvas")
    eleven = case(CLOSE_BARS, [(1, 0.99), (4, 0.6), (1, 0.99)], "11", "multi")
    cases = [five, five, eleven, eleven]  # two of each: one item is not noise here
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


def test_a_cost_moves_from_its_start_only_for_more_than_one_item() -> None:
    """From a cost per digit of 2.0, which reads 5s whole but one of two pairs of 1s as a
    4, 1.0 reads both pairs: one string more, noise in a set of two, so tuning keeps 2.0.
    Three pairs that 2.0 reads as 4s are three strings more: the cost moves."""
    five = case(HAT_AND_BODY, [(7, 0.9), (5, 0.6), (6, 0.9)], "5", "canvas")
    surely_two = case(CLOSE_BARS, [(1, 0.99), (4, 0.9), (1, 0.99)], "11", "multi")
    weakly_four = case(CLOSE_BARS, [(1, 0.99), (4, 0.3), (1, 0.99)], "11", "multi")
    start = Prior(per_digit=2.0, wide=0.0)
    assert [read(c, start) for c in (five, surely_two, weakly_four)] == ["5", "4", "11"]
    assert read(surely_two, Prior(per_digit=1.0, wide=0.0)) == "11"
    noisy = [five, five, surely_two, weakly_four]
    assert one_item(noisy) == 0.25  # one string of two, in the mean of two sets
    prior, figures = tune(noisy, start=start)
    assert prior.per_digit == 2.0 and figures == score(noisy, start)
    clear = [five, five, five, surely_two, surely_two, surely_two]
    prior, figures = tune(clear, start=start)
    assert read(surely_two, prior) == "11" and figures["objective"] == 1.0


def test_a_case_is_read_with_its_calibrations_margin() -> None:
    """Tuning reads each case as the predictor would: "not a digit" at the model's own
    strength where a group is scored as one digit (`Case.as_digit`, from the calibration's
    margin)."""
    squeezed = case(CLOSE_BARS, [(1, 0.99), (1, 0.6), (1, 0.99)], "11", "multi")
    squeezed.log_p[1, NOT_A_DIGIT] = np.log(0.3)
    prior = Prior(per_digit=2.0, wide=0.0)
    assert read(squeezed, prior) == "1"
    squeezed.as_digit = without_margin(squeezed.log_p, 3.0)
    assert read(squeezed, prior) == "11"
