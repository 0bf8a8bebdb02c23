"""Stopping a run between steps: SIGTERM/SIGINT, or a STOP file in its run directory."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from handwritten.storage.runs import RunDir


class StopSignal:
    """Set by SIGTERM/SIGINT or a STOP file in the run directory; checked between steps.

    Files work across processes, and a signal could kill a job still importing JAX before its
    handler exists, so the dashboard asks with the file and the CLI's Ctrl-C with the signal.
    """

    def __init__(self, run: RunDir | None = None):
        self.run = run
        self.reason = ""
        self._flag = threading.Event()

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._flag.set()

    def __bool__(self) -> bool:
        if not self._flag.is_set() and self.run is not None and self.run.stop_requested():
            self.set("stop requested")
        return self._flag.is_set()

    @contextmanager
    def handling_signals(self) -> Iterator[None]:
        """Turn SIGTERM/SIGINT into a stop request while the block runs (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, _frame: Any) -> None:
            self.set(f"stopped by {signal.Signals(signum).name}")

        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
