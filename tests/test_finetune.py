"""Fine-tuning on personal samples: the held-out split, the replay mix, refusals, and on real
MNIST a generated handwriting style the shipped model gets wrong, learned without forgetting."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from handwritten.data.mnist import Split, load_split
from handwritten.data.preprocess import preprocess
from handwritten.data.samples import SampleError, SampleStore
from handwritten.evaluation.styles import seven_segment
from handwritten.models.store import load_model
from handwritten.recognition.predictor import Calibration
from handwritten.storage.runs import RunDir
from handwritten.training.config import PRESETS
from handwritten.training.finetune import (
    MIN_SAMPLES,
    FinetuneConfig,
    accuracy,
    finetune,
    mixed_training_set,
    split_heldout,
)

# ---------------------------------------------------------------------------------------------
# split_heldout


def shuffled_labels(per_digit: dict[int, int], seed: int = 0) -> np.ndarray:
    labels = np.concatenate([np.full(n, d, np.uint8) for d, n in per_digit.items()])
    return np.random.default_rng(seed).permutation(labels)


PER_DIGIT = {0: 1, 1: 2, 2: 3, 3: 4, 4: 8, 5: 20, 6: 0, 7: 40, 8: 5, 9: 13}


def test_split_heldout_is_a_stratified_partition() -> None:
    labels = shuffled_labels(PER_DIGIT)
    train, heldout = split_heldout(labels, fraction=0.25, seed=0)
    assert train.dtype == heldout.dtype == np.int64
    assert np.all(np.diff(train) > 0) and np.all(np.diff(heldout) > 0)
    assert np.intersect1d(train, heldout).size == 0
    assert np.array_equal(np.union1d(train, heldout), np.arange(len(labels)))
    held_counts = Counter(labels[heldout].tolist())
    for digit, n in PER_DIGIT.items():
        expected = 0 if n < 2 else max(1, round(n * 0.25))
        assert held_counts[digit] == expected, (digit, n)
        if n >= 2:
            assert held_counts[digit] >= 1 and n - held_counts[digit] >= 1


def test_split_heldout_fraction_and_seed() -> None:
    labels = shuffled_labels({d: 40 for d in range(10)})
    train, heldout = split_heldout(labels, fraction=0.5, seed=3)
    assert len(heldout) == 200 and len(train) == 200
    assert Counter(labels[heldout].tolist()) == {d: 20 for d in range(10)}

    again = split_heldout(labels, fraction=0.5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, heldout), again, strict=True))
    other = split_heldout(labels, fraction=0.5, seed=4)
    assert not np.array_equal(other[1], heldout)


def test_split_heldout_of_nothing() -> None:
    train, heldout = split_heldout(np.zeros(0, np.uint8), fraction=0.25, seed=0)
    assert train.shape == heldout.shape == (0,)


# ---------------------------------------------------------------------------------------------
# mixed_training_set


def tagged_split(n: int, origin: int, seed: int) -> Split:
    """Images that say where they came from: pixel (0, 0) = origin + label, (0, 1..2) = index."""
    labels = np.random.default_rng(seed).integers(0, 10, n).astype(np.uint8)
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 0, 0] = origin + labels
    images[:, 0, 1], images[:, 0, 2] = np.arange(n) // 256, np.arange(n) % 256
    return Split(images, labels)


def test_mixed_training_set_proportions_and_labels() -> None:
    personal, mnist = tagged_split(30, 200, seed=0), tagged_split(2000, 100, seed=1)
    config = FinetuneConfig(replay=600, personal_share=0.35, seed=0)
    mix = mixed_training_set(personal, mnist, config)

    origin = mix.images_nhw[:, 0, 0] // 100 * 100
    assert set(origin.tolist()) == {100, 200}
    assert np.array_equal(mix.images_nhw[:, 0, 0] - origin, mix.labels_n)  # labels follow images
    assert mix.images_nhw.dtype == np.uint8 and mix.labels_n.dtype == np.uint8

    index = mix.images_nhw[:, 0, 1].astype(int) * 256 + mix.images_nhw[:, 0, 2]
    replayed = index[origin == 100]
    assert len(replayed) == 600 and len(set(replayed.tolist())) == 600  # without replacement
    repeats = Counter(index[origin == 200].tolist())
    assert set(repeats) == set(range(30)) and len(set(repeats.values())) == 1  # all equally often
    share = (origin == 200).mean()
    assert share == pytest.approx(0.35, abs=0.03)
    assert not np.array_equal(origin[:330], np.full(330, 200))  # shuffled, not stacked

    again = mixed_training_set(personal, mnist, config)
    assert np.array_equal(again.images_nhw, mix.images_nhw)


def test_mixed_training_set_small_mnist_and_large_personal() -> None:
    personal, mnist = tagged_split(500, 200, seed=0), tagged_split(50, 100, seed=1)
    mix = mixed_training_set(personal, mnist, FinetuneConfig(replay=600, personal_share=0.35))
    origin = mix.images_nhw[:, 0, 0] // 100 * 100
    assert (origin == 100).sum() == 50  # all of a small MNIST, once
    assert (origin == 200).sum() == 500  # personal samples at least once each


# ---------------------------------------------------------------------------------------------
# refusals


def test_finetune_refuses_too_few_samples(tmp_path: Path) -> None:
    store = SampleStore()
    rng = np.random.default_rng(0)
    store.add_many(
        [(d, b"raw", rng.random((28, 28)), "") for d in range(MIN_SAMPLES - 1)]  # one short
    )
    mnist = tagged_split(64, 0, seed=0)
    run = RunDir.create("finetune", path=tmp_path / "run")
    with pytest.raises(SampleError) as info:
        finetune(FinetuneConfig(), run, store, mnist, mnist)
    message = str(info.value)
    assert f"at least {MIN_SAMPLES}" in message and f"has {MIN_SAMPLES - 1}" in message
    assert "Draw page" in message and "handwritten samples add" in message
    assert not run.checkpoint_path.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"heldout_fraction": 1.0}, "held-out fraction"),
        ({"personal_share": 0.0}, "personal share"),
        ({"replay": -1}, "replay"),
        ({"lr": 0.0}, "learning rate"),
    ],
)
def test_finetune_config_validation(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FinetuneConfig(**changes).validate()  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# the target, on real MNIST


def seven_segment_samples(
    per_digit: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(images (N, 28, 28) float, labels (N,), canvases) as the Draw page saves drawings."""
    rng = np.random.default_rng(seed)
    canvases, images, labels = [], [], []
    for digit in range(10):
        for _ in range(per_digit):
            canvas = seven_segment(digit, rng)
            canvases.append(canvas)
            images.append(preprocess(canvas, multi=False).digits[0].centred)
            labels.append(digit)
    return np.stack(images), np.array(labels, np.uint8), canvases


