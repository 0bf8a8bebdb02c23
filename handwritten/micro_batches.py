"""How a training batch is split into micro-batches whose gradients the step accumulates.

On a CPU the step is fastest when one micro-batch's largest activation fits in the cores'
cache: measured on a 2-core AVX-512 CPU (1 MB L2 per core, 32 MB L3), batch 128, the best
micro-batch was 32 images for the seed LeNet (conv1 output 46 KB per image: 1.5 MB) and 16 for
the default cnn (conv1 output 100 KB per image: 1.6 MB), while the MLP (3 KB per image) was
fastest whole (benchmarks/README.md). `CACHE_BUDGET_BYTES` encodes that rule.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

CACHE_BUDGET_BYTES = 2 * 1024 * 1024


def largest_activation_bytes(graphdef: Any, params: nnx.State, rest: nnx.State) -> int:
    """Bytes of the model's largest layer output for one image (shapes only, no compute)."""

    def layer_values(x: jax.Array) -> list[jax.Array]:
        model = nnx.merge(graphdef, params, rest)
        return [layer.value for layer in model.trace(x)]  # type: ignore[attr-defined]

    shapes = jax.eval_shape(layer_values, jax.ShapeDtypeStruct((1, 28, 28, 1), jnp.float32))
    return max(s.size * s.dtype.itemsize for s in shapes)


def cache_sized_micro_batch(activation_bytes: int, budget: int = CACHE_BUDGET_BYTES) -> int:
    """The largest power of two of images whose biggest activation fits in `budget`."""
    images = max(budget // max(activation_bytes, 1), 1)
    return 1 << (images.bit_length() - 1)


def micro_batches_for(batch_size: int, devices: int, micro_batch: int) -> int:
    """How many slices each device's share of a batch is split into, about `micro_batch`
    images each; 1 when `micro_batch` is 0 or no count divides the batch evenly."""
    if micro_batch <= 0:
        return 1
    per_device = batch_size // devices
    for count in range(max(per_device // micro_batch, 1), 1, -1):
        if batch_size % (count * devices) == 0:
            return count
    return 1


def resolve_micro_batches(
    requested: int | None, batch_size: int, devices: int, graphdef: Any, params: Any, rest: Any
) -> int:
    """Micro-batches per step for a `micro_batch` setting (None: sized to the cache)."""
    if requested is None:
        requested = cache_sized_micro_batch(largest_activation_bytes(graphdef, params, rest))
    return micro_batches_for(batch_size, devices, requested)
