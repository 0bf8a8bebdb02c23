"""Unit tests for ``handwritten.data.autofetch``: MNIST fetched in the background, its status,
a failure kept until a retry. Sources are ``file://`` mirrors of tiny synthetic files (md5s
patched as in test_mnist), so nothing reaches the network."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import pytest

from handwritten.data import autofetch, mnist
from handwritten.data.autofetch import BackgroundFetch

from .test_mnist import fake_mnist, put_files

__all__ = ["fake_mnist"]  # a fixture, used by name

# Mirrors only: a test must never fall through to `npm pack`.
OFFLINE = functools.partial(mnist.fetch, sources=("dir", "mirrors"))


def gz_mirror(directory: Path, raws: dict[str, bytes]) -> str:
    """A folder of .gz files, as a mirror's base URL."""
    put_files(directory, raws, gz=True)
    return directory.as_uri() + "/"


def test_configured_mirrors_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(mnist.MIRRORS_ENV, raising=False)
    assert mnist.configured_mirrors() == mnist.MIRRORS
    monkeypatch.setenv(mnist.MIRRORS_ENV, "file:///a/ file:///b/")
    assert mnist.configured_mirrors() == ("file:///a/", "file:///b/")


def test_fetch_reads_the_mirrors_from_the_environment_and_reports_each_step(
    tmp_path: Path, fake_mnist: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(mnist.MIRRORS_ENV, gz_mirror(tmp_path / "mirror", fake_mnist))
    sources, verified, downloads = [], [], {}
    report = mnist.fetch(
        tmp_path / "dest", sources=("dir", "mirrors"), on_source=sources.append,
        on_verified=verified.append,
        progress=lambda name, done, total: downloads.__setitem__(name, (done, total)),
    )  # fmt: skip
    assert sources == ["dir", "mirrors"]
    assert verified == list(fake_mnist)
    assert set(report.sources.values()) == {(tmp_path / "mirror").as_uri() + "/"}
    for name, raw in fake_mnist.items():  # file:// has a Content-Length: a real total
        size = len(gzip.compress(raw))
        assert downloads[name][1] is not None
        assert abs(downloads[name][0] - size) < 64 and downloads[name][0] == downloads[name][1]


def test_a_background_fetch_goes_from_missing_to_ready(
    tmp_path: Path, fake_mnist: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(mnist.MIRRORS_ENV, gz_mirror(tmp_path / "mirror", fake_mnist))
    fetch = BackgroundFetch(tmp_path / "dest", OFFLINE)
    assert fetch.status().state == "missing"
    assert fetch.start()
    status = fetch.wait(timeout=30)
    assert (status.state, status.fraction, status.step) == ("ready", 1.0, "verified")
    assert mnist.cached_files_ok(tmp_path / "dest")
    assert not fetch.start(), "nothing to do once the files are there"


def test_a_failure_is_kept_with_its_reason_until_a_retry(
    tmp_path: Path, fake_mnist: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv(mnist.MIRRORS_ENV, mirror.as_uri() + "/")
    fetch = BackgroundFetch(tmp_path / "dest", OFFLINE)
    fetch.start()
    status = fetch.wait(timeout=30)
    assert status.state == "failed"
    assert "\n" not in status.error and "t10k-labels-idx1-ubyte.gz" in status.error
    assert "Tried:" in status.detail and "--from DIR" in status.detail
    assert not fetch.start(), "a failure waits for a retry"
    assert fetch.status().state == "failed"
    gz_mirror(mirror, fake_mnist)  # the machine came online
    assert fetch.retry()
    assert fetch.wait(timeout=30).state == "ready"


def test_an_unexpected_error_is_a_failure_too(tmp_path: Path) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("disk on fire")

    fetch = BackgroundFetch(tmp_path / "dest", broken)
    fetch.start()
    assert fetch.wait(timeout=30).error == "disk on fire"


def test_progress_is_weighted_by_the_files_sizes(tmp_path: Path) -> None:
    fetch = BackgroundFetch(tmp_path / "dest")
    fetch._on_bytes("train-images-idx3-ubyte", 4_956_211, 9_912_422)  # half the big file
    fetch._on_verified("t10k-labels-idx1-ubyte")
    done = fetch._done
    assert done == {"train-images-idx3-ubyte": 0.5, "t10k-labels-idx1-ubyte": 1.0}
    weights = autofetch._WEIGHTS
    share = (0.5 * weights["train-images-idx3-ubyte"] + weights["t10k-labels-idx1-ubyte"]) / sum(
        weights.values()
    )
    assert fetch._fraction() == pytest.approx(share)
    assert fetch._step == "verified t10k-labels-idx1-ubyte"


@pytest.mark.parametrize(("value", "enabled"), [(None, True), ("1", True), ("0", False),
                                                ("off", False), ("false", False)])  # fmt: skip
def test_autofetch_can_be_turned_off(
    monkeypatch: pytest.MonkeyPatch, value: str | None, enabled: bool
) -> None:
    if value is None:
        monkeypatch.delenv(autofetch.AUTOFETCH_ENV, raising=False)
    else:
        monkeypatch.setenv(autofetch.AUTOFETCH_ENV, value)
    assert autofetch.autofetch_enabled() is enabled


def test_files_count_as_present_raw_or_gz(tmp_path: Path) -> None:
    names = [spec.name for spec in mnist.MNIST_FILES.values()]
    for name in names[:3]:
        (tmp_path / name).write_bytes(b"x")
    assert not autofetch.mnist_present(tmp_path)
    (tmp_path / f"{names[3]}.gz").write_bytes(b"x")
    assert autofetch.mnist_present(tmp_path)
