"""AppTest for the Train page: form validation, the guard, the history table, promotion."""

from __future__ import annotations

import pytest
from flax import nnx
from streamlit.testing.v1 import AppTest

from handwritten.jobs.launcher import TrainingLock
from handwritten.jobs.monitor import delete_run, history
from handwritten.models.architectures import create_model
from handwritten.models.checkpoint import save_checkpoint
from handwritten.models.store import checkpoint_for
from handwritten.storage.paths import runs_dir
from handwritten.storage.runs import RunDir
from handwritten.ui import state

from .test_app import open_page


def train_page() -> AppTest:
    return open_page("pages/train.py")


def finished_run(accuracy: float = 0.93) -> RunDir:
    run = RunDir.create("mlp", root=runs_dir())
    run.write_config({"arch": "mlp", "epochs": 1, "batch_size": 32, "lr": 0.01,
                      "optimizer": "adam", "augment": False, "n_train": 512})  # fmt: skip
    run.append_metrics({"kind": "train", "step": 4, "epoch": 1.0, "loss": 0.5, "accuracy": 0.9,
                        "images_per_second": 100.0, "elapsed": 1.0, "total_steps": 4})  # fmt: skip
    run.append_metrics({"kind": "epoch", "epoch": 1, "step": 4, "test_accuracy": accuracy})
    run.write_summary({"test_accuracy": accuracy, "duration_seconds": 2.0,
                       "train_images_per_second": 100.0})  # fmt: skip
    run.set_status("finished")
    _, params, batch_stats = nnx.split(create_model("mlp"), nnx.Param, ...)
    save_checkpoint(run.checkpoint_path, arch="mlp", params=params, batch_stats=batch_stats)
    return run


def start(at: AppTest) -> None:
    next(b for b in at.get("form_submit_button") if b.label == "Start training").click().run()


def test_invalid_settings_are_refused_with_a_message() -> None:
    at = train_page()
    learning_rate = next(n for n in at.number_input if n.label == "Learning rate")
    learning_rate.set_value(0.0)
    start(at)
    assert any("learning rate must be a positive number" in e.value for e in at.error)
    assert history() == [], "nothing was started"


def test_a_second_start_names_the_running_job() -> None:
    lock = TrainingLock.acquire()
    lock.describe(run_dir="/runs/busy-run", pid=12345)
    try:
        at = train_page()
        start(at)
        assert any("already running (/runs/busy-run, pid 12345)" in e.value for e in at.error)
    finally:
        lock.release()


def test_history_lists_runs_and_shows_an_interrupted_one() -> None:
    done = finished_run()
    crashed = RunDir.create("cnn", root=runs_dir())
    crashed.write_config({"arch": "cnn", "epochs": 3})
    crashed.set_status("running")  # no process holds the lock: it was interrupted
    at = train_page()
    table = at.dataframe[0].value
    statuses = dict(zip(table["run"], table["status"], strict=True))
    assert statuses == {done.id: "finished", crashed.id: "interrupted"}
    assert float(table.loc[table["run"] == done.id, "test accuracy"].iloc[0]) == 0.93


def test_promote_and_delete_through_the_library() -> None:
    from handwritten.models.store import promote

    run = finished_run()
    promote(run.path)
    assert checkpoint_for("default") == run.checkpoint_path
    delete_run(run)
    assert not run.path.exists()
    assert checkpoint_for("default").name == "checkpoint.msgpack"
    assert "default_model" in str(checkpoint_for("default"))


@pytest.mark.parametrize(
    ("status", "resumable"),
    [("failed", True), ("stopped", True), ("diverged", False), ("finished", False)],
)
def test_resume_is_offered_for_a_run_that_failed_after_a_checkpoint(
    status: str, resumable: bool
) -> None:
    """A full disk after a valid checkpoint leaves a failed run: the dashboard resumes it."""
    run = finished_run()
    run.set_status(status, "OSError: [Errno 28] No space left on device")
    at = train_page()
    at.session_state[state.HISTORY] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    resume = next(b for b in at.button if b.label == "Resume")
    assert resume.disabled is not resumable
