"""The Tour's pictures for chapters 8 to 10: a network learning, where it fails, your style.

Pure Plotly builders in the Tour's shared look (`handwritten.figures.tour`); arrays come from
`handwritten.analysis.learning` and `.lessons`.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from handwritten.analysis.learning import Learning
from handwritten.analysis.lessons import Case, Lessons
from handwritten.figures.colours import ACCENT, MUTED
from handwritten.figures.network import mosaic
from handwritten.figures.tour import finish, heat, image_axes, normalised

# ---------------------------------------------------------------------------------------------
# Chapter 8: how it learned

# The filter mosaics share a column with the two line charts, each half its height: three rows
# of tiles, as many columns as needed, fill that slot (the fast CNN's 24 filters: 3 x 8).
FILTER_ROWS = 3


def learning_figure(story: Learning, label: int) -> go.Figure:
    """Loss by step; the first-layer filters at the random start and what training has changed
    in them since; the drawing's probability by step."""
    figure = make_subplots(
        rows=2, cols=3, column_widths=[1.25, 1.0, 1.25], horizontal_spacing=0.06,
        vertical_spacing=0.14, specs=[[{"rowspan": 2}, {}, {"rowspan": 2}], [None, {}, None]],
        subplot_titles=["training loss (lower is better)", "first-layer filters: random start",
                        f"P(your drawing is a {label})",
                        f"what training changed by step {story.latest_step}"],
    )  # fmt: skip
    figure.add_trace(go.Scatter(x=story.loss_steps, y=story.losses, mode="lines",
                                line={"color": ACCENT, "width": 3}), 1, 1)  # fmt: skip
    if not len(story.losses):
        figure.add_annotation(text="appears as it trains", showarrow=False, x=0.5, y=0.5,
                              xref="x domain", yref="y domain", font={"color": "#888"})  # fmt: skip
    figure.add_trace(go.Scatter(
        x=story.snapshot_steps, y=story.probabilities[:, label], mode="lines+markers",
        line={"color": ACCENT, "width": 3}, marker={"size": 10},
        hovertemplate="step %{x}: %{y:.0%}<extra></extra>"), 1, 3)  # fmt: skip
    for row, filters in ((1, story.start_filters), (2, story.learned_filters)):
        if filters is not None:
            columns = math.ceil(len(filters) / FILTER_ROWS)
            figure.add_trace(heat(mosaic(normalised(filters), columns), signed=True), row, 2)
            image_axes(figure, row, 2)
    figure = finish(figure, 520)
    steps = [0, story.total_steps] if story.total_steps else [0, max(story.latest_step, 1)]
    for col in (1, 3):
        figure.update_xaxes(showticklabels=True, showgrid=True, title_text="step",
                            range=[-steps[1] * 0.02, steps[1] * 1.02], row=1, col=col)  # fmt: skip
    figure.update_yaxes(showticklabels=True, showgrid=True, rangemode="tozero", row=1, col=1)
    figure.update_yaxes(showticklabels=True, showgrid=True, range=[0, 1.05], tickformat=".0%",
                        row=1, col=3)  # fmt: skip
    return figure


# ---------------------------------------------------------------------------------------------
# Chapter 9: where it fails


def answer_text(case: Case) -> str:
    """A case's answer in a few words, true whatever the model says."""
    if case.not_a_digit:
        return f"unsure: not a digit? ({case.confidence:.0%})" if case.unsure else "not a digit"
    if case.answer is None:
        return "no digit"
    if case.unsure:
        return f"unsure: {case.answer}? ({case.confidence:.0%})"
    return f"reads {case.answer} ({case.confidence:.0%})"


def lessons_figure(lessons: Lessons) -> go.Figure:
    """What the model saw and answered: the drawing four ways (top), three styles (bottom)."""
    cases = [
        ("plain resize", lessons.naive), ("MNIST-style", lessons.preprocessed),
        ("small & high,<br>plain resize", lessons.high_naive),
        ("small & high,<br>MNIST-style", lessons.high_preprocessed),
        ("a crossed 7", lessons.crossed_seven), ("a European 1", lessons.european_one),
        ("a scribble", lessons.scribble),
    ]  # fmt: skip
    titles = [f"{name}<br><b>{answer_text(case)}</b>" for name, case in cases]
    figure = make_subplots(
        rows=2, cols=4, subplot_titles=titles, horizontal_spacing=0.04, vertical_spacing=0.2,
        specs=[[{}, {}, {}, {}], [{}, {}, {}, None]],
    )  # fmt: skip
    for index, (_, case) in enumerate(cases):
        row, col = divmod(index, 4)
        figure.add_trace(heat(case.image28, gray=True), row + 1, col + 1)
        image_axes(figure, row + 1, col + 1)
    figure = finish(figure, 660)
    figure.update_annotations(font_size=18)
    figure.update_layout(margin={"t": 90})
    return figure


# ---------------------------------------------------------------------------------------------
# Chapter 10: teach it your style


def samples_figure(counts: list[int]) -> go.Figure:
    """Your saved samples per digit (the fine-tune's raw material), zeros included."""
    figure = go.Figure(
        go.Bar(
            x=[str(d) for d in range(10)],
            y=counts,
            marker_color=ACCENT,
            text=[str(c) for c in counts],
            textposition="outside",
        )
    )
    figure = finish(figure, 420)
    figure.update_layout(title={"text": "your saved samples, per digit", "x": 0.5})
    figure.update_xaxes(showticklabels=True, type="category", tickfont={"size": 20})
    figure.update_yaxes(range=[0, max(5, max(counts, default=0) * 1.2)], showgrid=True,
                        showticklabels=True)  # fmt: skip
    return figure


def finetune_figure(figures: dict[str, Any]) -> go.Figure:
    """Accuracy before and after the last fine-tune: on your held-out samples, and on MNIST."""
    groups = [f"your held-out samples ({figures.get('n_personal_heldout', '?')})", "MNIST test"]
    figure = go.Figure()
    for when, colour in (("before", MUTED), ("after", ACCENT)):
        values = [figures[f"personal_accuracy_{when}"], figures[f"mnist_accuracy_{when}"]]
        figure.add_trace(
            go.Bar(
                name=when,
                x=groups,
                y=values,
                marker_color=colour,
                text=[f"{v:.0%}" for v in values],
                textposition="outside",
            )
        )
    figure.update_layout(barmode="group", showlegend=True, legend={"orientation": "h"})
    figure = finish(figure, 460)
    figure.update_layout(showlegend=True)
    figure.update_xaxes(showticklabels=True)
    figure.update_yaxes(range=[0, 1.15], tickformat=".0%", showticklabels=True, showgrid=True)
    return figure
