"""The Tour's frame: which chapter is shown, Back / Next / Present / Start over, the large-type
style, and the drawing every chapter uses.

The place in the tour and the Present switch are plain session-state values (widget state is
dropped when a page is left), so switching to another page and back keeps both. The drawing is
the Draw page's canvas drawing (the same canvas key), or the example digit.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from handwritten.analysis.lessons import example_digit
from handwritten.data.preprocess import ImageError
from handwritten.models.architectures import DigitModel
from handwritten.models.store import active_version
from handwritten.recognition.predictor import Prediction, Predictor
from handwritten.storage.files import FileVersion
from handwritten.ui import cache as shared
from handwritten.ui import state

CHAPTER = "tour_chapter"  # 0-based index of the chapter shown
PRESENT = "tour_present"  # the Present switch (kept across pages; the widget mirrors it)
PRESENT_WIDGET = "tour_present_toggle"
SOURCE = "tour_source"  # "canvas" or "example"
BODY = "tour_body"  # the chapter's container (its CSS class is st-key-tour_body)
TEXTS = Path(__file__).with_name("tour.toml")


@dataclass(frozen=True)
class Chapter:
    key: str
    title: str
    layout: str  # "side": words beside the picture; "wide": words above a full-width picture
    text: str
    templates: dict[str, str]  # live sentences, filled by the chapter with measured values


@cache
def chapters() -> tuple[Chapter, ...]:
    """The chapters as written in ``tour.toml`` (read once per process)."""
    with TEXTS.open("rb") as handle:
        raw = tomllib.load(handle)["chapter"]
    fixed = ("key", "title", "layout", "text")
    return tuple(
        Chapter(
            c["key"],
            c["title"],
            c["layout"],
            c["text"].strip(),
            {k: v for k, v in c.items() if k not in fixed},
        )
        for c in raw
    )


def init_tour() -> None:
    st.session_state.setdefault(CHAPTER, 0)
    st.session_state.setdefault(PRESENT, False)
    st.session_state.setdefault(SOURCE, "canvas")


def current() -> tuple[int, Chapter]:
    index = min(max(int(st.session_state[CHAPTER]), 0), len(chapters()) - 1)
    return index, chapters()[index]


# ---------------------------------------------------------------------------------------------
# Navigation


def _turn(delta: int) -> None:
    st.session_state[CHAPTER] = min(max(st.session_state[CHAPTER] + delta, 0), len(chapters()) - 1)


def _start_over() -> None:
    st.session_state[CHAPTER] = 0
    use_canvas()


def _present_changed() -> None:
    st.session_state[PRESENT] = bool(st.session_state[PRESENT_WIDGET])


def use_example() -> None:
    st.session_state[SOURCE] = "example"


def use_canvas() -> None:
    """Back to the canvas, blank, for a drawing of one's own."""
    # Imported here: the canvas component registers itself on import, which works only inside
    # a running app, and the chapter list and keys here are read by tests outside one.
    from handwritten.ui.canvas import forget_drawing

    st.session_state[SOURCE] = "canvas"
    forget_drawing()


def heading() -> None:
    """'Chapter k of n · title' as the page heading, and the presenter's controls."""
    index, chapter = current()
    count = len(chapters())
    st.title(f"Chapter {index + 1} of {count} · {chapter.title}", anchor=False)
    if PRESENT_WIDGET not in st.session_state:  # (re)mounted: show the kept value
        st.session_state[PRESENT_WIDGET] = st.session_state[PRESENT]
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Back", icon=":material/arrow_back:", disabled=index == 0, on_click=_turn,
                  args=(-1,), shortcut="Left", key="tour_back")  # fmt: skip
        st.button("Next", icon=":material/arrow_forward:", icon_position="right", type="primary",
                  disabled=index == count - 1, on_click=_turn, args=(1,), shortcut="Right",
                  key="tour_next")  # fmt: skip
        st.space("stretch")
        st.toggle("Present", key=PRESENT_WIDGET, on_change=_present_changed,
                  help="Hide the sidebar and enlarge the type, for a projector")  # fmt: skip
        st.button("Start over", icon=":material/restart_alt:", on_click=_start_over,
                  key="tour_start_over")  # fmt: skip


