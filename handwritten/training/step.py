"""The jitted training step and its set-up, shared by training runs and the bench.

The step is a pure module-level function over an explicit `TrainState` (``nnx.split`` state,
optax state), jitted once with the static parts (`StepSpec`) as a hashable argument. The whole
training set stays on the device as uint8; each step gathers its batch by index on the device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from handwritten.models.inference import output_classes
from handwritten.runtime.distributed import Placement
from handwritten.training.augment import AugmentConfig, augment_batch
from handwritten.training.config import TrainConfig
from handwritten.training.micro_batches import resolve_micro_batches
from handwritten.training.optimizer import make_optimizer


class TrainState(NamedTuple):
    params: nnx.State
    batch_stats: nnx.State  # batch-norm running statistics (empty for models without them)
    opt_state: optax.OptState


@dataclass(frozen=True)
class StepSpec:
    """The static, hashable half of a step: the jit cache keys on it."""

    graphdef: Any
    tx: optax.GradientTransformation
    batch_size: int
    augment: AugmentConfig | None = None
    label_smoothing: float = 0.0
    batch_sharding: Any = None  # a NamedSharding splitting the batch over devices, or None
    micro_batches: int = 1  # the batch's gradient is accumulated over this many slices
    classes: int = 10  # the model's outputs (11 with "not a digit")


def prepare_step(
    config: TrainConfig,
    graphdef: Any,
    params: nnx.State,
    batch_stats: nnx.State,
    placement: Placement,
    total_steps: int,
    restore_opt_state: Callable[[Any], Any] | None = None,
) -> tuple[StepSpec, TrainState]:
    """The step's static spec and its first state, placed on the devices.

    `restore_opt_state` turns a freshly initialised optimizer state into a saved one (resume).
    """
    placement.check_batch(config.batch_size)
    tx = make_optimizer(config, total_steps)
    opt_state = tx.init(params)
    if restore_opt_state is not None:
        opt_state = restore_opt_state(opt_state)
    spec = StepSpec(
        graphdef=graphdef,
        tx=tx,
        batch_size=config.batch_size,
        augment=AugmentConfig() if config.augment else None,
        label_smoothing=config.label_smoothing,
        batch_sharding=placement.batch_sharding,
        micro_batches=resolve_micro_batches(
            config.micro_batch, config.batch_size, placement.n_devices, graphdef, params,
            batch_stats,
        ),
        classes=output_classes(graphdef, params, batch_stats),
    )  # fmt: skip
    return spec, placement.replicate(TrainState(params, batch_stats, opt_state))


def _images(images_u8: jax.Array) -> jax.Array:
    return images_u8.astype(jnp.float32) / 255.0


def _mean_if_float(*values: jax.Array) -> jax.Array:
    if jnp.issubdtype(values[0].dtype, jnp.floating):
        return sum(values[1:], values[0]) / len(values)
    return values[-1]


@partial(jax.jit, static_argnums=0)
def _gradients(
    graphdef: Any,
    params: nnx.State,
    batch_stats: nnx.State,
    x: jax.Array,
    targets: jax.Array,
    dropout_key: jax.Array,
) -> tuple[jax.Array, jax.Array, nnx.State, nnx.State]:
    """Mean loss, logits, parameter gradients and updated batch statistics for one slice.

    Jitted on its own so a step with several micro-batches traces it once (an unrolled step of
    8 traced 8 times: 1.1 s of the first step with a warm compilation cache); XLA inlines it.
    """
    model = nnx.merge(graphdef, params, batch_stats)

    def loss_fn(model: nnx.Module) -> tuple[jax.Array, jax.Array]:
        logits = model(x, train=True, dropout_key=dropout_key)
        return optax.softmax_cross_entropy(logits, targets).mean(), logits

    # nnx.value_and_grad carries the batch-norm statistics updates back into `model`.
    (loss, logits), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
    return loss, logits, grads, nnx.state(model, nnx.Not(nnx.Param))


@partial(jax.jit, static_argnums=0, donate_argnums=1)
def train_step(
    spec: StepSpec,
    state: TrainState,
    images_u8: jax.Array,
    labels: jax.Array,
    order: jax.Array,
    index: jax.Array,
    step_key: jax.Array,
    step: jax.Array,
) -> tuple[TrainState, dict[str, jax.Array]]:
    """One optimisation step on batch `index` of the epoch's permutation `order`; its random
    key is `step_key` folded with the global `step`.

    Returns the new state and the batch's summed loss and correct count (device scalars).
    """
    batch_ids = jax.lax.dynamic_slice_in_dim(order, index * spec.batch_size, spec.batch_size)
    x = _images(images_u8[batch_ids])
    y = labels[batch_ids].astype(jnp.int32)
    if spec.batch_sharding is not None:  # data parallel: each device takes its slice
        x = jax.lax.with_sharding_constraint(x, spec.batch_sharding)
        y = jax.lax.with_sharding_constraint(y, spec.batch_sharding)
    key = jax.random.fold_in(jax.random.wrap_key_data(step_key), step)
    aug_key, dropout_key = jax.random.split(key)
    if spec.augment is not None:
        x = augment_batch(x, aug_key, spec.augment)
    x = x[..., None]
    targets = optax.smooth_labels(jax.nn.one_hot(y, spec.classes), spec.label_smoothing)

    # Slice i takes every `count`-th image, so on a sharded batch each device keeps its own
    # rows. Equal slices: the mean of their mean losses is the batch's mean loss. Every slice
    # starts from the step's batch statistics and their results are averaged: one
    # running-average update per step from the slices' mean statistics, as without slices
    # (threading them through would apply the momentum `count` times a step).
    count = spec.micro_batches

    def strided(a: jax.Array, i: int) -> jax.Array:
        return a.reshape(a.shape[0] // count, count, *a.shape[1:])[:, i]

    loss, correct, grads, slice_stats = jnp.zeros(()), jnp.zeros((), jnp.int32), None, []
    for i in range(count):
        part_loss, logits, part, part_stats = _gradients(
            spec.graphdef, state.params, state.batch_stats, strided(x, i), strided(targets, i),
            jax.random.fold_in(dropout_key, i) if count > 1 else dropout_key,
        )  # fmt: skip
        loss += part_loss / count
        correct += (logits.argmax(-1) == strided(y, i)).sum()
        grads = part if grads is None else jax.tree.map(jnp.add, grads, part)
        slice_stats.append(part_stats)
    batch_stats = jax.tree.map(_mean_if_float, *slice_stats)
    grads = jax.tree.map(lambda g: g / count, grads)
    updates, opt_state = spec.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {
        "loss_sum": loss * spec.batch_size,
        "correct": correct,
    }
    return TrainState(params, batch_stats, opt_state), metrics
