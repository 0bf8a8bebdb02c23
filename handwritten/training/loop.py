"""Training: configuration, the jitted steps, and the loop that writes a run directory.

The steps are pure module-level functions over an explicit `TrainState` (``nnx.split`` state,
optax state), jitted once with the static parts (`StepSpec`) as a hashable argument. The whole
training set stays on the device as uint8; each step gathers its batch by index on the device, so
the host only dispatches and reads metrics every `log_every` steps.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from handwritten.data.mnist import Split
from handwritten.evaluation import metrics as evaluate
from handwritten.models.architectures import REGISTRY, create_model, split_model
from handwritten.models.checkpoint import load_checkpoint, restore_opt_state, save_checkpoint
from handwritten.runtime.device import describe_device, enable_compile_cache
from handwritten.runtime.distributed import Placement, to_host
from handwritten.storage.runs import RunDir
from handwritten.training.augment import AugmentConfig, augment_batch
from handwritten.training.micro_batches import resolve_micro_batches

OPTIMIZERS = ("nesterov", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "onecycle")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; serialised to the run's ``config.json``."""

    arch: str = "cnn"
    epochs: int = 6
    batch_size: int = 128
    optimizer: str = "adamw"
    lr: float = 3e-3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "onecycle"
    label_smoothing: float = 0.05
    augment: bool = True
    seed: int = 0
    train_subset: int | None = None  # first N training images (fast demo runs)
    test_subset: int | None = None
    log_every: int = 20  # steps between metric lines (each costs one host sync)
    # Images per device in one gradient slice of a batch: None sizes it to the CPU cache
    # (handwritten.training.micro_batches), 0 takes the whole batch at once. The gradient is the
    # batch's either way; batch-norm statistics come from each slice ("ghost" batch norm).
    micro_batch: int | None = None

    def validate(self) -> TrainConfig:
        problems = []
        if self.arch not in REGISTRY:
            problems.append(f"arch must be one of {sorted(REGISTRY)}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}")
        if not 1 <= self.epochs <= 1000:
            problems.append("epochs must be between 1 and 1000")
        if not 1 <= self.batch_size <= 65536:
            problems.append("batch size must be between 1 and 65536")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            problems.append("learning rate must be a positive number")
        if not 0 <= self.momentum < 1:
            problems.append("momentum must be in [0, 1)")
        if self.weight_decay < 0:
            problems.append("weight decay must be >= 0")
        if not 0 <= self.label_smoothing < 1:
            problems.append("label smoothing must be in [0, 1)")
        if self.train_subset is not None and self.train_subset < self.batch_size:
            problems.append("the training subset must hold at least one batch")
        if self.test_subset is not None and self.test_subset < 1:
            problems.append("the test subset must be positive")
        if self.log_every < 1:
            problems.append("log_every must be >= 1")
        if self.micro_batch is not None and self.micro_batch < 0:
            problems.append("micro_batch must be >= 0 (0: the whole batch)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown training settings: {sorted(unknown)}")
        return cls(**values).validate()


# The seed's recipes (Deeplearning4j examples) and the default model's.
PRESETS: dict[str, TrainConfig] = {
    "mlp": TrainConfig(
        arch="mlp", epochs=3, batch_size=128, optimizer="nesterov", lr=0.006,
        weight_decay=1e-4, schedule="constant", label_smoothing=0.0, augment=False,
    ),
    "lenet": TrainConfig(
        arch="lenet", epochs=3, batch_size=64, optimizer="nesterov", lr=0.01,
        weight_decay=5e-4, schedule="constant", label_smoothing=0.0, augment=False,
    ),
    "cnn": TrainConfig(),
    "default": TrainConfig(epochs=8),
}  # fmt: skip


def decay_mask(params: Any) -> Any:
    """Weight decay on kernels only, not on biases or batch-norm scales."""
    return jax.tree.map(lambda p: p.ndim > 1, params)


def make_optimizer(config: TrainConfig, steps_total: int) -> optax.GradientTransformation:
    """The seed's SGD Nesterov with decoupled L2, or Adam/AdamW with a schedule."""
    if config.schedule == "onecycle":
        lr: optax.ScalarOrSchedule = optax.cosine_onecycle_schedule(
            max(steps_total, 1), peak_value=config.lr, pct_start=0.25
        )
    elif config.schedule == "cosine":
        lr = optax.cosine_decay_schedule(config.lr, max(steps_total, 1))
    else:
        lr = config.lr
    if config.optimizer == "nesterov":
        return optax.chain(
            optax.trace(decay=config.momentum, nesterov=True),
            optax.add_decayed_weights(config.weight_decay, mask=decay_mask),
            optax.scale_by_learning_rate(lr),
        )
    if config.optimizer == "adamw":
        return optax.adamw(lr, weight_decay=config.weight_decay, mask=decay_mask)
    return optax.adam(lr)


