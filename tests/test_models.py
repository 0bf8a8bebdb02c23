"""Models: registry, shapes, layer traces with kinds, reference max-pool."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from handwritten.models.architectures import REGISTRY, count_parameters, create_model, max_pool_2x2
from handwritten.models.layer_spec import SHORTCUTS

EXPECTED = {
    # arch: (parameter count, [(layer name, kind, shape without batch)] for weight layers)
    "mlp": (
        784 * 100 + 100 + 100 * 10 + 10,
        [("dense1", "dense", (100,)), ("logits", "dense", (10,))],
    ),
    "lenet": (
        5 * 5 * 20 + 20 + 5 * 5 * 20 * 50 + 50 + 800 * 500 + 500 + 500 * 10 + 10,
        [("conv1", "conv", (24, 24, 20)), ("pool1", "pool", (12, 12, 20)),
         ("conv2", "conv", (8, 8, 50)), ("pool2", "pool", (4, 4, 50)),
         ("dense1", "dense", (500,)), ("logits", "dense", (10,))],
    ),
    "cnn": (
        # Convolutions and dense1 have no bias (batch norm follows); each batch norm has a
        # scale and a bias per channel (its running mean and variance are not parameters).
        3 * 3 * 1 * 32 + 2 * 32  # conv1 288, norm1 64
        + 3 * 3 * 32 * 64 + 2 * 64  # conv2 18,432, norm2 128
        + 3 * 3 * 64 * 64 + 2 * 64  # conv3 36,864, norm3 128
        + 7 * 7 * 64 * 256 + 2 * 256  # dense1 802,816 (3,136 inputs), norm4 512
        + 256 * 10 + 10,  # logits 2,570: 861,802 in all
        [("conv1", "conv", (28, 28, 32)), ("pool1", "pool", (14, 14, 32)),
         ("conv2", "conv", (14, 14, 64)), ("conv3", "conv", (14, 14, 64)),
         ("pool2", "pool", (7, 7, 64)), ("dense1", "dense", (256,)), ("logits", "dense", (10,))],
    ),
    "cnn_open": (
        861_802 + 256 + 1,  # the cnn's, and one more output row: 862,059
        [("conv1", "conv", (28, 28, 32)), ("dense1", "dense", (256,)),
         ("logits", "dense", (11,))],  # the 11th output: "not a digit"
    ),
    "fast": (
        5 * 5 * 1 * 24 + 2 * 24  # conv1 600 (no bias: batch norm follows), norm1 48
        + 3 * 3 * 24 * 32 + 2 * 32  # conv2 6,912, norm2 64
        + 5 * 5 * 32 * 256 + 256  # dense1 205,056 (800 inputs)
        + 256 * 10 + 10,  # logits 2,570: 215,250 in all
        [("conv1", "conv", (24, 24, 24)), ("pool1", "pool", (12, 12, 24)),
         ("norm1", "norm", (12, 12, 24)), ("conv2", "conv", (10, 10, 32)),
         ("pool2", "pool", (5, 5, 32)), ("norm2", "norm", (5, 5, 32)),
         ("dense1", "dense", (256,)), ("logits", "dense", (10,))],
    ),
}  # fmt: skip


@pytest.mark.parametrize("arch", sorted(REGISTRY))
def test_trace_names_kinds_and_shapes(arch: str) -> None:
    model = create_model(arch, seed=0)
    layers = model.trace(jnp.zeros((3, 28, 28, 1)))
    by_name = {layer.name: layer for layer in layers}
    assert len(by_name) == len(layers), "layer names must be unique"
    assert layers[0].kind == "input" and layers[-1].name == "logits"
    count, expected = EXPECTED[arch]
    for name, kind, shape in expected:
        assert by_name[name].kind == kind
        assert by_name[name].value.shape == (3, *shape)
    assert count_parameters(model) == count
    # Weight-bearing layers point at a real submodule with a kernel.
    for layer in layers:
        if layer.module is not None and layer.kind in ("conv", "dense"):
            assert getattr(model, layer.module).kernel[...].ndim in (2, 4)


def test_lenet_conv_activations_are_identity_as_in_the_seed() -> None:
    model = create_model("lenet")
    x = jax.random.uniform(jax.random.key(0), (2, 28, 28, 1))
    conv1 = next(layer for layer in model.trace(x) if layer.name == "conv1").value
    assert float(conv1.min()) < 0, "no ReLU after the seed's convolutions"


def test_same_seed_same_weights_and_different_seed_differs() -> None:
    x = jnp.ones((1, 28, 28, 1))
    a, b, c = (create_model("cnn", s)(x) for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_unknown_arch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        create_model("resnet")


def test_max_pool_matches_reduce_window() -> None:
    x = jax.random.normal(jax.random.key(1), (2, 8, 6, 3))
    reference = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    np.testing.assert_array_equal(max_pool_2x2(x), reference)


def test_dropout_only_with_a_key_in_training() -> None:
    model = create_model("cnn")
    x = jax.random.uniform(jax.random.key(0), (4, 28, 28, 1))
    np.testing.assert_allclose(model(x), model(x))
    one = model(x, train=True, dropout_key=jax.random.key(1))
    two = model(x, train=True, dropout_key=jax.random.key(2))
    assert not np.allclose(one, two)


def test_max_pool_gradient_goes_to_the_first_maximum_of_each_window() -> None:
    x = jnp.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)  # tie: (0, 1) and (1, 0)
    grad = jax.grad(lambda v: max_pool_2x2(v).sum())(x)
    np.testing.assert_array_equal(grad.reshape(2, 2), [[0.0, 1.0], [0.0, 0.0]])
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((3, 8, 6, 5)), jnp.float32)  # no ties
    weights = jnp.asarray(rng.standard_normal((3, 4, 3, 5)), jnp.float32)

    def reference(v):
        return jax.lax.reduce_window(v, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    ours = jax.grad(lambda v: (max_pool_2x2(v) * weights).sum())(x)
    expected = jax.grad(lambda v: (reference(v) * weights).sum())(x)
    np.testing.assert_allclose(ours, expected)


@pytest.mark.parametrize("arch", sorted(SHORTCUTS))  # cnn_open: the cnn's with 11 outputs
def test_a_shortcuts_spec_builds_todays_module_exactly(arch: str) -> None:
    from flax import nnx

    fixed = create_model(arch, seed=4)
    built = create_model("custom", seed=4, layers=SHORTCUTS[arch])
    assert type(fixed).__name__ != "SpecNet" and type(built).__name__ == "SpecNet"
    for kind in (nnx.Param, nnx.BatchStat):
        ours = nnx.to_pure_dict(nnx.state(built, kind))
        theirs = nnx.to_pure_dict(nnx.state(fixed, kind))
        assert jax.tree.structure(ours) == jax.tree.structure(theirs)  # same names
        for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
            np.testing.assert_array_equal(a, b)  # same shapes, same initial values
    x = jax.random.uniform(jax.random.key(0), (3, 28, 28, 1))
    np.testing.assert_array_equal(built(x), fixed(x))
    key = jax.random.key(9)  # dropout too
    np.testing.assert_array_equal(
        built(x, train=True, dropout_key=key), fixed(x, train=True, dropout_key=key)
    )


def test_a_spec_network_traces_its_plan_with_kinds() -> None:
    from handwritten.models.layer_spec import plan_layers

    spec = "conv4x4x5,bn,tanh,avgpool3,conv3x3x7valid,relu,pool2,dropout0.2,gap,dense12,bn"
    model = create_model("custom", seed=0, layers=spec)
    layers = model.trace(jnp.zeros((2, 28, 28, 1)))
    planned = plan_layers(spec).layers
    assert [(layer.name, layer.kind, layer.value.shape[1:]) for layer in layers] == [
        (row.name, row.kind, row.shape) for row in planned
    ]
    assert count_parameters(model) == plan_layers(spec).parameters
    assert model.arch == "custom" and model.layer_spec == spec


def test_each_dropout_layer_draws_its_own_mask() -> None:
    model = create_model("custom", seed=0, layers="dense64,dropout0.5,dense64,dropout0.5")
    x = jax.random.uniform(jax.random.key(0), (4, 28, 28, 1))
    layers = model.trace(x, train=True, dropout_key=jax.random.key(1))
    first, second = (layer.value == 0 for layer in layers if layer.kind == "dropout")
    assert bool(first.any()) and bool(second.any()) and not bool((first == second).all())


def test_custom_needs_layers_and_layers_need_custom() -> None:
    with pytest.raises(ValueError, match="layers go with the 'custom' architecture"):
        create_model("custom")
    with pytest.raises(ValueError, match="layers go with the 'custom' architecture, not 'cnn'"):
        create_model("cnn", layers="dense8")
