"""``data fetch`` and ``samples add|list|export|import``: parse, call the library, print."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from handwritten.cli.options import EXIT_USAGE, CliError, emit_json


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from handwritten.data import mnist

    bars: dict[str, Any] = {}

    def progress(label: str, done: int, total: int | None) -> None:
        bar = bars.get(label)
        if bar is None:
            bar = bars[label] = tqdm(total=total, desc=label, unit="B", unit_scale=True,
                                     file=sys.stderr, disable=args.quiet)  # fmt: skip
        bar.update(done - bar.n)

    sources = mnist.SOURCES if args.source == "auto" else (args.source,)
    if args.source_dir is not None and not args.source_dir.is_dir():
        raise CliError(f"--from {args.source_dir}: not a directory")
    report = mnist.fetch(args.dest, source_dir=args.source_dir, sources=sources, progress=progress)
    for bar in bars.values():
        bar.close()
    for name, origin in report.sources.items():
        print(f"{name}: ok ({origin})", file=sys.stderr)
    if args.json:
        emit_json({"data_dir": str(report.directory), "sources": report.sources})
    else:
        print(f"MNIST verified in {report.directory}")
    return 0


def cmd_samples_add(args: argparse.Namespace) -> int:
    from handwritten.data.decode import MAX_UPLOAD_BYTES
    from handwritten.data.samples import SampleStore
    from handwritten.storage.files import read_regular_file

    store = SampleStore()
    failures = 0
    for path in args.files:
        try:
            data = read_regular_file(Path(path), MAX_UPLOAD_BYTES)
            sample_id = store.add_image(args.label, data, source=str(path))
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

    store = SampleStore(read_only=True)  # works in a read-only home
    counts = store.counts()
    if args.json:
        samples = [{"id": s.id, "label": s.label, "source": s.source, "created": s.created}
                   for s in store.samples()]  # fmt: skip
        emit_json({"store": str(store.path), "counts": counts, "total": sum(counts),
                   "samples": samples})  # fmt: skip
        return 0
    print(f"{sum(counts)} samples in {store.path}")
    for digit, count in enumerate(counts):
        print(f"  {digit}: {count}")
    return 0


def cmd_samples_export(args: argparse.Namespace) -> int:
    from handwritten.data.samples import SampleStore

    store = SampleStore(read_only=True)
    store.export_zip(args.path)
    print(f"exported {len(store)} samples to {args.path}")
    return 0


def cmd_samples_import(args: argparse.Namespace) -> int:
    from handwritten.data.sample_archive import MAX_IMPORT_BYTES
    from handwritten.data.samples import SampleStore
    from handwritten.storage.files import read_regular_file

    try:
        data = read_regular_file(Path(args.path), MAX_IMPORT_BYTES)
    except OSError as exc:
        raise CliError(f"{args.path}: cannot read ({exc.strerror})") from exc
    result = SampleStore().import_archive(data)
    known = f" ({result.duplicates} already in the store)" if result.duplicates else ""
    print(f"imported {result.added} samples from {args.path}{known}")
    return 0
