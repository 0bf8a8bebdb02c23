"""Pure Plotly builders for the Explain page (no Streamlit): matrices, filters, maps, probes."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from handwritten.analysis.network import ConvWindow, Embedding, ProbeGrid
from handwritten.figures.colours import (
    ACCENT,
    DIGIT_COLOURS,
    DIVERGING,
    FRAME,
    GRAY,
    INK,
    MAGNITUDE,
    SEQUENTIAL,
    TRANSPARENT,
)


def _square(figure: go.Figure, height: int) -> go.Figure:
    """Square pixels, no axes, row 0 on top; narrower than drawn (a phone), it stays at the top."""
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="",
                        constrain="domain")  # fmt: skip
    figure.update_yaxes(
        showticklabels=False, showgrid=False, zeroline=False, ticks="", autorange="reversed",
        scaleanchor="x", constrain="domain", constraintoward="top",
    )  # fmt: skip
    return figure


def matrix_heatmap(
    image: np.ndarray,
    title: str = "",
    *,
    text: bool = False,
    colorscale: str = GRAY,
    symmetric: bool = False,
    axes: tuple[str, str] | None = None,
    legend: str | None = None,
) -> go.Figure:
    """A 2-D array as a heatmap, values on hover (and printed in cells with `text`).

    `axes` (x title, y title) labels the axes with their ticks; `legend` adds a colour bar with
    that title, so a reader knows what a colour means.
    """
    array = np.asarray(image, np.float64)
    bound = float(np.abs(array).max()) or 1.0
    trace = go.Heatmap(
        z=array,
        colorscale=colorscale,
        showscale=legend is not None,
        colorbar=_colour_bar(legend),
        zmin=-bound if symmetric else None,
        zmax=bound if symmetric else None,
        hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>",
        text=np.round(array, 2) if text else None,
        texttemplate="%{text}" if text else None,
    )
    figure = go.Figure(trace)
    figure.update_layout(title=title or None)
    _square(figure, 320)
    if axes is not None:  # whole-pixel ticks: rows and columns are counted, not measured
        figure.update_xaxes(
            showticklabels=True, title_text=axes[0], ticks="outside", dtick=_tick(array.shape[1])
        )
        figure.update_yaxes(
            showticklabels=True, title_text=axes[1], ticks="outside", dtick=_tick(array.shape[0])
        )
        figure.update_layout(margin={"l": 60, "r": 10, "t": 40, "b": 50})
    return figure


def _tick(count: int) -> int:
    """A whole tick step giving at most about six ticks along `count` cells."""
    return max(1, -(-count // 6))


def _colour_bar(title: str | None, **extra: object) -> dict[str, object] | None:
    """A slim colour bar whose title says what the colours measure."""
    if title is None:
        return None
    return {"title": {"text": title, "side": "right"}, "thickness": 12, **extra}


def heatmap_row(
    images: list[np.ndarray],
    titles: list[str],
    *,
    symmetric: bool = False,
    colorscale: str = GRAY,
    text: bool = False,
    height: int = 300,
    zrange: tuple[float, float] | None = None,
) -> go.Figure:
    """Several equally sized heatmaps side by side; `zrange` gives all of them one fixed scale
    (else each is scaled to its own values)."""
    figure = make_subplots(rows=1, cols=len(images), subplot_titles=titles, horizontal_spacing=0.04)
    for column, image in enumerate(images, 1):
        array = np.asarray(image, np.float64)
        bound = float(np.abs(array).max()) or 1.0
        low, high = zrange if zrange is not None else (-bound, bound) if symmetric else (None, None)
        figure.add_trace(
            go.Heatmap(
                z=array,
                colorscale=colorscale,
                showscale=False,
                zmin=low,
                zmax=high,
                text=np.round(array, 2) if text else None,
                texttemplate="%{text}" if text else None,
                hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>",
            ),
            row=1,
            col=column,
        )
    figure.update_yaxes(autorange="reversed")
    figure.update_annotations(font_size=12)  # subplot titles: short, and small enough to fit
    return _square(figure, height)


def rgba_channels(rgba: np.ndarray, gray: np.ndarray) -> go.Figure:
    """The canvas's R, G, B and alpha channels and the grayscale channel made from them, all on
    one 0 (black) to 1 (white) scale: an opaque alpha is white, not an autoscaled grey."""
    channels = [rgba[..., i].astype(np.float64) / 255.0 for i in range(4)]
    figure = heatmap_row(
        [*channels, gray], ["red", "green", "blue", "alpha", "gray"], zrange=(0.0, 1.0)
    )
    for index in range(1, 6):  # a frame, so that a white (opaque) alpha shows on a white page
        axis = "" if index == 1 else str(index)
        figure.add_shape(
            type="rect", xref=f"x{axis} domain", yref=f"y{axis} domain", x0=0, x1=1, y0=0,
            y1=1, line={"color": FRAME, "width": 1},
        )  # fmt: skip
    return figure


def conv_step(step: ConvWindow) -> go.Figure:
    """Window, kernel and their products, with numbers, for one output pixel."""
    return heatmap_row(
        [step.window, step.kernel, step.products],
        ["window", "kernel", f"products: sum {step.value:.2f}"],  # short: fits a phone
        symmetric=True,
        colorscale=DIVERGING,
        text=True,
        height=280,
    )


def mosaic(maps: np.ndarray, columns: int | None = None) -> np.ndarray:
    """Tile (n, h, w) maps into one image with a NaN gutter (drawn blank) between tiles."""
    count, height, width = maps.shape
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    out = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    for index in range(count):
        r, c = divmod(index, columns)
        out[
            r * (height + 1) : r * (height + 1) + height, c * (width + 1) : c * (width + 1) + width
        ] = maps[index]
    return out


def filter_grid(filters: np.ndarray, title: str) -> go.Figure:
    """Kernels (n, kh, kw) as one tiled heatmap; blue negative, red positive, each kernel scaled
    to its own largest weight (the colour bar says so)."""
    normalised = filters / (
        np.abs(filters).reshape(len(filters), -1).max(axis=1)[:, None, None] + 1e-9
    )
    figure = go.Figure(
        go.Heatmap(
            z=mosaic(normalised, _wide_columns(len(filters))),
            colorscale=DIVERGING,
            zmid=0,
            zmin=-1,
            zmax=1,
            colorbar=_colour_bar(
                "weight (÷ its max)", tickvals=[-1, 0, 1], ticktext=["−", "0", "+"]
            ),
            hoverinfo="skip",
        )
    )
    figure.update_layout(title=title)
    return _square(figure, 330)


def _wide_columns(count: int) -> int:
    """Columns for a mosaic about 2.5 times as wide as tall: it fills the page's width."""
    return max(1, min(count, int(np.ceil(np.sqrt(2.5 * count)))))


