"""Training in this process while holding the machine's training slot (the CLI's way).

A job started by `handwritten.jobs.launcher` runs ``handwritten train`` with the lock it took
already held (``--lock-fd``); a user typing the command takes the lock here. Either way the run
directory is opened or created only once the slot is ours, and the lock's description names the
run, so a second start anywhere is refused with that name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from handwritten.jobs.lock import TrainingLock
from handwritten.storage.runs import RunDir


@contextmanager
def training_slot(open_run: Callable[[], RunDir], lock_fd: int | None = None) -> Iterator[RunDir]:
    """Hold the training slot (inherited `lock_fd`, or taken now) around the run `open_run`
    opens or creates; raises `JobRunningError` when another job holds it."""
    lock = TrainingLock.adopt(lock_fd) if lock_fd is not None else TrainingLock.acquire()
    try:
        run = open_run()
        lock.describe(run_dir=str(run.path), pid=os.getpid(), started=time.time())
        yield run
    finally:
        lock.release()