STYLE = """
<style>
[data-testid="stMainBlockContainer"] {{ padding-top: 2.2rem; }}
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li {{
  font-size: {size}rem; line-height: 1.45; }}
[data-testid="stMain"] [data-testid="stMetricValue"] p {{
  font-size: {metric}rem; line-height: 1.1; }}
[data-testid="stMain"] h1 {{ font-size: {title}rem; }}
@media (max-width: 1200px) {{  /* a tablet: words above the picture, never squeezed beside it */
  .st-key-tour_body [data-testid="stColumn"] {{ min-width: 100%; }}
}}
{present}
</style>
"""
PRESENT_STYLE = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none; }
"""


def style() -> None:
    """Large type always (it is a presentation); larger, and no sidebar, when presenting."""
    present = bool(st.session_state[PRESENT])
    sizes = {"size": 1.7, "metric": 5, "title": 2.6} if present else {
        "size": 1.3, "metric": 4, "title": 2.2}  # fmt: skip
    st.html(STYLE.format(**sizes, present=PRESENT_STYLE if present else ""))


# ---------------------------------------------------------------------------------------------
# The drawing and what every chapter shares


def digest(rgba: np.ndarray) -> str:
    """A drawing's cache key: the hash of its pixels and shape."""
    array = np.ascontiguousarray(rgba)
    hashed = hashlib.sha1(repr(array.shape).encode(), usedforsecurity=False)
    hashed.update(array.tobytes())
    return hashed.hexdigest()


@dataclass(frozen=True)
class Context:
    """One drawing as every chapter sees it, with the model version it is read by."""

    version: FileVersion
    predictor: Predictor
    model: DigitModel | None  # None for an imported ONNX model: it answers, but has no layers
    rgba: np.ndarray
    key: str  # digest of `rgba`
    prediction: Prediction
    example: bool  # the example digit rather than the presenter's drawing

    @property
    def image28(self) -> np.ndarray:
        assert self.prediction.preprocessed is not None
        return self.prediction.preprocessed.digits[0].centred

    @property
    def label(self) -> int:
        return self.prediction.per_digit[0].label

    @property
    def confidence(self) -> float:
        return self.prediction.per_digit[0].confidence


@st.cache_resource(show_spinner=False, max_entries=4)
def _model(version: FileVersion) -> DigitModel:
    """A read-only module view of exactly the checkpoint `version` names."""
    return shared.predictor(version).model


@st.cache_resource(show_spinner=False, max_entries=64)
def _predict(version: FileVersion, key: str, _rgba: np.ndarray) -> Prediction | None:
    """The drawing read once per drawing and model (`key` is its digest)."""
    try:
        return shared.predictor(version).predict(_rgba)
    except ImageError:
        return None


def context() -> tuple[Context, bool]:
    """The drawing the tour uses, and whether it fell back to the example (no drawing yet)."""
    version = active_version()
    canvas = st.session_state.get(state.CANVAS_IMAGE)
    chosen = st.session_state[SOURCE] == "example" or canvas is None
    rgba = example_digit() if chosen else np.asarray(canvas)
    prediction = _predict(version, digest(rgba), rgba)
    fallback = chosen and st.session_state[SOURCE] != "example"
    if prediction is None or not prediction.digits:  # unreadable or blank: the example
        rgba, chosen, fallback = example_digit(), True, True
        prediction = _predict(version, digest(rgba), rgba)
        assert prediction is not None
    predictor = shared.predictor(version)
    model = _model(version) if predictor.explainable else None
    return Context(version, predictor, model, rgba, digest(rgba), prediction, chosen), fallback


def computed(kind: str, ctx: Context, compute: Any) -> Any:
    """`compute(ctx)` once per chapter, drawing and model: revisiting a chapter is instant."""
    return _computed(kind, ctx.version, ctx.key, ctx, compute)


@st.cache_resource(show_spinner=False, max_entries=128)
def _computed(kind: str, version: FileVersion, key: str, _ctx: Context, _compute: Any) -> Any:
    return _compute(_ctx)
