"""Helpers shared by the benchmark modules: timing side by side, medians, the machine."""

import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def alternate(sides: dict, repeat: int) -> dict[str, list[float]]:
    """Run each side's callable `repeat` times, the sides taking turns; seconds per run.

    Taking turns means a burst of load from elsewhere on the machine hits every side alike.
    """
    timings = {name: [] for name in sides}
    for _ in range(repeat):
        for name, call in sides.items():
            start = time.perf_counter()
            call()
            timings[name].append(time.perf_counter() - start)
    return timings


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table; numeric-looking columns are right-aligned by the first row."""
    align = ["---:" if str(c).replace(",", "").replace(".", "").isdigit() else "---"
             for c in (rows[0] if rows else header)]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def run_json_worker(module: str, args: list, env: dict) -> dict:
    """Run `python -m module args` with env (a data set's); return the JSON it prints."""
    import json

    result = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        env=env, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if result.returncode != 0:
        from bench.datasets import BenchError

        raise BenchError(f"{module} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout)


def machine() -> dict:
    """What the figures were measured on."""
    cpu = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with suppress(OSError, IndexError, ValueError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GB RAM"
    return {
        "uname": " ".join(platform.uname()),
        "cpu": cpu or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def postgres_version() -> str:
    from bench.datasets import POSTGRES_ADMIN_URL

    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as connection:
            return connection.execute("show server_version").fetchone()[0]
    except Exception:
        return ""


def git_revision() -> str:
    def git(*args):
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()

    try:
        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain")
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''}" if head else "unknown"
