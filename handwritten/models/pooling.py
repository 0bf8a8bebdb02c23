"""Pooling by reshape, with the max pool's gradient written by hand.

Reshape-and-reduce pooling was measured faster than `lax.reduce_window` on XLA CPU (PERF_NOTES:
≈ 1.35× on the LeNet step). A size that does not divide the image drops the remainder rows and
columns first, as a 'valid' pooling window (and PyTorch's default) does.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp


def _windows(x_nhwc: jax.Array, size: int) -> jax.Array:
    """(N, H/s, s, W/s, s, C): every pooling window on its own pair of axes."""
    n, h, w, c = x_nhwc.shape
    rows, cols = h // size, w // size
    x_nhwc = x_nhwc[:, : rows * size, : cols * size]
    return x_nhwc.reshape(n, rows, size, cols, size, c)


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def max_pool(x_nhwc: jax.Array, size: int) -> jax.Array:
    """size×size max pool with stride size.

    Its gradient goes to the first maximum of each window (as in PyTorch and cuDNN) in one
    elementwise pass; autodiff of the reshape-max split it between tied maxima with a count,
    a sum and a division, which took a fifth of the LeNet training step on CPU. Reverse mode
    only (a custom VJP): `jax.jvp`/`jax.jacfwd` through it raise.
    """
    return _windows(x_nhwc, size).max(axis=(2, 4))


def _max_pool_fwd(x_nhwc: jax.Array, size: int) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    pooled = max_pool(x_nhwc, size)
    return pooled, (x_nhwc, pooled)


def _max_pool_bwd(
    size: int, residuals: tuple[jax.Array, jax.Array], grad: jax.Array
) -> tuple[jax.Array]:
    x_nhwc, pooled = residuals
    n, h, w, c = x_nhwc.shape
    windows = _windows(x_nhwc, size)
    taken = jnp.zeros(pooled.shape, bool)
    parts = []
    for dy in range(size):
        for dx in range(size):
            hit = (windows[:, :, dy, :, dx] == pooled) & ~taken
            taken = taken | hit
            parts.append(jnp.where(hit, grad, 0))
    rows = [jnp.stack(parts[dy * size : (dy + 1) * size], axis=3) for dy in range(size)]
    covered = jnp.stack(rows, axis=2).reshape(n, pooled.shape[1] * size, pooled.shape[2] * size, c)
    if covered.shape != x_nhwc.shape:  # the dropped remainder gets no gradient
        covered = jnp.pad(covered, ((0, 0), (0, h - covered.shape[1]), (0, w - covered.shape[2]),
                                    (0, 0)))  # fmt: skip
    return (covered,)


max_pool.defvjp(_max_pool_fwd, _max_pool_bwd)


def avg_pool(x_nhwc: jax.Array, size: int) -> jax.Array:
    """size×size average pool with stride size (autodiff's gradient is already one pass)."""
    return _windows(x_nhwc, size).mean(axis=(2, 4))
