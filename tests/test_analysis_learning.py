"""Reading runs for the Tour: snapshots through a drawing, a run's story, the last fine-tune."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from handwritten.analysis import learning as learned
from handwritten.analysis.network import first_layer_filters
from handwritten.models.architectures import create_model, split_model
from handwritten.models.inference import infer_model
from handwritten.storage.runs import RunDir, runs_dir
from handwritten.training.config import DEMO_PRESET, PRESETS
from handwritten.training.snapshots import save_snapshot


def snapshot_run(
    name: str, steps: list[int], seeds: list[int] | None = None, arch: str = "lenet"
) -> RunDir:
    run = RunDir.create(arch, path=runs_dir() / name)
    run.write_config({"arch": arch})
    for step, seed in zip(steps, seeds or steps, strict=True):
        _, params, batch_stats = split_model(create_model(arch, seed))
        save_snapshot(run, step, arch=arch, params=params, batch_stats=batch_stats)
    return run


def age(run: RunDir, seconds: float) -> None:
    """Make a run look older (runs are listed newest first by modification time)."""
    then = time.time() - seconds
    os.utime(run.path, (then, then))


@pytest.mark.parametrize("arch", ["lenet", "fast"])  # the seed's network, the demo's
def test_a_snapshot_read_through_the_drawing(arch: str) -> None:
    run = snapshot_run("r", [5], arch=arch)
    image = np.zeros((28, 28), np.float32)
    image[5:20, 12:15] = 1.0
    reading = learned.read_snapshot(run.snapshot_dir / "step-000005.msgpack", 5, image)
    model = create_model(arch, 5)
    expected = infer_model(model, image[None], output="probabilities")[0]
    np.testing.assert_allclose(reading.probabilities, expected, atol=2e-3)  # float16 weights
    np.testing.assert_allclose(reading.filters, first_layer_filters(model), atol=1e-3)
    assert reading.step == 5


def test_the_untrained_reading_is_the_demo_networks_random_start() -> None:
    reading = learned.untrained_reading(np.zeros((28, 28), np.float32))
    demo = PRESETS[DEMO_PRESET]
    start = first_layer_filters(create_model(demo.arch, demo.seed))
    np.testing.assert_allclose(reading.filters, start)
    assert reading.step == 0 and reading.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_a_runs_story_puts_losses_and_snapshots_side_by_side() -> None:
    filters = [np.full((2, 5, 5), v) for v in (1.0, 1.5, 4.0)]
    readings = [
        learned.SnapshotReading(step, np.eye(10)[step % 10], f)
        for step, f in zip((0, 8, 4), filters, strict=True)
    ]
    records = [
        {"kind": "train", "step": 1, "loss": 2.0, "total_steps": 20},
        {"kind": "epoch", "step": 10, "test_accuracy": 0.5},
        {"kind": "train", "step": 10, "loss": 0.5, "total_steps": 20},
        {"kind": "train", "step": 12, "loss": None, "total_steps": 20},
    ]
    story = learned.learning(records, readings)
    np.testing.assert_array_equal(story.loss_steps, [1, 10])
    np.testing.assert_array_equal(story.losses, [2.0, 0.5])
    np.testing.assert_array_equal(story.snapshot_steps, [0, 4, 8])  # sorted by step
    assert story.probabilities.shape == (3, 10) and story.probabilities[2, 8] == 1.0
    assert story.total_steps == 20 and story.latest_step == 8
    np.testing.assert_allclose(story.learned_filters, 0.5)  # step 8's filters minus step 0's
    empty = learned.learning([], [])
    assert empty.probabilities.shape == (0, 10) and empty.learned_filters is None


def test_the_last_snapshot_run_is_the_newest_that_took_snapshots() -> None:
    assert learned.last_snapshot_run() is None
    older = snapshot_run("older", [0])
    age(older, 100)
    newer = snapshot_run("newer", [0, 1])
    age(newer, 50)
    plain = RunDir.create("mlp", path=runs_dir() / "plain")
    plain.write_config({"arch": "mlp"})  # the newest run, but without snapshots
    assert learned.last_snapshot_run() == newer
    assert learned.has_snapshots(older) and not learned.has_snapshots(plain)


def test_the_last_finetune_is_the_newest_that_measured() -> None:
    assert learned.last_finetune() is None
    figures = {"personal_accuracy_before": 0.5, "personal_accuracy_after": 0.9,
               "mnist_accuracy_before": 0.99, "mnist_accuracy_after": 0.98}  # fmt: skip
    measured = RunDir.create("finetune", path=runs_dir() / "measured")
    measured.write_config({})
    measured.write_summary({"finetune": figures})
    age(measured, 100)
    stopped = RunDir.create("finetune", path=runs_dir() / "stopped")
    stopped.write_config({})
    stopped.write_summary({"finetune": figures | {"personal_accuracy_after": None}})
    found = learned.last_finetune()
    assert found is not None and found["run_id"] == "measured"
    assert found["personal_accuracy_after"] == 0.9
