"""Where a run is now: the figures behind a progress bar and a status line, and which run this
machine is training.

Everything here reads run directories only, so it works the same for a job started from the
dashboard, from the CLI, or on another machine sharing ``$HANDWRITTEN_HOME``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handwritten.jobs.launcher import run_status
from handwritten.jobs.lock import current_job
from handwritten.storage.runs import FINAL_STATES, MetricsTail, RunDir, RunError

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Preparing:
    """A bank of generated training images being drawn (`handwritten.training.bank`)."""

    what: str
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    def describe(self) -> str:
        return (
            f"Drawing {self.total:,} {self.what}: {self.done:,} so far "
            "(once: later runs read them from the cache)"
        )


def _preparing(status: Record, state: str) -> Preparing | None:
    value = status.get("preparing")
    if state != "running" or not isinstance(value, dict):
        return None
    try:
        return Preparing(str(value["what"]), int(value["done"]), int(value["total"]))
    except (KeyError, TypeError, ValueError):
        return None  # a status written by another version: no preparation line, nothing worse


@dataclass(frozen=True)
class Progress:
    """Where a run is: for the progress bar and the status line."""

    state: str
    reason: str
    step: int
    total_steps: int
    epoch: float
    epochs: int
    elapsed: float
    eta_seconds: float | None
    images_per_second: float
    device: str
    loss: float | None
    test_accuracy: float | None  # the final evaluation once the run ended, else the last epoch's
    stopping: bool = False  # running, and someone asked it to stop
    preparing: Preparing | None = None  # a training bank being drawn before the first step

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def compiling(self) -> bool:
        """Started, no bank being drawn and no step reported yet: JAX is importing and
        compiling."""
        return self.state == "running" and self.step == 0 and self.preparing is None


def _last(records: Sequence[Record], kind: str) -> Record | None:
    """The newest record of `kind`, searched from the end (the log only grows)."""
    return next((r for r in reversed(records) if r.get("kind") == kind), None)


def progress(run: RunDir, records: MetricsTail | Sequence[Record] | None = None) -> Progress:
    """The run's progress from its status, settings and metric records.

    Args:
        run: the run directory.
        records: its metric records when the caller holds them already: a live panel keeps a
            `MetricsTail` per watched run and passes it (or what it read), so a poll parses only
            the lines added since the last one. None reads the whole log.
    """
    if records is None:
        records = run.read_metrics()
    elif isinstance(records, MetricsTail):
        records = records.read()
    status, config = run.status(), run.settings()
    last, epoch = _last(records, "train") or {}, _last(records, "epoch")
    total = int(last.get("total_steps") or status.get("total_steps") or 0)
    step = int(last.get("step", 0))
    rate = float(last.get("images_per_second") or 0.0)
    state, reason = run_status(run)
    eta = None
    if state == "running" and rate > 0 and total:
        eta = (total - step) * int(config.get("batch_size", 1)) / rate
    return Progress(
        state=state,
        reason=reason,
        step=step,
        total_steps=total,
        epoch=float(last.get("epoch", 0.0)),
        epochs=int(config.get("epochs", 0)),
        elapsed=float(max((r.get("elapsed", 0.0) for r in records), default=0.0)),
        eta_seconds=eta,
        images_per_second=rate,
        device=str(status.get("device", "")),
        loss=last.get("loss"),
        test_accuracy=_test_accuracy(run, state, epoch),
        stopping=state == "running" and run.stop_requested(),
        preparing=_preparing(status, state),
    )


def _test_accuracy(run: RunDir, state: str, epoch: Record | None) -> float | None:
    """What the history shows for an ended run (its summary's final evaluation, which for a
    stopped run is of the weights it stopped with), else the last epoch's."""
    if state in FINAL_STATES:
        try:
            final = (run.summary() or {}).get("test_accuracy")
        except RunError:
            final = None
        if final is not None:
            return float(final)
    return float(epoch["test_accuracy"]) if epoch else None


def live_run() -> RunDir | None:
    """The run the machine is training now, if any."""
    job = current_job()
    if not job or not job.get("run_dir"):
        return None
    try:
        return RunDir.open(Path(job["run_dir"]))
    except RunError:
        return None  # the launcher has the lock but the run has not written its config yet
