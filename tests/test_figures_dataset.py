"""Data-page figures: pure builders checked on tiny inputs (pixels decoded back from the PNG)."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from handwritten.analysis.scores import CellExample
from handwritten.figures import colours
from handwritten.figures import dataset as plots


def mosaic(figure: go.Figure) -> np.ndarray:
    """The RGBA pixels of an image grid's PNG."""
    source = figure.data[0].source
    assert source.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))


def test_class_balance_bars_show_counts_and_shares() -> None:
    train, test = np.arange(10) + 1, np.full(10, 5)
    figure = plots.class_balance_bars(train, test)
    assert [bar.name for bar in figure.data] == ["train (55)", "test (50)"]
    assert list(figure.data[0].y) == train.tolist()
    np.testing.assert_allclose(figure.data[0].customdata, train / 55)
    np.testing.assert_allclose(figure.data[1].customdata, np.full(10, 0.1))
    with pytest.raises(ValueError):
        plots.class_balance_bars([1, 2], test)


def test_image_grid_places_each_image_at_its_tile() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 4, 3)).astype(np.uint8)
    figure = plots.image_grid(images, list("abcde"), columns=2, tile_px=8, gap_px=2)
    zoom = 2  # ceil(8 / 4 rows)
    cell_w = 3 * zoom + 2
    cell_h = 4 * zoom + plots.CAPTION_PX + plots.GAP_PX
    pixels = mosaic(figure)
    assert pixels.shape == (3 * cell_h, 2 * cell_w, 4)
    for index, image in enumerate(images):
        row, col = divmod(index, 2)
        tile = pixels[row * cell_h : row * cell_h + 8, col * cell_w : col * cell_w + 6]
        expected = np.kron(image, np.ones((zoom, zoom), np.uint8))  # nearest-neighbour upscale
        for channel in range(3):
            np.testing.assert_array_equal(tile[..., channel], expected)
        assert (tile[..., 3] == 255).all()
    assert (pixels[2 * cell_h :, cell_w:, 3] == 0).all()  # the empty sixth tile is transparent
    assert [a.text for a in figure.layout.annotations] == list("abcde")
    assert list(figure.data[1].hovertext) == list("abcde")
    assert figure.data[1].x[3] == pytest.approx(cell_w + 3) and figure.data[1].y[3] == 4 + cell_h


def test_image_grid_takes_floats_and_refuses_mismatched_captions() -> None:
    figure = plots.image_grid(np.array([[[0.0, 0.5], [1.0, 2.0]]]), ["x"], tile_px=2)
    assert mosaic(figure)[:2, :2, 0].tolist() == [[0, 128], [255, 255]]
    empty = plots.example_grid(np.zeros((0, 28, 28), np.uint8), np.array([], int))  # no such digit
    assert not empty.layout.annotations and not mosaic(empty)[..., 3].any()
    with pytest.raises(ValueError):
        plots.image_grid(np.zeros((2, 4, 4)), ["only one"])
    with pytest.raises(ValueError):
        plots.image_grid(np.zeros((4, 4)), ["flat"])


def test_mean_and_example_grids_are_captioned() -> None:
    means = plots.mean_image_grid(np.zeros((10, 28, 28)), counts=np.arange(10) * 100)
    assert [a.text for a in means.layout.annotations] == [str(d) for d in range(10)]
    assert means.data[1].hovertext[3] == "mean of 300 images of 3"
    examples = plots.example_grid(np.zeros((3, 28, 28), np.uint8), np.array([5, 17, 912]))
    assert [a.text for a in examples.layout.annotations] == ["#5", "#17", "#912"]


def test_cell_grid_shows_index_and_top_three() -> None:
    examples = [CellExample(42, 7, [(2, 0.91), (7, 0.06), (1, 0.02)])]
    figure = plots.cell_grid(np.zeros((1, 28, 28), np.uint8), examples)
    assert figure.layout.annotations[0].text == "#42<br>2: 91%<br>7: 6% · 1: 2%"
    assert figure.data[1].hovertext[0] == "test #42, a 7, read as 2: 91%, 7: 6%, 1: 2%"
    declined = [CellExample(7, 4, [(10, 0.8), (4, 0.15), (9, 0.03)])]
    figure = plots.cell_grid(np.zeros((1, 28, 28), np.uint8), declined)
    assert figure.layout.annotations[0].text == "#7<br>not a digit: 80%<br>4: 15% · 9: 3%"


