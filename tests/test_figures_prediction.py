"""Figure and image builders: pure functions on small inputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from handwritten import figures
from handwritten.data.preprocess import preprocess
from handwritten.figures.colours import ACCENT, DIGIT_COLOURS, MUTED
from handwritten.figures.prediction import (
    BAR_HEIGHT_PX,
    grouping_image,
    pipeline_steps,
    probability_bars,
    probability_bars_html,
    sample_counts,
    to_display,
)


def test_probability_bars_highlight_the_winner() -> None:
    probabilities = np.full(10, 0.02)
    probabilities[3] = 0.82
    figure = probability_bars(probabilities)
    bar = figure.data[0]
    assert list(bar.x) == [str(d) for d in range(10)]
    np.testing.assert_allclose(bar.y, probabilities)
    assert bar.marker.color[3] == ACCENT and bar.marker.color[2] != ACCENT
    with pytest.raises(ValueError):
        probability_bars([0.5, 0.5])


def test_probability_bars_add_not_a_digit_for_what_is_left() -> None:
    probabilities = np.full(10, 0.01)  # 10 % on digits: 90 % on "not a digit"
    bar = probability_bars(probabilities, not_a_digit=True).data[0]
    assert list(bar.x)[-1] == "not a digit" and len(bar.x) == 11
    assert bar.y[-1] == pytest.approx(0.9) and bar.marker.color[-1] == ACCENT


def test_grouping_image_boxes_each_digit_in_its_colour() -> None:
    image = np.zeros((200, 300), np.uint8)
    image[40:160, 50:65] = 255  # a 1
    image[40:160, 200:215] = 255  # another, far away
    result = preprocess(image)
    assert len(result.digits) == 2
    overlay = grouping_image(result, ["1", "1"])
    assert overlay.shape == (200, 300, 3)
    first, second = (tuple(int(c, 16) for c in (h[1:3], h[3:5], h[5:7])) for h in DIGIT_COLOURS[:2])
    top, left, bottom, _ = result.digits[0].box
    assert tuple(overlay[(top + bottom) // 2, left - 2]) == first
    top, left, bottom, _ = result.digits[1].box
    assert tuple(overlay[(top + bottom) // 2, left - 2]) == second


def test_to_display_is_square_crisp_and_uint8() -> None:
    tall = np.zeros((20, 5), np.float32)
    tall[:, 2] = 1.0
    tile = to_display(tall, 100)
    assert tile.shape == (100, 100) and tile.dtype == np.uint8
    assert set(np.unique(tile)) == {0, 255}  # nearest-neighbour: no blur
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[2:5, 2:5, 3] = 255
    shown = to_display(rgba, 10)
    assert shown.shape == (10, 10, 3) and shown[0, 0].max() == 0 and shown[3, 3].min() == 255


def test_pipeline_steps_cover_every_stage() -> None:
    image = np.zeros((200, 200), np.uint8)
    image[40:160, 90:110] = 255
    steps = pipeline_steps(preprocess(image))
    assert [caption for caption, _ in steps][-1] == "centred in 28×28 by mass"
    assert "MNIST-wide strokes" in steps[-2][0]
    assert len(steps) == 6 and all(tile.shape[:2] == (140, 140) for _, tile in steps)
    assert len(pipeline_steps(preprocess(np.zeros((50, 50), np.uint8)))) == 3


def test_training_curves_overlay_runs() -> None:
    from handwritten.figures.prediction import training_curves

    records = [
        {"kind": "train", "step": 10, "epoch": 0.5, "loss": 1.0, "accuracy": 0.6},
        {"kind": "train", "step": 20, "epoch": 1.0, "loss": 0.5, "accuracy": 0.8},
        {"kind": "train", "step": 21, "epoch": 1.05, "loss": None, "accuracy": 0.1},
        {"kind": "epoch", "epoch": 1, "test_accuracy": 0.85},
    ]
    figure = training_curves({"a": records, "b": records[:1]})
    names = [trace.name for trace in figure.data]
    assert names == ["a loss", "a train acc.", "a test acc.", "b loss", "b train acc.",
                     "b test acc."]  # fmt: skip
    assert list(figure.data[0].y) == [1.0, 0.5]  # a NaN (None) loss is not drawn
    assert list(figure.data[2].y) == [0.85]


def test_every_figure_takes_its_colours_from_the_one_palette() -> None:
    folder = Path(figures.__file__).parent
    for module in sorted(folder.glob("*.py")):
        if module.name != "colours.py":
            assert not re.search(r'"#[0-9a-fA-F]{6}"|rgba\(', module.read_text()), module.name


def test_sample_counts_axis_starts_at_zero_in_whole_samples() -> None:
    empty = sample_counts([0] * 10).layout.yaxis
    assert tuple(empty.range) == (0, 1.1) and empty.dtick == 1
    some = sample_counts([0, 0, 0, 0, 0, 0, 0, 12, 0, 0]).layout.yaxis
    assert tuple(some.range) == (0, pytest.approx(13.2)) and some.dtick == 3


def test_html_bars_match_the_probabilities() -> None:
    """Each bar's height is its probability of the 100% height, the winner alone in the
    accent colour, the percentages shown from 1%, and every bar labelled for screen readers."""
    probabilities = [0.0, 0.005, 0.02, 0.0, 0.0, 0.0, 0.0, 0.9, 0.0, 0.0]
    html = probability_bars_html(probabilities, not_a_digit=True)
    heights = [int(h) for h in re.findall(r"width:70%;height:(\d+)px", html)]
    expected = [round(BAR_HEIGHT_PX * p) for p in [*probabilities, 1 - sum(probabilities)]]
    assert heights == expected
    assert re.findall(r'aria-label="([^"]+)"', html)[7] == "7: 90.0%"
    assert re.findall(r'aria-label="([^"]+)"', html)[10] == "not a digit: 7.5%"
    colours = re.findall(r"background:(#[0-9a-f]{6})", html)
    assert colours.count(ACCENT) == 1 and colours.index(ACCENT) == 7
    assert colours.count(MUTED) == 10
    assert ">90%<" in html and ">2%<" in html and ">0%<" not in html  # 0.5% is not written
    assert len(re.findall(r"width:70%", probability_bars_html(probabilities))) == 10


def test_html_bars_refuse_a_wrong_number_of_probabilities() -> None:
    with pytest.raises(ValueError, match="expected 10 probabilities"):
        probability_bars_html([0.5, 0.5])
