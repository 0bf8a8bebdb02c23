"""How a training batch is split into micro-batches whose gradients the step accumulates.

On a CPU the step is fastest when one micro-batch's largest activation fits in the cores'
cache: measured on a 2-core AVX-512 CPU (1 MB L2 per core, 32 MB L3), batch 128, the best
micro-batch was 32 images for the seed LeNet (conv1 output 46 KB per image: 1.5 MB) and 16 for
the default cnn (conv1 output 100 KB per image: 1.6 MB), while the MLP (3 KB per image) was
fastest whole (benchmarks/README.md). `CACHE_BUDGET_BYTES` encodes that rule. Accelerators
have no such cache cliff and lose parallelism to slicing, so there the batch stays whole unless
asked. The step is unrolled per slice, so the count is capped at `MAX_MICRO_BATCHES` to keep
compile time bounded.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

CACHE_BUDGET_BYTES = 2 * 1024 * 1024
MAX_MICRO_BATCHES = 16


def largest_activation_bytes(graphdef: Any, params: nnx.State, batch_stats: nnx.State) -> int:
    """Bytes of the model's largest layer output for one image (shapes only, no compute)."""

    def layer_values(x: jax.Array) -> list[jax.Array]:
        model = nnx.merge(graphdef, params, batch_stats)
        return [layer.value for layer in model.trace(x)]  # type: ignore[attr-defined]

    shapes = jax.eval_shape(layer_values, jax.ShapeDtypeStruct((1, 28, 28, 1), jnp.float32))
    return max(s.size * s.dtype.itemsize for s in shapes)


def cache_sized_micro_batch(activation_bytes: int, budget: int = CACHE_BUDGET_BYTES) -> int:
    """The largest power of two of images whose biggest activation fits in `budget`."""
    images = max(budget // max(activation_bytes, 1), 1)
    return 1 << (images.bit_length() - 1)


def micro_batches_for(batch_size: int, devices: int, micro_batch: int) -> int:
    """How many slices each device's share of a batch is split into, about `micro_batch`
    images each (at most `MAX_MICRO_BATCHES`); 1 when `micro_batch` is 0 or no count divides
    the batch evenly."""
    if micro_batch <= 0:
        return 1
    per_device = batch_size // devices
    most = min(max(per_device // micro_batch, 1), MAX_MICRO_BATCHES)
    for count in range(most, 1, -1):
        if batch_size % (count * devices) == 0:
            return count
    return 1


def resolve_micro_batches(
    requested: int | None,
    batch_size: int,
    devices: int,
    graphdef: Any,
    params: Any,
    batch_stats: Any,
) -> int:
    """Micro-batches per step for a `micro_batch` setting (None: sized to the CPU cache, and
    the whole batch on GPU/TPU)."""
    if requested is None:
        if jax.default_backend() != "cpu":
            return 1
        requested = cache_sized_micro_batch(largest_activation_bytes(graphdef, params, batch_stats))
    return micro_batches_for(batch_size, devices, requested)
