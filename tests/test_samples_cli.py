"""`handwritten samples add|list|export|import` and `handwritten finetune`: the CLI contract
(--json last line, exit 2 with one line on stderr and no traceback)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from handwritten.cli import main
from handwritten.data.preprocess import preprocess
from handwritten.data.samples import SampleStore
from handwritten.evaluation.styles import seven_segment
from handwritten.training.finetune import MIN_SAMPLES

from .test_cli import last_json, run_cli


def draw_png(path: Path, *lines: tuple[int, int, int, int]) -> Path:
    """White line strokes on black."""
    image = Image.new("L", (140, 140), 0)
    pen = ImageDraw.Draw(image)
    for line in lines:
        pen.line(line, fill=255, width=10)
    image.save(path)
    return path


def sevens(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return (
        draw_png(folder / "a.png", (30, 25, 110, 25), (110, 25, 60, 120)),
        draw_png(folder / "b.png", (35, 30, 105, 30), (105, 30, 75, 125), (60, 75, 100, 75)),
    )


def add_seven_segment_samples(count: int) -> None:
    """`count` samples as the Draw page saves them, into the current HANDWRITTEN_HOME."""
    rng = np.random.default_rng(0)
    items = []
    for i in range(count):
        canvas = seven_segment(i % 10, rng)
        items.append((i % 10, canvas, preprocess(canvas, multi=False).digits[0].centred, "draw"))
    SampleStore().add_many(items)


def test_add_list_export_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = sevens(tmp_path / "pictures")
    code, out, err = run_cli(capsys, "samples", "add", "--label", "7", str(a), str(b))
    assert code == 0, err
    assert out.splitlines() == [
        f"{a}: saved as sample 1 (label 7)",
        f"{b}: saved as sample 2 (label 7)",
    ]

    code, out, _ = run_cli(capsys, "samples", "list", "--json")
    listing = last_json(out)
    assert code == 0
    assert listing["counts"] == [0, 0, 0, 0, 0, 0, 0, 2, 0, 0] and listing["total"] == 2
    assert [(s["id"], s["label"], s["source"]) for s in listing["samples"]] == [
        (1, 7, str(a)),
        (2, 7, str(b)),
    ]
    assert listing["store"] == str(SampleStore().path)

    code, out, _ = run_cli(capsys, "samples", "list")
    assert code == 0 and out.startswith("2 samples in ") and "  7: 2" in out.splitlines()

    archive = tmp_path / "backup" / "samples.zip"
    code, out, _ = run_cli(capsys, "samples", "export", str(archive))
    assert code == 0 and archive.is_file()
    assert out.strip() == f"exported 2 samples to {archive}"

    monkeypatch.setenv("HANDWRITTEN_HOME", str(tmp_path / "another-home"))
    code, out, _ = run_cli(capsys, "samples", "list", "--json")
    assert last_json(out)["total"] == 0
    code, out, err = run_cli(capsys, "samples", "import", str(archive))
    assert code == 0, err
    assert out.strip() == f"imported 2 samples from {archive}"
    code, out, _ = run_cli(capsys, "samples", "list", "--json")
    restored = last_json(out)
    assert restored["counts"] == listing["counts"]
    assert [s["source"] for s in restored["samples"]] == [str(a), str(b)]
    assert restored["store"] == str(tmp_path / "another-home" / "samples.sqlite3")


@pytest.mark.parametrize("label", ["12", "x", "-1", ""])
def test_add_with_a_bad_label_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str
) -> None:
    a, _ = sevens(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["samples", "add", "--label", label, str(a)])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "--label" in captured.err and "Traceback" not in captured.err
    assert len(SampleStore()) == 0


def test_add_keeps_the_good_files_and_names_the_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = sevens(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    blank = tmp_path / "blank.png"
    Image.new("L", (60, 60), 0).save(blank)
    missing = tmp_path / "missing.png"
    code, out, err = run_cli(
        capsys, "samples", "add", "--label", "7", str(a), str(notes), str(blank), str(missing),
        str(b),
    )  # fmt: skip
    assert code == 2
    errors = err.strip().splitlines()
    assert errors == [
        f"handwritten samples: {notes}: this is not an image PIL can read "
        "(PNG, JPEG, GIF, BMP, WebP…)",
        f"handwritten samples: {blank}: expected one digit, found no digit",
        f"handwritten samples: {missing}: cannot read (No such file or directory)",
    ]
    assert len(out.strip().splitlines()) == 2
    assert SampleStore().counts()[7] == 2
    assert [s.source for s in SampleStore().samples()] == [str(a), str(b)]


def test_import_of_a_bad_archive_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_seven_segment_samples(3)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"this is not a zip")
    code, out, err = run_cli(capsys, "samples", "import", str(bad))
    assert code == 2 and out == ""
    assert err == "handwritten samples: this is not a zip archive\n"

    code, out, err = run_cli(capsys, "samples", "import", str(tmp_path / "absent.zip"))
    assert code == 2 and out == ""
    assert err.startswith("handwritten samples: ") and "absent.zip: cannot read" in err
    assert len(err.strip().splitlines()) == 1
    assert len(SampleStore()) == 3


@pytest.fixture
def tiny_base(synthetic_mnist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A one-epoch MLP trained on the synthetic MNIST, to fine-tune quickly."""
    run_dir = tmp_path / "base"
    code, _, err = run_cli(
        capsys, "train", "--arch", "mlp", "--epochs", "1", "--run-dir", str(run_dir), "--quiet"
    )
    assert code == 0, err
    return run_dir


def test_finetune_json(tiny_base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_seven_segment_samples(20)
    run_dir = tmp_path / "tuned"
    code, out, err = run_cli(
        capsys, "finetune", "--base", str(tiny_base), "--epochs", "1", "--run-dir", str(run_dir),
        "--json",
    )  # fmt: skip
    assert code == 0, err
    figures = last_json(out)
    assert figures["run_dir"] == str(run_dir) and figures["state"] == "finished"
    assert figures["n_personal_train"] == 10 and figures["n_personal_heldout"] == 10
    assert figures["n_replay"] == 512  # all of the synthetic training set
    for key in (
        "personal_accuracy_before", "personal_accuracy_after",
        "mnist_accuracy_before", "mnist_accuracy_after",
    ):  # fmt: skip
        assert 0.0 <= figures[key] <= 1.0, key
    assert figures["mnist_accuracy_after"] > 0.5  # the synthetic digits were not forgotten
    assert (run_dir / "checkpoint.msgpack").is_file()
    assert "personal: " in err and "mnist: " in err and "Traceback" not in err


def test_finetune_with_too_few_samples_exits_2(
    synthetic_mnist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_seven_segment_samples(MIN_SAMPLES - 1)
    code, out, err = run_cli(capsys, "finetune", "--run-dir", str(tmp_path / "run"), "--json")
    assert code == 2 and out == ""
    message = err.strip().splitlines()[-1]
    assert message.startswith("handwritten finetune: fine-tuning needs at least 10 personal")
    assert "handwritten samples add" in message and "Traceback" not in err
    assert not (tmp_path / "run").exists(), "a refused fine-tune leaves no run directory"
