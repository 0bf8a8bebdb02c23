"""The personal sample store: your own handwriting, labelled, in SQLite.

Digits are regional (a crossed 7, a 1 with a long flag) and MNIST does not know every style, so a
user can save drawings with their correct label and fine-tune on them. Each sample keeps the raw
image (PNG) and the preprocessed 28x28 the model sees.

The store is one SQLite file under ``$HANDWRITTEN_HOME`` (WAL mode, a busy timeout, every write
in one transaction, so two tabs saving at once lose nothing), with its schema version in
``PRAGMA user_version``. Export writes a zip of PNGs plus ``labels.csv``; import validates the
whole archive before writing anything (`handwritten.data.sample_archive`), in a single
transaction, and skips samples the store already holds: each sample keeps a digest of its
label and images, so importing the same archive twice, or an archive naming one image in 5,000
rows, adds each sample once. A store can be opened read-only (listing and exporting work in
a read-only home).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handwritten.data.preprocess import ImageError, preprocess
from handwritten.data.sample_archive import (
    ArchiveError,
    Item,
    png_bytes,
    read_archive,
    write_archive,
)
from handwritten.storage.files import StorageError, atomic_write_bytes
from handwritten.storage.paths import home_dir

SCHEMA_VERSION = 2
_SCHEMA_1 = (
    """CREATE TABLE IF NOT EXISTS samples (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
        created REAL NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        raw_png BLOB NOT NULL,
        image28 BLOB NOT NULL CHECK (length(image28) = 784)
    )""",
    "CREATE INDEX IF NOT EXISTS samples_label ON samples(label)",
)
# Version 2: a digest of each sample (label, raw image, 28x28), to recognise it on import.
_SCHEMA_2 = (
    "ALTER TABLE samples ADD COLUMN digest TEXT",
    "CREATE INDEX IF NOT EXISTS samples_digest ON samples(digest)",
)


class SampleError(ValueError):
    """A sample, an archive or the store cannot be used; the message says why."""


class SampleStoreError(SampleError, StorageError):
    """The store could not be used just now (locked too long, read-only, disk full or I/O)."""


@dataclass(frozen=True)
class ImportResult:
    added: int
    duplicates: int  # samples the store (or the archive, earlier) already held


@dataclass(frozen=True)
class Sample:
    id: int
    label: int
    created: float
    source: str
    image28: np.ndarray  # (28, 28) uint8


def store_path() -> Path:
    return home_dir() / "samples.sqlite3"


def sample_digest(label: int, raw_png: bytes, image28_u8: bytes) -> str:
    """What makes two samples the same: their label and both images."""
    digest = hashlib.sha256(bytes([label]))
    for part in (raw_png, image28_u8):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def _as_u8(image28: np.ndarray) -> np.ndarray:
    array = np.asarray(image28)
    if array.shape != (28, 28):
        raise SampleError(f"the preprocessed image must be 28x28, not {array.shape}")
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    return array


def _upgrade(db: sqlite3.Connection) -> None:
    """Bring a new or older store to `SCHEMA_VERSION` in one transaction (whoever comes second,
    of two processes opening it at once, finds it done)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        steps = (_SCHEMA_1 if version < 1 else ()) + (_SCHEMA_2 if version < 2 else ())
        for statement in steps:
            db.execute(statement)
        if version < 2:
            ids = [row[0] for row in db.execute("SELECT id FROM samples WHERE digest IS NULL")]
            for sample_id in ids:
                label, raw, image28 = db.execute(
                    "SELECT label, raw_png, image28 FROM samples WHERE id = ?", (sample_id,)
                ).fetchone()
                db.execute("UPDATE samples SET digest = ? WHERE id = ?",
                           (sample_digest(label, raw, image28), sample_id))  # fmt: skip
        db.execute(f"PRAGMA user_version = {max(version, SCHEMA_VERSION)}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _use_wal(db: sqlite3.Connection, patience: float = 30.0) -> None:
    """Put the file in WAL mode (it stays so). Two processes opening a new store at once can
    deadlock on the switch, and SQLite then fails at once instead of waiting: retry."""
    deadline = time.monotonic() + patience
    while db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SampleStore:
    """Open with `SampleStore()` (the user's store) or `SampleStore(path)`.

    With ``read_only=True`` nothing is created or written, so listing and exporting work in a
    read-only home; a store that does not exist yet reads as empty.
    """

    def __init__(self, path: Path | None = None, *, read_only: bool = False):
        self.path = Path(path) if path is not None else store_path()
        self.read_only = read_only
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SampleStoreError(
                    f"{self.path.parent}: cannot create the folder ({exc.strerror})"
                ) from exc
        with self._connect() as db:
            if not read_only:
                _use_wal(db)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SampleError(
                    f"{self.path} was written by a newer handwritten (schema {version}); "
                    "upgrade to use it"
                )
            if version < SCHEMA_VERSION and not read_only:
                _upgrade(db)

    def _open(self) -> sqlite3.Connection:
        if not self.read_only:
            return sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        if not self.path.exists():  # nothing saved yet: an empty store that is never written
            db = sqlite3.connect(":memory:", isolation_level=None)
            for statement in (*_SCHEMA_1, *_SCHEMA_2):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return db
        uri = f"file:{urllib.parse.quote(str(self.path.resolve()))}?mode=ro"
        db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA user_version").fetchone()
        except sqlite3.OperationalError:
            # A WAL store needs its -shm file, which a folder we cannot write cannot hold:
            # read the file as it is (nobody can be writing it there either).
            db.close()
            return sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None)
        return db

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._open()
        except sqlite3.Error as exc:
            raise SampleError(f"{self.path}: cannot open the sample store ({exc})") from exc
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            yield db
        except sqlite3.OperationalError as exc:  # locked for too long, read-only, disk I/O
            raise SampleStoreError(f"{self.path}: cannot use the sample store ({exc})") from exc
        except sqlite3.DatabaseError as exc:
            raise SampleError(f"{self.path}: the sample store is damaged ({exc})") from exc
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # writing -----------------------------------------------------------------------------------
    def add(
        self, label: int, raw: np.ndarray | bytes, image28: np.ndarray, source: str = ""
    ) -> int:
        """Save one labelled sample (raw image as RGBA array or encoded bytes); returns its id."""
        return self.add_many([(label, raw, image28, source)])[0]

    def add_many(self, items: list[Item]) -> list[int]:
        """Save several samples atomically: all or none."""
        rows = _rows(items)
        with self._transaction() as db:
            return [_insert(db, row) for row in rows]

    def add_image(self, label: int, data: bytes, source: str = "") -> int:
        """Preprocess an image file's bytes (exactly one digit) and save it."""
        try:
            result = preprocess(data)
        except ImageError as exc:
            raise SampleError(f"{source or 'the image'}: {exc}") from exc
        if len(result.digits) != 1:
            found = "no digit" if result.is_blank else f"{len(result.digits)} digits"
            raise SampleError(f"{source or 'the image'}: expected one digit, found {found}")
        return self.add(label, data, result.digits[0].centred, source)

    def delete(self, sample_ids: list[int]) -> int:
        with self._transaction() as db:
            marks = ",".join("?" * len(sample_ids))
            return db.execute(f"DELETE FROM samples WHERE id IN ({marks})", sample_ids).rowcount

    # reading -----------------------------------------------------------------------------------
    def counts(self) -> list[int]:
        """Number of samples per digit 0..9."""
        counts = [0] * 10
        with self._connect() as db:
            for label, count in db.execute("SELECT label, COUNT(*) FROM samples GROUP BY label"):
                counts[int(label)] = int(count)
        return counts

    def __len__(self) -> int:
        return sum(self.counts())

    def samples(self, label: int | None = None) -> list[Sample]:
        query = "SELECT id, label, created, source, image28 FROM samples"
        args: tuple[int, ...] = ()
        if label is not None:
            query, args = query + " WHERE label = ?", (label,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [
            Sample(i, lab, created, source, np.frombuffer(img, np.uint8).reshape(28, 28).copy())
            for i, lab, created, source, img in rows
        ]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids (N,), images (N, 28, 28) uint8, labels (N,) uint8) of every sample."""
        samples = self.samples()
        if not samples:
            return np.zeros(0, np.int64), np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
        return (
            np.array([s.id for s in samples]),
            np.stack([s.image28 for s in samples]),
            np.array([s.label for s in samples], np.uint8),
        )

    def raw_png(self, sample_id: int) -> bytes:
        with self._connect() as db:
            row = db.execute("SELECT raw_png FROM samples WHERE id = ?", (sample_id,)).fetchone()
        if row is None:
            raise SampleError(f"no sample {sample_id}")
        return bytes(row[0])

    # export / import -----------------------------------------------------------------------------
    def export_zip(self, path: Path | None = None) -> bytes:
        """A zip of ``raw/<id>.png``, ``mnist/<id>.png`` and ``labels.csv``; written to `path`
        too when given."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, label, source, raw_png, image28 FROM samples ORDER BY id"
            ).fetchall()
        data = write_archive(rows)
        if path is not None:
            atomic_write_bytes(Path(path), data)
        return data

    def import_zip(self, data: bytes) -> int:
        """`import_archive`, returning how many samples were added."""
        return self.import_archive(data).added

    def import_archive(self, data: bytes) -> ImportResult:
        """Import an archive made by `export_zip` (or by hand: PNGs plus ``labels.csv`` with
        ``file,label``). Everything is validated first; nothing is written unless all is good;
        samples the store already holds (the same label and images) are skipped.

        A row's ``image28`` (written by `export_zip`) names the exact 28x28 image to restore;
        without it the image file is preprocessed and must hold exactly one digit."""
        try:
            rows = _rows(read_archive(data))
        except ArchiveError as exc:
            raise SampleError(str(exc)) from exc
        added = 0
        with self._transaction() as db:
            for row in rows:
                known = db.execute("SELECT 1 FROM samples WHERE digest = ?", (row[-1],))
                if known.fetchone() is None:
                    _insert(db, row)
                    added += 1
        return ImportResult(added, len(rows) - added)


_Row = tuple[int, float, str, bytes, bytes, str]  # label, created, source, PNG, 28x28, digest


def _rows(items: list[Item]) -> list[_Row]:
    """Samples as table rows, each checked (label a digit, a 28x28 image) and digested."""
    rows = []
    for label, raw, image28, source in items:
        if not isinstance(label, int | np.integer) or not 0 <= int(label) <= 9:
            raise SampleError(f"a label must be a digit 0-9, not {label!r}")
        raw_png = raw if isinstance(raw, bytes) else png_bytes(np.asarray(raw))
        pixels = _as_u8(image28).tobytes()
        digest = sample_digest(int(label), raw_png, pixels)
        rows.append((int(label), time.time(), source, raw_png, pixels, digest))
    return rows


def _insert(db: sqlite3.Connection, row: _Row) -> int:
    cursor = db.execute(
        "INSERT INTO samples (label, created, source, raw_png, image28, digest) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        row,
    )
    return int(cursor.lastrowid or 0)
