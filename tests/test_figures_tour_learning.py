"""The Tour's pictures for chapters 8-10: a run learning, where it fails, fine-tuning."""

from __future__ import annotations

import numpy as np

from handwritten.analysis.learning import SnapshotReading, learning
from handwritten.analysis.lessons import Case, Lessons
from handwritten.figures import tour_learning as later


def test_learning_figure_before_and_during_a_run() -> None:
    start = SnapshotReading(0, np.full(10, 0.1), np.zeros((20, 5, 5)))
    before = later.learning_figure(learning([], [start]), 7)
    assert len(before.data[0].x) == 0  # no loss yet
    assert list(before.data[1].y) == [0.1]  # the drawing's probability at the random start
    now = SnapshotReading(25, np.eye(10)[7] * 0.9 + 0.01, np.ones((20, 5, 5)))
    records = [{"kind": "train", "step": s, "loss": 2.0 / s, "total_steps": 50} for s in (1, 5)]
    during = later.learning_figure(learning(records, [start, now]), 7)
    np.testing.assert_allclose(during.data[1].y, [0.1, 0.91])
    assert "by step 25" in " ".join(a.text for a in during.layout.annotations)
    assert during.layout.xaxis.range[1] > 50  # the whole run's steps, from the start


def test_the_filter_mosaics_tile_in_three_rows() -> None:
    """The demo's 24 filters (5 x 5) fill three rows of eight, with a one-pixel gutter."""
    start = SnapshotReading(0, np.full(10, 0.1), np.zeros((24, 5, 5)))
    now = SnapshotReading(25, np.full(10, 0.1), np.ones((24, 5, 5)))
    figure = later.learning_figure(learning([], [start, now]), 7)
    mosaics = [trace.z for trace in figure.data if trace.type == "heatmap"]
    assert [np.shape(z) for z in mosaics] == [(3 * 6 - 1, 8 * 6 - 1)] * 2
    assert not np.isnan(np.asarray(mosaics[0], float)[-5:, -5:]).any()  # the last tile is full


def test_answer_text_stays_true_whatever_the_model_says() -> None:
    image = np.zeros((28, 28))
    assert later.answer_text(Case(image, np.eye(10)[4] * 0.9 + 0.01)) == "reads 4 (91%)"
    assert later.answer_text(Case(image, np.full(10, 0.1))) == "unsure: 0? (10%)"
    assert later.answer_text(Case(image, np.zeros(10), "not a digit")) == "no digit"
    rejected = np.append(np.full(10, 0.002), 0.98)
    assert later.answer_text(Case(image, rejected)) == "not a digit"
    assert later.answer_text(Case(image, rejected, threshold=0.99)) == "unsure: not a digit? (98%)"


def test_lessons_figure_titles_every_case_with_its_answer() -> None:
    image = np.zeros((28, 28))
    cases = {name: Case(image, np.eye(10)[i] * 0.9 + 0.01) for i, name in enumerate(
        ("naive", "preprocessed", "high_naive", "high_preprocessed", "crossed_seven",
         "european_one", "scribble"))}  # fmt: skip
    figure = later.lessons_figure(Lessons(**cases))
    texts = [a.text for a in figure.layout.annotations]
    assert len(figure.data) == 7 and len(texts) == 7
    assert texts[0] == "plain resize<br><b>reads 0 (91%)</b>"
    assert texts[-1].startswith("a scribble")


def test_finetune_and_samples_figures() -> None:
    figures = {"personal_accuracy_before": 0.5, "personal_accuracy_after": 0.75,
               "mnist_accuracy_before": 0.99, "mnist_accuracy_after": 0.985,
               "n_personal_heldout": 8}  # fmt: skip
    figure = later.finetune_figure(figures)
    assert [t.name for t in figure.data] == ["before", "after"]
    assert list(figure.data[1].y) == [0.75, 0.985]
    assert "your held-out samples (8)" in list(figure.data[0].x)
    counts = later.samples_figure([0, 3, 0, 0, 0, 0, 0, 12, 0, 0])
    assert list(counts.data[0].y)[7] == 12 and counts.layout.yaxis.range[1] >= 12
