"""The CLI contract: exact command names, --json last line, exit 2 with one line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from handwritten.cli import main
from handwritten.models.store import checkpoint_for


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_evaluate_promote(synthetic_mnist: Path, tmp_path: Path, capsys) -> None:
    run_dir = tmp_path / "run"
    code, out, err = run_cli(
        capsys,
        "train",
        "--arch",
        "mlp",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--lr",
        "0.01",
        "--seed",
        "1",
        "--run-dir",
        str(run_dir),
        "--json",
    )
    assert code == 0, err
    result = last_json(out)
    for key in ("run_dir", "arch", "epochs", "test_accuracy", "train_images_per_second"):
        assert key in result
    assert result["run_dir"] == str(run_dir) and result["arch"] == "mlp" and result["epochs"] == 2
    assert 0.9 < result["test_accuracy"] <= 1.0
    assert "test accuracy" in err  # progress and epoch lines go to stderr

    code, out, _ = run_cli(capsys, "evaluate", "--model", str(run_dir), "--json")
    evaluation = last_json(out)
    assert code == 0 and evaluation["n"] == 128
    assert evaluation["test_accuracy"] == pytest.approx(result["test_accuracy"])
    assert len(evaluation["per_class_accuracy"]) == 10

    assert run_cli(capsys, "promote", str(run_dir))[0] == 0
    assert checkpoint_for("default") == run_dir / "checkpoint.msgpack"
    code, out, _ = run_cli(capsys, "info", "--json")
    assert last_json(out)["arch"] == "mlp"


def test_evaluate_a_realistic_set_prints_its_figures(capsys) -> None:
    code, out, _ = run_cli(capsys, "evaluate", "--set", "nondigit", "--limit", "3", "--json")
    report = last_json(out)
    assert code == 0 and report["set"] == "nondigit" and report["n"] == 3
    assert 0 <= report["declined"] <= 1 and "declined_unseen" in report
    code, out, _ = run_cli(capsys, "evaluate", "--set", "nondigit", "--limit", "2")
    assert code == 0 and "declined" in out and "(test, 2)" in out


def test_predict_json_lines(tmp_path: Path, capsys) -> None:
    digit = np.zeros((280, 280), np.uint8)
    digit[40:240, 130:150] = 255  # a 1
    good = tmp_path / "one.png"
    Image.fromarray(digit).save(good)
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(blank)
    code, out, _ = run_cli(capsys, "predict", str(good), str(blank), "--json")
    assert code == 0
    first, second = (json.loads(line) for line in out.strip().splitlines())
    assert first["path"] == str(good) and first["label"] == 1
    assert len(first["probabilities"]) == 10 and 0 < first["confidence"] <= 1
    assert second["label"] is None


def test_predict_bad_file_exit_2_and_keeps_going(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    good = tmp_path / "one.png"
    image = np.zeros((100, 100), np.uint8)
    image[10:90, 45:55] = 255
    Image.fromarray(image).save(good)
    code, out, err = run_cli(capsys, "predict", str(bad), str(good), "--json")
    assert code == 2
    assert "not an image" in err and "Traceback" not in err
    assert json.loads(out.strip().splitlines()[-1])["label"] == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--arch", "vgg"], "invalid choice"),
        (["train", "--epochs", "0"], "must be at least 1"),
        (["train", "--lr", "abc"], "not a number"),
        (["train", "--micro-batch", "-1"], "must be at least 0"),
        (["bench", "--micro-batch", "x"], "not an integer"),
        (["predict"], "required"),
        (["evaluate", "--model", "/nonexistent/run"], "no such model"),
        (["promote", "/nonexistent/run"], "no such model"),
        (["train", "--arch", "mlp"], "handwritten data fetch"),  # no MNIST in this test's cache
        (["train", "--seed", "99999999999999999999"], "must be at most 2,147,483,647"),
        (["train", "--epochs", "1001"], "must be at most 1,000"),
        (["finetune", "--epochs", "101"], "must be at most 100"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv: list[str], message: str, capsys) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bench_json(capsys) -> None:
    code, out, _ = run_cli(
        capsys,
        "bench",
        "--arch",
        "mlp",
        "--batch-size",
        "32",
        "--steps",
        "3",
        "--blocks",
        "1",
        "--micro-batch",
        "16",
        "--json",
    )
    result = last_json(out)
    assert code == 0
    for key in ("train_images_per_second", "first_step_seconds", "predict_latency_ms", "device"):
        assert key in result
    assert result["micro_batches"] == 2  # 32 images in slices of 16
    assert result["train_images_per_second"] > 0 and result["device"].startswith("cpu")
    assert result["train_images_per_cpu_second"] > 0


def test_resume_from_the_cli_uses_the_runs_settings(
    synthetic_mnist: Path, tmp_path: Path, capsys
) -> None:
    from handwritten.storage.runs import RunDir

    run_dir = tmp_path / "run"
    argv = [
        "train",
        "--arch",
        "lenet",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--run-dir",
        str(run_dir),
        "--json",
    ]
    assert main(argv) == 0
    run = RunDir.open(run_dir)
    run.set_status("stopped")  # pretend it stopped after its checkpoint
    code, out, err = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir), "--json")
    assert code == 0, err
    assert last_json(out)["arch"] == "lenet" and run.settings()["arch"] == "lenet"


def test_resume_after_a_stop_file_continues(synthetic_mnist: Path, tmp_path: Path, capsys) -> None:
    """A run stopped with a STOP file resumes to the end instead of stopping again at once."""
    from handwritten.storage.runs import RunDir

    run_dir = tmp_path / "run"
    common = ["--arch", "mlp", "--batch-size", "32", "--run-dir", str(run_dir), "--json"]
    assert run_cli(capsys, "train", "--epochs", "1", *common)[0] == 0
    run = RunDir.open(run_dir)
    run.write_config(run.settings() | {"epochs": 2})  # as if stopped after its first epoch
    run.set_status("stopped", "stop requested")
    run.request_stop()
    code, out, err = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir), "--json")
    assert code == 0, err
    result = last_json(out)
    assert result["state"] == "finished", result
    assert len(result["epoch_test_accuracy"]) == 2 and not run.stop_requested()


def test_a_batch_larger_than_the_data_is_refused_before_training(
    synthetic_mnist: Path, tmp_path: Path, capsys
) -> None:

    run_dir = tmp_path / "run"
    code, _, err = run_cli(
        capsys, "train", "--arch", "mlp", "--epochs", "1", "--batch-size", "60000",
        "--run-dir", str(run_dir),
    )  # fmt: skip
    assert code == 2 and "larger than the training set (512 images)" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not run_dir.exists()  # refused before any run directory was made


def test_ctrl_c_exits_130_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from handwritten.cli import model_commands

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(model_commands, "cmd_info", interrupted)
    assert main(["info"]) == 130
    assert capsys.readouterr().err.strip() == "handwritten info: interrupted"


def test_the_progress_bar_counts_a_bank_being_drawn_then_the_steps(capsys) -> None:
    from handwritten.cli.training_commands import _progress_bar

    drawing = {"kind": "preparing", "what": "training non-digits", "done": 250, "total": 900}
    step = {"kind": "train", "step": 4, "total_steps": 40, "loss": 0.5, "images_per_second": 10.0}
    bar, on_progress = _progress_bar("train cnn_open", quiet=False)
    on_progress(drawing)
    assert (bar.desc, bar.unit, bar.n, bar.total) == (
        "drawing training non-digits: ", "image", 250, 900,
    )  # fmt: skip
    on_progress(step)
    assert (bar.desc, bar.unit, bar.n, bar.total) == ("train cnn_open: ", "step", 4, 40)
    bar.close()
    assert "drawing training non-digits" in capsys.readouterr().err
    quiet, on_quiet = _progress_bar("train cnn_open", quiet=True)
    on_quiet(drawing)
    on_quiet(step)  # a disabled bar takes the same calls
    quiet.close()
