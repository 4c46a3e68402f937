"""Import and GeoJSON export, each against its baseline, on SQLite or PostgreSQL.

1. Import: `techmap import data.csv --format aspi` (a fresh migrated database: start-up,
   validation, writes, indexes) against `sqlite-utils insert DB rows data.csv --csv` (a fresh
   SQLite file) on the same SYNTHETIC file (bench/synthetic.py). sqlite-utils has no
   PostgreSQL counterpart, so on PostgreSQL ours is compared with the same SQLite baseline.
   Targets: at least IMPORT_RATIO_TARGET of the baseline's rows per second, and 1,000,000
   rows in under IMPORT_SECONDS_TARGET seconds.
2. GeoJSON export of the imported entries: techmap's exporter against one raw query of the
   same rows and fields (sqlite3, or psycopg on PostgreSQL) plus an orjson dump, in one
   process (bench/export_worker.py). Target: at most EXPORT_TARGET times the baseline.
"""

import shutil
import sqlite3
import tempfile
from pathlib import Path

from bench.common import median, met, run_json_worker, table
from bench.datasets import TECHMAP, BenchError, empty_database, run, techmap_env
from bench.synthetic import write_synthetic_csv

SQLITE_UTILS = TECHMAP.parent / "sqlite-utils"
IMPORT_RATIO_TARGET = 0.5  # ours / baseline rows per second, at least
IMPORT_SECONDS_TARGET = 60.0  # for 1,000,000 rows
EXPORT_TARGET = 2.0  # ours / baseline seconds, at most
TITLE = "Import (`aspi` format) and GeoJSON export"


def _published_count(database_url: str) -> int:
    query = "select count(*) from catalog_entry where status = 'published'"
    if database_url.startswith("sqlite:///"):
        con = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            return con.execute(query).fetchone()[0]
        finally:
            con.close()
    import psycopg

    with psycopg.connect(database_url) as con:
        return con.execute(query).fetchone()[0]