def feature_maps(activation_hwc: np.ndarray, title: str, max_channels: int = 64) -> go.Figure:
    """Every channel of a conv/pool activation (h, w, c), tiled about twice as wide as tall, each
    scaled to its own max; the colour bar is that share, the caption under it the channel."""
    maps = np.moveaxis(activation_hwc[..., :max_channels], -1, 0).astype(np.float64)
    peak = np.abs(maps).reshape(len(maps), -1).max(axis=1)[:, None, None]
    figure = go.Figure(
        go.Heatmap(
            z=mosaic(maps / (peak + 1e-9), _wide_columns(len(maps))),
            colorscale=MAGNITUDE,
            colorbar=_colour_bar("share of the map's max"),
            hoverinfo="skip",
        )
    )
    figure.update_layout(title=title)
    return _square(figure, 330)


def map_detail(map_hw: np.ndarray, title: str) -> go.Figure:
    """One feature map, large, with pixel axes and its values in a colour bar."""
    return matrix_heatmap(
        map_hw, title, colorscale=MAGNITUDE, axes=("column", "row"), legend="activation"
    )


def kernel_detail(kernel_hw: np.ndarray, title: str) -> go.Figure:
    """One filter's weights, numbers in the cells, red positive and blue negative."""
    return matrix_heatmap(
        kernel_hw, title, text=True, colorscale=DIVERGING, symmetric=True,
        axes=("column", "row"), legend="weight",
    )  # fmt: skip


def kernel_strengths(norms_c: np.ndarray, title: str) -> go.Figure:
    """How strongly one output channel reads each input map (its kernel's norm per input)."""
    figure = go.Figure(
        go.Bar(x=[str(i) for i in range(len(norms_c))], y=norms_c, marker_color=ACCENT)
    )
    figure.update_layout(
        title=title, height=320, margin={"l": 60, "r": 10, "t": 40, "b": 50},
        xaxis={"type": "category", "title": "input map (channel of the layer before)"},
        yaxis={"title": "strength (kernel norm)"},
    )  # fmt: skip
    return figure


