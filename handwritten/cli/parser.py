"""The argument parser: one small function per command, choices and bounds from the library's
configuration (`handwritten.training.config`), never retyped here."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from handwritten.cli import data_commands, exchange_commands, model_commands, training_commands
from handwritten.cli.options import (
    Parser,
    bounded_int,
    digit,
    int_at_least,
    layer_spec,
    positive_float,
)
from handwritten.data.mnist import SOURCES
from handwritten.evaluation import DIGIT_SOURCES, REALISTIC_SETS
from handwritten.training.config import ARCHS, OPTIMIZERS, PRESETS, FinetuneConfig

Commands = Any  # argparse's private _SubParsersAction
MODEL_HELP = "default, a run dir, a checkpoint or an imported model's name"


def _micro_batch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--micro-batch",
        type=bounded_int("micro_batch"),
        help="images per device in one gradient slice of a batch "
        "(default: sized to the CPU cache; 0: the whole batch)",
    )


def _layers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--layers", type=layer_spec, metavar="SPEC",
        help="your own network, e.g. conv3x3x16,relu,pool2,dense64,relu (see the README); "
        "mlp, lenet and cnn name theirs",
    )  # fmt: skip


def _output(parser: argparse.ArgumentParser, quiet: bool = False) -> None:
    parser.add_argument("--json", action="store_true")
    if quiet:
        parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_data(commands: Commands) -> None:
    data = commands.add_parser("data", help="MNIST data")
    data_commands_ = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    fetch = data_commands_.add_parser("fetch", help="fetch and verify the four MNIST files")
    fetch.add_argument("--from", dest="source_dir", type=Path, help="a folder holding the files")
    fetch.add_argument("--dest", type=Path, help="cache folder (default $HANDWRITTEN_DATA_DIR)")
    fetch.add_argument("--source", choices=("auto", *SOURCES), default="auto")
    _output(fetch, quiet=True)
    fetch.set_defaults(handler=data_commands.cmd_data_fetch)


def _add_train(commands: Commands) -> None:
    train = commands.add_parser("train", help="train a model into a run directory")
    train.add_argument("--preset", choices=tuple(PRESETS))
    train.add_argument("--arch", choices=ARCHS)
    _layers(train)
    train.add_argument("--epochs", type=bounded_int("epochs"))
    train.add_argument("--batch-size", type=bounded_int("batch_size"))
    train.add_argument("--lr", type=positive_float)
    train.add_argument("--optimizer", choices=OPTIMIZERS)
    train.add_argument("--seed", type=bounded_int("seed"))
    train.add_argument("--train-subset", type=bounded_int("train_subset"), help="first N images")
    train.add_argument("--test-subset", type=bounded_int("test_subset"))
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    _micro_batch(train)
    train.add_argument("--run-dir", type=Path)
    train.add_argument("--resume", action="store_true", help="continue --run-dir's run")
    train.add_argument("--coordinator", metavar="HOST:PORT", help="multi-host: process 0's address")
    train.add_argument("--num-processes", type=int_at_least(1), help="multi-host: how many")
    train.add_argument("--process-id", type=int, help="multi-host: this process, 0..N-1")
    train.add_argument("--config-json", help=argparse.SUPPRESS)
    train.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)
    _output(train, quiet=True)
    train.set_defaults(handler=training_commands.cmd_train)


def _add_models(commands: Commands) -> None:
    evaluate = commands.add_parser("evaluate", help="accuracy of a model")
    evaluate.add_argument("--model", default="default", help=MODEL_HELP)
    evaluate.add_argument(
        "--set", choices=("mnist", *REALISTIC_SETS, "latency"), default="mnist",
        help="MNIST test set; a realistic set: canvas drawings, photos, multi-digit strings, "
        "non-digits; or prediction latency",
    )  # fmt: skip
    evaluate.add_argument(
        "--source", choices=DIGIT_SOURCES, default="test",
        help="realistic sets: digits from MNIST test (report) or held-out MNIST train (tune)",
    )  # fmt: skip
    evaluate.add_argument("--seed", type=bounded_int("seed"), default=0, help="realistic sets")
    evaluate.add_argument("--limit", type=int_at_least(1), help="first N items")
    _output(evaluate)
    evaluate.set_defaults(handler=model_commands.cmd_evaluate)

    predict = commands.add_parser("predict", help="read the digits in image files")
    predict.add_argument("files", nargs="+", type=Path)
    predict.add_argument("--model", default="default", help=MODEL_HELP)
    predict.add_argument("--single", action="store_true", help="treat all ink as one digit")
    predict.add_argument(
        "--compare", action="store_true",
        help="every registered model's answer side by side (shipped, promoted, imported)",
    )  # fmt: skip
    _output(predict)
    predict.set_defaults(handler=model_commands.cmd_predict)

    promote = commands.add_parser(
        "promote", help="make a run's or an imported model the active one"
    )
    promote.add_argument(
        "run_dir", metavar="RUN_DIR|NAME", help="a run directory or an imported name"
    )
    promote.set_defaults(handler=model_commands.cmd_promote)

    info = commands.add_parser("info", help="the active model and the device")
    _output(info)
    info.set_defaults(handler=model_commands.cmd_info)


def _add_bench(commands: Commands) -> None:
    bench = commands.add_parser("bench", help="training throughput and prediction latency")
    bench.add_argument("--arch", choices=ARCHS, default="lenet")
    _layers(bench)
    bench.add_argument("--batch-size", type=bounded_int("batch_size"), default=128)
    bench.add_argument("--steps", type=int_at_least(1), default=60, help="steps per timed block")
    bench.add_argument("--blocks", type=int_at_least(1), default=5)
    bench.add_argument(
        "--augment", action=argparse.BooleanOptionalAction, default=None,
        help="on-device augmentation (default: as the arch's preset)",
    )  # fmt: skip
    _micro_batch(bench)
    _output(bench)
    bench.set_defaults(handler=training_commands.cmd_bench)


def _add_samples(commands: Commands) -> None:
    samples = commands.add_parser("samples", help="your personal handwriting samples")
    actions = samples.add_subparsers(dest="samples_command", required=True, parser_class=Parser)
    add = actions.add_parser("add", help="save image files of one digit with a label")
    add.add_argument("--label", type=digit, required=True)
    add.add_argument("files", nargs="+", type=Path)
    add.set_defaults(handler=data_commands.cmd_samples_add)
    listing = actions.add_parser("list", help="counts per digit")
    _output(listing)
    listing.set_defaults(handler=data_commands.cmd_samples_list)
    export = actions.add_parser("export", help="write a zip of PNGs and labels.csv")
    export.add_argument("path", type=Path)
    export.set_defaults(handler=data_commands.cmd_samples_export)
    importing = actions.add_parser("import", help="add the samples of an exported zip")
    importing.add_argument("path", type=Path)
    importing.set_defaults(handler=data_commands.cmd_samples_import)


def _add_finetune(commands: Commands) -> None:
    defaults = FinetuneConfig()
    tune = commands.add_parser("finetune", help="fine-tune on your samples with MNIST replay")
    tune.add_argument("--base", default=defaults.base, help="default, a run dir or a checkpoint")
    tune.add_argument("--epochs", type=bounded_int("finetune_epochs"), default=defaults.epochs)
    tune.add_argument("--seed", type=bounded_int("seed"), default=defaults.seed)
    tune.add_argument("--run-dir", type=Path)
    tune.add_argument("--lock-fd", type=int, help=argparse.SUPPRESS)
    _output(tune, quiet=True)
    tune.set_defaults(handler=training_commands.cmd_finetune)


def _add_layers(commands: Commands) -> None:
    layers = commands.add_parser("layers", help="what a layer spec builds and costs, untrained")
    layers.add_argument("spec", type=layer_spec, metavar="SPEC")
    layers.add_argument("--batch-size", type=bounded_int("batch_size"), default=128)
    layers.add_argument(
        "--estimate", action="store_true",
        help="time a few real training steps here and estimate an epoch",
    )  # fmt: skip
    layers.add_argument("--train-subset", type=bounded_int("train_subset"), help="images an epoch")
    _output(layers)
    layers.set_defaults(handler=training_commands.cmd_layers)


def _add_exchange(commands: Commands) -> None:
    export = commands.add_parser("export", help="write a model as ONNX")
    export.add_argument("model", metavar="RUN_DIR|default", help=MODEL_HELP)
    export.add_argument("--format", choices=("onnx",), default="onnx")
    export.add_argument("--output", type=Path, required=True, metavar="FILE")
    _output(export)
    export.set_defaults(handler=exchange_commands.cmd_export)

    importing = commands.add_parser("import-model", help="register an ONNX model by name")
    importing.add_argument("file", type=Path, metavar="FILE.onnx")
    importing.add_argument("--name", required=True, help="the name it goes by (--model NAME)")
    importing.add_argument("--replace", action="store_true", help="replace a model of this name")
    _output(importing)
    importing.set_defaults(handler=exchange_commands.cmd_import_model)


DEBUG_HELP = "show the traceback of an error instead of one line"


def _debug_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--debug`` before or after the command: each subcommand takes it too, without
    overriding the top-level one when it is not given there."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                 help=DEBUG_HELP)  # fmt: skip
                _debug_everywhere(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="handwritten", description="Handwritten digit recognition workbench.")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add in (
        _add_data, _add_train, _add_layers, _add_models, _add_exchange, _add_bench, _add_samples,
        _add_finetune,
    ):  # fmt: skip
        add(commands)
    _debug_everywhere(parser)
    return parser
