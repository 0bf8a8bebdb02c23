"""The one source of training settings: choices, defaults, limits and the presets.

The CLI's argument checks, the Train page's form and `TrainConfig.validate` all read `LIMITS`,
`OPTIMIZERS`, `SCHEDULES` and `PRESETS` from here, so a bound or a default is written once.
A run directory's ``config.json`` holds exactly `TrainConfig.to_dict()`; facts about a run
(data sizes, where its weights came from) are kept apart (`handwritten.storage.runs`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from handwritten.data.heldout import HELDOUT_SIZE
from handwritten.data.mnist import TEST_SIZE, TRAIN_SIZE
from handwritten.models.architectures import CUSTOM, REGISTRY
from handwritten.models.layer_spec import (
    SHORTCUTS,
    LayerSpecError,
    NetworkPlan,
    parameter_budget,
    plan_layers,
)

ARCHS = tuple(REGISTRY)
OPTIMIZERS = ("nesterov", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "onecycle")


@dataclass(frozen=True)
class Bounds:
    """An inclusive range of allowed values for one numeric setting."""

    low: int | float
    high: int | float

    def problem(self, label: str, value: float | None) -> str | None:
        """None when `value` is allowed (None means "not set"), else what is wrong."""
        if value is None or (math.isfinite(value) and self.low <= value <= self.high):
            return None
        return f"{label} must be between {self.low:,} and {self.high:,}"


LIMITS: dict[str, Bounds] = {
    "epochs": Bounds(1, 1000),
    "batch_size": Bounds(1, 65536),
    "seed": Bounds(0, 2**31 - 1),
    "train_subset": Bounds(1, TRAIN_SIZE),
    "test_subset": Bounds(1, TEST_SIZE),
    "log_every": Bounds(1, 1_000_000),
    "micro_batch": Bounds(0, 65536),
    "snapshot_every": Bounds(0, 1_000_000),
    "finetune_epochs": Bounds(1, 100),
    "heldout": Bounds(0, TRAIN_SIZE // 2),
    "negatives": Bounds(0, 200_000),
    "redrawn": Bounds(0, 200_000),
    "parameters": Bounds(1, parameter_budget()),  # of a network built from a layer spec
}
LABELS = {
    "epochs": "epochs", "batch_size": "batch size", "seed": "seed",
    "train_subset": "the training subset", "test_subset": "the test subset",
    "log_every": "log_every", "micro_batch": "micro_batch (0: the whole batch)",
    "heldout": "the held-out part", "negatives": "the generated non-digits",
    "redrawn": "the redrawn digits",
    "snapshot_every": "snapshot_every",
}  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; serialised to the run's ``config.json``."""

    arch: str = "cnn"
    # A layer spec (`handwritten.models.layer_spec`, canonical) when arch is "custom", else None.
    layers: str | None = None
    epochs: int = 6
    batch_size: int = 128
    optimizer: str = "adamw"
    lr: float = 3e-3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "onecycle"
    label_smoothing: float = 0.05
    augment: bool = True
    seed: int = 0
    train_subset: int | None = None  # first N training images (fast demo runs)
    test_subset: int | None = None
    log_every: int = 20  # steps between metric lines (each costs one host sync)
    # Images per device in one gradient slice of a batch: None sizes it to the CPU cache
    # (handwritten.training.micro_batches), 0 takes the whole batch at once. The gradient is
    # the batch's either way; batch-norm statistics come from each slice ("ghost" batch norm).
    micro_batch: int | None = None
    # The last N training images are never trained on: calibration and every tuning choice
    # are fitted on them, so MNIST test stays untouched by any choice.
    heldout: int = 0
    # Generated non-digits (hand-drawn letters, symbols, shapes, faces, scribbles; typeset
    # glyphs; digits squeezed together) added with the label "not a digit": needs a model with
    # an 11th output (``cnn_open``).
    negatives: int = 0
    # MNIST training digits (never the held-out part) redrawn as people draw, with a brush of
    # any width, detached parts and broken strokes (`handwritten.training.redrawn`), added with
    # their labels: drawings are the product's input, and MNIST alone has none.
    redrawn: int = 0
    # Steps between weight snapshots in the run's ``snapshots/`` folder (0: none), for watchers
    # that show a model learning (the Tour's live chapter); each costs one host sync and a write.
    snapshot_every: int = 0

    def problems(self) -> list[str]:
        """Every reason these settings cannot train (empty when they can)."""
        problems = []
        if self.layers is not None:
            if self.arch != CUSTOM:
                problems.append(f"layers go with arch {CUSTOM!r}, not {self.arch!r}")
            try:
                check_layers(self.layers)
            except LayerSpecError as exc:
                problems.append(str(exc))
        elif self.arch not in REGISTRY:
            problems.append(f"arch must be one of {sorted(REGISTRY)} (or {CUSTOM!r} with layers)")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}")
        for name, label in LABELS.items():
            problem = LIMITS[name].problem(label, getattr(self, name))
            if problem:
                problems.append(problem)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            problems.append("learning rate must be a positive number")
        if not 0 <= self.momentum < 1:
            problems.append("momentum must be in [0, 1)")
        if self.weight_decay < 0:
            problems.append("weight decay must be >= 0")
        if not 0 <= self.label_smoothing < 1:
            problems.append("label smoothing must be in [0, 1)")
        if self.train_subset is not None and self.train_subset < self.batch_size:
            problems.append("the training subset must hold at least one batch")
        if self.negatives and self.arch != "cnn_open":
            problems.append("generated non-digits need the cnn_open model (an 11th output)")
        return problems

    def validate(self) -> TrainConfig:
        """Self, or ValueError listing every problem at once."""
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def check_data(self, n_train: int) -> None:
        """ValueError unless a training set of `n_train` images (before the subset) allows at
        least one step: a run with no step would finish untrained and look promotable."""
        usable = min(n_train - self.heldout, self.train_subset or n_train)
        if usable < self.batch_size:
            raise ValueError(
                f"the batch size ({self.batch_size:,}) is larger than the training set "
                f"({usable:,} images): not one step could run"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown training settings: {sorted(unknown)}")
        return cls(**values).validate()

    @classmethod
    def settings_of(cls, values: dict[str, Any]) -> TrainConfig:
        """The settings in a ``config.json`` that may also hold facts (older run directories
        wrote data sizes and the weights' origin beside the settings)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls.from_dict({k: v for k, v in values.items() if k in names})


# The seed's recipes (Deeplearning4j examples) and the default model's.
PRESETS: dict[str, TrainConfig] = {
    "mlp": TrainConfig(
        arch="mlp", epochs=3, batch_size=128, optimizer="nesterov", lr=0.006,
        weight_decay=1e-4, schedule="constant", label_smoothing=0.0, augment=False,
    ),
    "lenet": TrainConfig(
        arch="lenet", epochs=3, batch_size=64, optimizer="nesterov", lr=0.01,
        weight_decay=5e-4, schedule="constant", label_smoothing=0.0, augment=False,
    ),
    "cnn": TrainConfig(),
    # The shipped model's recipe (see handwritten/default_model/MODEL_CARD.md).
    "cnn_open": TrainConfig(
        arch="cnn_open", epochs=9, heldout=HELDOUT_SIZE, negatives=12_000, redrawn=16_000,
    ),
    # The quickest recipe to 99% on this CPU (benchmarks/README.md, "Time to 99%"): the small
    # `fast` CNN, one epoch, Adam with a one-cycle peak of 0.01, no augmentation.
    "fast": TrainConfig(
        arch="fast", epochs=1, batch_size=128, optimizer="adam", lr=0.01, schedule="onecycle",
        label_smoothing=0.0, augment=False,
    ),
}  # fmt: skip
PRESETS["default"] = PRESETS["cnn_open"]
# What "Quick demo run" and the Tour's live chapter train: the `fast` recipe (99% in one epoch)
# with what watchers need. A metric line every 5 steps streams the loss curve in; weights are
# snapshotted every 25 steps and at steps 1, 2, 4, 8, 16 (25 snapshots of 0.43 MB over the
# epoch's 468 steps), so the Tour can show the filters and its belief in a drawing take shape.
# A preset of its own, so `--preset fast` stays the pure speed recipe that benchmarks time.
PRESETS["demo"] = dataclasses.replace(PRESETS["fast"], log_every=5, snapshot_every=25)
DEMO_PRESET = "demo"  # what "Quick demo run" and the Tour's live chapter train
# What the buttons that start it promise: `handwritten train --preset demo`, whole process,
# took 11.6 s on this 2-core CPU (9.5 s from start to summary, load average 0.7), 99.23%.
DEMO_SECONDS = 12


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning on the personal samples (`handwritten.training.finetune`)."""

    base: str = "default"  # "default", a run directory or a checkpoint
    epochs: int = 3
    lr: float = 1e-3
    batch_size: int = 128
    heldout_fraction: float = 0.25
    replay: int = 6000  # MNIST training images mixed in
    personal_share: float = 0.35  # fraction of the mix made of (repeated) personal samples
    # For a base that can say "not a digit": generated non-digits added, as a fraction of the
    # mix, so that output is rehearsed too (about the share the shipped recipe trains with).
    negatives_share: float = 0.15
    seed: int = 0

    def validate(self) -> FinetuneConfig:
        problem = LIMITS["finetune_epochs"].problem("epochs", self.epochs)
        if problem:
            raise ValueError(problem)
        if not 0 < self.heldout_fraction < 1:
            raise ValueError("the held-out fraction must be between 0 and 1")
        if not 0 < self.personal_share < 1:
            raise ValueError("the personal share must be between 0 and 1")
        if not 0 <= self.negatives_share < 1:
            raise ValueError("the share of non-digits must be at least 0 and below 1")
        if self.replay < 0 or self.lr <= 0:
            raise ValueError("replay must be >= 0 and the learning rate positive")
        return self


def check_layers(text: str) -> NetworkPlan:
    """The plan of a layer spec within this machine's parameter budget (`LIMITS`), or
    LayerSpecError naming the first bad token."""
    return plan_layers(text, max_parameters=int(LIMITS["parameters"].high))


def network_changes(layers: str) -> dict[str, Any]:
    """The settings a ``--layers`` value means: a shortcut name (mlp, lenet, cnn) is that
    architecture, anything else the checked, canonical spec of a custom network."""
    name = layers.strip().lower()
    if name in SHORTCUTS:
        return {"arch": name, "layers": None}
    return {"arch": CUSTOM, "layers": check_layers(layers).spec}


def preset_for(arch: str) -> TrainConfig:
    """The recipe an architecture trains with by default (the cnn's for one without its own)."""
    return PRESETS.get(arch, PRESETS["cnn"])


def resolve_config(
    *,
    preset: str | None = None,
    arch: str | None = None,
    layers: str | None = None,
    base: TrainConfig | None = None,
    **overrides: Any,
) -> TrainConfig:
    """The settings a command asks for: a base (saved settings, else a preset, else the arch's
    preset, else "default") with every override that is not None applied, validated.

    With `arch` alone the arch's own preset is the base (``--arch lenet`` trains the seed
    recipe); with a preset or saved settings, `arch` overrides their architecture. `layers`
    (a spec or a shortcut name, see `network_changes`) replaces the architecture the same way;
    a custom network's own base is the cnn's recipe.
    """
    if arch is not None and layers is not None:
        raise ValueError("give an architecture or layers, not both")
    network: dict[str, Any] = {}
    if arch is not None:
        network = {"arch": arch, "layers": None}
    elif layers is not None:
        network = network_changes(layers)
    if base is not None:
        config = base
    elif preset is not None:
        config = PRESETS[preset]
    elif network:
        config = preset_for(network["arch"])
    else:
        config = PRESETS["default"]
    changes = {k: v for k, v in overrides.items() if v is not None} | network
    return dataclasses.replace(config, **changes).validate()
