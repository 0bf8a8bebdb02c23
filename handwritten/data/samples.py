"""The personal sample store: your own handwriting, labelled, in SQLite.

Digits are regional (a crossed 7, a 1 with a long flag) and MNIST does not know every style, so a
user can save drawings with their correct label and fine-tune on them. Each sample keeps the raw
image (PNG) and the preprocessed 28x28 the model sees.

The store is one SQLite file under ``$HANDWRITTEN_HOME`` (WAL mode, a busy timeout, every write
in one transaction, so two tabs saving at once lose nothing), with its schema version in
``PRAGMA user_version``. Export writes a zip of PNGs plus ``labels.csv``; import validates the
whole archive before writing anything, in a single transaction.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from handwritten.data.preprocess import ImageError, decode_image, luminance, preprocess
from handwritten.storage.paths import home_dir

SCHEMA_VERSION = 1
MAX_IMPORT_FILES = 20_000
MAX_IMPORT_BYTES = 200 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    created REAL NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    raw_png BLOB NOT NULL,
    image28 BLOB NOT NULL CHECK (length(image28) = 784)
);
CREATE INDEX IF NOT EXISTS samples_label ON samples(label);
"""


class SampleError(ValueError):
    """A sample, an archive or the store cannot be used; the message says why."""


@dataclass(frozen=True)
class Sample:
    id: int
    label: int
    created: float
    source: str
    image28: np.ndarray  # (28, 28) uint8


def store_path() -> Path:
    return home_dir() / "samples.sqlite3"


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def _as_u8(image28: np.ndarray) -> np.ndarray:
    array = np.asarray(image28)
    if array.shape != (28, 28):
        raise SampleError(f"the preprocessed image must be 28x28, not {array.shape}")
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    return array


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
    """Open with `SampleStore()` (the user's store) or `SampleStore(path)`."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            _use_wal(db)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SampleError(
                    f"{self.path} was written by a newer handwritten (schema {version}); "
                    "upgrade to use it"
                )
            if version < SCHEMA_VERSION:
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise SampleError(f"{self.path}: cannot open the sample store ({exc})") from exc
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            yield db
        except sqlite3.OperationalError as exc:  # locked for too long, read-only, disk I/O
            raise SampleError(f"{self.path}: cannot use the sample store ({exc})") from exc
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

    def add_many(self, items: list[tuple[int, np.ndarray | bytes, np.ndarray, str]]) -> list[int]:
        """Save several samples atomically: all or none."""
        rows = []
        for label, raw, image28, source in items:
            if not isinstance(label, int | np.integer) or not 0 <= int(label) <= 9:
                raise SampleError(f"a label must be a digit 0-9, not {label!r}")
            raw_png = raw if isinstance(raw, bytes) else _png(np.asarray(raw))
            rows.append((int(label), time.time(), source, raw_png, _as_u8(image28).tobytes()))
        with self._transaction() as db:
            return [
                int(
                    db.execute(
                        "INSERT INTO samples (label, created, source, raw_png, image28) "
                        "VALUES (?, ?, ?, ?, ?)",
                        row,
                    ).lastrowid
                    or 0
                )
                for row in rows
            ]

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
        buffer = io.BytesIO()
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, label, source, raw_png, image28 FROM samples ORDER BY id"
            ).fetchall()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            table = io.StringIO()
            writer = csv.writer(table)
            writer.writerow(["file", "label", "source", "image28"])
            for sample_id, label, source, raw_png, image28 in rows:
                name, name28 = f"raw/{sample_id:06d}.png", f"mnist/{sample_id:06d}.png"
                archive.writestr(name, raw_png)
                pixels = np.frombuffer(image28, np.uint8).reshape(28, 28)
                archive.writestr(name28, _png(pixels))
                writer.writerow([name, label, source, name28])
            archive.writestr("labels.csv", table.getvalue())
        data = buffer.getvalue()
        if path is not None:
            from handwritten.storage.files import atomic_write_bytes

            atomic_write_bytes(Path(path), data)
        return data

    def import_zip(self, data: bytes) -> int:
        """Import an archive made by `export_zip` (or by hand: PNGs plus ``labels.csv`` with
        ``file,label``). Everything is validated first; nothing is written unless all is good.

        A row's ``image28`` (written by `export_zip`) names the exact 28x28 image to restore;
        without it the image file is preprocessed and must hold exactly one digit."""
        items = read_archive(data)
        self.add_many(items)
        return len(items)


def _safe_member(name: str) -> str:
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or ".." in path.parts or "\\" in name or ":" in name:
        raise SampleError(f"refusing the archive: unsafe file name {name!r}")
    return str(path)


def read_archive(data: bytes) -> list[tuple[int, np.ndarray | bytes, np.ndarray, str]]:
    """Validate an archive completely and return the samples it holds."""
    if len(data) > MAX_IMPORT_BYTES:
        raise SampleError(f"the archive is larger than {MAX_IMPORT_BYTES // 2**20} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise SampleError("this is not a zip archive") from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_IMPORT_FILES:
            raise SampleError(f"the archive holds more than {MAX_IMPORT_FILES} files")
        names = {_safe_member(m.filename) for m in members}
        if sum(m.file_size for m in members) > MAX_IMPORT_BYTES:
            raise SampleError("the archive unpacks to too much data")
        if "labels.csv" not in names:
            raise SampleError("the archive has no labels.csv")
        try:
            table = archive.read("labels.csv").decode("utf-8")
        except (UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
            raise SampleError(f"labels.csv is unreadable ({exc})") from exc
        rows = list(csv.DictReader(io.StringIO(table)))
        if not rows or not {"file", "label"} <= set(rows[0]):
            raise SampleError("labels.csv needs the columns file,label")
        items: list[tuple[int, np.ndarray | bytes, np.ndarray, str]] = []
        for line, row in enumerate(rows, 2):
            name = _safe_member(row["file"] or "")
            label_text = (row["label"] or "").strip()
            if label_text not in {str(d) for d in range(10)}:
                raise SampleError(f"labels.csv line {line}: label {label_text!r} is not a digit")
            if name not in names:
                raise SampleError(f"labels.csv line {line}: {name} is not in the archive")
            try:
                raw = archive.read(name)
            except (zipfile.BadZipFile, OSError) as exc:
                raise SampleError(f"{name}: unreadable ({exc})") from exc
            try:
                decode_image(raw)
                result = None if row.get("image28") else preprocess(raw)
            except ImageError as exc:
                raise SampleError(f"{name}: {exc}") from exc
            if result is None:
                # The sample's own 28x28: a Draw-page drawing was saved as one digit whatever
                # its strokes, and preprocessing the raw image again may split it in two.
                image28 = _read_image28(archive, names, _safe_member(row["image28"]), line)
            elif len(result.digits) == 1:
                image28 = result.digits[0].centred
            else:
                raise SampleError(f"{name}: expected one digit, found {len(result.digits)}")
            items.append((int(label_text), raw, image28, (row.get("source") or name)))
    return items


def _read_image28(archive: zipfile.ZipFile, names: set[str], name: str, line: int) -> np.ndarray:
    """A 28x28 image member as grey levels in [0, 1]."""
    if name not in names:
        raise SampleError(f"labels.csv line {line}: {name} is not in the archive")
    try:
        rgba = decode_image(archive.read(name))
    except (zipfile.BadZipFile, OSError, ImageError) as exc:
        raise SampleError(f"{name}: {exc}") from exc
    if rgba.shape[:2] != (28, 28):
        raise SampleError(f"{name}: expected a 28x28 image, not {rgba.shape[1]}x{rgba.shape[0]}")
    return luminance(rgba)
