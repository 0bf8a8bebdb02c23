"""The Tour's pictures for chapters 2-6: what each panel shows, in numbers and titles."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from handwritten.analysis import story
from handwritten.analysis.lessons import example_digit
from handwritten.data.preprocess import preprocess
from handwritten.figures import tour
from handwritten.models.architectures import create_model


@pytest.fixture(scope="module")
def image28() -> np.ndarray:
    return preprocess(example_digit()).digits[0].centred


@pytest.fixture(scope="module")
def cnn():
    return create_model("cnn", 0)


def titles(figure) -> list[str]:
    return [annotation.text for annotation in figure.layout.annotations]


def test_matrix_text_is_the_stored_byte_and_blank_for_black() -> None:
    image = np.array([[0.0, 1.0], [0.5, 0.001]])
    np.testing.assert_array_equal(tour.matrix_text(image), [["", "255"], ["128", ""]])


def test_cell_text_rounds_without_float32_noise() -> None:
    values = np.array([[0.16000000238, -0.04], [7.0, 12.345]], np.float32)
    np.testing.assert_array_equal(tour.cell_text(values), [["0.2", "0.0"], ["7.0", "12.3"]])


def test_png_source_round_trips_a_tile() -> None:
    tile = (np.arange(64).reshape(8, 8) * 4).astype(np.uint8)
    uri = tour.png_source(tile)
    assert uri.startswith("data:image/png;base64,")
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    np.testing.assert_array_equal(decoded, tile)


def test_pixels_figure_shows_six_steps_and_the_matrix() -> None:
    prepared = preprocess(example_digit())
    figure = tour.pixels_figure(prepared)
    assert [trace.type for trace in figure.data] == ["image"] * 6 + ["heatmap"]
    expected = tour.matrix_text(prepared.digits[0].centred)
    np.testing.assert_array_equal(figure.data[-1].text, expected)
    assert "28 × 28 numbers" in " ".join(titles(figure))
    assert figure.layout.font.size == tour.FONT


def test_convolution_figure_spells_out_one_window(image28: np.ndarray) -> None:
    told = story.convolution_story(image28)
    figure = tour.convolution_figure(told)
    assert len(figure.data) == 7
    assert f"sum {told.window.value:.2f}" in " ".join(titles(figure))
    np.testing.assert_allclose(figure.data[3].z, told.window.products)
    np.testing.assert_array_equal(figure.data[2].text, tour.cell_text(told.window.kernel))
    box = figure.layout.shapes[0]  # the window on the drawing, 3 cells wide
    assert (box.x0, box.x1) == (told.col - 1.5, told.col + 1.5)


def test_filters_figure_frames_the_most_sobel_like(cnn, image28: np.ndarray) -> None:
    told = story.filter_story(cnn, image28)
    figure = tour.filters_figure(told)
    assert "32 filters (3 × 3)" in " ".join(titles(figure))
    assert len(figure.layout.shapes) == 4  # each closest filter, and its map
    mlp = tour.filters_figure(story.filter_story(create_model("mlp", 0), image28))
    assert len(mlp.data) == 2


def test_pooling_figure_states_the_sizes(cnn, image28: np.ndarray) -> None:
    figure = tour.pooling_figure(story.pooling_story(cnn, image28))
    text = " ".join(titles(figure))
    assert "28 × 28 = 784 numbers" in text and "14 × 14 = 196" in text
    np.testing.assert_array_equal(figure.data[3].z.shape, (2, 2))


def test_dense_figure_goes_from_maps_to_probabilities(cnn, image28: np.ndarray) -> None:
    told = story.dense_story(cnn, image28)
    figure = tour.dense_figure(told)
    assert "3,136<br>numbers" in titles(figure) and "256<br>units" in titles(figure)
    scores, probabilities = figure.data[3], figure.data[4]
    np.testing.assert_allclose(scores.x, told.logits)
    np.testing.assert_allclose(probabilities.x, told.probabilities)
    winner = probabilities.marker.color[told.answer]
    assert [c for c in probabilities.marker.color].count(winner) == 1


def test_dense_figure_of_an_open_set_model_has_a_not_a_digit_bar(image28: np.ndarray) -> None:
    told = story.dense_story(create_model("cnn_open", 0), image28)
    figure = tour.dense_figure(told)
    assert "11<br>scores" in titles(figure) and "softmax:<br>11 probabilities" in titles(figure)
    probabilities = figure.data[4]
    assert len(probabilities.x) == len(probabilities.y) == 11
    assert list(probabilities.y)[-1] == "not a digit"


def test_dense_figure_without_a_hidden_dense_layer(image28: np.ndarray) -> None:
    told = story.dense_story(create_model("custom", 0, "conv3x3x8,relu,pool2"), image28)
    figure = tour.dense_figure(told)
    assert not any("units" in title for title in titles(figure))
    scores, probabilities = figure.data[2], figure.data[3]
    np.testing.assert_allclose(scores.x, told.logits)
    np.testing.assert_allclose(probabilities.x, told.probabilities)
