"""``export`` and ``import-model``: models out as ONNX, ONNX models in by name."""

from __future__ import annotations

import argparse
import sys

from handwritten.cli.options import emit_json


def cmd_export(args: argparse.Namespace) -> int:
    from handwritten.models.onnx_export import export_onnx
    from handwritten.models.store import load_model
    from handwritten.recognition.predictor import Calibration

    restored, info = load_model(args.model)
    calibration = Calibration.of(info.meta)
    path = export_onnx(
        restored.model, args.output, temperature=calibration.temperature,
        reject_offset=calibration.reject_offset,
    )  # fmt: skip
    output = {
        "model": info.name, "arch": info.arch, "layers": restored.layers, "format": args.format,
        "output": str(path), "bytes": path.stat().st_size,
    }  # fmt: skip
    if args.json:
        emit_json(output)
    else:
        print(f"{info.name} ({restored.layers}) -> {path}")
    return 0


def cmd_import_model(args: argparse.Namespace) -> int:
    from handwritten.models.imported import describe_imported, register_onnx

    path, adapter = register_onnx(args.file, args.name, replace=args.replace)
    probe = describe_imported(path)["probe"]
    adapted = [
        "NCHW input fed from NHWC" if adapter.layout == "nchw" else "",
        "softmax applied to its logits" if adapter.output == "logits" else "",
    ]
    output = {
        "name": args.name, "path": str(path), "layout": adapter.layout, "output": adapter.output,
        "batch": adapter.batch, "probe_label": probe["label"],
        "probe_confidence": probe["confidence"],
    }  # fmt: skip
    note = "; ".join(a for a in adapted if a) or "used as it is"
    print(f"imported {args.name}: {note}; reads the probe '1' as {probe['label']} "
          f"({probe['confidence']:.1%})", file=sys.stderr)  # fmt: skip
    if args.json:
        emit_json(output)
    else:
        print(f"{args.name} -> {path} (use --model {args.name})")
    return 0
