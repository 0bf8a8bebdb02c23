"""The fused batch norm + ReLU against nnx.BatchNorm followed by nnx.relu: values, gradients,
running averages, and the cnn (a fresh one and the shipped checkpoint) through either path."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from handwritten.models import architectures, normalization
from handwritten.models.architectures import create_model
from handwritten.models.checkpoint import load_checkpoint
from handwritten.models.normalization import fused_batch_norm_relu as batch_norm_relu
from handwritten.models.store import checkpoint_for


def reference_norm_relu(norm: nnx.BatchNorm, x: jax.Array, *, train: bool):
    """What the cnn computed before the fused op: flax's batch norm, then ReLU."""
    normalised = norm(x, use_running_average=not train)
    return normalised, nnx.relu(normalised)


def random_norm(channels: int, seed: int) -> nnx.BatchNorm:
    rng = np.random.default_rng(seed)
    norm = nnx.BatchNorm(channels, momentum=0.9, rngs=nnx.Rngs(0))
    norm.scale[...] = jnp.asarray(rng.standard_normal(channels), jnp.float32)
    norm.bias[...] = jnp.asarray(rng.standard_normal(channels), jnp.float32)
    norm.mean[...] = jnp.asarray(rng.standard_normal(channels), jnp.float32)
    norm.var[...] = jnp.asarray(rng.uniform(0.5, 2.0, channels), jnp.float32)
    return norm


@pytest.mark.parametrize("shape", [(8, 6, 5, 16), (32, 24)])
def test_training_values_gradients_and_running_averages_match_flax(shape) -> None:
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal(shape) * 3 + 0.7, jnp.float32)
    weights = jnp.asarray(rng.standard_normal(shape), jnp.float32)  # a loss that mixes channels
    ours, theirs = random_norm(shape[-1], 2), random_norm(shape[-1], 2)

    def loss(fn, norm, x):
        normalised, activated = fn(norm, x, train=True)
        return (activated * weights).sum(), (normalised, activated)

    (value, outputs), grads = nnx.value_and_grad(
        lambda n, v: loss(batch_norm_relu, n, v), argnums=(0, 1), has_aux=True
    )(ours, x)
    (expected, expected_outputs), expected_grads = nnx.value_and_grad(
        lambda n, v: loss(reference_norm_relu, n, v), argnums=(0, 1), has_aux=True
    )(theirs, x)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    for a, b in zip(outputs, expected_outputs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grads[1], expected_grads[1], rtol=1e-4, atol=1e-5)  # input
    for name in ("scale", "bias"):
        np.testing.assert_allclose(grads[0][name][...], expected_grads[0][name][...],
                                   rtol=1e-4, atol=1e-4)  # fmt: skip
    for name in ("mean", "var"):  # the running averages moved the same way
        np.testing.assert_allclose(getattr(ours, name)[...], getattr(theirs, name)[...],
                                   rtol=1e-6, atol=1e-6)  # fmt: skip


def test_relu_gradient_is_zero_where_the_output_is_zero() -> None:
    def total(fn, v):
        norm = nnx.BatchNorm(1, rngs=nnx.Rngs(0))  # scale 1, bias 0
        return fn(norm, v, train=True)[1].sum()

    x = jnp.array([-1.0, 0.0, 1.0]).reshape(3, 1)  # normalised: about -1.22, 0, 1.22
    grad = jax.grad(lambda v: total(batch_norm_relu, v))(x)
    reference = jax.grad(lambda v: total(reference_norm_relu, v))(x)
    np.testing.assert_allclose(grad, reference, atol=1e-6)


def test_inference_is_flax_with_running_averages_exactly() -> None:
    norm = random_norm(16, 3)
    x = jax.random.normal(jax.random.key(0), (4, 5, 5, 16))
    for a, b in zip(
        batch_norm_relu(norm, x, train=False), reference_norm_relu(norm, x, train=False),
        strict=True,
    ):  # fmt: skip
        np.testing.assert_array_equal(a, b)


def test_a_norm_without_scale_is_refused() -> None:
    norm = nnx.BatchNorm(4, use_scale=False, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="scale and bias"):
        batch_norm_relu(norm, jnp.ones((2, 4)), train=True)


def cnn_loss_and_grads(seed: int, x: jax.Array, y: jax.Array):
    model = create_model("cnn", seed)

    def loss_fn(model):
        logits = model(x, train=True)  # no dropout key: deterministic
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    return loss, grads, nnx.state(model, nnx.BatchStat)


def test_cnn_training_step_matches_the_unfused_cnn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(normalization, "FUSED", True)  # the fused VJP, switched on
    rng = np.random.default_rng(4)
    x = jnp.asarray(rng.uniform(0, 1, (8, 28, 28, 1)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 10, 8))
    loss, grads, stats = cnn_loss_and_grads(0, x, y)
    monkeypatch.setattr(architectures, "batch_norm_relu", reference_norm_relu)
    expected_loss, expected_grads, expected_stats = cnn_loss_and_grads(0, x, y)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(expected_grads), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-5)
    for a, b in zip(jax.tree.leaves(stats), jax.tree.leaves(expected_stats), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_shipped_checkpoint_gives_the_unfused_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    x = jnp.asarray(np.random.default_rng(5).uniform(0, 1, (4, 28, 28, 1)), jnp.float32)
    model = load_checkpoint(checkpoint_for("default")).model
    assert model.arch == "cnn_open"  # the cnn's module, with an 11th output
    ours = [layer.value for layer in model.trace(x)]
    monkeypatch.setattr(architectures, "batch_norm_relu", reference_norm_relu)
    expected = [layer.value for layer in model.trace(x)]
    for a, b in zip(ours, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_models_train_unfused_by_default() -> None:
    """Measured slower on this project's CPU (benchmarks/README.md), so off unless switched on."""
    norm = nnx.BatchNorm(3, rngs=nnx.Rngs(0))
    x = jnp.asarray(np.random.default_rng(6).normal(size=(5, 3)), jnp.float32)
    normalised, activated = normalization.batch_norm_relu(norm, x, train=True)
    reference = nnx.BatchNorm(3, rngs=nnx.Rngs(0))(x, use_running_average=False)
    assert not normalization.FUSED
    np.testing.assert_array_equal(normalised, reference)
    np.testing.assert_array_equal(activated, nnx.relu(reference))
