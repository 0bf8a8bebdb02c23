"""The training-speed yardstick: images/s of the real `train_step`, first-step time, latency.

Runs on synthetic device-resident data so it needs no dataset; compares nothing by itself
(see ``benchmarks/`` for ratios against PyTorch measured in the same run).
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from typing import Any

import jax
import numpy as np
from flax import nnx

from handwritten.models.architectures import create_model, split_model
from handwritten.recognition.predictor import Predictor
from handwritten.runtime.device import describe_device, enable_compile_cache
from handwritten.runtime.distributed import Placement, to_host
from handwritten.training.config import preset_for
from handwritten.training.step import prepare_step, train_step


def run_bench(
    arch: str = "lenet",
    batch_size: int = 128,
    steps: int = 60,
    blocks: int = 5,
    augment: bool | None = None,
    seed: int = 0,
    micro_batch: int | None = None,
) -> dict[str, Any]:
    """Measure training throughput (median of `blocks` blocks of `steps` steps) and latency."""
    enable_compile_cache()
    preset = preset_for(arch)
    augment = preset.augment if augment is None else augment
    config = dataclasses.replace(preset, arch=arch, batch_size=batch_size, seed=seed,
                                 micro_batch=micro_batch, augment=augment)  # fmt: skip
    placement = Placement.create()
    placement.check_batch(batch_size)
    rng = np.random.default_rng(seed)
    n_images = batch_size * 64
    images_host = rng.integers(0, 256, (n_images, 28, 28), dtype=np.uint8)
    data = placement.replicate(
        (images_host, rng.integers(0, 10, n_images, dtype=np.uint8), np.arange(n_images))
    )

    started = time.perf_counter()
    graphdef, params, batch_stats = split_model(create_model(arch, seed))
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
