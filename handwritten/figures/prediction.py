"""Pure figure and image builders for the dashboard (no Streamlit): unit-testable."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw
from plotly.subplots import make_subplots

from handwritten.data.preprocess import PreprocessResult
from handwritten.figures.colours import ACCENT, DIGIT_COLOURS, MUTED, RUN_PALETTE, TRANSPARENT


def _bar_values(
    probabilities: list[float] | np.ndarray, not_a_digit: bool
) -> tuple[list[str], np.ndarray, int]:
    """(names, values, index of the winner or -1) of the bars: ten digits, and with
    `not_a_digit` an eleventh for what is left, the probability it is no digit."""
    values = np.asarray(probabilities, dtype=float)
    if values.shape != (10,):
        raise ValueError(f"expected 10 probabilities, got shape {values.shape}")
    names = [str(d) for d in range(10)]
    if not_a_digit:
        values = np.append(values, max(0.0, 1.0 - float(values.sum())))
        names.append("not a digit")
    best = int(values.argmax()) if values.sum() > 0 else -1
    return names, values, best


def probability_bars(
    probabilities: list[float] | np.ndarray, title: str = "", *, not_a_digit: bool = False
) -> go.Figure:
    """All ten digit probabilities as bars, the winner highlighted; with `not_a_digit` (a model
    with that output), an eleventh bar for what is left: the probability it is no digit."""
    names, values, best = _bar_values(probabilities, not_a_digit)
    figure = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker_color=[ACCENT if d == best else MUTED for d in range(len(values))],
            text=[f"{v:.0%}" if v >= 0.01 else "" for v in values],
            textposition="outside",
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        title=title or None,
        height=260,
        margin={"l": 10, "r": 10, "t": 30 if title else 10, "b": 10},
        yaxis={"range": [0, 1.15], "tickformat": ".0%", "showgrid": False},
        xaxis={"type": "category", "title": None},
        showlegend=False,
        plot_bgcolor=TRANSPARENT,
    )
    return figure


BAR_HEIGHT_PX = 150  # a bar at 100%


def probability_bars_html(
    probabilities: list[float] | np.ndarray, title: str = "", *, not_a_digit: bool = False
) -> str:
    """`probability_bars` as plain HTML and CSS, for the answer shown on every stroke: a
    browser lays it out in a fraction of what a Plotly chart costs it to draw (with ten people
    drawing at once, the Plotly bars were half of the browser's CPU time, `serve_load.py`).
    Each bar says its digit and probability to a screen reader too."""
    names, values, best = _bar_values(probabilities, not_a_digit)
    columns = []
    for index, (name, value) in enumerate(zip(names, values, strict=True)):
        colour = ACCENT if index == best else MUTED
        height = round(BAR_HEIGHT_PX * float(value))
        label = f"{value:.0%}" if value >= 0.01 else ""
        weight = "font-weight:600;" if index == best else ""
        columns.append(
            f'<div role="img" aria-label="{name}: {value:.1%}" title="{name}: {value:.2%}" '
            'style="flex:1;display:flex;flex-direction:column;align-items:center;'
            f'justify-content:flex-end;min-width:0"><span style="font-size:0.75rem;{weight}">'
            f'{label}</span><div style="width:70%;height:{height}px;background:{colour};'
            'border-radius:2px 2px 0 0"></div><span style="font-size:0.8rem;margin-top:4px;'
            f'line-height:1.1;text-align:center;max-width:100%;{weight}">{name}</span></div>'
        )
    heading = f'<div style="font-size:0.9rem;margin-bottom:4px">{title}</div>' if title else ""
    return (
        f'<div class="probability-bars">{heading}<div style="display:flex;gap:2px;'
        f'align-items:flex-end;height:{BAR_HEIGHT_PX + 56}px">{"".join(columns)}</div></div>'
    )


def to_display(image: np.ndarray, size: int = 140) -> np.ndarray:
    """A float image in [0, 1] or uint8 gray/RGBA as a square uint8 tile, crisp pixels.

    Non-square images are centred on a black square so every step shows at the same scale.
    """
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 4:  # RGBA: show transparency as black
        alpha = array[..., 3:4].astype(np.float32) / 255.0
        array = (array[..., :3] * alpha).round().astype(np.uint8)
    height, width = array.shape[:2]
    side = max(height, width, 1)
    square = np.zeros((side, side, *array.shape[2:]), np.uint8)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = array
    resample = Image.Resampling.NEAREST if size >= side else Image.Resampling.BOX
    return np.asarray(Image.fromarray(square).resize((size, size), resample))


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def grouping_image(result: PreprocessResult, labels: list[str], size: int = 320) -> np.ndarray:
    """The ink with each digit's box drawn in its own colour and labelled with its reading
    (how segmentation grouped the pieces), as a uint8 RGB image at most `size` px wide."""
    ink = (np.clip(result.ink, 0.0, 1.0) * 255).astype(np.uint8)
    scale = min(1.0, size / max(ink.shape))
    canvas = Image.fromarray(ink).convert("RGB")
    if scale < 1.0:
        canvas = canvas.resize(
            (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale))),
            Image.Resampling.BOX,
        )
    pen = ImageDraw.Draw(canvas)
    for index, (crop, label) in enumerate(zip(result.digits, labels, strict=True)):
        colour = _rgb(DIGIT_COLOURS[index % len(DIGIT_COLOURS)])
        top, left, bottom, right = (round(v * scale) for v in crop.box)
        pen.rectangle((left - 2, top - 2, right + 1, bottom + 1), outline=colour, width=2)
        pen.text((left, max(0, top - 14)), label, fill=colour)
    return np.asarray(canvas)


def pipeline_steps(result: PreprocessResult) -> list[tuple[str, np.ndarray]]:
    """(caption, image) for each preprocessing step of the first digit, for display."""
    steps = [
        ("your drawing", result.original),
        ("grayscale", result.grayscale),
        ("white ink on black" + (" (inverted)" if result.inverted else ""), result.ink),
    ]
    if result.digits:
        digit = result.digits[0]
        steps += [
            ("cropped to the ink", digit.cropped),
            ("fitted to 20×20, MNIST-wide strokes", digit.fitted),
            ("centred in 28×28 by mass", digit.centred),
        ]
    return [(caption, to_display(image)) for caption, image in steps]


def training_curves(runs: dict[str, list[dict]]) -> go.Figure:
    """Loss (left) and accuracy (right) against epochs for one or several runs.

    `runs` maps a label to the run's metric records (``metrics.jsonl`` lines): training lines
    give loss and batch accuracy, epoch lines the test accuracy (drawn as markers).
    """
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("training loss", "accuracy"), horizontal_spacing=0.1
    )
    for index, (label, records) in enumerate(runs.items()):
        colour = RUN_PALETTE[index % len(RUN_PALETTE)]
        train = [r for r in records if r.get("kind") == "train" and r.get("loss") is not None]
        tests = [r for r in records if r.get("kind") == "epoch"]
        x = [r["epoch"] for r in train]
        figure.add_trace(
            go.Scatter(x=x, y=[r["loss"] for r in train], name=f"{label} loss",
                       mode="lines", line={"color": colour}, legendgroup=label),
            row=1, col=1,
        )  # fmt: skip
        figure.add_trace(
            go.Scatter(x=x, y=[r["accuracy"] for r in train], name=f"{label} train acc.",
                       mode="lines", line={"color": colour, "dash": "dot"}, legendgroup=label),
            row=1, col=2,
        )  # fmt: skip
        figure.add_trace(
            go.Scatter(x=[r["epoch"] for r in tests], y=[r["test_accuracy"] for r in tests],
                       name=f"{label} test acc.", mode="lines+markers",
                       line={"color": colour}, marker={"size": 8}, legendgroup=label),
            row=1, col=2,
        )  # fmt: skip
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(rangemode="tozero", row=1, col=1)
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=2)
    figure.update_layout(  # a tall top margin: the toolbar sits above the subplot titles
        height=360, margin={"l": 10, "r": 10, "t": 70, "b": 10},
        legend={"orientation": "h", "y": -0.25}, plot_bgcolor=TRANSPARENT,
    )  # fmt: skip
    figure.update_annotations(yshift=4)
    return figure


def sample_counts(counts: list[int]) -> go.Figure:
    """Personal samples per digit; the count axis starts at 0 and steps by whole samples (an
    empty store shows 0 to 1, not Plotly's -1 to 1)."""
    figure = go.Figure(go.Bar(x=[str(d) for d in range(10)], y=counts, marker_color=ACCENT))
    top = max(max(counts, default=0), 1)
    figure.update_layout(
        height=220,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"type": "category", "title": "digit"},
        yaxis={"title": "samples", "range": [0, top * 1.1], "tickformat": "d",
               "dtick": max(1, -(-top // 5))},
    )  # fmt: skip
    return figure
