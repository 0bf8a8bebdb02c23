"""The fault matrix: bad checkpoints, full disks, read-only homes, odd files, odd arguments.

Each test is one fault from the reliability probe, injected the cheapest faithful way (an
`OSError` with the errno the kernel would give, raised at the write layer; a crafted file), and
checks the rule it breaks: a model that becomes active has answered a probe and a broken one
falls back to the shipped model with a warning; a CLI error is one line on stderr with exit 2
(bad input), 1 (failure at run time) or 130 (Ctrl-C), never a traceback; a run that failed
after a valid checkpoint resumes, and a status keeps its first cause; inputs are bounded
before they are read.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import itertools
import os
import sqlite3
import stat
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx, serialization
from PIL import Image

import handwritten.data.samples as samples_module
from handwritten.cli import main
from handwritten.data.decode import DECODE_SIDE, ImageError, load_image
from handwritten.data.mnist import Split
from handwritten.data.preprocess import preprocess
from handwritten.data.samples import SampleError, SampleStore
from handwritten.jobs.foreground import training_slot
from handwritten.jobs.launcher import RESUMABLE_STATES, open_for_resume, run_state
from handwritten.models.architectures import create_model
from handwritten.models.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    restore_opt_state,
    save_checkpoint,
)
from handwritten.models.store import (
    SHIPPED_CHECKPOINT,
    ActiveModel,
    ModelNotFoundError,
    active_model,
    active_pointer,
    checkpoint_for,
    load_model,
    promote,
)
from handwritten.recognition.predictor import Predictor
from handwritten.storage.files import InputFileError, atomic_write_bytes, read_regular_file
from handwritten.storage.paths import runs_dir
from handwritten.storage.runs import RunDir
from handwritten.training.config import TrainConfig
from handwritten.training.loop import fit

from .conftest import REPO, synthetic_digits
from .test_cli import last_json, run_cli
from .test_samples import ONE, labels_csv, make_zip

# ---------------------------------------------------------------------------------------------
# helpers


def one_line_error(err: str, prefix: str) -> str:
    """The single stderr line of a failed command (no traceback), checked and returned."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix) and "Traceback" not in err, err
    return lines[0]


