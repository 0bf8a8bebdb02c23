"""Opening the network on one drawing: the computations behind the Explain page.

Everything works for any registered architecture: layers, their kinds and their weights come from
the model's own `trace` description, never from guessing by name. Inputs are the preprocessed
28x28 image (floats in [0, 1]) that the model actually sees.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from scipy import ndimage

from handwritten.models.architectures import DigitModel, LayerKind, split_model
from handwritten.models.inference import infer_model
from handwritten.storage.files import FileVersion, atomic_write_bytes
from handwritten.storage.paths import derived_cache_file

# Sobel-Feldman kernels: horizontal gradient (responds to vertical edges) and vertical gradient.
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
SOBEL_Y = SOBEL_X.T.copy()


# ---------------------------------------------------------------------------------------------
# Convolution by hand


def correlate_same(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """What a conv layer computes (cross-correlation, zero padding, same size)."""
    return ndimage.correlate(image.astype(np.float32), kernel.astype(np.float32), mode="constant")


def sobel(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(horizontal gradient, vertical gradient, magnitude) of a 2-D image."""
    gx = correlate_same(image, SOBEL_X)
    gy = correlate_same(image, SOBEL_Y)
    return gx, gy, np.hypot(gx, gy)


@dataclass(frozen=True)
class ConvWindow:
    """One output pixel of a convolution, spelled out."""

    window: np.ndarray  # the input patch under the kernel (zero outside the image)
    kernel: np.ndarray
    products: np.ndarray  # window * kernel, elementwise
    value: float  # their sum: the output pixel


def conv_window(image: np.ndarray, kernel: np.ndarray, row: int, col: int) -> ConvWindow:
    """The patch centred on (row, col), the kernel, and the dot product giving that output."""
    size = kernel.shape[0]
    half = size // 2
    padded = np.pad(image.astype(np.float32), half)
    window = padded[row : row + size, col : col + size]
    products = window * kernel
    return ConvWindow(window, kernel.astype(np.float32), products, float(products.sum()))


# ---------------------------------------------------------------------------------------------
# Layers, weights, activations


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: LayerKind
    module: str | None
    shape: tuple[int, ...]  # activation shape without the batch axis


@dataclass(frozen=True)
class LayerActivation:
    info: LayerInfo
    value: np.ndarray  # activation for one image, batch axis removed


def describe_layers(model: DigitModel) -> list[LayerInfo]:
    """The model's layers as it describes them (one eager pass on a blank image)."""
    layers = model.trace(jnp.zeros((1, 28, 28, 1)))
    return [
        LayerInfo(layer.name, layer.kind, layer.module, tuple(layer.value.shape[1:]))
        for layer in layers
    ]


@partial(jax.jit, static_argnums=0)
def _all_activations(
    graphdef: Any, params: Any, batch_stats: Any, x_n28: jax.Array
) -> list[jax.Array]:
    model = nnx.merge(graphdef, params, batch_stats)
    return [layer.value for layer in model.trace(x_n28[..., None])]


def activations(model: DigitModel, image28: np.ndarray) -> list[LayerActivation]:
    """Every layer's activation for one preprocessed image."""
    graphdef, params, batch_stats = split_model(model)
    values = _all_activations(
        graphdef, params, batch_stats, jnp.asarray(image28[None], jnp.float32)
    )
    return [
        LayerActivation(info, np.asarray(value)[0])
        for info, value in zip(describe_layers(model), values, strict=True)
    ]


def conv_kernels(model: DigitModel, layer: LayerInfo) -> np.ndarray:
    """A conv layer's kernels as (kh, kw, in_channels, out_channels)."""
    if layer.kind != "conv" or layer.module is None:
        raise ValueError(f"{layer.name} is a {layer.kind} layer, not a convolution")
    return np.asarray(getattr(model, layer.module).kernel[...])


def first_layer_filters(model: DigitModel) -> np.ndarray | None:
    """First conv layer's filters as (n, kh, kw) images (input channel 0); None for an MLP."""
    conv = next((layer for layer in describe_layers(model) if layer.kind == "conv"), None)
    if conv is None:
        return None
    kernels = conv_kernels(model, conv)
    return np.moveaxis(kernels[:, :, 0, :], -1, 0)


def kernel_norms(model: DigitModel, layer: LayerInfo) -> np.ndarray:
    """(out_channels, in_channels) L2 norms: how strongly each output reads each input map."""
    kernels = conv_kernels(model, layer)
    return np.sqrt((kernels**2).sum(axis=(0, 1))).T


def first_dense_weights(model: DigitModel) -> np.ndarray | None:
    """For an MLP: the first dense layer's weights per hidden unit as 28x28 images."""
    dense = next((layer for layer in describe_layers(model) if layer.kind == "dense"), None)
    if dense is None or dense.module is None:
        return None
    kernel = np.asarray(getattr(model, dense.module).kernel[...])
    if kernel.shape[0] != 28 * 28:
        return None
    return kernel.T.reshape(-1, 28, 28)


# ---------------------------------------------------------------------------------------------
# Saliency


@partial(jax.jit, static_argnums=0)
def _input_gradient(
    graphdef: Any, params: Any, batch_stats: Any, x_28: jax.Array, label: jax.Array
):
    def logit(x: jax.Array) -> jax.Array:
        model = nnx.merge(graphdef, params, batch_stats)
        return model(x[None, ..., None], train=False)[0, label]

    return jax.grad(logit)(x_28)


