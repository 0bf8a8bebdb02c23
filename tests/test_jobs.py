"""Training jobs in their own process: stream, stop, diverge, one at a time, interrupt, resume."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from handwritten.cli import main
from handwritten.jobs.launcher import (
    NO_MESSAGE,
    STARTING,
    failure_reason,
    launch,
    resumable,
    resume,
    run_state,
    run_status,
    stop,
)
from handwritten.jobs.lock import JobRunningError, TrainingLock, current_job
from handwritten.storage.runs import RunDir, RunError
from handwritten.training.config import TrainConfig

from .conftest import REPO

CONFIG = TrainConfig(
    arch="mlp", epochs=400, batch_size=32, optimizer="adam", lr=1e-3, schedule="constant",
    label_smoothing=0.0, augment=False, log_every=2,
)  # fmt: skip


def wait_for(predicate, timeout: float = 90.0) -> None:
    """Poll a condition on files another process writes (not a sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the training job"
        time.sleep(0.05)


def epochs_done(run: RunDir) -> int:
    return sum(1 for r in run.read_metrics() if r["kind"] == "epoch")


# After its first (compiling) epoch the tiny job takes about 16 ms an epoch on a 2-core CPU, so
# a watcher polling every 50 ms can see it go from one epoch done straight to finished (on a
# faster machine, or a slower poll): a kill "once two epochs are done" raced the job's end.
# A job started with FREEZE_AFTER_STEP set stops itself (SIGSTOP) right after writing its first
# train line beyond that step, through this `sitecustomize` (imported by every Python that has
# its folder on PYTHONPATH), so the test kills it at a known point however fast it trains.
FREEZE_AFTER_STEP = "HANDWRITTEN_TEST_FREEZE_AFTER_STEP"
FREEZE_HOOK = f"""
import os
import signal
import sys

if os.environ.get("{FREEZE_AFTER_STEP}"):
    sys.path.insert(0, {str(REPO)!r})  # this checkout's package, not another install of it
    from handwritten.storage.runs import RunDir

    _append = RunDir.append_metrics
    _after = int(os.environ["{FREEZE_AFTER_STEP}"])

    def _append_then_freeze(self, record):
        _append(self, record)
        if record.get("kind") == "train" and record["step"] > _after:
            os.kill(os.getpid(), signal.SIGSTOP)

    RunDir.append_metrics = _append_then_freeze
"""


def freeze_jobs_after_step(step: int, hook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FREEZE_HOOK)
    # The hook imports handwritten while `site` runs, before `-m` puts the working directory on
    # sys.path: with the checkout under test first on PYTHONPATH, that import (and so the whole
    # job) is this checkout's code even when the environment was installed from another one.
    paths = [str(hook), str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv(FREEZE_AFTER_STEP, str(step))


def frozen(process: subprocess.Popen[bytes], run: RunDir) -> bool:
    """Whether the job has stopped itself, as the kernel tells its parent (not reaping it)."""
    pid, status = os.waitpid(process.pid, os.WNOHANG | os.WUNTRACED)
    assert pid == 0 or os.WIFSTOPPED(status), (run.path / "job.log").read_text()
    return pid != 0


def test_job_streams_metrics_and_stops_on_request(synthetic_mnist: Path, tmp_path: Path) -> None:
    process, run = launch(CONFIG, tmp_path / "run")
    try:
        wait_for(lambda: len(run.read_metrics()) >= 2)
        assert run_state(run) == "running"
        assert current_job() == {"run_dir": str(run.path), "pid": process.pid,
                                 "started": current_job()["started"]}  # fmt: skip
        first = len(run.read_metrics())
        wait_for(lambda: len(run.read_metrics()) > first)  # it keeps streaming
        stop(run)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    assert run.status()["state"] == "stopped" == run_state(run)
    assert RunDir.open(run.path).checkpoint_path.is_file()
    assert current_job() is None, "the slot is free once the job ends"


def test_job_runs_to_completion(synthetic_mnist: Path, tmp_path: Path) -> None:
    process, run = launch(dataclasses.replace(CONFIG, epochs=1), tmp_path / "run")
    assert process.wait(timeout=120) == 0, (run.path / "job.log").read_text()
    assert run_state(run) == "finished"
    assert run.summary()["test_accuracy"] is not None


def test_diverging_job_ends_as_diverged(synthetic_mnist: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(CONFIG, optimizer="nesterov", lr=1e12, epochs=3)
    process, run = launch(config, tmp_path / "run")
    process.wait(timeout=120)
    assert run_state(run) == "diverged"
    assert "NaN" in run.status()["reason"]


def test_one_job_at_a_time(synthetic_mnist: Path, tmp_path: Path, capsys) -> None:
    process, run = launch(CONFIG, tmp_path / "first")
    try:
        wait_for(lambda: len(run.read_metrics()) >= 1)
        with pytest.raises(JobRunningError, match=str(run.path)):
            launch(CONFIG, tmp_path / "second")
        assert not (tmp_path / "second").exists(), "a refused start leaves nothing behind"
        # The CLI honours the same guard.
        code = main(["train", "--arch", "mlp", "--epochs", "1", "--run-dir", str(tmp_path / "c")])
        assert code == 2 and "already running" in capsys.readouterr().err
    finally:
        stop(run)
        process.wait(timeout=30)
    process, run = launch(dataclasses.replace(CONFIG, epochs=1), tmp_path / "third")
    assert process.wait(timeout=120) == 0


def test_lock_is_exclusive_within_one_process() -> None:
    held = TrainingLock.acquire()
    held.describe(run_dir="/somewhere", pid=1)
    try:
        with pytest.raises(JobRunningError, match="/somewhere"):
            TrainingLock.acquire(attempts=2)
        assert current_job() == {"run_dir": "/somewhere", "pid": 1}
    finally:
        held.release()
    assert current_job() is None


def test_killed_job_is_interrupted_and_resumes(
    synthetic_mnist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = dataclasses.replace(CONFIG, epochs=6)
    steps_per_epoch = 512 // config.batch_size  # the synthetic set's 512 training images
    freeze_jobs_after_step(2 * steps_per_epoch, tmp_path / "hook", monkeypatch)
    process, run = launch(config, tmp_path / "run")
    wait_for(lambda: frozen(process, run))
    # Frozen at a known point: epoch 2 checkpointed, the first line of epoch 3 written.
    before_kill = run.read_metrics()
    assert before_kill[-1]["kind"] == "train" and before_kill[-1]["step"] == 34  # steps 33-34
    assert run_state(run) == "running" and current_job()["pid"] == process.pid
    os.kill(process.pid, signal.SIGKILL)  # like a machine restart: no chance to clean up
    assert process.wait(timeout=30) == -signal.SIGKILL
    assert run.status()["state"] == "running"
    assert run_state(run) == "interrupted"
    assert current_job() is None
    done = epochs_done(run)
    assert done == 2

    monkeypatch.delenv(FREEZE_AFTER_STEP)  # the resumed job runs to the end
    process, resumed = resume(run.path)
    assert resumed.path == run.path
    assert process.wait(timeout=120) == 0, (run.path / "job.log").read_text()
    assert run_state(run) == "finished"
    summary = run.summary()
    assert summary["epochs_completed"] == 6
    epochs = [r["epoch"] for r in run.read_metrics() if r["kind"] == "epoch"]
    assert epochs == [1, 2, 3, 4, 5, 6], epochs  # the killed epoch's lines were dropped
    steps = [r["step"] for r in run.read_metrics() if r["kind"] == "train"]
    assert steps == sorted(set(steps)), steps  # curves never step back or repeat
    assert len(summary["epoch_test_accuracy"]) == 6
    # Resumed from the epoch-2 checkpoint's weights and optimizer state, the job takes again
    # the two steps the killed one took after it, with the same losses: its lines for steps 33
    # and 34 average to the killed job's line for both. From fresh weights its loss would be
    # back near ln 10 (the first line's); with a fresh Adam state, step 34 would differ.
    again = [r for r in run.read_metrics() if r["kind"] == "train" and r["step"] in (33, 34)]
    assert [r["step"] for r in again] == [33, 34]
    mean_loss = (again[0]["loss"] + again[1]["loss"]) / 2
    np.testing.assert_allclose(mean_loss, before_kill[-1]["loss"], rtol=1e-5)
    assert again[0]["loss"] < before_kill[0]["loss"] / 4


def test_resume_refuses_finished_or_checkpointless_runs(synthetic_mnist: Path, tmp_path) -> None:
    process, run = launch(dataclasses.replace(CONFIG, epochs=1), tmp_path / "run")
    process.wait(timeout=120)
    with pytest.raises(RunError, match="finished"):
        resume(run.path)
    empty = RunDir.create("mlp", path=tmp_path / "empty")
    empty.write_config(CONFIG.to_dict())
    empty.set_status("stopped")
    with pytest.raises(RunError, match="no checkpoint"):
        resume(empty.path)


def test_a_job_that_dies_before_training_is_failed_with_its_reason(tmp_path: Path) -> None:
    """No MNIST on the machine: the job exits at once; the run says why and stays listed."""
    process, run = launch(CONFIG, tmp_path / "run")
    assert process.wait(timeout=120) == 2
    state, reason = run_status(run)
    assert state == "failed"
    assert reason.startswith("MNIST train images not found in ") and "data fetch" in reason
    assert not resumable(run), "nothing to resume: it never began"
    assert run.settings() == CONFIG.to_dict(), "the launcher wrote its settings first"


def test_a_setting_the_job_refuses_fails_the_run_with_the_reason(
    synthetic_mnist: Path, tmp_path: Path
) -> None:
    config = dataclasses.replace(CONFIG, batch_size=4096)  # more than the 512 images
    process, run = launch(config, tmp_path / "run")
    assert process.wait(timeout=120) == 2
    state, reason = run_status(run)
    assert state == "failed" and "batch" in reason, reason


def test_a_run_marked_starting_reads_running_while_its_job_holds_the_slot(tmp_path: Path) -> None:
    run = RunDir.create("mlp", path=tmp_path / "run")
    run.write_config(CONFIG.to_dict())
    run.set_status("running", STARTING, starting=True)
    lock = TrainingLock.acquire()
    lock.describe(run_dir=str(run.path), pid=os.getpid())
    try:
        assert run_status(run) == ("running", STARTING)
    finally:
        lock.release()
    assert run_status(run) == ("failed", NO_MESSAGE)
    run.set_status("running", "")  # the job began, then was killed: interrupted, not failed
    assert run_status(run) == ("interrupted", "")


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        ("handwritten train: MNIST train images not found in /x; run `handwritten data fetch`\n",
         "MNIST train images not found in /x; run `handwritten data fetch`"),
        ("Traceback (most recent call last):\n  File \"x.py\", line 1\n"
         "ModuleNotFoundError: No module named 'jax'\n",
         "ModuleNotFoundError: No module named 'jax'"),
        ("handwritten data: could not fetch a. Tried:\n  url: down\nFix: do this\n",
         "could not fetch a. Tried:"),
        ("", NO_MESSAGE),
    ],
)  # fmt: skip
def test_the_failure_reason_is_the_error_line_of_the_job_log(
    tmp_path: Path, log: str, reason: str
) -> None:
    run = RunDir.create("mlp", path=tmp_path / "run")
    (run.path / RunDir.JOB_LOG).write_text(log)
    assert failure_reason(run) == reason


def test_a_resume_that_died_before_it_began_can_be_resumed_again(tmp_path: Path) -> None:
    run = RunDir.create("mlp", path=tmp_path / "run")
    run.write_config(CONFIG.to_dict())
    run.set_status("running", STARTING, starting=True, resuming=True)
    assert run_state(run) == "failed" and not resumable(run)  # nothing to go on from yet
    run.checkpoint_path.write_bytes(b"the checkpoint the first resume started from")
    assert run_state(run) == "failed" and resumable(run)
