"""Many people drawing at once: N browser sessions against one dashboard server on this machine.

Starts `streamlit run app.py` (the shipped default model, its own HANDWRITTEN_HOME), opens N
pages in one headless Chromium (Playwright, Debian's /usr/bin/chromium), and has every page draw
digits at the same time: clear, draw a digit with the mouse, and time pen-up to the moment the
page shows the right answer (the canvas's own 200 ms debounce included). Prints a table of
p50/p95 per N, the server's peak memory, and how the machine's CPU time split between the
server and the browser during each N (the browser runs on the same cores).

    .venv/bin/python benchmarks/serve_load.py                  # N = 1, 5, 10, 20
    .venv/bin/python benchmarks/serve_load.py --sessions 1 10 --drawings 6 --json

Needs the test extras (playwright) and Debian's chromium, like the real-browser tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
from playwright.async_api import Page, async_playwright, expect

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Strokes in the 320 px canvas's coordinates, and the digit each must be read as.
DIGITS = [
    ("1", [[(160, 50), (160, 270)]]),
    ("7", [[(90, 60), (230, 60), (130, 270)]]),
    ("0", [[(160, 50), (230, 100), (235, 220), (160, 275), (90, 220), (85, 100), (160, 50)]]),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {"HANDWRITTEN_HOME": str(home)}
    log = (home.parent / "streamlit.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"streamlit did not start; see {home.parent / 'streamlit.log'}")


def prediction(page: Page):
    return page.locator('[data-testid="stMetric"]').filter(has_text="Prediction").first


async def draw(page: Page, strokes: list[list[tuple[int, int]]]) -> None:
    box = await page.locator("canvas.upper-canvas").bounding_box()
    assert box is not None
    for points in strokes:
        x, y = points[0]
        await page.mouse.move(box["x"] + x, box["y"] + y)
        await page.mouse.down()
        for x, y in points[1:]:
            await page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
        await page.mouse.up()


async def session(page: Page, url: str, drawings: int, offset: int, start: asyncio.Event):
    """Open the Draw page, wait for everyone, then draw: pen-up-to-answer seconds each."""
    await page.goto(url)
    await expect(prediction(page)).to_have_text("Prediction–", timeout=120_000)
    await start.wait()
    latencies = []
    for index in range(drawings):
        digit, strokes = DIGITS[(index + offset) % len(DIGITS)]
        await draw(page, strokes)
        pen_up = time.perf_counter()
        await expect(prediction(page)).to_have_text(f"Prediction{digit}", timeout=120_000)
        latencies.append(time.perf_counter() - pen_up)
        await page.get_by_role("button", name="Reset canvas & history").click()
        await expect(prediction(page)).to_have_text("Prediction–", timeout=120_000)
    return latencies


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def family(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


async def one_load(browser, url: str, server: psutil.Process, sessions: int, drawings: int):
    contexts = [await browser.new_context(viewport={"width": 1300, "height": 1000})
                for _ in range(sessions)]  # fmt: skip
    pages = [await context.new_page() for context in contexts]
    start = asyncio.Event()
    tasks = [asyncio.create_task(session(page, url, drawings, i, start))
             for i, page in enumerate(pages)]  # fmt: skip
    while not all(p.url.startswith(url) for p in pages):
        await asyncio.sleep(0.1)
    await asyncio.sleep(0)  # every page is loading; start drawing once all show the prompt
    ready = [expect(prediction(p)).to_have_text("Prediction–", timeout=120_000) for p in pages]
    await asyncio.gather(*ready)
    # The browser: this process's descendants (Playwright's driver and its Chromium), less the
    # server (also a child).
    server_pids = {p.pid for p in family(server.pid)}
    browser_procs = [p for p in family(os.getpid())[1:] if p.pid not in server_pids]
    server_before, browser_before = cpu_seconds([server]), cpu_seconds(browser_procs)
    began = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    server_cpu = cpu_seconds([server]) - server_before
    browser_cpu = cpu_seconds(browser_procs) - browser_before
    for context in contexts:
        await context.close()
    latencies = sorted(x for per_session in results for x in per_session)
    p95_index = min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))
    return {
        "sessions": sessions,
        "drawings": len(latencies),
        "p50_seconds": statistics.median(latencies),
        "p95_seconds": latencies[p95_index],
        "max_seconds": latencies[-1],
        "server_rss_mb": server.memory_info().rss / 2**20,
        "wall_seconds": wall,
        "server_cpu_seconds": server_cpu,
        "browser_cpu_seconds": browser_cpu,
        "server_cpu_share": server_cpu / max(server_cpu + browser_cpu, 1e-9),
    }


async def run(sessions: list[int], drawings: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        process, url = start_server(Path(folder) / "home")
        server = psutil.Process(process.pid)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                await one_load(browser, url, server, 1, 2)  # warm-up: model load, compile
                rows = []
                for count in sessions:
                    rows.append(await one_load(browser, url, server, count, drawings))
                    print(format_row(rows[-1]), file=sys.stderr, flush=True)
                await browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    return rows


def format_row(row: dict) -> str:
    return (
        f"N={row['sessions']:3d}  drawings {row['drawings']:4d}  "
        f"p50 {row['p50_seconds']:.3f} s  p95 {row['p95_seconds']:.3f} s  "
        f"max {row['max_seconds']:.3f} s  server RSS {row['server_rss_mb']:.0f} MB  "
        f"server share of CPU {row['server_cpu_share']:.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--drawings", type=int, default=5, help="per session and N")
    parser.add_argument("--json", action="store_true", help="one JSON line at the end")
    args = parser.parse_args()
    rows = asyncio.run(run(args.sessions, args.drawings))
    print("| N sessions | drawings | p50 s | p95 s | max s | server RSS MB | server CPU share |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['sessions']} | {row['drawings']} | {row['p50_seconds']:.3f} | "
            f"{row['p95_seconds']:.3f} | {row['max_seconds']:.3f} | "
            f"{row['server_rss_mb']:.0f} | {row['server_cpu_share']:.0%} |"
        )
    if args.json:
        print(json.dumps({"load": os.getloadavg(), "rows": rows}))


if __name__ == "__main__":
    main()
