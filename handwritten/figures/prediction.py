"""Pure figure and image builders for the dashboard (no Streamlit): unit-testable."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from handwritten.data.preprocess import PreprocessResult
from handwritten.figures.colours import ACCENT, MUTED, RUN_PALETTE, TRANSPARENT


def probability_bars(probabilities: list[float] | np.ndarray, title: str = "") -> go.Figure:
    """All ten class probabilities as bars, the winner highlighted."""
    values = np.asarray(probabilities, dtype=float)
    if values.shape != (10,):
        raise ValueError(f"expected 10 probabilities, got shape {values.shape}")
    best = int(values.argmax()) if values.sum() > 0 else -1
    figure = go.Figure(
        go.Bar(
            x=[str(d) for d in range(10)],
            y=values,
            marker_color=[ACCENT if d == best else MUTED for d in range(10)],
            text=[f"{v:.0%}" if v >= 0.01 else "" for v in values],
            textposition="outside",
            hovertemplate="digit %{x}: %{y:.2%}<extra></extra>",
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
            ("scaled to fit 20×20", digit.fitted),
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
