"""The layer spec: a network written as one line, shared by the CLI, the Train page and the library.

A spec is comma-separated layers, applied to the (28, 28, 1) image in order:

- ``conv{k}x{k}x{n}``: a k×k convolution to n channels, stride 1, 'same' padding
  (``conv{k}x{k}x{n}valid``: no padding, the image shrinks by k - 1);
- ``pool{s}`` / ``avgpool{s}``: s×s max / average pooling with stride s (a remainder is dropped);
- ``bn``: batch normalisation over the channels (or the units, after a dense layer);
- ``relu``, ``tanh``: activations; ``dropout{p}``: dropout with rate p (``dropout0.3``);
- ``dense{n}``: a fully connected layer of n units; ``gap``: global average pooling.

Flattening before the first dense layer and the final 10-way dense layer (the logits) are implied.
A convolution or dense layer followed by ``bn`` has no bias (the norm's own bias takes its
place), which is how the shipped ``cnn`` is built; pools between them do not change that (a
per-channel bias passes through a max or an average unchanged, and the norm removes it). The
names ``mlp``, ``lenet``, ``cnn`` and ``fast`` stand for their exact specs (`SHORTCUTS`).

This module is plain Python (no JAX): parsing and planning are instant, so the Train page can
show every layer's output shape, the parameter count, the multiply-adds and the activation
memory as the user types. Every refusal is one line naming the token and why.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

SHORTCUTS = {
    "mlp": "dense100,relu",
    "lenet": "conv5x5x20valid,pool2,conv5x5x50valid,pool2,dense500,relu",
    "cnn": "conv3x3x32,bn,relu,pool2,conv3x3x64,bn,relu,conv3x3x64,bn,relu,pool2,"
    "dense256,bn,relu,dropout0.3",
    "fast": "conv5x5x24valid,pool2,bn,relu,conv3x3x32valid,pool2,bn,relu,dense256,relu",
}
INPUT_SHAPE = (28, 28, 1)
N_CLASSES = 10
BYTES_PER_VALUE = 4  # float32
MAX_WIDTH = 8192  # channels of a convolution, units of a dense layer
MAX_LAYERS = 64
PARAMETER_CEILING = 50_000_000
# A training step holds parameters, gradients, two Adam moments and the update: 20 bytes each.
BYTES_PER_TRAINED_PARAMETER = 20
FORMS = (
    ("conv", "conv{k}x{k}x{n} or conv{k}x{k}x{n}valid, e.g. conv3x3x16"),
    ("avgpool", "avgpool{s}, e.g. avgpool2"),
    ("pool", "pool{s}, e.g. pool2"),
    ("dropout", "dropout{p} with 0 <= p < 1, e.g. dropout0.3"),
    ("dense", "dense{n}, e.g. dense64"),
)
KNOWN = "conv{k}x{k}x{n}[valid], pool{s}, avgpool{s}, bn, relu, tanh, dropout{p}, dense{n}, gap"
_PATTERNS = {
    "conv": re.compile(r"conv(\d+)x(\d+)x(\d+)(valid)?"),
    "avgpool": re.compile(r"avgpool(\d+)"),
    "pool": re.compile(r"pool(\d+)"),
    "dropout": re.compile(r"dropout(\d*\.?\d+)"),
    "dense": re.compile(r"dense(\d+)"),
}
_KINDS = {
    "conv": "conv", "pool": "pool", "avgpool": "pool", "gap": "pool", "bn": "norm",
    "relu": "activation", "tanh": "activation", "dropout": "dropout", "dense": "dense",
}  # fmt: skip


class LayerSpecError(ValueError):
    """A spec that cannot be built: one line naming the token and why."""


@dataclass(frozen=True)
class Token:
    """One parsed layer: `op` is conv, pool, avgpool, bn, relu, tanh, dropout, dense or gap."""

    op: str
    size: int = 0  # kernel or pool size
    width: int = 0  # conv channels or dense units
    valid: bool = False  # conv without padding
    rate: float = 0.0  # dropout

    @property
    def text(self) -> str:
        """The token in canonical form (what `canonical` joins)."""
        if self.op == "conv":
            return f"conv{self.size}x{self.size}x{self.width}{'valid' if self.valid else ''}"
        if self.op in ("pool", "avgpool"):
            return f"{self.op}{self.size}"
        if self.op == "dropout":
            return f"dropout{self.rate:g}"
        if self.op == "dense":
            return f"dense{self.width}"
        return self.op


def _fail(index: int, token: str, why: str) -> LayerSpecError:
    return LayerSpecError(f"layer {index} '{token}': {why}")


def _parse_token(index: int, token: str) -> Token:
    if token in ("bn", "relu", "tanh", "gap"):
        return Token(token)
    op = next((op for op, _ in FORMS if token.startswith(op)), None)
    if op is None:
        why = "empty layer (two commas in a row?)" if not token else f"unknown layer; use {KNOWN}"
        raise _fail(index, token, why)
    match = _PATTERNS[op].fullmatch(token)
    if match is None:
        raise _fail(index, token, f"write it as {dict(FORMS)[op]}")
    if op == "dropout":
        rate = float(match.group(1))
        if not 0 <= rate < 1:
            raise _fail(index, token, "the dropout rate must be at least 0 and below 1")
        return Token(op, rate=rate)
    numbers = [int(group) for group in match.groups() if group and group.isdigit()]
    if min(numbers) < 1:
        raise _fail(index, token, "sizes must be at least 1")
    if op == "conv" and numbers[0] != numbers[1]:
        raise _fail(index, token, "kernels are square: conv{k}x{k}x{n}")
    if op in ("conv", "dense") and numbers[-1] > MAX_WIDTH:
        raise _fail(index, token, f"at most {MAX_WIDTH:,} channels or units")
    if op == "conv":
        return Token(op, size=numbers[0], width=numbers[2], valid=match.group(4) is not None)
    if op == "dense":
        return Token(op, width=numbers[0])
    return Token(op, size=numbers[0])


def parse_layers(text: str) -> tuple[Token, ...]:
    """The tokens of a spec (or of a shortcut name); LayerSpecError names the first bad one."""
    text = SHORTCUTS.get(text.strip().lower(), text)
    raw = [part.strip().lower() for part in text.split(",")]
    if raw == [""]:
        raise LayerSpecError("no layers: write them comma-separated, e.g. conv3x3x16,relu,dense64")
    if len(raw) > MAX_LAYERS:
        raise LayerSpecError(f"{len(raw)} layers: at most {MAX_LAYERS}")
    return tuple(_parse_token(index, token) for index, token in enumerate(raw, 1))


def canonical(tokens: tuple[Token, ...]) -> str:
    """The one spelling of these layers (lower case, no spaces, rates as written by `g`)."""
    return ",".join(token.text for token in tokens)


def shortcut_for(text: str) -> str | None:
    """The name (mlp, lenet, cnn) a spec is exactly, if any."""
    spec = canonical(parse_layers(text))
    return next((name for name, value in SHORTCUTS.items() if value == spec), None)


@dataclass(frozen=True)
class PlannedLayer:
    """One row of a network's plan: what the Train page's builder shows per layer."""

    name: str  # the trace name: conv1, relu1, pool1, flatten, dense1, logits
    kind: str  # a `LayerKind` (input, conv, norm, activation, pool, flatten, dense, dropout)
    text: str  # the token as written canonically; "(implied)" for flatten and the logits
    shape: tuple[int, ...]  # output shape without the batch axis
    parameters: int  # trainable values (a norm's running statistics are not counted)
    macs: int  # multiply-adds for one image
    module: str | None = None  # the attribute holding its weights (conv1, norm1, dense1)
    token: Token | None = None  # None for the input, the implied flatten and the logits
    bias: bool = True  # conv and dense: False when a bn follows

    @property
    def values(self) -> int:
        """Activation values this layer stores for one image."""
        count = 1
        for size in self.shape:
            count *= size
        return count


@dataclass(frozen=True)
class NetworkPlan:
    """A spec's layers with shapes, costs and weight names, computed without building anything."""

    spec: str  # canonical
    layers: tuple[PlannedLayer, ...]

    @property
    def parameters(self) -> int:
        return sum(layer.parameters for layer in self.layers)

    @property
    def macs(self) -> int:
        """Multiply-adds of one image's forward pass (convolutions and dense layers)."""
        return sum(layer.macs for layer in self.layers)

    def rows(self) -> list[dict[str, object]]:
        """One row a layer, as the builder's table and ``handwritten layers`` show it."""
        return [
            {
                "layer": layer.name, "spec": layer.text, "output": shape_text(layer.shape),
                "parameters": layer.parameters, "multiply_adds": layer.macs,
            }
            for layer in self.layers
        ]  # fmt: skip

    def activation_bytes(self, batch_size: int) -> int:
        """float32 outputs of every layer for one batch: roughly what the backward pass keeps.
        The input and the flatten (a reshape, no copy) are not counted."""
        stored = [layer for layer in self.layers if layer.kind not in ("input", "flatten")]
        return sum(layer.values for layer in stored) * BYTES_PER_VALUE * batch_size


