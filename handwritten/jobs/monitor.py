"""Reading runs for people: live progress of a run, and the history table of all runs.

Everything here reads run directories only, so it works the same for a job started from the
dashboard, from the CLI, or on another machine sharing ``$HANDWRITTEN_HOME``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handwritten.jobs.launcher import current_job, run_state
from handwritten.models.store import promoted_checkpoint, reset_active
from handwritten.storage.paths import runs_dir
from handwritten.storage.runs import RunDir, RunError, list_runs


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
    test_accuracy: float | None

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def compiling(self) -> bool:
        """Started but no step reported yet: JAX is importing and compiling."""
        return self.state == "running" and self.step == 0


def progress(run: RunDir) -> Progress:
    status = run.status()
    config = run.settings()
    records = run.read_metrics()
    train = [r for r in records if r.get("kind") == "train"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    last = train[-1] if train else {}
    total = int(last.get("total_steps") or status.get("total_steps") or 0)
    step = int(last.get("step", 0))
    rate = float(last.get("images_per_second") or 0.0)
    state = run_state(run)
    eta = None
    if state == "running" and rate > 0 and total:
        eta = (total - step) * int(config.get("batch_size", 1)) / rate
    return Progress(
        state=state,
        reason=str(status.get("reason", "")),
        step=step,
        total_steps=total,
        epoch=float(last.get("epoch", 0.0)),
        epochs=int(config.get("epochs", 0)),
        elapsed=float(max((r.get("elapsed", 0.0) for r in records), default=0.0)),
        eta_seconds=eta,
        images_per_second=rate,
        device=str(status.get("device", "")),
        loss=last.get("loss"),
        test_accuracy=float(epochs[-1]["test_accuracy"]) if epochs else None,
    )


def live_run() -> RunDir | None:
    """The run the machine is training now, if any."""
    job = current_job()
    if not job or not job.get("run_dir"):
        return None
    try:
        return RunDir.open(Path(job["run_dir"]))
    except RunError:
        return None  # the launcher has the lock but the run has not written its config yet


def history(root: Path | None = None) -> list[dict[str, Any]]:
    """One row per run, newest first: what the history table shows."""
    active = _active_run_dir()
    rows = []
    for run in list_runs(root):
        try:
            config, summary = run.settings() | run.facts(), run.summary() or {}
        except RunError:
            continue
        rows.append(
            {
                "run": run.id,
                "arch": config.get("arch"),
                "epochs": config.get("epochs"),
                "batch": config.get("batch_size"),
                "lr": config.get("lr"),
                "optimizer": config.get("optimizer"),
                "augment": config.get("augment"),
                "train images": config.get("n_train"),
                "status": run_state(run),
                "test accuracy": summary.get("test_accuracy"),
                "duration (s)": summary.get("duration_seconds"),
                "images/s": summary.get("train_images_per_second"),
                "active": run.path == active,
                "path": str(run.path),
            }
        )
    return rows


def _active_run_dir() -> Path | None:
    """The promoted run, even when its model broke (deleting it must still reset the pointer)."""
    path = promoted_checkpoint()
    return path.parent if path is not None else None


def delete_run(run: RunDir) -> None:
    """Delete a run directory; refuses a running job and anything outside the runs folder."""
    path = run.path.resolve()
    if runs_dir().resolve() not in path.parents:
        raise RunError(f"{run.path}: not inside {runs_dir()}; refusing to delete")
    if run_state(run) == "running":
        raise RunError(f"{run.id} is still training; stop it first")
    if _active_run_dir() == run.path:
        reset_active()  # the dashboard falls back to the shipped model
    shutil.rmtree(path)
