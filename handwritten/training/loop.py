"""The run loop: train a `TrainConfig` into a run directory, epoch by epoch.

`fit` initialises (fresh, from another checkpoint, or resuming), runs epochs of jitted steps,
logs a metric line every `log_every` steps (each costs one host sync), evaluates and
checkpoints at the end of every epoch, and finishes with a summary. What stays fixed during a
run is a `_Run`; what moves is a `_Tracker`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from handwritten.data.mnist import Split
from handwritten.evaluation.metrics import evaluate
from handwritten.models.architectures import count_parameters, create_model, split_model
from handwritten.models.checkpoint import (
    Restored,
    load_checkpoint,
    restore_opt_state,
    save_checkpoint,
)
from handwritten.models.inference import infer
from handwritten.runtime.device import describe_device, enable_compile_cache
from handwritten.runtime.distributed import Placement, to_host
from handwritten.storage.runs import RunDir
from handwritten.training.config import TrainConfig
from handwritten.training.preparation import ProgressFn, StoppedBeforeTraining, prepare
from handwritten.training.snapshots import is_snapshot_step, save_snapshot, snapshot_path
from handwritten.training.step import StepSpec, TrainState, prepare_step, train_step
from handwritten.training.stopping import StopSignal

__all__ = ["ProgressFn", "RunResult", "fit"]


@dataclass
class RunResult:
    run: RunDir
    state: str  # finished / stopped / diverged
    reason: str
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Run:
    """What stays fixed while a run trains."""

    config: TrainConfig
    run: RunDir
    train: Split
    test: Split
    stop: StopSignal
    on_progress: ProgressFn | None
    placement: Placement
    spec: StepSpec
    device: str
    parameters: int  # the model's exact count, reported with the layer spec
    layers: str  # the model's layer spec (`handwritten.models.layer_spec`)
    images: Any  # the training set on the devices (uint8)
    labels: Any
    shuffle_key: jax.Array
    step_key: Any  # raw key bits, replicated
    keep_meta: dict[str, Any]  # written into every checkpoint's metadata

    @property
    def steps_per_epoch(self) -> int:
        return len(self.train) // self.config.batch_size

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs


@dataclass
class _Tracker:
    """What moves while a run trains: the step, the pending metrics, timing, the outcome."""

    step: int
    start_epoch: int
    started: float  # perf_counter() at the start, minus the time earlier processes trained
    elapsed_before: float
    epoch_accuracies: list[float]
    steps_here: int = 0  # steps taken by this process
    pending: list[dict[str, jax.Array]] = field(default_factory=list)
    timing_from: float | None = None  # throughput excludes the first (compiling) step
    timed_images: int = 0
    first_step_seconds: float | None = None
    outcome: str = "finished"
    reason: str = ""
    test_logits: tuple[int, np.ndarray] | None = None  # (step, logits) of the last evaluation

    def end(self, outcome: str, reason: str) -> None:
        self.outcome, self.reason = outcome, reason

    def diverged(self) -> None:
        self.end("diverged", f"loss became NaN or infinite at step {self.step}")

    def images_per_second(self) -> float:
        if not (self.timing_from and self.timed_images):
            return 0.0
        return self.timed_images / (time.perf_counter() - self.timing_from)


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
    facts: dict[str, Any] | None = None,
    keep_meta: dict[str, Any] | None = None,
) -> RunResult:
    """Train `config` on `train`, evaluate on `test` each epoch, record everything in `run`.

    Honours `stop` while generated images are drawn and between steps (the last checkpoint
    stays valid); a NaN or infinite loss ends it "diverged"; exceptions mark it "failed".
    With `resume`, training continues from the run's checkpoint (weights, optimizer state) at
    the step it was taken; metrics logged after it are dropped, the rest appended to. With
    `init_from` (a checkpoint of the same architecture), training starts from its weights.
    `facts` are recorded in ``facts.json`` beside the data sizes; `keep_meta` goes into every
    checkpoint's metadata (a fine-tune keeps its base's calibration so).
    """
    config.validate().check_data(len(train))
    enable_compile_cache()
    # A resumption that cannot start (no checkpoint, a damaged one) fails here, before the
    # status changes: a run keeps the first cause it ended with.
    restored = load_checkpoint(run.checkpoint_path) if resume else None
    previous = run.status() if resume else None
    if not resume:
        run.write_config(config.to_dict())
    stop = stop if stop is not None else StopSignal(run)  # a StopSignal is falsy until set
    prepared = prepare(config, run, train, stop, on_progress, previous)
    if isinstance(prepared, StoppedBeforeTraining):
        return RunResult(run, "stopped", prepared.reason, prepared.summary)
    train, test = prepared.subset(config.train_subset), test.subset(config.test_subset)
    if not resume:
        origin = {"init_from": str(init_from)} if init_from else {}
        sizes = {"n_train": len(train), "n_test": len(test), "n_heldout": config.heldout,
                 "n_negatives": config.negatives, "n_redrawn": config.redrawn}  # fmt: skip
        run.write_facts(sizes | origin | (facts or {}))
    device = describe_device()
    total_steps = len(train) // config.batch_size * config.epochs
    run.set_status("running", device=device, total_steps=total_steps, resumed=resume)
    try:
        session, tracker, state = _initialise(
            config, run, train, test, stop, on_progress, device, restored,
            init_from, keep_meta or {},
        )  # fmt: skip
    except BaseException as exc:
        run.record_failure(exc, previous)
        raise
    try:
        with session.stop.handling_signals():
            state = _train_epochs(session, tracker, state)
        return _finish(session, tracker, state)
    except BaseException as exc:
        run.record_failure(exc, None)
        raise


def _initialise(
    config: TrainConfig,
    run: RunDir,
    train: Split,
    test: Split,
    stop: StopSignal,
    on_progress: ProgressFn | None,
    device: str,
    restored: Restored | None,
    init_from: Path | None,
    keep_meta: dict[str, Any],
) -> tuple[_Run, _Tracker, TrainState]:
    """The model (fresh, another run's weights, or this run's checkpoint), step and tracker."""
    placement = Placement.create()
    steps_per_epoch = len(train) // config.batch_size
    restore = None
    if restored is not None:
        model, payload = restored.model, restored.payload

        def restore(template: Any) -> Any:
            return restore_opt_state(payload, template)

        tracker = _resumed_tracker(run, restored.meta, steps_per_epoch)
    else:
        if init_from is not None:
            model = load_checkpoint(init_from).model
        else:
            model = create_model(config.arch, config.seed, config.layers)
        if model.arch != config.arch or (config.layers and model.layer_spec != config.layers):
            raise ValueError(f"{init_from} holds a {model.arch} model, not {config.arch}")
        tracker = _Tracker(0, 0, time.perf_counter(), 0.0, [])
    graphdef, params, batch_stats = split_model(model)
    spec, state = prepare_step(
        config, graphdef, params, batch_stats, placement, steps_per_epoch * config.epochs,
        restore,
    )  # fmt: skip
    shuffle_key, step_key = jax.random.split(jax.random.key(config.seed))
    session = _Run(
        config, run, train, test, stop, on_progress, placement, spec, device,
        count_parameters(model), model.layer_spec, placement.replicate(train.images_nhw),
        placement.replicate(train.labels_n), shuffle_key,
        placement.replicate(jax.random.key_data(step_key)),  # raw bits: plain arrays
        keep_meta,
    )  # fmt: skip
    return session, tracker, state


def _resumed_tracker(run: RunDir, meta: dict[str, Any], steps_per_epoch: int) -> _Tracker:
    """Continue exactly where the checkpoint was taken: its step, within its epoch.

    Its epoch's permutation and every step's random key follow from the seed, so the run goes
    on as if it had never stopped. The metrics a killed job logged after its checkpoint are
    dropped (those steps are trained again), so the curves never step back.
    """
    start_epoch = int(meta.get("epoch", 0))
    step = int(meta.get("step", start_epoch * steps_per_epoch))
    if not 0 <= step - start_epoch * steps_per_epoch < steps_per_epoch:
        step = start_epoch * steps_per_epoch  # an older or odd checkpoint: its epoch's start
    history = run.rewind_metrics(step, start_epoch)
    accuracies = [float(r["test_accuracy"]) for r in history if r.get("kind") == "epoch"]
    elapsed_before = max((float(r.get("elapsed", 0)) for r in history), default=0.0)
    started = time.perf_counter() - elapsed_before
    return _Tracker(step, start_epoch, started, elapsed_before, accuracies[:start_epoch])


def _train_epochs(session: _Run, tracker: _Tracker, state: TrainState) -> TrainState:
    """Epochs until the last, a stop or a divergence; returns the state to keep."""
    if tracker.step == 0:
        _snapshot(session, tracker, state)  # the random start, for watchers of the learning
    for epoch in range(tracker.start_epoch, session.config.epochs):
        state, completed = _one_epoch(session, tracker, state, epoch)
        if tracker.outcome == "diverged":
            break  # keep the last good checkpoint
        if completed:
            _end_of_epoch(session, tracker, state, epoch)
            if epoch == session.config.epochs - 1:
                _snapshot(session, tracker, state)  # the last step, whatever the cadence
        if tracker.outcome == "stopped":
            if tracker.steps_here > 0:  # else the checkpoint on disk is already this state
                meta = {"epoch": epoch, "step": tracker.step, "stopped": True}
                _checkpoint(session, state, meta)
            break
    return state


def _one_epoch(
    session: _Run, tracker: _Tracker, state: TrainState, epoch: int
) -> tuple[TrainState, bool]:
    """One pass over the epoch's permutation; True when every step of it ran."""
    permutation = jax.random.permutation(
        jax.random.fold_in(session.shuffle_key, epoch), len(session.train)
    )
    order = session.placement.replicate(np.asarray(permutation))
    first = tracker.step - epoch * session.steps_per_epoch  # > 0 only when resuming mid-epoch
    for index in range(max(first, 0), session.steps_per_epoch):
        if session.stop:
            tracker.end("stopped", session.stop.reason)
            return state, False
        state = _take_step(session, tracker, state, order, index)
        if is_snapshot_step(tracker.step, session.config.snapshot_every):
            _snapshot(session, tracker, state)
        # The first line comes after step 1 so a watcher sees the run start at once.
        due = tracker.steps_here == 1 or tracker.step % session.config.log_every == 0
        if due and not _log(session, tracker):
            tracker.diverged()
            return state, False
    if not _log(session, tracker):
        tracker.diverged()
        return state, False
    return state, True


