"""How a network learns, read back from real runs: the Tour's chapters 8 and 10.

Chapter 8 watches a short training run (the `demo` preset: the `fast` recipe with snapshots,
a normal job) through its run directory: the loss from ``metrics.jsonl``, and from each weight
snapshot the first-layer filters and the presenter's drawing's probabilities. Chapter 10 reads
the before/after figures that the last fine-tuning run measured. Nothing here trains or writes;
it only reads runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from handwritten.analysis.network import first_layer_filters
from handwritten.models.architectures import DigitModel, create_model
from handwritten.models.inference import infer_model
from handwritten.storage.runs import RunDir, RunError, list_runs
from handwritten.training.config import DEMO_PRESET, PRESETS
from handwritten.training.snapshots import list_snapshots, load_snapshot


@dataclass(frozen=True)
class SnapshotReading:
    """One snapshot seen through the drawing."""

    step: int
    probabilities: np.ndarray  # (10,) for the drawing
    filters: np.ndarray | None  # (n, k, k) first-layer filters; None for an MLP


def read_snapshot(path: Path, step: int, image28: np.ndarray) -> SnapshotReading:
    """Load one snapshot and read the drawing with it (about 25 ms for the demo's fast CNN,
    once compiled)."""
    return _read(load_snapshot(path), step, image28)


def _read(model: DigitModel, step: int, image28: np.ndarray) -> SnapshotReading:
    logits = infer_model(model, np.asarray(image28, np.float32)[None])[0]
    shifted = np.exp(logits - logits.max())
    return SnapshotReading(step, shifted / shifted.sum(), first_layer_filters(model))


def untrained_reading(image28: np.ndarray) -> SnapshotReading:
    """The live chapter's network before any training (the demo preset's architecture and
    seed, so what a run's step 0 snapshot holds): noise filters, a guess near 10% a digit."""
    demo = PRESETS[DEMO_PRESET]
    return _read(create_model(demo.arch, demo.seed), 0, image28)


def has_snapshots(run: RunDir) -> bool:
    return run.snapshot_dir.is_dir() and bool(list_snapshots(run))


def last_snapshot_run(root: Path | None = None) -> RunDir | None:
    """The newest run that recorded snapshots (the last live chapter, or a CLI demo run)."""
    return next((run for run in list_runs(root) if has_snapshots(run)), None)


@dataclass(frozen=True)
class Learning:
    """A run's story so far: loss by step, and the drawing's probabilities by snapshot."""

    loss_steps: np.ndarray  # (L,)
    losses: np.ndarray  # (L,)
    snapshot_steps: np.ndarray  # (S,)
    probabilities: np.ndarray  # (S, 10)
    start_filters: np.ndarray | None  # the first snapshot's first-layer filters (random)
    filters: np.ndarray | None  # the newest snapshot's
    total_steps: int

    @property
    def latest_step(self) -> int:
        return int(self.snapshot_steps[-1]) if len(self.snapshot_steps) else 0

    @property
    def learned_filters(self) -> np.ndarray | None:
        """What training has changed in the first-layer filters so far (newest minus start).

        Measured on the demo's fast CNN: in its 468 steps the filters move by about 44% of
        their random start (the seed LeNet's by about 10%), so the start still dominates what
        the filters look like, while the change is smooth and structured (strokes, edges) from
        the first snapshots on.
        """
        if self.filters is None or self.start_filters is None:
            return None
        return self.filters - self.start_filters


def learning(records: list[dict[str, Any]], readings: list[SnapshotReading]) -> Learning:
    """Put a run's metric records and its snapshot readings (by step) side by side."""
    train = [r for r in records if r.get("kind") == "train" and r.get("loss") is not None]
    total = max((int(r.get("total_steps") or 0) for r in train), default=0)
    readings = sorted(readings, key=lambda reading: reading.step)
    return Learning(
        loss_steps=np.array([r["step"] for r in train], np.int64),
        losses=np.array([r["loss"] for r in train], np.float64),
        snapshot_steps=np.array([r.step for r in readings], np.int64),
        probabilities=np.array([r.probabilities for r in readings]).reshape(-1, 10),
        start_filters=readings[0].filters if readings else None,
        filters=readings[-1].filters if readings else None,
        total_steps=total,
    )


def last_finetune(root: Path | None = None) -> dict[str, Any] | None:
    """The measured figures of the newest fine-tuning run that finished measuring, or None."""
    for run in list_runs(root):
        try:
            figures = (run.summary() or {}).get("finetune")
        except RunError:
            continue
        if isinstance(figures, dict) and figures.get("personal_accuracy_after") is not None:
            return figures | {"run_id": run.id}
    return None
