"""A batch's gradient accumulated over micro-batches is the batch's gradient."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from handwritten.models.architectures import create_model, split_model
from handwritten.runtime.distributed import Placement
from handwritten.training.config import PRESETS, TrainConfig
from handwritten.training.micro_batches import (
    cache_sized_micro_batch,
    largest_activation_bytes,
    micro_batches_for,
    resolve_micro_batches,
)
from handwritten.training.optimizer import make_optimizer
from handwritten.training.step import StepSpec, TrainState, train_step

from .conftest import REPO


def one_step(arch: str, micro_batches: int, batch: int = 64) -> tuple[TrainState, dict]:
    """One real `train_step` from the same start, on this process's devices."""
    config = PRESETS[arch]
    placement = Placement.create()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, batch, dtype=np.uint8)
    graphdef, params, batch_stats = split_model(create_model(arch, 0))
    tx = make_optimizer(config, 10)
    spec = StepSpec(graphdef, tx, batch, None, config.label_smoothing,
                    placement.batch_sharding, micro_batches)  # fmt: skip
    state = placement.replicate(TrainState(params, batch_stats, tx.init(params)))
    data = placement.replicate((images, labels, np.arange(batch)))
    key = placement.replicate(jax.random.key_data(jax.random.key(0)))
    state, metrics = train_step(spec, state, *data, np.int32(0), key, np.int32(0))
    return jax.device_get(state), jax.device_get(metrics)


def assert_same_tree(a, b, rtol=2e-5, atol=2e-6) -> None:
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


@pytest.mark.parametrize("arch", ["mlp", "lenet"])
def test_micro_batched_step_equals_the_whole_batch_step(arch: str) -> None:
    whole_state, whole = one_step(arch, 1)
    split_state, split = one_step(arch, 4)
    assert_same_tree(whole_state.params, split_state.params)
    assert_same_tree(whole_state.opt_state, split_state.opt_state)
    np.testing.assert_allclose(whole["loss_sum"], split["loss_sum"], rtol=1e-5)
    assert int(whole["correct"]) == int(split["correct"])


def test_batch_norm_running_statistics_move_once_per_step() -> None:
    """Slices normalise with their own statistics; the running averages take one update per
    step from the slices' mean statistics. Equal slices: the mean of their means is the
    batch's mean, and (law of total variance) their mean variance is at most the batch's."""
    whole_state, whole = one_step("cnn", 1)
    split_state, split = one_step("cnn", 2)
    for metrics in (whole, split):
        assert np.isfinite(metrics["loss_sum"]) and 0 <= int(metrics["correct"]) <= 64
    images = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    model = create_model("cnn", 0)
    conv1 = next(
        layer.value
        for layer in model.trace(images[..., None] / 255.0, train=True)
        if layer.name == "conv1"
    )
    momentum = 0.9  # the cnn's BatchNorm momentum, from a zero start
    expected_mean = (1 - momentum) * np.asarray(conv1).mean(axis=(0, 1, 2))
    norm1 = [state.batch_stats["norm1"] for state in (whole_state, split_state)]
    for stats in norm1:
        np.testing.assert_allclose(stats["mean"][...], expected_mean, rtol=1e-4, atol=1e-6)
    whole_var, split_var = (np.asarray(stats["var"][...]) for stats in norm1)
    assert np.all(split_var <= whole_var + 1e-6)


def test_micro_batching_stays_whole_on_accelerators(monkeypatch: pytest.MonkeyPatch) -> None:
    """Automatic sizing is for CPU caches: the cnn's batch of 128 is cut in 8 on a CPU and kept
    whole on a GPU or TPU; an explicit micro-batch is honoured on every backend."""
    graphdef, params, batch_stats = split_model(create_model("cnn", 0))
    on_this_machine = 8 if jax.default_backend() == "cpu" else 1
    assert resolve_micro_batches(None, 128, 1, graphdef, params, batch_stats) == on_this_machine
    for backend, automatic in (("cpu", 8), ("gpu", 1), ("tpu", 1)):
        monkeypatch.setattr(jax, "default_backend", lambda backend=backend: backend)
        assert resolve_micro_batches(None, 128, 1, graphdef, params, batch_stats) == automatic
        assert resolve_micro_batches(32, 128, 1, graphdef, params, batch_stats) == 4  # when asked