def _take_step(
    session: _Run, tracker: _Tracker, state: TrainState, order: Any, index: int
) -> TrainState:
    state, metrics = train_step(
        session.spec, state, session.images, session.labels, order, np.int32(index),
        session.step_key, np.int32(tracker.step),
    )  # fmt: skip
    tracker.step += 1
    tracker.steps_here += 1
    tracker.pending.append(metrics)
    if session.placement.one_step_in_flight:
        jax.block_until_ready(metrics)
    if tracker.steps_here == 1:
        jax.block_until_ready(metrics)
        tracker.first_step_seconds = time.perf_counter() - tracker.started - tracker.elapsed_before
        tracker.timing_from = time.perf_counter()
    else:
        tracker.timed_images += session.config.batch_size
    return state


def _log(session: _Run, tracker: _Tracker) -> bool:
    """Write one metric line from the pending steps; False if the loss is not finite."""
    if not tracker.pending:
        return True
    totals = to_host(jax.tree.map(lambda *xs: jnp.stack(xs).sum(), *tracker.pending))
    n = len(tracker.pending) * session.config.batch_size
    tracker.pending = []
    loss = float(totals["loss_sum"]) / n
    record = {
        "kind": "train", "step": tracker.step, "epoch": tracker.step / session.steps_per_epoch,
        "loss": loss if math.isfinite(loss) else None,
        "accuracy": float(totals["correct"]) / n,
        "images_per_second": tracker.images_per_second(),
        "elapsed": time.perf_counter() - tracker.started, "total_steps": session.total_steps,
    }  # fmt: skip
    session.run.append_metrics(record)
    if session.on_progress:
        session.on_progress(record)
    return math.isfinite(loss)


