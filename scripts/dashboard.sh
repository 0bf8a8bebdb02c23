#!/usr/bin/env bash
# Install the project into .venv and open the dashboard on the shipped default model.
# Extra arguments go to `streamlit run` (e.g. --server.port 8502).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
install_into_venv "."
exec .venv/bin/streamlit run app.py "$@"
