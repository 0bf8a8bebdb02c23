"""Training jobs in their own process, watched and stopped through the run directory."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from handwritten.jobs import launch
from handwritten.runs import RunDir
from handwritten.train import TrainConfig

CONFIG = TrainConfig(
    arch="mlp", epochs=200, batch_size=32, optimizer="adam", lr=1e-3, schedule="constant",
    label_smoothing=0.0, augment=False, log_every=2,
)  # fmt: skip


def wait_for(predicate, timeout: float = 90.0) -> None:
    """Poll a condition on files another process writes (not a sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the training job"
        time.sleep(0.1)


def test_job_streams_metrics_and_stops_on_request(synthetic_mnist: Path, tmp_path: Path) -> None:
    process, run = launch(CONFIG, tmp_path / "run")
    try:
        wait_for(lambda: len(run.read_metrics()) >= 2)
        assert run.status()["state"] == "running"
        assert run.status()["pid"] == process.pid
        run.request_stop()
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    assert run.status()["state"] == "stopped"
    assert RunDir.open(run.path).checkpoint_path.is_file()


def test_job_runs_to_completion(synthetic_mnist: Path, tmp_path: Path) -> None:
    process, run = launch(dataclasses.replace(CONFIG, epochs=1), tmp_path / "run")
    assert process.wait(timeout=120) == 0, (run.path / "job.log").read_text()
    assert run.status()["state"] == "finished"
    assert run.summary()["test_accuracy"] is not None
