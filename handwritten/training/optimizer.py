"""The optimizer for a run: the seed's SGD Nesterov with decoupled L2, or Adam/AdamW with a
learning-rate schedule."""

from __future__ import annotations

from typing import Any

import jax
import optax

from handwritten.training.config import TrainConfig


def decay_mask(params: Any) -> Any:
    """Weight decay on kernels only, not on biases or batch-norm scales."""
    return jax.tree.map(lambda p: p.ndim > 1, params)


def learning_rate(config: TrainConfig, steps_total: int) -> optax.ScalarOrSchedule:
    """The configured schedule over `steps_total` steps (a constant for "constant")."""
    if config.schedule == "onecycle":
        return optax.cosine_onecycle_schedule(
            max(steps_total, 1), peak_value=config.lr, pct_start=0.25
        )
    if config.schedule == "cosine":
        return optax.cosine_decay_schedule(config.lr, max(steps_total, 1))
    return config.lr


def make_optimizer(config: TrainConfig, steps_total: int) -> optax.GradientTransformation:
    """The seed's SGD Nesterov with decoupled L2, or Adam/AdamW with a schedule."""
    lr = learning_rate(config, steps_total)
    if config.optimizer == "nesterov":
        # Decoupled: the decay is added after the Nesterov trace, scaled by the learning rate.
        return optax.chain(
            optax.trace(decay=config.momentum, nesterov=True),
            optax.add_decayed_weights(config.weight_decay, mask=decay_mask),
            optax.scale_by_learning_rate(lr),
        )
    if config.optimizer == "adamw":
        return optax.adamw(lr, weight_decay=config.weight_decay, mask=decay_mask)
    return optax.adam(lr)
