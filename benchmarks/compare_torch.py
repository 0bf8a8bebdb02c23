"""Training throughput of `handwritten bench` against a PyTorch eager reference, same run.

Alternates the two (machines here are shared and noisy) and prints each round and the median
ratio. Needs a separate interpreter with torch (not a project dependency):

    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    .venv/bin/python benchmarks/compare_torch.py --torch-python /tmp/torchvenv/bin/python \
        [--arch lenet] [--rounds 4]

`--arch lenet` runs ../shared/bench/torch_lenet_reference.py (when present) or the copy of the
same model here (torch_models.py); `--arch cnn` runs ../shared/bench/torch_cnn_reference.py (or
the equivalent here). `--versus-python PY` and/or `--versus-dir DIR` add a third command to each
round: the same bench run by another interpreter (e.g. another JAX version) or from another
checkout (e.g. `git worktree add /tmp/before COMMIT`: an ablation), so both sides and PyTorch are
alternated in one run and the rounds give versus/torch and ours/versus ratios too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "bench"
SHARED_REFERENCES = {
    "lenet": SHARED / "torch_lenet_reference.py",
    "cnn": SHARED / "torch_cnn_reference.py",
}


def last_json(command: list[str], cwd: str | None = None) -> dict:
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=cwd)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_line(label: str, values: list[float]) -> str:
    rounds = ", ".join(f"{v:.2f}" for v in values)
    return f"{label}: median {statistics.median(values):.2f} ({rounds})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--torch-python", required=True)
    parser.add_argument("--arch", choices=("lenet", "cnn"), default="lenet")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--micro-batch", type=int, help="passed to handwritten bench")
    parser.add_argument("--versus-python", help="a second interpreter for the same bench")
    parser.add_argument("--versus-dir", help="a second checkout to run the bench from")
    args = parser.parse_args()
    shared = SHARED_REFERENCES.get(args.arch)
    if shared is not None and shared.is_file():
        torch_cmd = [args.torch_python, str(shared)]
    else:
        torch_cmd = [args.torch_python, str(HERE / "torch_models.py"), "--arch", args.arch]
    torch_cmd += ["--batch-size", str(args.batch_size)]
    ours_cmd = [
        sys.executable,
        "-m",
        "handwritten",
        "bench",
        "--arch",
        args.arch,
        "--batch-size",
        str(args.batch_size),
        "--json",
        "--no-augment",  # the PyTorch models do not augment either
    ]
    if args.micro_batch is not None:
        ours_cmd += ["--micro-batch", str(args.micro_batch)]
    versus = args.versus_python or args.versus_dir
    versus_cmd = [args.versus_python or sys.executable, *ours_cmd[1:]]
    ratios, versus_ratios, ours_over_versus, ours_over_versus_cpu = [], [], [], []
    for round_ in range(args.rounds):
        ours = last_json(ours_cmd)
        theirs = last_json(torch_cmd)
        ratio = ours["train_images_per_second"] / theirs["images_per_second"]
        ratios.append(ratio)
        line = (
            f"round {round_ + 1}: handwritten {ours['train_images_per_second']:8.0f} img/s, "
            f"torch eager {theirs['images_per_second']:8.0f} img/s, ratio {ratio:.2f}, "
            f"first step {ours['first_step_seconds']:.2f} s, "
            f"predict {ours['predict_latency_ms']:.3f} ms"
        )
        if versus:
            other = last_json(versus_cmd, cwd=args.versus_dir)
            versus_ratios.append(other["train_images_per_second"] / theirs["images_per_second"])
            ours_over_versus.append(
                ours["train_images_per_second"] / other["train_images_per_second"]
            )
            cpu_ratio = ours.get("train_images_per_cpu_second", 0) / other.get(
                "train_images_per_cpu_second", float("inf")
            )
            ours_over_versus_cpu.append(cpu_ratio)
            line += (
                f"; versus {other['train_images_per_second']:8.0f} img/s, "
                f"ratio {versus_ratios[-1]:.2f}; ours/versus {ours_over_versus[-1]:.2f} "
                f"(per CPU second {cpu_ratio:.2f})"
            )
        print(line, flush=True)
    print(median_line("handwritten / torch eager", ratios))
    summary = {"arch": args.arch, "batch_size": args.batch_size,
               "ratio_median": statistics.median(ratios), "ratios": ratios}  # fmt: skip
    if versus:
        print(median_line("versus / torch eager", versus_ratios))
        print(median_line("handwritten / versus", ours_over_versus))
        print(median_line("handwritten / versus, per CPU second", ours_over_versus_cpu))
        summary |= {
            "versus_ratio_median": statistics.median(versus_ratios),
            "versus_ratios": versus_ratios,
            "ours_over_versus_median": statistics.median(ours_over_versus),
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
