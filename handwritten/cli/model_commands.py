"""``evaluate``, ``predict``, ``promote`` and ``info``: parse, call the library, print."""

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
    from handwritten.models.store import load_model

    restored, info = load_model(args.model)
    warn_if_fallback("evaluate", info)
    if args.set == "mnist":
        from handwritten.data.mnist import load_split
        from handwritten.evaluation.metrics import evaluate
        from handwritten.models.inference import infer_model

        test = load_split("test").subset(args.limit)
        result = evaluate(test.labels_n, infer_model(restored.model, test.images_nhw))
    else:
        from handwritten.evaluation.realistic import evaluate_realistic

        result = evaluate_realistic(restored.model, style=args.set, limit=args.limit or 1000)
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


def cmd_promote(args: argparse.Namespace) -> int:
    from handwritten.models.store import promote

    checkpoint = promote(args.run_dir)
    print(f"active model: {checkpoint}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from handwritten.models.store import load_model
    from handwritten.runtime.device import describe_device

    _, info = load_model("default")
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
