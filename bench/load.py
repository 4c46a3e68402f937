#!/usr/bin/env python
"""Requests per second and errors of techmap's cached public GETs under a bounded load test
on loopback, against a bare Django JSON "hello" view under the same server.

The server is one `techmap serve --workers 2` (gunicorn, sync workers) on the data set, run
with bench/hello_settings.py: techmap's settings and full middleware stack, plus the URL
/bench/hello (bench/hello_urls.py) that returns a constant JSON body. So the baseline and
the pages share the gunicorn, the workers and the middleware; only the view differs.

Targets, each hit by `wrk` with 200 open connections for 60 s (`--timeout 30s`, gunicorn's
own worker timeout):
- `/` the map page;
- the GeoJSON endpoint a map client hits first: /api/map with the bbox and zoom that the
  map page requests on its first view at 1280x720 (WORLD_VIEW below);
- both again as CDN revalidations, with If-None-Match: <their ETag>, answered 304;
- `/bench/hello`, the baseline.
Ratio = requests per second of the target / of hello. Errors = connection, read, write and
timeout errors plus HTTP statuses >= 400, as wrk counts them.

wrk is Debian's package: ensure_wrk() installs it with apt-get when missing (as root), as
does `scripts/setup.sh --bench`. Without it the benchmark falls back to a threaded Python
load generator (python_load), much weaker than wrk, and says so in the report.

    .venv/bin/python bench/load.py --sizes 4000 --backends sqlite [--quick]
"""

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the repo is not
    sys.path.insert(0, str(ROOT))

from bench.datasets import dataset, served  # noqa: E402

WORKERS = 2
# A run much shorter than the slowest latency would count mostly unfinished requests.
CLIENTS, DURATION = 200, 60
QUICK_CLIENTS, QUICK_DURATION = 10, 3
TIMEOUT = 30  # seconds; gunicorn's default worker timeout
HELLO = "/bench/hello"
# The first /api/map request of the map page in a 1280x720 window (its WORLD bounds, zoom 1).
WORLD_VIEW = "/api/map?bbox=-130.0000%2C-60.1778%2C160.0000%2C74.4378&zoom=1"
HELLO_ENV = {"DJANGO_SETTINGS_MODULE": "bench.hello_settings", "PYTHONPATH": str(ROOT)}

# wrk calls done() once at the end: print the summary as one JSON line.
WRK_SCRIPT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def ensure_wrk(log=print) -> str | None:
    """The path of wrk, installing Debian's package when missing and allowed; else None."""
    found = shutil.which("wrk")
    if found or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    log("  installing wrk (Debian package) for the load test")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    return shutil.which("wrk")


def wrk_load(wrk: str, url: str, clients: int, seconds: float, headers: dict, folder: Path):
    """One bounded wrk run; its summary as a dict (see WRK_SCRIPT)."""
    script = folder / "wrk-summary.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    args = [wrk, "-t2", f"-c{clients}", f"-d{seconds}s", f"--timeout={TIMEOUT}s",
            "-s", str(script)]  # fmt: skip
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    result = subprocess.run(args + [url], capture_output=True, text=True, timeout=seconds + 120)
    match = re.search(r"^WRK-JSON (.*)$", result.stdout, re.M)
    if result.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    raw = json.loads(match.group(1))
    return {
        "requests": raw["requests"],
        "seconds": raw["duration_us"] / 1e6,
        "bytes": raw["bytes"],
        "errors": raw["errors"],
        "latency_ms": {k: v / 1000 for k, v in raw["latency_us"].items()},
    }


def python_load(url: str, clients: int, seconds: float, headers: dict, folder=None) -> dict:
    """The fallback when wrk is missing: `clients` threads, each sending requests in turn."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    latencies, received, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        while time.monotonic() < deadline:
            start = time.perf_counter()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
            try:
                connection.request("GET", target, headers=headers)
                response = connection.getresponse()
                body = response.read()
            except TimeoutError:
                kind = "timeout"
            except ConnectionRefusedError:
                kind = "connect"
            except OSError:
                kind = "read"
            else:
                kind = "status" if response.status >= 400 else None
            finally:
                connection.close()
            with lock:
                if kind:
                    errors[kind] += 1
                if kind in (None, "status"):
                    latencies.append(time.perf_counter() - start)
                    received[0] += len(body)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000

    return {
        "requests": len(latencies) + sum(errors[k] for k in errors if k != "status"),
        "seconds": elapsed,
        "bytes": received[0],
        "errors": errors,
        "latency_ms": {f"p{p}": percentile(p) for p in (50, 90, 99)} | {"max": percentile(100)}
        if latencies
        else {},
    }


def fetch(url: str, headers: dict | None = None) -> tuple[int, dict]:
    """Status and headers of one GET (304 is an answer, not an error)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def targets(url: str) -> list[tuple[str, str, dict]]:
    """(name, path, request headers) of every load-tested URL."""
    found = []
    for name, path in (("map page `/`", "/"), ("map GeoJSON `/api/map`", WORLD_VIEW)):
        status, headers = fetch(url + path)
        if status != 200 or "ETag" not in headers:
            raise RuntimeError(f"{path} answered {status} without an ETag: {headers}")
        found.append((name, path, {}))
        conditional = {"If-None-Match": headers["ETag"]}
        status, _ = fetch(url + path, conditional)
        if status == 304:  # checked here: wrk counts statuses, it does not report them
            found.append((f"{name}, If-None-Match → 304", path, conditional))
    return found


