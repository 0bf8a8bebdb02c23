"""The Tour's chapters 3-6 computed on a drawing: checked against hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from handwritten.analysis import story
from handwritten.analysis.network import SOBEL_X, SOBEL_Y, activations, sobel
from handwritten.models.architectures import create_model
from handwritten.models.inference import infer_model


@pytest.fixture(scope="module")
def seven() -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[6:9, 7:21] = 1.0  # the bar
    for row in range(9, 23):  # the stem, leaning left
        col = 20 - (row - 9) // 2
        image[row, col - 1 : col + 2] = 1.0
    return image


@pytest.fixture(scope="module")
def cnn():
    return create_model("cnn", 0)


def test_convolution_is_shown_at_the_strongest_vertical_edge(seven: np.ndarray) -> None:
    told = story.convolution_story(seven)
    gx, gy, magnitude = sobel(seven)
    assert abs(gx[told.row, told.col]) == pytest.approx(np.abs(gx).max())
    # The window's products sum to exactly that output pixel.
    assert told.window.value == pytest.approx(gx[told.row, told.col], abs=1e-5)
    np.testing.assert_array_equal(told.window.kernel, SOBEL_X)
    np.testing.assert_allclose(told.magnitude, magnitude)
    np.testing.assert_allclose(told.gy, gy)


def test_convolution_window_by_hand() -> None:
    # A stroke two pixels wide (columns 2 and 3). Left of it, at column 1, the window (columns
    # 0-2) holds [[0, 0, 1]] * 3: Sobel x gives 1 + 2 * 1 + 1 = 4, the largest
    # |value| (tied with -4 right of the stroke; row 0 reads only 3, half its window is padding).
    image = np.zeros((7, 7), np.float32)
    image[:, 2:4] = 1.0
    told = story.convolution_story(image)
    assert (told.row, told.col) == (1, 1)
    np.testing.assert_array_equal(told.window.window, [[0, 0, 1]] * 3)
    assert told.window.value == pytest.approx(4.0)


def test_kernel_similarity_by_hand() -> None:
    filters = np.stack([SOBEL_X, -SOBEL_X, SOBEL_Y, np.ones((3, 3))])
    similarity = story.kernel_similarity(filters, SOBEL_X)
    # Sobel x with itself and its negative: 1; with Sobel y: orthogonal (their products sum to
    # 1 + 0 - 1 + 0 + 0 + 0 - 1 + 0 + 1 = 0); with a flat filter: 0 (Sobel sums to zero).
    np.testing.assert_allclose(similarity, [1.0, 1.0, 0.0, 0.0], atol=1e-12)
    five = np.zeros((1, 5, 5))
    five[0, 1:4, 1:4] = 2 * SOBEL_X  # a 5x5 filter with Sobel in its centre
    assert story.kernel_similarity(five, SOBEL_X)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="larger"):
        story.kernel_similarity(np.zeros((1, 3, 3)), np.zeros((5, 5)))


def test_max_pool_by_hand() -> None:
    map_hw = np.array([[1, 2, 0, 1], [3, 4, 1, 0], [0, 0, 5, 6], [-1, 0, 7, 8]], np.float32)
    np.testing.assert_array_equal(story.max_pool(map_hw), [[4, 1], [0, 8]])
    ragged = np.arange(25, dtype=np.float32).reshape(5, 5)  # the last row and column dropped
    np.testing.assert_array_equal(story.max_pool(ragged), [[6, 8], [16, 18]])


def test_map_contrast_ignores_an_even_background() -> None:
    maps = np.zeros((4, 4, 2))
    maps[..., 0] = 5.0  # lit everywhere: nothing to see
    maps[1, 1, 1] = 2.0  # one bright pixel
    np.testing.assert_allclose(story.map_contrast(maps), [0.0, 2.0 / 16])


def test_pooling_story_is_the_models_own_pooling(cnn, seven: np.ndarray) -> None:
    told = story.pooling_story(cnn, seven)
    layers = {layer.info.name: layer.value for layer in activations(cnn, seven)}
    assert told.layer == "relu1" and told.before.shape == (28, 28) and told.after.shape == (14, 14)
    np.testing.assert_allclose(told.before, layers["relu1"][..., told.channel])
    np.testing.assert_allclose(told.after, layers["pool1"][..., told.channel], rtol=1e-6)
    assert told.channel == int(story.map_contrast(layers["pool1"]).argmax())
    np.testing.assert_allclose(story.max_pool(told.zoom_before), told.zoom_after)
    assert told.zoom_top % 2 == 0 and told.zoom_left % 2 == 0
    row, col = np.unravel_index(told.before.argmax(), told.before.shape)
    assert told.zoom_top <= row < told.zoom_top + 4 and told.zoom_left <= col < told.zoom_left + 4


def test_pooling_without_a_pooling_layer_pools_the_edges(seven: np.ndarray) -> None:
    told = story.pooling_story(create_model("mlp", 0), seven)
    assert told.layer == "edge strength" and told.channel is None
    np.testing.assert_allclose(told.after, story.max_pool(sobel(seven)[2]))


def test_softmax_by_hand() -> None:
    np.testing.assert_allclose(story.softmax(np.array([0.0, math.log(3.0)])), [0.25, 0.75])
    np.testing.assert_allclose(story.softmax(np.array([1000.0, 1000.0])), [0.5, 0.5])


def test_dense_story_from_maps_to_the_models_probabilities(cnn, seven: np.ndarray) -> None:
    told = story.dense_story(cnn, seven)
    assert told.maps is not None and told.maps.shape == (7, 7, 64)
    assert told.flat.shape == (3136,) and told.hidden.shape == (256,)
    np.testing.assert_allclose(told.flat, told.maps.reshape(-1))  # flatten keeps NHWC order
    expected = infer_model(cnn, seven[None], output="probabilities")[0]
    np.testing.assert_allclose(told.probabilities, expected, atol=1e-5)
    assert told.answer == int(expected.argmax())
    assert (told.hidden >= 0).all()  # after the ReLU


def test_dense_story_of_an_mlp_starts_from_the_pixels(seven: np.ndarray) -> None:
    told = story.dense_story(create_model("mlp", 0), seven)
    assert told.maps is None and told.flat.shape == (784,) and told.hidden.shape == (100,)


def test_filter_story_puts_the_learned_filters_beside_sobel(cnn, seven: np.ndarray) -> None:
    told = story.filter_story(cnn, seven)
    assert told.learned is not None and told.learned.shape == (32, 3, 3)
    assert told.learned_maps is not None and told.learned_maps.shape == (32, 28, 28)
    assert told.sobel_maps.shape == (2, 28, 28)
    for kernel, (index, similarity) in zip((SOBEL_X, SOBEL_Y), told.closest, strict=True):
        assert similarity == pytest.approx(story.kernel_similarity(told.learned, kernel).max())
        assert 0 <= index < 32
    lenet = story.filter_story(create_model("lenet", 0), seven)
    assert lenet.learned is not None and lenet.learned.shape == (20, 5, 5)
    assert lenet.learned_maps is not None and lenet.learned_maps.shape == (20, 24, 24)
    assert story.filter_story(create_model("mlp", 0), seven).learned is None


# Networks built from a layer spec (the Train page's builder): every chapter reads them.
README_EXAMPLE = "conv3x3x16,relu,pool2,dense64"  # no activation after dense64


def test_dense_story_of_a_spec_network_reads_what_the_logits_read(seven: np.ndarray) -> None:
    model = create_model("custom", 0, "dense32,relu,dropout0.2,bn")
    told = story.dense_story(model, seven)
    layers = activations(model, seven)
    assert told.maps is None and told.flat.shape == (784,)
    np.testing.assert_allclose(told.hidden, layers[-2].value)  # the norm after the activation
    assert told.hidden is not None and told.hidden.shape == (32,)


@pytest.mark.parametrize("spec", ["conv3x3x8,relu,pool2", "pool2"])
def test_dense_story_without_a_hidden_dense_layer(seven: np.ndarray, spec: str) -> None:
    told = story.dense_story(create_model("custom", 0, spec), seven)
    assert told.hidden is None  # the flattened numbers go straight to the ten scores
    assert told.probabilities.sum() == pytest.approx(1.0)


def test_dense_story_after_global_average_pooling(seven: np.ndarray) -> None:
    model = create_model("custom", 0, "conv3x3x16,relu,gap")
    told = story.dense_story(model, seven)
    assert told.maps is not None and told.maps.shape == (28, 28, 16)
    np.testing.assert_allclose(told.flat, told.maps.mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)
    assert told.hidden is None


@pytest.mark.parametrize(
    ("spec", "pooled"),
    [
        (README_EXAMPLE, "relu1"),
        ("pool2,dense32,relu", "input"),  # pooling the drawing itself
        ("conv3x3x8,relu,avgpool2,dense32,relu", None),  # not a max pool: Sobel by hand
        ("conv3x3x8,relu,pool3,dense32,relu", None),  # not 2 x 2
        ("conv3x3x8,relu,gap", None),
    ],
)
def test_pooling_story_shows_only_a_real_2x2_max_pool(
    seven: np.ndarray, spec: str, pooled: str | None
) -> None:
    told = story.pooling_story(create_model("custom", 0, spec), seven)
    if pooled is None:
        assert told.channel is None and told.layer == "edge strength"
    else:
        assert told.layer == pooled and told.channel is not None
    assert told.after.shape == (told.before.shape[0] // 2, told.before.shape[1] // 2)
