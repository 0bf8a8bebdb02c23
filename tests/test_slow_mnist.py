"""End to end on real MNIST (fetched once by `handwritten data fetch`, as .ci/run does)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handwritten.cli import main
from handwritten.data.mnist import DataError, load_split
from handwritten.evaluation.realistic import score_set
from handwritten.models.store import load_model
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


def test_shipped_model_mnist_figures_are_the_cards(capsys) -> None:
    """MNIST test accuracy and ECE as recorded when the model was shipped (deterministic)."""
    assert main(["evaluate", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    meta = load_model("default")[1].meta
    assert result["n"] == 10000
    assert result["test_accuracy"] == pytest.approx(meta["test_accuracy"], abs=1e-9)
    assert result["test_accuracy"] >= 0.996
    assert result["ece"] <= 0.015


# The first items of each set, the card's figure for the whole set, and how far below it the
# first items may fall by chance (three binomial standard deviations, at least 1 %).
SUBSETS = {"canvas": 300, "photo": 200, "multi": 150, "nondigit": 200}
FIGURE = {"canvas": "accuracy", "photo": "accuracy", "multi": "exact", "nondigit": "declined"}


@pytest.mark.parametrize("name", list(SUBSETS))
def test_shipped_model_realistic_figures_hold_on_their_first_items(name: str) -> None:
    meta = load_model("default")[1].meta
    recorded = meta["figures"][name][FIGURE[name]]
    report = score_set(Predictor.load("default"), name, limit=SUBSETS[name])
    slack = max(0.01, 3 * (recorded * (1 - recorded) / SUBSETS[name]) ** 0.5)
    assert report.figures[FIGURE[name]] >= recorded - slack, (report.figures, recorded)
