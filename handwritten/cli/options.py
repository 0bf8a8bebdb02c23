"""Argument types and output helpers shared by every command.

Numeric bounds come from `handwritten.training.config.LIMITS`, the same table validation and
the Train page's form read, so the CLI never restates a limit.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from handwritten.models.layer_spec import LayerSpecError
from handwritten.training.config import LIMITS, check_layers

EXIT_USAGE = 2  # bad input: arguments, files, settings
EXIT_FAILURE = 1  # the work itself failed (a run diverged, a disk filled up)
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells expect
EXIT_BROKEN_PIPE = 141  # the reader went away (`| head`): as a process killed by SIGPIPE


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with the house exit status for usage errors."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def emit_json(value: dict[str, Any]) -> None:
    print(json.dumps(finite(value), sort_keys=True))


def finite(value: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def int_at_least(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{text} must be at least {least}")
        return value

    return parse


def bounded_int(setting: str) -> Callable[[str], int]:
    """An integer within `LIMITS[setting]`."""
    bounds = LIMITS[setting]

    def parse(text: str) -> int:
        value = int_at_least(int(bounds.low))(text)
        if value > bounds.high:
            raise argparse.ArgumentTypeError(f"{text} must be at most {bounds.high:,}")
        return value

    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number")
    return value


def digit(text: str) -> int:
    if text not in {str(d) for d in range(10)}:
        raise argparse.ArgumentTypeError(f"{text!r} is not a digit 0-9")
    return int(text)


def layer_spec(text: str) -> str:
    """A layer spec or a shortcut name (mlp, lenet, cnn) that builds on this machine."""
    try:
        check_layers(text)
    except LayerSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
