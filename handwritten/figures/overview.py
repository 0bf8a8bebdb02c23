"""The Tour's chapter 7 picture: the whole network at once (pure Plotly, after CNN Explainer).

One axis in "tile" units: each layer is a column at x = column x `PITCH`; its shown maps are
stacked into one heatmap (blank rows between them) placed by `x0`/`dx`/`dy`, so maps of any size
draw as equal squares and the whole picture is a dozen traces (one per map made the browser
draw 70, measured 1.5-2 s a render on a loaded 2-core machine). Connections are line shapes
behind the tiles, thicker and darker the stronger. Heatmap cells do not select on
a click, so every tile also has an invisible marker at its centre whose ``customdata`` is
``[column, position]`` (as the Data page's confusion matrix does): a click selects the nearest
marker, and Streamlit's selection event then says which map to open large.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

from handwritten.analysis.overview import Column, Overview
from handwritten.figures.colours import ACCENT, DIVERGING, GRAY, MAGNITUDE, MUTED, TRANSPARENT

PITCH = 2.4  # column spacing, in tiles
GAP = 2 / 7  # the blank between two tiles of a column, as a share of a tile (2 rows of a 7x7)
UNIT_TILE = 0.8  # a hidden unit's square
OUTPUT_TILE = 0.6  # the ten outputs are smaller, to fit the same height
BLOCK = 7  # a unit or output is drawn as a 7x7 block of its value


def _tile_size(column: Column) -> float:
    return OUTPUT_TILE if column.kind == "output" else 1.0 if column.spatial else UNIT_TILE


def _stack(column: Column) -> np.ndarray:
    """The column's maps (or unit values as 7x7 blocks) stacked top to bottom, NaN between."""
    if column.maps is not None:
        maps = np.asarray(column.maps, np.float32)
    else:
        assert column.values is not None
        values = np.asarray(column.values, np.float32)
        maps = np.broadcast_to(values[:, None, None], (len(values), BLOCK, BLOCK))
    count, height, width = maps.shape
    gap = max(1, round(height * GAP))
    out = np.full((count * height + (count - 1) * gap, width), np.nan, np.float32)
    for index, tile in enumerate(maps):
        out[index * (height + gap) : index * (height + gap) + height] = tile
    return out


def _centres(column: Column) -> list[float]:
    """Each tile's centre, y downwards, the column centred on 0: exactly where `_stack` puts
    it (the gap is a whole number of rows)."""
    stacked, size = _stack(column), _tile_size(column)
    height = column.maps.shape[1] if column.maps is not None else BLOCK
    gap = max(1, round(height * GAP))
    top, row = -len(stacked) * size / height / 2, size / height
    return [top + (i * (height + gap) + height / 2) * row for i in range(len(column.indices))]


def _layer_size(column: Column) -> str:
    if column.kind == "output":
        return "10"
    return "×".join(str(d) for d in column.shape)


def _scale(column: Column) -> dict[str, Any]:
    """One colour range per column, so its maps compare with each other."""
    assert column.maps is not None
    if column.kind == "input":
        return {"colorscale": GRAY, "zmin": 0.0, "zmax": 1.0}
    bound = float(np.abs(column.maps).max()) or 1.0
    if column.maps.min() < 0:
        return {"colorscale": DIVERGING, "zmin": -bound, "zmax": bound}
    return {"colorscale": MAGNITUDE, "zmin": 0.0, "zmax": bound}


