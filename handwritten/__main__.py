"""``python -m handwritten`` is the CLI (used to start training jobs in their own process)."""

from handwritten.cli import main

raise SystemExit(main())
