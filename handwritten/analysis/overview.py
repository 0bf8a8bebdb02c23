"""The whole network at once on one drawing (the Tour's chapter 7, after CNN Explainer's overview).

Columns of layers, left to right: the input, every convolution, activation and pooling layer
with thumbnails of its strongest feature maps, the hidden dense layer's strongest units, and the
ten outputs. Between columns, the strongest connections: how much each shown map or unit of one
column actually contributed to each shown map or unit of the next on *this* drawing.

A connection's strength is exact where the step is linear, measured on this drawing:

- into a convolution: the mean |input map i correlated with kernel w[:, :, i, j]| over the
  output map j (the part of output j that came from input i);
- into the hidden dense layer: |sum over positions of map i times the weights to unit u|;
- into an output: |hidden unit u times its weight to that digit|.

Batch norm, ReLU and pooling act on each channel alone, so they link channel i to channel i;
batch norm and dropout are not drawn as columns (CNN Explainer has neither).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handwritten.analysis.network import LayerActivation, activations, correlate_same
from handwritten.analysis.story import map_contrast
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
    """Indices of the drawn spatial layers, up to the flatten."""
    flatten = next(i for i, layer in enumerate(layers) if layer.info.kind == "flatten")
    return [i for i in range(flatten) if layers[i].info.kind in SPATIAL_KINDS]


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


def _dense_columns(
    model: DigitModel, layers: list[LayerActivation], spatial: list[Column], per_column: int,
    fan_in: int,
) -> tuple[list[Column], list[Edge], int]:  # fmt: skip
    """The hidden dense layer (its activation's strongest units), the ten outputs, the edges
    into them and the winning digit."""
    flatten = next(i for i, layer in enumerate(layers) if layer.info.kind == "flatten")
    dense = layers[flatten + 1]
    hidden = [layer for layer in layers[flatten:-1] if layer.info.kind == "activation"][-1]
    logits = layers[-1].value
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    units = _strongest(hidden.value, per_column)
    answer = int(probabilities.argmax())
    last = len(spatial) - 1
    hidden_column = Column(dense.info.name, "dense", dense.info.shape, units, None,
                           hidden.value[list(units)])  # fmt: skip
    outputs = Column("output", "output", (10,), tuple(range(10)), None, probabilities)
    into_dense = dense_strengths(
        _model_input(layers[flatten - 1]), _kernel(model, dense),
        list(spatial[last].indices), list(units),
    )  # fmt: skip
    into_output = output_strengths(
        hidden.value, _kernel(model, layers[-1]), list(units), [answer]
    )  # only into the winner: the connections that lit it
    edges = _top_edges(into_dense, last, last + 1, fan_in)
    edges += [
        Edge(e.source, (last + 2, answer), e.strength)
        for e in _top_edges(into_output, last + 1, last + 2, fan_in + 1)
    ]
    return [hidden_column, outputs], edges, answer


def overview(
    model: DigitModel, image28: np.ndarray, *, per_column: int = 6, fan_in: int = 2
) -> Overview:
    """Every drawn layer with its `per_column` strongest maps or units, each target's `fan_in`
    strongest incoming connections (one more into the winning digit), and the answer."""
    layers = activations(model, image28)
    spatial, edges = _spatial_columns(model, layers, per_column, fan_in)
    dense, more, answer = _dense_columns(model, layers, spatial, per_column, fan_in)
    return Overview(spatial + dense, edges + more, answer)
