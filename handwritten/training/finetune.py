"""Fine-tuning on personal samples, measured: what the model gained on your style, and what it
kept on MNIST.

Part of the personal samples is held out (stratified by digit) and never trained on. The rest is
oversampled and mixed with MNIST training images ("replay") so the model does not forget MNIST,
then training starts from the base model's weights at a small learning rate. A base that can
say "not a digit" also rehearses generated non-digits (`FinetuneConfig.negatives_share` of the
mix), and its replay never takes from the held-out tail its calibration was fitted on; the
tuned model keeps the base's calibration and segmentation prior (marked as inherited, not
refitted). Accuracy on the held-out personal samples and on the MNIST test set is measured
before and after, each model's answers calibrated as it will answer.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from handwritten.data.heldout import split_off
from handwritten.data.mnist import Split
from handwritten.data.samples import SampleError, SampleStore
from handwritten.models.architectures import DigitModel
from handwritten.models.inference import infer_model
from handwritten.models.store import ModelInfo, checkpoint_for, load_model
from handwritten.recognition.predictor import Calibration
from handwritten.storage.runs import RunDir
from handwritten.training.config import FinetuneConfig, preset_for
from handwritten.training.loop import ProgressFn, RunResult, fit
from handwritten.training.stopping import StopSignal

MIN_SAMPLES = 10
__all__ = ["MIN_SAMPLES", "FinetuneConfig", "check_store", "finetune", "split_heldout"]


def split_heldout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: per digit, `fraction` held out (at least one when a digit has two)."""
    rng = np.random.default_rng(seed)
    train: list[int] = []
    heldout: list[int] = []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        count = round(len(members) * fraction) if len(members) >= 2 else 0
        count = max(count, 1) if len(members) >= 2 else 0
        heldout.extend(int(i) for i in members[:count])
        train.extend(int(i) for i in members[count:])
    return np.sort(np.array(train, np.int64)), np.sort(np.array(heldout, np.int64))


def accuracy(
    model: DigitModel, images_nhw: np.ndarray, labels: np.ndarray, calibration: Calibration
) -> float:
    """Share read right, with the model's calibration (its reject margin moves answers)."""
    if len(labels) == 0:
        return float("nan")
    answers = calibration.probabilities(infer_model(model, images_nhw)).argmax(-1)
    return float((answers == labels).mean())


def inherited_meta(info: ModelInfo) -> dict[str, Any]:
    """The base's calibration and segmentation prior, for the tuned model's checkpoints."""
    meta = info.meta or {}
    kept: dict[str, Any] = {k: meta[k] for k in ("calibration", "segmentation") if k in meta}
    if "calibration" in kept:
        kept["calibration"] = dict(kept["calibration"]) | {
            "fitted_on": f"inherited from {info.name}; not refitted after fine-tuning"
        }
    return kept


def mixed_training_set(personal: Split, mnist_train: Split, config: FinetuneConfig) -> Split:
    """Personal samples repeated to `personal_share` of the mix, plus `replay` MNIST images."""
    rng = np.random.default_rng(config.seed)
    replay = rng.choice(len(mnist_train), size=min(config.replay, len(mnist_train)), replace=False)
    wanted = int(config.replay * config.personal_share / (1 - config.personal_share))
    repeats = max(1, round(wanted / max(len(personal), 1)))
    images = np.concatenate([np.tile(personal.images_nhw, (repeats, 1, 1)),
                             mnist_train.images_nhw[replay]])  # fmt: skip
    labels = np.concatenate([np.tile(personal.labels_n, repeats), mnist_train.labels_n[replay]])
    order = rng.permutation(len(labels))
    return Split(images[order], labels[order])


def check_store(store: SampleStore) -> None:
    """Refuse early (before any run directory exists) when there is too little to learn from."""
    count = len(store)
    if count < MIN_SAMPLES:
        raise SampleError(
            f"fine-tuning needs at least {MIN_SAMPLES} personal samples; the store has "
            f"{count} (save some from the Draw page or `handwritten samples add`)"
        )


def finetune(
    config: FinetuneConfig,
    run: RunDir,
    store: SampleStore,
    mnist_train: Split,
    mnist_test: Split,
    *,
    stop: StopSignal | None = None,
    on_progress: ProgressFn | None = None,
) -> tuple[RunResult, dict[str, Any]]:
    """Fine-tune `config.base` on the store's samples in `run`; returns the run and figures."""
    config.validate()
    check_store(store)
    _, images, labels = store.arrays()
    base_checkpoint = checkpoint_for(config.base)
    restored, info = load_model(config.base)
    calibration = Calibration.of(info.meta)
    train_ids, heldout_ids = split_heldout(labels, config.heldout_fraction, config.seed)
    personal_train = Split(images[train_ids], labels[train_ids])
    heldout = Split(images[heldout_ids], labels[heldout_ids])
    before = {
        "personal": accuracy(restored.model, heldout.images_nhw, heldout.labels_n, calibration),
        "mnist": accuracy(restored.model, mnist_test.images_nhw, mnist_test.labels_n, calibration),
    }
    preset = preset_for(restored.arch)
    mix = mixed_training_set(personal_train, split_off(mnist_train, preset.heldout)[0], config)
    negatives = 0
    if preset.negatives:
        negatives = round(len(mix) * config.negatives_share / (1 - config.negatives_share))
    train_config = dataclasses.replace(
        preset, arch=restored.arch, layers=restored.payload.get("layers"), epochs=config.epochs,
        lr=config.lr, batch_size=config.batch_size, schedule="cosine", seed=config.seed,
        train_subset=None, test_subset=None, log_every=10, heldout=0, negatives=negatives,
        redrawn=0,  # redrawing the recipe's 16,000 digits would cost a first fine-tune minutes
    )  # fmt: skip
    result = fit(
        train_config, run, mix, mnist_test, stop=stop, on_progress=on_progress,
        init_from=base_checkpoint,
        facts={"finetune": dataclasses.asdict(config), "base_model": info.name},
        keep_meta=inherited_meta(info),
    )  # fmt: skip
    figures: dict[str, Any] = {
        "run_dir": str(run.path),
        "state": result.state,
        "base": info.name,
        "n_personal_train": len(personal_train),
        "n_personal_heldout": len(heldout),
        "n_replay": min(config.replay, len(mnist_train)),
        "personal_accuracy_before": before["personal"],
        "mnist_accuracy_before": before["mnist"],
        "personal_accuracy_after": None,
        "mnist_accuracy_after": None,
        "train_seconds": result.summary.get("duration_seconds"),
    }
    if result.state in ("finished", "stopped") and run.checkpoint_path.is_file():
        figures |= _accuracy_after(run, heldout, mnist_test)
    run.write_summary(result.summary | {"finetune": figures})
    return result, figures


def _accuracy_after(run: RunDir, heldout: Split, mnist_test: Split) -> dict[str, float]:
    """The tuned model's accuracy on the held-out samples and MNIST test, as it answers."""
    tuned, info = load_model(run.path)
    kept = Calibration.of(info.meta)
    return {
        "personal_accuracy_after": accuracy(
            tuned.model, heldout.images_nhw, heldout.labels_n, kept
        ),
        "mnist_accuracy_after": accuracy(
            tuned.model, mnist_test.images_nhw, mnist_test.labels_n, kept
        ),
    }
