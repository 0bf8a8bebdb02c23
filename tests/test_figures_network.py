"""The Explain page's figures: legends and axis labels say what the colours and axes mean."""

from __future__ import annotations

import numpy as np

from handwritten.analysis.network import ProbeGrid
from handwritten.figures import network as plots


def test_rgba_channels_share_one_black_to_white_scale() -> None:
    """An opaque alpha channel (all 255) is white, not a flat autoscaled grey."""
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 255
    figure = plots.rgba_channels(rgba, np.zeros((8, 8)))
    assert [(t.zmin, t.zmax) for t in figure.data] == [(0.0, 1.0)] * 5
    assert float(np.asarray(figure.data[3].z).min()) == 1.0


def test_filters_and_feature_maps_carry_a_colour_legend_and_fill_the_width() -> None:
    filters = plots.filter_grid(np.random.default_rng(0).normal(size=(32, 3, 3)), "f")
    assert filters.data[0].showscale is not False
    assert filters.data[0].colorbar.title.text == "weight (÷ its max)"
    maps = plots.feature_maps(np.random.default_rng(1).random((14, 14, 32)), "m")
    assert maps.data[0].colorbar.title.text == "share of the map's max"
    height, width = np.asarray(maps.data[0].z).shape
    assert width >= 1.6 * height, "tiled about twice as wide as tall: the page's width"


def test_kernel_strengths_and_the_norm_heatmap_label_their_axes() -> None:
    heatmap = plots.matrix_heatmap(
        np.ones((4, 3)), "conv2", axes=("input map", "conv2 map"), legend="kernel strength"
    )
    assert heatmap.layout.xaxis.title.text == "input map"
    assert heatmap.layout.yaxis.title.text == "conv2 map"
    assert heatmap.layout.xaxis.showticklabels and heatmap.data[0].colorbar.title.text
    bars = plots.kernel_strengths(np.arange(5.0), "its filter")
    assert bars.layout.xaxis.title.text.startswith("input map")
    assert bars.layout.yaxis.title.text == "strength (kernel norm)"
    units = plots.top_units(np.arange(30.0), "dense1")
    assert units.layout.yaxis.title.text == "activation"
    assert list(units.data[0].x[:2]) == ["#29", "#28"]


def test_the_shift_probe_reads_top_to_bottom() -> None:
    rows = [f"{dy:+d}" for dy in range(-4, 5)]
    grid = ProbeGrid(rows, rows, np.zeros((9, 9), int), np.ones((9, 9)))
    figure = plots.probe_heatmap(grid, "shifted", "right (px)", "down (px)")
    assert figure.layout.yaxis.autorange == "reversed", "+4 px down is at the bottom"
    assert figure.layout.yaxis.title.text == "down (px)"
