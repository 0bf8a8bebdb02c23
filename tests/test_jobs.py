"""Training jobs in their own process: stream, stop, diverge, one at a time, interrupt, resume."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from pathlib import Path

import pytest

from handwritten.cli import main
from handwritten.jobs.launcher import (
    JobRunningError,
    TrainingLock,
    current_job,
    launch,
    resume,
    run_state,
    stop,
)
from handwritten.storage.runs import RunDir, RunError
from handwritten.training.config import TrainConfig

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


def test_killed_job_is_interrupted_and_resumes(synthetic_mnist: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(CONFIG, epochs=6)
    process, run = launch(config, tmp_path / "run")
    wait_for(lambda: epochs_done(run) >= 2)
    os.kill(process.pid, signal.SIGKILL)  # like a machine restart: no chance to clean up
    process.wait(timeout=30)
    assert run.status()["state"] == "running"
    assert run_state(run) == "interrupted"
    assert current_job() is None

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