@pytest.mark.slow
def test_finetune_learns_seven_segment_digits_without_forgetting_mnist(tmp_path: Path) -> None:
    images, labels, canvases = seven_segment_samples(per_digit=20, seed=0)
    store = SampleStore()
    store.add_many(
        [(int(y), c, x, "seven-segment") for x, y, c in zip(images, labels, canvases, strict=True)]
    )
    fresh_images, fresh_labels, _ = seven_segment_samples(per_digit=30, seed=1)
    fresh_u8 = (np.clip(fresh_images, 0, 1) * 255).round().astype(np.uint8)  # as stored

    base, info = load_model("default")
    assert info.name == "default (shipped)"
    calibration = Calibration.of(info.meta)
    before = accuracy(base.model, fresh_u8, fresh_labels, calibration)

    run = RunDir.create("finetune", path=tmp_path / "run")
    start = time.perf_counter()
    result, figures = finetune(
        FinetuneConfig(), run, store, load_split("train"), load_split("test")
    )
    seconds = time.perf_counter() - start
    tuned, tuned_info = load_model(run.path)
    # The tuned model answers with the base's calibration, marked as inherited.
    kept = Calibration.of(tuned_info.meta)
    assert kept == calibration
    assert "inherited" in tuned_info.meta["calibration"]["fitted_on"]
    assert tuned_info.meta.get("segmentation") == info.meta.get("segmentation")
    after = accuracy(tuned.model, fresh_u8, fresh_labels, kept)
    print(
        f"\nfine-tune: {seconds:.1f} s ({figures['train_seconds']:.1f} s training); "
        f"fresh seven-segment {before:.3f} -> {after:.3f}; "
        f"held-out {figures['personal_accuracy_before']:.3f} -> "
        f"{figures['personal_accuracy_after']:.3f}; "
        f"MNIST test {figures['mnist_accuracy_before']:.4f} -> "
        f"{figures['mnist_accuracy_after']:.4f}"
    )

    assert result.state == "finished" and figures["state"] == "finished"
    expected_keys = {
        "run_dir", "state", "base", "n_personal_train", "n_personal_heldout", "n_replay",
        "personal_accuracy_before", "personal_accuracy_after", "mnist_accuracy_before",
        "mnist_accuracy_after", "train_seconds",
    }  # fmt: skip
    assert expected_keys <= set(figures)
    assert figures["run_dir"] == str(run.path) and figures["base"] == "default (shipped)"
    assert figures["n_personal_heldout"] == 10 * 5 and figures["n_personal_train"] == 10 * 15
    assert figures["n_replay"] == FinetuneConfig().replay

    assert after >= 0.95 and after > before  # the style is learned, on drawings it never saw
    assert figures["personal_accuracy_after"] >= 0.95
    assert figures["mnist_accuracy_after"] >= 0.993  # ...and MNIST is not forgotten
    summary = run.summary()
    assert summary is not None
    assert summary["finetune"]["mnist_accuracy_after"] == figures["mnist_accuracy_after"]
    assert run.facts()["finetune"]["replay"] == FinetuneConfig().replay
    # The base's recipe trains on redrawn digits; a fine-tune does not redraw its mix.
    assert PRESETS["default"].redrawn > 0 and run.facts()["n_redrawn"] == 0