class TrainState(NamedTuple):
    params: nnx.State
    rest: nnx.State  # batch statistics (empty for models without batch norm)
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
    rest: nnx.State,
    x: jax.Array,
    targets: jax.Array,
    dropout_key: jax.Array,
) -> tuple[jax.Array, jax.Array, nnx.State, nnx.State]:
    """Mean loss, logits, parameter gradients and updated batch statistics for one slice.

    Jitted on its own so a step with several micro-batches traces it once (an unrolled step of
    8 traced 8 times: 1.1 s of the first step with a warm compilation cache); XLA inlines it.
    """
    model = nnx.merge(graphdef, params, rest)

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
    targets = optax.smooth_labels(jax.nn.one_hot(y, 10), spec.label_smoothing)

    # Slice i takes every `count`-th image, so on a sharded batch each device keeps its own
    # rows. Equal slices: the mean of their mean losses is the batch's mean loss. Every slice
    # starts from the step's batch statistics and their results are averaged: one
    # running-average update per step from the slices' mean statistics, as without slices
    # (threading them through would apply the momentum `count` times a step).
    count = spec.micro_batches

    def strided(a: jax.Array, i: int) -> jax.Array:
        return a.reshape(a.shape[0] // count, count, *a.shape[1:])[:, i]

    loss, correct, grads, rests = jnp.zeros(()), jnp.zeros((), jnp.int32), None, []
    for i in range(count):
        part_loss, logits, part, part_rest = _gradients(
            spec.graphdef, state.params, state.rest, strided(x, i), strided(targets, i),
            jax.random.fold_in(dropout_key, i) if count > 1 else dropout_key,
        )  # fmt: skip
        loss += part_loss / count
        correct += (logits.argmax(-1) == strided(y, i)).sum()
        grads = part if grads is None else jax.tree.map(jnp.add, grads, part)
        rests.append(part_rest)
    rest = jax.tree.map(_mean_if_float, *rests)
    grads = jax.tree.map(lambda g: g / count, grads)
    updates, opt_state = spec.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {
        "loss_sum": loss * spec.batch_size,
        "correct": correct,
    }
    return TrainState(params, rest, opt_state), metrics


@partial(jax.jit, static_argnums=0)
def eval_logits(
    graphdef: Any, params: nnx.State, rest: nnx.State, images_u8: jax.Array
) -> jax.Array:
    """Logits (N, 10) for uint8 images (N, 28, 28), inference mode."""
    model = nnx.merge(graphdef, params, rest)
    return model(_images(images_u8)[..., None], train=False)


def predict_logits(
    graphdef: Any,
    params: nnx.State,
    rest: nnx.State,
    images_u8: np.ndarray,
    batch: int = 1000,
    placement: Placement | None = None,
) -> np.ndarray:
    """Evaluate in fixed-size chunks (the last one padded) so one compile serves any N."""
    put = placement.replicate if placement is not None else jnp.asarray
    outputs = []
    for start in range(0, len(images_u8), batch):
        chunk = np.asarray(images_u8[start : start + batch])
        pad = batch - len(chunk)
        if pad:
            chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), chunk.dtype)])
        logits = to_host(eval_logits(graphdef, params, rest, put(chunk)))
        outputs.append(logits[: batch - pad])
    return np.concatenate(outputs) if outputs else np.zeros((0, 10), np.float32)


# ---------------------------------------------------------------------------------------------
# Stopping


class StopSignal:
    """Set by SIGTERM/SIGINT or a STOP file in the run directory; checked between steps."""

    def __init__(self, run: RunDir | None = None):
        self.run = run
        self.reason = ""
        self._flag = threading.Event()

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._flag.set()

    def __bool__(self) -> bool:
        if not self._flag.is_set() and self.run is not None and self.run.stop_requested():
            self.set("stop requested")
        return self._flag.is_set()

    @contextmanager
    def handling_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, _frame: Any) -> None:
            self.set(f"stopped by {signal.Signals(signum).name}")

        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


# ---------------------------------------------------------------------------------------------
# The loop


@dataclass
class RunResult:
    run: RunDir
    state: str  # finished / stopped / diverged
    reason: str
    summary: dict[str, Any] = field(default_factory=dict)


