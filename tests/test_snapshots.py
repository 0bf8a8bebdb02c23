"""Weight snapshots during a run: when they are taken, what they hold, and reading them back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from handwritten.analysis.network import first_layer_filters
from handwritten.data.mnist import TRAIN_SIZE, Split
from handwritten.models.architectures import create_model, split_model
from handwritten.models.checkpoint import load_checkpoint, read_checkpoint
from handwritten.models.inference import infer_model
from handwritten.storage.runs import RunDir
from handwritten.training.config import DEMO_PRESET, PRESETS, TrainConfig
from handwritten.training.loop import fit
from handwritten.training.snapshots import (
    is_snapshot_step,
    list_snapshots,
    load_snapshot,
    save_snapshot,
)

from .conftest import synthetic_digits

TINY_LENET = TrainConfig(
    arch="lenet", epochs=2, batch_size=64, optimizer="adam", lr=2e-3, schedule="constant",
    label_smoothing=0.0, augment=False, log_every=4, snapshot_every=3,
)  # fmt: skip


@pytest.fixture(scope="module")
def splits() -> tuple[Split, Split]:
    return Split(*synthetic_digits(512, 0)), Split(*synthetic_digits(128, 1))


def test_a_run_snapshots_its_start_every_n_steps_and_its_end(tmp_path: Path, splits) -> None:
    run = RunDir.create("lenet", path=tmp_path / "run")
    result = fit(TINY_LENET, run, *splits)
    assert result.state == "finished"
    steps = [snapshot.step for snapshot in list_snapshots(run)]
    # 512 images / 64 = 8 steps an epoch, 16 in all: 0, 1 and 2 (powers of two below the
    # cadence), every 3rd, and the last (16).
    assert steps == [0, 1, 2, 3, 6, 9, 12, 15, 16]
    last = load_snapshot(list_snapshots(run)[-1].path)
    final = load_checkpoint(run.checkpoint_path).model
    images = splits[1].images_nhw[:16].astype(np.float32) / 255.0
    # float16 storage: the same answers as the final checkpoint, to float16 precision.
    np.testing.assert_allclose(infer_model(last, images), infer_model(final, images), atol=0.05)
    first = load_snapshot(list_snapshots(run)[0].path)
    fresh = create_model("lenet", TINY_LENET.seed)
    np.testing.assert_allclose(
        first_layer_filters(first), first_layer_filters(fresh), atol=1e-3
    )  # step 0 is the random start


def test_snapshot_steps_are_dense_at_the_start_then_every_n() -> None:
    chosen = [step for step in range(120) if is_snapshot_step(step, 25)]
    assert chosen == [0, 1, 2, 4, 8, 16, 25, 50, 75, 100]
    assert not any(is_snapshot_step(step, 0) for step in range(50))


def test_no_snapshots_unless_asked(tmp_path: Path, splits) -> None:
    run = RunDir.create("lenet", path=tmp_path / "run")
    config = dataclasses.replace(TINY_LENET, epochs=1, snapshot_every=0)
    assert fit(config, run, *splits).state == "finished"
    assert list_snapshots(run) == [] and not run.snapshot_dir.exists()


def test_snapshots_are_float16_and_load_as_float32(tmp_path: Path) -> None:
    run = RunDir.create("cnn", path=tmp_path / "run")
    model = create_model("cnn", 3)
    _, params, batch_stats = split_model(model)
    path = save_snapshot(run, 7, arch="cnn", params=params, batch_stats=batch_stats)
    assert path.name == "step-000007.msgpack"
    stored = read_checkpoint(path)
    assert stored["params"]["conv1"]["kernel"].dtype == np.float16
    assert stored["meta"] == {"step": 7, "snapshot": True}
    loaded = load_snapshot(path)
    kernel = np.asarray(loaded.conv1.kernel[...])
    assert kernel.dtype == np.float32
    np.testing.assert_allclose(kernel, np.asarray(model.conv1.kernel[...]), rtol=1e-3, atol=1e-4)
    assert [s.step for s in list_snapshots(run)] == [7]


def test_a_custom_networks_snapshot_loads_from_its_spec(tmp_path: Path) -> None:
    run = RunDir.create("custom", path=tmp_path / "run")
    model = create_model("custom", 3, "conv3x3x4,relu,pool2,dense16,relu")
    _, params, batch_stats = split_model(model)
    path = save_snapshot(run, 1, arch="custom", params=params, batch_stats=batch_stats,
                         layers=model.layer_spec)  # fmt: skip
    loaded = load_snapshot(path)
    assert loaded.layer_spec == model.layer_spec
    images = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(infer_model(loaded, images), infer_model(model, images),
                               rtol=1e-2, atol=1e-2)  # fmt: skip


def test_half_written_and_foreign_files_are_not_snapshots(tmp_path: Path) -> None:
    run = RunDir.create("x", path=tmp_path / "run")
    run.snapshot_dir.mkdir()
    (run.snapshot_dir / ".step-000005.msgpack.abc.tmp").write_bytes(b"partial")
    (run.snapshot_dir / "notes.txt").write_text("hello")
    assert list_snapshots(run) == []


def test_the_demo_preset_is_the_fast_recipe_with_what_watchers_need() -> None:
    demo, fast = PRESETS[DEMO_PRESET], PRESETS["fast"]
    watching = {"log_every", "snapshot_every"}

    def recipe(config: TrainConfig) -> dict[str, object]:
        return {k: v for k, v in config.to_dict().items() if k not in watching}

    assert recipe(demo) == recipe(fast) and demo.arch == "fast"  # 99% in one epoch
    assert fast.snapshot_every == 0  # the benchmarked recipe's time holds no snapshot writes
    # Over the real epoch: the loss curve streams in and the Tour has points to plot.
    steps = TRAIN_SIZE // demo.batch_size * demo.epochs
    assert steps // demo.log_every >= 50 and demo.log_every < fast.log_every
    taken = [s for s in range(steps + 1) if is_snapshot_step(s, demo.snapshot_every)]
    assert taken[:6] == [0, 1, 2, 4, 8, 16] and len(taken) >= 20
    assert TrainConfig.from_dict(demo.to_dict()) == demo  # the launcher's --config-json round trip
    with pytest.raises(ValueError, match="snapshot_every"):
        dataclasses.replace(demo, snapshot_every=-1).validate()
