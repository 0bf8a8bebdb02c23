"""Training as a job in its own process, one at a time per machine.

A job is ``python -m handwritten train ... --run-dir DIR --json``; its output goes to
``DIR/job.log``. JAX and ``fork()`` do not mix and a page must never block, so jobs are separate
processes that anyone can watch through the run directory and stop with `stop` (a STOP file,
honoured between steps) or SIGTERM.

One job at a time (`handwritten.jobs.lock`): the launcher takes the machine's training slot
*before* starting the process and hands the locked descriptor to it. A run whose status still
says "running" while nobody holds the lock for it was interrupted (killed, machine restarted)
and can be resumed from its last checkpoint.

A job never fails silently: before starting the process the launcher writes the run's settings
and a "running" status marked ``starting``, which the job replaces once it trains. A job that
dies before that (no MNIST, a bad setting, an import error) leaves the mark with nobody holding
the slot: such a run reads as "failed", with the error line from its ``job.log`` as the reason,
so it shows in the live panel and stays in the history.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from handwritten.jobs.lock import JobRunningError, TrainingLock, current_job
from handwritten.storage.runs import RunDir, RunError
from handwritten.training.config import FinetuneConfig, TrainConfig

__all__ = [  # JobRunningError: what `launch` raises, so its callers catch it from here
    "RESUMABLE_STATES", "STARTING", "JobRunningError", "launch", "launch_finetune",
    "open_for_resume", "resumable", "resume", "run_state", "run_status", "stop",
]  # fmt: skip


# A run in these can go on from its last checkpoint: one that failed (a full disk, say) after
# writing one too. A diverged run would diverge again with the same settings.
RESUMABLE_STATES = ("stopped", "interrupted", "failed")
STARTING = "starting"  # the status reason a launcher writes before its job has begun
NO_MESSAGE = "the job ended before it began training, without a message (see its job.log)"


def run_status(run: RunDir) -> tuple[str, str]:
    """The run's state and its reason: "interrupted" for a run that says running but has no
    process, "failed" (with the job's error line) for one whose job died before it began."""
    status = run.status()
    state, reason = str(status.get("state", "unknown")), str(status.get("reason", ""))
    if state != "running":
        return state, reason
    job = current_job()
    if job is not None and Path(str(job.get("run_dir"))) == run.path:
        return "running", reason
    if status.get(STARTING):
        return "failed", failure_reason(run)
    return "interrupted", reason


def run_state(run: RunDir) -> str:
    """The run's state (see `run_status`)."""
    return run_status(run)[0]


def failure_reason(run: RunDir) -> str:
    """Why a job died before training: the error line the CLI printed ("handwritten train:
    …", without that prefix), else the log's last line (a traceback's exception)."""
    try:
        text = (run.path / RunDir.JOB_LOG).read_text(errors="replace")
    except OSError:
        text = ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("handwritten ") and ": " in line]
    if errors:
        return errors[-1].split(": ", 1)[1]
    return lines[-1] if lines else NO_MESSAGE


def resumable(run: RunDir) -> bool:
    """Whether `resume` continues `run`: stopped, interrupted or failed (a full disk, a job that
    died before it began, a resume of one) with a checkpoint to go on from."""
    return run_state(run) in RESUMABLE_STATES and run.checkpoint_path.is_file()


def _start(
    command: list[str], run: RunDir, lock: TrainingLock, mark: dict[str, Any]
) -> subprocess.Popen[bytes]:
    """Run ``python -m handwritten COMMAND`` for `run`, handing it the locked descriptor; the
    run is marked as starting first (with `mark` in its status), so a job that dies before it
    begins reads as failed (see `run_status`)."""
    lock.describe(run_dir=str(run.path), pid=None, started=time.time())
    run.set_status("running", STARTING, **{STARTING: True} | mark)
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
            mark = {"resuming": True}  # a resume that dies before it begins may be retried
        else:
            run = RunDir.create(config.arch, path=run_dir)
            run.write_config(config.to_dict())  # the job opens it (`--lock-fd`) and rewrites it
            mark = {}
        command = ["train", "--config-json", json.dumps(config.to_dict())]
        process = _start([*command, "--resume"] if resume else command, run, lock, mark)
    finally:
        lock.release()  # the child keeps its inherited copy of the lock
    return process, run


def launch_finetune(
    base: str = "default", epochs: int | None = None, run_dir: Path | None = None
) -> tuple[subprocess.Popen[bytes], RunDir]:
    """Start fine-tuning on the personal samples as a job (see `handwritten.training.finetune`)."""
    lock = TrainingLock.acquire()
    try:
        run = RunDir.create("finetune", path=run_dir)
        epochs = FinetuneConfig().epochs if epochs is None else epochs
        run.write_config({})  # the job writes the settings it derives from the base model
        run.write_facts({"finetune": {"base": base, "epochs": epochs}})
        command = ["finetune", "--base", base, "--epochs", str(epochs)]
        process = _start(command, run, lock, {})
    finally:
        lock.release()
    return process, run


def resume(run_dir: Path) -> tuple[subprocess.Popen[bytes], RunDir]:
    """Continue a stopped or interrupted run from its last checkpoint, same settings."""
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
