"""Checkpoints: msgpack via flax.serialization (never pickle), written atomically.

A checkpoint holds the architecture name (``custom`` for a network built from a layer spec, with
its canonical spec under ``layers``), JSON-able metadata, the parameters and batch statistics as
plain nested dicts of arrays, and optionally the optimizer state for resuming, keyed by each
leaf's `jax.tree_util` key path (``[0].mu['dense1']['kernel']``) so that two leaves of the same
shape (Adam's ``mu`` and ``nu``) can never be swapped on the way back. Older checkpoints keyed
the optimizer leaves by their index; they still load.

Everything read is checked before it is used: the file is a regular file of bounded size, the
payload has the documented types, and every weight has the architecture's shape and dtype and
is finite, so a crafted or damaged file is refused with a message naming it.
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
from handwritten.storage.files import InputFileError, atomic_write_bytes, read_regular_file

FORMAT_VERSION = 1
MAX_CHECKPOINT_BYTES = 256 * 1024 * 1024  # the shipped CNN is 3.4 MB; with Adam state ~10 MB


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or does not fit its architecture."""


def opt_state_by_path(opt_state: Any) -> dict[str, np.ndarray]:
    """The optimizer state's leaves keyed by their key paths (`jax.tree_util.keystr`)."""
    flat, _ = jax.tree_util.tree_flatten_with_path(to_host(opt_state))
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in flat}


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
        "params": to_host(nnx.to_pure_dict(params)),
        "rest": to_host(nnx.to_pure_dict(batch_stats)),  # the file format's name for them
    }
    if layers is not None:
        payload["layers"] = layers
    if opt_state is not None:
        payload["opt_state"] = opt_state_by_path(opt_state)
    atomic_write_bytes(Path(path), serialization.msgpack_serialize(payload))


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The raw payload as nested dicts of numpy arrays, its types checked; errors name the file."""
    path = Path(path)
    try:
        data = read_regular_file(path, MAX_CHECKPOINT_BYTES)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except InputFileError as exc:
        raise CheckpointError(str(exc)) from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        payload = serialization.msgpack_restore(data)
    except Exception as exc:  # msgpack raises several unrelated types on corrupt data
        raise CheckpointError(f"{path}: corrupt or not a checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: not a handwritten checkpoint (format {FORMAT_VERSION})")
    for key in ("arch", "params", "rest"):
        if key not in payload:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}")
    if not isinstance(payload["arch"], str):
        raise CheckpointError(f"{path}: 'arch' must be an architecture's name, not "
                              f"{type(payload['arch']).__name__}")  # fmt: skip
    if not isinstance(payload.get("layers", ""), str):
        raise CheckpointError(f"{path}: 'layers' must be a layer spec, not "
                              f"{type(payload['layers']).__name__}")  # fmt: skip
    for key in ("meta", "params", "rest", "opt_state"):
        if not isinstance(payload.get(key, {}), dict):
            raise CheckpointError(f"{path}: {key!r} must be a mapping, not "
                                  f"{type(payload[key]).__name__}")  # fmt: skip
    return payload


def _check_leaves(expected: Any, found: Any, path: Path, what: str) -> None:
    """Same tree, and every leaf an array of the expected shape and dtype, all finite."""
    want, _ = jax.tree_util.tree_flatten_with_path(expected)
    got, _ = jax.tree_util.tree_flatten_with_path(found)
    names = [jax.tree_util.keystr(key) for key, _ in want]
    if names != [jax.tree_util.keystr(key) for key, _ in got]:
        raise CheckpointError(f"{path}: {what} do not match the architecture")
    for name, (_, reference), (_, leaf) in zip(names, want, got, strict=True):
        shape, dtype = np.shape(reference), reference.dtype
        if not isinstance(leaf, np.ndarray) or leaf.shape != shape:
            raise CheckpointError(
                f"{path}: {what} do not match the architecture ({name}: shape "
                f"{np.shape(leaf)}, expected {shape})"
            )
        if leaf.dtype != dtype:
            raise CheckpointError(f"{path}: {what} {name} are {leaf.dtype}, expected {dtype}")
        if not np.isfinite(leaf).all():
            raise CheckpointError(f"{path}: {what} {name} hold NaN or infinite values")


def _fill(state: nnx.State, pure: dict[str, Any], path: Path, what: str) -> None:
    _check_leaves(nnx.to_pure_dict(state), pure, path, what)
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
    """Rebuild the model a checkpoint describes, with its weights (all checked)."""
    return restore_payload(read_checkpoint(path), Path(path))


def restore_payload(payload: dict[str, Any], path: Path) -> Restored:
    """The model a checked payload describes (for readers that adapt a payload first, such as
    weight snapshots stored in float16)."""
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
    """Put a checkpoint's optimizer leaves back into the structure of `template`.

    Leaves are matched by key path, and the stored paths must be exactly the template's; a
    checkpoint from before key paths (leaves by index) is matched by position and shape.
    """
    stored = payload.get("opt_state")
    flat, treedef = jax.tree_util.tree_flatten_with_path(template)
    if not isinstance(stored, dict) or len(stored) != len(flat):
        raise CheckpointError("checkpoint has no optimizer state matching this optimizer")
    if all(key.isdigit() for key in stored):  # the older format: leaves in tree order
        keys = [str(i) for i in range(len(flat))]
    else:
        keys = [jax.tree_util.keystr(path) for path, _ in flat]
    if set(keys) != set(stored):
        missing = sorted(set(keys) - set(stored))[:3]
        raise CheckpointError(f"checkpoint optimizer state has another structure (missing "
                              f"{', '.join(missing)})")  # fmt: skip
    restored = [np.asarray(stored[key]) for key in keys]
    for key, value, (_, leaf) in zip(keys, restored, flat, strict=True):
        if value.shape != np.shape(leaf) or value.dtype != leaf.dtype:
            raise CheckpointError(f"checkpoint optimizer state {key} does not match this optimizer")
    return jax.tree_util.tree_unflatten(treedef, restored)