def _sqlite_rows(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("select count(*) from rows").fetchone()[0]
    finally:
        con.close()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def measure(size: int, backend: str, repeat: int, log) -> dict:
    """Import `size` synthetic rows `repeat` times (alternating with sqlite-utils), then
    time the GeoJSON export of the last import against its raw baseline."""
    with tempfile.TemporaryDirectory(prefix=f"techmap-bench-import-{size}-") as temp:
        folder = Path(temp)
        data = write_synthetic_csv(folder / "data.csv", size)
        baseline_db = folder / "baseline.sqlite3"
        ours, baseline = [], []
        if backend == "sqlite":
            template = folder / "template.sqlite3"
            run([TECHMAP, "migrate", "-v", "0"], techmap_env(folder, f"sqlite:///{template}"))
            for i in range(repeat):
                log(f"  import {size:,} rows on sqlite, run {i + 1}/{repeat}")
                database = folder / "bench.sqlite3"
                _remove_sqlite(database)
                shutil.copyfile(template, database)  # a fresh migrated database
                url = f"sqlite:///{database}"
                ours.append(run([TECHMAP, "import", data, "--format", "aspi"],
                                techmap_env(folder, url)))  # fmt: skip
                _remove_sqlite(baseline_db)
                baseline.append(run([SQLITE_UTILS, "insert", baseline_db, "rows", data, "--csv"]))
            return _finish(size, backend, folder, data, url, ours, baseline, repeat, log)
        for i in range(repeat):
            with empty_database(backend, folder) as url:
                env = techmap_env(folder, url)
                run([TECHMAP, "migrate", "-v", "0"], env)  # schema, untimed
                log(f"  import {size:,} rows on {backend}, run {i + 1}/{repeat}")
                ours.append(run([TECHMAP, "import", data, "--format", "aspi"], env))
                _remove_sqlite(baseline_db)
                baseline.append(run([SQLITE_UTILS, "insert", baseline_db, "rows", data, "--csv"]))
                if i == repeat - 1:
                    return _finish(size, backend, folder, data, url, ours, baseline, repeat, log)
    raise BenchError("no import run")


def _finish(size, backend, folder, data, url, ours, baseline, repeat, log) -> dict:
    for name, count in (("techmap", _published_count(url)),
                        ("sqlite-utils", _sqlite_rows(folder / "baseline.sqlite3"))):  # fmt: skip
        if count != size:
            raise BenchError(f"{name} import holds {count} rows, expected {size}")
    log(f"  export {size:,} entries to GeoJSON on {backend}, {repeat} runs each")
    export = run_json_worker(
        "bench.export_worker",
        ["--database-url", url, "--output-dir", folder, "--repeat", repeat],
        techmap_env(folder, url),
    )
    if set(export["counts"].values()) != {size}:
        raise BenchError(f"export counts differ from {size}: {export['counts']}")
    return {
        "size": size,
        "backend": backend,
        "csv_bytes": data.stat().st_size,
        "import": {"ours": ours, "baseline": baseline},
        "export": export["timings"],
    }


def report(results: list[dict]) -> str:
    """The Markdown section of every (size, backend) result."""
    lines = [
        f"## {TITLE}",
        "",
        "Import: `techmap import data.csv --format aspi` into a fresh migrated database "
        "(whole command: start-up, validation, writes, indexes) against `sqlite-utils insert "
        "DB rows data.csv --csv` into a fresh SQLite file, on the same SYNTHETIC file "
        "(bench/synthetic.py). sqlite-utils has no PostgreSQL mode, so PostgreSQL rows "
        "compare our PostgreSQL import with the same SQLite baseline. Targets: ratio "
        f">= {IMPORT_RATIO_TARGET} and 1,000,000 rows in < {IMPORT_SECONDS_TARGET:.0f} s.",
        "",
    ]
    rows = []
    for r in results:
        ours, base = median(r["import"]["ours"]), median(r["import"]["baseline"])
        ratio = base / ours  # (rows / ours) / (rows / base)
        ok = ratio >= IMPORT_RATIO_TARGET and (
            r["size"] < 1_000_000 or ours < IMPORT_SECONDS_TARGET
        )
        rows.append([
            f"{r['size']:,}", r["backend"], f"{ours:.2f}", f"{r['size'] / ours:,.0f}",
            f"{base:.2f}", f"{r['size'] / base:,.0f}", f"{ratio:.2f}", met(ok),
        ])  # fmt: skip
    lines += table(
        ["rows", "backend", "techmap import (s)", "rows/s", "sqlite-utils (s)", "rows/s",
         "ratio ours/baseline (rows/s)", "targets met"],
        rows,
    )  # fmt: skip
    lines += [
        "",
        'Export: `export_to_path(export_entries(), "geojson", path)` (what `techmap export '
        "--format geojson` runs, in-process without start-up) against one raw query of the "
        "same rows and fields (category, country, companies, topics, sources joined in SQL; "
        "sqlite3 or psycopg) made dicts and written with `orjson.dumps`. Target: ratio "
        f"<= {EXPORT_TARGET}.",
        "",
    ]
    rows = []
    for r in results:
        ours, base = median(r["export"]["ours"]), median(r["export"]["baseline"])
        rows.append([f"{r['size']:,}", r["backend"], f"{ours:.2f}", f"{base:.2f}",
                     f"{ours / base:.2f}", met(ours / base <= EXPORT_TARGET)])  # fmt: skip
    lines += table(
        ["entries", "backend", "techmap export (s)", "raw query + orjson (s)",
         "ratio ours/baseline", "target met"],
        rows,
    )  # fmt: skip
    lines += ["", "Every run (seconds):", ""]
    for r in results:
        runs = "; ".join(
            f"{what} {side} " + ", ".join(f"{v:.2f}" for v in r[what][side])
            for what in ("import", "export") for side in ("ours", "baseline")
        )  # fmt: skip
        lines.append(f"- {r['size']:,} rows on {r['backend']} "
                     f"({r['csv_bytes'] / 1e6:.1f} MB CSV): {runs}")  # fmt: skip
    return "\n".join(lines) + "\n"
