"""``evaluate``, ``predict`` (``--compare``), ``promote`` and ``info``: parse, call, print."""

from __future__ import annotations

import argparse
import sys
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
    if args.set == "mnist":
        from handwritten.data.mnist import load_split
        from handwritten.evaluation.metrics import evaluate
        from handwritten.models.inference import class_scores

        test = load_split("test").subset(args.limit)
        result = evaluate(test.labels_n, class_scores(model, test.images_nhw))
    else:
        from handwritten.evaluation.realistic import evaluate_realistic

        result = evaluate_realistic(model, style=args.set, limit=args.limit or 1000)
    output = {"model": info.name, "arch": info.arch, "set": args.set} | result.to_dict()
    if args.json:
        emit_json(output)
        return 0
    print(f"{info.name} ({info.arch}) on {args.set}: {result.accuracy:.2%} of {result.n}")
    for digit, accuracy in enumerate(result.per_class_accuracy):
        print(f"  {digit}: {accuracy:.2%}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from handwritten.data.preprocess import ImageError
    from handwritten.recognition.predictor import Predictor

    if args.compare:
        return _predict_compare(args)
    predictor = Predictor.load(args.model)
    warn_if_fallback("predict", predictor.info)
    failures = 0
    for path in args.files:
        try:
            prediction = predictor.predict(path, multi=not args.single)
        except ImageError as exc:
            failures += 1
            print(f"handwritten predict: {exc}", file=sys.stderr)
            if args.json:
                emit_json({"path": str(path), "error": str(exc)})
            continue
        if args.json:
            emit_json({"path": str(path)} | prediction.to_json())
        elif not prediction.digits:
            print(f"{path}: {prediction.reason}")
        else:
            flag = "  (unsure)" if prediction.unsure else ""
            print(f"{path}: {prediction.digits}  confidence {prediction.confidence:.1%}{flag}")
    return EXIT_USAGE if failures else 0


def _predict_compare(args: argparse.Namespace) -> int:
    """Every registered model's answer per file, disagreements marked."""
    from handwritten.data.preprocess import ImageError
    from handwritten.recognition.compare import compare, load_registered

    predictors = load_registered()
    failures = 0
    for path in args.files:
        try:
            comparison = compare(predictors, path, multi=not args.single)
        except ImageError as exc:
            failures += 1
            print(f"handwritten predict: {exc}", file=sys.stderr)
            if args.json:
                emit_json({"path": str(path), "error": str(exc)})
            continue
        if args.json:
            emit_json({"path": str(path)} | comparison.to_json())
            continue
        verdict = "all agree" if comparison.agree else "models disagree"
        print(f"{path}: {verdict} (most say {comparison.consensus or 'no digit'})")
        for answer in comparison.answers:
            p, model = answer.prediction, answer.model
            label = model.name + (" (active)" if model.active else "")
            marks = ("" if answer.agrees else "  <- differs") + ("  (unsure)" if p.unsure else "")
            print(f"  {label:<32} {model.source:<9} {p.digits or '-':>6} "
                  f"{p.confidence:>7.1%}{marks}")  # fmt: skip
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
