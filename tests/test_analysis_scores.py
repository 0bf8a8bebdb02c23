"""A model's test-set scores for the Data page: cells against hand-built cases, and the disk cache
of its probabilities."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from flax import nnx
from scipy.special import softmax

from handwritten.analysis import scores as scoring
from handwritten.data.mnist import Split
from handwritten.evaluation.calibration import expected_calibration_error
from handwritten.evaluation.metrics import evaluate
from handwritten.models.architectures import create_model, split_model
from handwritten.models.checkpoint import save_checkpoint
from handwritten.models.inference import infer
from handwritten.recognition.predictor import Calibration
from handwritten.storage.paths import home_dir

from .conftest import synthetic_digits


def test_top_k_orders_digits_by_probability() -> None:
    probabilities = np.array([[0.1, 0.6, 0.3] + [0.0] * 7, [0.0] * 9 + [1.0]])
    digits, values = scoring.top_k(probabilities, 3)
    assert digits.tolist() == [[1, 2, 0], [9, 0, 1]]
    np.testing.assert_allclose(values, [[0.6, 0.3, 0.1], [1.0, 0.0, 0.0]])
    declined = np.array([[0.05] + [0.0] * 8 + [0.15, 0.8]])  # an 11-output model said "not a digit"
    digits, values = scoring.top_k(declined, 2)
    assert digits.tolist() == [[10, 9]]
    np.testing.assert_allclose(values, [[0.8, 0.15]])


def _probabilities(rows: list[tuple[int, float]]) -> np.ndarray:
    """One row per image: (predicted digit, its probability), the rest spread evenly."""
    out = np.zeros((len(rows), 10))
    for row, (digit, p) in zip(out, rows, strict=True):
        row[:] = (1 - p) / 9
        row[digit] = p
    return out


def test_cell_examples_put_confident_mistakes_and_unsure_hits_first() -> None:
    labels = np.array([7, 7, 7, 7, 7, 2])
    probabilities = _probabilities([(2, 0.5), (7, 0.9), (2, 0.95), (7, 0.4), (2, 0.7), (2, 0.99)])
    assert scoring.cell_indices(labels, probabilities, 7, 2).tolist() == [2, 4, 0]
    assert scoring.cell_indices(labels, probabilities, 7, 7).tolist() == [3, 1]
    assert scoring.cell_indices(labels, probabilities, 2, 7).tolist() == []
    examples = scoring.cell_examples(labels, probabilities, 7, 2, limit=2)
    assert [(e.index, e.label) for e in examples] == [(2, 7), (4, 7)]
    assert examples[0].top[0] == (2, pytest.approx(0.95))
    assert len(examples[0].top) == 3 and examples[0].top[1][1] == pytest.approx(0.05 / 9)


def test_worst_confusion_ignores_the_diagonal() -> None:
    confusion = np.diag(np.full(10, 100))
    assert scoring.worst_confusion(confusion) == (0, 0)
    confusion[4, 9], confusion[7, 1] = 6, 3
    assert scoring.worst_confusion(confusion) == (4, 9)


def test_score_builds_the_confusion_matrix_of_the_argmax(monkeypatch: pytest.MonkeyPatch) -> None:
    labels = np.array([0, 0, 1, 2, 2], np.uint8)
    probabilities = _probabilities([(0, 0.9), (1, 0.8), (1, 0.7), (0, 0.6), (2, 0.9)])
    split = Split(np.zeros((5, 28, 28), np.uint8), labels)
    monkeypatch.setattr(scoring, "cached_probabilities", lambda checkpoint, split: probabilities)
    scores = scoring.score(Path("unused"), split)
    expected = np.zeros((10, 10), int)
    expected[0, 0] = expected[0, 1] = expected[1, 1] = expected[2, 0] = expected[2, 2] = 1
    np.testing.assert_array_equal(scores.evaluation.confusion, expected)
    assert scores.predictions_n.tolist() == [0, 1, 1, 0, 2]
    assert scores.evaluation.accuracy == pytest.approx(3 / 5)


@pytest.fixture
def mlp_checkpoint(tmp_path: Path) -> tuple[Path, nnx.Module]:
    model = create_model("mlp", seed=1)
    _, params, batch_stats = nnx.split(model, nnx.Param, ...)
    path = tmp_path / "run" / "checkpoint.msgpack"
    save_checkpoint(path, arch="mlp", params=params, batch_stats=batch_stats)
    return path, model


def test_probabilities_are_the_models_softmax_and_cached_per_checkpoint_version(
    mlp_checkpoint: tuple[Path, nnx.Module], monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint, model = mlp_checkpoint
    split = Split(*synthetic_digits(24, seed=3))
    probabilities = scoring.cached_probabilities(checkpoint, split)
    graphdef, params, batch_stats = split_model(model)
    expected = softmax(infer(graphdef, params, batch_stats, split.images_nhw), axis=1)
    assert probabilities.shape == (24, 10) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, expected, rtol=1e-4, atol=1e-6)
    cached = list((home_dir() / "cache").glob("test-probabilities-*.npy"))
    assert len(cached) == 1

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache should have answered")

    with monkeypatch.context() as patched:
        patched.setattr(scoring, "class_scores", no_model)
        again = scoring.cached_probabilities(checkpoint, split)
    np.testing.assert_array_equal(again, probabilities)

    stat = checkpoint.stat()
    os.utime(checkpoint, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # re-saved
    scoring.cached_probabilities(checkpoint, split)
    other_data = Split(*synthetic_digits(24, seed=4))
    scoring.cached_probabilities(checkpoint, other_data)
    assert len(list((home_dir() / "cache").glob("test-probabilities-*.npy"))) == 3


def test_a_damaged_cache_file_is_recomputed(mlp_checkpoint: tuple[Path, nnx.Module]) -> None:
    checkpoint, _ = mlp_checkpoint
    split = Split(*synthetic_digits(8, seed=5))
    good = scoring.cached_probabilities(checkpoint, split)
    (path,) = (home_dir() / "cache").glob("test-probabilities-*.npy")
    path.write_bytes(b"\x93NUMPY garbage")
    np.testing.assert_allclose(scoring.cached_probabilities(checkpoint, split), good)
    assert np.load(path).shape == (8, 10)


def test_the_data_page_library_does_not_import_streamlit() -> None:
    code = (
        "import sys, handwritten.analysis.scores, handwritten.figures.dataset; "
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_calibration_view_undoes_the_temperature_for_before() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (400, 10))
    labels = logits.argmax(axis=1)
    labels[:100] = (labels[:100] + 1) % 10  # a quarter wrong
    calibrated = softmax(logits / 2.0, axis=1)
    model_scores = scoring.ModelScores(calibrated, labels, scoring.evaluate(labels, calibrated))
    view = scoring.calibration_view(model_scores, Calibration(temperature=2.0))
    raw = softmax(logits, axis=1)
    np.testing.assert_allclose(view.before.counts.sum(), 400)
    used = view.before.counts > 0
    expected = scoring.reliability(raw.max(1), raw.argmax(1) == labels)
    np.testing.assert_allclose(view.before.confidence[used], expected.confidence[used], rtol=1e-6)
    right = calibrated.argmax(1) == labels
    assert view.ece_after == pytest.approx(expected_calibration_error(calibrated.max(1), right))
    assert view.ece_before == pytest.approx(
        expected_calibration_error(raw.max(1), raw.argmax(1) == labels)
    )


def test_calibration_view_adds_the_reject_margin_back_for_before() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (300, 11))
    labels = logits[:, :10].argmax(axis=1)
    calibration = Calibration(temperature=1.7, reject_offset=2.5)
    calibrated = calibration.probabilities(logits)
    # The margin moves answers: some rows' top class is "not a digit" only before it.
    assert (softmax(logits, axis=1).argmax(1) != calibrated.argmax(1)).any()
    model_scores = scoring.ModelScores(calibrated, labels, scoring.evaluate(labels, calibrated))
    view = scoring.calibration_view(model_scores, calibration)
    raw = softmax(logits, axis=1)
    assert view.ece_before == pytest.approx(
        expected_calibration_error(raw.max(1), raw.argmax(1) == labels)
    )
    assert view.ece_after == pytest.approx(
        expected_calibration_error(calibrated.max(1), calibrated.argmax(1) == labels)
    )


def test_an_imported_active_model_scores_the_test_set(tmp_path: Path) -> None:
    """The Data page's scores work for an imported ONNX model too (through onnxruntime)."""
    from handwritten.models.architectures import create_model
    from handwritten.models.imported import register_onnx
    from handwritten.models.inference import infer_model

    from .onnx_models import as_logits, exported, save

    model = create_model("mlp", seed=2)
    path, _ = register_onnx(save(as_logits(exported(model)), tmp_path / "m.onnx"), "theirs")
    split = Split(*synthetic_digits(24, seed=3))
    expected = infer_model(model, split.images_nhw, output="probabilities")
    np.testing.assert_allclose(scoring.cached_probabilities(path, split), expected, atol=1e-5)


def test_the_confusion_counts_declined_digits_in_a_column_of_their_own() -> None:
    """An 11-output model's "not a digit" answers to digit images: the last column (the
    digit-only matrix of the evaluation leaves them out, though they count as wrong)."""
    probabilities = np.full((4, 11), 0.01)
    probabilities[[0, 1, 2, 3], [3, 10, 10, 5]] = 0.9  # a 3 right, two declined, a 3 as 5
    labels = np.array([3, 3, 7, 3])
    model_scores = scoring.ModelScores(
        probabilities, labels, evaluate(labels, np.log(probabilities))
    )
    confusion = model_scores.confusion
    assert confusion.shape == (10, 11) and confusion.sum() == 4
    assert (confusion[3, 3], confusion[3, 10], confusion[7, 10], confusion[3, 5]) == (1, 1, 1, 1)
    assert model_scores.evaluation.confusion.sum() == 2  # the declined are not in it
    assert scoring.worst_confusion(confusion) in {(3, 10), (7, 10), (3, 5)}
