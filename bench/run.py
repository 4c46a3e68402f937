#!/usr/bin/env python
"""Benchmarks of issue 3's speed targets, each side by side with its baseline in one run.

1. Import: `techmap import data.csv --format aspi` against `sqlite-utils insert DB rows
   data.csv --csv` on the same SYNTHETIC China Tech Map style file (bench/synthetic.py),
   each into a fresh database. Target: ours at >= 0.5x the baseline's rows per second.
2. GeoJSON export of the imported entries: techmap's exporter against a raw sqlite3 fetch
   of the same rows and fields plus an orjson dump (bench/export_worker.py, in one
   process). Target: ours within 2x the baseline's time.

Each measurement is repeated (3 times by default) and the median kept; the two sides
alternate so that load from elsewhere on the machine hits both alike. Every data set
lives in its own temporary folder with its own TECHMAP_DATA_DIR and
TECHMAP_DATABASE_URL, never in the real database. Results go to bench/results.md (or
--output) and to stdout.

    .venv/bin/python bench/run.py [--sizes 4000,100000] [--quick] [--output PATH]
"""

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the repo is not
    sys.path.insert(0, str(ROOT))

from bench.synthetic import write_synthetic_csv  # noqa: E402

BIN = Path(sys.executable).parent
TECHMAP = BIN / "techmap"
SQLITE_UTILS = BIN / "sqlite-utils"
DEFAULT_SIZES = (4000, 100000)
QUICK_SIZES = (300,)
IMPORT_TARGET = 0.5  # ours / baseline rows per second, at least
EXPORT_TARGET = 2.0  # ours / baseline seconds, at most
DEFAULT_OUTPUT = ROOT / "bench" / "results.md"


class BenchError(RuntimeError):
    """A benchmarked command failed; the message holds its output."""


