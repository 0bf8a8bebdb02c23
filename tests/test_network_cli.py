"""The CLI for your own networks: train --layers, layers, export, import-model, --compare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from handwritten.cli import main
from handwritten.models.store import checkpoint_for

from .onnx_models import always, as_logits, as_nchw, save

EXAMPLE = "conv3x3x16,relu,pool2,conv3x3x32,relu,pool2,dense64,relu"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own refusals
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def drawn_one(path: Path) -> Path:
    digit = np.zeros((280, 280), np.uint8)
    digit[40:240, 130:150] = 255
    Image.fromarray(digit).save(path)
    return path


@pytest.fixture
def trained(synthetic_mnist: Path, tmp_path: Path, capsys) -> tuple[Path, dict]:
    """The README's example network, one epoch on the synthetic digits."""
    run_dir = tmp_path / "run"
    code, out, err = run_cli(
        capsys, "train", "--layers", EXAMPLE, "--epochs", "2", "--batch-size", "32",
        "--no-augment", "--run-dir", str(run_dir), "--json", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    return run_dir, last_json(out)


def test_train_layers_reports_the_spec_and_the_exact_parameter_count(trained) -> None:
    run_dir, result = trained
    assert result["arch"] == "custom" and result["layers"] == EXAMPLE
    assert result["parameters"] == 105_866
    assert result["test_accuracy"] > 0.9  # the synthetic digits are easy
    assert json.loads((run_dir / "config.json").read_text())["layers"] == EXAMPLE


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--layers", "conv3x3,relu"], "argument --layers: layer 1 'conv3x3': write it"),
        (["train", "--layers", "dense8,pool2"], "layer 2 'pool2': needs an image"),
        (["train", "--layers", "dense8000,dense8000"], "too many parameters for this machine"),
        (["train", "--layers", "dense8", "--arch", "mlp"], "an architecture or layers, not both"),
        (["layers", "pool2,pool2,pool2,pool2,pool2"], "layer 5 'pool2': shrinks the 1×1 image"),
    ],
)
def test_bad_layers_exit_2_with_one_line(argv: list[str], message: str, capsys) -> None:
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_layers_prints_the_builders_figures(capsys) -> None:
    code, out, _ = run_cli(capsys, "layers", EXAMPLE, "--batch-size", "64", "--json")
    result = last_json(out)
    assert code == 0 and result["parameters"] == 105_866
    assert result["multiply_adds"] == 28 * 28 * 9 * 16 + 14 * 14 * 9 * 16 * 32 + 1568 * 64 + 640
    assert result["table"][1] == {
        "layer": "conv1", "spec": "conv3x3x16", "output": "28×28×16", "parameters": 160,
        "multiply_adds": 28 * 28 * 9 * 16,
    }  # fmt: skip
    values = 28 * 28 * 16 * 2 + 14 * 14 * 16 + 14 * 14 * 32 * 2 + 7 * 7 * 32 + 64 * 2 + 10
    assert result["activation_bytes"] == values * 4 * 64
    code, out, _ = run_cli(capsys, "layers", "cnn")
    assert code == 0 and "861,802 parameters" in out


def test_layers_estimate_times_real_steps(capsys) -> None:
    code, out, _ = run_cli(
        capsys, "layers", "conv3x3x4,relu,pool2,dense16", "--batch-size", "32", "--estimate",
        "--train-subset", "320", "--json",
    )  # fmt: skip
    estimate = last_json(out)["estimate"]
    assert code == 0 and estimate["steps_per_epoch"] == 10
    assert estimate["seconds_per_step"] > 0 and estimate["first_step_seconds"] > 0
    assert estimate["seconds_per_epoch"] == pytest.approx(
        estimate["seconds_per_step"] * 10 + estimate["evaluation_seconds"]
    )


def test_bench_takes_layers(capsys) -> None:
    code, out, _ = run_cli(
        capsys, "bench", "--layers", "dense16,relu", "--batch-size", "16", "--steps", "2",
        "--blocks", "1", "--json",
    )  # fmt: skip
    assert code == 0 and last_json(out)["arch"] == "custom"


def test_export_import_evaluate_promote(trained, tmp_path: Path, capsys) -> None:
    run_dir, result = trained
    exported = tmp_path / "mine.onnx"
    code, out, err = run_cli(capsys, "export", str(run_dir), "--format", "onnx",
                             "--output", str(exported), "--json")  # fmt: skip
    assert code == 0, err
    assert last_json(out)["layers"] == EXAMPLE and exported.is_file()
    code, out, err = run_cli(capsys, "import-model", str(exported), "--name", "mine", "--json")
    assert code == 0, err
    assert last_json(out)["layout"] == "nhwc" and last_json(out)["output"] == "probabilities"
    code, out, _ = run_cli(capsys, "evaluate", "--model", "mine", "--json")
    evaluation = last_json(out)
    assert code == 0 and evaluation["arch"] == "onnx" and evaluation["n"] == 128
    assert evaluation["test_accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-3)
    assert run_cli(capsys, "promote", "mine")[0] == 0
    assert checkpoint_for("default") == checkpoint_for("mine")
    code, out, _ = run_cli(capsys, "info", "--json")
    assert last_json(out)["model"] == "mine"
    code, _, err = run_cli(capsys, "export", "mine", "--output", str(tmp_path / "x.onnx"))
    assert code == 2 and "an imported ONNX model" in err


def test_import_adapts_nchw_and_logits_and_says_so(tmp_path: Path, capsys) -> None:
    import onnx

    from handwritten.models.architectures import create_model
    from handwritten.models.onnx_export import onnx_bytes

    model = onnx.load_from_string(onnx_bytes(create_model("mlp")))
    path = save(as_logits(as_nchw(model)), tmp_path / "torchlike.onnx")
    code, _, err = run_cli(capsys, "import-model", str(path), "--name", "torchlike")
    assert code == 0
    assert "NCHW input fed from NHWC; softmax applied to its logits" in err


def test_import_refuses_what_it_cannot_adapt(tmp_path: Path, capsys) -> None:
    from .onnx_models import linear

    path = save(linear(["N", 3, 32, 32], 10), tmp_path / "cifar.onnx")
    code, _, err = run_cli(capsys, "import-model", str(path), "--name", "cifar")
    assert code == 2 and "takes input (N, 3, 32, 32)" in err
    assert len(err.strip().splitlines()) == 1


def test_predict_compare_marks_the_models_that_disagree(tmp_path: Path, capsys) -> None:
    one = drawn_one(tmp_path / "one.png")
    for name in ("sevens", "sevens-too"):
        path = save(always(7), tmp_path / f"{name}.onnx")
        assert run_cli(capsys, "import-model", str(path), "--name", name)[0] == 0
    code, out, _ = run_cli(capsys, "predict", str(one), "--compare", "--json")
    result = last_json(out)
    assert code == 0 and result["consensus"] == "7" and result["agree"] is False
    answers = {m["model"]: (m["digits"], m["agrees"], m["active"]) for m in result["models"]}
    assert answers == {
        "shipped": ("1", False, True), "sevens": ("7", True, False),
        "sevens-too": ("7", True, False),
    }  # fmt: skip
    code, out, _ = run_cli(capsys, "predict", str(one), "--compare")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0] == f"{one}: models disagree (most say 7)"
    assert "<- differs" in next(line for line in lines if "shipped" in line)
    assert all("<- differs" not in line for line in lines if "sevens" in line)
