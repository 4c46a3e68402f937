#!/usr/bin/env python
"""Every benchmark of techmap in one command, each side by side with its baseline.

    .venv/bin/python bench/run.py [--sizes 4000,100000,1000000] [--backends sqlite,postgresql]
                                  [--only api,import,first_frame,load] [--quick] [--output PATH]
                                  [--append]

For each size and backend the driver builds one data set of N SYNTHETIC entries
(`techmap synth`, bench/datasets.py) and runs the benchmarks that measure a served data set
on it; the import benchmark builds its own databases from a synthetic CSV file. Each module
returns result dicts and writes its own Markdown section:

- import:      bench/import_export.py  import vs sqlite-utils, GeoJSON export vs raw query
- api:         bench/api_latency.py    bbox vs raw query, facets, first-view bytes, memory
- first_frame: bench/first_frame.py    first clustered frame in Chromium vs client clustering
- load:        bench/load.py           requests/s of cached GETs vs a bare Django view

A module that is not there (yet) is reported as such. PostgreSQL is skipped, with a line
saying so in the results, when its server does not answer. The results go to
bench/results.md (or --output) and to stdout; progress goes to stderr.
"""

import argparse
import datetime as dt
import importlib
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the repo is not
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.datasets import BACKENDS, POSTGRES_ADMIN_URL, dataset, postgres_available  # noqa: E402

DEFAULT_SIZES = (4000, 100_000, 1_000_000)
QUICK_SIZES = (300,)
DEFAULT_OUTPUT = ROOT / "bench" / "results.md"
# name -> module; "import" builds its own databases, the others measure a synthetic data set.
BENCHMARKS = {
    "import": "bench.import_export",
    "api": "bench.api_latency",
    "first_frame": "bench.first_frame",
    "load": "bench.load",
}
REPEAT = {"import": 3, "api": 15}  # runs per measurement; --quick: 1 (api: 3)
BIG = 1_000_000  # from this size on, imports run once (each takes minutes)
SYNTH_SECONDS_TARGET = 60.0  # `techmap synth --entries 1000000`, issue 5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_modules(names: list[str]) -> tuple[dict, dict]:
    """The benchmark modules that exist, and why the others are missing."""
    modules, missing = {}, {}
    for name in names:
        try:
            modules[name] = importlib.import_module(BENCHMARKS[name])
        except ModuleNotFoundError as exc:
            if exc.name != BENCHMARKS[name]:
                raise
            missing[name] = f"`{BENCHMARKS[name].replace('.', '/')}.py` is not in the repository"
    return modules, missing


def run_one(name: str, module, target, quick: bool, results: dict, failures: list) -> None:
    """module.measure() on target (a data set, or (size, backend) for the import)."""
    try:
        if name == "import":
            size, backend = target
            repeat = 1 if quick or size >= BIG else REPEAT["import"]
            results[name].append(module.measure(size, backend, repeat, log))
        elif name == "api":
            results[name].append(module.measure(target, 3 if quick else REPEAT["api"], log))
        else:
            results[name].append(module.measure(target, log=log, quick=quick))
    except Exception as exc:  # one failing benchmark must not lose the others' figures
        where = target if name == "import" else (target.size, target.backend)
        failures.append(f"{name} at {where}: {type(exc).__name__}: {str(exc)[:800]}")
        log(traceback.format_exc())


def datasets_report(built: list[tuple[int, str, float]]) -> str:
    """The Markdown section of how long `techmap synth` took to build each data set."""
    lines = [
        "## Synthetic data sets",
        "",
        "`techmap synth --entries N --seed 1` into a fresh database holding the bundled data "
        "(whole command: start-up, generation, writes, indexes, statistics). Target: "
        f"1,000,000 entries in < {SYNTH_SECONDS_TARGET:.0f} s.",
        "",
        "| entries | backend | synth (s) | entries/s | target met |",
        "|---:|---|---:|---:|---|",
    ]
    for size, backend, seconds in built:
        verdict = common.met(seconds < SYNTH_SECONDS_TARGET) if size >= BIG else "n/a"
        rate = f"{size / seconds:,.0f}"
        lines.append(f"| {size:,} | {backend} | {seconds:.1f} | {rate} | {verdict} |")
    return "\n".join(lines) + "\n"


