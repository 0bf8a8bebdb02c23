"""Training as a job in its own process, one at a time per machine.

A job is ``python -m handwritten train ... --run-dir DIR --json``; its output goes to
``DIR/job.log``. JAX and ``fork()`` do not mix and a page must never block, so jobs are separate
processes that anyone can watch through the run directory and stop with `stop` (a STOP file,
honoured between steps) or SIGTERM.

One job at a time: a training process holds an exclusive ``flock`` on
``$HANDWRITTEN_HOME/training.lock`` for its whole life. The launcher takes the lock *before*
starting the process and hands the locked descriptor to it, so two Start clicks (two tabs, two
users, the CLI) can never start two jobs, and the lock goes away by itself when the process dies
however it dies. A run whose status still says "running" while nobody holds the lock for it was
interrupted (killed, machine restarted) and can be resumed from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handwritten.storage.paths import home_dir
from handwritten.storage.runs import RunDir, RunError
from handwritten.training.config import TrainConfig


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


def run_state(run: RunDir) -> str:
    """The run's state, with "interrupted" for a run that says running but has no process."""
    state = str(run.status().get("state", "unknown"))
    if state != "running":
        return state
    job = current_job()
    if job is not None and Path(str(job.get("run_dir"))) == run.path:
        return "running"
    return "interrupted"


def _start(command: list[str], run: RunDir, lock: TrainingLock) -> subprocess.Popen[bytes]:
    """Run ``python -m handwritten COMMAND`` for `run`, handing it the locked descriptor."""
    lock.describe(run_dir=str(run.path), pid=None, started=time.time())
    with (run.path / RunDir.JOB_LOG).open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "handwritten", *command, "--run-dir", str(run.path),
             "--json", "--quiet", "--lock-fd", str(lock.fd)],
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(lock.fd,),
            start_new_session=True,  # closing the tab or the server does not kill it
        )  # fmt: skip
    lock.describe(run_dir=str(run.path), pid=process.pid, started=time.time())
    return process


def launch(
    config: TrainConfig, run_dir: Path | None = None, *, resume: bool = False
) -> tuple[subprocess.Popen[bytes], RunDir]:
    """Start a training job (or resume a stopped/interrupted run) in its own process.

    Raises `JobRunningError` when another job holds the machine.
    """
    config.validate()
    lock = TrainingLock.acquire()
    try:
        if resume:
            if run_dir is None:
                raise RunError("resume needs the run directory")
            run = RunDir.open(run_dir)
            run.path.joinpath(RunDir.STOP).unlink(missing_ok=True)
        else:
            run = RunDir.create(config.arch, path=run_dir)
        command = ["train", "--config-json", json.dumps(config.to_dict())]
        process = _start([*command, "--resume"] if resume else command, run, lock)
    finally:
        lock.release()  # the child keeps its inherited copy of the lock
    return process, run


def launch_finetune(
    base: str = "default", epochs: int = 3, run_dir: Path | None = None
) -> tuple[subprocess.Popen[bytes], RunDir]:
    """Start fine-tuning on the personal samples as a job (see `handwritten.training.finetune`)."""
    lock = TrainingLock.acquire()
    try:
        run = RunDir.create("finetune", path=run_dir)
        process = _start(["finetune", "--base", base, "--epochs", str(epochs)], run, lock)
    finally:
        lock.release()
    return process, run


def resume(run_dir: Path) -> tuple[subprocess.Popen[bytes], RunDir]:
    """Continue a stopped or interrupted run from its last checkpoint, same settings."""
    run = RunDir.open(run_dir)
    if "finetune" in run.facts():
        raise RunError(f"{run.id} is a fine-tuning run; start a new one instead of resuming")
    state = run_state(run)
    if state in ("running", "finished"):
        raise RunError(f"{run.path}: is {state}; only stopped or interrupted runs resume")
    if not run.checkpoint_path.is_file():
        raise RunError(f"{run.path}: no checkpoint to resume from")
    config = TrainConfig.settings_of(run.settings())
    return launch(config, run.path, resume=True)


def stop(run: RunDir) -> None:
    """Ask a run to stop; the job checks for the request between steps (files work across
    processes, and a signal could kill a job still importing JAX before its handler exists)."""
    run.request_stop()