def _test_logits(session: _Run, state: TrainState) -> np.ndarray:
    return infer(
        session.spec.graphdef, state.params, state.batch_stats, session.test.images_nhw,
        put=session.placement.replicate,
    )  # fmt: skip


def _end_of_epoch(session: _Run, tracker: _Tracker, state: TrainState, epoch: int) -> None:
    """Test accuracy as an epoch line, then a checkpoint at the epoch's end."""
    logits = _test_logits(session, state)
    tracker.test_logits = (tracker.step, logits)  # the summary reuses it if no step follows
    accuracy = float((logits.argmax(-1) == session.test.labels_n).mean())
    session.run.append_metrics(
        {
            "kind": "epoch",
            "epoch": epoch + 1,
            "step": tracker.step,
            "test_accuracy": accuracy,
            "elapsed": time.perf_counter() - tracker.started,
        }
    )
    tracker.epoch_accuracies.append(accuracy)
    _checkpoint(session, state, {"epoch": epoch + 1, "step": tracker.step})


def _snapshot(session: _Run, tracker: _Tracker, state: TrainState) -> None:
    """The weights after this step into ``snapshots/`` (when the run asks for snapshots and
    this step has none yet: the last step can also be a multiple of the cadence)."""
    if session.config.snapshot_every and not snapshot_path(session.run, tracker.step).exists():
        save_snapshot(
            session.run, tracker.step, arch=session.config.arch, params=state.params,
            batch_stats=state.batch_stats, layers=session.config.layers,
        )  # fmt: skip


