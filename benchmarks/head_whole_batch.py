"""Would the dense head be cheaper on the whole batch? A/B of two gradient steps, same gradient.

The training step splits a batch into cache-sized micro-batches and takes each one's gradient
through the whole model (`handwritten.training.step`): the dense layers' kernel gradients are
then computed once per micro-batch and summed (the cnn: 8 products of 16 rows into its
3136x256 kernel, about 14% of the step's bytes, `step_cost.py`). Variant B runs only the
convolutional trunk per micro-batch and the head (flatten onwards) once on the concatenated
features, so each head kernel gradient is one product over the whole batch. Both are jitted
whole steps (gradient + SGD update) on the same random batch, alternated round by round; the
gradients agree to float rounding (printed). Batch norm runs in training mode in both; the
head's batch norm (cnn: after dense1) then takes statistics over 128 images in B instead of 16,
which is why this is a prototype beside the step, not in it (the accuracy needs its own check).

    PYTHONPATH=. .venv/bin/python benchmarks/head_whole_batch.py --arch cnn
    PYTHONPATH=. .venv/bin/python benchmarks/head_whole_batch.py --arch lenet --micro-batches 4
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from handwritten.models.architectures import CNN, LeNet, _relu_head, _standardise, max_pool_2x2
from handwritten.models.normalization import batch_norm_relu

BATCH = 128


def cnn_trunk(model: CNN, x: jax.Array) -> jax.Array:
    x = _standardise(x)
    blocks = [(model.conv1, model.norm1), (model.conv2, model.norm2), (model.conv3, model.norm3)]
    for index, (conv, norm) in enumerate(blocks, 1):
        x = batch_norm_relu(norm, conv(x), train=True)[1]
        if index in (1, 3):
            x = max_pool_2x2(x)
    return x.reshape(x.shape[0], -1)


def cnn_head(model: CNN, features: jax.Array) -> jax.Array:
    return model.dense2(batch_norm_relu(model.norm4, model.dense1(features), train=True)[1])


def lenet_trunk(model: LeNet, x: jax.Array) -> jax.Array:
    x = max_pool_2x2(model.conv1(_standardise(x)))
    return max_pool_2x2(model.conv2(x))


def lenet_head(model: LeNet, features: jax.Array) -> jax.Array:
    return _relu_head([], features, model.dense1, model.dense2)[-1].value


MODELS: dict[str, tuple[Callable[[], Any], Callable, Callable]] = {
    "cnn": (lambda: CNN(rngs=nnx.Rngs(0)), cnn_trunk, cnn_head),
    "lenet": (lambda: LeNet(rngs=nnx.Rngs(0)), lenet_trunk, lenet_head),
}


def steps(arch: str, count: int) -> tuple[Callable, Callable, Any, Any, jax.Array, jax.Array]:
    """(step A, step B, params, optimizer state, images, one-hot targets)."""
    build, trunk, head = MODELS[arch]
    graphdef, params, rest = nnx.split(build(), nnx.Param, ...)
    tx = optax.sgd(0.01)

    def strided(a: jax.Array, i: int) -> jax.Array:
        return a.reshape(a.shape[0] // count, count, *a.shape[1:])[:, i]

    # The batch statistics are an argument differentiated too (their gradient is dropped): a
    # module merged inside the gradient may only update statistics traced at its own level.
    def loss_whole_model(p: Any, s: Any, x: jax.Array, t: jax.Array) -> jax.Array:
        model = nnx.merge(graphdef, p, s)
        return optax.softmax_cross_entropy(head(model, trunk(model, x)), t).mean()

    def loss_head_once(p: Any, s: Any, x: jax.Array, t: jax.Array) -> jax.Array:
        model = nnx.merge(graphdef, p, s)
        features = jnp.concatenate([trunk(model, strided(x, i)) for i in range(count)])
        targets = jnp.concatenate([strided(t, i) for i in range(count)])
        return optax.softmax_cross_entropy(head(model, features), targets).mean()

    def per_slice(p: Any, x: jax.Array, t: jax.Array) -> Any:
        gradient = jax.grad(loss_whole_model, (0, 1))
        parts = [gradient(p, rest, strided(x, i), strided(t, i))[0] for i in range(count)]
        return jax.tree.map(lambda *g: sum(g[1:], g[0]) / count, *parts)

    def update(gradient: Callable) -> Callable:
        @jax.jit
        def step(p: Any, o: Any, x: jax.Array, t: jax.Array) -> tuple[Any, Any]:
            updates, o = tx.update(gradient(p, x, t), o, p)
            return optax.apply_updates(p, updates), o

        return step

    x = jax.random.uniform(jax.random.key(0), (BATCH, 28, 28, 1))
    t = jax.nn.one_hot(jnp.arange(BATCH) % 10, 10)

    def head_once(p: Any, x: jax.Array, t: jax.Array) -> Any:
        return jax.grad(loss_head_once, (0, 1))(p, rest, x, t)[0]

    a, b = per_slice(params, x, t), head_once(params, x, t)
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    gap = max(float(jnp.abs(u - v).max()) for u, v in pairs)
    print(f"{arch}: {count} micro-batches of {BATCH // count}; largest gradient gap {gap:.1e}")
    return update(per_slice), update(head_once), params, tx.init(params), x, t


def images_per_second(step: Callable, params: Any, opt: Any, x: Any, t: Any, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        params, opt = step(params, opt, x, t)
    jax.block_until_ready(params)
    return n * BATCH / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", choices=sorted(MODELS), default="cnn")
    parser.add_argument("--micro-batches", type=int, default=8, help="8 for the cnn, 4 for LeNet")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="per variant per round")
    args = parser.parse_args()
    step_a, step_b, params, opt, x, t = steps(args.arch, args.micro_batches)
    for step in (step_a, step_b):  # compile
        jax.block_until_ready(step(params, opt, x, t))
    rates: dict[str, list[float]] = {"A per micro-batch": [], "B head once": []}
    for _ in range(args.rounds):
        for name, step in zip(rates, (step_a, step_b), strict=True):
            rates[name].append(images_per_second(step, params, opt, x, t, args.steps))
    for name, values in rates.items():
        shown = ", ".join(f"{v:,.0f}" for v in values)
        print(f"{name}: {shown} img/s, median {statistics.median(values):,.0f}")
    ratios = [b / a for a, b in zip(*rates.values(), strict=True)]
    print(f"B / A per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"median {statistics.median(ratios):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
