"""What one training step costs by XLA's own count: FLOPs and bytes accessed, and the ops that
move the most memory. No timing, so it reads the same on a busy machine as on a quiet one.

    .venv/bin/python benchmarks/step_cost.py --arch cnn [--micro-batch N] [--top 20]

The byte count is XLA's cost analysis of the compiled `train_step` (every op's operands and
result, caches not modelled); the table sums the entry computation's ops by output shape and
source op. Run it from another checkout (e.g. `git worktree add /tmp/before COMMIT`) to compare
two versions of the step.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import re

import jax
import jax.numpy as jnp
import numpy as np

from handwritten.models.architectures import create_model, split_model
from handwritten.runtime.distributed import Placement
from handwritten.training.config import preset_for
from handwritten.training.step import prepare_step, train_step

SHAPE = re.compile(r"(f32|s32|u32|u8|s8|pred|bf16|f16)\[([\d,]*)\]")
ITEM_BYTES = {"f32": 4, "s32": 4, "u32": 4, "u8": 1, "s8": 1, "pred": 1, "bf16": 2, "f16": 2}
OP = re.compile(r"\s*(?:ROOT )?%?([\w.\-]+) = (.*?) ([\w\-]+)\((.*)")
SKIP = {"parameter", "constant", "get-tuple-element", "tuple", "bitcast"}


def shape_bytes(text: str) -> int:
    total = 0
    for dtype, dims in SHAPE.findall(text):
        total += ITEM_BYTES[dtype] * int(np.prod([int(d) for d in dims.split(",") if d]))
    return total


def biggest_ops(hlo: str, top: int) -> list[tuple[int, str]]:
    """(bytes read and written, label) of the entry computation's ops, summed by label."""
    entry = re.search(r"^ENTRY .*?\n(.*?)^}", hlo, re.S | re.M)
    sizes: dict[str, int] = {}
    grouped: collections.Counter[str] = collections.Counter()
    for line in entry.group(1).splitlines() if entry else []:
        match = OP.match(line)
        if not match:
            continue
        name, shape, op, rest = match.groups()
        sizes[name] = shape_bytes(shape)
        if op in SKIP:
            continue
        operands = re.findall(r"%([\w.\-]+)", rest.split("),")[0])
        source = re.search(r'op_name="([^"]+)"', line)
        label = f"{op:11s} {shape[:34]:34s} {source.group(1)[-60:] if source else ''}"
        grouped[label] += sizes[name] + sum(sizes.get(o, 0) for o in operands)
    return [(value, label) for label, value in grouped.most_common(top)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="cnn")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--micro-batch", type=int, help="as `handwritten bench --micro-batch`")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    config = dataclasses.replace(
        preset_for(args.arch), arch=args.arch, augment=False, batch_size=args.batch_size,
        micro_batch=args.micro_batch,
    )  # fmt: skip
    graphdef, params, batch_stats = split_model(create_model(args.arch))
    spec, state = prepare_step(config, graphdef, params, batch_stats, Placement.create(), 1000)
    n = args.batch_size * 4
    rng = np.random.default_rng(0)
    data = (jnp.asarray(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
            jnp.asarray(rng.integers(0, 10, n, dtype=np.uint8)), jnp.arange(n))  # fmt: skip
    key = jax.random.key_data(jax.random.key(0))
    compiled = train_step.lower(spec, state, *data, np.int32(0), key, np.int32(0)).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    print(f"{args.arch}, batch {args.batch_size}, {spec.micro_batches} micro-batches: "
          f"{cost['flops'] / 1e9:.2f} GFLOP, {cost['bytes accessed'] / 1e6:.1f} MB accessed "
          f"per step")  # fmt: skip
    for value, label in biggest_ops(compiled.as_text(), args.top):
        print(f"{value / 1e6:8.2f} MB  {label}")


if __name__ == "__main__":
    main()
