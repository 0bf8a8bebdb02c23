"""The lane-padded convolution is the plain convolution, values and gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from handwritten.models.convolution import lane_padded_conv


def conv_pair(x_shape, w_shape, strides, padding, dimension_numbers):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal(x_shape), jnp.float32)
    w = jnp.asarray(rng.standard_normal(w_shape), jnp.float32)

    def plain(x, w):
        return lax.conv_general_dilated(x, w, strides, padding, dimension_numbers=dimension_numbers)

    def padded(x, w):
        return lane_padded_conv(x, w, strides, padding, dimension_numbers=dimension_numbers)

    return x, w, plain, padded


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "strides", "padding", "numbers"),
    [
        ((4, 12, 12, 20), (5, 5, 20, 50), (1, 1), "VALID", ("NHWC", "HWIO", "NHWC")),
        ((3, 28, 28, 1), (5, 5, 1, 20), (1, 1), "VALID", ("NHWC", "HWIO", "NHWC")),
        ((2, 9, 9, 16), (3, 3, 16, 7), (2, 2), "SAME", ("NHWC", "HWIO", "NHWC")),
        ((2, 16, 9, 9), (7, 16, 3, 3), (1, 1), ((1, 2), (0, 1)), ("NCHW", "OIHW", "NCHW")),
    ],
)
def test_values_and_gradients_match_the_plain_convolution(
    x_shape, w_shape, strides, padding, numbers
) -> None:
    x, w, plain, padded = conv_pair(x_shape, w_shape, strides, padding, numbers)
    np.testing.assert_allclose(padded(x, w), plain(x, w), rtol=1e-5, atol=1e-4)
    y = plain(x, w)
    cotangent = jnp.asarray(np.random.default_rng(1).standard_normal(y.shape), jnp.float32)
    _, plain_vjp = jax.vjp(plain, x, w)
    _, padded_vjp = jax.vjp(padded, x, w)
    for ours, reference in zip(padded_vjp(cotangent), plain_vjp(cotangent), strict=True):
        np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "padded"),
    [
        ((2, 12, 12, 20), (5, 5, 20, 50), True),  # compute-bound, 50 channels
        ((2, 12, 12, 20), (5, 5, 20, 64), False),  # already a multiple of 16
        ((2, 28, 28, 1), (5, 5, 1, 20), False),  # 25 products per output: memory-bound
    ],
)
@pytest.mark.skipif(jax.default_backend() != "cpu", reason="padding applies on CPU only")
def test_only_compute_bound_odd_channel_counts_are_padded(x_shape, w_shape, padded) -> None:
    numbers = ("NHWC", "HWIO", "NHWC")
    x, w, _, conv = conv_pair(x_shape, w_shape, (1, 1), "VALID", numbers)
    assert ("custom_vjp_call" in str(jax.make_jaxpr(conv)(x, w))) is padded


def test_grouped_convolution_falls_back_to_the_plain_one() -> None:
    rng = np.random.default_rng(0)  # 3x3x16 = 144 products per output: padded if not grouped
    x = jnp.asarray(rng.standard_normal((2, 8, 8, 32)), jnp.float32)
    w = jnp.asarray(rng.standard_normal((3, 3, 16, 6)), jnp.float32)
    numbers = ("NHWC", "HWIO", "NHWC")
    ours = lane_padded_conv(x, w, (1, 1), "SAME", dimension_numbers=numbers, feature_group_count=2)
    reference = lax.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=numbers, feature_group_count=2
    )
    np.testing.assert_allclose(ours, reference, rtol=1e-6)
