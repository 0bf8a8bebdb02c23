"""Shared fixtures: isolated home/data folders and a tiny learnable synthetic MNIST."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from handwritten.data.mnist import MNIST_FILES, write_idx
from handwritten.models.store import SHIPPED_CHECKPOINT
from handwritten.recognition.predictor import Predictor

REPO = Path(__file__).resolve().parent.parent


def synthetic_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake digits: label k is a bright bar on row 4 + 2k, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels, strict=True):
        row = 4 + 2 * int(label)
        image[row : row + 2, 6:22] = 255
    return images, labels


def write_synthetic_mnist(directory: Path, n_train: int = 512, n_test: int = 128) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = synthetic_digits(n, seed)
        write_idx(directory / MNIST_FILES[f"{split}_images"].name, images)
        write_idx(directory / MNIST_FILES[f"{split}_labels"].name, labels)
    return directory


@pytest.fixture(scope="session")
def shipped_predictor() -> Predictor:
    """The shipped model, warmed up once for every test that reads drawings with it (loaded
    from the package's file: no active model of the machine running the tests can stand in)."""
    if not SHIPPED_CHECKPOINT.is_file():
        pytest.fail("the shipped default model is missing from the package")
    predictor = Predictor.load(SHIPPED_CHECKPOINT)
    predictor.warm_up()
    return predictor


@pytest.fixture(scope="session")
def compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jax-cache")


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compile_cache: Path, request
) -> Path:
    """Every test gets its own HANDWRITTEN_HOME; real MNIST only for tests marked slow; pages
    never fetch MNIST by themselves (a test that wants it turns it on, with a local source)."""
    home = tmp_path / "home"
    monkeypatch.setenv("HANDWRITTEN_HOME", str(home))
    monkeypatch.setenv("HANDWRITTEN_MNIST_AUTOFETCH", "0")
    monkeypatch.setenv("HANDWRITTEN_COMPILE_CACHE", str(compile_cache))
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setenv("HANDWRITTEN_DATA_DIR", str(tmp_path / "no-mnist-here"))
    return home


@pytest.fixture
def synthetic_mnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny MNIST-shaped dataset in HANDWRITTEN_DATA_DIR."""
    directory = write_synthetic_mnist(tmp_path / "mnist")
    monkeypatch.setenv("HANDWRITTEN_DATA_DIR", str(directory))
    return directory
