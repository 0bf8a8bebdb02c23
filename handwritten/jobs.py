"""Training as a job in its own process: JAX and fork() do not mix, and a page must not block.

A job is ``python -m handwritten train --config-json ... --run-dir DIR --json``; its output goes
to ``DIR/job.log``. Whoever can read the run directory can watch it; `RunDir.request_stop` or
SIGTERM stops it between steps.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from handwritten.runs import RunDir
from handwritten.train import TrainConfig


def launch(
    config: TrainConfig, run_dir: Path | None = None
) -> tuple[subprocess.Popen[bytes], RunDir]:
    """Start a training job; returns the process and its (already created) run directory."""
    config.validate()
    run = RunDir.create(config.arch, path=run_dir)
    log = (run.path / RunDir.JOB_LOG).open("ab")
    command = [
        sys.executable, "-m", "handwritten", "train",
        "--config-json", json.dumps(config.to_dict()),
        "--run-dir", str(run.path), "--json", "--quiet",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    return process, run
