"""Data parallel over several devices and hosts, on CPU, each in fresh subprocesses.

Forced host devices (`--xla_force_host_platform_device_count=2`) stand in for GPUs; two
processes joined through `jax.distributed` on 127.0.0.1 (gloo collectives) stand in for hosts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from flax import serialization

from .conftest import REPO


def train_command(run_dir: Path, arch: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "handwritten",
        "train",
        "--arch",
        arch,
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--lr",
        "0.003",
        "--optimizer",
        "adam",
        "--no-augment",
        "--run-dir",
        str(run_dir),
        "--json",
        "--quiet",
        *extra,
    ]


def result(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("arch", ["mlp", "lenet", "cnn"])
def test_two_forced_cpu_devices_train_data_parallel(synthetic_mnist: Path, tmp_path, arch) -> None:
    env = os.environ | {
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
    }
    out = subprocess.run(
        train_command(tmp_path / "run", arch),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    summary = result(out.stdout)
    assert summary["state"] == "finished"
    assert summary["device"].startswith("cpu (2 devices")
    assert summary["test_accuracy"] > 0.8


def test_odd_batch_is_refused_on_two_devices(synthetic_mnist: Path, tmp_path) -> None:
    env = os.environ | {
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
    }
    command = train_command(tmp_path / "run", "mlp")
    command[command.index("32")] = "33"
    out = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "multiple of the 2 devices" in out.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_processes_train_one_model_with_identical_parameters(
    synthetic_mnist: Path, tmp_path: Path
) -> None:
    port = _free_port()
    processes = []
    for process_id in range(2):
        env = os.environ | {"HANDWRITTEN_HOME": str(tmp_path / f"home{process_id}")}
        command = train_command(
            tmp_path / f"run{process_id}",
            "lenet",
            "--coordinator",
            f"127.0.0.1:{port}",
            "--num-processes",
            "2",
            "--process-id",
            str(process_id),
            "--micro-batch",
            "8",  # each process's 16 images in 2 micro-batches
        )
        processes.append(
            subprocess.Popen(
                command,
                env=env,
                cwd=REPO,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err[-2000:]
        summary = result(out)
        assert summary["state"] == "finished" and summary["device"].startswith("cpu (2 devices")
        assert summary["micro_batches"] == 2
    params = [
        serialization.msgpack_restore((tmp_path / f"run{i}" / "checkpoint.msgpack").read_bytes())
        for i in range(2)
    ]
    leaves = [np.concatenate([np.ravel(a) for a in _leaves(p["params"])]) for p in params]
    np.testing.assert_array_equal(leaves[0], leaves[1])


def _leaves(tree: dict) -> list[np.ndarray]:
    out = []
    for key in sorted(tree):
        value = tree[key]
        out.extend(_leaves(value) if isinstance(value, dict) else [np.asarray(value)])
    return out
