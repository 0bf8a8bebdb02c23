"""Active model: shipped default, promote, fall back when the promoted run is gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from flax import nnx

from handwritten.models.architectures import create_model
from handwritten.models.checkpoint import save_checkpoint
from handwritten.models.store import (
    SHIPPED_CHECKPOINT,
    ModelNotFoundError,
    checkpoint_for,
    load_model,
    promote,
    reset_active,
)
from handwritten.storage.runs import RunDir


def _run_with_checkpoint(root: Path, arch: str = "mlp") -> RunDir:
    run = RunDir.create(arch, root=root)
    run.write_config({"arch": arch})
    run.write_summary({"test_accuracy": 0.5})
    _, params, batch_stats = nnx.split(create_model(arch), nnx.Param, ...)
    save_checkpoint(run.checkpoint_path, arch=arch, params=params, batch_stats=batch_stats)
    return run


def test_default_is_the_shipped_model() -> None:
    assert checkpoint_for("default") == SHIPPED_CHECKPOINT
    _, info = load_model("default")
    assert info.arch == "cnn_open" and info.name == "default (shipped)"
    assert info.test_accuracy >= 0.995


def test_promote_switches_default_and_falls_back_when_gone(tmp_path: Path) -> None:
    run = _run_with_checkpoint(tmp_path)
    promote(run.path)
    _, info = load_model("default")
    assert info.arch == "mlp" and info.test_accuracy == 0.5
    run.checkpoint_path.unlink()
    assert checkpoint_for("default") == SHIPPED_CHECKPOINT
    reset_active()
    assert checkpoint_for("default") == SHIPPED_CHECKPOINT


def test_promote_refuses_runs_without_a_valid_checkpoint(tmp_path: Path) -> None:
    run = RunDir.create("mlp", root=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no checkpoint"):
        promote(run.path)
    run.checkpoint_path.write_bytes(b"junk")
    with pytest.raises(ModelNotFoundError, match="corrupt"):
        promote(run.path)
    assert checkpoint_for("default") == SHIPPED_CHECKPOINT


def test_unknown_model_spec(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no such model"):
        load_model(tmp_path / "missing")


def test_an_imported_name_is_a_model_everywhere_but_training(tmp_path: Path) -> None:
    from handwritten.models.imported import ImportedModel, register_onnx
    from handwritten.models.store import load_any, registered_models
    from handwritten.recognition.predictor import Predictor

    from .onnx_models import exported, save

    run = _run_with_checkpoint(tmp_path)
    promote(run.path)
    path, _ = register_onnx(save(exported(create_model("mlp")), tmp_path / "m.onnx"), "theirs")
    assert checkpoint_for("theirs") == path
    with pytest.raises(ModelNotFoundError, match="an imported ONNX model; it predicts"):
        load_model("theirs")
    model, info = load_any("theirs")
    assert isinstance(model, ImportedModel) and (info.name, info.arch) == ("theirs", "onnx")
    assert [(m.name, m.source, m.active) for m in registered_models()] == [
        ("shipped", "shipped", False), (run.path.name, "promoted", True),
        ("theirs", "imported", False),
    ]  # fmt: skip
    promote("theirs")
    assert checkpoint_for("default") == path
    predictor = Predictor.load("default")
    assert not predictor.explainable and predictor.info.name == "theirs"
    with pytest.raises(ModelNotFoundError, match="has no layers to open here"):
        _ = predictor.model
    assert [m.name for m in registered_models() if m.active] == ["theirs"]
    assert run.path.name in [m.name for m in registered_models()], "promoted runs stay"


PROBE_CACHE = """
import collections
import jax
counts = collections.Counter()
jax.monitoring.register_event_listener(lambda event, **kwargs: counts.update([event]))
from handwritten.models.store import load_model
load_model("default")  # loads the shipped model and runs it once on the probe images
print(counts["/jax/compilation_cache/cache_hits"], counts["/jax/compilation_cache/cache_misses"])
"""


def test_the_probe_compiles_through_the_persistent_cache(tmp_path: Path) -> None:
    """Verifying a model must not compile afresh in every process (a cold dashboard waited on
    it): the second process finds the probe's program on disk."""
    import os
    import subprocess
    import sys

    from .conftest import REPO

    env = os.environ | {"HANDWRITTEN_COMPILE_CACHE": str(tmp_path / "cache")}

    def run() -> tuple[int, int]:
        out = subprocess.run([sys.executable, "-c", PROBE_CACHE], cwd=REPO, env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
        hits, misses = out.stdout.split()[-2:]
        return int(hits), int(misses)

    assert run()[1] >= 1  # the first process compiles the probe and stores it
    hits, misses = run()
    assert misses == 0 and hits >= 1
