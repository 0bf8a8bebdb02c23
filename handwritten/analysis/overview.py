"""The whole network at once on one drawing (the Tour's chapter 7, after CNN Explainer's overview).

Columns of layers, left to right: the input, every convolution, activation and pooling layer
with thumbnails of its strongest feature maps, the hidden dense layer's strongest units, and the
ten outputs. Between columns, the strongest connections: how much each shown map or unit of one
column actually contributed to each shown map or unit of the next on *this* drawing.

A connection's strength is exact where the step is linear, measured on this drawing:

- into a convolution: the mean |input map i correlated with kernel w[:, :, i, j]| over the
  output map j (the part of output j that came from input i);
- into the first dense layer: |sum over positions of map i times the weights to unit u| (after
  global average pooling: |map i's mean times its weight|);
- into a further dense layer or an output: |unit u times its weight to that unit or digit|.

Every hidden dense layer is a column (a network built from a layer spec may have none, one or
several); without one, the maps link straight to the winning digit.

Batch norm, ReLU and pooling act on each channel alone, so they link channel i to channel i;
batch norm and dropout are not drawn as columns (CNN Explainer has neither).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handwritten.analysis.network import LayerActivation, activations, correlate_same
from handwritten.analysis.story import flat_index, hidden_blocks, map_contrast, softmax
from handwritten.models.architectures import MNIST_MEAN, MNIST_STD, DigitModel

SPATIAL_KINDS = ("input", "conv", "activation", "pool")


@dataclass(frozen=True)
class Column:
    """One drawn layer: which channels (or units) it shows and their values."""

    name: str
    kind: str  # input / conv / activation / pool / dense / output
    shape: tuple[int, ...]  # the whole layer's activation shape
    indices: tuple[int, ...]  # the channels, units or digits shown, strongest first
    maps: np.ndarray | None  # (k, h, w) for a spatial layer
    values: np.ndarray | None  # (k,) for a dense layer or the outputs (probabilities)

    @property
    def spatial(self) -> bool:
        return self.maps is not None


@dataclass(frozen=True)
class Edge:
    """A connection from (column, position) to (column, position) with its strength."""

    source: tuple[int, int]
    target: tuple[int, int]
    strength: float
    one_to_one: bool = False  # the same channel through an elementwise or pooling step


@dataclass(frozen=True)
class Overview:
    columns: list[Column]
    edges: list[Edge]
    answer: int


# ---------------------------------------------------------------------------------------------
# Connection strengths (the formulas above; unit-tested against hand computation)


def conv_strengths(
    inputs_hwc: np.ndarray, kernel: np.ndarray, sources: list[int], targets: list[int], valid: bool
) -> np.ndarray:
    """(len(sources), len(targets)) mean |contribution| of each input map to each output map.

    `kernel` is (kh, kw, in, out); `valid` crops the border a VALID convolution does not
    produce, so the mean is over exactly the output's pixels.
    """
    half = kernel.shape[0] // 2
    out = np.zeros((len(sources), len(targets)))
    for a, i in enumerate(sources):
        for b, j in enumerate(targets):
            part = correlate_same(inputs_hwc[..., i], kernel[:, :, i, j])
            if valid and half:
                part = part[half:-half, half:-half]
            out[a, b] = float(np.abs(part).mean())
    return out


def dense_strengths(
    inputs_hwc: np.ndarray, kernel: np.ndarray, sources: list[int], targets: list[int]
) -> np.ndarray:
    """(len(sources), len(targets)) |sum over positions of map i times its weights to unit u|,
    with the weights (h*w*c, units) in the flatten order of an NHWC reshape."""
    height, width, channels = inputs_hwc.shape
    weights = kernel.reshape(height, width, channels, -1)
    contributions = np.einsum("hwc,hwcu->cu", inputs_hwc, weights)
    return np.abs(contributions[np.ix_(sources, targets)])


def output_strengths(
    hidden: np.ndarray, kernel: np.ndarray, sources: list[int], targets: list[int]
) -> np.ndarray:
    """(len(sources), len(targets)) |hidden unit u times its weight to digit d|."""
    return np.abs(hidden[sources][:, None] * kernel[np.ix_(sources, targets)])


# ---------------------------------------------------------------------------------------------
# Building the overview


def _strongest(values: np.ndarray, count: int) -> tuple[int, ...]:
    order = np.argsort(-values, kind="stable")[:count]
    return tuple(int(i) for i in order)


def _kernel(model: DigitModel, layer: LayerActivation) -> np.ndarray:
    assert layer.info.module is not None
    return np.asarray(getattr(model, layer.info.module).kernel[...])


def _model_input(layer: LayerActivation) -> np.ndarray:
    """What the next layer really reads: the models standardise their raw input first."""
    if layer.info.kind == "input":
        return (layer.value - MNIST_MEAN) / MNIST_STD
    return layer.value


def _spatial_layers(layers: list[LayerActivation]) -> list[int]:
    """Indices of the drawn spatial layers, up to the flatten (or global pooling)."""
    return [i for i in range(flat_index(layers)) if layers[i].info.kind in SPATIAL_KINDS]


def _block_channels(layers: list[LayerActivation], drawn: list[int], per_column: int) -> list:
    """The channels each drawn spatial layer shows: a block (a convolution and the per-channel
    layers after it) shows the channels that show most at its end (`map_contrast`), so its
    links run straight."""
    chosen: list[tuple[int, ...]] = [()] * len(drawn)
    start = 0
    for position in range(1, len(drawn) + 1):
        if position == len(drawn) or layers[drawn[position]].info.kind == "conv":
            picked = _strongest(map_contrast(layers[drawn[position - 1]].value), per_column)
            for member in range(start, position):
                chosen[member] = picked
            start = position
    return chosen


def _top_edges(strengths: np.ndarray, source_col: int, target_col: int, fan_in: int) -> list:
    """Each target's `fan_in` strongest incoming connections, scaled to the pair's maximum."""
    peak = float(strengths.max()) or 1.0
    edges = []
    for b in range(strengths.shape[1]):
        for a in np.argsort(-strengths[:, b], kind="stable")[:fan_in]:
            edges.append(Edge((source_col, int(a)), (target_col, b), strengths[a, b] / peak))
    return edges


def _spatial_columns(
    model: DigitModel, layers: list[LayerActivation], per_column: int, fan_in: int
) -> tuple[list[Column], list[Edge]]:
    drawn = _spatial_layers(layers)
    chosen = _block_channels(layers, drawn, per_column)
    columns: list[Column] = []
    edges: list[Edge] = []
    for position, (index, channels) in enumerate(zip(drawn, chosen, strict=True)):
        layer = layers[index]
        maps = np.moveaxis(layer.value[..., list(channels)], -1, 0)
        columns.append(Column(layer.info.name, layer.info.kind, layer.info.shape, channels,
                              maps, None))  # fmt: skip
        if position == 0:
            continue
        if layer.info.kind != "conv":
            edges += [Edge((position - 1, k), (position, k), 1.0, True) for k in range(len(maps))]
            continue
        source = layers[index - 1]
        strengths = conv_strengths(
            _model_input(source), _kernel(model, layer), list(chosen[position - 1]),
            list(channels), valid=getattr(model, str(layer.info.module)).padding == "VALID",
        )  # fmt: skip
        edges += _top_edges(strengths, position - 1, position, fan_in)
    return columns, edges


def _flat_inputs(layers: list[LayerActivation]) -> np.ndarray:
    """(h, w, c) what the first dense layer reads, by map: the maps before the flatten, or each
    map's mean (1, 1, c) after global average pooling."""
    flat = flat_index(layers)
    inputs = _model_input(layers[flat - 1])
    if layers[flat].info.kind != "flatten":
        inputs = inputs.mean(axis=(0, 1), keepdims=True)
    return inputs