def bench_env(folder: Path, database: Path) -> dict:
    """The environment of a command that must only ever see the benchmark's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECHMAP_")}
    env["TECHMAP_DATA_DIR"] = str(folder)
    env["TECHMAP_DATABASE_URL"] = f"sqlite:///{database}"
    return env


def run(args: list, env: dict | None = None) -> float:
    """Run a command; return its wall-clock time in seconds, or raise BenchError."""
    start = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise BenchError(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def bench_size(n_rows: int, repeat: int, log) -> dict:
    """Import and export benchmarks of one synthetic data set of n_rows rows."""
    with tempfile.TemporaryDirectory(prefix=f"techmap-bench-{n_rows}-") as temp:
        folder = Path(temp)
        data = write_synthetic_csv(folder / "data.csv", n_rows)
        template, database, baseline_db = (
            folder / "template.sqlite3",
            folder / "bench.sqlite3",
            folder / "baseline.sqlite3",
        )
        run([TECHMAP, "migrate", "-v", "0"], bench_env(folder, template))  # schema, untimed
        env = bench_env(folder, database)
        ours, baseline = [], []
        for i in range(repeat):
            log(f"  import {n_rows} rows, run {i + 1}/{repeat}")
            remove_database(database)
            shutil.copyfile(template, database)
            ours.append(run([TECHMAP, "import", data, "--format", "aspi"], env))
            remove_database(baseline_db)
            baseline.append(run([SQLITE_UTILS, "insert", baseline_db, "rows", data, "--csv"]))
        check_counts(database, baseline_db, n_rows)
        log(f"  export {n_rows} entries to GeoJSON, {repeat} runs each")
        result = subprocess.run(
            [sys.executable, "-m", "bench.export_worker", "--database", database,
             "--output-dir", folder, "--repeat", str(repeat)],
            env=env, capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        if result.returncode != 0:
            raise BenchError(f"export worker failed:\n{result.stderr}")
        export = json.loads(result.stdout)
        if export["counts"]["ours"] != n_rows or export["counts"]["baseline"] != n_rows:
            raise BenchError(f"export counts differ from {n_rows}: {export['counts']}")
        return {
            "rows": n_rows,
            "csv_bytes": data.stat().st_size,
            "import": {"ours": ours, "baseline": baseline},
            "export": export["timings"],
        }


def check_counts(database: Path, baseline_db: Path, n_rows: int) -> None:
    """Both imports must have written every row, or the timings mean nothing."""
    for path, query in (
        (database, "select count(*) from catalog_entry where status = 'published'"),
        (baseline_db, "select count(*) from rows"),
    ):
        con = sqlite3.connect(path)
        try:
            (count,) = con.execute(query).fetchone()
        finally:
            con.close()
        if count != n_rows:
            raise BenchError(f"{path.name} holds {count} rows, expected {n_rows}")


def machine() -> dict:
    """What the figures were measured on."""
    cpu = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    return {
        "uname": " ".join(platform.uname()),
        "cpu": cpu or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load": " ".join(f"{x:.2f}" for x in load),
    }


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''}" if head else "unknown"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def report(results: list[dict], info: dict, repeat: int, started: dt.datetime) -> str:
    """The results as Markdown."""
    sizes = ",".join(str(r["rows"]) for r in results)
    lines = [
        "# techmap benchmarks",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {info['uname']}",
        f"- CPU: {info['cpu']}, {info['cores']} cores (load average at start: {info['load']})",
        f"- Python {info['python']}, SQLite {info['sqlite']}",
        f"- Code: {git_revision()}",
        f"- Command: `.venv/bin/python bench/run.py --sizes {sizes}"
        f"{'' if repeat == 3 else f' --repeat {repeat}'}`",
        f"- Each figure is the median of {repeat} run(s); ours and the baseline alternate.",
        "- Data: SYNTHETIC China Tech Map style data.csv files written by bench/synthetic.py "
        '("Synthetic entry N", made-up companies, categories, topics and example.org '
        "sources, points near real cities), imported into temporary databases only.",
        "",
        "## Import (`aspi` format)",
        "",
        "`techmap import data.csv --format aspi` (fresh migrated database: start-up, "
        "validation, writes and indexes) against `sqlite-utils insert DB rows data.csv --csv` "
        "(fresh database) on the same file; both timed as whole commands.",
        "",
        "| rows | techmap import (s) | rows/s | sqlite-utils insert (s) | rows/s "
        "| ratio ours/baseline | target | met |",
        "|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        ours, base = (statistics.median(r["import"][side]) for side in ("ours", "baseline"))
        ratio = base / ours  # (rows/ours) / (rows/base)
        lines.append(
            f"| {r['rows']:,} | {ours:.2f} | {r['rows'] / ours:,.0f} | {base:.2f} "
            f"| {r['rows'] / base:,.0f} | {ratio:.2f} | >= {IMPORT_TARGET} "
            f"| {_met(ratio >= IMPORT_TARGET)} |"
        )
    lines += [
        "",
        "## GeoJSON export",
        "",
        'techmap\'s `export_to_path(export_entries(), "geojson", path)` (what `techmap export '
        "--format geojson` runs, timed in-process without Django's start-up) against one raw "
        "`sqlite3` query of the same rows and fields (category, country, companies, topics, "
        "sources joined in SQL) turned into dicts and written with `orjson.dumps`.",
        "",
        "| entries | techmap export (s) | raw sqlite3 + orjson (s) | ratio ours/baseline "
        "| target | met |",
        "|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        ours, base = (statistics.median(r["export"][side]) for side in ("ours", "baseline"))
        ratio = ours / base
        lines.append(
            f"| {r['rows']:,} | {ours:.2f} | {base:.2f} | {ratio:.2f} | <= {EXPORT_TARGET} "
            f"| {_met(ratio <= EXPORT_TARGET)} |"
        )
    lines += ["", "## Every run (seconds)", ""]
    for r in results:
        lines += [
            f"- {r['rows']:,} rows ({r['csv_bytes'] / 1e6:.1f} MB CSV): "
            f"import ours {_seconds(r['import']['ours'])}; "
            f"sqlite-utils {_seconds(r['import']['baseline'])}; "
            f"export ours {_seconds(r['export']['ours'])}; "
            f"raw {_seconds(r['export']['baseline'])}",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Import and GeoJSON export benchmarks against their baselines."
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help="Comma-separated numbers of rows (default: 4000,100000; --quick: 300).",
    )
    parser.add_argument("--quick", action="store_true", help="300 rows, one run: a smoke test.")
    parser.add_argument("--repeat", type=int, default=None, help="Runs per measurement (3).")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown results file to write."
    )
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.sizes:
        sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    repeat = args.repeat or (1 if args.quick else 3)

    started = dt.datetime.now(dt.UTC)
    info = machine()

    def log(message):
        print(message, file=sys.stderr, flush=True)

    results = []
    for n_rows in sizes:
        log(f"{n_rows} synthetic rows:")
        results.append(bench_size(n_rows, repeat, log))
    text = report(results, info, repeat, started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    print(f"Written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
