"""Training runs on a tiny synthetic dataset: metrics, checkpoints, stop, divergence, failure."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx

from handwritten.data.mnist import Split
from handwritten.models.checkpoint import load_checkpoint
from handwritten.storage.runs import RunDir, list_runs
from handwritten.training.config import PRESETS, TrainConfig
from handwritten.training.loop import fit
from handwritten.training.optimizer import make_optimizer
from handwritten.training.stopping import StopSignal

from .conftest import synthetic_digits

TINY = TrainConfig(
    arch="mlp", epochs=3, batch_size=32, optimizer="adam", lr=3e-3, schedule="constant",
    label_smoothing=0.0, augment=False, log_every=4,
)  # fmt: skip


@pytest.fixture(scope="module")
def splits() -> tuple[Split, Split]:
    return Split(*synthetic_digits(512, 0)), Split(*synthetic_digits(128, 1))


def test_fit_writes_a_complete_run_directory(tmp_path: Path, splits) -> None:
    run = RunDir.create("mlp", path=tmp_path / "run")
    result = fit(TINY, run, *splits)
    assert result.state == "finished"
    assert run.status()["state"] == "finished"
    assert run.settings()["arch"] == "mlp" and run.facts()["n_train"] == 512
    records = run.read_metrics()
    train_lines = [r for r in records if r["kind"] == "train"]
    epoch_lines = [r for r in records if r["kind"] == "epoch"]
    assert len(epoch_lines) == 3
    for key in ("step", "epoch", "loss", "accuracy", "images_per_second", "elapsed"):
        assert key in train_lines[-1]
    assert [r["step"] for r in train_lines] == sorted(r["step"] for r in train_lines)
    assert train_lines[-1]["loss"] < train_lines[0]["loss"]
    summary = run.summary()
    assert summary["test_accuracy"] > 0.9, "the synthetic task is easy"
    assert len(summary["per_class_accuracy"]) == 10
    assert np.asarray(summary["confusion_matrix"]).sum() == 128
    assert summary["first_step_seconds"] > 0 and summary["train_images_per_second"] > 0
    restored = load_checkpoint(run.checkpoint_path)
    assert restored.arch == "mlp" and restored.meta["epoch"] == 3


# The synthetic digits tell their label by the bar's row, which augmentation's re-centring
# mostly removes: with it, a model learns less (about 0.5-0.65 here), but well above chance.
@pytest.mark.parametrize(
    ("arch", "augment", "least"),
    [("lenet", False, 0.9), ("cnn", False, 0.9), ("cnn", True, 0.3), ("fast", False, 0.9)],
)
def test_conv_models_and_augmentation_learn(
    tmp_path: Path, splits, arch: str, augment: bool, least: float
) -> None:
    config = dataclasses.replace(TINY, arch=arch, epochs=2, augment=augment, lr=2e-3)
    result = fit(config, RunDir.create(arch, path=tmp_path / arch), *splits)
    assert result.state == "finished"
    assert result.summary["test_accuracy"] > least


def test_the_test_set_is_read_once_per_epoch_and_the_summary_reuses_the_last(
    tmp_path: Path, splits, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handwritten.training import loop

    calls = []
    real = loop._test_logits
    monkeypatch.setattr(loop, "_test_logits", lambda *a: calls.append(1) or real(*a))
    config = dataclasses.replace(TINY, epochs=2)
    result = fit(config, RunDir.create("mlp", path=tmp_path / "run"), *splits)
    assert len(calls) == 2, "one evaluation per epoch, none again for the summary"
    assert result.summary["test_accuracy"] == result.summary["epoch_test_accuracy"][-1]


def test_stop_request_ends_the_run_with_a_usable_checkpoint(tmp_path: Path, splits) -> None:
    run = RunDir.create("mlp", path=tmp_path / "run")
    seen = []

    def stop_after_second_log(record: dict) -> None:
        seen.append(record["step"])  # lines come after step 1, then every 4 steps
        if len(seen) == 2:
            run.request_stop()

    config = dataclasses.replace(TINY, epochs=50)
    result = fit(config, run, *splits, on_progress=stop_after_second_log)
    assert result.state == "stopped" and "stop requested" in result.reason
    assert run.status()["state"] == "stopped"
    assert seen == [1, 4] and result.summary["steps"] == 4
    restored = load_checkpoint(run.checkpoint_path)
    assert restored.meta["stopped"] is True and restored.meta["step"] == 4


def test_resumed_run_takes_the_steps_an_uninterrupted_run_takes(tmp_path: Path, splits) -> None:
    """Stopped at the end of epoch 1 and resumed, a run continues from its checkpoint's weights
    and optimizer state: every later step's loss and the final weights are those of a run that
    was never stopped. A resume from fresh weights (loss back near ln 10) or with a fresh Adam
    state (different updates) would not match."""
    config = dataclasses.replace(TINY, log_every=1)  # a line per step: losses compare one to one
    steps_per_epoch = 512 // config.batch_size
    reference = RunDir.create("mlp", path=tmp_path / "reference")
    assert fit(config, reference, *splits).state == "finished"

    run = RunDir.create("mlp", path=tmp_path / "run")

    def stop_at_the_end_of_epoch_1(record: dict) -> None:
        if record["step"] == steps_per_epoch:
            run.request_stop()

    stopped = fit(config, run, *splits, on_progress=stop_at_the_end_of_epoch_1)
    assert stopped.state == "stopped" and stopped.summary["steps"] == steps_per_epoch
    assert load_checkpoint(run.checkpoint_path).meta["epoch"] == 1
    (run.path / RunDir.STOP).unlink()  # as `launcher.resume` does
    resumed = fit(config, run, *splits, resume=True)
    assert resumed.state == "finished" and resumed.summary["steps"] == 3 * steps_per_epoch

    def losses(r: RunDir) -> dict[int, float]:
        return {x["step"]: x["loss"] for x in r.read_metrics() if x["kind"] == "train"}

    ours, theirs = losses(run), losses(reference)
    assert sorted(ours) == sorted(theirs) == list(range(1, 3 * steps_per_epoch + 1))
    after = range(steps_per_epoch + 1, 3 * steps_per_epoch + 1)
    assert ours[steps_per_epoch + 1] < theirs[1] / 4, "the first resumed step is a trained model's"
    np.testing.assert_allclose([ours[s] for s in after], [theirs[s] for s in after], rtol=1e-5)
    assert resumed.summary["epoch_test_accuracy"] == reference.summary()["epoch_test_accuracy"]
    weights = [nnx.state(load_checkpoint(r.checkpoint_path).model) for r in (run, reference)]
    for a, b in zip(*(jax.tree.leaves(w) for w in weights), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)


def test_signal_sets_the_stop_flag() -> None:
    stop = StopSignal()
    assert not stop
    stop.set("stopped by SIGTERM")
    assert stop and stop.reason == "stopped by SIGTERM"


def test_nan_loss_ends_the_run_as_diverged(tmp_path: Path, splits) -> None:
    run = RunDir.create("mlp", path=tmp_path / "run")
    config = dataclasses.replace(TINY, optimizer="nesterov", lr=1e12, epochs=5)
    result = fit(config, run, *splits)
    assert result.state == "diverged"
    assert "NaN" in run.status()["reason"]
    assert "test_accuracy" not in result.summary
    assert any(r.get("loss") is None for r in run.read_metrics())


def test_a_crash_marks_the_run_failed(tmp_path: Path, splits) -> None:
    run = RunDir.create("mlp", path=tmp_path / "run")

    def explode(record: dict) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        fit(TINY, run, *splits, on_progress=explode)
    status = run.status()
    assert status["state"] == "failed" and "disk full" in status["reason"]


def test_a_run_that_could_not_take_one_step_is_refused_before_it_starts(
    tmp_path: Path, splits
) -> None:
    """512 images in batches of 1,024: zero steps. Refused, not reported "finished"."""
    run = RunDir.create("mlp", path=tmp_path / "run")
    with pytest.raises(ValueError, match="larger than the training set"):
        fit(dataclasses.replace(TINY, batch_size=1024), run, *splits)
    assert sorted(p.name for p in run.path.iterdir()) == []  # no status, config or metrics


def test_run_dir_refuses_to_overwrite_and_lists_runs(tmp_path: Path) -> None:
    first = RunDir.create("mlp", root=tmp_path)
    first.write_config({"arch": "mlp"})
    with pytest.raises(ValueError, match="not empty"):
        RunDir.create("mlp", path=first.path)
    assert list_runs(tmp_path) == [first]


def test_metrics_reader_skips_a_line_being_written(tmp_path: Path) -> None:
    run = RunDir.create("mlp", path=tmp_path / "run")
    run.append_metrics({"step": 1})
    with (run.path / RunDir.METRICS).open("a") as handle:
        handle.write('{"step": 2, "lo')
    assert run.read_metrics() == [{"step": 1}]


def test_config_validation_and_json_round_trip() -> None:
    config = PRESETS["lenet"]
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    for bad in ({"epochs": 0}, {"lr": -1.0}, {"arch": "vgg"}, {"batch_size": 0},
                {"train_subset": 10, "batch_size": 64}, {"lr": math.inf}):  # fmt: skip
        with pytest.raises(ValueError):
            dataclasses.replace(config, **bad).validate()
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainConfig.from_dict({"arch": "mlp", "colour": "red"})


def test_seed_presets_match_the_reference_table() -> None:
    assert (PRESETS["mlp"].optimizer, PRESETS["mlp"].lr, PRESETS["mlp"].weight_decay) == (
        "nesterov", 0.006, 1e-4,
    )  # fmt: skip
    assert (PRESETS["lenet"].lr, PRESETS["lenet"].weight_decay, PRESETS["lenet"].momentum) == (
        0.01, 5e-4, 0.9,
    )  # fmt: skip


def test_nesterov_weight_decay_spares_biases() -> None:
    import jax.numpy as jnp

    tx = make_optimizer(dataclasses.replace(PRESETS["lenet"], momentum=0.0), 10)
    params = {"kernel": jnp.ones((2, 2)), "bias": jnp.ones((2,))}
    zero = {"kernel": jnp.zeros((2, 2)), "bias": jnp.zeros((2,))}
    updates, _ = tx.update(zero, tx.init(params), params)
    np.testing.assert_allclose(updates["kernel"], -0.01 * 5e-4)
    np.testing.assert_allclose(updates["bias"], 0.0)


CACHE_PROBE = """
import collections, dataclasses, sys
from pathlib import Path
import jax
counts = collections.Counter()
jax.monitoring.register_event_listener(lambda event, **kwargs: counts.update([event]))
from handwritten.data.mnist import Split
from handwritten.storage.runs import RunDir
from handwritten.training.loop import fit
from tests.conftest import synthetic_digits
from tests.test_train import TINY
fit(dataclasses.replace(TINY, epochs=1), RunDir.create("mlp", path=Path(sys.argv[1])),
    Split(*synthetic_digits(256, 0)), Split(*synthetic_digits(64, 1)))