def _checkpoint(session: _Run, state: TrainState, meta: dict[str, Any]) -> None:
    save_checkpoint(
        session.run.checkpoint_path, arch=session.config.arch, params=state.params,
        batch_stats=state.batch_stats,
        meta={**session.keep_meta, "config": session.config.to_dict(), **meta},
        opt_state=state.opt_state, layers=session.config.layers,
    )  # fmt: skip


def _finish(session: _Run, tracker: _Tracker, state: TrainState) -> RunResult:
    """The summary (with the final test evaluation unless the run diverged) and the status."""
    summary: dict[str, Any] = {
        "arch": session.config.arch,
        "layers": session.layers,  # the spec, always
        "parameters": session.parameters, "state": tracker.outcome, "steps": tracker.step,
        "epochs_completed": len(tracker.epoch_accuracies),
        "epoch_test_accuracy": tracker.epoch_accuracies,
        "duration_seconds": time.perf_counter() - tracker.started,
        "first_step_seconds": tracker.first_step_seconds,
        "train_images_per_second": tracker.images_per_second(),
        "micro_batches": session.spec.micro_batches, "device": session.device,
    }  # fmt: skip
    if tracker.outcome != "diverged" and tracker.step > 0:
        logits = tracker.test_logits
        if logits is None or logits[0] != tracker.step:  # steps since the last epoch's end
            logits = (tracker.step, _test_logits(session, state))
        summary |= evaluate(session.test.labels_n, logits[1]).to_dict()
    session.run.write_summary(summary)
    session.run.set_status(tracker.outcome, tracker.reason)
    return RunResult(session.run, tracker.outcome, tracker.reason, summary)