def saliency(model: DigitModel, image28: np.ndarray, label: int) -> np.ndarray:
    """Gradient x input for `label`'s logit: which pixels pushed the answer up (+) or down (-)."""
    graphdef, params, batch_stats = split_model(model)
    x = jnp.asarray(image28, jnp.float32)
    gradient = np.asarray(_input_gradient(graphdef, params, batch_stats, x, jnp.int32(label)))
    return gradient * np.asarray(image28, np.float32)


# ---------------------------------------------------------------------------------------------
# Embedding map


def penultimate_features(model: DigitModel, images_n28: np.ndarray) -> np.ndarray:
    """Features (N, D) from the layer feeding the logits (the one batched inference path)."""
    return infer_model(model, np.asarray(images_n28, np.float32), output="features")


@dataclass(frozen=True)
class Embedding:
    """A PCA map of test-digit features, with what is needed to place a new drawing in it."""

    points: np.ndarray  # (N, 2)
    labels: np.ndarray  # (N,)
    indices: np.ndarray  # (N,) positions in the MNIST test set
    features: np.ndarray  # (N, D)
    mean: np.ndarray  # (D,)
    components: np.ndarray  # (2, D)

    def project(self, features: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(features) - self.mean) @ self.components.T

    def neighbours(self, features: np.ndarray, k: int = 8) -> np.ndarray:
        """Positions (into `points`) of the k nearest digits in feature space."""
        distances = np.linalg.norm(self.features - np.ravel(features), axis=1)
        return np.argsort(distances)[:k]


def pca_2d(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, top-2 principal directions) by SVD, signs fixed for a stable picture."""
    mean = features.mean(axis=0)
    _, _, vt = np.linalg.svd(features - mean, full_matrices=False)
    components = vt[:2]
    signs = np.sign(components[np.arange(2), np.abs(components).argmax(axis=1)])
    return mean, components * signs[:, None]


def build_embedding(model: DigitModel, images_nhw_u8: np.ndarray, labels: np.ndarray) -> Embedding:
    features = penultimate_features(model, images_nhw_u8.astype(np.float32) / 255.0)
    mean, components = pca_2d(features)
    return Embedding(
        points=(features - mean) @ components.T,
        labels=np.asarray(labels),
        indices=np.arange(len(labels)),
        features=features.astype(np.float32),
        mean=mean,
        components=components,
    )


def cached_embedding(
    model: DigitModel,
    checkpoint: Path | FileVersion,
    images_nhw_u8: np.ndarray,
    labels: np.ndarray,
) -> Embedding:
    """`build_embedding` of `model` (the one in `checkpoint`), computed once per checkpoint
    version (given, or read from the file now) and data, kept on disk."""
    version = checkpoint if isinstance(checkpoint, FileVersion) else FileVersion.of(checkpoint)
    data = (np.ascontiguousarray(images_nhw_u8).tobytes(), np.asarray(labels).tobytes())
    path = derived_cache_file("embedding", version, data, ".npz")
    if path.is_file():
        try:
            with np.load(path) as stored:
                return Embedding(**{name: stored[name] for name in stored.files})
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)  # a damaged cache is recomputed, never trusted
    embedding = build_embedding(model, images_nhw_u8, labels)
    buffer = io.BytesIO()
    np.savez(buffer, **embedding.__dict__)
    atomic_write_bytes(path, buffer.getvalue())
    return embedding


# ---------------------------------------------------------------------------------------------
# Robustness probe


@dataclass(frozen=True)
class ProbeGrid:
    """Predictions over a grid of distortions of one image."""

    rows: list[str]  # row labels
    cols: list[str]  # column labels
    predicted: np.ndarray  # (R, C) predicted digit
    confidence: np.ndarray  # (R, C) probability of the original answer


SHIFTS = list(range(-4, 5))
ANGLES = [-40, -30, -20, -10, 0, 10, 20, 30, 40]
THICKNESS = [-1, 0, 1, 2]  # erode once, none, dilate once / twice


def _thicken(image: np.ndarray, amount: int) -> np.ndarray:
    for _ in range(abs(amount)):
        op = ndimage.grey_dilation if amount > 0 else ndimage.grey_erosion
        image = op(image, size=(2, 2))
    return image


def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    return ndimage.shift(image, (dy, dx), order=0, mode="constant", cval=0.0)


def probe_grids(
    probabilities_fn: Any, image28: np.ndarray, label: int
) -> tuple[ProbeGrid, ProbeGrid]:
    """Shift grid (dy x dx) and rotation x stroke-thickness grid, without re-centring.

    `probabilities_fn` maps (N, 28, 28) to (N, 10), e.g. `Predictor.probabilities`.
    """
    shifts = [shifted(image28, dy, dx) for dy in SHIFTS for dx in SHIFTS]
    turned = [
        np.clip(_thicken(ndimage.rotate(image28, angle, reshape=False, order=1), t), 0, 1)
        for t in THICKNESS
        for angle in ANGLES
    ]
    probs = probabilities_fn(np.stack(shifts + turned).astype(np.float32))
    shift_probs, turn_probs = probs[: len(shifts)], probs[len(shifts) :]

    def grid(p: np.ndarray, rows: list[str], cols: list[str]) -> ProbeGrid:
        shape = (len(rows), len(cols))
        return ProbeGrid(rows, cols, p.argmax(1).reshape(shape), p[:, label].reshape(shape))

    names = {-1: "thinner", 0: "as drawn", 1: "thicker", 2: "much thicker"}
    return (
        grid(shift_probs, [f"{dy:+d}" for dy in SHIFTS], [f"{dx:+d}" for dx in SHIFTS]),
        grid(turn_probs, [names[t] for t in THICKNESS], [f"{a:+d}°" for a in ANGLES]),
    )
