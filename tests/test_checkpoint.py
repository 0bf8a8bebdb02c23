"""Checkpoints: round trip, atomic writes, corrupt and mismatched files, optimizer state."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from handwritten.models.architectures import create_model
from handwritten.models.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    restore_opt_state,
    save_checkpoint,
)


def _save(path: Path, arch: str = "cnn", **kwargs) -> nnx.Module:
    model = create_model(arch, seed=3)
    _, params, batch_stats = nnx.split(model, nnx.Param, ...)
    save_checkpoint(
        path, arch=arch, params=params, batch_stats=batch_stats, meta={"epoch": 2}, **kwargs
    )
    return model


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    path = tmp_path / "model.msgpack"
    model = _save(path)
    restored = load_checkpoint(path)
    x = jax.random.uniform(jax.random.key(0), (2, 28, 28, 1))
    np.testing.assert_array_equal(restored.model(x), model(x))
    assert restored.arch == "cnn" and restored.meta == {"epoch": 2}
    assert not list(tmp_path.glob(".*tmp")), "no temp file left behind"


def test_optimizer_state_round_trip(tmp_path: Path) -> None:
    model = create_model("mlp")
    _, params, batch_stats = nnx.split(model, nnx.Param, ...)
    tx = optax.adam(1e-3)
    state = tx.init(params)
    grads = jax.tree.map(jnp.ones_like, params)
    _, state = tx.update(grads, state, params)
    save_checkpoint(
        tmp_path / "c", arch="mlp", params=params, batch_stats=batch_stats, opt_state=state
    )
    restored = restore_opt_state(read_checkpoint(tmp_path / "c"), tx.init(params))
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(CheckpointError):
        restore_opt_state(
            read_checkpoint(tmp_path / "c"), optax.sgd(0.1, momentum=0.9).init(params)
        )


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "corrupt"),
        (b"\x00\x01garbage", "corrupt"),
        (b"\x81\xa3foo\xa3bar", "not a handwritten checkpoint"),
    ],
)
def test_corrupt_files_are_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.msgpack"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_truncated_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.msgpack"
    _save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_architecture_are_refused(tmp_path: Path) -> None:
    from flax import serialization

    path = tmp_path / "model.msgpack"
    _save(path, arch="mlp")
    payload = read_checkpoint(path)
    payload["arch"] = "lenet"
    path.write_bytes(serialization.msgpack_serialize(payload))
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(path)


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nope.msgpack")


def test_a_custom_network_round_trips_with_its_spec(tmp_path: Path) -> None:
    spec = "conv3x3x4,bn,relu,pool2,dense16,relu"
    model = create_model("custom", seed=1, layers=spec)
    _, params, batch_stats = nnx.split(model, nnx.Param, ...)
    path = tmp_path / "custom.msgpack"
    save_checkpoint(path, arch="custom", params=params, batch_stats=batch_stats, layers=spec)
    assert read_checkpoint(path)["layers"] == spec
    restored = load_checkpoint(path)
    assert restored.arch == "custom" and restored.layers == spec
    x = jax.random.uniform(jax.random.key(0), (2, 28, 28, 1))
    np.testing.assert_array_equal(restored.model(x), model(x))


def test_the_shipped_checkpoint_still_loads_bit_identically_as_the_cnn_class() -> None:
    """`cnn_open` is the cnn's module with an 11th output: it loads as that class."""
    from handwritten.models.architectures import CNN
    from handwritten.models.store import SHIPPED_CHECKPOINT

    payload = read_checkpoint(SHIPPED_CHECKPOINT)
    assert payload["arch"] == "cnn_open" and "layers" not in payload
    restored = load_checkpoint(SHIPPED_CHECKPOINT)
    assert type(restored.model) is CNN
    loaded = nnx.to_pure_dict(nnx.state(restored.model, nnx.Param))
    stored = jax.tree.leaves(payload["params"])
    assert len(jax.tree.leaves(loaded)) == len(stored)
    for ours, theirs in zip(jax.tree.leaves(loaded), stored, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), theirs)
