"""The Tour's chapters: a few sentences and one picture each, computed once per drawing.

Each chapter's numbers and figure come from the library (`handwritten.analysis.story`,
`.overview`, `.lessons`, `.learning`; `handwritten.figures.tour`, `.overview`) through
`tour_view.computed`, so a chapter seen before renders from the cache. The sentences are the
chapter's templates in ``tour.toml``, filled with what was measured on this drawing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import plotly.graph_objects as go
import streamlit as st

from handwritten.analysis import lessons as failures
from handwritten.analysis import overview as network
from handwritten.analysis import story
from handwritten.analysis.learning import last_finetune
from handwritten.data.samples import SampleStore
from handwritten.figures import overview as overview_plots
from handwritten.figures import tour as plots
from handwritten.figures import tour_learning as later
from handwritten.figures.prediction import probability_bars, to_display
from handwritten.training.finetune import MIN_SAMPLES
from handwritten.ui import state, tour_live
from handwritten.ui import tour_view as view
from handwritten.ui.canvas import drawing_canvas
from handwritten.ui.samples_view import save_as

OPEN_MAP = "tour_open_map"  # the overview's selection (a chart widget key)
OPEN_NODE = "tour_open_node"  # (column, position) clicked, shown large until dismissed


def _picture(figure: go.Figure, key: str, **options) -> None:
    st.plotly_chart(figure, key=f"tour_{key}", config=plots.STILL, **options)


def _arranged(chapter: view.Chapter, live: str, figure: go.Figure) -> None:
    """Words beside the picture ("side") or above it ("wide")."""
    if chapter.layout == "side":
        words, picture = st.columns([1, 2.3], gap="large")
    else:
        words, picture = st.container(), st.container()
    with words:
        st.markdown(chapter.text)
        if live:
            st.markdown(live)
    with picture:
        _picture(figure, chapter.key)


# ---------------------------------------------------------------------------------------------
# 1. Draw a digit


def draw(chapter: view.Chapter) -> None:
    """The canvas (or the example) and, beside it even on a tablet, the `Prediction` metric and
    its ten probabilities."""
    example = st.session_state[view.SOURCE] == "example"
    st.markdown(chapter.text)
    with st.container(horizontal=True, gap="large"):
        with st.container(width=340):
            st.space("small")  # the canvas's toolbar sits above it: keep it off the text
            if example:
                st.image(to_display(failures.example_digit(), 320), width=320)
                st.button("Draw my own", icon=":material/draw:", on_click=view.use_canvas)
            else:
                drawing_canvas(failures.STROKE, st.session_state[state.SCHEME])
                st.button("Use an example digit instead", icon=":material/auto_awesome:",
                          on_click=view.use_example)  # fmt: skip
        with st.container(width="stretch"):
            _answer(chapter, example)


def _answer(chapter: view.Chapter, example: bool) -> None:
    ctx, fallback = view.context()
    if fallback and not example:  # nothing drawn yet, or nothing readable
        st.metric("Prediction", "–")
        st.caption("Draw a digit, or use the example.")
        return
    prediction = ctx.prediction
    st.metric("Prediction", prediction.digits)
    first = prediction.per_digit[0]
    template = chapter.templates["unsure" if prediction.unsure else "answer"]
    st.markdown(template.format(digit=first.label, confidence=first.confidence))
    if example:
        st.caption(chapter.templates["example"])
    bars = probability_bars(first.probabilities).update_layout(font={"size": plots.FONT})
    _picture(bars, "draw_bars")


# ---------------------------------------------------------------------------------------------
# 2 to 6: pixels, convolution, filters, pooling, dense layers


def pixels(chapter: view.Chapter, ctx: view.Context) -> None:
    assert ctx.prediction.preprocessed is not None
    figure = view.computed("pixels", ctx, lambda c: plots.pixels_figure(c.prediction.preprocessed))
    _arranged(chapter, "", figure)


def convolution(chapter: view.Chapter, ctx: view.Context) -> None:
    told = view.computed("convolution", ctx, lambda c: story.convolution_story(c.image28))
    figure = view.computed("convolution_figure", ctx, lambda c: plots.convolution_figure(told))
    _arranged(chapter, chapter.templates["live"].format(value=told.window.value), figure)


def filters(chapter: view.Chapter, ctx: view.Context) -> None:
    told = view.computed("filters", ctx, lambda c: story.filter_story(c.model, c.image28))
    figure = view.computed("filters_figure", ctx, lambda c: plots.filters_figure(told))
    if told.learned is None:
        live = chapter.templates["none"]
    else:
        (x_index, x_similarity), (y_index, y_similarity) = told.closest
        live = chapter.templates["live"].format(
            count=len(told.learned), x_index=x_index, y_index=y_index,
            x_similarity=x_similarity, y_similarity=y_similarity,
        )  # fmt: skip
    _arranged(chapter, live, figure)


def pooling(chapter: view.Chapter, ctx: view.Context) -> None:
    told = view.computed("pooling", ctx, lambda c: story.pooling_story(c.model, c.image28))
    figure = view.computed("pooling_figure", ctx, lambda c: plots.pooling_figure(told))
    template = chapter.templates["live" if told.channel is not None else "none"]
    live = template.format(before=told.before.size, after=told.after.size)
    _arranged(chapter, live, figure)


def dense(chapter: view.Chapter, ctx: view.Context) -> None:
    told = view.computed("dense", ctx, lambda c: story.dense_story(c.model, c.image28))
    figure = view.computed("dense_figure", ctx, lambda c: plots.dense_figure(told))
    template = chapter.templates["live" if told.hidden is not None else "direct"]
    live = template.format(
        flat=len(told.flat), hidden=len(told.hidden if told.hidden is not None else ()),
        scores=len(told.logits), digit=told.answer if told.answer < 10 else "not a digit",
        confidence=float(told.probabilities.max()),
    )  # fmt: skip
    _arranged(chapter, live, figure)


# ---------------------------------------------------------------------------------------------
# 7. The whole network at once


def _clicked(told: network.Overview) -> None:
    """A click on the overview: remember the tile; it stays open large until dismissed (the
    chart keeps its selection, so reading that instead would reopen a dismissed dialog)."""
    selection = st.session_state.get(OPEN_MAP)
    for point in selection.selection.points if selection is not None else []:
        node = overview_plots.node_of(point)
        if node is not None and overview_plots.names_a_node(told, *node):
            st.session_state[OPEN_NODE] = node
            return


def _dismissed() -> None:
    st.session_state.pop(OPEN_NODE, None)


@st.dialog("A map up close", width="large", on_dismiss=_dismissed)
def _large_map(told: network.Overview, column: int, position: int) -> None:
    st.plotly_chart(overview_plots.map_figure(told, column, position), key="tour_map_large",
                    config=plots.STILL)  # fmt: skip


def overview(chapter: view.Chapter, ctx: view.Context) -> None:
    told = view.computed("overview", ctx, lambda c: network.overview(c.model, c.image28))
    figure = view.computed("overview_figure", ctx, lambda c: overview_plots.overview_figure(told))
    st.markdown(chapter.text)
    st.plotly_chart(figure, key=OPEN_MAP, config=plots.STILL, on_select=partial(_clicked, told),
                    selection_mode="points")  # fmt: skip
    node = st.session_state.get(OPEN_NODE)
    if node is not None:
        _large_map(told, *node)


# ---------------------------------------------------------------------------------------------
# 8 to 10: learning, failures, fine-tuning


def learning(chapter: view.Chapter, ctx: view.Context) -> None:
    st.markdown(chapter.text)
    tour_live.live_chapter(chapter, ctx.image28, ctx.label)


def failures_chapter(chapter: view.Chapter, ctx: view.Context) -> None:
    told = view.computed("failures", ctx, lambda c: failures.lessons(c.predictor, c.rgba))
    figure = view.computed("failures_figure", ctx, lambda c: later.lessons_figure(told))
    live = chapter.templates["live"].format(
        **{name: later.answer_text(getattr(told, name)) for name in (
            "naive", "preprocessed", "high_naive", "high_preprocessed", "scribble")}
    )  # fmt: skip
    _arranged(chapter, live, figure)


def finetune(chapter: view.Chapter, ctx: view.Context) -> None:
    figures = last_finetune()
    if figures is not None:
        live = chapter.templates["measured"].format(
            run=figures["run_id"], before=figures["personal_accuracy_before"],
            after=figures["personal_accuracy_after"], mnist_before=figures["mnist_accuracy_before"],
            mnist_after=figures["mnist_accuracy_after"],
        )  # fmt: skip
        figure = later.finetune_figure(figures)
    else:
        live = chapter.templates["howto"].format(minimum=MIN_SAMPLES)
        figure = later.samples_figure(SampleStore().counts())
    _arranged(chapter, live, figure)
    if not ctx.example:
        with st.container(width=520):
            save_as(ctx.prediction, ctx.rgba)


RENDER: dict[str, Callable[[view.Chapter, view.Context], None]] = {
    "pixels": pixels, "convolution": convolution, "filters": filters, "pooling": pooling,
    "dense": dense, "overview": overview, "learning": learning, "failures": failures_chapter,
    "finetune": finetune,
}  # fmt: skip


# The chapters that read the network's own layers (an imported ONNX model has none to read).
OPENS_THE_MODEL = frozenset({"filters", "pooling", "dense", "overview"})


def render(chapter: view.Chapter) -> None:
    """Show one chapter on the tour's drawing (the first chapter makes that drawing), in the
    container the tour's style stacks on narrow screens (`tour_view.STYLE`)."""
    with st.container(key=view.BODY):
        if chapter.key == "draw":
            draw(chapter)
            return
        ctx, fallback = view.context()
        if fallback:
            st.caption("No drawing yet, so the tour uses an example 7. Chapter 1 takes yours.")
        if ctx.model is None and chapter.key in OPENS_THE_MODEL:
            name = ctx.predictor.info.name if ctx.predictor.info else "the active model"
            st.info(f"The active model, **{name}**, is an imported ONNX model: it answers your "
                    "drawing, but has no layers to open in this chapter. Promote a run trained "
                    "here (Train page) to see it.")  # fmt: skip
            return
        RENDER[chapter.key](chapter, ctx)
