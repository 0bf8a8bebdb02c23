"""AppTest for the Data page: the message without MNIST; on synthetic MNIST the explorer, the
active model's confusion matrix and a chosen cell's images; a promotion shows at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from flax import nnx
from streamlit.testing.v1 import AppTest

from handwritten.analysis import scores as scoring
from handwritten.data.mnist import load_split
from handwritten.models.architectures import create_model
from handwritten.models.checkpoint import save_checkpoint
from handwritten.models.store import checkpoint_for, load_model, promote
from handwritten.recognition.predictor import Calibration
from handwritten.storage.paths import runs_dir
from handwritten.storage.runs import RunDir
from handwritten.ui import data_view

from .test_app import open_page


def data_page() -> AppTest:
    return open_page("pages/data.py")


def figure(at: AppTest, key: str) -> dict[str, Any]:
    """The Plotly figure (as JSON) of the chart with `key`."""
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    return json.loads(chart.proto.spec)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_without_mnist_the_page_shows_the_mnist_panel_only() -> None:
    at = data_page()
    assert [i.value for i in at.info] == [
        "The Data page needs MNIST, which is not on this machine yet."
    ]
    assert not at.get("plotly_chart") and not at.warning


def test_explorer_confusion_matrix_and_a_chosen_cell(synthetic_mnist: Path) -> None:
    at = data_page()
    # Explorer: the balance bars, ten mean images, and pages of one digit.
    train = load_split("train")
    assert figure(at, "data_balance")["data"][0]["name"] == f"train ({len(train):,})"
    means = figure(at, "data_means")["layout"]["annotations"]
    assert [a["text"] for a in means] == [str(d) for d in range(10)]
    zeros = np.flatnonzero(train.labels_n == 0)
    examples = figure(at, "data_examples")["layout"]["annotations"]
    assert [a["text"] for a in examples] == [f"#{i}" for i in zeros[:40]]
    assert any(c.value.startswith("Page 1 of 2:") for c in at.caption)
    next(b for b in at.button if b.label == "Next").click().run()
    assert any(c.value.startswith("Page 2 of 2:") for c in at.caption)
    at.segmented_control(key=data_view.BROWSE_DIGIT).set_value(3).run()
    assert any(c.value.startswith("Page 1 of") for c in at.caption), "a new digit starts at 1"

    # The shipped model on synthetic digits: the same numbers as the library's.
    test = load_split("test")
    scores = scoring.score(checkpoint_for("default"), test)
    confusion = scores.confusion  # with the "not a digit" column of an 11-output model
    assert confusion.shape == (10, 11) and confusion.sum() == len(test.labels_n)
    assert metric(at, "Test accuracy") == f"{scores.evaluation.accuracy:.2%}"
    heatmap = figure(at, data_view.CONFUSION_CHART)["data"][0]
    assert heatmap["type"] == "heatmap"
    assert heatmap["text"] == [[str(c) if c else "" for c in row] for row in confusion.tolist()]
    worst = scoring.worst_confusion(confusion)
    assert (at.selectbox(key=data_view.CELL_TRUE).value,
            at.selectbox(key=data_view.CELL_PREDICTED).value) == worst  # fmt: skip

    # Choose another misread cell: its images appear, most confident mistake first. The shipped
    # model may read every synthetic digit right or decline it ("not a digit"), so an untrained
    # model that misreads plenty is promoted for this.
    # The "not a digit" column chosen, then a model without it promoted: the choice falls back
    # to the true digit's own cell instead of an answer the new model cannot give.
    at.selectbox(key=data_view.CELL_TRUE).set_value(4)
    at.selectbox(key=data_view.CELL_PREDICTED).set_value(10).run()
    assert not at.exception, at.exception
    run = RunDir.create("mlp", root=runs_dir())
    _, params, batch_stats = nnx.split(create_model("mlp", seed=3), nnx.Param, ...)
    save_checkpoint(run.checkpoint_path, arch="mlp", params=params, batch_stats=batch_stats)
    promote(run.path)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key=data_view.CELL_PREDICTED).value == 4
    scores = scoring.score(run.checkpoint_path, test)
    confusion = scores.confusion
    assert confusion.shape == (10, 10)  # a model without "not a digit": no such column
    off_diagonal = confusion * (1 - np.eye(10, dtype=int))
    true, predicted = sorted(zip(*np.nonzero(off_diagonal), strict=True))[0]
    at.selectbox(key=data_view.CELL_TRUE).set_value(int(true))
    at.selectbox(key=data_view.CELL_PREDICTED).set_value(int(predicted)).run()
    assert not at.exception, at.exception
    count = int(confusion[true, predicted])
    assert any(f"**{count}** test image" in m.value and f"misread as **{predicted}**" in m.value
               for m in at.markdown)  # fmt: skip
    expected = scoring.cell_indices(test.labels_n, scores.probabilities_nk, true, predicted)
    tiles = figure(at, "data_cell_images")["layout"]["annotations"]
    assert [t["text"].split("<br>")[0] for t in tiles] == [f"#{i}" for i in expected[:40]]

    empty = np.argwhere(confusion == 0)[0]
    at.selectbox(key=data_view.CELL_TRUE).set_value(int(empty[0]))
    at.selectbox(key=data_view.CELL_PREDICTED).set_value(int(empty[1])).run()
    assert any("No test image of" in i.value for i in at.info)


def test_the_calibration_tab_shows_the_reliability_diagram(synthetic_mnist: Path) -> None:
    at = data_page()
    diagram = figure(at, "data_reliability")["data"]
    assert [trace["name"] for trace in diagram] == ["perfectly calibrated", "before", "calibrated"]
    assert metric(at, "Calibration error after").endswith("%")
    shipped = Calibration.of(load_model("default")[1].meta)
    assert shipped.reject_offset > 0  # the shipped model's margin, from its checkpoint
    assert metric(at, "Reject margin") == f"{shipped.reject_offset:.2f}"
    assert any("marked unsure" in c.value for c in at.caption)  # the threshold in one sentence


def test_a_promoted_model_is_scored_at_once(synthetic_mnist: Path) -> None:
    at = data_page()
    shipped = figure(at, data_view.CONFUSION_CHART)["data"][0]["text"]
    # The "not a digit" column chosen, then a model without it promoted: the choice falls back
    # to the true digit's own cell instead of an answer the new model cannot give.
    at.selectbox(key=data_view.CELL_TRUE).set_value(4)
    at.selectbox(key=data_view.CELL_PREDICTED).set_value(10).run()
    assert not at.exception, at.exception
    run = RunDir.create("mlp", root=runs_dir())
    _, params, batch_stats = nnx.split(create_model("mlp", seed=3), nnx.Param, ...)
    save_checkpoint(run.checkpoint_path, arch="mlp", params=params, batch_stats=batch_stats)
    promote(run.path)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key=data_view.CELL_PREDICTED).value == 4
    assert not at.exception, at.exception
    scores = scoring.score(run.checkpoint_path, load_split("test"))
    assert metric(at, "Test accuracy") == f"{scores.evaluation.accuracy:.2%}"
    assert metric(at, "Misclassified") == f"{len(scores.evaluation.misclassified)} of 128"
    text = figure(at, data_view.CONFUSION_CHART)["data"][0]["text"]
    assert text == [[str(c) if c else "" for c in row] for row in scores.evaluation.confusion]
    assert text != shipped