def _dense_columns(
    model: DigitModel, layers: list[LayerActivation], spatial: list[Column], per_column: int,
    fan_in: int,
) -> tuple[list[Column], list[Edge], int]:  # fmt: skip
    """Each hidden dense layer (its block's strongest units after its activation), the ten
    outputs (eleven with "not a digit"), the edges into them and the winning output."""
    probabilities = softmax(layers[-1].value)
    answer = int(probabilities.argmax())
    source_col, sources = len(spatial) - 1, list(spatial[-1].indices)
    previous: np.ndarray | None = None  # the last hidden block's output (units,)
    columns: list[Column] = []
    edges: list[Edge] = []
    for dense, end in [*hidden_blocks(layers), (len(layers) - 1, None)]:
        targets = [answer] if end is None else list(_strongest(layers[end].value, per_column))
        kernel = _kernel(model, layers[dense])
        if previous is None:
            strengths = dense_strengths(_flat_inputs(layers), kernel, sources, targets)
        else:
            strengths = output_strengths(previous, kernel, sources, targets)
        if end is None:  # only into the winner: the connections that lit it
            winners = _top_edges(strengths, source_col, source_col + 1, fan_in + 1)
            edges += [Edge(e.source, (source_col + 1, answer), e.strength) for e in winners]
            break
        edges += _top_edges(strengths, source_col, source_col + 1, fan_in)
        previous = layers[end].value
        info = layers[dense].info
        columns.append(Column(info.name, "dense", info.shape, tuple(targets), None,
                              previous[targets]))  # fmt: skip
        source_col, sources = source_col + 1, targets
    classes = len(probabilities)  # 11 when the model can answer "not a digit" (the last)
    columns.append(
        Column("output", "output", (classes,), tuple(range(classes)), None, probabilities)
    )
    return columns, edges, answer


def overview(
    model: DigitModel, image28: np.ndarray, *, per_column: int = 6, fan_in: int = 2
) -> Overview:
    """Every drawn layer with its `per_column` strongest maps or units, each target's `fan_in`
    strongest incoming connections (one more into the winning digit), and the answer."""
    layers = activations(model, image28)
    spatial, edges = _spatial_columns(model, layers, per_column, fan_in)
    dense, more, answer = _dense_columns(model, layers, spatial, per_column, fan_in)
    return Overview(spatial + dense, edges + more, answer)
