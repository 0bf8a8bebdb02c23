"""The dashboard's cached model loaders: one key (`FileVersion`) everywhere, and each loader
loads exactly the version it is given, so a promotion between two calls is never served from the
old entry and an old version never returns the new model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from flax import nnx

from handwritten.analysis import network as explain
from handwritten.analysis import scores as scoring
from handwritten.data.mnist import load_split
from handwritten.models.architectures import create_model
from handwritten.models.checkpoint import save_checkpoint
from handwritten.models.store import active_version, promote
from handwritten.storage.files import FileVersion
from handwritten.storage.paths import data_dir
from handwritten.ui import cache, data_view, explain_view

from .test_train_page import finished_run


def kinds(layers: list[explain.LayerInfo]) -> set[str]:
    return {layer.kind for layer in layers}


def test_the_predictor_and_model_view_follow_a_promotion() -> None:
    mlp, lenet = finished_run(arch="mlp"), finished_run(arch="lenet")
    promote(mlp.path)
    first = active_version()
    assert first == FileVersion.of(mlp.checkpoint_path)
    assert cache.active_predictor().arch == "mlp"
    assert explain_view.model_view().predictor.arch == "mlp"
    promote(lenet.path)
    second = active_version()
    assert cache.active_predictor().arch == "lenet", "the second call returns the new model"
    view = explain_view.model_view()
    assert view.version == second and view.predictor.arch == "lenet"
    assert "conv" in kinds(view.layers)
    # An older version still names the older model, whatever is active now.
    assert cache.predictor(first).arch == "mlp"
    model, layers = explain_view._model_view(first)
    assert "conv" not in kinds(layers) and type(model) is type(cache.predictor(first).model)


def test_a_checkpoint_rewritten_in_place_is_a_new_version() -> None:
    run = finished_run()
    promote(run.path)
    before = cache.active_predictor()
    assert cache.active_predictor() is before, "the same version is served from the cache"
    _, params, batch_stats = nnx.split(create_model("mlp", seed=7), nnx.Param, ...)
    save_checkpoint(run.checkpoint_path, arch="mlp", params=params, batch_stats=batch_stats)
    after = cache.active_predictor()
    assert after is not before
    image = np.random.default_rng(0).random((1, 28, 28), np.float32)
    assert not np.allclose(after.probabilities(image), before.probabilities(image))


def test_scores_and_embedding_are_those_of_the_version_asked(synthetic_mnist: Path) -> None:
    mlp, lenet = finished_run(arch="mlp"), finished_run(arch="lenet")
    promote(mlp.path)
    first = active_version()
    promote(lenet.path)
    directory = str(data_dir())
    test = load_split("test")
    old_model = scoring.score(mlp.checkpoint_path, test).probabilities_nk
    new_model = scoring.score(lenet.checkpoint_path, test).probabilities_nk
    assert not np.allclose(old_model, new_model), "the two models answer differently"
    np.testing.assert_allclose(data_view._scores(first, directory).probabilities_nk, old_model)
    np.testing.assert_allclose(data_view.active_scores().probabilities_nk, new_model)
    for version in (first, active_version()):
        model = cache.predictor(version).model
        reference = explain.build_embedding(model, test.images_nhw, test.labels_n)
        embedding = explain_view._embedding(version, directory)
        np.testing.assert_allclose(embedding.features, reference.features, rtol=1e-5, atol=1e-6)
