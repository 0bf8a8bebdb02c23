"""Pooling by reshape against `lax.reduce_window`, for any size (remainders dropped)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from handwritten.models.pooling import avg_pool, max_pool


def reference(x: jax.Array, size: int, op: str) -> jax.Array:
    window = (1, size, size, 1)
    if op == "max":
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, window, "VALID")
    return jax.lax.reduce_window(x, 0.0, jax.lax.add, window, window, "VALID") / size**2


@pytest.mark.parametrize(
    ("shape", "size"), [((2, 8, 6, 3), 2), ((2, 7, 10, 3), 3), ((1, 5, 5, 2), 5)]
)
def test_pools_match_reduce_window(shape: tuple[int, ...], size: int) -> None:
    x = jax.random.normal(jax.random.key(1), shape)
    np.testing.assert_array_equal(max_pool(x, size), reference(x, size, "max"))
    np.testing.assert_allclose(avg_pool(x, size), reference(x, size, "avg"), rtol=1e-6)


def test_max_pool_gradient_matches_reduce_window_and_skips_the_remainder() -> None:
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2, 7, 8, 3)), jnp.float32)  # no ties; 7 % 3 = 1
    weights = jnp.asarray(rng.standard_normal((2, 2, 2, 3)), jnp.float32)
    ours = jax.grad(lambda v: (max_pool(v, 3) * weights).sum())(x)
    expected = jax.grad(lambda v: (reference(v, 3, "max") * weights).sum())(x)
    np.testing.assert_allclose(ours, expected)
    assert not np.asarray(ours)[:, 6:].any() and not np.asarray(ours)[:, :, 6:].any()


def test_a_tied_window_sends_its_gradient_to_the_first_maximum() -> None:
    x = jnp.ones((1, 3, 3, 1))
    grad = jax.grad(lambda v: max_pool(v, 3).sum())(x)
    np.testing.assert_array_equal(grad.reshape(3, 3), [[1, 0, 0], [0, 0, 0], [0, 0, 0]])
