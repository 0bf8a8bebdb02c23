"""The whole network at once: connection strengths against hand computation, the columns and
links of every architecture."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from handwritten.analysis import overview as network
from handwritten.analysis.network import activations
from handwritten.models.architectures import MNIST_MEAN, MNIST_STD, create_model


@pytest.fixture(scope="module")
def seven() -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[6:9, 7:21] = 1.0
    for row in range(9, 23):
        col = 20 - (row - 9) // 2
        image[row, col - 1 : col + 2] = 1.0
    return image


def test_conv_strength_by_hand() -> None:
    inputs = np.zeros((2, 2, 2))
    inputs[..., 0] = [[1, 2], [3, 4]]
    inputs[..., 1] = [[0, 0], [0, -8]]
    kernel = np.zeros((1, 1, 2, 1))
    kernel[0, 0, :, 0] = [2.0, 0.5]  # a 1x1 convolution: output = 2 * map 0 + 0.5 * map 1
    strengths = network.conv_strengths(inputs, kernel, [0, 1], [0], valid=False)
    # mean |2 * [1, 2, 3, 4]| = 5; mean |0.5 * [0, 0, 0, -8]| = 1.
    np.testing.assert_allclose(strengths, [[5.0], [1.0]])


def test_conv_strength_averages_only_the_pixels_a_valid_convolution_makes() -> None:
    inputs = np.ones((5, 5, 1))
    kernel = np.ones((3, 3, 1, 1))
    # SAME: a corner sees 4 of the 9 pixels, an edge 6, the inside 9; VALID keeps the 3x3
    # inside, where every output is 9.
    assert network.conv_strengths(inputs, kernel, [0], [0], valid=True)[0, 0] == pytest.approx(9)
    same = (4 * 4 + 12 * 6 + 9 * 9) / 25
    assert network.conv_strengths(inputs, kernel, [0], [0], valid=False)[0, 0] == pytest.approx(
        same
    )


def test_dense_strength_by_hand() -> None:
    inputs = np.array([[[1.0, 10.0], [2.0, 20.0]]])  # h=1, w=2, c=2; flattened 1, 10, 2, 20
    kernel = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 3.0], [0.5, -0.5]])  # (4 inputs, 2 units)
    strengths = network.dense_strengths(inputs, kernel, [0, 1], [0, 1])
    # channel 0 feeds flat positions 0 and 2: unit 0 gets 1*1 + 2*(-1) = -1, unit 1 0 + 2*3 = 6;
    # channel 1 feeds positions 1 and 3: unit 0 gets 0 + 20*0.5 = 10, unit 1 10*1 - 20*0.5 = 0.
    np.testing.assert_allclose(strengths, [[1.0, 6.0], [10.0, 0.0]])


def test_output_strength_by_hand() -> None:
    hidden = np.array([2.0, 0.0, 3.0])
    kernel = np.array([[1.0, -1.0], [5.0, 5.0], [-2.0, 0.5]])
    np.testing.assert_allclose(
        network.output_strengths(hidden, kernel, [0, 2], [1]), [[2.0], [1.5]]
    )


def test_the_cnn_overview(seven: np.ndarray) -> None:
    model = create_model("cnn", 0)
    told = network.overview(model, seven)
    names = [column.name for column in told.columns]
    assert names == ["input", "conv1", "relu1", "pool1", "conv2", "relu2", "conv3", "relu3",
                     "pool2", "dense1", "output"]  # fmt: skip
    layers = {layer.info.name: layer.value for layer in activations(model, seven)}
    for column in told.columns[1:9]:
        assert column.maps is not None and column.maps.shape[0] == 6
        np.testing.assert_allclose(column.maps, np.moveaxis(
            layers[column.name][..., list(column.indices)], -1, 0))  # fmt: skip
    # A block shows the same channels all along, so its links run straight.
    assert told.columns[1].indices == told.columns[2].indices == told.columns[3].indices
    assert told.columns[6].indices == told.columns[7].indices == told.columns[8].indices
    probabilities = told.columns[-1].values
    assert probabilities is not None and probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert told.answer == int(np.argmax(layers["logits"]))
    straight = [e for e in told.edges if e.one_to_one]
    assert all(e.source[1] == e.target[1] and e.target[0] == e.source[0] + 1 for e in straight)
    into_output = [e for e in told.edges if e.target[0] == 10]
    assert into_output and all(e.target == (10, told.answer) for e in into_output)
    assert all(0 < e.strength <= 1 for e in told.edges if not e.one_to_one)


def test_an_edge_is_the_strongest_by_hand_computation(seven: np.ndarray) -> None:
    model = create_model("cnn", 0)
    told = network.overview(model, seven, fan_in=1)
    layers = {layer.info.name: layer.value for layer in activations(model, seven)}
    kernel = np.asarray(model.conv2.kernel[...])
    sources, targets = told.columns[3].indices, told.columns[4].indices
    for edge in (e for e in told.edges if e.target[0] == 4):
        j = targets[edge.target[1]]
        by_hand = [
            np.abs(ndimage.correlate(layers["pool1"][..., i], kernel[:, :, i, j], mode="constant"))
            .mean()
            for i in sources
        ]  # fmt: skip
        assert edge.source[1] == int(np.argmax(by_hand))  # the one strongest input map


def test_the_input_is_read_standardised(seven: np.ndarray) -> None:
    model = create_model("lenet", 0)
    told = network.overview(model, seven, per_column=3, fan_in=3)
    kernel = np.asarray(model.conv1.kernel[...])
    standardised = ((seven - MNIST_MEAN) / MNIST_STD)[..., None]
    strengths = network.conv_strengths(
        standardised, kernel, [0], list(told.columns[1].indices), valid=True
    )
    edges = sorted((e for e in told.edges if e.target[0] == 1), key=lambda e: e.target[1])
    np.testing.assert_allclose([e.strength for e in edges], strengths[0] / strengths.max())


@pytest.mark.parametrize(
    "arch, names",
    [
        ("lenet", ["input", "conv1", "pool1", "conv2", "pool2", "dense1", "output"]),
        ("mlp", ["input", "dense1", "output"]),
    ],
)
def test_every_architecture_has_an_overview(seven: np.ndarray, arch: str, names: list) -> None:
    told = network.overview(create_model(arch, 0), seven)
    assert [column.name for column in told.columns] == names
    assert told.columns[-2].values is not None and len(told.columns[-2].indices) == 6


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("conv3x3x16,relu,pool2,dense64", ["input", "conv1", "relu1", "pool1", "dense1", "output"]),
        ("dense64,relu,dense32,relu", ["input", "dense1", "dense2", "output"]),
        ("conv3x3x8,relu,pool2", ["input", "conv1", "relu1", "pool1", "output"]),
        ("conv3x3x16,relu,gap,dense32,relu", ["input", "conv1", "relu1", "dense1", "output"]),
    ],
)
def test_a_spec_network_has_an_overview(seven: np.ndarray, spec: str, names: list) -> None:
    """Built networks may have no, one or several hidden dense layers, or global pooling:
    every hidden dense layer is a column, each linked to the next, the last to the winner."""
    told = network.overview(create_model("custom", 0, spec), seven)
    assert [column.name for column in told.columns] == names
    out = len(names) - 1
    into_output = [e for e in told.edges if e.target[0] == out]
    assert into_output and all(e.target == (out, told.answer) for e in into_output)
    for column in range(1, out):  # every column is fed by the one before it
        assert any(e.target[0] == column and e.source[0] == column - 1 for e in told.edges)
    assert all(0 < e.strength <= 1 for e in told.edges if not e.one_to_one)


def test_dense_strength_after_global_pooling_by_hand(seven: np.ndarray) -> None:
    model = create_model("custom", 0, "conv3x3x4,relu,gap,dense8,relu")
    told = network.overview(model, seven, per_column=4, fan_in=4)
    layers = activations(model, seven)
    means = layers[2].value.mean(axis=(0, 1))  # relu1's maps, each pooled to its mean
    kernel = np.asarray(model.dense1.kernel[...])
    sources, units = told.columns[2].indices, told.columns[3].indices
    by_hand = np.abs(means[list(sources)][:, None] * kernel[np.ix_(list(sources), list(units))])
    edges = [e for e in told.edges if e.target[0] == 3]
    for edge in edges:
        expected = by_hand[edge.source[1], edge.target[1]] / by_hand.max()
        assert edge.strength == pytest.approx(expected, rel=1e-4)
