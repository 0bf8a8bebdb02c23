"""End to end on real MNIST (fetched once by `handwritten data fetch`, as .ci/run does)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handwritten.cli import main
from handwritten.data.mnist import DataError, load_split
from handwritten.evaluation.realistic import score_set
from handwritten.recognition.predictor import Predictor

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def real_mnist() -> None:
    try:
        load_split("test")
    except DataError as exc:
        pytest.fail(f"real MNIST is needed for slow tests: {exc}")


def test_seed_lenet_one_epoch_reaches_the_seed_accuracy(tmp_path: Path, capsys) -> None:
    code = main(["train", "--arch", "lenet", "--epochs", "1", "--run-dir", str(tmp_path / "r"),
                 "--json", "--quiet"])  # fmt: skip
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert result["test_accuracy"] >= 0.975  # the seed reported 98.15% after one epoch


def test_shipped_model_accuracy_on_mnist_and_on_realistic_drawings(capsys) -> None:
    assert main(["evaluate", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 10000 and result["test_accuracy"] >= 0.995
    predictor = Predictor.load("default")
    canvas = score_set(predictor, "canvas", limit=400, seed=7)
    assert canvas.figures["accuracy"] >= 0.9
    photo = score_set(predictor, "photo", limit=100, seed=7)
    assert photo.figures["accuracy"] >= 0.9
