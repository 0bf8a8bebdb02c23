"""What a model trains on: held-out part left out, generated non-digits added, deterministic."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from handwritten.data.mnist import Split
from handwritten.data.nondigits import HELD_OUT
from handwritten.evaluation.metrics import evaluate
from handwritten.models.architectures import NOT_A_DIGIT
from handwritten.storage.runs import RunDir
from handwritten.training import bank, negatives
from handwritten.training.augment import AugmentConfig, augment_one
from handwritten.training.config import PRESETS, TrainConfig
from handwritten.training.loop import fit
from handwritten.training.stopping import StopSignal

from .conftest import synthetic_digits

DIGITS = Split(*synthetic_digits(300, 0))


def test_negatives_are_deterministic_model_inputs() -> None:
    first = negatives.generate(30, seed=3, digits=DIGITS)
    assert first.shape == (30, 28, 28) and first.dtype == np.uint8
    assert np.array_equal(first, negatives.generate(30, seed=3, digits=DIGITS))
    assert not np.array_equal(first, negatives.generate(30, seed=4, digits=DIGITS))
    assert (first.reshape(30, -1).max(axis=1) > 128).all()  # every one holds a stroke


def test_typeset_negatives_leave_the_held_out_templates_unseen() -> None:
    letters = {name for name in HELD_OUT if len(name) == 1}
    assert letters and not letters & set(negatives.TYPESET)
    assert "&" not in negatives.TYPESET  # "ampersand" is held out too


def test_training_split_holds_out_the_tail_and_adds_labelled_negatives() -> None:
    split = negatives.training_split(DIGITS, heldout=50, negatives=40, seed=0)
    assert len(split) == 250 + 40
    assert (split.labels_n == NOT_A_DIGIT).sum() == 40
    kept = {bytes(image) for image in split.images_nhw}
    assert all(bytes(image) not in kept for image in DIGITS.images_nhw[-50:])
    again = negatives.training_split(DIGITS, heldout=50, negatives=40, seed=0)  # from the cache
    assert np.array_equal(split.images_nhw, again.images_nhw)


def test_a_run_with_negatives_trains_the_not_a_digit_output(tmp_path: Path) -> None:
    config = TrainConfig(arch="cnn_open", epochs=1, batch_size=32, augment=False, heldout=64,
                         negatives=64, log_every=4)  # fmt: skip
    run = RunDir.create("cnn_open", path=tmp_path / "run")
    result = fit(config, run, DIGITS, Split(*synthetic_digits(64, 1)))
    assert result.state == "finished"
    assert run.facts()["n_train"] == 300 - 64 + 64 and run.facts()["n_heldout"] == 64


def drawing_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[TrainConfig, RunDir]:
    """A tiny recipe whose bank of 25 negatives is reported every 10 images."""
    monkeypatch.setattr(bank, "REPORT_EVERY", 10)
    config = TrainConfig(arch="cnn_open", epochs=1, batch_size=32, augment=False, heldout=64,
                         negatives=25, log_every=4)  # fmt: skip
    return config, RunDir.create("cnn_open", path=tmp_path / "run")


def test_a_bank_being_drawn_is_reported_and_a_cached_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, run = drawing_run(tmp_path, monkeypatch)
    seen: list[tuple[dict, dict]] = []

    def on_progress(record: dict) -> None:
        if record["kind"] == "preparing":
            seen.append((record, run.status()))

    assert fit(config, run, DIGITS, DIGITS, on_progress=on_progress).state == "finished"
    assert [record["done"] for record, _ in seen] == [10, 20, 25]
    record, status = seen[0]
    assert record["what"] == negatives.NEGATIVES_WHAT and record["total"] == 25
    assert status["state"] == "running" and status["preparing"]["done"] == 10
    assert "preparing" not in run.status()  # the steps' status replaced it
    seen.clear()
    again = RunDir.create("cnn_open", path=tmp_path / "again")
    fit(config, again, DIGITS, DIGITS, on_progress=on_progress)  # the bank is cached now
    assert seen == []


def test_a_stop_while_a_bank_is_drawn_ends_the_run_there_and_caches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, run = drawing_run(tmp_path, monkeypatch)
    stop = StopSignal(run)
    drawn: list[int] = []

    def on_progress(record: dict) -> None:
        drawn.append(record["done"])
        stop.set("stop requested")

    result = fit(config, run, DIGITS, DIGITS, stop=stop, on_progress=on_progress)
    assert drawn == [10] and result.state == "stopped"
    assert result.reason == "stop requested while drawing the training non-digits"
    assert run.status()["state"] == "stopped" and run.summary()["steps"] == 0
    assert not run.checkpoint_path.exists() and result.summary["epoch_test_accuracy"] == []
    assert not list((Path(os.environ["HANDWRITTEN_HOME"]) / "cache").glob("negatives-*"))


def test_the_default_recipe_holds_out_data_and_learns_not_a_digit() -> None:
    default = PRESETS["default"]
    assert default.arch == "cnn_open" and default.heldout == 5000 and default.negatives > 0
    problems = dataclasses.replace(default, arch="cnn").problems()
    assert any("cnn_open" in p for p in problems)
    with pytest.raises(ValueError, match="larger than the training set"):
        TrainConfig(heldout=300, batch_size=32).check_data(320)


def test_evaluate_counts_not_a_digit_as_wrong() -> None:
    logits = np.zeros((3, 11))
    logits[0, 4] = logits[1, NOT_A_DIGIT] = logits[2, 7] = 5.0
    result = evaluate(np.array([4, 4, 7]), logits)
    assert result.accuracy == pytest.approx(2 / 3) and result.confusion.sum() == 2


def test_broken_stroke_augmentation_erases_a_small_disc() -> None:
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = 1.0
    config = dataclasses.replace(
        AugmentConfig(), rotate_degrees=0, shear=0, scale_range=(1, 1), thicken_prob=0,
        thin_prob=0, jitter_pixels=0, fit_jitter=0, blur_prob=0, gain_range=(1, 1),
    )  # fmt: skip
    kept = augment_one(
        jnp.asarray(image), jax.random.key(0), dataclasses.replace(config, break_prob=0)
    )
    broken = augment_one(
        jnp.asarray(image), jax.random.key(0), dataclasses.replace(config, break_prob=1)
    )
    lost = float(kept.sum() - broken.sum())
    assert 1.0 < lost < 12.0  # a disc of radius 0.8-1.8 px, not the stroke
