"""A fresh machine in a real browser: no MNIST anywhere, open /train, press Start training, and
the curve grows with no command typed in between.

The dashboard's own fetch runs (download with progress, md5 check, atomic write): its source is
a local ``file://`` mirror of the synthetic MNIST (``HANDWRITTEN_MNIST_MIRRORS``), and the md5s
it checks are patched to those files' through a test-only ``sitecustomize`` in the server (and
its training job), the way tests/test_mnist.py patches them in-process.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from playwright.sync_api import Page, expect

from handwritten.data.mnist import MNIST_FILES, md5_of

from ..conftest import write_synthetic_mnist
from .conftest import REPO, save_screenshot, start_server
from .test_train_page import POINTS

MD5S_ENV = "HANDWRITTEN_TEST_MNIST_MD5S"
MD5_HOOK = f"""
import json
import os
import sys

if os.environ.get("{MD5S_ENV}"):
    sys.path.insert(0, {str(REPO)!r})  # this checkout's package, not another install
    from handwritten.data import mnist

    _md5s = json.loads(os.environ["{MD5S_ENV}"])
    mnist.MNIST_FILES = {{
        key: mnist.MnistFile(spec.name, _md5s[spec.name], spec.count)
        for key, spec in mnist.MNIST_FILES.items()
    }}
"""


def offline_mirror(root: Path) -> tuple[Path, dict[str, str]]:
    """A folder of gzipped synthetic MNIST files and their raw md5s."""
    source = write_synthetic_mnist(root / "synthetic", n_train=2048, n_test=256)
    mirror = root / "mirror"
    mirror.mkdir()
    md5s = {}
    for spec in MNIST_FILES.values():
        raw = (source / spec.name).read_bytes()
        (mirror / f"{spec.name}.gz").write_bytes(gzip.compress(raw))
        md5s[spec.name] = md5_of(raw)
    return mirror, md5s


def test_a_fresh_machine_trains_from_the_train_page(page: Page, tmp_path: Path) -> None:
    mirror, md5s = offline_mirror(tmp_path)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(MD5_HOOK)
    empty = tmp_path / "no-mnist-yet"
    env = {
        "HANDWRITTEN_MNIST_AUTOFETCH": "1", "HANDWRITTEN_MNIST_MIRRORS": mirror.as_uri() + "/",
        MD5S_ENV: json.dumps(md5s), "PYTHONPATH": str(hook),
    }  # fmt: skip
    process, url = start_server(tmp_path / "home", data_dir=empty, env=env)
    try:
        page.goto(f"{url}/train")
        # A cold server's first page loads and warms the model while MNIST arrives.
        expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=180_000)
        start = page.get_by_role("button", name="Start training")
        expect(start).to_be_enabled(timeout=60_000)  # MNIST arrived by itself
        expect(page.get_by_text("needs MNIST")).to_have_count(0)
        page.get_by_label("Epochs", exact=True).fill("100")
        start.click()
        expect(page.get_by_text("status: running")).to_be_visible(timeout=60_000)
        # The first step compiles: seconds on an idle machine, a minute on a crowded one.
        page.wait_for_function(f"({POINTS})() >= 2", timeout=180_000)
        seen = page.evaluate(POINTS)
        page.wait_for_function(f"({POINTS})() > {seen}", timeout=120_000)
        save_screenshot(page, "first-run-training")
        page.get_by_role("button", name="Stop training").click()
        expect(page.get_by_text("The run stopped")).to_be_visible(timeout=90_000)
    finally:
        process.terminate()
        process.wait(timeout=20)
    for spec in MNIST_FILES.values():  # what the fetch wrote: the mirror's files, decompressed
        assert md5_of((empty / spec.name).read_bytes()) == md5s[spec.name]
