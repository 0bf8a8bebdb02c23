"""Checkpoints: msgpack via flax.serialization (never pickle), written atomically.

A checkpoint holds the architecture name (``custom`` for a network built from a layer spec, with
its canonical spec under ``layers``), JSON-able metadata, the parameters and batch statistics
as plain nested dicts of arrays, and optionally the optimizer state for resuming.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx, serialization

from handwritten.models.architectures import DigitModel, create_model, split_model
from handwritten.runtime.distributed import to_host
from handwritten.storage.files import atomic_write_bytes

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or does not fit its architecture."""


def _to_numpy(tree: Any) -> Any:
    return to_host(tree)


def save_checkpoint(
    path: Path,
    *,
    arch: str,
    params: nnx.State,
    batch_stats: nnx.State,
    meta: dict[str, Any] | None = None,
    opt_state: Any = None,
    layers: str | None = None,
) -> None:
    """Write a checkpoint atomically (temp file + os.replace); `layers` for a custom network."""
    payload: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "arch": arch,
        "meta": meta or {},
        "params": _to_numpy(nnx.to_pure_dict(params)),
        "rest": _to_numpy(nnx.to_pure_dict(batch_stats)),  # the file format's name for them
    }
    if layers is not None:
        payload["layers"] = layers
    if opt_state is not None:
        # Leaves in tree order; `restore_opt_state` unflattens them against a fresh `tx.init`.
        leaves = jax.tree.leaves(to_host(opt_state))
        payload["opt_state"] = {str(i): np.asarray(leaf) for i, leaf in enumerate(leaves)}
    atomic_write_bytes(Path(path), serialization.msgpack_serialize(payload))


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The raw payload as nested dicts of numpy arrays; errors name the file."""
    path = Path(path)
    try:
        payload = serialization.msgpack_restore(path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # msgpack raises several unrelated types on corrupt data
        raise CheckpointError(f"{path}: corrupt or not a checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: not a handwritten checkpoint (format {FORMAT_VERSION})")
    for key in ("arch", "params", "rest"):
        if key not in payload:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}")
    return payload


def _fill(state: nnx.State, pure: dict[str, Any], path: Path, what: str) -> None:
    expected = jax.tree.map(np.shape, nnx.to_pure_dict(state))
    found = jax.tree.map(np.shape, pure)
    if expected != found:
        raise CheckpointError(f"{path}: {what} do not match the architecture")
    nnx.replace_by_pure_dict(state, pure)


@dataclass
class Restored:
    model: DigitModel
    arch: str
    meta: dict[str, Any]
    payload: dict[str, Any]

    @property
    def layers(self) -> str:
        """The model's layer spec (a fixed architecture's equivalent one)."""
        return self.model.layer_spec


def load_checkpoint(path: Path) -> Restored:
    """Rebuild the model a checkpoint describes, with its weights."""
    payload = read_checkpoint(path)
    arch = payload["arch"]
    try:
        model = create_model(arch, layers=payload.get("layers"))
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    _, params, batch_stats = split_model(model)
    _fill(params, payload["params"], Path(path), "parameters")
    _fill(batch_stats, payload["rest"], Path(path), "batch statistics")
    nnx.update(model, params, batch_stats)
    return Restored(model, arch, dict(payload.get("meta", {})), payload)


def restore_opt_state(payload: dict[str, Any], template: Any) -> Any:
    """Put a checkpoint's optimizer leaves back into the structure of `template`."""
    stored = payload.get("opt_state")
    leaves, treedef = jax.tree.flatten(template)
    if stored is None or len(stored) != len(leaves):
        raise CheckpointError("checkpoint has no optimizer state matching this optimizer")
    restored = [np.asarray(stored[str(i)]) for i in range(len(leaves))]
    if [r.shape for r in restored] != [np.shape(leaf) for leaf in leaves]:
        raise CheckpointError("checkpoint optimizer state does not match this optimizer")
    return jax.tree.unflatten(treedef, restored)
