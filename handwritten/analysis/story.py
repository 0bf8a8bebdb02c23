"""The Tour's chapters 3 to 6 on one drawing: convolution, learned filters, pooling, dense layers.

Each function takes the preprocessed 28x28 image (floats in [0, 1], what the model sees) and,
where the model matters, the model itself, and returns plain arrays for one picture. Everything
is read from the model's own `trace` (layer kinds and shapes, never names), so the chapters work
for the shipped cnn, the seed's LeNet, the MLP and any network built from a layer spec (a
chapter whose layer the network lacks shows the hand-made version, and says so).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from handwritten.analysis.network import (
    SOBEL_X,
    SOBEL_Y,
    ConvWindow,
    LayerActivation,
    activations,
    conv_window,
    first_layer_filters,
    sobel,
)
from handwritten.models.architectures import MNIST_MEAN, MNIST_STD, DigitModel

# ---------------------------------------------------------------------------------------------
# Chapter 3: convolution by hand


@dataclass(frozen=True)
class ConvolutionStory:
    """One output pixel spelled out at the drawing's strongest edge, then the whole maps."""

    image: np.ndarray  # (28, 28) the drawing as the model sees it
    row: int
    col: int
    window: ConvWindow  # Sobel x at (row, col)
    gx: np.ndarray  # (28, 28) horizontal change
    gy: np.ndarray  # (28, 28) vertical change
    magnitude: np.ndarray  # (28, 28) edge strength


def convolution_story(image28: np.ndarray) -> ConvolutionStory:
    """Sobel x and y over the drawing, and the window at its strongest vertical edge (the
    largest |Sobel x|: the one product sum worth showing is one that is far from zero)."""
    gx, gy, magnitude = sobel(image28)
    row, col = np.unravel_index(int(np.abs(gx).argmax()), gx.shape)
    window = conv_window(image28, SOBEL_X, int(row), int(col))
    return ConvolutionStory(image28, int(row), int(col), window, gx, gy, magnitude)


# ---------------------------------------------------------------------------------------------
# Chapter 4: learned filters next to Sobel


