"""AppTest for the Tour: chapters, Back / Next / Start over, the place kept across pages, the
example digit, computing once per drawing, and the live and fine-tune chapters' sources."""

from __future__ import annotations

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from handwritten.analysis import overview as network
from handwritten.jobs.lock import TrainingLock
from handwritten.models.architectures import create_model, split_model
from handwritten.storage.runs import RunDir, runs_dir
from handwritten.training.config import DEMO_PRESET, DEMO_SECONDS, PRESETS
from handwritten.training.snapshots import save_snapshot
from handwritten.ui import tour_view

from .test_app import app, fake_canvas, open_page, prediction, seven

TITLES = [
    "Draw a digit", "Pixels are numbers", "Convolution", "Learned filters", "Pooling",
    "Dense layers and softmax", "The whole network at once", "How it learned",
    "Where it fails, and why", "Teach it your style",
]  # fmt: skip


def tour(at: AppTest | None = None) -> AppTest:
    return open_page("pages/tour.py", at)


def heading(at: AppTest) -> str:
    return at.title[0].value


def turn(at: AppTest, key: str) -> None:
    at.button(key=key).click().run()
    assert not at.exception, at.exception


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_the_tour_is_a_page_with_the_sidebar() -> None:
    at = tour()
    assert heading(at) == "Chapter 1 of 10 · Draw a digit"
    assert at.button(key="tour_back").disabled and not at.button(key="tour_next").disabled
    assert "%" in " ".join(str(m.value) for m in at.sidebar.metric)
    assert prediction(at) == "–"


def test_chapter_texts_come_from_the_data_file() -> None:
    chapters = tour_view.chapters()
    assert [chapter.title for chapter in chapters] == TITLES
    assert {chapter.layout for chapter in chapters} <= {"side", "wide"}
    assert [chapter.key for chapter in chapters] == [
        "draw", "pixels", "convolution", "filters", "pooling", "dense", "overview", "learning",
        "failures", "finetune",
    ]  # fmt: skip
    assert all(chapter.text for chapter in chapters)


def test_next_through_every_chapter_and_back() -> None:
    at = app()
    fake_canvas(at, seven())
    tour(at)
    assert prediction(at) == "7"
    for number, title in enumerate(TITLES, 1):
        assert heading(at) == f"Chapter {number} of 10 · {title}"
        assert at.get("plotly_chart"), f"chapter {number} has no picture"
        assert not at.exception
        if number < len(TITLES):
            turn(at, "tour_next")
    assert at.button(key="tour_next").disabled
    turn(at, "tour_back")
    assert heading(at) == "Chapter 9 of 10 · Where it fails, and why"
    assert "plain resize **reads 7" in markdown(at)


def test_the_place_and_the_present_switch_survive_a_page_switch() -> None:
    at = tour()
    for _ in range(3):
        turn(at, "tour_next")
    at.toggle(key=tour_view.PRESENT_WIDGET).set_value(True).run()
    assert at.session_state[tour_view.PRESENT] is True
    at.switch_page("pages/train.py").run()
    assert at.title[0].value == "Train"
    tour(at)
    assert heading(at) == "Chapter 4 of 10 · Learned filters"
    assert at.toggle(key=tour_view.PRESENT_WIDGET).value is True


def test_start_over_returns_to_a_blank_first_chapter() -> None:
    at = app()
    fake_canvas(at, seven())
    tour(at)
    turn(at, "tour_next")
    turn(at, "tour_next")
    turn(at, "tour_start_over")
    assert heading(at) == "Chapter 1 of 10 · Draw a digit"
    assert prediction(at) == "–"


def test_the_example_digit_for_a_shy_audience() -> None:
    at = tour()
    at.button[[b.label for b in at.button].index("Use an example digit instead")].click().run()
    assert prediction(at) == "7" and at.session_state[tour_view.SOURCE] == "example"
    assert any("example digit" in c.value for c in at.caption)
    at.button[[b.label for b in at.button].index("Draw my own")].click().run()
    assert prediction(at) == "–"


def test_without_a_drawing_the_later_chapters_use_the_example() -> None:
    at = tour()
    turn(at, "tour_next")
    assert any("uses an example 7" in c.value for c in at.caption)
    assert at.get("plotly_chart")


def test_each_chapter_computes_once_per_drawing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = network.overview

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(network, "overview", counted)
    st.cache_resource.clear()  # shared by the whole process: earlier tests filled it
    at = app()
    fake_canvas(at, seven())
    tour(at)
    for _ in range(6):
        turn(at, "tour_next")
    assert heading(at).startswith("Chapter 7")
    turn(at, "tour_back")
    turn(at, "tour_next")
    assert len(calls) == 1  # the second visit came from the cache


