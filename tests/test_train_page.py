"""AppTest for the Train page: form validation, the guard, the history table and its buttons
(promote, delete), the live panel's cadence and its incremental reading of the metrics log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flax import nnx
from streamlit.testing.v1 import AppTest

from handwritten.jobs.history import delete_run, history
from handwritten.jobs.launcher import STARTING
from handwritten.jobs.lock import TrainingLock
from handwritten.models.architectures import create_model
from handwritten.models.checkpoint import save_checkpoint
from handwritten.models.store import checkpoint_for, promote
from handwritten.storage.paths import runs_dir
from handwritten.storage.runs import RunDir
from handwritten.training.config import DEMO_PRESET, DEMO_SECONDS, PRESETS, TrainConfig
from handwritten.ui import history_view, state
from handwritten.ui import training as panels

from .test_app import open_page


def train_page() -> AppTest:
    return open_page("pages/train.py")


def finished_run(accuracy: float = 0.93, arch: str = "mlp") -> RunDir:
    run = RunDir.create(arch, root=runs_dir())
    run.write_config({"arch": arch, "epochs": 1, "batch_size": 32, "lr": 0.01,
                      "optimizer": "adam", "augment": False, "n_train": 512})  # fmt: skip
    run.append_metrics({"kind": "train", "step": 4, "epoch": 1.0, "loss": 0.5, "accuracy": 0.9,
                        "images_per_second": 100.0, "elapsed": 1.0, "total_steps": 4})  # fmt: skip
    run.append_metrics({"kind": "epoch", "epoch": 1, "step": 4, "test_accuracy": accuracy})
    run.write_summary({"test_accuracy": accuracy, "duration_seconds": 2.0,
                       "train_images_per_second": 100.0})  # fmt: skip
    run.set_status("finished")
    _, params, batch_stats = nnx.split(create_model(arch), nnx.Param, ...)
    save_checkpoint(run.checkpoint_path, arch=arch, params=params, batch_stats=batch_stats)
    return run


def start(at: AppTest) -> None:
    next(b for b in at.get("form_submit_button") if b.label == "Start training").click().run()


def test_invalid_settings_are_refused_with_a_message(synthetic_mnist: Path) -> None:
    at = train_page()
    learning_rate = next(n for n in at.number_input if n.label == "Learning rate")
    learning_rate.set_value(0.0)
    start(at)
    assert any("learning rate must be a positive number" in e.value for e in at.error)
    assert history() == [], "nothing was started"


def test_a_second_start_names_the_running_job(synthetic_mnist: Path) -> None:
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
    run = finished_run()
    promote(run.path)
    assert checkpoint_for("default") == run.checkpoint_path
    delete_run(run)
    assert not run.path.exists()
    assert checkpoint_for("default").name == "checkpoint.msgpack"
    assert "default_model" in str(checkpoint_for("default"))


def select_runs(at: AppTest, *rows: int) -> None:
    """Select history rows as a click on the table would (AppTest writes selection state)."""
    selection = {"rows": list(rows), "columns": [], "cells": []}
    at.session_state[state.HISTORY] = {"selection": selection}
    at.run()
    assert not at.exception, at.exception


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def sidebar_model(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


def test_use_this_model_promotes_the_selected_run() -> None:
    older, newer = finished_run(0.91), finished_run(0.97)
    at = train_page()
    assert list(at.dataframe[0].value["run"]) == [newer.id, older.id]
    select_runs(at, 1)
    assert not button(at, "Use this model").disabled
    button(at, "Use this model").click().run()
    assert not at.exception, at.exception
    assert checkpoint_for("default") == older.checkpoint_path
    table = at.dataframe[0].value
    active = dict(zip(table["run"], table["active"], strict=True))
    assert active == {newer.id: False, older.id: True}
    assert older.id in sidebar_model(at), "the sidebar names the new active model"
    assert any("91.00%" in str(m.value) for m in at.sidebar.metric)


def test_the_buttons_follow_the_selected_runs_states() -> None:
    diverged, stopped = finished_run(), finished_run()
    diverged.set_status("diverged", "loss became NaN or infinite at step 3")
    stopped.set_status("stopped", "stop requested")
    at = train_page()
    order = list(at.dataframe[0].value["run"])
    select_runs(at, order.index(diverged.id))
    assert button(at, "Use this model").disabled and button(at, "Resume").disabled
    select_runs(at, order.index(stopped.id))
    assert not button(at, "Use this model").disabled and not button(at, "Resume").disabled
    select_runs(at, 0, 1)
    assert button(at, "Use this model").disabled and button(at, "Resume").disabled


def test_yes_delete_removes_the_selected_runs_and_forgets_the_active_model() -> None:
    kept, active, other = finished_run(), finished_run(), finished_run()
    promote(active.path)
    at = train_page()
    order = list(at.dataframe[0].value["run"])
    select_runs(at, order.index(active.id), order.index(other.id))
    assert [p.proto.popover.label for p in at.get("popover")] == ["Delete 2 run(s)…"]
    button(at, "Yes, delete").click().run()
    assert not at.exception, at.exception
    assert not active.path.exists() and not other.path.exists() and kept.path.exists()
    assert "default_model" in str(checkpoint_for("default")), "back to the shipped model"
    assert list(at.dataframe[0].value["run"]) == [kept.id]


def test_the_live_panel_polls_fast_only_while_a_job_trains(monkeypatch: pytest.MonkeyPatch) -> None:
    cadences: list[bool] = []  # `training` of each poll: True for the 1 s fragment
    poll = panels._live_run_panel

    def recording_poll(training: bool, refused: str | None = None) -> None:
        cadences.append(training)
        poll(training, refused)

    monkeypatch.setattr(panels, "_live_run_panel", recording_poll)
    at = train_page()
    assert cadences[-1] is False and any("No training is running" in c.value for c in at.caption)
    run = RunDir.create("cnn", root=runs_dir())
    run.write_config({"arch": "cnn", "epochs": 2, "batch_size": 100})
    run.set_status("running", total_steps=200)
    lock = TrainingLock.acquire()
    lock.describe(run_dir=str(run.path), pid=1)
    try:
        at.run()
        assert cadences[-1] is True and any("status: running" in m.value for m in at.markdown)
        assert button(at, "Stop training")
    finally:
        lock.release()
    at.run()  # the job is gone; this session started nothing, so nothing is watched
    assert cadences[-1] is False and any("No training is running" in c.value for c in at.caption)


def test_the_live_panel_parses_only_new_metric_lines_between_polls() -> None:
    run = finished_run()
    at = train_page()
    at.session_state[state.LAST_RUN] = str(run.path)
    at.run()
    tail = at.session_state[state.METRIC_TAILS][str(run.path)]
    assert [r["kind"] for r in tail.records] == ["train", "epoch"]
    # Overwrite what was read with same-length junk: only a re-read of the old lines would see it.
    metrics = run.path / RunDir.METRICS
    metrics.write_bytes(b"x" * (metrics.stat().st_size - 1) + b"\n")
    run.append_metrics({"kind": "train", "step": 8, "epoch": 2.0, "loss": 0.25, "accuracy": 0.95,
                        "images_per_second": 100.0, "elapsed": 2.0, "total_steps": 8})  # fmt: skip
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[state.METRIC_TAILS][str(run.path)] is tail, "kept across reruns"
    assert [r.get("step") for r in tail.records] == [4, 4, 8]
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith("-live_curves")]
    loss = json.loads(chart.proto.spec)["data"][0]
    assert loss["y"] == [0.5, 0.25], "the chart has the old points and the new one"


def test_download_onnx_offers_the_selected_runs_model() -> None:
    import numpy as np
    import onnxruntime

    from handwritten.models.inference import infer_model
    from handwritten.models.store import load_model

    run = finished_run()
    at = train_page()
    assert not at.get("download_button"), "nothing selected yet"
    select_runs(at, 0)
    (download,) = at.get("download_button")
    assert download.proto.label == "Download ONNX" and not download.proto.disabled
    # What a click gets:
    session = onnxruntime.InferenceSession(history_view._onnx_of(str(run.path)))
    images = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    restored, _ = load_model(run.path)
    np.testing.assert_allclose(
        session.run(None, {"images": images[..., None]})[0],
        infer_model(restored.model, images, output="probabilities"),
        atol=1e-4,
    )


def test_history_shows_a_custom_networks_layers() -> None:
    run = finished_run()
    run.write_config(run.settings() | {"arch": "custom", "layers": "dense8,relu"})
    at = train_page()
    select_runs(at, 0)
    details = dict(at.dataframe[1].value.itertuples(index=False))
    assert details["layers"] == "dense8,relu" and details["architecture"] == "custom"


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


def test_the_history_table_fits_and_one_run_has_a_detail_view() -> None:
    run = finished_run(0.93)
    at = train_page()
    assert list(at.dataframe[0].value.columns) == [
        "run", "status", "test accuracy", "duration (s)", "active",
    ]  # fmt: skip
    select_runs(at, 0)
    details = dict(at.dataframe[1].value.itertuples(index=False))
    assert details["architecture"] == "mlp" and details["batch size"] == "32"
    assert details["folder"] == str(run.path)


def test_the_quick_demo_run_trains_the_demo_preset(
    synthetic_mnist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[TrainConfig] = []

    def fake_launch(config: TrainConfig) -> tuple[None, RunDir]:
        started.append(config)
        run = RunDir.create(config.arch, root=runs_dir())
        run.write_config(config.to_dict())
        return None, run

    monkeypatch.setattr(panels.jobs, "launch", fake_launch)
    at = train_page()
    expected = f"fast CNN on 60,000 images for 1 epoch, to 99% on MNIST test: about {DEMO_SECONDS}"
    assert any(expected in c.value for c in at.caption)
    button(at, "Quick demo run").click().run()
    assert not at.exception, at.exception
    assert started == [PRESETS[DEMO_PRESET]]
    assert at.session_state[state.LAST_RUN] == str(history()[0].path)


def died_at_start(message: str) -> RunDir:
    """A run as the launcher leaves it when its job dies before training (nobody holds the
    slot, the status still carries the starting mark, the job log has the error)."""
    run = RunDir.create("cnn", root=runs_dir())
    run.write_config({"arch": "cnn", "epochs": 1, "batch_size": 128})
    run.set_status("running", STARTING, starting=True)
    (run.path / RunDir.JOB_LOG).write_text(f"handwritten train: {message}\n")
    return run


def test_a_job_that_died_at_start_shows_its_reason_in_the_panel_and_the_history() -> None:
    run = died_at_start("MNIST train images not found in /nowhere")
    at = train_page()
    at.session_state[state.LAST_RUN] = str(run.path)
    at.run()
    assert [e.value for e in at.error] == ["The run failed: MNIST train images not found in "
                                           "/nowhere"]  # fmt: skip
    assert list(at.dataframe[0].value["status"]) == ["failed"]
    select_runs(at, 0)
    details = dict(at.dataframe[1].value.itertuples(index=False))
    assert details["how it ended"] == "MNIST train images not found in /nowhere"


def test_stop_shows_stopping_at_once_and_the_end_shows_the_historys_accuracy() -> None:
    run = RunDir.create("cnn", root=runs_dir())
    run.write_config({"arch": "cnn", "epochs": 2, "batch_size": 100})
    run.set_status("running", total_steps=200)
    run.append_metrics({"kind": "epoch", "epoch": 1, "step": 100, "test_accuracy": 0.91})
    lock = TrainingLock.acquire()
    lock.describe(run_dir=str(run.path), pid=1)
    try:
        at = train_page()
        button(at, "Stop training").click().run()
        assert any(i.value.startswith("Stopping…") for i in at.info)
        assert not [b for b in at.button if b.label == "Stop training"]
        assert run.stop_requested()
    finally:
        lock.release()
    run.write_summary({"test_accuracy": 0.9349})
    run.set_status("stopped", "stop requested")
    at.session_state[state.LAST_RUN] = str(run.path)
    at.run()
    assert [s.value for s in at.success] == ["The run stopped — test accuracy 93.49%."]
    assert float(at.dataframe[0].value["test accuracy"].iloc[0]) == 0.9349


def test_a_run_drawing_its_training_images_shows_how_far_it_got_and_can_be_stopped() -> None:
    run = RunDir.create("cnn_open", root=runs_dir())
    run.write_config({"arch": "cnn_open", "epochs": 10, "batch_size": 128})
    preparing = {"what": "training non-digits", "done": 3000, "total": 12000}
    run.set_status("running", "preparing", preparing=preparing)
    lock = TrainingLock.acquire()
    lock.describe(run_dir=str(run.path), pid=1)
    try:
        at = train_page()
        bars = [bar.proto for bar in at.get("progress")]
        assert bars[0].text.startswith("Drawing 12,000 training non-digits: 3,000 so far")
        assert bars[0].value == 25
        assert len(bars) == 1, "no step bar before the steps begin"
        assert not any(i.value.startswith("Starting:") for i in at.info)
        button(at, "Stop training").click().run()
        assert run.stop_requested()
    finally:
        lock.release()
    run.set_status("stopped", "stop requested while drawing the training non-digits")
    at.session_state[state.LAST_RUN] = str(run.path)
    at.run()
    assert [s.value for s in at.success] == [
        "The run stopped: stop requested while drawing the training non-digits."
    ]
