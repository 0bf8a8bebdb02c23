"""The models, in Flax NNX, behind one registry by name.

- ``mlp``: the seed's MLP (dense 100 ReLU, dense 10).
- ``lenet``: the seed's LeNet (conv5x5x20, maxpool2, conv5x5x50, maxpool2, dense 500 ReLU,
  dense 10), with identity conv activations as in the seed.
- ``cnn``: a modern small CNN (3x3 conv / batch norm / ReLU blocks, dropout).
- ``cnn_open``: the same CNN with an 11th output, "not a digit" (open-set recognition), trained
  on generated non-digits as well: the default model.

Every model returns its activations layer by layer (``model.trace(x)``), each tagged with a kind
from the model's own description, so the Explain page never guesses a layer's type from its name.
Inputs are (N, 28, 28, 1) floats in [0, 1], white ink on black, as ``preprocess`` produces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import nnx

from handwritten.models.convolution import lane_padded_conv
from handwritten.models.layer_spec import SHORTCUTS, PlannedLayer, plan_layers
from handwritten.models.normalization import batch_norm_relu
from handwritten.models.pooling import avg_pool, max_pool

CUSTOM = "custom"  # the architecture name of a network built from a layer spec
LayerKind = Literal["input", "conv", "norm", "activation", "pool", "flatten", "dense", "dropout"]

# MNIST pixel statistics, so callers pass raw [0, 1] images.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


@dataclass(frozen=True)
class Layer:
    """One recorded activation: its name, kind, the module holding its weights, its value."""

    name: str
    kind: LayerKind
    value: jax.Array
    module: str | None = None  # attribute name of the weights (e.g. "conv1"), if any


def max_pool_2x2(x_nhwc: jax.Array) -> jax.Array:
    """2x2 max pool by reshape, its gradient to the first maximum (`pooling.max_pool`)."""
    return max_pool(x_nhwc, 2)


def _standardise(x_nhwc: jax.Array) -> jax.Array:
    return (x_nhwc - MNIST_MEAN) / MNIST_STD


def _relu_head(
    layers: list[Layer], x: jax.Array, dense1: nnx.Linear, dense2: nnx.Linear
) -> list[Layer]:
    """Flatten, dense1, ReLU (``relu3``), logits: the head LeNet and the fast CNN share."""
    x = x.reshape(x.shape[0], -1)
    layers.append(Layer("flatten", "flatten", x))
    x = dense1(x)
    layers.append(Layer("dense1", "dense", x, "dense1"))
    x = nnx.relu(x)
    layers.append(Layer("relu3", "activation", x))
    layers.append(Layer("logits", "dense", dense2(x), "dense2"))
    return layers


class DigitModel(nnx.Module):
    """Base: `trace` records layers; `__call__` returns the logits (N, 10)."""

    arch: str = ""
    layer_spec: str = ""  # the equivalent layer spec (`handwritten.models.layer_spec`)

    def trace(
        self, x_nhwc: jax.Array, *, train: bool = False, dropout_key: jax.Array | None = None
    ) -> list[Layer]:
        raise NotImplementedError

    def __call__(
        self, x_nhwc: jax.Array, *, train: bool = False, dropout_key: jax.Array | None = None
    ) -> jax.Array:
        return self.trace(x_nhwc, train=train, dropout_key=dropout_key)[-1].value


class MLP(DigitModel):
    arch = "mlp"
    layer_spec = SHORTCUTS["mlp"]

    def __init__(self, *, hidden: int = 100, rngs: nnx.Rngs):
        self.dense1 = nnx.Linear(28 * 28, hidden, rngs=rngs)
        self.dense2 = nnx.Linear(hidden, 10, rngs=rngs)

    def trace(self, x_nhwc, *, train=False, dropout_key=None):
        x = x_nhwc.reshape(x_nhwc.shape[0], -1)
        layers = [Layer("input", "input", x_nhwc), Layer("flatten", "flatten", x)]
        x = self.dense1(_standardise(x))
        layers.append(Layer("dense1", "dense", x, "dense1"))
        x = nnx.relu(x)
        layers.append(Layer("relu1", "activation", x))
        layers.append(Layer("logits", "dense", self.dense2(x), "dense2"))
        return layers


class LeNet(DigitModel):
    arch = "lenet"
    layer_spec = SHORTCUTS["lenet"]

    def __init__(self, *, rngs: nnx.Rngs):
        conv = partial(nnx.Conv, padding="VALID", conv_general_dilated=lane_padded_conv, rngs=rngs)
        self.conv1 = conv(1, 20, (5, 5))
        self.conv2 = conv(20, 50, (5, 5))
        self.dense1 = nnx.Linear(4 * 4 * 50, 500, rngs=rngs)
        self.dense2 = nnx.Linear(500, 10, rngs=rngs)

    def trace(self, x_nhwc, *, train=False, dropout_key=None):
        layers = [Layer("input", "input", x_nhwc)]
        x = self.conv1(_standardise(x_nhwc))  # identity activation, as in the seed
        layers.append(Layer("conv1", "conv", x, "conv1"))
        x = max_pool_2x2(x)
        layers.append(Layer("pool1", "pool", x))
        x = self.conv2(x)
        layers.append(Layer("conv2", "conv", x, "conv2"))
        x = max_pool_2x2(x)
        layers.append(Layer("pool2", "pool", x))
        return _relu_head(layers, x, self.dense1, self.dense2)


class CNN(DigitModel):
    """conv32-pool-conv64-conv64-pool-dense256, batch norm after each, dropout before logits."""

    arch = "cnn"
    layer_spec = SHORTCUTS["cnn"]

    def __init__(self, *, dropout: float = 0.3, classes: int = 10, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, 32, (3, 3), padding="SAME", use_bias=False, rngs=rngs)
        self.norm1 = nnx.BatchNorm(32, momentum=0.9, rngs=rngs)
        self.conv2 = nnx.Conv(32, 64, (3, 3), padding="SAME", use_bias=False, rngs=rngs)
        self.norm2 = nnx.BatchNorm(64, momentum=0.9, rngs=rngs)
        self.conv3 = nnx.Conv(64, 64, (3, 3), padding="SAME", use_bias=False, rngs=rngs)
        self.norm3 = nnx.BatchNorm(64, momentum=0.9, rngs=rngs)
        self.dense1 = nnx.Linear(7 * 7 * 64, 256, use_bias=False, rngs=rngs)
        self.norm4 = nnx.BatchNorm(256, momentum=0.9, rngs=rngs)
        self.dropout = nnx.Dropout(dropout)
        self.dense2 = nnx.Linear(256, classes, rngs=rngs)
        if classes != 10:
            self.arch = "cnn_open"

    def trace(self, x_nhwc, *, train=False, dropout_key=None):
        frozen = not train
        layers = [Layer("input", "input", x_nhwc)]
        x = _standardise(x_nhwc)
        for index, (conv, norm) in enumerate(
            [(self.conv1, self.norm1), (self.conv2, self.norm2), (self.conv3, self.norm3)], 1
        ):
            x = conv(x)
            layers.append(Layer(f"conv{index}", "conv", x, f"conv{index}"))
            normalised, x = batch_norm_relu(norm, x, train=train)
            layers.append(Layer(f"norm{index}", "norm", normalised, f"norm{index}"))
            layers.append(Layer(f"relu{index}", "activation", x))
            if index in (1, 3):
                x = max_pool_2x2(x)
                layers.append(Layer(f"pool{1 if index == 1 else 2}", "pool", x))
        x = x.reshape(x.shape[0], -1)
        layers.append(Layer("flatten", "flatten", x))
        x = self.dense1(x)
        layers.append(Layer("dense1", "dense", x, "dense1"))
        x = batch_norm_relu(self.norm4, x, train=train)[1]
        layers.append(Layer("relu4", "activation", x))
        x = self.dropout(x, deterministic=frozen or dropout_key is None, rngs=dropout_key)
        layers.append(Layer("dropout", "dropout", x))
        layers.append(Layer("logits", "dense", self.dense2(x), "dense2"))
        return layers


class FastCNN(DigitModel):
    """The quickest to 99%: conv5x5x24, pool, BN ReLU, conv3x3x32, pool, BN ReLU, dense 256.

    Small enough for one epoch in about 20 CPU seconds, whole process, on a 2-core CPU (after
    the public "99% on MNIST in under a second" study: shrink the network, raise the learning
    rate, stop at one epoch); batch norm after each pool (on a quarter of the conv output)
    lifted one epoch from 98.99% to 99.21% (seed 0, fused batch norm; 99.23% unfused, the
    default now; benchmarks/README.md).
    """

    arch = "fast"
    layer_spec = SHORTCUTS["fast"]

    def __init__(self, *, rngs: nnx.Rngs):
        conv = partial(nnx.Conv, padding="VALID", use_bias=False, rngs=rngs)
        self.conv1 = conv(1, 24, (5, 5))
        self.norm1 = nnx.BatchNorm(24, momentum=0.9, rngs=rngs)
        self.conv2 = conv(24, 32, (3, 3))
        self.norm2 = nnx.BatchNorm(32, momentum=0.9, rngs=rngs)
        self.dense1 = nnx.Linear(5 * 5 * 32, 256, rngs=rngs)
        self.dense2 = nnx.Linear(256, 10, rngs=rngs)

    def trace(self, x_nhwc, *, train=False, dropout_key=None):
        layers = [Layer("input", "input", x_nhwc)]
        x = _standardise(x_nhwc)
        for index, (conv, norm) in enumerate(
            [(self.conv1, self.norm1), (self.conv2, self.norm2)], 1
        ):
            x = conv(x)
            layers.append(Layer(f"conv{index}", "conv", x, f"conv{index}"))
            x = max_pool_2x2(x)
            layers.append(Layer(f"pool{index}", "pool", x))
            normalised, x = batch_norm_relu(norm, x, train=train)
            layers.append(Layer(f"norm{index}", "norm", normalised, f"norm{index}"))
            layers.append(Layer(f"relu{index}", "activation", x))
        return _relu_head(layers, x, self.dense1, self.dense2)


class SpecNet(DigitModel):
    """A network built from a layer spec: the Train page's builder and ``train --layers``.

    Weights are named as in the fixed models (conv1, norm1, dense1, ...; the logits layer is the
    last dense), created in the same order, so the spec of ``mlp``, ``lenet`` or ``cnn`` builds
    the same parameter tree with the same initial values as the class of that name.
    Convolutions go through the lane-padded kernel and max pools through the custom VJP, as in
    the fixed models. The plan is a tuple of frozen dataclasses: static, hashable graph data.
    """

    arch = CUSTOM

    def __init__(self, spec: str, *, rngs: nnx.Rngs):
        plan = plan_layers(spec)
        self.layer_spec = plan.spec
        self.plan = plan.layers
        for before, row in zip(plan.layers, plan.layers[1:], strict=False):
            op = _op(row)
            if op == "conv" and row.token is not None:
                setattr(self, row.name, nnx.Conv(
                    before.shape[-1], row.shape[-1], (row.token.size, row.token.size),
                    padding="VALID" if row.token.valid else "SAME", use_bias=row.bias,
                    conv_general_dilated=lane_padded_conv, rngs=rngs,
                ))  # fmt: skip
            elif op == "bn":
                setattr(self, row.name, nnx.BatchNorm(row.shape[-1], momentum=0.9, rngs=rngs))
            elif op == "dense" and row.module is not None:
                linear = nnx.Linear(before.shape[0], row.shape[0], use_bias=row.bias, rngs=rngs)
                setattr(self, row.module, linear)
            elif op == "dropout" and row.token is not None:
                setattr(self, row.name, nnx.Dropout(row.token.rate))

    def _apply(
        self, row: PlannedLayer, x: jax.Array, frozen: bool, dropout_key: jax.Array | None
    ) -> jax.Array:
        op = _op(row)
        if op in ("conv", "dense"):
            return getattr(self, str(row.module))(x)
        if op == "bn":
            return getattr(self, row.name)(x, use_running_average=frozen)
        if op in ("pool", "avgpool"):
            size = row.token.size if row.token is not None else 2
            return max_pool(x, size) if op == "pool" else avg_pool(x, size)
        if op == "dropout":
            if dropout_key is not None and row.name != "dropout1":  # one stream per dropout
                dropout_key = jax.random.fold_in(dropout_key, int(row.name[len("dropout") :]))
            return getattr(self, row.name)(
                x, deterministic=frozen or dropout_key is None, rngs=dropout_key
            )
        return {
            "relu": nnx.relu, "tanh": jnp.tanh, "gap": lambda v: v.mean(axis=(1, 2)),
            "flatten": lambda v: v.reshape(v.shape[0], -1),
        }[op](x)  # fmt: skip

    def trace(self, x_nhwc, *, train=False, dropout_key=None):
        layers = [Layer("input", "input", x_nhwc)]
        x = _standardise(x_nhwc)
        rows = self.plan[1:]
        fused = False  # the row is a relu already applied with the bn before it
        for row, after in zip(rows, [*rows[1:], None], strict=True):
            if fused:
                fused = False
                continue
            if _op(row) == "bn" and after is not None and _op(after) == "relu":
                # bn then relu through the same call as the fixed models (fused when switched on)
                normalised, x = batch_norm_relu(getattr(self, row.name), x, train=train)
                layers.append(Layer(row.name, row.kind, normalised, row.module))  # type: ignore[arg-type]
                layers.append(Layer(after.name, after.kind, x, after.module))  # type: ignore[arg-type]
                fused = True
                continue
            x = self._apply(row, x, not train, dropout_key)
            layers.append(Layer(row.name, row.kind, x, row.module))  # type: ignore[arg-type]
        return layers


def _op(row: PlannedLayer) -> str:
    return row.token.op if row.token is not None else row.kind


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    build: Callable[[nnx.Rngs], DigitModel]


REGISTRY: dict[str, ModelSpec] = {
    "mlp": ModelSpec("mlp", "The seed's MLP: dense 100 ReLU, dense 10", lambda r: MLP(rngs=r)),
    "lenet": ModelSpec(
        "lenet",
        "The seed's LeNet: conv5x5x20, pool, conv5x5x50, pool, dense 500 ReLU, dense 10",
        lambda r: LeNet(rngs=r),
    ),
    "cnn": ModelSpec(
        "cnn",
        "Modern small CNN: 3x3 conv/BN/ReLU blocks 32-pool-64-64-pool, dense 256, dropout 0.3",
        lambda r: CNN(rngs=r),
    ),
    "cnn_open": ModelSpec(
        "cnn_open",
        "The cnn with an 11th output, 'not a digit', trained on generated non-digits too",
        lambda r: CNN(classes=11, rngs=r),
    ),
    "fast": ModelSpec(
        "fast",
        "Small CNN for the quickest 99%: conv5x5x24/pool/BN, conv3x3x32/pool/BN, dense 256",
        lambda r: FastCNN(rngs=r),
    ),
}
NOT_A_DIGIT = 10  # the class index of "not a digit" in a model with 11 outputs


def create_model(arch: str, seed: int = 0, layers: str | None = None) -> DigitModel:
    """Build a freshly initialised model: a registry name, or ``custom`` with its layer spec.

    Raises ValueError (a `LayerSpecError` for a bad spec) with a one-line message.
    """
    if arch == CUSTOM or layers is not None:
        if arch != CUSTOM or not layers:
            raise ValueError(f"layers go with the {CUSTOM!r} architecture, not {arch!r}")
        return SpecNet(layers, rngs=nnx.Rngs(params=seed))
    try:
        spec = REGISTRY[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; choose from {sorted(REGISTRY)}") from None
    return spec.build(nnx.Rngs(params=seed))


def count_parameters(model: nnx.Module) -> int:
    return sum(int(jnp.size(p)) for p in jax.tree.leaves(nnx.state(model, nnx.Param)))


def split_model(model: nnx.Module) -> tuple[Any, nnx.State, nnx.State]:
    """(graphdef, params, batch_stats): the functional view jitted steps work on.

    `batch_stats` holds everything that is not a parameter (batch-norm statistics).
    """
    graphdef, params, batch_stats = nnx.split(model, nnx.Param, ...)  # type: ignore[misc]
    return graphdef, params, batch_stats