print(counts["/jax/compilation_cache/cache_hits"], counts["/jax/compilation_cache/cache_misses"])
"""


def test_a_second_process_compiles_nothing(tmp_path: Path) -> None:
    """The persistent compilation cache: the second run's programs all come from disk."""
    import os
    import subprocess
    import sys

    from .conftest import REPO

    env = os.environ | {"HANDWRITTEN_COMPILE_CACHE": str(tmp_path / "cache")}

    def run(name: str) -> tuple[int, int]:
        out = subprocess.run(
            [sys.executable, "-c", CACHE_PROBE, str(tmp_path / name)],
            cwd=REPO, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        hits, misses = out.stdout.split()[-2:]
        return int(hits), int(misses)

    first_hits, first_misses = run("first")
    second_hits, second_misses = run("second")
    assert first_hits == 0 and first_misses >= 2  # at least the train and eval steps
    assert second_misses == 0 and second_hits == first_misses


def test_layers_resolve_to_a_custom_network_or_a_shortcut() -> None:
    from handwritten.training.config import resolve_config

    config = resolve_config(layers=" Conv3x3x8,ReLU,pool2 ")
    assert (config.arch, config.layers) == ("custom", "conv3x3x8,relu,pool2")
    assert dataclasses.replace(config, arch="cnn", layers=None) == PRESETS["cnn"]  # its recipe
    assert resolve_config(layers="lenet") == PRESETS["lenet"]
    resumed = resolve_config(base=config, epochs=9)
    assert (resumed.layers, resumed.epochs) == ("conv3x3x8,relu,pool2", 9)
    assert resolve_config(base=config, arch="mlp").layers is None
    with pytest.raises(ValueError, match="not both"):
        resolve_config(arch="mlp", layers="dense8")
    with pytest.raises(ValueError, match="layer 2 'bogus': unknown layer"):
        resolve_config(layers="relu,bogus")
    with pytest.raises(ValueError, match="layers go with arch 'custom', not 'mlp'"):
        dataclasses.replace(PRESETS["mlp"], layers="dense8").validate()
    with pytest.raises(ValueError, match="or 'custom' with layers"):
        dataclasses.replace(PRESETS["mlp"], arch="custom").validate()
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_a_custom_network_trains_and_records_its_spec(tmp_path: Path, splits) -> None:
    spec = "conv3x3x8,relu,pool2,dense32,relu"
    config = dataclasses.replace(TINY, arch="custom", layers=spec, epochs=2)
    run = RunDir.create("custom", path=tmp_path / "custom")
    result = fit(config, run, *splits)
    assert result.state == "finished" and result.summary["test_accuracy"] > 0.9
    assert result.summary["layers"] == spec
    assert result.summary["parameters"] == 80 + 14 * 14 * 8 * 32 + 32 + 330
    restored = load_checkpoint(run.checkpoint_path)
    assert restored.arch == "custom" and restored.layers == spec
    assert run.settings()["layers"] == spec
