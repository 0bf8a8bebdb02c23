"""The whole-network picture: a tile and a clickable marker per map, links, the winner lit."""

from __future__ import annotations

import numpy as np
import pytest

from handwritten.analysis.lessons import example_digit
from handwritten.analysis.overview import overview
from handwritten.data.preprocess import preprocess
from handwritten.figures import overview as plots
from handwritten.models.architectures import create_model


@pytest.fixture(scope="module")
def told():
    return overview(create_model("cnn", 0), preprocess(example_digit()).digits[0].centred)


def test_every_tile_has_a_clickable_marker(told) -> None:
    figure = plots.overview_figure(told)
    tiles = sum(len(column.indices) for column in told.columns)
    heatmaps = [trace for trace in figure.data if trace.type == "heatmap"]
    markers = figure.data[-1]
    assert len(heatmaps) == len(told.columns) and len(markers.customdata) == tiles
    # conv2's six 14x14 maps stacked with 4 blank rows between them, each marker on its map.
    conv2 = heatmaps[4]
    assert conv2.z.shape == (6 * 14 + 5 * 4, 14)
    np.testing.assert_allclose(conv2.z[18:32], told.columns[4].maps[1])
    nodes = zip(markers.customdata, markers.y, strict=True)
    centre_row = next(y for (c, p), y in nodes if (c, p) == (4, 1))
    assert (centre_row - conv2.y0) / conv2.dy == pytest.approx(18 + 6.5)
    assert figure.layout.clickmode == "event+select" and figure.layout.dragmode is False
    first = {"customdata": list(markers.customdata[0])}
    assert plots.node_of(first) == (0, 0)
    assert plots.node_of({"x": 1.0}) is None and plots.node_of({"customdata": "x"}) is None


def test_links_and_the_winner(told) -> None:
    figure = plots.overview_figure(told)
    lines = [shape for shape in figure.layout.shapes if shape.type == "line"]
    assert len(lines) == len(told.edges)
    frames = [shape for shape in figure.layout.shapes if shape.type == "rect"]
    assert len(frames) == 11  # ten outputs, and the winner's frame
    labels = " ".join(a.text for a in figure.layout.annotations)
    assert f"<b>{told.answer}" in labels and "conv1" in labels and "28×28×32" in labels


def test_a_map_large(told) -> None:
    assert plots.names_a_node(told, 4, 5) and not plots.names_a_node(told, 4, 6)
    assert not plots.names_a_node(told, 11, 0)
    large = plots.map_figure(told, 4, 0)
    np.testing.assert_allclose(large.data[0].z, told.columns[4].maps[0])
    assert large.layout.title.text == f"conv2, map {told.columns[4].indices[0]} (14 × 14)"
    unit = plots.map_figure(told, 9, 0)
    assert unit.layout.title.text.startswith("dense1, unit")
