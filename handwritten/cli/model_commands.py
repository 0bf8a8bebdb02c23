"""``evaluate``, ``predict`` (``--compare``), ``promote`` and ``info``: parse, call, print."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from handwritten.cli.options import EXIT_USAGE, emit_json


def warn_if_fallback(command: str, info: Any) -> None:
    """Say on stderr when ``default`` is the shipped model because the promoted one broke."""
    if info is not None and info.warning:
        print(f"handwritten {command}: warning: {info.warning}", file=sys.stderr)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from handwritten.models.store import load_any

    model, info = load_any(args.model)
    warn_if_fallback("evaluate", info)
    if args.set == "latency":
        return _evaluate_latency(args, model, info)
    if args.set != "mnist":
        return _evaluate_realistic(args, model, info)
    from handwritten.data.mnist import load_split
    from handwritten.evaluation.calibration import calibrated_figures
    from handwritten.models.inference import class_scores
    from handwritten.recognition.predictor import Calibration

    test = load_split("test").subset(args.limit)
    calibration = Calibration.of(info.meta)
    logits = class_scores(model, test.images_nhw)
    result, ece = calibrated_figures(logits, test.labels_n, calibration)
    output = {"model": info.name, "arch": info.arch, "set": args.set} | result.to_dict() | ece
    if args.json:
        emit_json(output | {"temperature": calibration.temperature,
                             "reject_offset": calibration.reject_offset})  # fmt: skip
        return 0
    print(
        f"{info.name} ({info.arch}) on {args.set}: {result.accuracy:.2%} of {result.n}; "
        f"ECE {ece['ece']:.2%} at temperature {calibration.temperature:.3f} "
        f"(uncalibrated {ece['ece_uncalibrated']:.2%})"
    )
    for digit, accuracy in enumerate(result.per_class_accuracy):
        print(f"  {digit}: {accuracy:.2%}")
    return 0


def _evaluate_latency(args: argparse.Namespace, model: Any, info: Any) -> int:
    from handwritten.evaluation.latency import measure
    from handwritten.recognition.predictor import Predictor
    from handwritten.runtime.device import describe_device

    figures = measure(Predictor(model, info))
    if args.json:
        emit_json({"model": info.name, "arch": info.arch, "device": describe_device()} | figures)
        return 0
    print(f"{info.name} ({info.arch}) on {describe_device()}, medians of warm runs:")
    for key, value in figures.items():
        print(f"  {key}: {value:.2f} ms")
    return 0


def _evaluate_realistic(args: argparse.Namespace, model: Any, info: Any) -> int:
    from handwritten.evaluation.realistic import score_set
    from handwritten.recognition.predictor import Predictor

    predictor = Predictor(model, info)
    predictor.warm_up()
    report = score_set(predictor, args.set, args.source, args.limit or 1000, args.seed)
    if args.json:
        emit_json({"model": info.name, "arch": info.arch} | report.to_dict())
        return 0
    figures = ", ".join(f"{k} {v:.2%}" for k, v in report.figures.items())
    print(f"{info.name} ({info.arch}) on {args.set} ({args.source}, {report.n}): {figures}")
    kinds = ", ".join(f"{k}: {v:.1%}" for k, v in report.by_kind.items())
    print(f"  by kind: {kinds}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    if args.compare:
        return _predict_compare(args)
    from handwritten.recognition.predictor import Predictor

    predictor = Predictor.load(args.model)
    warn_if_fallback("predict", predictor.info)

    def show(path: Path, prediction: Any) -> None:
        if args.json:
            emit_json({"path": str(path)} | prediction.to_json())
        elif not prediction.digits:
            print(f"{path}: {prediction.reason}")
        else:
            flag = "  (unsure)" if prediction.unsure else ""
            print(f"{path}: {prediction.digits}  confidence {prediction.confidence:.1%}{flag}")

    return _each_file(args, lambda path: predictor.predict(path, multi=not args.single), show)


def _predict_compare(args: argparse.Namespace) -> int:
    """Every registered model's answer per file, disagreements marked."""
    from handwritten.recognition.compare import compare, load_registered

    predictors = load_registered()

    def show(path: Path, comparison: Any) -> None:
        if args.json:
            emit_json({"path": str(path)} | comparison.to_json())
            return
        verdict = "all agree" if comparison.agree else "models disagree"
        print(f"{path}: {verdict} (most say {comparison.consensus or 'no digit'})")
        for answer in comparison.answers:
            p, model = answer.prediction, answer.model
            label = model.name + (" (active)" if model.active else "")
            marks = ("" if answer.agrees else "  <- differs") + ("  (unsure)" if p.unsure else "")
            print(f"  {label:<32} {model.source:<9} {p.digits or '-':>6} "
                  f"{p.confidence:>7.1%}{marks}")  # fmt: skip

    return _each_file(args, lambda path: compare(predictors, path, multi=not args.single), show)


def _each_file(
    args: argparse.Namespace, read: Callable[[Path], Any], show: Callable[[Path, Any], None]
) -> int:
    """Read and show each file in turn. A file that is not a readable image is said in one
    line (and as a JSON error line with --json) and the others still run; exit 2 if any was."""
    from handwritten.data.preprocess import ImageError

    failures = 0
    for path in args.files:
        try:
            result = read(path)
        except ImageError as exc:
            failures += 1
            print(f"handwritten predict: {exc}", file=sys.stderr)
            if args.json:
                emit_json({"path": str(path), "error": str(exc)})
            continue
        show(path, result)
    return EXIT_USAGE if failures else 0


def cmd_promote(args: argparse.Namespace) -> int:
    from handwritten.models.store import promote

    checkpoint = promote(args.run_dir)
    print(f"active model: {checkpoint}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from handwritten.models.store import load_any
    from handwritten.runtime.device import describe_device

    _, info = load_any("default")
    warn_if_fallback("info", info)
    output = {
        "model": info.name,
        "arch": info.arch,
        "checkpoint": str(info.checkpoint),
        "test_accuracy": info.test_accuracy,
        "device": describe_device(),
    }
    if args.json:
        emit_json(output)
        return 0
    for key, value in output.items():
        print(f"{key}: {value}")
    return 0
