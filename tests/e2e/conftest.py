"""Real-browser fixtures: a Streamlit server on a free port and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ..conftest import write_synthetic_mnist

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# The servers' synthetic MNIST: small, so training jobs finish in seconds.
SYNTHETIC_TRAIN = 2048
SYNTHETIC_TEST = 256
# Playwright's default 5 s per expectation is too short for a cold server on a loaded 2-core
# machine (loading JAX and the model, compiling): waits still end as soon as the condition holds.
expect.set_options(timeout=60_000)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is needed for browser tests: apt-get install -y chromium")
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args() -> dict:
    return {"viewport": {"width": 1300, "height": 1300}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    home: Path, *, data_dir: Path | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`streamlit run app.py` with its own HANDWRITTEN_HOME and a small synthetic MNIST (so
    training jobs start fast), or the MNIST folder `data_dir`, and `env` on top; returns
    (process, base URL)."""
    port = _free_port()
    data = data_dir or write_synthetic_mnist(
        home.parent / "mnist", n_train=SYNTHETIC_TRAIN, n_test=SYNTHETIC_TEST
    )
    env = (
        os.environ
        | {"HANDWRITTEN_HOME": str(home), "HANDWRITTEN_DATA_DIR": str(data)}
        | (env or {})
    )
    log_path = home.parent / f"streamlit-{port}.log"
    with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"streamlit did not start; see {log_path}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_server(tmp_path_factory.mktemp("e2e") / "home")
    yield url
    process.terminate()
    process.wait(timeout=20)


def save_screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
