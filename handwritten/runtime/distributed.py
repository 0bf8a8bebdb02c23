"""Where training runs: one device, all local devices, or several hosts — same code.

Data parallel with `jax.sharding`: a 1-D `Mesh` over every device JAX sees (all processes'
devices after `jax.distributed.initialize`), parameters and the dataset replicated, each batch
sharded along the mesh's ``data`` axis; XLA inserts the gradient all-reduce.

Two facts measured on the CPU (see ``../shared/PERF_NOTES.md`` and ``benchmarks/README.md``):
several forced host devices deadlock in an all-reduce rendezvous when many steps are in flight,
so on CPU with more than one device the loop keeps one step in flight; and multi-process CPU
training needs the gloo collectives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def initialize_multihost(coordinator: str, num_processes: int, process_id: int) -> None:
    """Join a multi-host run (call before any JAX computation). CPU collectives use gloo."""
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator, num_processes=num_processes, process_id=process_id)


@dataclass(frozen=True)
class Placement:
    """How arrays are laid out across the devices of this run."""

    mesh: Mesh | None  # None: a single device, plain arrays

    @classmethod
    def create(cls) -> Placement:
        devices = jax.devices()
        if len(devices) == 1:
            return cls(None)
        # jax.sharding.Mesh directly: jax.make_mesh builds Explicit axes, which the pooling
        # reshape rejects (PERF_NOTES).
        return cls(Mesh(np.array(devices), ("data",)))

    @property
    def n_devices(self) -> int:
        return 1 if self.mesh is None else self.mesh.devices.size

    @property
    def one_step_in_flight(self) -> bool:
        """Work around the CPU all-reduce rendezvous deadlock with several devices."""
        return self.mesh is not None and jax.devices()[0].platform == "cpu"

    @property
    def batch_sharding(self) -> NamedSharding | None:
        return None if self.mesh is None else NamedSharding(self.mesh, PartitionSpec("data"))

    def replicate(self, tree: Any) -> Any:
        """Put arrays on every device (identical host data in every process)."""
        if self.mesh is None:
            return jax.device_put(tree)
        sharding = NamedSharding(self.mesh, PartitionSpec())
        if jax.process_count() == 1:
            return jax.device_put(tree, sharding)

        def place(value: Any) -> jax.Array:  # device_put only reaches this process's devices
            host = np.asarray(value)
            return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

        return jax.tree.map(place, tree)

    def check_batch(self, batch_size: int) -> None:
        if batch_size % self.n_devices:
            raise ValueError(
                f"batch size {batch_size} must be a multiple of the {self.n_devices} devices"
            )


def array_to_host(value: Any) -> np.ndarray:
    """A numpy copy of one (possibly replicated, multi-process) array: every process holds a
    full copy of a replicated array, so its first local shard is the value."""
    if isinstance(value, jax.Array) and not value.is_fully_addressable:
        return np.asarray(value.addressable_data(0))
    return np.asarray(value)


def to_host(tree: Any) -> Any:
    """`array_to_host` of every array in a tree."""
    return jax.tree.map(array_to_host, tree)
