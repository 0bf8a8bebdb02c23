# Sourced by the set-up scripts: make .venv (Python 3.11+) and install the project into it with
# the tested versions from constraints.txt. $1: what to install, e.g. "." or ".[test]".
install_into_venv() {
  local python=${PYTHON:-python3}
  if [ ! -x .venv/bin/pip ]; then
    rm -rf .venv
    if ! "$python" -m venv .venv; then
      # Debian's python3 ships venv separately.
      rm -rf .venv
      if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -q && apt-get install -y -q python3-venv
        "$python" -m venv .venv
      else
        echo "cannot create a virtual environment: install python3-venv (or set PYTHON)" >&2
        return 1
      fi
    fi
  fi
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e "$1"
}
