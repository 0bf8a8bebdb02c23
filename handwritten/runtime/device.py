"""Which device JAX runs on, said in words, and the persistent compilation cache."""

from __future__ import annotations

import os

import jax

from handwritten.storage.paths import compile_cache_dir

_cache_enabled = False


def enable_compile_cache() -> None:
    """Cache every compiled program on disk, so a second process compiles nothing.

    Only an optimisation: where the folder cannot be made (a read-only home), programs are
    compiled in memory as without it.
    """
    global _cache_enabled
    if _cache_enabled or os.environ.get("HANDWRITTEN_NO_COMPILE_CACHE"):
        return
    directory = compile_cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        _cache_enabled = True  # do not try again for every model
        return
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    _cache_enabled = True


def describe_device() -> str:
    """E.g. ``"cpu (1 device, 2 cores)"`` or ``"gpu: NVIDIA H200 (x8)"``."""
    devices = jax.devices()
    first = devices[0]
    if first.platform == "cpu":
        cores = os.cpu_count() or 1
        plural = "s" if len(devices) > 1 else ""
        return f"cpu ({len(devices)} device{plural}, {cores} cores)"
    kind = getattr(first, "device_kind", first.platform)
    count = f" (x{len(devices)})" if len(devices) > 1 else ""
    return f"{first.platform}: {kind}{count}"
