"""Run monitoring: progress of a live run, the compiling state, ETA, deletion guards."""

from __future__ import annotations

import pytest

from handwritten.jobs.launcher import TrainingLock
from handwritten.jobs.monitor import delete_run, history, live_run, progress
from handwritten.storage.paths import runs_dir
from handwritten.storage.runs import RunDir, RunError


def running_run() -> tuple[RunDir, TrainingLock]:
    run = RunDir.create("cnn", root=runs_dir())
    run.write_config({"arch": "cnn", "epochs": 2, "batch_size": 100})
    run.set_status("running", device="cpu (1 device, 2 cores)", total_steps=200)
    lock = TrainingLock.acquire()
    lock.describe(run_dir=str(run.path), pid=1)
    return run, lock


def test_a_started_run_without_steps_is_compiling() -> None:
    run, lock = running_run()
    try:
        assert live_run() == run
        info = progress(run)
        assert info.state == "running" and info.compiling and info.fraction == 0
        assert info.device.startswith("cpu") and info.eta_seconds is None
    finally:
        lock.release()


def test_progress_fraction_eta_and_latest_figures() -> None:
    run, lock = running_run()
    try:
        run.append_metrics({"kind": "train", "step": 50, "epoch": 0.5, "loss": 0.7,
                            "accuracy": 0.8, "images_per_second": 1000.0, "elapsed": 6.0,
                            "total_steps": 200})  # fmt: skip
        info = progress(run)
        assert info.fraction == 0.25 and info.step == 50 and info.epochs == 2
        assert info.eta_seconds == pytest.approx(150 * 100 / 1000.0)
        assert info.loss == 0.7 and info.elapsed == 6.0 and not info.compiling
        with pytest.raises(RunError, match="still training"):
            delete_run(run)
    finally:
        lock.release()
    assert progress(run).state == "interrupted"
    assert history()[0]["status"] == "interrupted"


def test_delete_refuses_folders_outside_the_runs_dir(tmp_path) -> None:
    outside = RunDir.create("mlp", path=tmp_path / "elsewhere")
    outside.write_config({"arch": "mlp"})
    with pytest.raises(RunError, match="refusing"):
        delete_run(outside)
    assert outside.path.exists()
