"""Weight snapshots taken while a run trains, so anyone watching can show the model learning.

With ``snapshot_every`` set, a run writes its weights to ``snapshots/step-NNNNNN.msgpack`` in
its run directory at step 0 (the random start), at steps 1, 2, 4, 8... below the cadence (a
network learns most in its first steps: the demo's fast CNN gives MNIST's first test 7 82% after
16 steps and 99.8% after 25), every ``snapshot_every`` steps and at its last step. A watcher (the
Tour's live chapter) lists them and evaluates what it likes on each: the first-layer filters
taking shape, a drawing's probability climbing. The run never needs to know what will be
looked at, and the run directory stays the only protocol.

Snapshots are checkpoints (the same msgpack format, written atomically) in float16: half the
size, and far more precise than a picture of a filter or a probability needs. The demo preset's
fast CNN makes 0.43 MB snapshots, 25 over its 468 steps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from handwritten.models.architectures import DigitModel
from handwritten.models.checkpoint import read_checkpoint, restore_payload, save_checkpoint
from handwritten.runtime.distributed import to_host
from handwritten.storage.files import FileVersion
from handwritten.storage.runs import RunDir

STORED_DTYPE = np.float16
_NAME = re.compile(r"^step-(\d{6,})\.msgpack$")


@dataclass(frozen=True)
class Snapshot:
    """One snapshot file: the step it was taken after, and its version (the cache key)."""

    step: int
    version: FileVersion

    @property
    def path(self) -> Path:
        return Path(self.version.path)


def is_snapshot_step(step: int, every: int) -> bool:
    """Whether the weights after `step` steps are snapshotted: every `every` steps, and the
    powers of two below `every` (0: never)."""
    if every <= 0 or step < 0:
        return False
    return step % every == 0 or (step < every and step & (step - 1) == 0)


def snapshot_path(run: RunDir, step: int) -> Path:
    return run.snapshot_dir / f"step-{step:06d}.msgpack"


def _cast(tree: Any, dtype: Any) -> Any:
    """Floating leaves to `dtype` (host numpy arrays); anything else unchanged."""

    def one(value: Any) -> Any:
        array = np.asarray(value)
        return array.astype(dtype) if np.issubdtype(array.dtype, np.floating) else array

    return jax.tree.map(one, tree)


def save_snapshot(
    run: RunDir, step: int, *, arch: str, params: nnx.State, batch_stats: nnx.State,
    layers: str | None = None,
) -> Path:  # fmt: skip
    """Write the weights after `step` steps (float16) into the run's snapshots folder;
    `layers`: a custom network's spec, as in its checkpoint (the snapshot is rebuilt from it)."""
    path = snapshot_path(run, step)
    save_checkpoint(
        path,
        arch=arch,
        layers=layers,
        params=_cast(to_host(params), STORED_DTYPE),
        batch_stats=_cast(to_host(batch_stats), STORED_DTYPE),
        meta={"step": step, "snapshot": True},
    )
    return path


def list_snapshots(run: RunDir) -> list[Snapshot]:
    """The run's complete snapshots, by step (a file still being written has a temp name)."""
    if not run.snapshot_dir.is_dir():
        return []
    found = []
    for path in run.snapshot_dir.iterdir():
        match = _NAME.match(path.name)
        if match:
            try:
                found.append(Snapshot(int(match.group(1)), FileVersion.of(path)))
            except FileNotFoundError:
                continue  # deleted with its run while we looked
    return sorted(found, key=lambda snapshot: snapshot.step)


def load_snapshot(path: Path) -> DigitModel:
    """The model a snapshot holds, with float32 weights (as every inference path expects).

    The stored float16 leaves are widened before the checkpoint's checks, which hold every
    leaf to the architecture's float32."""
    payload = read_checkpoint(path)
    for key in ("params", "rest"):
        payload[key] = _cast(payload[key], np.float32)
    return restore_payload(payload, path).model