def test_confusion_heatmap_counts_log_colour_and_clickable_cells() -> None:
    confusion = np.diag(np.full(10, 50))
    confusion[3, 8] = 4
    figure = plots.confusion_heatmap(confusion, selected=(3, 8))
    heatmap, cells = figure.data
    np.testing.assert_allclose(heatmap.z, np.log1p(confusion))
    assert heatmap.text[3][8] == "4" and heatmap.text[3][3] == "50" and heatmap.text[3][7] == ""
    assert len(cells.x) == 100
    for point in range(100):  # point 10 * true + predicted, x = predicted, y = true
        cell = divmod(point, 10)
        assert plots.cell_from_point({"x": cells.x[point], "y": cells.y[point]}) == cell
        assert cells.customdata[point][0] == confusion[cell]
    assert cells.customdata[38][1] == pytest.approx(4 / 54)
    (frame,) = figure.layout.shapes
    assert (frame.x0, frame.x1, frame.y0, frame.y1) == (7.5, 8.5, 2.5, 3.5)
    assert not plots.confusion_heatmap(confusion).layout.shapes
    with pytest.raises(ValueError):
        plots.confusion_heatmap(np.zeros((3, 3)))


def test_a_model_that_declines_gets_a_not_a_digit_column() -> None:
    confusion = np.zeros((10, 11), np.int64)
    confusion[np.arange(10), np.arange(10)] = 50
    confusion[8, 10] = 7  # seven 8s declined
    figure = plots.confusion_heatmap(confusion, selected=(8, 10))
    heatmap, cells = figure.data
    assert heatmap.text[8][10] == "7" and list(heatmap.x) == list(range(11))
    assert figure.layout.xaxis.ticktext[-1] == "not<br>a digit"
    assert figure.layout.xaxis.range == (-0.5, 10.5)
    assert len(cells.x) == 110
    for point in range(110):  # point 11 * true + predicted
        cell = divmod(point, 11)
        assert plots.cell_from_point({"x": cells.x[point], "y": cells.y[point]}) == cell
        assert cells.customdata[point][0] == confusion[cell]
    assert cells.hovertext[98] == "true 8, read as not a digit"
    (frame,) = figure.layout.shapes
    assert (frame.x0, frame.x1) == (9.5, 10.5)
    with pytest.raises(ValueError):
        plots.confusion_heatmap(np.zeros((11, 11)))


@pytest.mark.parametrize(
    "point, cell",
    [
        ({"x": 2, "y": 5, "curve_number": 1}, (5, 2)),
        ({"x": 2.0000001, "y": "5"}, (5, 2)),
        ({"x": 10, "y": 5}, (5, 10)),  # the "not a digit" column
        ({"x": 11, "y": 5}, None),
        ({"x": 3, "y": 10}, None),
        ({"x": None, "y": 5}, None),
        ({"point_index": 3}, None),
    ],
)
def test_cell_from_point_reads_a_click(point: dict, cell: tuple[int, int] | None) -> None:
    assert plots.cell_from_point(point) == cell


def test_per_class_accuracy_marks_the_weakest_digit() -> None:
    accuracy = [0.99] * 10
    accuracy[6], accuracy[9] = 0.97, float("nan")
    figure = plots.per_class_accuracy_bars(accuracy, support=np.full(10, 100))
    bar = figure.data[0]
    assert bar.marker.color[6] == colours.WARN
    assert [c for c in bar.marker.color if c == colours.WARN] == [colours.WARN]
    assert bar.text[6] == "97.0%" and bar.text[9] == "–" and bar.y[9] == 0.0
    low, high = figure.layout.yaxis.range
    assert 0.9 <= low <= 0.96 and high > 1.0
    assert "of %{customdata:,}" in bar.hovertemplate
    bad = plots.per_class_accuracy_bars([0.0] * 10)
    assert bad.layout.yaxis.range[0] == 0.0
    with pytest.raises(ValueError):
        plots.per_class_accuracy_bars([1.0])