def kernel_similarity(filters_nkk: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """|cosine| between each filter (n, k, k) and `kernel`, zero-padded to the filters' size
    around its centre. The absolute value: a filter and its negative find the same edge."""
    size = filters_nkk.shape[1]
    pad = (size - kernel.shape[0]) // 2
    if pad < 0:
        raise ValueError(f"the kernel ({kernel.shape[0]}) is larger than the filters ({size})")
    padded = np.pad(kernel.astype(np.float64), pad).ravel()
    flat = filters_nkk.reshape(len(filters_nkk), -1).astype(np.float64)
    norms = np.linalg.norm(flat, axis=1) * np.linalg.norm(padded)
    return np.abs(flat @ padded) / np.where(norms > 0, norms, 1.0)


@dataclass(frozen=True)
class FilterStory:
    """Hand-made Sobel kernels and the model's first-layer filters, each with its output."""

    sobel_kernels: np.ndarray  # (2, 3, 3): x, y
    sobel_maps: np.ndarray  # (2, 28, 28)
    learned: np.ndarray | None  # (n, k, k), None for a model without convolutions
    learned_maps: np.ndarray | None  # (n, h, w): each filter's output on the drawing
    closest: tuple[tuple[int, float], ...]  # per Sobel kernel: (filter index, |cosine|)


def _first_conv(layers: list[LayerActivation]) -> LayerActivation | None:
    return next((layer for layer in layers if layer.info.kind == "conv"), None)


def filter_story(model: DigitModel, image28: np.ndarray) -> FilterStory:
    """Sobel's two kernels and the first conv layer's filters on the same drawing."""
    gx, gy, _ = sobel(image28)
    sobel_kernels = np.stack([SOBEL_X, SOBEL_Y])
    learned = first_layer_filters(model)
    conv = _first_conv(activations(model, image28))
    if learned is None or conv is None:
        return FilterStory(sobel_kernels, np.stack([gx, gy]), None, None, ())
    closest = []
    for kernel in sobel_kernels:
        similarity = kernel_similarity(learned, kernel)
        best = int(similarity.argmax())
        closest.append((best, float(similarity[best])))
    learned_maps = np.moveaxis(conv.value, -1, 0)
    return FilterStory(sobel_kernels, np.stack([gx, gy]), learned, learned_maps, tuple(closest))


# ---------------------------------------------------------------------------------------------
# Chapter 5: pooling


def map_contrast(maps_hwc: np.ndarray) -> np.ndarray:
    """(c,) how much each map shows: the mean distance of its pixels from its own background
    level (the median). A plain sum would favour maps lit evenly everywhere by a bias."""
    flat = np.asarray(maps_hwc, np.float64).reshape(-1, maps_hwc.shape[-1])
    return np.abs(flat - np.median(flat, axis=0)).mean(axis=0)


def max_pool(map_hw: np.ndarray, size: int = 2) -> np.ndarray:
    """Max over non-overlapping size x size windows (a ragged edge is dropped, as in the
    models' own pooling)."""
    height, width = (map_hw.shape[0] // size) * size, (map_hw.shape[1] // size) * size
    trimmed = np.asarray(map_hw)[:height, :width]
    return trimmed.reshape(height // size, size, width // size, size).max(axis=(1, 3))


@dataclass(frozen=True)
class PoolingStory:
    """One feature map before and after 2x2 max-pooling, and a 4x4 corner of it up close."""

    layer: str  # the pooled layer's input ("relu1", "conv1"), or "edge strength" without one
    channel: int | None
    before: np.ndarray  # (h, w)
    after: np.ndarray  # (h // 2, w // 2)
    zoom_top: int  # a 4x4 block of `before` (even coordinates) and its 2x2 result
    zoom_left: int

    @property
    def zoom_before(self) -> np.ndarray:
        return self.before[self.zoom_top : self.zoom_top + 4, self.zoom_left : self.zoom_left + 4]

    @property
    def zoom_after(self) -> np.ndarray:
        top, left = self.zoom_top // 2, self.zoom_left // 2
        return self.after[top : top + 2, left : left + 2]


def _zoom_corner(before: np.ndarray) -> tuple[int, int]:
    """The even-aligned 4x4 block around the map's strongest pixel, kept inside the map."""
    row, col = np.unravel_index(int(before.argmax()), before.shape)
    top = int(np.clip((row - 1) // 2 * 2, 0, before.shape[0] - 4))
    left = int(np.clip((col - 1) // 2 * 2, 0, before.shape[1] - 4))
    return top, left


def pooling_story(model: DigitModel, image28: np.ndarray) -> PoolingStory:
    """The model's first 2x2 max pool on the channel that shows most; for a model without one
    (no pooling, or only average, larger or global pooling) the drawing's Sobel edge strength
    pooled by hand, which is what the chapter explains."""
    layers = activations(model, image28)
    for index, layer in enumerate(layers):
        if layer.info.kind != "pool" or layer.value.ndim != 3:
            continue
        source = layers[index - 1]
        channel = int(map_contrast(layer.value).argmax())
        before = source.value[..., channel]
        after = max_pool(before)
        read = (after - MNIST_MEAN) / MNIST_STD if source.info.kind == "input" else after
        is_max_2x2 = after.shape == layer.value.shape[:2] and bool(
            np.allclose(read, layer.value[..., channel], atol=1e-5)
        )
        if is_max_2x2 and min(before.shape) >= 4:
            return PoolingStory(source.info.name, channel, before, after, *_zoom_corner(before))
    before = sobel(image28)[2]
    return PoolingStory("edge strength", None, before, max_pool(before), *_zoom_corner(before))


# ---------------------------------------------------------------------------------------------
# Chapter 6: dense layers and softmax


def softmax(logits: np.ndarray) -> np.ndarray:
    """exp(score) / sum of exp(scores), shifted by the largest score so nothing overflows."""
    shifted = np.exp(np.asarray(logits, np.float64) - np.max(logits))
    return shifted / shifted.sum()


@dataclass(frozen=True)
class DenseStory:
    """From the last feature maps to ten probabilities, one array per stage."""

    maps: np.ndarray | None  # (h, w, c): the last spatial layer (None: the input, as in an MLP)
    flat: np.ndarray  # (h * w * c,): the same numbers in one row (or (c,) map means after gap)
    hidden: np.ndarray | None  # (units,): what the logits read, None without a hidden dense layer
    logits: np.ndarray  # (K,): one score per digit, and "not a digit" last when K = 11
    probabilities: np.ndarray  # (K,)

    @property
    def answer(self) -> int:
        return int(self.probabilities.argmax())


def flat_index(layers: list[LayerActivation]) -> int:
    """The first layer whose output is one row of numbers: the flatten (or global pooling)."""
    return next(i for i, layer in enumerate(layers) if layer.value.ndim == 1)


def hidden_blocks(layers: list[LayerActivation]) -> list[tuple[int, int]]:
    """(dense, end) per hidden dense layer after the flatten: its index and that of the last
    layer of its block (its norm, activation or dropout), the one the next dense layer reads."""
    denses = [i for i in range(flat_index(layers), len(layers)) if layers[i].info.kind == "dense"]
    return [(dense, following - 1) for dense, following in itertools.pairwise(denses)]


def dense_story(model: DigitModel, image28: np.ndarray) -> DenseStory:
    """The activations around the dense part: last maps, flattened, hidden units, scores."""
    layers = activations(model, image28)
    flat = flat_index(layers)
    blocks = hidden_blocks(layers)
    before = layers[flat - 1]
    logits = layers[-1].value
    return DenseStory(
        maps=before.value if before.info.kind != "input" else None,
        flat=layers[flat].value,
        hidden=layers[blocks[-1][1]].value if blocks else None,
        logits=logits,
        probabilities=softmax(logits),
    )
