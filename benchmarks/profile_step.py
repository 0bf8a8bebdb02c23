"""Where the training step's time goes: XLA CPU time per HLO operation, grouped by shape.

Traces a short `handwritten bench` run with `jax.profiler`, then sums the executor threads'
events per fusion and labels each with its output shape and source op from the optimised HLO.
Figures are thread time (two threads run at once on a 2-core CPU), per step.

    XLA_FLAGS="--xla_cpu_enable_xprof_traceme=true --xla_dump_to=/tmp/hlo" \\
        .venv/bin/python benchmarks/profile_step.py --arch lenet --hlo /tmp/hlo
"""

from __future__ import annotations

import argparse
import collections
import re
import tempfile
from pathlib import Path

import jax

from handwritten.training.bench import run_bench

EVENT = re.compile(r"\s*(?:ROOT )?%?([\w.\-]+) = (\S+) \w+\(")


def hlo_labels(dump_dir: Path) -> dict[str, str]:
    """Fusion name -> 'shape  op_name' from the dumped, optimised train_step module."""
    labels: dict[str, str] = {}
    for path in dump_dir.glob("*jit_train_step*after_optimizations.txt"):
        for line in path.read_text().splitlines():
            if match := EVENT.match(line):
                op = re.search(r'op_name="([^"]+)"', line)
                source = op.group(1)[-50:] if op else ""
                labels[match.group(1)] = f"{match.group(2)[:36]:36s} {source}"
    return labels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="lenet")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--hlo", type=Path, help="the --xla_dump_to folder, to label fusions")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as trace_dir:
        with jax.profiler.trace(trace_dir):
            run_bench(args.arch, args.batch_size, steps=args.steps, blocks=1, augment=False)
        trace = next(Path(trace_dir).rglob("*.xplane.pb"))
        data = jax.profiler.ProfileData.from_file(str(trace))
    per_op: collections.Counter[str] = collections.Counter()
    for plane in data.planes:
        for line in plane.lines:
            if "XLAEigen" not in line.name and "XLAPjRtCpuClient" not in line.name:
                continue
            for event in line.events:
                if "::" not in event.name and "Execute" not in event.name:
                    per_op[event.name] += event.duration_ns
    labels = hlo_labels(args.hlo) if args.hlo else {}
    grouped: collections.Counter[str] = collections.Counter()
    for name, ns in per_op.items():
        grouped[labels.get(name, name)] += ns
    steps = args.steps + 1  # the first (compiling) step runs once more
    print(f"thread time per step: {sum(per_op.values()) / 1e6 / steps:.2f} ms")
    for label, ns in grouped.most_common(args.top):
        print(f"{ns / 1e6 / steps:8.3f} ms  {label}")


if __name__ == "__main__":
    main()
