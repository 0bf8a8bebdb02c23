"""Training throughput of `handwritten bench` against a PyTorch eager reference, same run.

Alternates the two (machines here are shared and noisy) and prints each round and the median
ratio. Needs a separate interpreter with torch (not a project dependency):

    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    .venv/bin/python benchmarks/compare_torch.py --torch-python /tmp/torchvenv/bin/python \
        [--arch lenet] [--rounds 4]

`--arch lenet` runs ../shared/bench/torch_lenet_reference.py (when present) or the copy of the
same model here (torch_models.py); `--arch cnn` runs the equivalent of the default CNN.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED_REFERENCE = HERE.parent.parent / "shared" / "bench" / "torch_lenet_reference.py"


def last_json(command: list[str]) -> dict:
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--torch-python", required=True)
    parser.add_argument("--arch", choices=("lenet", "cnn"), default="lenet")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--micro-batch", type=int, help="passed to handwritten bench")
    args = parser.parse_args()
    if args.arch == "lenet" and SHARED_REFERENCE.is_file():
        torch_cmd = [args.torch_python, str(SHARED_REFERENCE)]
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
    ratios = []
    for round_ in range(args.rounds):
        ours = last_json(ours_cmd)
        theirs = last_json(torch_cmd)
        ratio = ours["train_images_per_second"] / theirs["images_per_second"]
        ratios.append(ratio)
        print(
            f"round {round_ + 1}: handwritten {ours['train_images_per_second']:8.0f} img/s, "
            f"torch eager {theirs['images_per_second']:8.0f} img/s, ratio {ratio:.2f}, "
            f"first step {ours['first_step_seconds']:.2f} s, "
            f"predict {ours['predict_latency_ms']:.3f} ms"
        )
    print(
        json.dumps(
            {
                "arch": args.arch,
                "batch_size": args.batch_size,
                "ratio_median": statistics.median(ratios),
                "ratios": ratios,
            }
        )
    )


if __name__ == "__main__":
    main()
