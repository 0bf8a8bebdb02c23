"""Pure Plotly builders for the Data page (no Streamlit): class balance, image grids, the confusion
matrix and per-class accuracy.

Image grids are one PNG mosaic in a `go.Image` trace (a few tens of kB however many tiles) with an
invisible marker on each tile for the hover text; a 40-tile heatmap would send ~40,000 cells.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike
from PIL import Image

from handwritten.analysis.scores import CellExample
from handwritten.figures.colours import ACCENT, MUTED, SEQUENTIAL, TRANSPARENT, WARN
from handwritten.models.architectures import NOT_A_DIGIT

DIGITS = list(range(10))
# Height of one caption line under a tile, in the mosaic's pixels. The captions keep their font
# size while a grid shrinks to a phone's width (to ~45%), so the room is sized for that: 24 px
# still holds an 11 px line there.
CAPTION_PX = 24
GAP_PX = 6  # space between tiles


def _layout(figure: go.Figure, height: int, title: str | None) -> go.Figure:
    figure.update_layout(
        title=title or None,
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        plot_bgcolor=TRANSPARENT,
        paper_bgcolor=TRANSPARENT,
    )
    return figure


def class_balance_bars(train_counts: ArrayLike, test_counts: ArrayLike) -> go.Figure:
    """Images per digit in the training and test sets, side by side; hover gives the share."""
    figure = go.Figure()
    for name, counts, colour in (("train", train_counts, ACCENT), ("test", test_counts, MUTED)):
        values = np.asarray(counts, dtype=np.int64)
        if values.shape != (10,):
            raise ValueError(f"expected 10 {name} counts, got shape {values.shape}")
        share = values / max(int(values.sum()), 1)
        figure.add_trace(
            go.Bar(
                x=DIGITS,
                y=values,
                name=f"{name} ({int(values.sum()):,})",
                marker_color=colour,
                customdata=share,
                hovertemplate=f"{name}, digit %{{x}}: %{{y:,}} images (%{{customdata:.1%}})"
                "<extra></extra>",
            )
        )
    figure.update_layout(
        barmode="group",
        xaxis={"type": "category", "title": "digit"},
        yaxis={"title": "images", "showgrid": False},
        legend={"orientation": "h", "y": -0.3, "x": 0},  # below: the toolbar sits on top
    )
    return _layout(figure, 330, None)


def _png_data_uri(rgba: np.ndarray) -> str:
    buffer = io.BytesIO()
    # Fast compression: 5x quicker than `optimize` for a third more bytes (~50 kB for 40 tiles).
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@dataclass(frozen=True)
class _Mosaic:
    """Tiles laid out in one RGBA image, with where each tile's centre and caption go."""

    rgba: np.ndarray  # (rows * cell_h, columns * cell_w, 4), transparent between tiles
    centres_x: list[float]
    centres_y: list[float]
    annotations: list[dict[str, Any]]


def _mosaic(
    images_nhw_u8: np.ndarray, captions: Sequence[str], columns: int, zoom: int, gap_px: int
) -> _Mosaic:
    """Place each image, upscaled by `zoom`, in its cell, with room under it for its caption."""
    n, height, width = images_nhw_u8.shape
    rows = max(1, math.ceil(n / columns))
    lines = max((c.count("<br>") + 1 for c in captions), default=0)
    cell_w = width * zoom + gap_px
    cell_h = height * zoom + lines * CAPTION_PX + GAP_PX
    mosaic = _Mosaic(np.zeros((rows * cell_h, columns * cell_w, 4), np.uint8), [], [], [])
    for index, image in enumerate(images_nhw_u8):
        row, col = divmod(index, columns)
        top, left = row * cell_h, col * cell_w
        tile = np.repeat(np.repeat(image, zoom, axis=0), zoom, axis=1)
        mosaic.rgba[top : top + height * zoom, left : left + width * zoom, :3] = tile[..., None]
        mosaic.rgba[top : top + height * zoom, left : left + width * zoom, 3] = 255
        mosaic.centres_x.append(left + width * zoom / 2)
        mosaic.centres_y.append(top + height * zoom / 2)
        mosaic.annotations.append(
            {
                "x": left + width * zoom / 2,
                "y": top + height * zoom + 1,
                "xref": "x",
                "yref": "y",
                "text": captions[index],
                "showarrow": False,
                "yanchor": "top",
                "font": {"size": 11},
            }
        )
    return mosaic


