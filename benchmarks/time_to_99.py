"""Time to 99%: `handwritten train --preset fast` as whole processes, against PyTorch's epoch.

Each point of the curve is one whole process (start, read MNIST, compile from a warm
persistent cache, train, evaluate on the 10,000 test images, write the run), timed from
outside; the points differ in how many training images the one epoch takes
(`--train-subset`), so accuracy is plotted against seconds. Every round also runs one epoch of
the seed LeNet in PyTorch eager (benchmarks/torch_lenet_epoch.py, whole process), so each
time has its yardstick from the same minute. Rounds alternate (machines here are shared and
noisy); medians are printed, with every round.

    .venv/bin/python benchmarks/time_to_99.py --torch-python /tmp/torchvenv/bin/python
    .venv/bin/python benchmarks/time_to_99.py --torch-python ... --subsets 60000 --rounds 5

Each setting is run once untimed first (it fills the compilation cache of a fresh
HANDWRITTEN_HOME kept for the whole script; the runs' folders are deleted).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUBSETS = (15_000, 30_000, 45_000, 60_000)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_json(command: list[str], env: dict[str, str]) -> tuple[float, dict]:
    """(wall seconds of the whole process, the last JSON line it printed, with the process's
    CPU seconds (user + system, all threads) added as "process_cpu_seconds")."""
    began, cpu_before = time.perf_counter(), children_cpu_seconds()
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    seconds = time.perf_counter() - began
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_cpu_seconds"] = children_cpu_seconds() - cpu_before
    return seconds, result


def train_command(subset: int, run_dir: Path, preset: str) -> list[str]:
    command = [sys.executable, "-m", "handwritten", "train", "--preset", preset, "--json"]
    command += ["--quiet", "--run-dir", str(run_dir)]
    return command + (["--train-subset", str(subset)] if subset < 60_000 else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", help="without it, no PyTorch yardstick (loaded machine)")
    parser.add_argument("--subsets", type=int, nargs="+", default=list(SUBSETS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--preset", default="fast")
    args = parser.parse_args()
    torch_cmd = [str(args.torch_python), str(HERE / "torch_lenet_epoch.py")]
    with tempfile.TemporaryDirectory() as folder:
        env = os.environ | {"HANDWRITTEN_HOME": str(Path(folder) / "home")}
        env.pop("HANDWRITTEN_COMPILE_CACHE", None)  # the fresh home's own cache
        for subset in args.subsets:  # fill the compilation cache
            timed_json(train_command(subset, Path(folder) / f"warm-{subset}", args.preset), env)
        ours: dict[int, list[tuple[float, float]]] = {s: [] for s in args.subsets}
        torch_runs: list[tuple[float, float]] = []
        cpu: dict[int, list[float]] = {s: [] for s in args.subsets}
        for round_ in range(args.rounds):
            for subset in args.subsets:
                run_dir = Path(folder) / f"run-{round_}-{subset}"
                seconds, result = timed_json(train_command(subset, run_dir, args.preset), env)
                ours[subset].append((seconds, result["test_accuracy"]))
                cpu[subset].append(result["process_cpu_seconds"])
                print(f"round {round_ + 1}: {args.preset} on {subset:,} images: {seconds:.2f} s, "
                      f"{result['process_cpu_seconds']:.2f} CPU s, "
                      f"{result['test_accuracy']:.2%}", flush=True)  # fmt: skip
            if not args.torch_python:
                continue
            seconds, result = timed_json(torch_cmd, env)
            torch_runs.append((seconds, result["test_accuracy"]))
            print(f"round {round_ + 1}: torch eager seed LeNet, 1 epoch: {seconds:.2f} s, "
                  f"{result['test_accuracy']:.2%}", flush=True)  # fmt: skip
    print("\n| training images (1 epoch) | wall s (median) | CPU s (median) | "
          "test accuracy (median) | wall / torch epoch |")  # fmt: skip
    print("|---|---|---|---|---|")
    summary = []
    for subset, runs in ours.items():
        seconds = statistics.median(s for s, _ in runs)
        accuracy = statistics.median(a for _, a in runs)
        ratios = [s / t for (s, _), (t, _) in zip(runs, torch_runs, strict=False)]
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "-"
        cpu_median = statistics.median(cpu[subset])
        print(f"| {subset:,} | {seconds:.2f} | {cpu_median:.2f} | {accuracy:.2%} | {ratio} |")
        summary.append({"train_images": subset, "seconds": seconds, "cpu_seconds": cpu_median,
                        "test_accuracy": accuracy, "rounds": runs,
                        "over_torch_epoch": ratios})  # fmt: skip
    if torch_runs:
        torch_median = statistics.median(s for s, _ in torch_runs)
        torch_accuracy = statistics.median(a for _, a in torch_runs)
        print(f"| PyTorch eager seed LeNet, 60,000 | {torch_median:.2f} | - | "
              f"{torch_accuracy:.2%} | 1 |")  # fmt: skip
    print(json.dumps({"preset": args.preset, "points": summary, "torch_epoch": torch_runs,
                      "load": os.getloadavg()}))  # fmt: skip


if __name__ == "__main__":
    main()
