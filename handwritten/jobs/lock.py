"""The machine's training slot: one job at a time, held through an exclusive ``flock``.

A training process holds an exclusive ``flock`` on ``$HANDWRITTEN_HOME/training.lock`` for its
whole life. The launcher takes the lock *before* starting the process and hands the locked
descriptor to it, so two Start clicks (two tabs, two users, the CLI) can never start two jobs,
and the lock goes away by itself when the process dies however it dies. The lock file's content
names the run holding it, so a refused start can say which job is in the way.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handwritten.storage.paths import home_dir


class JobRunningError(RuntimeError):
    """Another training job holds the machine; the message names it."""

    def __init__(self, holder: dict[str, Any]):
        self.holder = holder
        where = holder.get("run_dir") or "unknown run"
        pid = holder.get("pid")
        super().__init__(
            f"a training job is already running ({where}{f', pid {pid}' if pid else ''}); "
            "stop it or wait for it to finish"
        )


def lock_path() -> Path:
    return home_dir() / "training.lock"


@dataclass
class TrainingLock:
    """An exclusive lock on the machine's training slot, held through an open descriptor."""

    fd: int

    @classmethod
    def acquire(cls, attempts: int = 5) -> TrainingLock:
        """Take the lock or raise `JobRunningError` naming the job that holds it."""
        path = lock_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        for attempt in range(attempts):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return cls(fd)
            except BlockingIOError:
                if attempt == attempts - 1:
                    os.close(fd)
                    raise JobRunningError(_read_holder(path)) from None
                time.sleep(0.02)  # a reader may hold a shared lock for an instant
        raise AssertionError("unreachable")

    @classmethod
    def adopt(cls, fd: int) -> TrainingLock:
        """Take over a descriptor inherited from the launcher (already locked)."""
        os.fstat(fd)  # fails loudly if the descriptor was not passed
        return cls(fd)

    def describe(self, **holder: Any) -> None:
        data = json.dumps(holder).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _read_holder(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def current_job() -> dict[str, Any] | None:
    """The running job's description (``run_dir``, ``pid``), or None when the slot is free."""
    path = lock_path()
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(path)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
