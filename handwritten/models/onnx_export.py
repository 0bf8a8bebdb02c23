"""Export a model as ONNX, written node by node from its layer spec with the `onnx` package.

Why not a tracing exporter (jax2onnx and the like): every model here is a layer spec (the fixed
``mlp``, ``lenet`` and ``cnn`` have exact equivalents), and each of the spec's nine layer kinds
is one standard ONNX operator, so the graph can be written directly and reads like the spec. A
tracer would have to follow this project's custom-VJP max pool and lane-padded convolution and
would tie exports to the JAX version; this needs only ``onnx`` and the weights by name.

The exported model takes ``images`` (N, 28, 28, 1) float32 in [0, 1], white ink on black, as
`handwritten.data.preprocess` produces, and returns ``probabilities`` (N, 10). Inside, it
standardises like the model, works in ONNX's NCHW layout, and goes back to NHWC before the
flatten so the dense weights see the values in the order JAX flattened them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from flax import nnx

from handwritten.models.architectures import MNIST_MEAN, MNIST_STD, DigitModel
from handwritten.models.layer_spec import N_CLASSES, PlannedLayer, plan_layers
from handwritten.storage.files import atomic_write_bytes

OPSET = 17
IR_VERSION = 8  # what opset 17 needs; readable by every onnxruntime since 1.10
INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
NORM_EPSILON = 1e-5  # nnx.BatchNorm's default, which every model here uses


class _Graph:
    """Nodes and initialisers, appended in order; each value gets a fresh name."""

    def __init__(self, params: dict[str, Any], stats: dict[str, Any]):
        self.params, self.stats = params, stats
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        self.count += 1
        output = output or f"{op.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output


def _conv(graph: _Graph, layer: PlannedLayer, x: str) -> str:
    assert layer.token is not None and layer.module is not None
    weights = graph.params[layer.module]
    kernel = np.transpose(np.asarray(weights["kernel"]), (3, 2, 0, 1))  # HWIO -> OIHW
    inputs = [x, graph.constant(f"{layer.module}.kernel", kernel)]
    if layer.bias:
        inputs.append(graph.constant(f"{layer.module}.bias", weights["bias"]))
    size = layer.token.size
    before, after = (
        ((size - 1) // 2, size - 1 - (size - 1) // 2) if not layer.token.valid else (0, 0)
    )
    return graph.node("Conv", inputs, kernel_shape=[size, size], strides=[1, 1],
                      pads=[before, before, after, after])  # fmt: skip


def _dense(graph: _Graph, layer: PlannedLayer, x: str) -> str:
    assert layer.module is not None
    weights = graph.params[layer.module]
    kernel = graph.constant(f"{layer.module}.kernel", weights["kernel"])
    if not layer.bias:
        return graph.node("MatMul", [x, kernel])
    return graph.node("Gemm", [x, kernel, graph.constant(f"{layer.module}.bias", weights["bias"])])


def _norm(graph: _Graph, layer: PlannedLayer, x: str) -> str:
    weights, stats = graph.params[layer.name], graph.stats[layer.name]
    inputs = [x] + [
        graph.constant(f"{layer.name}.{key}", source[key])
        for source, key in ((weights, "scale"), (weights, "bias"), (stats, "mean"), (stats, "var"))
    ]
    return graph.node("BatchNormalization", inputs, epsilon=NORM_EPSILON)


def _layer(graph: _Graph, layer: PlannedLayer, x: str) -> str:
    """The node(s) of one planned layer; dropout is the identity at inference."""
    op = layer.token.op if layer.token is not None else layer.kind
    size = layer.token.size if layer.token is not None else 0
    if op == "conv":
        return _conv(graph, layer, x)
    if op == "dense":
        return _dense(graph, layer, x)
    if op == "bn":
        return _norm(graph, layer, x)
    if op in ("pool", "avgpool"):
        kind = "MaxPool" if op == "pool" else "AveragePool"
        return graph.node(kind, [x], kernel_shape=[size, size], strides=[size, size])
    if op == "gap":
        return graph.node("Flatten", [graph.node("GlobalAveragePool", [x])], axis=1)
    if op == "flatten":  # NCHW back to NHWC, then rows in JAX's order
        return graph.node("Flatten", [graph.node("Transpose", [x], perm=[0, 2, 3, 1])], axis=1)
    if op in ("relu", "tanh"):
        return graph.node(op.capitalize(), [x])
    return x


def onnx_bytes(model: DigitModel, *, temperature: float = 1.0, reject_offset: float = 0.0) -> bytes:
    """The serialised ONNX model (checked by `onnx.checker`) computing `model`'s probabilities.

    A model with an 11th output ("not a digit") exports all eleven. Its calibration (the reject
    margin taken off that logit, then the temperature; `handwritten.recognition.predictor`) is
    written into the graph, so an importer reads the same answers and confidences as we do.
    """
    import onnx
    from onnx import TensorProto, helper

    if not model.layer_spec:
        raise ValueError(f"a {model.arch} model has no layer spec to export")
    plan = plan_layers(model.layer_spec, max_parameters=sys.maxsize)
    graph = _Graph(
        nnx.to_pure_dict(nnx.state(model, nnx.Param)),
        nnx.to_pure_dict(nnx.state(model, nnx.BatchStat)),
    )
    x = graph.node("Sub", [INPUT_NAME, graph.constant("mnist_mean", np.array(MNIST_MEAN))])
    x = graph.node("Div", [x, graph.constant("mnist_std", np.array(MNIST_STD))])
    x = graph.node("Transpose", [x], perm=[0, 3, 1, 2])  # NHWC -> NCHW
    for layer in plan.layers[1:]:
        x = _layer(graph, layer, x)
    logits_module = plan.layers[-1].module
    assert logits_module is not None  # a plan always ends with its logits layer
    classes = int(graph.params[logits_module]["kernel"].shape[1])
    if reject_offset and classes > N_CLASSES:
        shift = np.zeros(classes, np.float32)
        shift[N_CLASSES:] = reject_offset
        x = graph.node("Sub", [x, graph.constant("reject_offset", shift)])
    if temperature != 1.0:
        x = graph.node("Div", [x, graph.constant("temperature", np.array(temperature))])
    graph.node("Softmax", [x], OUTPUT_NAME, axis=1)
    onnx_graph = helper.make_graph(
        graph.nodes, "handwritten",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 28, 28, 1])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", classes])],
        graph.initializers,
    )  # fmt: skip
    exported = helper.make_model(
        onnx_graph, producer_name="handwritten", ir_version=IR_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string="Handwritten digits: images (N, 28, 28, 1) float32 in [0, 1], white ink on "
        "black, after handwritten's preprocessing; probabilities (N, 10), or (N, 11) with "
        "'not a digit' last.",
    )  # fmt: skip
    helper.set_model_props(exported, {"layers": plan.spec, "arch": model.arch})
    onnx.checker.check_model(exported, full_check=True)
    return bytes(exported.SerializeToString())


def export_onnx(
    model: DigitModel, path: Path, *, temperature: float = 1.0, reject_offset: float = 0.0
) -> Path:
    """Write `model` as ONNX to `path` atomically (calibrated as `onnx_bytes` says)."""
    atomic_write_bytes(
        Path(path), onnx_bytes(model, temperature=temperature, reject_offset=reject_offset)
    )
    return Path(path)
