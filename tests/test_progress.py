"""A run's progress: the compiling state, fraction, ETA and latest figures, the live run, and
incremental reading of the metrics log."""

from __future__ import annotations

import pytest

from handwritten.jobs.lock import TrainingLock
from handwritten.jobs.progress import live_run, progress
from handwritten.storage.paths import runs_dir
from handwritten.storage.runs import MetricsTail, RunDir


def running_run() -> tuple[RunDir, TrainingLock]:
    run = RunDir.create("cnn", root=runs_dir())
    run.write_config({"arch": "cnn", "epochs": 2, "batch_size": 100})
    run.set_status("running", device="cpu (1 device, 2 cores)", total_steps=200)
    lock = TrainingLock.acquire()
    lock.describe(run_dir=str(run.path), pid=1)
    return run, lock


def train_line(step: int) -> dict[str, float | int | str]:
    return {"kind": "train", "step": step, "epoch": step / 100, "loss": 0.7, "accuracy": 0.8,
            "images_per_second": 1000.0, "elapsed": step * 0.12, "total_steps": 200}  # fmt: skip


def test_a_started_run_without_steps_is_compiling() -> None:
    run, lock = running_run()
    try:
        assert live_run() == run
        info = progress(run)
        assert info.state == "running" and info.compiling and info.fraction == 0
        assert info.device.startswith("cpu") and info.eta_seconds is None
    finally:
        lock.release()


def test_a_run_drawing_a_bank_shows_how_far_it_got_not_compiling() -> None:
    run, lock = running_run()
    try:
        preparing = {"what": "training non-digits", "done": 3000, "total": 12000}
        run.set_status("running", "preparing", preparing=preparing)
        info = progress(run)
        assert info.preparing is not None and not info.compiling
        assert info.preparing.fraction == 0.25
        assert info.preparing.describe().startswith("Drawing 12,000 training non-digits: 3,000")
        run.set_status("running", "preparing", preparing={"what": "x"})  # another version's
        assert progress(run).preparing is None and progress(run).compiling
    finally:
        lock.release()
    assert progress(run).preparing is None  # interrupted: nothing is being drawn


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
    finally:
        lock.release()
    assert progress(run).state == "interrupted"
    assert live_run() is None


def test_progress_from_records_already_read_or_a_tail_equals_reading_the_log() -> None:
    run, lock = running_run()
    try:
        for step in (20, 40):
            run.append_metrics(train_line(step))
        run.append_metrics({"kind": "epoch", "epoch": 1, "step": 40, "test_accuracy": 0.91})
        fresh = progress(run)
        assert progress(run, run.read_metrics()) == fresh
        assert progress(run, MetricsTail(run)) == fresh
        assert fresh.step == 40 and fresh.test_accuracy == 0.91
    finally:
        lock.release()


def test_a_tail_parses_only_the_lines_added_since_its_last_read() -> None:
    run, lock = running_run()
    try:
        tail = MetricsTail(run)
        run.append_metrics(train_line(20))
        assert progress(run, tail).step == 20
        # Damage what was already read (same length, so the file is not "replaced"): a tail
        # that re-parsed the log would lose or change that record.
        metrics = run.path / RunDir.METRICS
        size = metrics.stat().st_size
        metrics.write_bytes(b"x" * (size - 1) + b"\n")
        run.append_metrics(train_line(60))
        run.append_metrics(train_line(80) | {"elapsed": 9.5})
        with metrics.open("a") as handle:
            handle.write('{"kind": "train", "step": 1')  # a line still being written
        info = progress(run, tail)
        assert [r["step"] for r in tail.records] == [20, 60, 80]
        assert info.step == 80 and info.elapsed == 9.5 and info.fraction == 0.4
    finally:
        lock.release()


def test_a_stop_request_shows_as_stopping_while_the_job_runs() -> None:
    run, lock = running_run()
    try:
        assert not progress(run).stopping
        run.request_stop()
        assert progress(run).stopping and progress(run).state == "running"
    finally:
        lock.release()
    assert not progress(run).stopping, "once the job is gone it is no longer stopping"


def test_an_ended_run_reports_its_final_test_accuracy_like_the_history() -> None:
    """A run stopped mid-epoch was evaluated on the weights it stopped with: that figure, not
    the last epoch's, is what the history shows, so the live box must show it too."""
    run, lock = running_run()
    run.append_metrics({"kind": "epoch", "epoch": 1, "step": 100, "test_accuracy": 0.91})
    try:
        assert progress(run).test_accuracy == 0.91, "while running: the last epoch's"
    finally:
        lock.release()
    run.write_summary({"test_accuracy": 0.935})
    run.set_status("stopped", "stop requested")
    assert progress(run).test_accuracy == 0.935
