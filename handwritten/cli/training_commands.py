"""``train``, ``layers``, ``finetune`` and ``bench``: parse, call the library, print."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from handwritten.cli.options import EXIT_FAILURE, CliError, emit_json


def _train_config(args: argparse.Namespace) -> Any:
    from handwritten.training.config import TrainConfig, resolve_config

    base = None
    if args.config_json:  # a launcher's exact settings
        try:
            base = TrainConfig.from_dict(json.loads(args.config_json))
        except (json.JSONDecodeError, TypeError) as exc:
            raise CliError(f"--config-json: {exc}") from exc
    elif args.resume:
        from handwritten.storage.runs import RunDir

        base = TrainConfig.settings_of(RunDir.open(args.run_dir).settings())  # its own settings
    return resolve_config(
        preset=args.preset, arch=args.arch, layers=args.layers, base=base, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer, seed=args.seed,
        train_subset=args.train_subset, test_subset=args.test_subset, augment=args.augment,
        micro_batch=args.micro_batch,
    )  # fmt: skip


def _join_hosts(args: argparse.Namespace) -> None:
    hosts = (args.coordinator, args.num_processes, args.process_id)
    if all(v is None for v in hosts):
        return
    if any(v is None for v in hosts):
        raise CliError("--coordinator, --num-processes and --process-id go together")
    from handwritten.runtime.distributed import initialize_multihost

    initialize_multihost(args.coordinator, args.num_processes, args.process_id)


def cmd_train(args: argparse.Namespace) -> int:
    from handwritten.data.mnist import load_split
    from handwritten.jobs.foreground import training_slot
    from handwritten.jobs.launcher import open_for_resume
    from handwritten.storage.runs import RunDir

    if args.resume and args.run_dir is None:
        raise CliError("--resume needs --run-dir")
    config = _train_config(args)
    _join_hosts(args)
    train, test = load_split("train"), load_split("test")
    config.check_data(len(train))  # before any run directory exists

    def open_run() -> RunDir:
        if args.resume:
            return open_for_resume(args.run_dir)
        return _launched_run(args) or RunDir.create(config.arch, path=args.run_dir)

    with training_slot(open_run, args.lock_fd) as run:
        return _train_run(run, config, train, test, args)


def _launched_run(args: argparse.Namespace) -> Any:
    """The run a launcher prepared for this job (it hands over the lock with ``--lock-fd``)."""
    from handwritten.storage.runs import RunDir

    if args.lock_fd is None or args.run_dir is None:
        return None
    return RunDir.open(args.run_dir)


def _progress_bar(label: str, quiet: bool) -> tuple[Any, Any]:
    """A tqdm bar on stderr and the `on_progress` callback that moves it: first through any
    bank of training images being drawn (images), then through the steps."""
    from tqdm import tqdm

    bar = tqdm(total=None, desc=label, unit="step", file=sys.stderr, disable=quiet)

    counting: list[tuple[str, int]] = [(label, -1)]  # what the bar counts now (a disabled
    # bar keeps no desc to compare with)

    def show(desc: str, unit: str, total: int) -> None:
        if counting[0] != (desc, total):
            counting[0] = (desc, total)
            bar.reset(total=total)
            bar.set_description(desc, refresh=False)
            bar.unit = unit

    def on_progress(record: dict[str, Any]) -> None:
        if record.get("kind") == "preparing":
            show(f"drawing {record['what']}", "image", record["total"])
            bar.update(record["done"] - bar.n)
            return
        show(label, "step", record["total_steps"])
        bar.update(record["step"] - bar.n)
        loss = record["loss"]
        bar.set_postfix(loss=f"{loss:.4f}" if loss is not None else "nan",
                        img_s=f"{record['images_per_second']:.0f}")  # fmt: skip

    return bar, on_progress


RESULT_KEYS = (
    "layers", "parameters", "test_accuracy", "epoch_test_accuracy", "train_images_per_second",
    "first_step_seconds", "micro_batches", "duration_seconds", "device",
)  # fmt: skip


def _train_run(run: Any, config: Any, train: Any, test: Any, args: argparse.Namespace) -> int:
    """Train in `run` with a progress bar on stderr; print the result (JSON last)."""
    from handwritten.training.loop import fit
    from handwritten.training.stopping import StopSignal

    print(f"run directory: {run.path}", file=sys.stderr)
    bar, on_progress = _progress_bar(f"train {config.arch}", args.quiet)
    try:  # an error's one line must not land at the end of the bar's
        result = fit(config, run, train, test, stop=StopSignal(run), on_progress=on_progress,
                     resume=args.resume)  # fmt: skip
    finally:
        bar.close()
    summary = result.summary
    for epoch, accuracy in enumerate(summary["epoch_test_accuracy"], 1):
        print(f"epoch {epoch}: test accuracy {accuracy:.2%}", file=sys.stderr)
    print(f"{result.state}{': ' + result.reason if result.reason else ''}", file=sys.stderr)
    output = {"run_dir": str(run.path), "arch": config.arch, "epochs": config.epochs,
              "state": result.state, "reason": result.reason}  # fmt: skip
    output |= {key: summary.get(key) for key in RESULT_KEYS}
    if args.json:
        emit_json(output)
    elif summary.get("test_accuracy") is not None:
        print(f"test accuracy {summary['test_accuracy']:.2%}  ->  {run.path}")
    return EXIT_FAILURE if result.state == "diverged" else 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from handwritten.data.mnist import load_split
    from handwritten.data.samples import SampleStore
    from handwritten.jobs.foreground import training_slot
    from handwritten.storage.runs import RunDir
    from handwritten.training.finetune import FinetuneConfig, check_store, finetune
    from handwritten.training.stopping import StopSignal

    config = FinetuneConfig(base=args.base, epochs=args.epochs, seed=args.seed).validate()
    store = SampleStore()
    check_store(store)
    train, test = load_split("train"), load_split("test")

    def open_run() -> RunDir:
        return _launched_run(args) or RunDir.create("finetune", path=args.run_dir)

    with training_slot(open_run, args.lock_fd) as run:
        print(f"run directory: {run.path}", file=sys.stderr)
        result, figures = finetune(config, run, store, train, test, stop=StopSignal(run))
    for key in ("personal", "mnist"):
        before, after = figures[f"{key}_accuracy_before"], figures[f"{key}_accuracy_after"]
        shown = f"{after:.2%}" if after is not None else "–"
        print(f"{key}: {before:.2%} -> {shown}", file=sys.stderr)
    if args.json:
        emit_json(figures)
    else:
        print(f"{result.state}: {run.path}")
    return EXIT_FAILURE if result.state == "diverged" else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from handwritten.training.bench import run_bench
    from handwritten.training.config import network_changes

    network = network_changes(args.layers) if args.layers else {"arch": args.arch}
    result = run_bench(
        network["arch"], args.batch_size, steps=args.steps, blocks=args.blocks,
        augment=args.augment, micro_batch=args.micro_batch, layers=network.get("layers"),
    )  # fmt: skip
    if args.json:
        emit_json(result)
        return 0
    print(f"device: {result['device']}")
    print(f"train {network['arch']} batch {args.batch_size} "
          f"({result['micro_batches']} micro-batches): "
          f"{result['train_images_per_second']:.0f} images/s")  # fmt: skip
    print(f"first step: {result['first_step_seconds']:.2f} s")
    print(f"predict one image (warm): {result['predict_latency_ms']:.3f} ms")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    """The builder's figures for one spec: shapes, parameters, multiply-adds, memory, time."""
    from handwritten.data.mnist import TEST_SIZE, TRAIN_SIZE
    from handwritten.models.layer_spec import shape_text
    from handwritten.training.config import check_layers, resolve_config

    plan = check_layers(args.spec)
    output: dict[str, Any] = {
        "layers": plan.spec, "parameters": plan.parameters, "multiply_adds": plan.macs,
        "batch_size": args.batch_size, "activation_bytes": plan.activation_bytes(args.batch_size),
        "table": plan.rows(),
    }  # fmt: skip
    if args.estimate:
        from handwritten.training.bench import estimate_epoch

        config = resolve_config(layers=args.spec, batch_size=args.batch_size)
        n_train = args.train_subset or TRAIN_SIZE
        output["estimate"] = estimate_epoch(config, n_train, TEST_SIZE).to_dict()
    if args.json:
        emit_json(output)
        return 0
    print(f"{'layer':<10} {'spec':<14} {'output':>10} {'parameters':>12} {'multiply-adds':>14}")
    for layer in plan.layers:
        print(f"{layer.name:<10} {layer.text:<14} {shape_text(layer.shape):>10} "
              f"{layer.parameters:>12,} {layer.macs:>14,}")  # fmt: skip
    megabytes = output["activation_bytes"] / 1e6
    print(f"{plan.parameters:,} parameters, {plan.macs:,} multiply-adds an image, "
          f"{megabytes:.1f} MB of activations a batch of {args.batch_size}")  # fmt: skip
    if args.estimate:
        estimate = output["estimate"]
        print(f"estimated here: {estimate['seconds_per_epoch']:.1f} s an epoch of {n_train:,} "
              f"images ({estimate['seconds_per_step'] * 1000:.1f} ms a step), "
              f"plus {estimate['first_step_seconds']:.1f} s compiling the first")  # fmt: skip
    return 0
