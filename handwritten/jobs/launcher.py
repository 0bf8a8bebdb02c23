"""Training as a job in its own process, one at a time per machine.

A job is ``python -m handwritten train ... --run-dir DIR --json``; its output goes to
``DIR/job.log``. JAX and ``fork()`` do not mix and a page must never block, so jobs are separate
processes that anyone can watch through the run directory and stop with `stop` (a STOP file,
honoured between steps) or SIGTERM.

One job at a time (`handwritten.jobs.lock`): the launcher takes the machine's training slot
*before* starting the process and hands the locked descriptor to it. A run whose status still
says "running" while nobody holds the lock for it was interrupted (killed, machine restarted)
and can be resumed from its last checkpoint.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from handwritten.jobs.lock import JobRunningError, TrainingLock, current_job
from handwritten.storage.runs import RunDir, RunError
from handwritten.training.config import TrainConfig

__all__ = [  # JobRunningError: what `launch` raises, so its callers catch it from here
    "RESUMABLE_STATES", "JobRunningError", "launch", "launch_finetune", "open_for_resume",
    "resume", "run_state", "stop",
]  # fmt: skip


# A run in these can go on from its last checkpoint: one that failed (a full disk, say) after
# writing one too. A diverged run would diverge again with the same settings.
RESUMABLE_STATES = ("stopped", "interrupted", "failed")


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
            run = open_for_resume(run_dir)
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
    """Continue a stopped, interrupted or failed run from its last checkpoint, same settings."""
    run = RunDir.open(run_dir)
    if "finetune" in run.facts():
        raise RunError(f"{run.id} is a fine-tuning run; start a new one instead of resuming")
    state = run_state(run)
    if state not in RESUMABLE_STATES:
        raise RunError(f"{run.path}: is {state}; only stopped, interrupted or failed runs resume")
    if not run.checkpoint_path.is_file():
        raise RunError(f"{run.path}: no checkpoint to resume from")
    config = TrainConfig.settings_of(run.settings())
    return launch(config, run.path, resume=True)


def open_for_resume(run_dir: Path | None) -> RunDir:
    """The run to continue, with any earlier stop request withdrawn (else it stops at once)."""
    if run_dir is None:
        raise RunError("resuming needs the run directory (--run-dir)")
    run = RunDir.open(run_dir)
    if not run.checkpoint_path.is_file():  # refused before the run's status is touched
        raise RunError(f"{run.path}: no checkpoint to resume from")
    run.path.joinpath(RunDir.STOP).unlink(missing_ok=True)
    return run


def stop(run: RunDir) -> None:
    """Ask a run to stop; the job checks for the request between steps (files work across
    processes, and a signal could kill a job still importing JAX before its handler exists)."""
    run.request_stop()