ProgressFn = Callable[[dict[str, Any]], None]


def _checkpoint(run: RunDir, config: TrainConfig, state: TrainState, meta: dict[str, Any]) -> None:
    save_checkpoint(
        run.checkpoint_path,
        arch=config.arch,
        params=state.params,
        rest=state.rest,
        meta={"config": config.to_dict(), **meta},
        opt_state=state.opt_state,
    )


def fit(
    config: TrainConfig,
    run: RunDir,
    train: Split,
    test: Split,
    *,
    stop: StopSignal | None = None,
    on_progress: ProgressFn | None = None,
    resume: bool = False,
    init_from: Path | None = None,
    extra_config: dict[str, Any] | None = None,
) -> RunResult:
    """Train `config` on `train`, evaluate on `test` each epoch, record everything in `run`.

    Honours `stop` between steps (the last checkpoint stays valid) and ends a run whose loss
    becomes NaN or infinite as "diverged". Exceptions mark the run "failed" and propagate.
    With `resume`, training continues from the run's checkpoint (weights, optimizer state) at
    the start of the first epoch it had not completed; metrics are appended. With `init_from`
    (a checkpoint of the same architecture), training starts from its weights (fine-tuning).
    `extra_config` is recorded in ``config.json`` beside the settings.
    """
    config.validate()
    enable_compile_cache()
    stop = stop or StopSignal(run)
    train = train.subset(config.train_subset)
    test = test.subset(config.test_subset)
    steps_per_epoch = len(train) // config.batch_size
    total_steps = steps_per_epoch * config.epochs
    device = describe_device()
    if not resume:
        sizes = {"n_train": len(train), "n_test": len(test)}
        origin = {"init_from": str(init_from)} if init_from else {}
        run.write_config(config.to_dict() | sizes | origin | (extra_config or {}))
    run.set_status("running", device=device, total_steps=total_steps, resumed=resume)
    try:
        return _fit(
            config, run, train, test, stop, on_progress, steps_per_epoch, device, resume, init_from
        )
    except BaseException as exc:
        run.set_status("failed", f"{type(exc).__name__}: {exc}")
        raise


