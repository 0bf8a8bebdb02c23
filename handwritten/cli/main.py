"""Run one command and turn every failure into one line on stderr and an exit status.

2 for bad input (the library's own error classes say what to fix), 1 for a failure at run time
(a full disk, a read-only home, anything unexpected), 130 for Ctrl-C; with ``--debug`` the
traceback is shown instead. A reader that stops early (``handwritten info | head -1``) is not
an error: the command ends quietly with 141, as a process killed by SIGPIPE does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from handwritten.cli.options import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CliError,
)
from handwritten.cli.parser import build_parser
from handwritten.storage.files import StorageError


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


def describe_os_error(exc: OSError) -> str:
    """One line naming the file and what went wrong ("…: No space left on device")."""
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _quiet_stdout() -> None:
    """After a broken pipe, send what is still buffered nowhere, so that flushing at exit
    does not fail again (the recipe of Python's `signal` documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a file (captured in a test): nothing will be flushed to it


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        if args.debug:
            raise
        _print_error(args.command, "interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        return _report(args.command, exc)


def _report(command: str, exc: Exception) -> int:
    """Print one line for `exc` and return its exit status."""
    if isinstance(exc, StorageError):
        _print_error(command, str(exc))
        return EXIT_FAILURE
    if isinstance(exc, _user_errors()):
        _print_error(command, str(exc))
        return EXIT_USAGE
    if isinstance(exc, OSError):
        _print_error(command, describe_os_error(exc))
        return EXIT_FAILURE
    first = (str(exc).splitlines() or [""])[0]
    _print_error(command, f"{type(exc).__name__}: {first} (run with --debug for the traceback)")
    return EXIT_FAILURE
