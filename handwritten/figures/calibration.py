"""The reliability diagram: stated confidence against the accuracy it comes with (pure)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from handwritten.evaluation.calibration import Reliability
from handwritten.figures.colours import ACCENT, MUTED, TRANSPARENT, WARN


def reliability_diagram(
    before: Reliability, after: Reliability, threshold: float | None = None
) -> go.Figure:
    """Accuracy per confidence bin, before and after calibration, against the diagonal that a
    perfectly calibrated model would follow; bins without answers are left out; the "unsure"
    threshold, when given, is a vertical line."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                   line={"color": MUTED, "dash": "dash"}, hoverinfo="skip")
    )  # fmt: skip
    for label, table, colour in (("before", before, MUTED), ("calibrated", after, ACCENT)):
        used = table.counts > 0
        figure.add_trace(
            go.Scatter(
                x=table.confidence[used], y=table.accuracy[used], mode="lines+markers",
                name=label, line={"color": colour}, marker={"size": 4 + 10 * _share(table)[used]},
                customdata=table.counts[used],
                hovertemplate="confidence %{x:.1%}: right %{y:.2%} of %{customdata:,}"
                "<extra>" + label + "</extra>",
            )
        )  # fmt: skip
    if threshold is not None:
        figure.add_vline(
            x=threshold, line={"color": WARN, "dash": "dot"}, annotation_text="unsure below",
            annotation_position="top left",
        )  # fmt: skip
    figure.update_layout(
        height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10}, plot_bgcolor=TRANSPARENT,
        xaxis={"title": "stated confidence", "tickformat": ".0%", "range": [0, 1.02]},
        yaxis={"title": "share right", "tickformat": ".0%", "range": [0, 1.02]},
        legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return figure


def _share(table: Reliability) -> np.ndarray:
    """Each bin's share of the answers, for marker sizes (square-root scaled)."""
    return np.sqrt(table.counts / max(int(table.counts.sum()), 1))