def measure(ds, log=print, quick: bool = False) -> dict:
    """Requests per second of the cached public GETs and of hello, under the same server."""
    wrk = ensure_wrk(log)
    clients = QUICK_CLIENTS if quick else CLIENTS
    load_before = [round(x, 2) for x in os.getloadavg()]
    results = {}
    with served(ds.env, workers=WORKERS, extra_env=HELLO_ENV) as (url, _process):
        status, _ = fetch(url + HELLO)
        if status != 200:
            raise RuntimeError(f"{HELLO} answered {status}: is bench.hello_settings in use?")
        plan = [("hello (baseline)", HELLO, {}), *targets(url)]
    generate = (lambda *args: wrk_load(wrk, *args)) if wrk else python_load
    seconds = QUICK_DURATION if quick else DURATION
    for name, path, headers in plan:
        # A fresh server for each target: gunicorn still works through the requests that
        # wrk left unanswered at the end of a run, which would slow the next target down.
        with served(ds.env, workers=WORKERS, extra_env=HELLO_ENV) as (url, _process):
            log(f"  load: {name}, {clients} clients for {seconds} s")
            outcome = generate(url + path, clients, seconds, headers, ds.folder)
        outcome["path"] = path
        outcome["rps"] = outcome["requests"] / outcome["seconds"]
        outcome["error_total"] = sum(outcome["errors"].values())
        results[name] = outcome
    hello_rps = results["hello (baseline)"]["rps"]
    problems = []
    for server_log in sorted(ds.folder.glob("server-*.log")):  # worker timeouts, crashes
        for line in server_log.read_text(errors="replace").splitlines():
            if "[CRITICAL]" in line or "[ERROR]" in line or "Traceback" in line:
                problems.append(line[:200])
    return {
        "benchmark": "load",
        "size": ds.size,
        "backend": ds.backend,
        "workers": WORKERS,
        "tool": _wrk_version(wrk) if wrk else "Python threads (fallback: wrk is not installed)",
        "clients": clients,
        "targets": results,
        "ratios": {name: r["rps"] / hello_rps for name, r in results.items() if hello_rps},
        "server_problems": problems[:20],
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def _wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    first = (result.stdout or result.stderr).strip().splitlines()
    return first[0].split(" [")[0] if first else "wrk"


def report(results: list[dict]) -> str:
    """A markdown section: one row per data set and target."""
    tools = sorted({r["tool"] for r in results})
    lines = [
        "## Load test: cached public GETs vs a bare Django view",
        "",
        f"`techmap serve --workers {WORKERS}` (gunicorn, sync workers) with the full middleware "
        "stack; the baseline is `/bench/hello`, a constant JSON view added by "
        "bench/hello_settings.py under the same server. Load on loopback from "
        f"{', '.join(tools)}; the load generator shares the machine's cores with the server. "
        "`/api/map` is the map's first request (world view, zoom 1); `304` rows send the "
        "ETag back in If-None-Match, as a CDN revalidating does. Ratio = requests per second "
        "/ hello's. Each target runs on a freshly started server. Errors: connect, read, write "
        "and timeout errors plus HTTP statuses >= 400, as wrk counts them: wrk counts a "
        "timeout only for an answer that arrives later than 30 s, and not the requests still "
        "unanswered when the run ends, so few requests in 60 s mean the server fell behind.",
        "",
        "| Entries | Backend | Target | Clients × s | Ours (req/s) | Baseline hello (req/s) "
        "| Ratio | Latency p50 / p99 | Requests | Errors | Load avg |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        hello = r["targets"]["hello (baseline)"]["rps"]
        for name, t in r["targets"].items():
            latency = t["latency_ms"]
            lat = f"{latency['p50']:,.0f} / {latency['p99']:,.0f} ms" if latency else "—"
            lines.append(
                f"| {r['size']:,} | {r['backend']} | {name} | {r['clients']} × {t['seconds']:.0f} "
                f"| {t['rps']:,.1f} | {hello:,.1f} | {r['ratios'].get(name, 0):.2g} | {lat} "
                f"| {t['requests']:,} | {t['error_total']:,} "
                f"| {' '.join(map(str, r['load_before']))} |"
            )
    problems = [p for r in results for p in r["server_problems"]]
    if problems:
        lines += ["", "Server log problems:", "", *(f"    {p}" for p in problems[:10])]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4000", help="comma-separated entry counts")
    parser.add_argument("--backends", default="sqlite", help="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        for backend in args.backends.split(","):
            with dataset(size, backend) as ds:
                results.append(measure(ds, print, quick=args.quick))
    print(json.dumps(results, indent=1))
    print(report(results))


if __name__ == "__main__":
    main()
