"""The runs on this machine as data: one `RunRow` per run, and deleting a run safely.

Rows hold plain values (no display labels or formats): the Train page, the CLI or a notebook
each decide how to show them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from handwritten.jobs.launcher import resumable, run_state, run_status
from handwritten.models.store import promoted_checkpoint, reset_active
from handwritten.storage.paths import runs_dir
from handwritten.storage.runs import RunDir, RunError, list_runs


@dataclass(frozen=True)
class RunRow:
    """One run: its settings, the facts and results it recorded, and where it is."""

    run_id: str
    arch: str | None
    layers: str | None  # the layer spec of a custom network
    epochs: int | None
    batch_size: int | None
    lr: float | None
    optimizer: str | None
    augment: bool | None
    n_train: int | None  # training images actually used (a fact, not a setting)
    state: str  # a run state, or "interrupted" (see `handwritten.jobs.launcher.run_status`)
    reason: str  # why it ended that way ("" when there is nothing to say)
    resumable: bool  # `handwritten.jobs.launcher.resume` would continue it
    test_accuracy: float | None
    duration_seconds: float | None
    images_per_second: float | None
    active: bool  # its checkpoint is the active model
    path: Path


def history(root: Path | None = None) -> list[RunRow]:
    """One row per readable run under `root` (default: the runs folder), newest first."""
    active = _active_run_dir()
    rows = []
    for run in list_runs(root):
        try:
            settings, facts, summary = run.settings(), run.facts(), run.summary() or {}
        except RunError:
            continue  # a run being written or damaged: it shows once readable
        state, reason = run_status(run)
        rows.append(
            RunRow(
                run_id=run.id,
                arch=settings.get("arch"),
                layers=settings.get("layers"),
                epochs=settings.get("epochs"),
                batch_size=settings.get("batch_size"),
                lr=settings.get("lr"),
                optimizer=settings.get("optimizer"),
                augment=settings.get("augment"),
                n_train=facts.get("n_train"),
                state=state,
                reason=reason,
                resumable=resumable(run),
                test_accuracy=summary.get("test_accuracy"),
                duration_seconds=summary.get("duration_seconds"),
                images_per_second=summary.get("train_images_per_second"),
                active=run.path == active,
                path=run.path,
            )
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
