# Sourced by the set-up scripts: make .venv (Python 3.11+) and install the project into it with
# the tested versions from constraints.txt. $1: what to install, e.g. "." or ".[test]".
install_into_venv() {
  local python=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e "$1"
}
