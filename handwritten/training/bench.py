"""The training-speed yardstick: images/s of the real `train_step`, first-step time, latency,
and the Train page's time-per-epoch estimate for a network before it trains.

Runs on synthetic device-resident data so it needs no dataset; compares nothing by itself
(see ``benchmarks/`` for ratios against PyTorch measured in the same run).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from flax import nnx

from handwritten.models.architectures import create_model, split_model
from handwritten.models.inference import BUCKETS, bucket_for, infer
from handwritten.recognition.predictor import Predictor
from handwritten.runtime.device import describe_device, enable_compile_cache
from handwritten.runtime.distributed import Placement, to_host
from handwritten.training.config import TrainConfig, preset_for
from handwritten.training.step import prepare_step, train_step


def _synthetic(placement: Placement, n_images: int, seed: int) -> tuple[np.ndarray, Any]:
    """Random images and labels, and the identity order, on the devices (no dataset needed)."""
    rng = np.random.default_rng(seed)
    images_host = rng.integers(0, 256, (n_images, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n_images, dtype=np.uint8)
    return images_host, placement.replicate((images_host, labels, np.arange(n_images)))


def run_bench(
    arch: str = "lenet",
    batch_size: int = 128,
    steps: int = 60,
    blocks: int = 5,
    augment: bool | None = None,
    seed: int = 0,
    micro_batch: int | None = None,
    layers: str | None = None,
) -> dict[str, Any]:
    """Measure training throughput (median of `blocks` blocks of `steps` steps) and latency;
    `layers` is the spec of a ``custom`` arch."""
    enable_compile_cache()
    preset = preset_for(arch)
    augment = preset.augment if augment is None else augment
    config = dataclasses.replace(preset, arch=arch, layers=layers, batch_size=batch_size,
                                 seed=seed, micro_batch=micro_batch, augment=augment)  # fmt: skip
    placement = Placement.create()
    placement.check_batch(batch_size)
    images_host, data = _synthetic(placement, batch_size * 64, seed)
    started = time.perf_counter()
    graphdef, params, batch_stats = split_model(create_model(arch, seed, layers))
    spec, state = prepare_step(config, graphdef, params, batch_stats, placement, steps * blocks)
    key = placement.replicate(jax.random.key_data(jax.random.key(seed)))
    state, metrics = train_step(spec, state, *data, np.int32(0), key, np.int32(0))
    jax.block_until_ready(metrics)
    first_step_seconds = time.perf_counter() - started

    def one_block() -> tuple[float, float]:
        nonlocal state
        state, rates = _timed_block(spec, state, data, key, steps, placement)
        return rates

    rates, cpu_rates = zip(*(one_block() for _ in range(blocks)), strict=True)
    predictor = Predictor(nnx.merge(graphdef, *to_host((state.params, state.batch_stats))))
    latencies = _predict_latencies_ms(predictor, images_host[:1].astype(np.float32) / 255.0)
    return {
        "arch": arch,
        "batch_size": batch_size,
        "micro_batches": spec.micro_batches,
        "augment": config.augment,
        "train_images_per_second": statistics.median(rates),
        "train_images_per_second_blocks": list(rates),
        # CPU time is less moved than wall time by other processes on a shared machine (it
        # still counts their cache and memory contention): a cross-check for A/B comparisons
        # of this project's own variants, not for ratios against another framework.
        "train_images_per_cpu_second": statistics.median(cpu_rates),
        "first_step_seconds": first_step_seconds,
        "predict_latency_ms": statistics.median(latencies),
        "predict_latency_p90_ms": float(np.percentile(latencies, 90)),
        "device": describe_device(),
        "devices": placement.n_devices,
    }


def _timed_block(
    spec: Any, state: Any, data: Any, key: Any, steps: int, placement: Placement
) -> tuple[Any, tuple[float, float]]:
    """`steps` steps; (images per wall second, images per CPU second of this process's
    threads)."""
    begin, cpu_begin = time.perf_counter(), time.process_time()
    for step in range(steps):
        state, metrics = train_step(spec, state, *data, np.int32(step % 64), key, np.int32(step))
        if placement.one_step_in_flight:
            jax.block_until_ready(metrics)
    jax.block_until_ready(state)
    images = steps * spec.batch_size
    return state, (
        images / (time.perf_counter() - begin),
        images / (time.process_time() - cpu_begin),
    )


def _predict_latencies_ms(
    predictor: Predictor, one_n28: np.ndarray, runs: int = 200
) -> list[float]:
    """Warm single-image prediction times in milliseconds."""
    predictor.probabilities(one_n28)
    latencies = []
    for _ in range(runs):
        begin = time.perf_counter()
        predictor.probabilities(one_n28)
        latencies.append((time.perf_counter() - begin) * 1000)
    return latencies


@dataclass(frozen=True)
class EpochEstimate:
    """How long an epoch of a configuration takes here, from a few timed steps."""

    first_step_seconds: float  # compiling and taking the first step
    seconds_per_step: float  # median of the timed blocks
    steps_per_epoch: int
    evaluation_seconds: float  # scoring the test set, as every epoch ends
    micro_batches: int

    @property
    def seconds_per_epoch(self) -> float:
        """Steady epochs (the first adds `first_step_seconds` of compiling)."""
        return self.seconds_per_step * self.steps_per_epoch + self.evaluation_seconds

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"seconds_per_epoch": self.seconds_per_epoch}


def estimate_epoch(
    config: TrainConfig, n_train: int, n_test: int, *, blocks: int = 3, block_seconds: float = 0.5
) -> EpochEstimate:
    """Time real training steps of `config` on synthetic data and the test-set evaluation on
    one chunk, and scale them to an epoch of `n_train` training and `n_test` test images.

    After one compiling step and one warm step, each of `blocks` blocks runs enough steps to
    last about `block_seconds` (3 to 50): a cheap step timed alone is dominated by dispatch,
    which the training loop overlaps with computing. Measured, not guessed from multiply-adds:
    on a CPU, memory traffic, padding and micro-batching decide as much as arithmetic does.
    """
    enable_compile_cache()
    config = dataclasses.replace(config.validate(), seed=0)
    placement = Placement.create()
    placement.check_batch(config.batch_size)
    _, data = _synthetic(placement, config.batch_size * 2, 0)
    started = time.perf_counter()
    graphdef, params, batch_stats = split_model(create_model(config.arch, 0, config.layers))
    spec, state = prepare_step(config, graphdef, params, batch_stats, placement, 1000)
    key = placement.replicate(jax.random.key_data(jax.random.key(0)))

    def run(steps: int) -> float:
        """Seconds a step over `steps` steps dispatched as the training loop does."""
        nonlocal state
        begin = time.perf_counter()
        for step in range(steps):
            state, metrics = train_step(spec, state, *data, np.int32(step % 2), key, np.int32(step))
            if placement.one_step_in_flight:
                jax.block_until_ready(metrics)
        jax.block_until_ready(state)
        return (time.perf_counter() - begin) / steps

    run(1)
    first_step = time.perf_counter() - started
    steps = min(50, max(3, math.ceil(block_seconds / run(1))))
    per_step = statistics.median(run(steps) for _ in range(blocks))
    return EpochEstimate(
        first_step, per_step, n_train // config.batch_size,
        _evaluation_seconds(graphdef, state, placement, n_test), spec.micro_batches,
    )  # fmt: skip


def _evaluation_seconds(graphdef: Any, state: Any, placement: Placement, n_test: int) -> float:
    """One warm chunk of the largest inference bucket, scaled to the chunks `infer` runs for
    `n_test` images (full ones, and the last padded to its bucket)."""
    size = min(n_test, BUCKETS[-1])
    chunk = np.zeros((size, 28, 28), np.uint8)
    args = (graphdef, state.params, state.batch_stats, chunk)
    infer(*args, put=placement.replicate)  # compiles this bucket
    begin = time.perf_counter()
    infer(*args, put=placement.replicate)
    seconds = time.perf_counter() - begin
    full, rest = divmod(n_test, size)
    return seconds * (full + (bucket_for(rest) / size if rest else 0))
