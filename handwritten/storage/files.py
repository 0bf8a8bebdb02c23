"""Small durable-write helpers: a reader never sees a half-written file."""

from __future__ import annotations

import json
import os
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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then `os.replace` over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
