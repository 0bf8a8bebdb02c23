"""Run directories: what a training job writes, and what anyone can read while it runs.

A run lives in ``$HANDWRITTEN_HOME/runs/<id>/``:

- ``config.json``: the training settings (`handwritten.training.config.TrainConfig`);
- ``facts.json``: facts about the run that are not settings (data sizes, where its weights
  came from, fine-tuning details); older runs kept these in ``config.json``;
- ``metrics.jsonl``: one JSON object a line, appended as training goes (tail it to watch);
- ``status.json``: ``running`` / ``finished`` / ``stopped`` / ``diverged`` / ``failed``, a reason,
  the process id;
- ``checkpoint.msgpack``: the latest model, written atomically;
- ``summary.json``: test accuracy, per-class accuracy, confusion matrix;
- ``snapshots/step-NNNNNN.msgpack``: the weights every ``snapshot_every`` steps (when set), so
  a watcher can show the model learning (`handwritten.training.snapshots`);
- ``STOP``: created by anyone who wants the run to stop; the job honours it between steps.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handwritten.storage.files import (
    atomic_write_bytes,
    atomic_write_json,
    is_temp_file,
    naming,
    read_json,
)
from handwritten.storage.paths import runs_dir

STATES = ("running", "finished", "stopped", "diverged", "failed")
FINAL_STATES = ("finished", "stopped", "diverged", "failed")
PROMOTABLE_STATES = ("finished", "stopped")  # a run in these holds a model worth using
# Keys older runs wrote into config.json beside the settings; they are facts.
LEGACY_FACT_KEYS = ("n_train", "n_test", "init_from", "finetune", "base_model")


class RunError(ValueError):
    """A folder is not a readable run directory."""


@dataclass(frozen=True)
class RunDir:
    path: Path

    CONFIG = "config.json"
    FACTS = "facts.json"
    METRICS = "metrics.jsonl"
    STATUS = "status.json"
    SUMMARY = "summary.json"
    CHECKPOINT = "checkpoint.msgpack"
    STOP = "STOP"
    JOB_LOG = "job.log"  # the job launcher's stdout/stderr, opened before training starts
    SNAPSHOTS = "snapshots"  # weight snapshots taken during the run (when asked for)

    @classmethod
    def create(cls, label: str, root: Path | None = None, path: Path | None = None) -> RunDir:
        """Make a new run folder; `path` if given (new, empty, or holding only a job log)."""
        if path is None:
            root = root or runs_dir()
            run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{label}-{secrets.token_hex(2)}"
            path = root / run_id
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunError(f"{path}: not a directory; choose a new --run-dir")
        if path.exists() and any(p.name != cls.JOB_LOG for p in path.iterdir()):
            raise RunError(f"{path}: already exists and is not empty; choose a new --run-dir")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except (NotADirectoryError, FileExistsError) as exc:  # a file where a folder should be
            raise RunError(f"{path}: cannot be a run directory ({exc.strerror})") from exc
        except OSError as exc:  # a full disk, a read-only home: a failure, not bad input
            raise naming(exc, path) from exc
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

    @property
    def snapshot_dir(self) -> Path:
        return self.path / self.SNAPSHOTS

    # settings / facts / summary -------------------------------------------------------------
    def write_config(self, settings: dict[str, Any]) -> None:
        atomic_write_json(self.path / self.CONFIG, settings)

    def settings(self) -> dict[str, Any]:
        """The training settings (without the facts older runs mixed in)."""
        config = _read_json_or_error(self.path / self.CONFIG)
        return {k: v for k, v in config.items() if k not in LEGACY_FACT_KEYS}

    def write_facts(self, facts: dict[str, Any]) -> None:
        atomic_write_json(self.path / self.FACTS, facts)

    def facts(self) -> dict[str, Any]:
        """Facts about the run: ``facts.json``, or for an older run the fact keys it kept in
        ``config.json``."""
        path = self.path / self.FACTS
        if path.is_file():
            return _read_json_or_error(path)
        config = _read_json_or_error(self.path / self.CONFIG)
        return {k: v for k, v in config.items() if k in LEGACY_FACT_KEYS}

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

    def record_failure(self, exc: BaseException, previous: dict[str, Any] | None) -> None:
        """Mark the run failed; a resumption that never started puts back the status it had
        (`previous`: its first cause), noting why it could not resume. Best effort: on a full
        disk this write fails too, and must not hide the cause (the run then reads as
        interrupted, and resumes)."""
        cause = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(OSError):
            if previous and previous.get("state") in STATES:
                self.set_status(previous["state"], str(previous.get("reason", "")),
                                resume_error=cause)  # fmt: skip
            else:
                self.set_status("failed", cause)

    def status(self) -> dict[str, Any]:
        path = self.path / self.STATUS
        if not path.is_file():
            return {"state": "unknown", "reason": "no status written"}
        return _read_json_or_error(path)

    # metrics ---------------------------------------------------------------------------------
    def append_metrics(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        path = self.path / self.METRICS
        try:
            with path.open("a") as handle:
                handle.write(line)
                handle.flush()
        except OSError as exc:
            raise naming(exc, path) from exc

    def read_metrics(self) -> list[dict[str, Any]]:
        """All complete metric lines; a line still being written is skipped."""
        return MetricsTail(self).read()

    def rewind_metrics(self, step: int, epochs: int) -> list[dict[str, Any]]:
        """Keep only the history up to a checkpoint (train lines up to `step`, the first
        `epochs` epoch lines) and return it.

        A job killed after its last checkpoint logged steps that its resumption trains again;
        without this the curves would step back and repeat. The log is replaced atomically
        (watchers see a new file and read it again from the start).
        """
        kept = [
            r for r in self.read_metrics()
            if (r.get("kind") == "epoch" and _number(r.get("epoch")) <= epochs)
            or (r.get("kind") != "epoch" and _number(r.get("step")) <= step)
        ]  # fmt: skip
        if (self.path / self.METRICS).exists():
            text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept)
            atomic_write_bytes(self.path / self.METRICS, text.encode())
        return kept

    def remove_temp_files(self) -> list[Path]:
        """Delete temp files a killed writer left behind (e.g. a half-written checkpoint).

        Only safe while nobody writes this run: call it holding the training slot.
        """
        removed = [p for p in self.path.iterdir() if is_temp_file(p)] if self.path.is_dir() else []
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

    # stopping --------------------------------------------------------------------------------
    def request_stop(self) -> None:
        (self.path / self.STOP).touch()

    def stop_requested(self) -> bool:
        return (self.path / self.STOP).exists()


class MetricsTail:
    """Reads a run's ``metrics.jsonl`` incrementally: each `read` parses only the lines added
    since the last one, so a live panel polling every second does not re-read the whole log.

    A line still being written (no newline yet) is left for the next read; a malformed
    complete line is skipped. A log replaced by `RunDir.rewind_metrics` (a new file) is read
    again from its start.
    """

    def __init__(self, run: RunDir):
        self.path = run.path / RunDir.METRICS
        self.records: list[dict[str, Any]] = []
        self._offset = 0
        self._inode: int | None = None

    def read(self) -> list[dict[str, Any]]:
        """Every complete record so far (the same list object, grown in place)."""
        try:
            with self.path.open("rb") as handle:
                inode = os.fstat(handle.fileno()).st_ino
                if inode != self._inode or handle.seek(0, os.SEEK_END) < self._offset:
                    self.records, self._offset, self._inode = [], 0, inode  # replaced: again
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return self.records
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.splitlines():
            try:
                self.records.append(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
        return self.records


def _number(value: Any) -> float:
    """A metric line's step or epoch; a line without a usable one sorts last (dropped)."""
    return float(value) if isinstance(value, int | float) else float("inf")


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
