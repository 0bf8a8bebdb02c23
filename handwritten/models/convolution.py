"""A drop-in `conv_general_dilated` for `nnx.Conv` that is faster on XLA's CPU backend.

XLA CPU hands convolutions to YNNPACK, whose kernels tile output channels in SIMD-register
widths. With an odd count (the seed LeNet's 50) the forward pass and the kernel gradient run far
below their speed at the next multiple of 16: measured on a 2-core AVX-512 CPU, batch 32,
one thread, conv 5x5 20->50 on 12x12: forward 1.09 ms, kernel gradient 1.08 ms; the same with
64 output channels: 0.61 ms and 0.77 ms, although it does 28% more arithmetic. The input
gradient gains nothing (1.20 vs 1.38 ms), so it keeps the real channel count. A convolution
with few products per output value (the first layer's 5x5x1 = 25) is bound by memory, not
arithmetic: padding its 20 channels to 32 made the whole LeNet step slower (8,800 vs 10,100
images/s), so only convolutions with at least `MIN_PRODUCTS` products per output are padded.

`lane_padded_conv` therefore computes, for compute-bound convolutions, the forward pass and
the kernel gradient with the kernel zero-padded to a multiple of `LANES` output channels and
slices the padding off again; results are those of the plain convolution (the padded channels
are zeros and never leave). Elsewhere (GPU/TPU, grouped or dilated convolutions, memory-bound
ones, channel counts already aligned) it is exactly `lax.conv_general_dilated`. Being a custom
VJP, the padded path supports reverse-mode differentiation only (`jax.grad`, `jax.vjp`), which
is all training and the Explain page's saliency use; `jax.jvp`/`jax.jacfwd` raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

LANES = 16  # float32 values in one AVX-512 register
MIN_PRODUCTS = 128  # products per output value from which a convolution is compute-bound


def _conv(x: jax.Array, w: jax.Array, config: tuple[Any, ...]) -> jax.Array:
    strides, padding, dimension_numbers, precision = config
    return lax.conv_general_dilated(
        x, w, strides, padding, dimension_numbers=dimension_numbers, precision=precision
    )


def _pad_axis(a: jax.Array, axis: int, size: int) -> jax.Array:
    widths = [(0, 0)] * a.ndim
    widths[axis] = (0, size - a.shape[axis])
    return jnp.pad(a, widths)


def _layout(w: jax.Array, config: tuple[Any, ...]) -> tuple[int, int, int, int]:
    """(output-channel axis of the kernel, channel axis of the output, channels, padded)."""
    numbers = config[2]
    kernel_axis = numbers.rhs_spec[0]
    channels = w.shape[kernel_axis]
    return kernel_axis, numbers.out_spec[1], channels, -(-channels // LANES) * LANES


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def _padded_conv(x: jax.Array, w: jax.Array, config: tuple[Any, ...]) -> jax.Array:
    kernel_axis, out_axis, channels, aligned = _layout(w, config)
    y = _conv(x, _pad_axis(w, kernel_axis, aligned), config)
    return lax.slice_in_dim(y, 0, channels, axis=out_axis)


def _padded_conv_fwd(
    x: jax.Array, w: jax.Array, config: tuple[Any, ...]
) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    return _padded_conv(x, w, config), (x, w)


def _padded_conv_bwd(
    config: tuple[Any, ...], residuals: tuple[jax.Array, jax.Array], g: jax.Array
) -> tuple[jax.Array, jax.Array]:
    x, w = residuals
    kernel_axis, out_axis, channels, aligned = _layout(w, config)
    _, x_vjp = jax.vjp(lambda x_: _conv(x_, w, config), x)
    (dx,) = x_vjp(g)
    w_padded = _pad_axis(w, kernel_axis, aligned)
    _, w_vjp = jax.vjp(lambda w_: _conv(x, w_, config), w_padded)
    (dw,) = w_vjp(_pad_axis(g, out_axis, aligned))
    return dx, lax.slice_in_dim(dw, 0, channels, axis=kernel_axis)


_padded_conv.defvjp(_padded_conv_fwd, _padded_conv_bwd)


def lane_padded_conv(
    lhs: jax.Array,
    rhs: jax.Array,
    window_strides: Sequence[int],
    padding: Any,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: Any = None,
    feature_group_count: int = 1,
    precision: Any = None,
    **kwargs: Any,
) -> jax.Array:
    """`lax.conv_general_dilated`, with output channels padded to `LANES` on CPU."""
    plain = (
        jax.default_backend() != "cpu"
        or feature_group_count != 1
        or any(value is not None for value in kwargs.values())  # e.g. out_sharding
        or any(d != 1 for d in (*(lhs_dilation or ()), *(rhs_dilation or ())))
    )
    numbers = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    channels = rhs.shape[numbers.rhs_spec[0]]
    if plain or rhs.size // channels < MIN_PRODUCTS or channels % LANES == 0:
        return lax.conv_general_dilated(
            lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
            dimension_numbers, feature_group_count, precision=precision, **kwargs,
        )  # fmt: skip
    if isinstance(padding, str):
        padding = lax.padtype_to_pads(
            [lhs.shape[i] for i in numbers.lhs_spec[2:]],
            [rhs.shape[i] for i in numbers.rhs_spec[2:]],
            window_strides,
            padding,
        )
    config = (tuple(window_strides), tuple(map(tuple, padding)), numbers, precision)
    return _padded_conv(lhs, rhs, config)
