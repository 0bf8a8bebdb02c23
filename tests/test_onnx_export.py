"""ONNX export, run in onnxruntime, against this project's own probabilities (to 1e-4)."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import onnx
import onnxruntime
import pytest
from flax import nnx

from handwritten.models.architectures import create_model
from handwritten.models.inference import infer_model
from handwritten.models.onnx_export import export_onnx, onnx_bytes
from handwritten.models.store import load_model
from handwritten.recognition.predictor import Calibration


def images(n: int = 6) -> np.ndarray:
    return np.random.default_rng(3).random((n, 28, 28), dtype=np.float32)


def onnx_probabilities(data: bytes, images_n28: np.ndarray, classes: int = 10) -> np.ndarray:
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    (inputs,) = session.get_inputs()
    assert inputs.name == "images" and inputs.shape == ["N", 28, 28, 1]
    assert session.get_outputs()[0].shape == ["N", classes]
    return session.run(None, {"images": images_n28[..., None]})[0]


def with_running_statistics(model: nnx.Module) -> nnx.Module:
    """Batch norms with statistics other than a fresh model's 0 and 1, so they count."""
    rng = np.random.default_rng(1)
    stats = nnx.state(model, nnx.BatchStat)
    nnx.update(model, jax.tree.map(lambda v: v + rng.random(v.shape).astype(np.float32), stats))
    return model


@pytest.mark.parametrize(
    "spec",
    [
        "conv3x3x16,relu,pool2,conv3x3x32,relu,pool2,dense64,relu",
        # every kind: even kernels ('same' pads more after), valid, avgpool with a remainder,
        # norms on maps and on units, tanh, dropout, gap
        "conv4x4x5,bn,tanh,avgpool3,conv3x3x7valid,relu,pool2,dropout0.2,gap,dense12,bn,relu",
        "conv2x2x3,pool3,conv5x5x4,bn,relu,dense5",
    ],
)
def test_a_spec_network_exports_to_the_same_probabilities(spec: str) -> None:
    model = with_running_statistics(create_model("custom", seed=2, layers=spec))
    x = images()
    ours = infer_model(model, x, output="probabilities")
    np.testing.assert_allclose(onnx_probabilities(onnx_bytes(model), x), ours, atol=1e-4)


@pytest.mark.parametrize("arch", ["mlp", "lenet", "cnn", "fast"])
def test_the_fixed_architectures_export_by_their_specs(arch: str) -> None:
    model = with_running_statistics(create_model(arch, seed=5))
    x = images()
    ours = infer_model(model, x, output="probabilities")
    np.testing.assert_allclose(onnx_probabilities(onnx_bytes(model), x), ours, atol=1e-4)


def test_the_shipped_model_exports_calibrated_with_its_spec_in_the_metadata(
    tmp_path: Path,
) -> None:
    """All eleven outputs, "not a digit" last, with the reject margin and temperature the
    Predictor answers with: an importer reads the same confidences."""
    restored, info = load_model("default")
    calibration = Calibration.of(info.meta)
    assert calibration.reject_offset > 0 and calibration.temperature != 1.0
    path = export_onnx(
        restored.model, tmp_path / "shipped.onnx", temperature=calibration.temperature,
        reject_offset=calibration.reject_offset,
    )  # fmt: skip
    x = images(16)
    ours = calibration.probabilities(infer_model(restored.model, x))
    np.testing.assert_allclose(onnx_probabilities(path.read_bytes(), x, 11), ours, atol=1e-4)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props == {"layers": restored.layers, "arch": "cnn_open"}


def test_an_uncalibrated_open_set_model_exports_its_plain_softmax() -> None:
    model = with_running_statistics(create_model("cnn_open", seed=1))
    x = images()
    ours = infer_model(model, x, output="probabilities")
    np.testing.assert_allclose(onnx_probabilities(onnx_bytes(model), x, 11), ours, atol=1e-4)