def _column_trace(index: int, column: Column) -> tuple[go.Heatmap, list[tuple]]:
    """The column as one heatmap, and (x, y, column, position, hover text) for each tile."""
    x, size = index * PITCH, _tile_size(column)
    stacked = _stack(column)
    height = column.maps.shape[1] if column.maps is not None else BLOCK
    width = stacked.shape[1]
    if column.maps is not None:
        scale = _scale(column)
        hovers = [f"{column.name} · map {c}: click to open" for c in column.indices]
    elif column.kind == "output":
        scale = {"colorscale": [[0, "white"], [1, ACCENT]], "zmin": 0.0, "zmax": 1.0}
        hovers = [f"digit {d}: {v:.1%}" for d, v in enumerate(np.asarray(column.values))]
    else:
        values = np.asarray(column.values, np.float64)
        scale = {"colorscale": MAGNITUDE, "zmin": 0.0, "zmax": float(values.max()) or 1.0}
        hovers = [f"{column.name} · unit {u}: {v:.2f}" for u, v in zip(column.indices, values,
                                                                        strict=True)]  # fmt: skip
    row = size / height
    trace = go.Heatmap(
        z=stacked, x0=x - size / 2 + size / width / 2, dx=size / width,
        y0=-len(stacked) * row / 2 + row / 2, dy=row, showscale=False, hoverinfo="skip",
        hoverongaps=False, **scale,
    )  # fmt: skip
    ys = _centres(column)
    return trace, [(x, y, index, p, h) for p, (y, h) in enumerate(zip(ys, hovers, strict=True))]


def _markers(nodes: list[tuple]) -> go.Scatter:
    """One invisible, clickable marker per tile, carrying [column, position]."""
    return go.Scatter(
        x=[n[0] for n in nodes], y=[n[1] for n in nodes], mode="markers",
        marker={"size": 30, "symbol": "square", "opacity": 0},
        customdata=[[n[2], n[3]] for n in nodes], text=[n[4] for n in nodes],
        hovertemplate="%{text}<extra></extra>", showlegend=False,
        selected={"marker": {"opacity": 0}}, unselected={"marker": {"opacity": 0}},
    )  # fmt: skip


def _node_y(overview: Overview, column: int, position: int) -> float:
    return _centres(overview.columns[column])[position]


def _half_width(column: Column) -> float:
    return OUTPUT_TILE / 2 if column.kind == "output" else 0.5 if column.spatial else 0.4


def _edge_shapes(overview: Overview) -> list[dict[str, Any]]:
    shapes = []
    for edge in sorted(overview.edges, key=lambda e: e.strength):
        (c0, p0), (c1, p1) = edge.source, edge.target
        x0 = c0 * PITCH + _half_width(overview.columns[c0])
        x1 = c1 * PITCH - _half_width(overview.columns[c1])
        colour, width = (MUTED, 2.0) if edge.one_to_one else (ACCENT, 0.8 + 5.0 * edge.strength)
        shapes.append({
            "type": "line", "x0": x0, "x1": x1, "y0": _node_y(overview, c0, p0),
            "y1": _node_y(overview, c1, p1), "layer": "below",
            "line": {"color": colour, "width": width},
            "opacity": 0.9 if edge.one_to_one else 0.25 + 0.7 * edge.strength,
        })  # fmt: skip
    return shapes


def _labels(overview: Overview) -> list[dict[str, Any]]:
    """Column headers, the digits beside the outputs, and the winner's frame."""
    top = min(_centres(column)[0] - _tile_size(column) / 2 for column in overview.columns) - 0.2
    notes = [
        {"x": i * PITCH, "y": top, "showarrow": False, "yanchor": "bottom", "font": {"size": 14},
         "text": f"<b>{c.name}</b><br><span style='font-size:12px'>{_layer_size(c)}</span>"}
        for i, c in enumerate(overview.columns)
    ]  # fmt: skip
    out = len(overview.columns) - 1
    probabilities = np.asarray(overview.columns[out].values)
    for digit, y in enumerate(_centres(overview.columns[out])):
        won = digit == overview.answer
        text = f"<b>{digit}  {probabilities[digit]:.0%}</b>" if won else f"{digit}"
        notes.append(
            {
                "x": out * PITCH + 0.45,
                "y": y,
                "text": text,
                "showarrow": False,
                "xanchor": "left",
                "font": {"size": 18 if won else 14, "color": ACCENT if won else "#555"},
            }
        )
    return notes