def _fit(
    config: TrainConfig,
    run: RunDir,
    train: Split,
    test: Split,
    stop: StopSignal,
    on_progress: ProgressFn | None,
    steps_per_epoch: int,
    device: str,
    resume: bool,
    init_from: Path | None,
) -> RunResult:
    total_steps = steps_per_epoch * config.epochs
    tx = make_optimizer(config, total_steps)
    start_epoch, elapsed_before = 0, 0.0
    epoch_accuracies: list[float] = []
    if resume:
        restored = load_checkpoint(run.checkpoint_path)
        graphdef, params, rest = split_model(restored.model)
        state = TrainState(params, rest, restore_opt_state(restored.payload, tx.init(params)))
        start_epoch = int(restored.meta.get("epoch", 0))
        history = run.read_metrics()
        epoch_accuracies = [float(r["test_accuracy"]) for r in history if r.get("kind") == "epoch"][
            :start_epoch
        ]
        elapsed_before = max((float(r.get("elapsed", 0)) for r in history), default=0.0)
    else:
        model = (
            load_checkpoint(init_from).model
            if init_from
            else create_model(config.arch, config.seed)
        )
        if model.arch != config.arch:
            raise ValueError(f"{init_from} holds a {model.arch} model, not {config.arch}")
        graphdef, params, rest = split_model(model)
        state = TrainState(params, rest, tx.init(params))
    placement = Placement.create()
    placement.check_batch(config.batch_size)
    state = placement.replicate(state)
    spec = StepSpec(
        graphdef=graphdef,
        tx=tx,
        batch_size=config.batch_size,
        augment=AugmentConfig() if config.augment else None,
        label_smoothing=config.label_smoothing,
        batch_sharding=placement.batch_sharding,
        micro_batches=resolve_micro_batches(
            config.micro_batch, config.batch_size, placement.n_devices, graphdef, params, rest
        ),
    )
    images = placement.replicate(train.images_nhw)
    labels = placement.replicate(train.labels_n)
    base_key = jax.random.key(config.seed)
    shuffle_key, step_key = jax.random.split(base_key)
    step_key = placement.replicate(jax.random.key_data(step_key))  # raw bits: plain arrays

    started = time.perf_counter() - elapsed_before
    timing_from, timed_images = None, 0  # throughput excludes the first (compiling) step
    first_step_seconds = None
    step = start_epoch * steps_per_epoch
    steps_here = 0  # steps taken by this process
    pending: list[dict[str, jax.Array]] = []
    outcome, reason = "finished", ""

    def flush() -> bool:
        """Write one metric line from the pending steps; False if the loss is not finite."""
        nonlocal pending
        if not pending:
            return True
        totals = to_host(jax.tree.map(lambda *xs: jnp.stack(xs).sum(), *pending))
        n = len(pending) * config.batch_size
        pending = []
        loss = float(totals["loss_sum"]) / n
        elapsed = time.perf_counter() - started
        rate = timed_images / (time.perf_counter() - timing_from) if timing_from else 0.0
        record = {
            "kind": "train", "step": step, "epoch": step / steps_per_epoch,
            "loss": loss, "accuracy": float(totals["correct"]) / n,
            "images_per_second": rate, "elapsed": elapsed, "total_steps": total_steps,
        }  # fmt: skip
        if not math.isfinite(loss):
            record["loss"] = None
        run.append_metrics(record)
        if on_progress:
            on_progress(record)
        return math.isfinite(loss)

    with stop.handling_signals():
        epoch = 0
        step_in_epoch = 0
        for epoch in range(start_epoch, config.epochs):
            order = placement.replicate(
                np.asarray(
                    jax.random.permutation(jax.random.fold_in(shuffle_key, epoch), len(train))
                )
            )
            for step_in_epoch in range(steps_per_epoch):
                if stop:
                    outcome, reason = "stopped", stop.reason
                    break
                state, metrics = train_step(
                    spec, state, images, labels, order, np.int32(step_in_epoch), step_key,
                    np.int32(step),
                )  # fmt: skip
                step += 1
                steps_here += 1
                pending.append(metrics)
                if placement.one_step_in_flight:
                    jax.block_until_ready(metrics)
                if steps_here == 1:
                    jax.block_until_ready(metrics)
                    first_step_seconds = time.perf_counter() - started - elapsed_before
                    timing_from = time.perf_counter()
                else:
                    timed_images += config.batch_size
                # The first line comes after step 1 so a watcher sees the run start at once.
                due = steps_here == 1 or step % config.log_every == 0
                if due and not flush():
                    outcome, reason = "diverged", f"loss became NaN or infinite at step {step}"
                    break
            else:
                step_in_epoch = steps_per_epoch
            if outcome == "finished" and not flush():
                outcome, reason = "diverged", f"loss became NaN or infinite at step {step}"
            if outcome == "diverged":
                break  # keep the last good checkpoint
            if step_in_epoch == steps_per_epoch:
                accuracy = _evaluate_epoch(run, spec, state, test, epoch, step, started, placement)
                epoch_accuracies.append(accuracy)
                _checkpoint(run, config, state, {"epoch": epoch + 1, "step": step})
            if outcome == "stopped":
                break
        else:
            epoch = config.epochs

    if outcome == "stopped" and steps_here > 0:
        _checkpoint(run, config, state, {"epoch": epoch, "step": step, "stopped": True})
    duration = time.perf_counter() - started
    rate = (
        timed_images / (time.perf_counter() - timing_from) if timing_from and timed_images else 0.0
    )
    summary: dict[str, Any] = {
        "arch": config.arch,
        "state": outcome,
        "steps": step,
        "epochs_completed": len(epoch_accuracies),
        "epoch_test_accuracy": epoch_accuracies,
        "duration_seconds": duration,
        "first_step_seconds": first_step_seconds,
        "train_images_per_second": rate,
        "micro_batches": spec.micro_batches,
        "device": device,
    }
    if outcome != "diverged" and step > 0:
        result = evaluate.evaluate(
            test.labels_n,
            predict_logits(
                graphdef, state.params, state.rest, test.images_nhw, placement=placement
            ),
        )
        summary |= result.to_dict()
    run.write_summary(summary)
    run.set_status(outcome, reason)
    return RunResult(run, outcome, reason, summary)


def _evaluate_epoch(
    run: RunDir,
    spec: StepSpec,
    state: TrainState,
    test: Split,
    epoch: int,
    step: int,
    started: float,
    placement: Placement,
) -> float:
    logits = predict_logits(
        spec.graphdef, state.params, state.rest, test.images_nhw, placement=placement
    )
    accuracy = float((logits.argmax(-1) == test.labels_n).mean())
    run.append_metrics(
        {
            "kind": "epoch",
            "epoch": epoch + 1,
            "step": step,
            "test_accuracy": accuracy,
            "elapsed": time.perf_counter() - started,
        }
    )
    return accuracy