def image_grid(
    images_nhw: np.ndarray,
    captions: Sequence[str],
    *,
    hovers: Sequence[str] | None = None,
    columns: int = 10,
    tile_px: int = 72,
    gap_px: int = GAP_PX,
    title: str | None = None,
) -> go.Figure:
    """Images (N, H, W), uint8 or float in [0, 1], in a grid with a caption under each.

    Captions may hold several lines (``<br>``); `hovers` (default: the captions) is shown when
    the pointer is over a tile. Gaps (`gap_px`, room for wide captions) are transparent, so the
    grid suits light and dark themes.
    """
    images = np.asarray(images_nhw)
    if images.ndim != 3:
        raise ValueError(f"expected images (N, H, W), got shape {images.shape}")
    if len(captions) != len(images) or (hovers is not None and len(hovers) != len(images)):
        raise ValueError("one caption (and hover text) per image")
    if images.dtype != np.uint8:
        images = (np.clip(images, 0.0, 1.0) * 255).round().astype(np.uint8)
    n, height, _ = images.shape
    columns = max(1, min(columns, n))
    zoom = max(1, math.ceil(tile_px / height))  # integer upscaling keeps pixels crisp
    mosaic = _mosaic(images, captions, columns, zoom, gap_px)
    grid_h, grid_w = mosaic.rgba.shape[:2]
    figure = go.Figure(
        go.Image(source=_png_data_uri(mosaic.rgba), x0=0.5, y0=0.5, dx=1, dy=1, hoverinfo="skip")
    )
    figure.add_trace(
        go.Scatter(
            x=mosaic.centres_x,
            y=mosaic.centres_y,
            mode="markers",
            marker={"size": max(8, height * zoom // 2), "opacity": 0},
            hovertext=list(hovers if hovers is not None else captions),
            hovertemplate="%{hovertext}<extra></extra>",
            showlegend=False,
        )
    )
    figure.update_layout(
        annotations=mosaic.annotations,
        hoverdistance=height * zoom // 2,
        dragmode=False,
        xaxis={"visible": False, "range": [0, grid_w], "constrain": "domain"},
        yaxis={"visible": False, "range": [grid_h, 0], "scaleanchor": "x", "constrain": "domain",
               "constraintoward": "top"},  # narrower than drawn (a phone): keep it at the top
    )  # fmt: skip
    return _layout(figure, grid_h + (50 if title else 20), title)


def mean_image_grid(means_khw: np.ndarray, counts: ArrayLike | None = None) -> go.Figure:
    """The average image of each digit: what a pixel-by-pixel template would compare against."""
    captions = [str(digit) for digit in range(len(means_khw))]
    hovers = None
    if counts is not None:
        hovers = [f"mean of {int(c):,} images of {d}" for d, c in enumerate(np.asarray(counts))]
    return image_grid(means_khw, captions, hovers=hovers, columns=10, tile_px=84)


def example_grid(images_nhw: np.ndarray, indices: ArrayLike, columns: int = 8) -> go.Figure:
    """Data-set images captioned with their index (``#123``), so one can be found again."""
    captions = [f"#{int(i)}" for i in np.asarray(indices).ravel()]
    return image_grid(images_nhw, captions, columns=columns, tile_px=64)


def _guess(answer: int, probability: float) -> str:
    return f"{answer_name(answer)}: {probability:.0%}"


def cell_grid(
    images_nhw: np.ndarray, examples: Sequence[CellExample], columns: int = 5
) -> go.Figure:
    """Test images of a confusion cell, each captioned with its index and top guesses."""
    captions, hovers = [], []
    for e in examples:
        guesses = [_guess(answer, probability) for answer, probability in e.top]
        lines = [f"#{e.index}", guesses[0], " · ".join(guesses[1:])]
        captions.append("<br>".join(line for line in lines if line))
        hovers.append(f"test #{e.index}, a {e.label}, read as " + ", ".join(guesses))
    return image_grid(images_nhw, captions, hovers=hovers, columns=columns, tile_px=84, gap_px=30)


def answer_name(answer: int) -> str:
    """A confusion column's name: the digit, or "not a digit" for an 11-output model's last."""
    return "not a digit" if answer == NOT_A_DIGIT else str(answer)


def confusion_heatmap(
    confusion_kk: np.ndarray, selected: tuple[int, int] | None = None, title: str | None = None
) -> go.Figure:
    """Rows are the true digit, columns the answer (an 11th, "not a digit", for a model that
    can decline); counts in the cells, colour on a log scale.

    The log scale keeps a handful of mistakes visible next to ~1,000 correct answers. Plotly does
    not report clicks on heatmaps to Streamlit, so an invisible marker sits on every cell (point
    ``columns * true + predicted``, x = predicted, y = true); `cell_from_point` reads a click back.
    """
    counts = np.asarray(confusion_kk, dtype=np.int64)
    if counts.shape not in ((10, 10), (10, 11)):
        raise ValueError(f"expected a (10, 10) or (10, 11) confusion matrix, got {counts.shape}")
    answers = list(range(counts.shape[1]))
    figure = go.Figure(
        go.Heatmap(
            x=answers,
            y=DIGITS,
            z=np.log1p(counts),
            text=[[str(c) if c else "" for c in row] for row in counts],
            texttemplate="%{text}",
            colorscale=SEQUENTIAL,
            showscale=False,
            hoverinfo="skip",
            xgap=1,
            ygap=1,
        )
    )
    figure.add_trace(_cell_markers(counts))
    if selected is not None:
        true, predicted = selected
        figure.add_shape(
            type="rect",
            x0=predicted - 0.5,
            x1=predicted + 0.5,
            y0=true - 0.5,
            y1=true + 0.5,
            line={"color": WARN, "width": 3},
        )
    axis = {
        "tickmode": "array",
        "showgrid": False,
        "zeroline": False,
        "constrain": "domain",  # keep the cells square, ticks beside them
    }
    names = [answer_name(a).replace(" ", "<br>", 1) for a in answers]  # "not<br>a digit"
    figure.update_layout(
        xaxis={**axis, "tickvals": answers, "ticktext": names, "title": "predicted",
               "side": "top", "range": [-0.5, len(answers) - 0.5]},
        yaxis={**axis, "tickvals": DIGITS, "title": "true", "range": [9.5, -0.5],
               "scaleanchor": "x"},
        hoverdistance=30,
        dragmode=False,
        clickmode="event+select",
    )  # fmt: skip
    return _layout(figure, 480, title)


def _cell_markers(counts_kk: np.ndarray) -> go.Scatter:
    """One invisible, clickable marker per confusion cell (point ``columns * true +
    predicted``), hovering with the count and its share of the true digit."""
    columns = counts_kk.shape[1]
    true_k, predicted_k = np.divmod(np.arange(counts_kk.size), columns)
    share = counts_kk / np.maximum(counts_kk.sum(axis=1), 1)[:, None]
    return go.Scatter(
        x=predicted_k,
        y=true_k,
        mode="markers",
        marker={"size": 28, "symbol": "square", "opacity": 0},
        customdata=np.stack([counts_kk.ravel(), share.ravel()], axis=1),
        hovertext=[
            f"true {t}, read as {answer_name(a)}" for t, a in zip(true_k, predicted_k, strict=True)
        ],
        hovertemplate="%{hovertext}: %{customdata[0]:,} images "
        "(%{customdata[1]:.1%} of the %{y}s)<extra></extra>",
        selected={"marker": {"opacity": 0}},
        unselected={"marker": {"opacity": 0}},
        showlegend=False,
    )


def cell_from_point(point: Mapping[str, Any]) -> tuple[int, int] | None:
    """(true, predicted) of a point clicked on `confusion_heatmap`, or None for anything else
    (predicted is `NOT_A_DIGIT` for the "not a digit" column)."""
    try:
        true, predicted = round(float(point["y"])), round(float(point["x"]))
    except (KeyError, TypeError, ValueError):
        return None
    return (true, predicted) if 0 <= true < 10 and 0 <= predicted <= NOT_A_DIGIT else None


def per_class_accuracy_bars(per_class: ArrayLike, support: ArrayLike | None = None) -> go.Figure:
    """Accuracy (recall) of each digit; the weakest in red, the axis zoomed to where they differ.

    A digit absent from the test set (NaN) gets no bar.
    """
    values = np.asarray(per_class, dtype=float)
    if values.shape != (10,):
        raise ValueError(f"expected 10 accuracies, got shape {values.shape}")
    present = values[~np.isnan(values)]
    worst = int(np.nanargmin(values)) if len(present) else -1
    floor = max(0.0, math.floor((present.min() - 0.01) * 20) / 20) if len(present) else 0.0
    counts = np.asarray(support if support is not None else np.zeros(10), dtype=np.int64)
    figure = go.Figure(
        go.Bar(
            x=DIGITS,
            y=np.nan_to_num(values, nan=0.0),
            marker_color=[WARN if d == worst else ACCENT for d in DIGITS],
            text=["–" if np.isnan(v) else f"{v:.1%}" for v in values],
            textposition="outside",
            customdata=counts,
            hovertemplate="digit %{x}: %{y:.2%} of %{customdata:,} read correctly<extra></extra>"
            if support is not None
            else "digit %{x}: %{y:.2%}<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"type": "category", "title": "true digit"},
        yaxis={"range": [floor, 1.0 + (1.0 - floor) * 0.12], "tickformat": ".0%"},
        showlegend=False,
    )
    return _layout(figure, 300, None)
