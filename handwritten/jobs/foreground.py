"""Training in this process while holding the machine's training slot (the CLI's way).

A job started by `handwritten.jobs.launcher` runs ``handwritten train`` with the lock it took
already held (``--lock-fd``); a user typing the command takes the lock here. Either way the run
directory is opened or created only once the slot is ours, and the lock's description names the
run, so a second start anywhere is refused with that name. Holding the slot also means no job
is writing any run directory, so temp files left in one by a killed job are removed here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from handwritten.jobs.lock import TrainingLock
from handwritten.storage.runs import RunDir, list_runs


@contextmanager
def training_slot(open_run: Callable[[], RunDir], lock_fd: int | None = None) -> Iterator[RunDir]:
    """Hold the training slot (inherited `lock_fd`, or taken now) around the run `open_run`
    opens or creates; raises `JobRunningError` when another job holds it."""
    lock = TrainingLock.adopt(lock_fd) if lock_fd is not None else TrainingLock.acquire()
    try:
        _remove_stale_temp_files()
        run = open_run()
        lock.describe(run_dir=str(run.path), pid=os.getpid(), started=time.time())
        yield run
    finally:
        lock.release()


def _remove_stale_temp_files() -> None:
    """Delete the temp files killed jobs left in run directories (a SIGKILL during a checkpoint
    write leaves megabytes). Only while holding the slot: then no job is writing any of them."""
    for run in list_runs():
        run.remove_temp_files()
