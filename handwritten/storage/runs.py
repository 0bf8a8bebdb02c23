"""Run directories: what a training job writes, and what anyone can read while it runs.

A run lives in ``$HANDWRITTEN_HOME/runs/<id>/``:

- ``config.json``: the training configuration;
- ``metrics.jsonl``: one JSON object a line, appended as training goes (tail it to watch);
- ``status.json``: ``running`` / ``finished`` / ``stopped`` / ``diverged`` / ``failed``, a reason,
  the process id;
- ``checkpoint.msgpack``: the latest model, written atomically;
- ``summary.json``: test accuracy, per-class accuracy, confusion matrix;
- ``STOP``: created by anyone who wants the run to stop; the job honours it between steps.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handwritten.storage.files import atomic_write_json, read_json
from handwritten.storage.paths import runs_dir

STATES = ("running", "finished", "stopped", "diverged", "failed")
FINAL_STATES = ("finished", "stopped", "diverged", "failed")


class RunError(ValueError):
    """A folder is not a readable run directory."""


@dataclass(frozen=True)
class RunDir:
    path: Path

    CONFIG = "config.json"
    METRICS = "metrics.jsonl"
    STATUS = "status.json"
    SUMMARY = "summary.json"
    CHECKPOINT = "checkpoint.msgpack"
    STOP = "STOP"
    JOB_LOG = "job.log"  # the job launcher's stdout/stderr, opened before training starts

    @classmethod
    def create(cls, label: str, root: Path | None = None, path: Path | None = None) -> RunDir:
        """Make a new run folder; `path` if given (new, empty, or holding only a job log)."""
        if path is None:
            root = root or runs_dir()
            run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{label}-{secrets.token_hex(2)}"
            path = root / run_id
        path = Path(path)
        if path.exists() and any(p.name != cls.JOB_LOG for p in path.iterdir()):
            raise RunError(f"{path}: already exists and is not empty; choose a new --run-dir")
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> RunDir:
        path = Path(path)
        if not (path / cls.CONFIG).is_file():
            raise RunError(f"{path}: not a run directory (no {cls.CONFIG})")
        return cls(path)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def checkpoint_path(self) -> Path:
        return self.path / self.CHECKPOINT

    # config / summary ------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.path / self.CONFIG, config)

    def config(self) -> dict[str, Any]:
        return _read_json_or_error(self.path / self.CONFIG)

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / self.SUMMARY, summary)

    def summary(self) -> dict[str, Any] | None:
        path = self.path / self.SUMMARY
        return _read_json_or_error(path) if path.is_file() else None

    # status ----------------------------------------------------------------------------------
    def set_status(self, state: str, reason: str = "", **extra: Any) -> None:
        """Write the state; the device and step count of the last status are kept."""
        if state not in STATES:
            raise ValueError(f"unknown run state {state!r}")
        previous = self.status() if (self.path / self.STATUS).is_file() else {}
        kept = {k: v for k, v in previous.items() if k in ("device", "total_steps")}
        value = {"state": state, "reason": reason, "pid": os.getpid(), "updated": time.time()}
        atomic_write_json(self.path / self.STATUS, kept | value | extra)

    def status(self) -> dict[str, Any]:
        path = self.path / self.STATUS
        if not path.is_file():
            return {"state": "unknown", "reason": "no status written"}
        return _read_json_or_error(path)

    # metrics ---------------------------------------------------------------------------------
    def append_metrics(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        with (self.path / self.METRICS).open("a") as handle:
            handle.write(line)
            handle.flush()

    def read_metrics(self) -> list[dict[str, Any]]:
        """All complete metric lines; a line still being written is skipped."""
        path = self.path / self.METRICS
        if not path.is_file():
            return []
        records = []
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records

    # stopping --------------------------------------------------------------------------------
    def request_stop(self) -> None:
        (self.path / self.STOP).touch()

    def stop_requested(self) -> bool:
        return (self.path / self.STOP).exists()


def _read_json_or_error(path: Path) -> dict[str, Any]:
    try:
        value = read_json(path)
    except (OSError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: unreadable ({exc})") from exc
    if not isinstance(value, dict):
        raise RunError(f"{path}: expected a JSON object")
    return value


def list_runs(root: Path | None = None) -> list[RunDir]:
    """Run directories under `root`, newest first."""
    root = root or runs_dir()
    if not root.is_dir():
        return []
    runs = [RunDir(p) for p in root.iterdir() if (p / RunDir.CONFIG).is_file()]
    return sorted(runs, key=lambda r: r.path.stat().st_mtime, reverse=True)
