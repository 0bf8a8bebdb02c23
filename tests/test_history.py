"""The run history as data (`RunRow`) and the guards on deleting a run."""

from __future__ import annotations

import pytest
from flax import nnx

from handwritten.jobs.history import RunRow, delete_run, history
from handwritten.models.architectures import create_model
from handwritten.models.checkpoint import save_checkpoint
from handwritten.models.store import checkpoint_for, promote
from handwritten.storage.paths import runs_dir
from handwritten.storage.runs import RunDir, RunError

from .test_progress import running_run


def test_a_running_run_cannot_be_deleted_and_reads_interrupted_once_its_job_is_gone() -> None:
    run, lock = running_run()
    try:
        with pytest.raises(RunError, match="still training"):
            delete_run(run)
        assert history()[0].state == "running"
    finally:
        lock.release()
    assert history()[0].state == "interrupted"
    assert run.path.exists()


def test_delete_refuses_folders_outside_the_runs_dir(tmp_path) -> None:
    outside = RunDir.create("mlp", path=tmp_path / "elsewhere")
    outside.write_config({"arch": "mlp"})
    with pytest.raises(RunError, match="refusing"):
        delete_run(outside)
    assert outside.path.exists()


def test_rows_hold_settings_facts_results_and_the_active_flag() -> None:
    run = RunDir.create("mlp", root=runs_dir())
    run.write_config({"arch": "mlp", "epochs": 1, "batch_size": 32, "lr": 0.01,
                      "optimizer": "adam", "augment": False})  # fmt: skip
    run.write_facts({"n_train": 512})
    run.write_summary({"test_accuracy": 0.93, "duration_seconds": 2.0,
                       "train_images_per_second": 100.0})  # fmt: skip
    run.set_status("finished")
    _, params, batch_stats = nnx.split(create_model("mlp"), nnx.Param, ...)
    save_checkpoint(run.checkpoint_path, arch="mlp", params=params, batch_stats=batch_stats)
    broken = RunDir.create("cnn", root=runs_dir())
    (broken.path / RunDir.CONFIG).write_text("{not json")
    expected = RunRow(
        run_id=run.id, arch="mlp", layers=None, epochs=1, batch_size=32, lr=0.01, optimizer="adam",
        augment=False, n_train=512, state="finished", reason="", resumable=False,
        test_accuracy=0.93, duration_seconds=2.0, images_per_second=100.0, active=False,
        path=run.path,
    )  # fmt: skip
    assert history() == [expected], "an unreadable run is left out"
    promote(run.path)
    assert history() == [RunRow(**(expected.__dict__ | {"active": True}))]
    delete_run(run)
    assert history() == [] and "default_model" in str(checkpoint_for("default"))
