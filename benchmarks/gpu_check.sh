#!/usr/bin/env bash
# The project on an NVIDIA machine, in one go: install the CUDA extra into .venv, run the quick
# tests, `handwritten bench` for every architecture, train the default preset, and print one
# JSON summary (the last line of stdout; the steps' own output goes to $LOG_DIR).
#
#   bash benchmarks/gpu_check.sh                 # on the GPU machine, from the repository root
#   bash benchmarks/gpu_check.sh --dry-run       # print the steps, run nothing
#   bash benchmarks/gpu_check.sh --cpu           # the same steps without the CUDA extra (a check
#                                                # of the script itself on a CPU machine)
#   PRESET=fast bash benchmarks/gpu_check.sh --cpu   # a shorter training run
#   bash benchmarks/gpu_check.sh --no-install    # use $PY (default .venv/bin/python) as it is
#
# Environment: PRESET (default "default"), ARCHS (default "mlp lenet cnn fast"), PY, LOG_DIR,
# TESTS (pytest's selection, default: the quick tests, -m "not slow and not e2e").
#
# Exit status: 0 when every step ran (the summary says how each went), 2 for bad arguments,
# 1 when the install or the GPU check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=gpu
DRY_RUN=0
INSTALL=1
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    --cpu) MODE=cpu ;;
    --no-install) INSTALL=0 ;;
    -h | --help)
      sed -n '2,18p' "$0"
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (use --dry-run, --cpu, --no-install)" >&2
      exit 2
      ;;
  esac
done

PRESET=${PRESET:-default}
ARCHS=${ARCHS:-"mlp lenet cnn fast"}
LOG_DIR=${LOG_DIR:-$(mktemp -d -t handwritten-gpu-check.XXXXXX)}
EXTRAS=".[test]"
[ "$MODE" = gpu ] && EXTRAS=".[cuda,test]"
PY=${PY:-.venv/bin/python}
TEST_SELECTION=(-m "not slow and not e2e")
if [ -n "${TESTS:-}" ]; then read -r -a TEST_SELECTION <<<"$TESTS"; fi

run() {  # run (or, with --dry-run, print) one step; its output goes to $LOG_DIR/$1.log
  local name=$1
  shift
  if [ "$DRY_RUN" -eq 1 ]; then
    echo "[dry-run] $name: $*" >&2
    return 0
  fi
  echo "== $name: $*" >&2
  "$@" >"$LOG_DIR/$name.log" 2>&1
}

status_of() {  # run a step, never stop the script: print its exit status
  if run "$@"; then echo 0; else echo $?; fi
}

mkdir -p "$LOG_DIR"
if [ "$INSTALL" -eq 0 ]; then
  echo "using $PY as it is (--no-install)" >&2
elif [ "$DRY_RUN" -eq 1 ]; then
  echo "[dry-run] install: source scripts/venv.sh && install_into_venv \"$EXTRAS\"" >&2
else
  # shellcheck source=SCRIPTDIR/../scripts/venv.sh
  source scripts/venv.sh
  install_into_venv "$EXTRAS" >"$LOG_DIR/install.log" 2>&1 || {
    echo "install failed: see $LOG_DIR/install.log" >&2
    exit 1
  }
fi

run device "$PY" -c 'import jax; print(jax.default_backend(), jax.devices())' || true
if [ "$MODE" = gpu ] && [ "$DRY_RUN" -eq 0 ] && ! grep -q '^gpu' "$LOG_DIR/device.log"; then
  echo "JAX sees no GPU (see $LOG_DIR/device.log): is the CUDA extra installed for this driver?" >&2
  exit 1
fi
run info "$PY" -m handwritten info --json || true
tests_status=$(status_of tests "$PY" -m pytest -q -p no:cacheprovider "${TEST_SELECTION[@]}")
for arch in $ARCHS; do
  run "bench-$arch" "$PY" -m handwritten bench --arch "$arch" --json || true
done
run data "$PY" -m handwritten data fetch --quiet || true
train_status=$(status_of train "$PY" -m handwritten train --preset "$PRESET" --json --quiet \
  --run-dir "$LOG_DIR/run-$PRESET")

if [ "$DRY_RUN" -eq 1 ]; then
  echo "[dry-run] summary: one JSON line from the logs in $LOG_DIR" >&2
  exit 0
fi
"$PY" - "$LOG_DIR" "$MODE" "$PRESET" "$tests_status" "$train_status" "$ARCHS" <<'EOF'
import json, re, sys
from pathlib import Path

log_dir, mode, preset, tests_status, train_status, archs = sys.argv[1:]


def last_json(name):
    path = Path(log_dir) / f"{name}.log"
    lines = path.read_text().splitlines() if path.is_file() else []
    for line in reversed(lines):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                break
    return None


tests_log = Path(log_dir, "tests.log")
tests_tail = tests_log.read_text().strip().splitlines()[-1:] if tests_log.is_file() else []
bench_keys = ("train_images_per_second", "first_step_seconds", "predict_latency_ms",
              "micro_batches", "device")
benches = {}
for arch in archs.split():
    result = last_json(f"bench-{arch}")
    benches[arch] = {k: result.get(k) for k in bench_keys} if result else None
train = last_json("train")
train_keys = ("test_accuracy", "duration_seconds", "train_images_per_second", "device")
print(json.dumps({
    "mode": mode,
    "device": (Path(log_dir, "device.log").read_text().strip() or None),
    "info": last_json("info"),
    "tests": {"exit_status": int(tests_status), "summary": " ".join(tests_tail)},
    "bench": benches,
    "train": {"preset": preset, "exit_status": int(train_status),
              **({k: train.get(k) for k in train_keys} if train else {})},
    "logs": log_dir,
}))
EOF