def recorded_run(name: str = "recorded") -> RunDir:
    """A finished demo-like run with two snapshots, written by hand."""
    arch = PRESETS[DEMO_PRESET].arch
    run = RunDir.create(arch, path=runs_dir() / name)
    run.write_config({"arch": arch, "snapshot_every": 25})
    for step in (0, 25):
        _, params, batch_stats = split_model(create_model(arch, step))
        save_snapshot(run, step, arch=arch, params=params, batch_stats=batch_stats)
    for step, loss in ((1, 2.3), (25, 0.4)):
        run.append_metrics({"kind": "train", "step": step, "loss": loss, "total_steps": 25,
                            "epoch": step / 25, "elapsed": step * 0.5})  # fmt: skip
    run.append_metrics({"kind": "epoch", "epoch": 1, "step": 25, "test_accuracy": 0.9})
    run.write_facts({"n_train": 1600, "n_test": 400})
    run.set_status("finished")
    run.write_summary({"duration_seconds": 14.2, "test_accuracy": 0.9})
    return run


def live_chapter(at: AppTest) -> AppTest:
    for _ in range(7):
        turn(at, "tour_next")
    assert heading(at) == "Chapter 8 of 10 · How it learned"
    return at


def test_the_live_chapter_before_any_run() -> None:
    at = live_chapter(tour())
    assert "has not trained yet" in markdown(at)
    assert not at.button(key="tour_train").disabled
    # The button and the chapter's text promise the one measured time.
    assert at.button(key="tour_train").label == f"Train it now (about {DEMO_SECONDS} s)"
    assert f"in about {DEMO_SECONDS} seconds" in markdown(at)


def test_the_live_chapter_shows_the_last_recorded_run() -> None:
    recorded_run()
    at = live_chapter(tour())
    text = markdown(at)
    assert "Showing the last recorded run (recorded). Trained in 14 s: 25 steps, 90.0%" in text
    assert "right on 400 digits it never saw" in text


def test_the_live_chapter_when_another_job_holds_the_machine() -> None:
    recorded_run()
    lock = TrainingLock.acquire()
    try:
        lock.describe(run_dir=str(runs_dir() / "someone-elses-run"), pid=None)
        at = live_chapter(tour())
        assert at.button(key="tour_train").disabled
        assert "Another training job is running" in markdown(at)
        assert "Trained in 14 s" in markdown(at)  # the last recorded run instead
    finally:
        lock.release()


def test_the_fine_tune_chapter_shows_the_last_measured_run() -> None:
    run = RunDir.create("finetune", path=runs_dir() / "tuned")
    run.write_config({})
    run.write_summary({"finetune": {
        "personal_accuracy_before": 0.5, "personal_accuracy_after": 0.875,
        "mnist_accuracy_before": 0.9912, "mnist_accuracy_after": 0.9901, "n_personal_heldout": 8,
    }})  # fmt: skip
    at = tour()
    for _ in range(9):
        turn(at, "tour_next")
    assert "The last fine-tune (tuned): on your held-out samples **50% → 88%**" in markdown(at)
    chart = at.get("plotly_chart")[0]
    assert '"before"' in chart.proto.spec and '"after"' in chart.proto.spec


def test_the_fine_tune_chapter_says_how_to_make_one() -> None:
    at = tour()
    for _ in range(9):
        turn(at, "tour_next")
    assert "No fine-tune yet. Save at least 10 samples" in markdown(at)
    assert np.asarray(at.get("plotly_chart")).size == 1


def test_an_imported_model_tells_which_chapters_it_cannot_open(tmp_path) -> None:
    """An imported ONNX model answers (chapters 1-3 and 8-10 work) but has no layers: the
    chapters that read them say why instead of failing."""
    from handwritten.models.imported import register_onnx
    from handwritten.models.store import promote

    from .onnx_models import exported, save

    register_onnx(save(exported(create_model("mlp")), tmp_path / "m.onnx"), "theirs")
    promote("theirs")
    at = tour()
    turn(at, "tour_next")
    turn(at, "tour_next")
    assert heading(at).endswith("Convolution") and at.get("plotly_chart")
    turn(at, "tour_next")
    assert heading(at).endswith("Learned filters")
    (note,) = at.info
    assert "**theirs**, is an imported ONNX model" in note.value and not at.get("plotly_chart")


def test_the_dense_chapter_counts_the_shipped_models_eleven_scores() -> None:
    at = tour()
    for _ in range(TITLES.index("Dense layers and softmax")):
        turn(at, "tour_next")
    assert heading(at).endswith("Dense layers and softmax")
    text = markdown(at)
    assert "→ **256** units → **11** scores" in text, text
    assert "The highest, **7**" in text  # the example 7, read as a 7