def top_units(values: np.ndarray, title: str, k: int = 20) -> go.Figure:
    """The k most active units of a dense layer, labelled by their number."""
    order = np.argsort(values)[::-1][:k]
    figure = go.Figure(go.Bar(x=[f"#{i}" for i in order], y=values[order], marker_color=ACCENT))
    figure.update_layout(
        title=title,
        height=280,
        margin={"l": 60, "r": 10, "t": 40, "b": 50},
        xaxis={"type": "category", "title": "unit (most active first)"},
        yaxis={"title": "activation"},
    )
    return figure


def saliency_overlay(image28: np.ndarray, attribution: np.ndarray) -> go.Figure:
    """The input, and gradient × input over it: red pushed the answer up, blue down."""
    bound = float(np.abs(attribution).max()) or 1.0
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=["what the model sees", "gradient × input"]
    )
    figure.add_trace(go.Heatmap(z=image28, colorscale=GRAY, showscale=False), row=1, col=1)
    figure.add_trace(
        go.Heatmap(z=image28, colorscale=GRAY, showscale=False, opacity=0.35), row=1, col=2
    )
    masked = np.where(np.abs(attribution) > 0.02 * bound, attribution, np.nan)
    figure.add_trace(
        go.Heatmap(
            z=masked,
            colorscale=DIVERGING,
            zmid=0,
            zmin=-bound,
            zmax=bound,
            showscale=False,
            opacity=0.85,
            hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    figure.update_yaxes(autorange="reversed")
    return _square(figure, 340)


def embedding_map(
    embedding: Embedding, drawing_xy: np.ndarray | None, neighbours: np.ndarray | None = None
) -> go.Figure:
    """Test digits in 2-D (PCA of penultimate features) by class; the drawing as a star."""
    figure = go.Figure()
    for digit in range(10):
        mask = embedding.labels == digit
        figure.add_trace(
            go.Scattergl(
                x=embedding.points[mask, 0],
                y=embedding.points[mask, 1],
                mode="markers",
                name=str(digit),
                marker={"size": 5, "color": DIGIT_COLOURS[digit], "opacity": 0.6},
                customdata=embedding.indices[mask],
                hovertemplate=f"digit {digit} · test #%{{customdata}}<extra></extra>",
            )
        )
    if neighbours is not None and len(neighbours):
        figure.add_trace(
            go.Scatter(
                x=embedding.points[neighbours, 0],
                y=embedding.points[neighbours, 1],
                mode="markers",
                name="nearest",
                marker={
                    "size": 12,
                    "color": TRANSPARENT,
                    "line": {"width": 2, "color": INK},
                },
            )
        )
    if drawing_xy is not None:
        figure.add_trace(
            go.Scatter(
                x=[drawing_xy[0]],
                y=[drawing_xy[1]],
                mode="markers",
                name="your drawing",
                marker={"symbol": "star", "size": 22, "color": INK},
            )
        )
    figure.update_layout(
        height=460,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="PC 1",
        yaxis_title="PC 2",
        legend={"itemsizing": "constant"},
    )
    return figure


def probe_heatmap(grid: ProbeGrid, title: str, x_title: str, y_title: str) -> go.Figure:
    """Confidence in the original answer over a distortion grid; cells show the predicted digit."""
    figure = go.Figure(
        go.Heatmap(
            z=grid.confidence,
            x=grid.cols,
            y=grid.rows,
            zmin=0,
            zmax=1,
            colorscale=SEQUENTIAL,
            text=grid.predicted,
            texttemplate="%{text}",
            colorbar={"title": "P(answer)"},
            hovertemplate=f"{y_title} %{{y}}, {x_title} %{{x}}: reads %{{text}}"
            " (P(answer) %{z:.0%})<extra></extra>",
        )
    )
    figure.update_layout(
        title=title,
        height=360,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title=x_title,
        # First row on top: "down (px)" grows downwards, thin-to-thick reads top to bottom.
        yaxis={"title": y_title, "autorange": "reversed"},
    )
    return figure
