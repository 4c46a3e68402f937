"""A real `techmap serve` and Debian's Chromium for the tests that need them."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

TECHMAP = Path(sys.executable).parent / "techmap"
CHROMIUM = "/usr/bin/chromium"  # Debian's package; a browser is never downloaded
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_answering(url: str, process: subprocess.Popen, log: Path, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"techmap serve exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"techmap serve did not answer within {seconds}s:\n{log.read_text()}")


@contextmanager
def techmap_server(
    env: dict, data_dir: Path, *, cwd=None, seconds: float = 120, workers: int | None = None
):
    """Run `techmap serve` on a free loopback port; yield its base URL, then stop it.

    The server's output goes to data_dir/server.log.
    """
    port = free_port()
    log = data_dir / "server.log"
    args = [str(TECHMAP), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers:
        args += ["--workers", str(workers)]
    with log.open("w") as out:
        process = subprocess.Popen(
            args,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(f"{url}/api/facets", process, log, seconds)
        yield url
    finally:
        # `techmap serve` execs gunicorn in its own session: stop that group and nothing else.
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@contextmanager
def bundled_server(data_dir: Path):
    """`techmap serve` on a fresh SQLite database in data_dir holding the bundled dataset,
    with the default settings (no tile server, any site may frame /embed/)."""
    env = {**os.environ, "TECHMAP_DATA_DIR": str(data_dir), "TECHMAP_DEBUG": "false"}
    for name in ("TECHMAP_DATABASE_URL", "TECHMAP_TILE_URL", "TECHMAP_EMBED_ANCESTORS"):
        env.pop(name, None)  # always the temporary SQLite file and the defaults
    subprocess.run([str(TECHMAP), "init"], env=env, check=True, capture_output=True)
    with techmap_server(env, data_dir, seconds=90) as url:
        yield url


@contextmanager
def chromium_browser():
    """Debian's Chromium driven by Playwright (one sync Playwright instance at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
