"""Small ONNX files for tests: this project's export, and variants of it from "elsewhere"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from handwritten.models.architectures import DigitModel
from handwritten.models.onnx_export import INPUT_NAME, onnx_bytes


def exported(model: DigitModel) -> onnx.ModelProto:
    return onnx.load_from_string(onnx_bytes(model))


def as_nchw(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same network taking (N, 1, 28, 28), as a PyTorch export would."""
    graph = model.graph
    graph.node.insert(0, helper.make_node("Transpose", ["nchw"], [INPUT_NAME], perm=[0, 2, 3, 1]))
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info("nchw", TensorProto.FLOAT, ["N", 1, 28, 28]))
    return model


def as_logits(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same network returning raw logits: its final Softmax removed."""
    graph = model.graph
    softmax = graph.node[-1]
    assert softmax.op_type == "Softmax"
    logits = softmax.input[0]
    graph.node.remove(softmax)
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(logits, TensorProto.FLOAT, ["N", 10]))
    return model


def linear(input_shape: list, classes: int, flatten_axis: int = 1) -> onnx.ModelProto:
    """Flatten then one matrix: a classifier of any input shape and class count."""
    size = int(np.prod([d for d in input_shape[1:]]))
    weights = np.random.default_rng(0).standard_normal((size, classes)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["flat"], axis=flatten_axis),
         helper.make_node("MatMul", ["flat", "w"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", classes])],
        [numpy_helper.from_array(weights, "w")],
    )  # fmt: skip
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


def always(digit: int) -> onnx.ModelProto:
    """A model that answers `digit` whatever it sees (logits: one large score)."""
    bias = np.zeros((1, 10), np.float32)
    bias[0, digit] = 10.0
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["x"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "w"], ["scores"]),
         helper.make_node("Add", ["scores", "b"], ["y"])],
        "always",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 28, 28, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(np.zeros((784, 10), np.float32), "w"),
         numpy_helper.from_array(bias, "b")],
    )  # fmt: skip
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])