def digit_png(path: Path, size: int = 100) -> Path:
    image = np.zeros((size, size), np.uint8)
    image[size // 10 : size - size // 10, size // 2 - size // 20 : size // 2 + size // 20] = 255
    Image.fromarray(image).save(path)
    return path


def mlp_run(root: Path, name: str = "run", state: str | None = "finished") -> RunDir:
    """A run directory holding a valid (untrained) MLP checkpoint."""
    run = RunDir.create("mlp", path=root / name)
    run.write_config({"arch": "mlp"})
    if state:
        run.set_status(state)
    _, params, batch_stats = nnx.split(create_model("mlp"), nnx.Param, ...)
    save_checkpoint(run.checkpoint_path, arch="mlp", params=params, batch_stats=batch_stats,
                    meta={"test_accuracy": 0.5})  # fmt: skip
    return run


def craft(path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """Rewrite a checkpoint's payload with `change` applied (msgpack, as an attacker would)."""
    payload = serialization.msgpack_restore(path.read_bytes())
    change(payload)
    path.write_bytes(serialization.msgpack_serialize(payload))
    return path


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        node = payload
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value(node[keys[-1]]) if callable(value) else value

    return change


KERNEL = ("params", "dense1", "kernel")
BROKEN_CHECKPOINTS = {  # what was done to a good checkpoint, and what the error says
    "wrong shapes": (
        _set(*KERNEL, value=np.zeros((3, 3), np.float32)),
        "do not match the architecture",
    ),
    "NaN weights": (_set(*KERNEL, value=lambda k: k * np.nan), "hold NaN or infinite values"),
    "integer weights": (
        _set(*KERNEL, value=lambda k: k.astype(np.int32)),
        "are int32, expected float32",
    ),
    "weights that overflow": (  # finite, but the logits are not
        _set("params", "dense2", "kernel", value=lambda k: np.full_like(k, 3e38)),
        "answers NaN or infinity",
    ),
    "arch a list": (_set("arch", value=["mlp"]), "'arch' must be an architecture's name"),
    "meta a string": (_set("meta", value="hello"), "'meta' must be a mapping"),
    "params a list": (_set("params", value=[1, 2]), "'params' must be a mapping"),
}


# ---------------------------------------------------------------------------------------------
# 1. promote accepts only a model that loads and answers; a broken active model falls back


@pytest.mark.parametrize("case", list(BROKEN_CHECKPOINTS))
def test_promote_refuses_a_checkpoint_that_cannot_load_or_answer(tmp_path: Path, case: str) -> None:
    run = mlp_run(tmp_path)
    change, message = BROKEN_CHECKPOINTS[case]
    craft(run.checkpoint_path, change)
    with pytest.raises(ModelNotFoundError, match=message) as info:
        promote(run.path)
    assert str(run.checkpoint_path) in str(info.value)  # the message names the file
    assert not active_pointer().exists() and checkpoint_for("default") == SHIPPED_CHECKPOINT


@pytest.mark.parametrize("case", list(BROKEN_CHECKPOINTS))
def test_crafted_checkpoints_are_one_line_errors_from_the_cli(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = mlp_run(tmp_path)
    change, message = BROKEN_CHECKPOINTS[case]
    craft(run.checkpoint_path, change)
    image = digit_png(tmp_path / "one.png")
    code, out, err = run_cli(capsys, "predict", "--model", str(run.checkpoint_path), str(image))
    assert code == 2 and out == ""
    assert message in one_line_error(err, f"handwritten predict: {run.checkpoint_path}")


def test_a_broken_active_model_falls_back_to_the_shipped_one_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = mlp_run(tmp_path)
    promote(run.path)
    assert load_model("default")[1].arch == "mlp"
    craft(run.checkpoint_path, BROKEN_CHECKPOINTS["wrong shapes"][0])  # broken after promotion

    assert checkpoint_for("default") == SHIPPED_CHECKPOINT
    _, info = load_model("default")
    assert info.arch == "cnn" and info.name == "default (shipped)"
    assert "cannot be used" in info.warning and str(run.checkpoint_path) in info.warning

    code, out, err = run_cli(capsys, "info", "--json")
    assert code == 0 and last_json(out)["arch"] == "cnn"
    assert one_line_error(err, "handwritten info: warning: the promoted model cannot be used")
    code, out, err = run_cli(capsys, "predict", str(digit_png(tmp_path / "one.png")))
    assert code == 0 and "confidence" in out and "warning" in err


def test_every_page_works_with_a_broken_active_model_and_shows_a_banner(tmp_path: Path) -> None:
    from .test_app import PAGES, app

    run = mlp_run(tmp_path)
    promote(run.path)
    craft(run.checkpoint_path, BROKEN_CHECKPOINTS["NaN weights"][0])
    at = app()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        banners = [w.value for w in at.sidebar.warning]
        assert any("promoted model cannot be used" in b for b in banners), (page, banners)


def test_a_recorded_accuracy_that_is_not_a_number_is_ignored(tmp_path: Path, capsys) -> None:
    run = mlp_run(tmp_path)
    craft(run.checkpoint_path, _set("meta", "test_accuracy", value="excellent"))
    promote(run.path)  # the model itself is fine
    _, info = load_model("default")
    assert info.test_accuracy is None and not info.warning
    code, out, _ = run_cli(capsys, "info")
    assert code == 0 and "test_accuracy: None" in out


def test_promote_refuses_a_run_still_running_or_failed(tmp_path: Path, capsys) -> None:
    running = mlp_run(tmp_path, "running", state="running")
    code, _, err = run_cli(capsys, "promote", str(running.path))
    assert code == 2 and "still running" in one_line_error(err, "handwritten promote:")
    failed = mlp_run(tmp_path, "failed", state="failed")
    with pytest.raises(ModelNotFoundError, match="only finished or stopped runs"):
        promote(failed.path)
    assert not active_pointer().exists()


# ---------------------------------------------------------------------------------------------
# Checkpoint contents: NaN, integer weights and the optimizer's key paths


def test_nan_weights_never_answer(tmp_path: Path) -> None:
    path = craft(mlp_run(tmp_path).checkpoint_path, BROKEN_CHECKPOINTS["NaN weights"][0])
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(path)
    with pytest.raises(ModelNotFoundError, match="NaN"):
        Predictor.load(path)  # no "0, confidence nan%"


# ---------------------------------------------------------------------------------------------
# 4. disk full and read-only homes: one line, exit 1, naming the file


REAL_REPLACE = os.replace


def fail_replace(monkeypatch: pytest.MonkeyPatch, code: int, when: Callable[[Path], bool]) -> None:
    """`os.replace` fails with `code` for destinations `when` accepts (the write layer)."""
    real = os.replace

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        if when(Path(dst)):
            raise OSError(code, os.strerror(code))
        real(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_promote_in_a_read_only_home_is_one_line_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    run = mlp_run(tmp_path)
    fail_replace(monkeypatch, errno.EROFS, lambda dst: dst == active_pointer())
    code, _, err = run_cli(capsys, "promote", str(run.path))
    line = one_line_error(err, "handwritten promote:")
    assert code == 1 and line.endswith(f"{active_pointer()}: Read-only file system")
    assert not list(active_pointer().parent.glob(".*.tmp")), "the temp file is removed"


def test_train_in_a_read_only_home_is_one_line_exit_1(
    synthetic_mnist: Path, monkeypatch: pytest.MonkeyPatch, capsys, isolated_home: Path
) -> None:
    real_open = os.open

    def read_only_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path).is_relative_to(isolated_home) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_open)
    code, _, err = run_cli(capsys, "train", "--arch", "mlp", "--epochs", "1")
    assert code == 1
    assert one_line_error(err, "handwritten train:").endswith("Read-only file system")


def test_a_compile_cache_folder_that_cannot_be_made_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handwritten.runtime import device

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("HANDWRITTEN_COMPILE_CACHE", str(blocker / "jax"))  # cannot be made
    monkeypatch.setattr(device, "_cache_enabled", False)
    device.enable_compile_cache()  # programs are compiled in memory instead


class ReadOnlyFolderConnection:
    """What SQLite gives in a folder nobody may write: every statement fails."""

    def execute(self, *args: Any) -> Any:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    def close(self) -> None:
        pass


def test_samples_list_works_in_a_read_only_home(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run_cli(capsys, "samples", "list")[0] == 0  # no store yet: listing creates nothing
    assert not isolated_home.exists()
    SampleStore().add_image(1, ONE, source="one.png")
    real_connect = sqlite3.connect

    def connect(target: str, *args: Any, uri: bool = False, **kwargs: Any) -> Any:
        if uri and "immutable=1" in target:
            return real_connect(target, *args, uri=uri, **kwargs)
        return ReadOnlyFolderConnection()  # read-write, and read-only that needs its -shm file

    monkeypatch.setattr(samples_module.sqlite3, "connect", connect)
    code, out, err = run_cli(capsys, "samples", "list")
    assert code == 0, err
    assert out.startswith("1 samples in ") and "  1: 1" in out.splitlines()
    code, _, err = run_cli(capsys, "samples", "add", "--label", "1", str(REPO / "README.md"))
    assert code == 1 and "readonly database" in one_line_error(err, "handwritten samples:")


# ---------------------------------------------------------------------------------------------
# 5. inputs bounded before they are read


def test_devices_fifos_and_folders_are_refused_before_reading(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)  # nobody writes it: reading would block forever
    for path in (Path("/dev/zero"), fifo, tmp_path):
        with pytest.raises(ImageError, match="not a regular file"):
            load_image(path)
    code, _, err = run_cli(capsys, "predict", "/dev/zero")
    assert code == 2 and one_line_error(err, "handwritten predict:").endswith(
        "/dev/zero: not a regular file"
    )
    code, _, err = run_cli(capsys, "predict", "--model", "/dev/zero", str(tmp_path))
    assert code == 2 and "not a regular file" in one_line_error(err, "handwritten predict:")


def test_a_large_file_is_refused_by_its_size_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as handle:
        handle.truncate(2 * 10**9)  # sparse: two gigabytes of nothing, costing no disk
    tracemalloc.start()
    try:
        with pytest.raises(ImageError, match=r"2000\.0 MB; the limit is 10\.5 MB"):
            load_image(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, "nothing was read"


def test_read_regular_file_never_reads_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"x" * 100)
    assert read_regular_file(path, 100) == b"x" * 100
    with pytest.raises(InputFileError, match="the limit is"):
        read_regular_file(path, 99)


def test_a_huge_image_is_decoded_reduced(tmp_path: Path) -> None:
    """A 52 KB PNG of 39.7 megapixels: never a full-size array (was ~1.2 GB a request)."""
    side = 6300
    pixels = np.zeros((side, side), np.uint8)
    pixels[800:5500, 3000:3500] = 255  # a 1
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    data = buffer.getvalue()
    del pixels
    assert len(data) < 100_000
    tracemalloc.start()  # counts numpy's arrays (Pillow's decode buffer is its own, once)
    try:
        result = preprocess(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert max(result.original.shape[:2]) < 2 * DECODE_SIDE
    assert peak < 150_000_000, f"{peak / 1e6:.0f} MB of arrays"
    assert len(result.digits) == 1


def test_a_zip_member_too_large_is_refused_before_it_is_read(tmp_path: Path, capsys) -> None:
    """190 KB that declare a 199 MB image: refused from the header, nothing unpacked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.csv", labels_csv(("big.png", "1")))
        with archive.open("big.png", "w", force_zip64=True) as member:
            for _ in range(199):
                member.write(bytes(1_000_000))
    path = tmp_path / "bomb.zip"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 400_000
    tracemalloc.start()
    try:
        code, _, err = run_cli(capsys, "samples", "import", str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2
    assert "big.png: unpacks to 199.0 MB; the limit is 10 MB" in one_line_error(
        err, "handwritten samples:"
    )
    assert peak < 5_000_000, f"{peak / 1e6:.0f} MB"


def test_a_zip_member_lying_about_its_size_reads_no_more_than_it_declared() -> None:
    members = {"labels.csv": labels_csv(("one.png", "1")), "one.png": bytes(10**6)}
    data = bytearray(make_zip(members))
    # Declare 1,000 bytes for the megabyte (central directory and local header alike).
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = data.rfind(signature)
        data[start + offset : start + offset + 4] = (1000).to_bytes(4, "little")
    with pytest.raises(SampleError, match=r"one\.png: unreadable"):
        SampleStore().import_zip(bytes(data))
    assert len(SampleStore()) == 0


# ---------------------------------------------------------------------------------------------
# duplicates: by content hash


def test_importing_the_same_archive_twice_adds_nothing_new(tmp_path: Path, capsys) -> None:
    SampleStore().add_image(1, ONE, source="one.png")
    archive = tmp_path / "samples.zip"
    assert run_cli(capsys, "samples", "export", str(archive))[0] == 0
    code, out, _ = run_cli(capsys, "samples", "import", str(archive))
    assert code == 0
    assert out.strip() == f"imported 0 samples from {archive} (1 already in the store)"
    assert len(SampleStore()) == 1


def test_rows_naming_one_image_import_one_sample() -> None:
    rows = [("one.png", "1")] * 5000
    archive = make_zip({"labels.csv": labels_csv(*rows), "one.png": ONE})
    result = SampleStore().import_archive(archive)
    assert (result.added, result.duplicates) == (1, 4999)
    assert SampleStore().counts()[1] == 1


# ---------------------------------------------------------------------------------------------
# odd arguments and a closed pipe


@pytest.mark.parametrize("run_dir", ["/etc/passwd", "/etc/passwd/run"])
def test_a_file_as_run_dir_is_one_line_exit_2(synthetic_mnist: Path, run_dir: str, capsys) -> None:
    code, _, err = run_cli(capsys, "train", "--arch", "mlp", "--epochs", "1", "--run-dir", run_dir)
    assert code == 2
    assert "not a directory" in one_line_error(err, f"handwritten train: {run_dir}").lower()


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_a_closed_pipe_ends_quietly(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["samples", "list"]) == 141
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_a_command_writing_into_a_closed_pipe_ends_quietly(buffered: bool) -> None:
    """`handwritten samples list | head -0` for real: the reader has gone before the first
    write. Buffered (a shell's default), the failure comes at the last flush; unbuffered
    (PYTHONUNBUFFERED), at the first print."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = subprocess.run(
            [sys.executable, "-m", "handwritten", "samples", "list"], cwd=REPO, env=env,
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert process.returncode == 141 and process.stderr == "", process.stderr


def test_an_unexpected_error_is_one_line_and_debug_shows_it(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from handwritten.cli import model_commands

    def broken(args: object) -> int:
        raise RuntimeError("something odd\nsecond line")

    monkeypatch.setattr(model_commands, "cmd_info", broken)
    assert main(["info"]) == 1
    line = one_line_error(capsys.readouterr().err, "handwritten info: RuntimeError: something odd")
    assert line.endswith("(run with --debug for the traceback)")
    with pytest.raises(RuntimeError, match="something odd"):
        main(["--debug", "info"])
    with pytest.raises(RuntimeError):
        main(["info", "--debug"])


def test_a_missing_promoted_model_falls_back_with_a_warning(tmp_path: Path) -> None:
    run = mlp_run(tmp_path)
    promote(run.path)
    run.checkpoint_path.unlink()
    active = active_model()
    assert active.checkpoint == SHIPPED_CHECKPOINT and "is gone" in active.warning


# ---------------------------------------------------------------------------------------------
# runs: a full disk mid-run, first causes, resuming without zig-zags, killed writers

TINY = TrainConfig(
    arch="mlp", epochs=2, batch_size=32, optimizer="adam", lr=3e-3, schedule="constant",
    label_smoothing=0.0, augment=False, log_every=4,
)  # fmt: skip


@pytest.fixture(scope="module")
def splits() -> tuple[Split, Split]:
    return Split(*synthetic_digits(512, 0)), Split(*synthetic_digits(128, 1))


def last_error_line(err: str) -> str:
    """The error line of a command that printed progress before failing: its last line."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert sum(line.startswith("handwritten ") for line in lines) == 1, err
    return lines[-1]


def train_steps(run: RunDir) -> list[int]:
    return [r["step"] for r in run.read_metrics() if r["kind"] == "train"]


def strictly_increasing(values: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


def test_a_full_disk_mid_run_is_one_line_and_the_run_resumes(
    synthetic_mnist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    run_dir = tmp_path / "run"
    checkpoints: list[Path] = []

    def second_checkpoint_fills_the_disk(dst: Path) -> bool:
        checkpoints.extend([dst] if dst.name == RunDir.CHECKPOINT else [])
        return dst.name == RunDir.CHECKPOINT and len(checkpoints) == 2

    fail_replace(monkeypatch, errno.ENOSPC, second_checkpoint_fills_the_disk)
    argv = ["train", "--arch", "mlp", "--epochs", "3", "--batch-size", "32", "--quiet"]
    code, _, err = run_cli(capsys, *argv, "--run-dir", str(run_dir))
    assert code == 1
    assert last_error_line(err) == (
        f"handwritten train: {run_dir / RunDir.CHECKPOINT}: No space left on device"
    )
    run = RunDir.open(run_dir)
    assert run.status()["state"] == "failed" and "No space left" in run.status()["reason"]
    assert load_checkpoint(run.checkpoint_path).meta["epoch"] == 1  # the last valid one
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    assert run_state(run) in RESUMABLE_STATES  # the dashboard's Resume button

    monkeypatch.setattr(os, "replace", REAL_REPLACE)  # space again
    code, out, err = run_cli(capsys, "train", "--resume", "--run-dir", str(run_dir), "--json")
    assert code == 0, err
    assert last_json(out)["state"] == "finished" and len(last_json(out)["epoch_test_accuracy"]) == 3
    assert strictly_increasing(train_steps(run))


def test_when_the_status_cannot_be_written_either_the_cause_still_shows(
    tmp_path: Path, splits, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = RunDir.create("mlp", path=tmp_path / "run")
    written: list[Path] = []

    def full_after_the_first_checkpoint(dst: Path) -> bool:
        written.append(dst)
        return any(p.name == RunDir.CHECKPOINT for p in written[:-1])

    fail_replace(monkeypatch, errno.ENOSPC, full_after_the_first_checkpoint)
    with pytest.raises(OSError) as info:
        fit(TINY, run, *splits)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(run.checkpoint_path)
    assert run.status()["state"] == "running"  # the "failed" write failed too...
    assert run_state(run) == "interrupted"  # ...so it reads as interrupted, and resumes


def test_a_failed_resumption_keeps_the_first_cause(
    synthetic_mnist: Path, tmp_path: Path, splits, capsys
) -> None:
    run = RunDir.create("mlp", path=tmp_path / "no-checkpoint")
    run.write_config(TINY.to_dict())
    run.set_status("diverged", "loss became NaN or infinite at step 3")
    code, _, err = run_cli(capsys, "train", "--resume", "--run-dir", str(run.path))
    assert code == 2 and "no checkpoint to resume from" in one_line_error(err, "handwritten train:")
    assert run.status()["state"] == "diverged" and "step 3" in run.status()["reason"]

    run = RunDir.create("mlp", path=tmp_path / "bad-optimizer-state")
    fit(dataclasses.replace(TINY, epochs=1), run, *splits)
    run.set_status("diverged", "loss became NaN or infinite at step 20")
    craft(run.checkpoint_path, _set("opt_state", value={"[0].mu": np.zeros(3, np.float32)}))
    with pytest.raises(CheckpointError, match="optimizer"):
        fit(TINY, run, *splits, resume=True)
    status = run.status()
    assert status["state"] == "diverged" and "step 20" in status["reason"]
    assert "CheckpointError" in status["resume_error"]


def test_metrics_never_step_back_after_a_kill_and_a_resume(tmp_path: Path, splits) -> None:
    run = RunDir.create("mlp", path=tmp_path / "run")
    fit(TINY, run, *splits)  # 2 epochs of 16 steps; the checkpoint is at step 32
    run.write_config(run.settings() | {"epochs": 3})
    for step in (33, 36, 40):  # what a job killed in epoch 3 had logged after that checkpoint
        run.append_metrics({"kind": "train", "step": step, "loss": 1.0, "elapsed": 99.0})
    run.set_status("running")
    fit(dataclasses.replace(TINY, epochs=3), run, *splits, resume=True)
    steps = train_steps(run)
    assert strictly_increasing(steps) and steps[-1] == 48, steps
    assert [r["epoch"] for r in run.read_metrics() if r["kind"] == "epoch"] == [1, 2, 3]


def test_a_stopped_run_resumes_at_its_step_as_if_never_stopped(tmp_path: Path, splits) -> None:
    straight = fit(TINY, RunDir.create("mlp", path=tmp_path / "straight"), *splits).run
    run = RunDir.create("mlp", path=tmp_path / "stopped")

    def stop_at_step_4(record: dict[str, Any]) -> None:
        if record["step"] == 4:
            run.request_stop()

    assert fit(TINY, run, *splits, on_progress=stop_at_step_4).state == "stopped"
    open_for_resume(run.path)
    assert fit(TINY, run, *splits, resume=True).state == "finished"
    assert strictly_increasing(train_steps(run)), train_steps(run)  # was 1, 4, 1, 4, 8, ...
    ours, theirs = load_checkpoint(run.checkpoint_path), load_checkpoint(straight.checkpoint_path)
    for a, b in zip(
        jax.tree.leaves(ours.payload["params"]), jax.tree.leaves(theirs.payload["params"]),
        strict=True,
    ):  # fmt: skip
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_temp_files_of_killed_writers_are_removed_when_the_slot_is_taken(tmp_path: Path) -> None:
    runs = [RunDir.create("mlp"), RunDir.create("mlp")]
    left = [run.path / f".{RunDir.CHECKPOINT}.k1ll3d.tmp" for run in runs]
    for run, path in zip(runs, left, strict=True):
        run.write_config({"arch": "mlp"})
        path.write_bytes(bytes(3_000_000))  # SIGKILL mid-write: megabytes, forever
    with training_slot(lambda: runs[0]):  # any start, of any run, cleans every run
        pass
    assert not any(path.exists() for path in left)
    assert all((run.path / RunDir.CONFIG).exists() for run in runs)


def test_a_rename_is_made_durable_by_fsyncing_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        events.append("replace")
        real_replace(src, dst, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    atomic_write_bytes(tmp_path / "status.json", b"{}")
    assert events == ["fsync file", "replace", "fsync folder"]


# ---------------------------------------------------------------------------------------------
# the optimizer state by key path


class ReorderedAdamState(NamedTuple):
    """optax's ScaleByAdamState with its fields in another order (same names)."""

    count: Any
    nu: Any
    mu: Any


def _adam_checkpoint(path: Path) -> tuple[Any, Any]:
    """An MLP checkpoint with Adam state after one update; returns (params, the state)."""
    _, params, batch_stats = nnx.split(create_model("mlp"), nnx.Param, ...)
    tx = optax.adam(1e-3)
    grads = jax.tree.map(jnp.ones_like, params)
    _, state = tx.update(grads, tx.init(params), params)
    save_checkpoint(path, arch="mlp", params=params, batch_stats=batch_stats, opt_state=state)
    return params, state


def test_optimizer_leaves_are_matched_by_key_path_not_position(tmp_path: Path) -> None:
    """Adam's mu and nu have the same shapes: by position a reordering would swap them."""
    _, state = _adam_checkpoint(tmp_path / "c")
    adam = state[0]
    template = (ReorderedAdamState(adam.count, adam.nu, adam.mu), state[1])
    restored = restore_opt_state(read_checkpoint(tmp_path / "c"), template)
    for name in ("mu", "nu"):
        for a, b in zip(
            jax.tree.leaves(getattr(restored[0], name)), jax.tree.leaves(getattr(adam, name)),
            strict=True,
        ):  # fmt: skip
            np.testing.assert_array_equal(a, b)


def test_optimizer_state_of_another_structure_is_refused(tmp_path: Path) -> None:
    """The same leaves and shapes, other key paths: refused, not loaded by position."""
    _, state = _adam_checkpoint(tmp_path / "c")
    other = (state[0]._asdict(), state[1])  # ['count'] where the checkpoint has .count
    with pytest.raises(CheckpointError, match="another structure"):
        restore_opt_state(read_checkpoint(tmp_path / "c"), other)


def test_optimizer_state_saved_by_leaf_index_still_loads(tmp_path: Path) -> None:
    """Run directories from before key paths keep resuming."""
    _, state = _adam_checkpoint(tmp_path / "c")
    leaves = jax.tree.leaves(state)
    craft(tmp_path / "c", _set("opt_state", value={str(i): np.asarray(v) for i, v in
                                                   enumerate(leaves)}))  # fmt: skip
    restored = restore_opt_state(read_checkpoint(tmp_path / "c"), state)
    for a, b in zip(jax.tree.leaves(restored), leaves, strict=True):
        np.testing.assert_array_equal(a, b)


def test_deleting_a_broken_promoted_run_resets_the_active_model(tmp_path: Path) -> None:
    from handwritten.jobs.history import delete_run

    run = mlp_run(runs_dir(), "broken")
    promote(run.path)
    craft(run.checkpoint_path, BROKEN_CHECKPOINTS["NaN weights"][0])
    assert active_model().warning
    delete_run(run)
    assert not active_pointer().exists() and active_model() == ActiveModel(SHIPPED_CHECKPOINT)
