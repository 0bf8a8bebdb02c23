"""Explain computations: reference checks against SciPy/NumPy, shapes for every architecture."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from handwritten.analysis import network as explain
from handwritten.figures.network import (
    conv_step,
    embedding_map,
    feature_maps,
    filter_grid,
    mosaic,
    probe_heatmap,
    saliency_overlay,
)
from handwritten.models.architectures import REGISTRY, create_model
from handwritten.recognition.predictor import Predictor
from handwritten.storage.paths import home_dir


@pytest.fixture(scope="module")
def digit() -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[5:23, 13:16] = 1.0  # a 1
    image[5:8, 10:14] = 0.6
    return image


def test_sobel_matches_scipy(digit: np.ndarray) -> None:
    gx, gy, magnitude = explain.sobel(digit)
    # scipy.ndimage.sobel differentiates along `axis` with the same Sobel-Feldman weights.
    np.testing.assert_allclose(gx, ndimage.sobel(digit, axis=1, mode="constant"), atol=1e-5)
    np.testing.assert_allclose(gy, ndimage.sobel(digit, axis=0, mode="constant"), atol=1e-5)
    np.testing.assert_allclose(magnitude, np.hypot(gx, gy))


@pytest.mark.parametrize("row, col", [(0, 0), (10, 14), (27, 27), (5, 13)])
def test_conv_window_is_the_output_pixel(digit: np.ndarray, row: int, col: int) -> None:
    kernel = np.arange(9, dtype=np.float32).reshape(3, 3) - 4
    step = explain.conv_window(digit, kernel, row, col)
    assert step.window.shape == (3, 3)
    np.testing.assert_allclose(step.products, step.window * kernel)
    assert step.value == pytest.approx(explain.correlate_same(digit, kernel)[row, col], abs=1e-5)
    assert conv_step(step).data[2].z.shape == (3, 3)


@pytest.mark.parametrize("arch", sorted(REGISTRY))
def test_activations_and_weights_for_every_architecture(arch: str, digit: np.ndarray) -> None:
    model = create_model(arch, seed=0)
    layers = explain.describe_layers(model)
    values = explain.activations(model, digit)
    assert [v.info for v in values] == layers
    for value in values:
        assert value.value.shape == value.info.shape
    convs = [layer for layer in layers if layer.kind == "conv"]
    filters = explain.first_layer_filters(model)
    if not convs:
        assert filters is None and explain.first_dense_weights(model).shape == (100, 28, 28)
        return
    kernels = explain.conv_kernels(model, convs[0])
    assert filters.shape == (kernels.shape[-1], kernels.shape[0], kernels.shape[1])
    for layer in convs[1:]:
        k = explain.conv_kernels(model, layer)
        assert explain.kernel_norms(model, layer).shape == (k.shape[3], k.shape[2])
    with pytest.raises(ValueError, match="not a convolution"):
        explain.conv_kernels(model, layers[0])


def test_saliency_is_gradient_times_input(digit: np.ndarray) -> None:
    import jax
    import jax.numpy as jnp

    model = create_model("mlp", seed=1)
    attribution = explain.saliency(model, digit, 3)
    gradient = jax.grad(lambda x: model(x[None, ..., None])[0, 3])(jnp.asarray(digit))
    np.testing.assert_allclose(attribution, np.asarray(gradient) * digit, atol=1e-5)
    assert np.all(attribution[digit == 0] == 0)
    assert saliency_overlay(digit, attribution).data


def test_pca_matches_numpy_and_embedding_cache_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 5)) * np.array([5.0, 2.0, 1.0, 0.5, 0.1])
    mean, components = explain.pca_2d(features)
    covariance_eigvecs = np.linalg.eigh(np.cov((features - mean).T))[1][:, ::-1][:, :2].T
    np.testing.assert_allclose(np.abs(components @ covariance_eigvecs.T), np.eye(2), atol=1e-6)

    model = create_model("mlp", seed=0)
    images = rng.integers(0, 256, (40, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, 40)
    checkpoint = tmp_path / "model.msgpack"
    checkpoint.write_bytes(b"stand-in: the cache key uses path, mtime and size")
    first = explain.cached_embedding(model, checkpoint, images, labels)
    cached = list((home_dir() / "cache").glob("embedding-*.npz"))
    assert len(cached) == 1
    second = explain.cached_embedding(model, checkpoint, images, labels)
    np.testing.assert_array_equal(first.points, second.points)
    cached[0].write_bytes(b"damaged")
    third = explain.cached_embedding(model, checkpoint, images, labels)
    np.testing.assert_allclose(third.points, first.points, atol=1e-5)
    assert first.neighbours(first.features[7], k=1)[0] == 7
    np.testing.assert_allclose(first.project(first.features[:3]), first.points[:3], atol=1e-4)
    assert embedding_map(first, first.points[0], first.neighbours(first.features[0])).data


def test_probe_grid_centre_cell_is_the_plain_prediction(digit: np.ndarray) -> None:
    predictor = Predictor(create_model("lenet", seed=2))
    label = int(predictor.probabilities(digit[None])[0].argmax())
    shifts, turns = explain.probe_grids(predictor.probabilities, digit, label)
    assert shifts.predicted.shape == (9, 9) and turns.predicted.shape == (4, 9)
    assert shifts.predicted[4, 4] == label  # no shift
    assert turns.predicted[1, 4] == label  # as drawn, no rotation
    np.testing.assert_allclose(
        shifts.confidence[4, 4], predictor.probabilities(digit[None])[0, label], atol=1e-6
    )
    assert probe_heatmap(shifts, "shifted", "x", "y").data[0].z.shape == (9, 9)


def test_mosaic_tiles_with_gutters() -> None:
    maps = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    tiled = mosaic(maps)
    assert tiled.shape == (2 * 3 - 1, 3 * 4 - 1)  # 2 rows x 3 columns of 2x3 tiles
    np.testing.assert_array_equal(tiled[0:2, 0:3], maps[0])
    np.testing.assert_array_equal(tiled[3:5, 4:7], maps[4])
    assert np.isnan(tiled[2, 0]) and np.isnan(tiled[0, 3])
    assert filter_grid(maps, "f").data and feature_maps(np.moveaxis(maps, 0, -1), "m").data