def shape_text(shape: tuple[int, ...]) -> str:
    """28×28×16 for an image, 64 for a vector."""
    return "×".join(str(size) for size in shape)


def parameter_budget() -> int:
    """The most parameters this machine trains: an eighth of its memory at 20 bytes each,
    and never more than `PARAMETER_CEILING` (on a CPU, more would take hours an epoch)."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return PARAMETER_CEILING
    return min(PARAMETER_CEILING, memory // 8 // BYTES_PER_TRAINED_PARAMETER)


class _Planner:
    """Walks the tokens, tracking the shape and numbering the layers of each kind."""

    def __init__(self) -> None:
        self.shape: tuple[int, ...] = INPUT_SHAPE
        self.counts: dict[str, int] = {}
        self.rows: list[PlannedLayer] = [PlannedLayer("input", "input", "", INPUT_SHAPE, 0, 0)]

    def number(self, prefix: str) -> str:
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        return f"{prefix}{self.counts[prefix]}"

    def add(self, index: int, token: Token, bias: bool) -> None:
        spatial = len(self.shape) == 3
        if token.op in ("conv", "pool", "avgpool", "gap") and not spatial:
            raise _fail(index, token.text, "needs an image, but an earlier dense or gap layer "
                        "flattened it: put spatial layers first")  # fmt: skip
        if token.op == "conv":
            self.conv(index, token, bias)
        elif token.op in ("pool", "avgpool"):
            self.pool(index, token)
        elif token.op == "gap":
            self.shape = (self.shape[-1],)
            self.rows.append(PlannedLayer("gap", "pool", token.text, self.shape, 0, 0, None, token))
        elif token.op == "dense":
            self.dense(token.text, token.width, bias, token)
        elif token.op == "bn":
            name = self.number("norm")
            row = PlannedLayer(
                name, "norm", token.text, self.shape, 2 * self.shape[-1], 0, name, token
            )
            self.rows.append(row)
        else:  # relu, tanh, dropout: shape-preserving, no weights
            name = self.number(token.op)
            self.rows.append(
                PlannedLayer(name, _KINDS[token.op], token.text, self.shape, 0, 0, None, token)
            )

    def conv(self, index: int, token: Token, bias: bool) -> None:
        height, width, channels = self.shape
        if token.valid:
            if token.size > min(height, width):
                raise _fail(index, token.text, f"a {token.size}×{token.size} kernel does not fit "
                            f"the {height}×{width} image it gets")  # fmt: skip
            height, width = height - token.size + 1, width - token.size + 1
        self.shape = (height, width, token.width)
        weights = token.size * token.size * channels * token.width
        name = self.number("conv")
        self.rows.append(PlannedLayer(
            name, "conv", token.text, self.shape, weights + (token.width if bias else 0),
            height * width * weights, name, token, bias,
        ))  # fmt: skip

    def pool(self, index: int, token: Token) -> None:
        height, width, channels = self.shape
        if height // token.size < 1 or width // token.size < 1:
            raise _fail(index, token.text, f"shrinks the {height}×{width} image it gets below 1×1")
        self.shape = (height // token.size, width // token.size, channels)
        name = self.number("pool" if token.op == "pool" else "avgpool")
        self.rows.append(PlannedLayer(name, "pool", token.text, self.shape, 0, 0, None, token))

    def dense(self, text: str, units: int, bias: bool, token: Token | None) -> None:
        if len(self.shape) == 3:
            flat = self.shape[0] * self.shape[1] * self.shape[2]
            self.shape = (flat,)
            self.rows.append(PlannedLayer("flatten", "flatten", "(implied)", self.shape, 0, 0))
        inputs = self.shape[0]
        name = self.number("dense")
        trace_name = name if token is not None else "logits"
        self.shape = (units,)
        self.rows.append(PlannedLayer(
            trace_name, "dense", text, self.shape, inputs * units + (units if bias else 0),
            inputs * units, name, token, bias,
        ))  # fmt: skip


def plan_layers(text: str, max_parameters: int | None = None) -> NetworkPlan:
    """Parse and plan a spec (or a shortcut name): shapes, parameters, multiply-adds.

    Raises LayerSpecError for an unknown or malformed token, a layer that does not fit the image
    it gets, or more parameters than `max_parameters` (default: `parameter_budget()`), naming
    the layer that crosses the budget.
    """
    tokens = parse_layers(text)
    budget = parameter_budget() if max_parameters is None else max_parameters
    planner = _Planner()
    for index, token in enumerate(tokens, 1):
        planner.add(index, token, bias=not _normalised_next(tokens[index:]))
        _check_budget(planner, budget, f"layer {index} '{token.text}'")
    planner.dense("(implied)", N_CLASSES, True, None)
    _check_budget(planner, budget, "the implied final dense10")
    return NetworkPlan(canonical(tokens), tuple(planner.rows))


def _check_budget(planner: _Planner, budget: int, what: str) -> None:
    total = sum(row.parameters for row in planner.rows)
    if total > budget:
        raise LayerSpecError(
            f"{what}: too many parameters for this machine ({total:,} so far; at most {budget:,})"
        )


def _normalised_next(rest: tuple[Token, ...]) -> bool:
    """Whether a ``bn`` comes next, past any pools: a bias before it would be cancelled."""
    for token in rest:
        if token.op != "pool" and token.op != "avgpool":
            return token.op == "bn"
    return False
