"""Importing ONNX models: signature checks, the probe, adapting NCHW and logits, refusals, names."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from handwritten.models.architectures import create_model
from handwritten.models.imported import (
    ImportedModel,
    ModelImportError,
    imported_names,
    inspect_onnx,
    register_onnx,
)
from handwritten.models.inference import infer_model

from .onnx_models import as_logits, as_nchw, exported, linear, save

SPEC = "conv3x3x4,relu,pool2,dense16,relu"


@pytest.fixture(scope="module")
def model():
    return create_model("custom", seed=1, layers=SPEC)


def images() -> np.ndarray:
    return np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)


@pytest.mark.parametrize(
    ("variant", "layout", "output"),
    [
        (lambda m: m, "nhwc", "probabilities"),
        (as_nchw, "nchw", "probabilities"),
        (as_logits, "nhwc", "logits"),
        (lambda m: as_logits(as_nchw(m)), "nchw", "logits"),
    ],
)
def test_nchw_and_logits_models_are_adapted(tmp_path: Path, model, variant, layout, output) -> None:
    path = save(variant(exported(model)), tmp_path / "model.onnx")
    adapter = inspect_onnx(path)
    assert (adapter.layout, adapter.output, adapter.batch) == (layout, output, None)
    x = images()
    np.testing.assert_allclose(
        ImportedModel(path, adapter).probabilities(x),
        infer_model(model, x, output="probabilities"),
        atol=1e-4,
    )


def test_a_fixed_batch_size_is_fed_in_padded_chunks(tmp_path: Path) -> None:
    path = save(linear([1, 28, 28, 1], 10), tmp_path / "one.onnx")
    imported = ImportedModel(path)
    assert (imported.adapter.batch, imported.adapter.output) == (1, "logits")
    probabilities = imported.probabilities(images())
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: linear(["N", 784], 10), r"takes input \(N, 784\); an imported model must take"),
        (lambda: linear(["N", 3, 32, 32], 10), r"takes input \(N, 3, 32, 32\)"),
        (lambda: linear(["N", 28, 28, 1], 1000), r"returns shape \(1000,\) an image; expected 10"),
    ],
)
def test_other_signatures_are_refused_in_one_line(tmp_path: Path, make, message: str) -> None:
    path = save(make(), tmp_path / "other.onnx")
    with pytest.raises(ModelImportError, match=message) as caught:
        register_onnx(path, "other")
    assert "\n" not in str(caught.value)
    assert imported_names() == []


def test_a_file_that_is_not_onnx_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelImportError, match="not a model onnxruntime can load"):
        inspect_onnx(junk)
    with pytest.raises(ModelImportError, match="no such file"):
        inspect_onnx(tmp_path / "missing.onnx")


def test_without_onnxruntime_the_message_says_what_to_install(
    tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save(exported(model), tmp_path / "model.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    with pytest.raises(ModelImportError, match=r'pip install -e "\.\[onnx\]"'):
        inspect_onnx(path)


def test_names_are_checked_and_not_replaced_by_accident(tmp_path: Path, model) -> None:
    path = save(exported(model), tmp_path / "model.onnx")
    for bad in ("default", "a/b", "", "x" * 41, "-lead"):
        with pytest.raises(ModelImportError, match="a name is 1-40 letters"):
            register_onnx(path, bad)
    registered, _ = register_onnx(path, "mine")
    assert registered.is_file() and imported_names() == ["mine"]
    with pytest.raises(ModelImportError, match="already registered; pass --replace"):
        register_onnx(path, "mine")
    assert register_onnx(save(as_nchw(exported(model)), tmp_path / "b.onnx"), "mine",
                         replace=True)[1].layout == "nchw"  # fmt: skip
    assert ImportedModel.open(registered).adapter.layout == "nchw"  # read from model.json
