"""The samples zip: ``raw/<id>.png``, ``mnist/<id>.png`` and ``labels.csv``, written and read.

Reading validates the whole archive before anything is stored, and within fixed bounds: the
archive's size, its number of files and the sum of their declared sizes first; then every
member is refused by its declared size before it is read and read with a cap, so it cannot
unpack to more than it declared (a 190 KB zip declaring a 199 MB image costs nothing).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from pathlib import PurePosixPath

import numpy as np
from PIL import Image

from handwritten.data.decode import MAX_UPLOAD_BYTES, ImageError, decode_image
from handwritten.data.ink import luminance
from handwritten.data.preprocess import preprocess

MAX_IMPORT_FILES = 20_000
MAX_IMPORT_BYTES = 200 * 1024 * 1024
MAX_MEMBER_BYTES = MAX_UPLOAD_BYTES  # an image in an archive has the limit of an upload
MAX_LABELS_BYTES = 16 * 1024 * 1024  # labels.csv: 20,000 rows of file, label, source, image28

# (label, the raw image as encoded bytes or an RGBA array, the 28x28, the source)
Item = tuple[int, np.ndarray | bytes, np.ndarray, str]
# (id, label, source, raw PNG, 28x28 uint8 bytes), as the store holds a sample
Row = tuple[int, int, str, bytes, bytes]


class ArchiveError(ValueError):
    """The archive cannot be imported; the message says why (one line)."""


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def write_archive(rows: Iterable[Row]) -> bytes:
    """A zip of the samples: the raw images, their 28x28 and ``labels.csv`` naming both."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        table = io.StringIO()
        writer = csv.writer(table)
        writer.writerow(["file", "label", "source", "image28"])
        for sample_id, label, source, raw_png, image28 in rows:
            name, name28 = f"raw/{sample_id:06d}.png", f"mnist/{sample_id:06d}.png"
            archive.writestr(name, raw_png)
            pixels = np.frombuffer(image28, np.uint8).reshape(28, 28)
            archive.writestr(name28, png_bytes(pixels))
            writer.writerow([name, label, source, name28])
        archive.writestr("labels.csv", table.getvalue())
    return buffer.getvalue()


def _safe_member(name: str) -> str:
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or ".." in path.parts or "\\" in name or ":" in name:
        raise ArchiveError(f"refusing the archive: unsafe file name {name!r}")
    return str(path)


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's bytes: refused by its declared size before reading, read with a cap."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ArchiveError(f"{name} is not in the archive") from None
    if info.file_size > limit:
        raise ArchiveError(f"{name}: unpacks to {info.file_size / 1e6:.1f} MB; the limit is "
                           f"{limit / 1e6:.0f} MB")  # fmt: skip
    try:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise ArchiveError(f"{name}: unreadable ({exc})") from exc
    if len(data) > limit:  # zipfile stops at the declared size; this is belt and braces
        raise ArchiveError(f"{name}: unpacks to more than {limit / 1e6:.0f} MB")
    return data


def _open(data: bytes) -> zipfile.ZipFile:
    """The archive, after the checks that need no member to be read."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ArchiveError(f"the archive is larger than {MAX_IMPORT_BYTES // 2**20} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ArchiveError("this is not a zip archive") from exc
    members = archive.infolist()
    if len(members) > MAX_IMPORT_FILES:
        raise ArchiveError(f"the archive holds more than {MAX_IMPORT_FILES} files")
    names = {_safe_member(m.filename) for m in members}
    if sum(m.file_size for m in members) > MAX_IMPORT_BYTES:
        raise ArchiveError("the archive unpacks to too much data")
    if "labels.csv" not in names:
        raise ArchiveError("the archive has no labels.csv")
    return archive


def read_archive(data: bytes) -> list[Item]:
    """Validate an archive completely and return the samples it holds."""
    with _open(data) as archive:
        try:
            table = _read_member(archive, "labels.csv", MAX_LABELS_BYTES).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ArchiveError(f"labels.csv is unreadable ({exc})") from exc
        rows = list(csv.DictReader(io.StringIO(table)))
        if not rows or not {"file", "label"} <= set(rows[0]):
            raise ArchiveError("labels.csv needs the columns file,label")
        items, done = [], {}  # rows naming the same images are read once (5,000 rows, one PNG)
        for line, row in enumerate(rows, 2):
            key = (row.get("file"), row.get("label"), row.get("image28"), row.get("source"))
            if key not in done:
                done[key] = _item(archive, row, line)
            items.append(done[key])
        return items


def _item(archive: zipfile.ZipFile, row: dict[str, str], line: int) -> Item:
    """One row of ``labels.csv`` as a sample, its images read and checked."""
    name = _safe_member(row["file"] or "")
    label_text = (row["label"] or "").strip()
    if label_text not in {str(d) for d in range(10)}:
        raise ArchiveError(f"labels.csv line {line}: label {label_text!r} is not a digit")
    if name not in archive.NameToInfo:
        raise ArchiveError(f"labels.csv line {line}: {name} is not in the archive")
    raw = _read_member(archive, name, MAX_MEMBER_BYTES)
    try:
        decode_image(raw)
        result = None if row.get("image28") else preprocess(raw)
    except ImageError as exc:
        raise ArchiveError(f"{name}: {exc}") from exc
    if result is None:
        # The sample's own 28x28: a Draw-page drawing was saved as one digit whatever its
        # strokes, and preprocessing the raw image again may split it in two.
        image28 = _read_image28(archive, _safe_member(row["image28"]), line)
    elif len(result.digits) == 1:
        image28 = result.digits[0].centred
    else:
        raise ArchiveError(f"{name}: expected one digit, found {len(result.digits)}")
    return int(label_text), raw, image28, (row.get("source") or name)


def _read_image28(archive: zipfile.ZipFile, name: str, line: int) -> np.ndarray:
    """A 28x28 image member as grey levels in [0, 1]."""
    if name not in archive.NameToInfo:
        raise ArchiveError(f"labels.csv line {line}: {name} is not in the archive")
    try:
        rgba = decode_image(_read_member(archive, name, MAX_MEMBER_BYTES))
    except ImageError as exc:
        raise ArchiveError(f"{name}: {exc}") from exc
    if rgba.shape[:2] != (28, 28):
        raise ArchiveError(f"{name}: expected a 28x28 image, not {rgba.shape[1]}x{rgba.shape[0]}")
    return luminance(rgba)
