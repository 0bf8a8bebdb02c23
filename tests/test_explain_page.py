"""AppTest for the Explain page: the shared drawing, an MNIST digit, every section renders."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from .test_app import app, fake_canvas, open_page, seven

TABS = ["Input", "Convolution", "Filters", "Feature maps", "Saliency", "Embedding", "Robustness"]


def explain_page(at: AppTest | None = None) -> AppTest:
    return open_page("pages/explain.py", at)


def test_explains_the_drawing_from_the_draw_page(synthetic_mnist: Path) -> None:
    at = app()
    fake_canvas(at, seven())
    explain_page(at)
    assert at.radio(key="explain_source").value == "My drawing"
    assert any("reads **7**" in m.value for m in at.markdown)
    assert [t.label for t in at.tabs] == TABS
    charts = at.get("plotly_chart")
    assert len(charts) >= 12  # input, channels, sobel, conv step, filters, maps, ...


def test_without_a_drawing_it_uses_an_mnist_digit(synthetic_mnist: Path) -> None:
    at = explain_page()
    assert at.radio(key="explain_source").value == "An MNIST test digit"
    assert not at.exception
    assert any("The model" in m.value for m in at.markdown)


def test_without_mnist_it_says_so_once_and_explains_drawings() -> None:
    at = explain_page()
    needs = [i.value for i in at.info if "needs MNIST" in i.value]
    assert needs == ["The embedding map needs MNIST, which is not on this machine yet."]
    assert at.radio(key="explain_source").options == ["My drawing", "Upload an image"]
    assert not at.warning


def figure(at: AppTest, key: str) -> dict:
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    return json.loads(chart.proto.spec)


def test_filters_and_feature_maps_say_what_they_show(synthetic_mnist: Path) -> None:
    at = app()
    fake_canvas(at, seven())
    explain_page(at)
    said = " ".join(m.value for m in at.markdown)
    assert said.count("**What you see:**") == 2 and "**Dense units.**" in said
    assert figure(at, "filters_first")["data"][0]["colorbar"]["title"]["text"]
    norms = figure(at, "filters_norms")["layout"]
    assert norms["xaxis"]["title"]["text"] == "input map (of the layer before)"
    assert norms["yaxis"]["title"]["text"] == "conv2 map"
    # conv1 (one input channel): the enlarged map beside its 3×3 weights, in numbers.
    assert at.selectbox(key="explain_map_layer").value == "conv1"
    assert figure(at, "maps_conv1")["data"][0]["colorbar"]["title"]["text"]
    kernel = figure(at, "maps_filter")["data"][0]
    assert kernel["z"]["shape"] == "3, 3" and kernel["texttemplate"] == "%{text}"  # Plotly 6
    at.number_input(key="explain_map_channel").set_value(5).run()
    assert figure(at, "maps_detail")["layout"]["title"]["text"] == "conv1, channel 5"
    # A pooling layer: its convolution's filter, which reads 32 maps of the layer before.
    at.selectbox(key="explain_map_layer").set_value("pool2").run()
    assert at.number_input(key="explain_map_channel").value == 0, "a new layer starts at 0"
    assert any("Pooling has no filter" in c.value for c in at.caption)
    assert len(figure(at, "maps_filter")["data"][0]["x"]) == 64
