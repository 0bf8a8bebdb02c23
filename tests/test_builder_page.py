"""AppTest for the Train page's network builder: edit the layers as text or one by one, see the
costs live, start a run from it; and the history's "Download ONNX"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from handwritten.jobs import launcher
from handwritten.training import bench
from handwritten.training.bench import EpochEstimate
from handwritten.ui import builder_view, state

from .test_app import open_page

EXAMPLE = "conv3x3x16,relu,pool2,conv3x3x32,relu,pool2,dense64,relu"


@pytest.fixture
def timed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, int]]:
    """Record what the builder asks `estimate_epoch` to time, and answer at once."""
    calls: list[tuple[Any, int]] = []

    def fake(config: Any, n_train: int, n_test: int, **kwargs: Any) -> EpochEstimate:
        calls.append((config, n_train))
        return EpochEstimate(2.0, 0.05, n_train // config.batch_size, 1.5, 1)

    builder_view._estimate.clear()
    monkeypatch.setattr(bench, "estimate_epoch", fake)
    return calls


def builder_page() -> AppTest:
    at = open_page("pages/train.py")
    next(s for s in at.selectbox if s.label == "Architecture").set_value("custom").run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def spec(at: AppTest) -> str:
    return next(t.value for t in at.text_input if t.label == "Layer spec")


def layer_fields(at: AppTest) -> list[str]:
    return [
        t.value for t in at.text_input if t.label.startswith("Layer ") and t.label[6:].isdigit()
    ]


def click(at: AppTest, key: str) -> None:
    at.button(key=key).click().run()
    assert not at.exception, at.exception


def test_the_builder_shows_every_layers_shape_and_the_costs(timed) -> None:
    at = builder_page()
    assert spec(at) == EXAMPLE and layer_fields(at) == EXAMPLE.split(",")
    assert metric(at, "Parameters") == "105,866"
    assert metric(at, "Multiply-adds per image") == "1.12 M"
    assert metric(at, "Activations / batch of 128") == "21.7 MB"
    assert metric(at, "Time per epoch (measured)") == "5.4 s"  # 78 steps * 0.05 s + 1.5 s
    table = at.dataframe[0].value
    assert list(table["output"]) == ["28×28×1", "28×28×16", "28×28×16", "14×14×16", "14×14×32",
                                     "14×14×32", "7×7×32", "1568", "64", "64", "10"]  # fmt: skip
    assert any("→ 7×7×32" in c.value for c in at.caption)
    (config, n_train), *_ = timed
    assert (config.arch, config.layers, config.batch_size, n_train) == (
        "custom",
        EXAMPLE,
        128,
        10_000,
    )


def test_edit_as_text_or_layer_by_layer(timed, synthetic_mnist: Path) -> None:
    at = builder_page()
    next(t for t in at.text_input if t.label == "Layer spec").input("conv3x3x8,relu,dense32").run()
    assert layer_fields(at) == ["conv3x3x8", "relu", "dense32"]
    assert metric(at, "Parameters") == f"{80 + 28 * 28 * 8 * 32 + 32 + 330:,}"
    next(t for t in at.text_input if t.label == "Layer 1").input("conv3x3x4").run()
    assert spec(at) == "conv3x3x4,relu,dense32"
    click(at, "builder_up_1")  # relu before the convolution
    assert spec(at) == "relu,conv3x3x4,dense32" and layer_fields(at)[0] == "relu"
    click(at, "builder_remove_0")
    assert spec(at) == "conv3x3x4,dense32"
    at.selectbox(key=state.BUILDER_ADD).set_value("pool2").run()
    click(at, "builder_add_layer")
    assert spec(at) == "conv3x3x4,dense32,pool2"
    assert any("layer 3 'pool2': needs an image" in e.value for e in at.error)
    assert at.button(key="start_custom").disabled
    click(at, "builder_down_1")
    assert spec(at) == "conv3x3x4,pool2,dense32" and not at.exception
    assert metric(at, "Parameters") == f"{40 + 14 * 14 * 4 * 32 + 32 + 330:,}"
    assert not at.button(key="start_custom").disabled


def test_a_bad_token_is_named_and_nothing_can_start(timed, synthetic_mnist: Path) -> None:
    at = builder_page()
    next(t for t in at.text_input if t.label == "Layer spec").input("conv3x3x8,pool3x,dense4").run()
    assert [e.value for e in at.error] == [
        "This network cannot be built: layer 2 'pool3x': write it as pool{s}, e.g. pool2."
    ]
    assert at.button(key="start_custom").disabled and not at.dataframe


def test_the_builder_waits_for_mnist(timed) -> None:
    at = builder_page()  # no MNIST here (the suite does not fetch it by itself)
    next(t for t in at.text_input if t.label == "Layer spec").input("dense32,relu").run()
    assert not at.error and at.button(key="start_custom").disabled


def test_start_training_from_the_builder(
    monkeypatch: pytest.MonkeyPatch, timed, synthetic_mnist: Path
) -> None:
    started: list[Any] = []

    def launch(config: Any) -> tuple[None, Any]:
        started.append(config)
        return None, type("Run", (), {"path": "/runs/x", "id": "x"})()

    monkeypatch.setattr(launcher, "launch", launch)
    at = builder_page()
    next(n for n in at.number_input if n.label == "Batch size").set_value(64).run()
    assert metric(at, "Activations / batch of 64") == "10.9 MB"
    assert timed[-1][0].batch_size == 64, "the estimate follows the batch size"
    click(at, "start_custom")
    (config,) = started
    assert (config.arch, config.layers, config.batch_size) == ("custom", EXAMPLE, 64)
    assert at.session_state[state.LAST_RUN] == "/runs/x"
