"""The Tour's pictures for chapters 2 to 6 (pure Plotly builders), and the look they share.

Every figure of the Tour is made to be read from the back of a room: 18 px type, a handful of
panels, titles that say what a panel shows rather than what it is called. Arrays come from
`handwritten.analysis.story`; chapters 8 to 10 are drawn in `handwritten.figures.tour_learning`.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from handwritten.analysis.story import ConvolutionStory, DenseStory, FilterStory, PoolingStory
from handwritten.data.preprocess import PreprocessResult
from handwritten.figures.colours import ACCENT, DIVERGING, GRAY, MAGNITUDE, MUTED, TRANSPARENT, WARN
from handwritten.figures.network import mosaic
from handwritten.figures.prediction import pipeline_steps

FONT = 18
TITLE_FONT = 19
HEIGHT = 560
STILL = {"displayModeBar": False}  # what pages pass as the charts' config: nothing to zoom


def png_source(tile: np.ndarray) -> str:
    """A uint8 gray or RGB tile as a PNG data URI: a picture's pixels as a few kB, where a
    numeric array of them would send every pixel as a number."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(tile[..., :3] if tile.ndim == 3 else tile)).save(
        buffer, "PNG"
    )
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def finish(figure: go.Figure, height: int = HEIGHT) -> go.Figure:
    """Large type, transparent background, square pixels, no axes: a picture, not a plot."""
    figure.update_layout(
        height=height, font={"size": FONT}, margin={"l": 10, "r": 10, "t": 70, "b": 10},
        plot_bgcolor=TRANSPARENT, paper_bgcolor=TRANSPARENT, showlegend=False,
    )  # fmt: skip
    figure.update_annotations(font_size=TITLE_FONT)
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    figure.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    return figure


def image_axes(figure: go.Figure, row: int, col: int) -> None:
    """Rows downwards and square cells in one subplot."""
    axis = figure.get_subplot(row, col)
    figure.update_yaxes(autorange="reversed", scaleanchor=axis.xaxis.plotly_name.replace(
        "axis", ""), constrain="domain", row=row, col=col)  # fmt: skip
    figure.update_xaxes(constrain="domain", row=row, col=col)


def heat(z: np.ndarray, *, signed: bool = False, gray: bool = False, text: bool = False,
         digits: int = 1) -> go.Heatmap:  # fmt: skip
    """One array as a heatmap: gray for images, red/blue for signed values, else Viridis."""
    array = np.asarray(z, np.float32)  # half the bytes of float64 on the wire, ample for colour
    bound = float(np.nanmax(np.abs(array))) if np.isfinite(array).any() else 1.0
    bound = bound or 1.0
    return go.Heatmap(
        z=array, showscale=False, hoverongaps=False,
        colorscale=GRAY if gray else DIVERGING if signed else MAGNITUDE,
        zmin=-bound if signed else (0 if gray else None), zmax=bound if signed else None,
        text=cell_text(array, digits) if text else None, texttemplate="%{text}" if text else None,
        hovertemplate="row %{y}, column %{x}: %{z:.2f}<extra></extra>",
    )  # fmt: skip


def cell_text(array: np.ndarray, digits: int = 1) -> np.ndarray:
    """Numbers printed in cells, rounded to `digits` (float32 would print 0.16000000238)."""
    return np.vectorize(lambda v: f"{v:.{digits}f}".replace("-0.0", "0.0"))(array)


