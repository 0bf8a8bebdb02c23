"""Small durable-write and bounded-read helpers.

Writes: a reader never sees a half-written file, the rename survives a power cut (the folder is
fsynced too), and a failure names the file it was writing (`OSError.filename`), so a full disk
or a read-only home reads as one clear line. Reads of files someone hands us: regular files
only, and the size is checked from `stat` before anything is read, so ``/dev/zero`` or a FIFO
costs nothing.
"""

from __future__ import annotations

import json
import os
import stat as stat_module
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FileVersion:
    """One version of a file: its resolved path, modification time (ns) and size.

    The one cache key for everything derived from a checkpoint (loaded predictors, test-set
    scores, embeddings): retraining, promoting or replacing a model changes it, so no cache
    can serve a stale entry, and every cache agrees on what "the same model" means.
    """

    path: str
    modified_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> FileVersion:
        resolved = Path(path).resolve()
        stat = resolved.stat()
        return cls(str(resolved), stat.st_mtime_ns, stat.st_size)

    @property
    def key(self) -> str:
        return f"{self.path}:{self.modified_ns}:{self.size}"


class StorageError(Exception):
    """Mixed into errors the machine caused (a full disk, a read-only home, a store locked for
    too long), not the input: the CLI exits 1 for these, 2 for bad input."""


class InputFileError(ValueError):
    """A file handed to us is not a regular file or is larger than its limit."""


def naming(exc: OSError, path: Path) -> OSError:
    """The same error (same subclass, from its errno) with `path` as its file name, so a
    message can say which file could not be written."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, checked before reading.

    Opened without blocking (a FIFO with no writer would wait forever), then `fstat`: devices,
    FIFOs, sockets and folders are refused, and so is a file whose size exceeds the limit.
    At most `max_bytes` + 1 bytes are ever read, in case the file grows meanwhile. Raises
    `InputFileError` (a ValueError) for those, `OSError` when the file cannot be opened.
    """
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat_module.S_ISREG(info.st_mode):
            raise InputFileError(f"{path}: not a regular file")
        if info.st_size > max_bytes:
            raise InputFileError(f"{path}: the file is {_size(info.st_size)}; the limit is "
                                 f"{_size(max_bytes)}")  # fmt: skip
        os.set_blocking(fd, True)
        chunks, left = [], max_bytes + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise InputFileError(f"{path}: the file grew past the limit of {_size(max_bytes)}")
    return data


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (the entry lives in the folder, not the file)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # some file systems refuse to open folders; the rename itself has happened
    try:
        os.fsync(fd)
    except OSError:
        pass  # fsync on a folder is not supported everywhere; nothing more can be done
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, `os.replace` over `path`, fsync the
    folder. On failure the temp file is removed and the `OSError` names `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise naming(exc, path) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise naming(exc, path) from exc
        raise
    _fsync_directory(path.parent)


def is_temp_file(path: Path) -> bool:
    """Whether `path` is one of `atomic_write_bytes`'s temp files (``.<name>.<random>.tmp``)."""
    return path.name.startswith(".") and path.name.endswith(".tmp")


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
