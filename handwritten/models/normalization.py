"""Batch norm followed by ReLU, and a fused version for training with fewer passes over memory.

In training, batch norm normalises by the batch's own statistics, and its gradient needs two
reductions over the layer's output (the sums of the gradient and of the gradient times the
normalised input) before it can give the input's gradient. Autodiff of `nnx.BatchNorm` followed
by `nnx.relu` reaches that through the chain mean -> variance -> rsqrt -> scale -> bias -> ReLU,
and XLA's CPU backend turns it into several passes over a tensor that is larger than the cores'
caches. `batch_norm_relu` computes the same values with a custom VJP that reads the layer's
input and output once for both reductions and once more for the input's gradient
(benchmarks/README.md has the measurement).

The statistics, epsilon, momentum and the variance formula are `nnx.BatchNorm`'s (mean of
squares minus squared mean, clipped at 0; the running averages take the biased variance), and
the module's own `scale`, `bias`, `mean` and `var` are used and updated, so checkpoints and
parameter names are unchanged. In inference (running averages) it is exactly
``nnx.relu(norm(x, use_running_average=True))``. Reverse mode only in training, like every
custom VJP.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import nnx


def _statistics(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean and (biased) variance over every axis but the last, as nnx.BatchNorm computes."""
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axes)
    mean_of_squares = jnp.square(x).mean(axes)
    return mean, jnp.maximum(0.0, mean_of_squares - jnp.square(mean))


@partial(jax.custom_vjp, nondiff_argnums=(3,))
def _train_norm_relu(
    x: jax.Array, scale: jax.Array, bias: jax.Array, epsilon: float
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(relu(batch-normalised x * scale + bias), batch mean, batch variance)."""
    mean, var = _statistics(x)
    multiplier = jax.lax.rsqrt(var + epsilon) * scale
    return jnp.maximum(x * multiplier + (bias - mean * multiplier), 0.0), mean, var


def _train_norm_relu_fwd(
    x: jax.Array, scale: jax.Array, bias: jax.Array, epsilon: float
) -> tuple[tuple[jax.Array, jax.Array, jax.Array], tuple[jax.Array, ...]]:
    mean, var = _statistics(x)
    inverse_std = jax.lax.rsqrt(var + epsilon)
    multiplier = inverse_std * scale
    y = jnp.maximum(x * multiplier + (bias - mean * multiplier), 0.0)
    return (y, mean, var), (x, y, mean, inverse_std, scale)


def _train_norm_relu_bwd(
    epsilon: float,
    residuals: tuple[jax.Array, ...],
    cotangents: tuple[jax.Array, jax.Array, jax.Array],
) -> tuple[jax.Array, jax.Array, jax.Array]:
    # The mean and variance outputs feed only the running averages (batch statistics, never
    # differentiated), so their cotangents are ignored.
    del epsilon
    x, y, mean, inverse_std, scale = residuals
    g = jnp.where(y > 0, cotangents[0], 0.0)  # through the ReLU (0 at 0, as jax.nn.relu)
    axes = tuple(range(x.ndim - 1))
    count = x.size // x.shape[-1]
    x_hat = (x - mean) * inverse_std
    grad_bias = g.sum(axes)
    grad_scale = (g * x_hat).sum(axes)
    grad_x = (scale * inverse_std) * (g - (grad_bias + x_hat * grad_scale) / count)
    return grad_x, grad_scale, grad_bias


_train_norm_relu.defvjp(_train_norm_relu_fwd, _train_norm_relu_bwd)


def _plain_normalised(x: jax.Array, scale: jax.Array, bias: jax.Array, epsilon: float) -> jax.Array:
    mean, var = _statistics(x)
    return (x - mean) * (jax.lax.rsqrt(var + epsilon) * scale) + bias


# Off by default: on 2026-12-01 the cnn trained at 864-870 images/s with the fused VJP against
# 1,013-1,032 without it, alternated on a quiet machine (benchmarks/README.md). Kept, tested,
# for machines where the passes over memory cost more than XLA's own fusion of them.
FUSED = False


def batch_norm_relu(
    norm: nnx.BatchNorm, x: jax.Array, *, train: bool
) -> tuple[jax.Array, jax.Array]:
    """(batch-normalised x, its ReLU): what the models call. `nnx.BatchNorm` then ReLU, or the
    fused custom VJP (`fused_batch_norm_relu`) when `FUSED` is set; the same values either way."""
    if FUSED:
        return fused_batch_norm_relu(norm, x, train=train)
    normalised = norm(x, use_running_average=not train)
    return normalised, nnx.relu(normalised)


def fused_batch_norm_relu(
    norm: nnx.BatchNorm, x: jax.Array, *, train: bool
) -> tuple[jax.Array, jax.Array]:
    """(batch-normalised x, its ReLU) for channels-last `x`; in training, `norm`'s running
    averages move as `nnx.BatchNorm` moves them.

    The first value is for a model's layer trace only: a training step does not use it, so XLA
    drops it, and the gradient flows through the fused second value.
    """
    if not train:
        normalised = norm(x, use_running_average=True)
        return normalised, nnx.relu(normalised)
    if norm.scale is None or norm.bias is None or norm.axis not in (-1, x.ndim - 1):
        raise ValueError("batch_norm_relu needs a channels-last batch norm with scale and bias")
    scale, bias = norm.scale[...], norm.bias[...]
    activated, mean, var = _train_norm_relu(x, scale, bias, norm.epsilon)
    momentum = norm.momentum
    norm.mean[...] = jax.lax.stop_gradient(momentum * norm.mean[...] + (1 - momentum) * mean)
    norm.var[...] = jax.lax.stop_gradient(momentum * norm.var[...] + (1 - momentum) * var)
    return _plain_normalised(x, scale, bias, norm.epsilon), activated