def _box(figure: go.Figure, top: float, left: float, size: float, row: int, col: int,
         colour: str = WARN) -> None:  # fmt: skip
    figure.add_shape(
        type="rect", x0=left - 0.5, x1=left + size - 0.5, y0=top - 0.5, y1=top + size - 0.5,
        line={"color": colour, "width": 4}, row=row, col=col,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Chapter 2: pixels are numbers


def matrix_text(image28: np.ndarray) -> np.ndarray:
    """Cell labels for the 28x28 matrix: the 0-255 value MNIST stores, blank where it is 0."""
    values = np.rint(np.clip(image28, 0, 1) * 255).astype(int)
    return np.where(values > 0, values.astype(str), "")


STEP_CAPTIONS = ("drawn", "gray", "ink", "cropped", "20 × 20", "28 × 28")


def pixels_figure(prepared: PreprocessResult) -> go.Figure:
    """The preprocessing steps (left, two rows of three) and the 28x28 matrix of numbers."""
    steps = pipeline_steps(prepared)[:6]
    titles = [f"{i + 1}. {caption}" for i, caption in enumerate(STEP_CAPTIONS[: len(steps)])]
    titles = [*titles[:3], "what the network reads:<br>28 × 28 numbers", *titles[3:]]
    figure = make_subplots(
        rows=2, cols=4, column_widths=[1, 1, 1, 3.3], horizontal_spacing=0.02,
        vertical_spacing=0.12, specs=[[{}, {}, {}, {"rowspan": 2}], [{}, {}, {}, None]],
        subplot_titles=titles,
    )  # fmt: skip
    for index, (_, tile) in enumerate(steps):
        row, col = divmod(index, 3)
        figure.add_trace(go.Image(source=png_source(tile), hoverinfo="skip"), row + 1, col + 1)
    image = prepared.digits[0].centred if prepared.digits else np.zeros((28, 28))
    matrix = heat(image, gray=True)
    matrix.update(text=matrix_text(image), texttemplate="%{text}", textfont={"size": 9})
    matrix.update(hovertemplate="row %{y}, column %{x}: %{text}<extra></extra>")
    figure.add_trace(matrix, row=1, col=4)
    image_axes(figure, 1, 4)
    figure.update_annotations(font_size=15)
    return finish(figure, 600)


# ---------------------------------------------------------------------------------------------
# Chapter 3: convolution


def convolution_figure(story: ConvolutionStory) -> go.Figure:
    """One window x kernel = one output pixel (top), then every window: the edge maps."""
    w = story.window
    titles = [
        f"a 3 × 3 window<br>(row {story.row}, col. {story.col})", "its 9<br>numbers",
        "× Sobel x<br>kernel", f"= products,<br>sum {w.value:.2f}",
        "Sobel x:<br>left-right change", "Sobel y:<br>up-down change",
        "edge strength<br>√(x² + y²)",
    ]  # fmt: skip
    figure = make_subplots(
        rows=2, cols=4, subplot_titles=titles, horizontal_spacing=0.03, vertical_spacing=0.1,
        specs=[[{}, {}, {}, {}], [{}, {}, {}, None]],
    )  # fmt: skip
    figure.add_trace(heat(story.image, gray=True), row=1, col=1)
    _box(figure, story.row - 1, story.col - 1, 3, 1, 1)
    for col, values in ((2, w.window), (3, w.kernel), (4, w.products)):
        figure.add_trace(heat(values, signed=True, text=True), row=1, col=col)
    for col, values in ((1, story.gx), (2, story.gy)):
        figure.add_trace(heat(values, signed=True), row=2, col=col)
    figure.add_trace(heat(story.magnitude), row=2, col=3)
    _box(figure, story.row, story.col, 1, 2, 1, colour=ACCENT)
    for row, col in ((1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (2, 3)):
        image_axes(figure, row, col)
    figure.update_traces(textfont={"size": 20}, selector={"type": "heatmap"})
    figure = finish(figure, 640)
    figure.update_layout(margin={"t": 80})
    return figure


# ---------------------------------------------------------------------------------------------
# Chapter 4: learned filters next to Sobel


def normalised(maps: np.ndarray) -> np.ndarray:
    """Each map divided by its own largest |value|, so every tile uses the whole colour range."""
    peaks = np.abs(maps).reshape(len(maps), -1).max(axis=1)
    return maps / np.where(peaks > 0, peaks, 1.0)[:, None, None]


def filters_figure(story: FilterStory) -> go.Figure:
    """Sobel's two hand-made kernels and the model's learned ones, each above what it does to
    the drawing; the learned filters most like Sobel x and y are framed."""
    if story.learned is None or story.learned_maps is None:
        figure = make_subplots(rows=2, cols=1, subplot_titles=[
            "made by hand: Sobel x and y", "what they do to your drawing"])  # fmt: skip
        figure.add_trace(heat(mosaic(normalised(story.sobel_kernels), 2), signed=True), 1, 1)
        figure.add_trace(heat(mosaic(normalised(story.sobel_maps), 2), signed=True), 2, 1)
        for row in (1, 2):
            image_axes(figure, row, 1)
        return finish(figure)
    count, size = len(story.learned), story.learned.shape[1]
    columns = 8 if count >= 16 else count
    figure = make_subplots(
        rows=2, cols=2, column_widths=[1, 3.2], row_heights=[1, 1.4], horizontal_spacing=0.05,
        vertical_spacing=0.1, subplot_titles=[
            "made by hand: Sobel x, y", f"learned from data: {count} filters ({size} × {size})",
            "what they do to your drawing", "what each learned filter does to it",
        ],
    )  # fmt: skip
    figure.add_trace(heat(mosaic(normalised(story.sobel_kernels), 2), signed=True), 1, 1)
    figure.add_trace(heat(mosaic(normalised(story.sobel_maps), 2), signed=True), 2, 1)
    figure.add_trace(heat(mosaic(normalised(story.learned), columns), signed=True), 1, 2)
    maps = normalised(story.learned_maps)
    figure.add_trace(heat(mosaic(maps, columns), signed=True), 2, 2)
    for index, _ in story.closest:
        r, c = divmod(index, columns)
        _box(figure, r * (size + 1), c * (size + 1), size, 1, 2)
        side = maps.shape[1]
        _box(figure, r * (side + 1), c * (side + 1), side, 2, 2)
    for row in (1, 2):
        for col in (1, 2):
            image_axes(figure, row, col)
    return finish(figure, 640)


# ---------------------------------------------------------------------------------------------
# Chapter 5: pooling


def pooling_figure(story: PoolingStory) -> go.Figure:
    """The map before and after 2x2 max-pooling at the same size, and one corner in numbers."""
    (height, width), (small_h, small_w) = story.before.shape, story.after.shape
    where = story.layer if story.channel is None else f"{story.layer}, map {story.channel}"
    figure = make_subplots(
        rows=1, cols=4, column_widths=[3, 3, 2.2, 1.1], horizontal_spacing=0.04,
        subplot_titles=[
            f"{where}<br>{height} × {width} = {height * width:,} numbers",
            f"after 2 × 2 max-pooling<br>{small_h} × {small_w} = {small_h * small_w:,}",
            "up close<br>4 × 4", "→<br>2 × 2",
        ],
    )  # fmt: skip
    figure.add_trace(heat(story.before), 1, 1)
    figure.add_trace(heat(story.after), 1, 2)
    bound = {"zmin": float(story.before.min()), "zmax": float(story.before.max()) or 1.0}
    figure.add_trace(heat(story.zoom_before, text=True).update(**bound), 1, 3)
    figure.add_trace(heat(story.zoom_after, text=True).update(**bound), 1, 4)
    _box(figure, story.zoom_top, story.zoom_left, 4, 1, 1, colour=WARN)
    _box(figure, story.zoom_top // 2, story.zoom_left // 2, 2, 1, 2, colour=WARN)
    for col in (1, 2, 3, 4):
        image_axes(figure, 1, col)
    figure.update_traces(textfont={"size": 20}, selector={"type": "heatmap"})
    return finish(figure, 560)


# ---------------------------------------------------------------------------------------------
# Chapter 6: dense layers and softmax


def _strip(values: np.ndarray) -> go.Heatmap:
    """A long vector as one tall column of coloured cells."""
    return heat(np.asarray(values, np.float64)[:, None], signed=bool(np.min(values) < 0))


def dense_figure(story: DenseStory) -> go.Figure:
    """Last maps → one long row of numbers → hidden units → ten scores → ten probabilities
    (eleven of each for a model that can answer "not a digit"; without a hidden dense layer,
    the row of numbers goes straight to the scores)."""
    flat, classes = len(story.flat), len(story.logits)
    first = "the last<br>feature maps" if story.maps is not None else "the input"
    widths, titles = [2.2, 0.5], [first, f"{flat:,}<br>numbers"]
    if story.hidden is not None:
        widths, titles = [*widths, 0.5], [*titles, f"{len(story.hidden)}<br>units"]
    scores, chances = len(widths) + 1, len(widths) + 2  # the last two columns
    figure = make_subplots(
        rows=1, cols=scores + 1, column_widths=[*widths, 1.6, 2.0], horizontal_spacing=0.06,
        subplot_titles=[*titles, f"{classes}<br>scores", f"softmax:<br>{classes} probabilities"],
    )  # fmt: skip
    if story.maps is not None:
        tiles = normalised(np.moveaxis(story.maps, -1, 0))
        figure.add_trace(heat(mosaic(tiles), signed=bool(tiles.min() < 0)), 1, 1)
    else:
        figure.add_trace(heat(story.flat.reshape(28, 28), gray=True), 1, 1)
    image_axes(figure, 1, 1)
    figure.add_trace(_strip(story.flat), 1, 2)
    if story.hidden is not None:
        figure.add_trace(_strip(story.hidden), 1, 3)
    answer = story.answer
    digits = [str(d) if d < 10 else "not a digit" for d in range(classes)]
    colours = [ACCENT if d == answer else MUTED for d in range(classes)]
    figure.add_trace(
        go.Bar(
            x=story.logits,
            y=digits,
            orientation="h",
            marker_color=colours,
            text=[f"{v:.1f}" for v in story.logits],
            textposition="auto",
            hovertemplate="%{y}: score %{x:.2f}<extra></extra>",
        ),
        1,
        scores,
    )
    figure.add_trace(go.Bar(x=story.probabilities, y=digits, orientation="h",
                            marker_color=colours,
                            text=[f"{v:.0%}" if v >= 0.01 else "" for v in story.probabilities],
                            textposition="outside",
                            hovertemplate="%{y}: %{x:.1%}<extra></extra>"),
                     1, chances)  # fmt: skip
    figure = finish(figure, 540)
    for col in (scores, chances):
        figure.update_yaxes(showticklabels=True, autorange="reversed", type="category",
                            tickfont={"size": 20}, row=1, col=col)  # fmt: skip
    figure.update_xaxes(range=[0, 1.3], row=1, col=chances)
    low, high = float(min(story.logits.min(), 0)), float(max(story.logits.max(), 0))
    pad = 0.35 * (high - low or 1.0)
    figure.update_xaxes(range=[low - pad, high + pad], row=1, col=scores)
    for col in range(2, scores):
        figure.update_yaxes(autorange="reversed", row=1, col=col)
    return figure
