#!/usr/bin/env bash
# Install everything the tests need (project + test extras, Debian's chromium, MNIST) and run the
# whole suite: lint, unit tests, slow real-MNIST tests and real-browser tests. Extra arguments go
# to pytest. Used by CI (.ci/run) and by the README's quick start.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_into_venv ".[onnx,test]"  # onnx: the imported-model tests run them with onnxruntime

if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q chromium
fi

# MNIST once into the per-user cache (verified by md5; a no-op when already there).
.venv/bin/handwritten data fetch --quiet

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