def header(info: dict, args, started: dt.datetime, finished: dt.datetime, loads: list) -> list:
    pg = common.postgres_version()
    return [
        "# techmap benchmarks",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M')} to {finished.strftime('%H:%M UTC')}",
        f"- Machine: {info['uname']}",
        f"- CPU: {info['cpu']}, {info['cores']} cores, {info['memory']}",
        f"- Load average (1, 5, 15 min) at start: {loads[0]}; at end: {loads[-1]} "
        "(other work shares this machine; ours and each baseline alternate so both see it)",
        f"- Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL {pg or 'not available'}",
        f"- Code: {common.git_revision()}",
        f"- Command: `{args.command}`",
        "- Figures are medians of the runs listed; ours and the baseline alternate.",
        "- Data: SYNTHETIC entries only (`techmap synth`, bench/synthetic.py: made-up "
        "titles, companies and example.org sources, points near real cities), in temporary "
        "databases that are deleted afterwards.",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="Comma-separated entry counts (4000,100000,1000000).")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="sqlite,postgresql")
    parser.add_argument("--only", help=f"Comma-separated benchmarks: {','.join(BENCHMARKS)}.")
    parser.add_argument("--quick", action="store_true", help="300 entries, few runs: a smoke test.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file.")
    parser.add_argument(
        "--append", action="store_true",
        help="Add this run (with its own header) to the end of the output file.",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.command = " ".join([".venv/bin/python bench/run.py", *(argv or sys.argv[1:])])
    sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.sizes:
        sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    names = [n.strip() for n in (args.only or ",".join(BENCHMARKS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown or any(b not in BACKENDS for b in backends):
        parser.error(f"choose benchmarks from {list(BENCHMARKS)}, backends from {BACKENDS}")

    started, loads = dt.datetime.now(dt.UTC), [common.load_average()]
    info = common.machine()
    modules, missing = load_modules(names)
    notes = [f"- Not run: {name}: {why}." for name, why in missing.items()]
    if "postgresql" in backends and not postgres_available():
        backends.remove("postgresql")
        notes.append(f"- PostgreSQL skipped: no server answers at {POSTGRES_ADMIN_URL} "
                     "(set TECHMAP_BENCH_POSTGRES_URL).")  # fmt: skip
    results = {name: [] for name in modules}
    built: list[tuple[int, str, float]] = []
    failures: list[str] = []
    for size in sizes:
        for backend in backends:
            log(f"{size:,} entries on {backend}:")
            if "import" in modules:
                run_one("import", modules["import"], (size, backend), args.quick, results,
                        failures)  # fmt: skip
            served_names = [n for n in modules if n != "import"]
            if served_names:
                start = time.perf_counter()
                with dataset(size, backend, log=log) as ds:
                    log(f"  data set built in {time.perf_counter() - start:.0f} s")
                    built.append((size, backend, ds.build_seconds))
                    for name in served_names:
                        run_one(name, modules[name], ds, args.quick, results, failures)
            loads.append(common.load_average())

    finished = dt.datetime.now(dt.UTC)
    lines = header(info, args, started, finished, loads) + notes
    if failures:
        lines += ["", "## Failures", ""] + [f"- {f}" for f in failures]
    sections = [datasets_report(built)] if built else []
    sections += [modules[name].report(rows) for name, rows in results.items() if rows]
    text = "\n".join(lines) + "\n\n" + "\n".join(sections)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.append and args.output.exists():
        previous = args.output.read_text(encoding="utf-8")
        args.output.write_text(f"{previous}\n---\n\n{text}", encoding="utf-8")
    else:
        args.output.write_text(text, encoding="utf-8")
    print(text)
    log(f"Written to {args.output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
