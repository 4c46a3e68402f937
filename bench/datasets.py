"""The benchmarks' data sets and servers: a temporary techmap database of N SYNTHETIC
entries (written by `techmap synth`) on SQLite or PostgreSQL, and `techmap serve` on it.

Nothing here touches the user's database: each data set has its own TECHMAP_DATA_DIR and
TECHMAP_DATABASE_URL, and a PostgreSQL data set lives in its own database, dropped after.

    with dataset(100_000, "sqlite") as ds:
        with served(ds.env, workers=2) as url:
            ...
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TECHMAP = BIN / "techmap"
BACKENDS = ("sqlite", "postgresql")
# The server the benchmarks use for PostgreSQL; its maintenance database creates and drops
# one throw-away database per data set.
POSTGRES_ADMIN_URL = os.environ.get(
    "TECHMAP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


class BenchError(RuntimeError):
    """A benchmarked command failed; the message holds its output."""


@dataclass
class Dataset:
    size: int
    backend: str
    folder: Path
    env: dict  # the environment of any techmap command that must see this data set
    database_url: str
    sqlite_path: Path | None  # the database file, for raw sqlite3 baselines
    build_seconds: float


def techmap_env(folder: Path, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECHMAP_")}
    env["TECHMAP_DATA_DIR"] = str(folder)
    env["TECHMAP_DATABASE_URL"] = database_url
    return env


def run(args: list, env: dict | None = None) -> float:
    """Run a command; return its wall-clock time in seconds, or raise BenchError."""
    start = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise BenchError(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def _postgres_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(sql)


@contextmanager
def empty_database(backend: str, folder: Path):
    """A fresh, unmigrated database of the backend; yields its TECHMAP_DATABASE_URL."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.sqlite3'}"
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}; choose from {BACKENDS}")
    name = f"techmap_bench_{uuid.uuid4().hex[:12]}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def dataset(size: int, backend: str = "sqlite", *, seed: int = 1, log=print):
    """A migrated techmap database holding the bundled dataset plus `size` synthetic entries."""
    with tempfile.TemporaryDirectory(prefix=f"techmap-bench-{backend}-{size}-") as temp:
        folder = Path(temp)
        with empty_database(backend, folder) as database_url:
            env = techmap_env(folder, database_url)
            log(f"  building {size:,} synthetic entries on {backend}")
            run([TECHMAP, "init"], env)
            seconds = run([TECHMAP, "synth", "--entries", str(size), "--seed", str(seed)], env)
            sqlite_path = folder / "bench.sqlite3" if backend == "sqlite" else None
            yield Dataset(size, backend, folder, env, database_url, sqlite_path, seconds)


def _wait_until_answering(url: str, process: subprocess.Popen, log: Path, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"techmap serve exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise BenchError(f"techmap serve did not answer within {seconds}s:\n{log.read_text()}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(env: dict, *, workers: int = 2, extra_env: dict | None = None, seconds: float = 180):
    """`techmap serve --workers N` on a free loopback port; yields (base URL, process)."""
    port = free_port()
    folder = Path(env["TECHMAP_DATA_DIR"])
    log = folder / f"server-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(TECHMAP), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env={**env, **(extra_env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(f"{url}/api/facets", process, log, seconds)
        yield url, process
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