@pytest.mark.parametrize(
    ("batch", "devices", "micro_batch", "expected"),
    [(128, 1, 32, 4), (64, 1, 32, 2), (32, 1, 32, 1), (100, 1, 32, 2), (97, 1, 32, 1),
     (128, 2, 32, 2), (256, 8, 32, 1), (128, 1, 0, 1), (128, 1, 16, 8), (512, 1, 32, 16),
     (128, 1, 1, 16), (1024, 1, 32, 16)],  # at most 16 slices (the step is unrolled)
)  # fmt: skip
def test_micro_batch_count(batch: int, devices: int, micro_batch: int, expected: int) -> None:
    count = micro_batches_for(batch, devices, micro_batch)
    assert count == expected
    assert batch % (count * devices) == 0


def test_micro_batch_setting_is_validated() -> None:
    with pytest.raises(ValueError, match="micro_batch"):
        TrainConfig(micro_batch=-1).validate()
    assert TrainConfig.from_dict({"arch": "lenet"}).micro_batch is None  # older config.json


@pytest.mark.parametrize(
    ("arch", "activation_bytes", "micro_batch", "at_128"),
    [
        ("lenet", 24 * 24 * 20 * 4, 32, 4),
        ("cnn", 28 * 28 * 32 * 4, 16, 8),
        ("mlp", 28 * 28 * 4, 512, 1),
    ],
)  # the sizes measured fastest on a 2-core CPU (benchmarks/README.md)
def test_micro_batch_is_sized_to_the_cache_from_the_largest_activation(
    arch: str, activation_bytes: int, micro_batch: int, at_128: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    graphdef, params, batch_stats = split_model(create_model(arch, 0))
    assert largest_activation_bytes(graphdef, params, batch_stats) == activation_bytes
    assert cache_sized_micro_batch(activation_bytes) == micro_batch
    # The automatic size applies on a CPU only; a GPU or TPU keeps the batch whole.
    on_this_machine = at_128 if jax.default_backend() == "cpu" else 1
    assert resolve_micro_batches(None, 128, 1, graphdef, params, batch_stats) == on_this_machine
    monkeypatch.setattr(jax, "default_backend", lambda: "cpu")  # the CPU rule, on any machine
    assert resolve_micro_batches(None, 128, 1, graphdef, params, batch_stats) == at_128
    assert resolve_micro_batches(0, 128, 1, graphdef, params, batch_stats) == 1
    assert resolve_micro_batches(8, 128, 1, graphdef, params, batch_stats) == 16


def test_cache_sized_micro_batch_is_at_least_one_image() -> None:
    assert cache_sized_micro_batch(10**9) == 1
    assert cache_sized_micro_batch(0) >= 1


def test_micro_batches_on_two_forced_devices_keep_the_gradient() -> None:
    """Sharded batch: each micro-batch must take rows from every device's share."""
    script = textwrap.dedent(
        """
        import jax
        from tests.test_micro_batches import assert_same_tree, one_step
        assert len(jax.devices()) == 2
        for arch in ("mlp", "lenet"):
            whole_state, whole = one_step(arch, 1)
            split_state, split = one_step(arch, 2)
            assert_same_tree(whole_state.params, split_state.params)
            assert int(whole["correct"]) == int(split["correct"])
        print("same")
        """
    )
    # Two devices exist only as forced host (CPU) devices, so the backend is pinned to the CPU:
    # on a one-GPU machine JAX would otherwise pick the GPU and see one device.
    env = os.environ | {
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("same")