def overview_figure(overview: Overview) -> go.Figure:
    """Every drawn layer as a column of thumbnails, the strongest connections between them,
    the winning digit lit."""
    figure = go.Figure()
    nodes: list[tuple] = []
    for index, column in enumerate(overview.columns):
        trace, more = _column_trace(index, column)
        figure.add_trace(trace)
        nodes += more
    figure.add_trace(_markers(nodes))
    out = len(overview.columns) - 1
    outputs = _centres(overview.columns[out])
    y = outputs[overview.answer]
    half = OUTPUT_TILE / 2 + 0.08
    winner = {"type": "rect", "x0": out * PITCH - half, "x1": out * PITCH + half,
              "y0": y - half, "y1": y + half, "line": {"color": ACCENT, "width": 4}}  # fmt: skip
    side = OUTPUT_TILE / 2  # the outputs are white when unlikely: a frame keeps them visible
    frames = [
        {"type": "rect", "x0": out * PITCH - side, "x1": out * PITCH + side, "y0": y0 - side,
         "y1": y0 + side, "line": {"color": MUTED, "width": 1}}
        for y0 in outputs
    ]  # fmt: skip
    low = max(_centres(c)[-1] + _tile_size(c) / 2 for c in overview.columns)
    high = min(_centres(c)[0] - _tile_size(c) / 2 for c in overview.columns)
    figure.update_layout(
        shapes=[*_edge_shapes(overview), *frames, winner], annotations=_labels(overview),
        height=660,
        margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False,
        plot_bgcolor=TRANSPARENT, paper_bgcolor=TRANSPARENT, font={"size": 16},
        dragmode=False, clickmode="event+select", hoverdistance=40,
        xaxis={"visible": False, "range": [-0.8, out * PITCH + 2.6], "fixedrange": True},
        yaxis={"visible": False, "range": [low + 0.3, high - 1.9], "fixedrange": True,
               "scaleanchor": "x", "constrain": "domain", "constraintoward": "top"},
    )  # fmt: skip
    return figure


def node_of(point: Mapping[str, Any]) -> tuple[int, int] | None:
    """(column, position) of the tile a click selected, or None for anything else."""
    data = point.get("customdata")
    try:
        column, position = int(data[0]), int(data[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    return column, position


def names_a_node(overview: Overview, column: int, position: int) -> bool:
    """Whether (column, position) is one of the overview's tiles (a stale click may not be)."""
    return 0 <= column < len(overview.columns) and 0 <= position < len(
        overview.columns[column].indices
    )


def map_figure(overview: Overview, column: int, position: int) -> go.Figure:
    """One map (or unit) of the overview, large, with its numbers on hover."""
    col = overview.columns[column]
    if col.maps is None:
        assert col.values is not None
        value = float(col.values[position])
        what = "digit" if col.kind == "output" else "unit"
        z, title = np.array([[value]]), f"{col.name}, {what} {col.indices[position]}: {value:.3f}"
    else:
        z = col.maps[position]
        title = f"{col.name}, map {col.indices[position]} ({z.shape[0]} × {z.shape[1]})"
    scale = _scale(col) if col.maps is not None else {"colorscale": MAGNITUDE}
    figure = go.Figure(
        go.Heatmap(
            z=np.asarray(z, np.float32),
            showscale=True,
            **scale,
            hovertemplate="row %{y}, column %{x}: %{z:.3f}<extra></extra>",
        )
    )
    figure.update_layout(title={"text": title, "font": {"size": 22}}, height=520, font={"size": 18},
                         margin={"l": 10, "r": 10, "t": 60, "b": 10})  # fmt: skip
    figure.update_xaxes(showticklabels=False, showgrid=False, constrain="domain")
    figure.update_yaxes(showticklabels=False, showgrid=False, autorange="reversed",
                        scaleanchor="x", constrain="domain")  # fmt: skip
    return figure
