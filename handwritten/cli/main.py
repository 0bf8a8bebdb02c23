"""Run one command and turn every failure into one line on stderr and an exit status."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from handwritten.cli.options import EXIT_INTERRUPTED, EXIT_USAGE, CliError
from handwritten.cli.parser import build_parser


def _user_errors() -> tuple[type[Exception], ...]:
    """The library's error classes that mean bad input (each message names what to fix)."""
    from handwritten.data.mnist import DataError
    from handwritten.data.preprocess import ImageError
    from handwritten.data.samples import SampleError
    from handwritten.jobs.lock import JobRunningError
    from handwritten.models.checkpoint import CheckpointError
    from handwritten.models.imported import ModelImportError
    from handwritten.models.store import ModelNotFoundError
    from handwritten.storage.runs import RunError

    return (
        CliError, DataError, ImageError, ModelNotFoundError, CheckpointError, RunError,
        JobRunningError, SampleError, ModelImportError,
        ValueError,  # invalid settings and the like
    )  # fmt: skip


def _print_error(command: str, message: str) -> None:
    first, *more = message.splitlines() or [""]
    print(f"handwritten {command}: {first}", file=sys.stderr)
    for line in more:  # fetch lists every source it tried
        print(line, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except _user_errors() as exc:
        _print_error(args.command, str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _print_error(args.command, "interrupted")
        return EXIT_INTERRUPTED
