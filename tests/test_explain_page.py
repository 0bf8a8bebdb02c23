"""AppTest for the Explain page: the shared drawing, an MNIST digit, every section renders."""

from __future__ import annotations

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
