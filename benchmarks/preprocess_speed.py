"""Preprocessing time of a 320x320 canvas, segmentation hypotheses included, A/B two checkouts.

For each drawing of `handwritten.evaluation.latency.DRAWINGS` (one digit, a 5 with a detached
hat, "47", "2026"; brush 18) it prints the median warm milliseconds of `preprocess` alone and
of `preprocess` plus the 28x28 crop of every other candidate digit that segmentation by
recognition reads (the groups preprocessing already cropped are reused, as the predictor
does; the model's forward pass excluded: `handwritten evaluate --set latency` times the whole
predict), and the fastest call of each (``_min``). With `--versus-dir DIR` the same
measurement runs from another checkout (e.g. `git worktree add /tmp/before COMMIT`) in
alternate processes, and the ratios of the rounds' medians are printed:

    .venv/bin/python benchmarks/preprocess_speed.py --versus-dir /tmp/before --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()


# The measurement uses only what the pipeline had before it was made fast (`preprocess`,
# `candidate_runs`, `crop_group`, the shipped predictor's prior), so the same script runs from
# either checkout.
def _times_ms(run, repeats: int) -> list[float]:
    run()
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        run()
        times.append((time.perf_counter() - begin) * 1000)
    return times


def measure(repeats: int) -> dict[str, float]:
    """Median milliseconds per drawing: ``preprocess[name]`` and ``hypotheses[name]``."""
    from handwritten.data.pieces import crop_group
    from handwritten.data.preprocess import preprocess
    from handwritten.evaluation.latency import DRAWINGS, drawing

    try:
        from handwritten.recognition.candidates import candidate_runs
    except ImportError:  # a checkout from before candidates had a module of their own
        from handwritten.recognition.segmentation import candidate_runs  # type: ignore
    from handwritten.recognition.predictor import Predictor

    prior = Predictor.load("default").prior  # the shipped model's candidate limits

    def with_hypotheses(image) -> None:
        result = preprocess(image)
        assert result.pieces is not None
        # As the predictor does: the groups preprocessing cropped are not cropped again.
        known = {tuple(sorted(g)) for g in result.groups}
        for run in candidate_runs(result.pieces, prior):
            # A run's pieces (older checkouts' runs have no strays left out of them).
            members = tuple(getattr(run, "members", range(run.start, run.stop)))
            if members not in known:
                crop_group(result.ink, result.pieces, list(members))

    figures = {}
    for name, strokes in DRAWINGS.items():
        image = drawing(strokes)
        for kind, run in (("preprocess", preprocess), ("hypotheses", with_hypotheses)):
            times = _times_ms(lambda im=image, run=run: run(im), repeats)
            figures[f"{kind}[{name}]"] = statistics.median(times)
            # The fastest call: the work's own cost, which the host's other load moves less
            # than the median (on a shared VM the median moved by 1.7x between runs).
            figures[f"{kind}_min[{name}]"] = min(times)
    return figures


def _run(directory: Path, repeats: int) -> dict[str, float]:
    environment = {**os.environ, "PYTHONPATH": str(directory)}
    command = [sys.executable, str(HERE), "--repeats", str(repeats), "--json"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100, help="timed calls per figure")
    parser.add_argument("--rounds", type=int, default=3, help="alternations with --versus-dir")
    parser.add_argument("--versus-dir", type=Path, help="another checkout to measure, alternated")
    parser.add_argument("--json", action="store_true", help="one JSON line (this checkout)")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.repeats)))
        return
    if args.versus_dir is None:
        for key, value in measure(args.repeats).items():
            print(f"{key}: {value:.2f} ms")
        return
    ours_dir = HERE.parent.parent
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for _ in range(args.rounds):
        theirs.append(_run(args.versus_dir, args.repeats))
        ours.append(_run(ours_dir, args.repeats))
    for key in ours[0]:
        mine = statistics.median(r[key] for r in ours)
        other = statistics.median(r[key] for r in theirs)
        print(f"{key}: {other:.2f} ms -> {mine:.2f} ms ({other / mine:.1f}x faster)")


if __name__ == "__main__":
    main()
