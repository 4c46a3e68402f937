#!/usr/bin/env python
"""Time from navigation to the first clustered frame of the map in headless Chromium:
techmap's map page (server-side clusters from /api/map) against the naive approach, the
same points as ONE GeoJSON file (`techmap export --format geojson`) given to MapLibre's
client-side clustering (`cluster: true` source).

"First clustered frame": the first time MapLibre fires `idle` (everything drawn) after the
entries source holds the points. techmap's map.js marks that moment by setting
body[data-map-renders] (after its first /api/map answer is drawn); the baseline page does
the same after its first `idle` with the source loaded. One init script, the same on both
pages, watches for that attribute and stores performance.now() (milliseconds since
navigation started) on <html> -- Playwright's wait_for_function needs `unsafe-eval`, which
the CSP forbids, so the benchmark waits on that selector instead.

The baseline page is bench-only: an HTML page, a script and a stylesheet written into the
data set's temporary folder at run time, next to copies of the same MapLibre build
(node_modules/maplibre-gl/dist, the CSP build and its worker) and the GeoJSON export, served
by a plain static server on loopback (bench/static_server.py) with the Content-Security-Policy
that techmap sends. Nothing of it is committed. Both pages use the same map options, viewport
(1280x720), initial bounds and cluster radius. techmap's page does more besides (filter panel,
facet counts, country outlines, HTML cluster labels); the baseline draws only the points.

Each run uses a fresh browser context (an empty cache); the two sides alternate, and the
median of the runs is kept. Bytes are the encoded body and header sizes Playwright reports.

    .venv/bin/python bench/first_frame.py --sizes 4000 --backends sqlite [--runs 5] [--quick]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the repo is not
    sys.path.insert(0, str(ROOT))

from bench.datasets import TECHMAP, BenchError, dataset, free_port, run, served  # noqa: E402

CHROMIUM = "/usr/bin/chromium"  # Debian's package; a browser is never downloaded
VIEWPORT = {"width": 1280, "height": 720}
RUNS, QUICK_RUNS = 5, 1
MAPLIBRE_DIST = ROOT / "node_modules" / "maplibre-gl" / "dist"
MAPLIBRE_FILES = ("maplibre-gl-csp.js", "maplibre-gl-csp-worker.js", "maplibre-gl.css")

# The same on both pages: when body[data-map-renders] first appears, note the time.
INSTRUMENT = """
new MutationObserver(() => {
  const root = document.documentElement;
  if (root && !root.dataset.benchFirstFrame && document.body && document.body.dataset.mapRenders) {
    root.dataset.benchFirstFrame = String(performance.now());
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-map-renders'] });
"""

BASELINE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Naive map (benchmark baseline)</title>
<link rel="stylesheet" href="maplibre-gl.css"><link rel="stylesheet" href="naive.css">
</head><body><div id="map"></div>
<script src="maplibre-gl-csp.js"></script><script src="naive.js"></script></body></html>
"""
BASELINE_CSS = "html, body, #map { margin: 0; width: 100%; height: 100%; }\n"
# The options of techmap's map.js (bounds, zooms, cluster radius and max zoom, point style).
BASELINE_JS = """'use strict';
maplibregl.setWorkerUrl('maplibre-gl-csp-worker.js');
const map = new maplibregl.Map({
  container: 'map',
  style: { version: 8, sources: {}, layers: [
    { id: 'sea', type: 'background', paint: { 'background-color': '#cfdde8' } }] },
  bounds: [[-130, -45], [160, 66]], minZoom: 0, maxZoom: 16,
  dragRotate: false, attributionControl: false,
});
map.on('load', () => {
  map.addSource('entries', {
    type: 'geojson', data: 'entries.geojson', cluster: true, clusterRadius: 36, clusterMaxZoom: 12,
  });
  map.addLayer({ id: 'clusters', type: 'circle', source: 'entries', filter: ['has', 'point_count'],
    paint: { 'circle-color': '#1f4e79', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5,
      'circle-radius': ['step', ['get', 'point_count'], 12, 10, 16, 100, 20] } });
  map.addLayer({ id: 'points', type: 'circle', source: 'entries',
    filter: ['!', ['has', 'point_count']],
    paint: { 'circle-color': '#555', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5,
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 1, 5, 8, 8] } });
  const drawn = () => {
    if (!map.isSourceLoaded('entries') || !map.querySourceFeatures('entries').length) return;
    map.off('idle', drawn);
    document.body.dataset.mapRenders = '1';
    document.body.dataset.mapReady = 'true';
  };
  map.on('idle', drawn);
});
// A file too large to parse fails in the worker: record it rather than wait for the time limit.
map.on('error', (event) => {
  document.body.dataset.mapError = String((event.error && event.error.message) || event.error);
});
"""


def write_baseline_site(folder: Path, env: dict) -> Path:
    """The naive page, MapLibre's files and the whole table as one GeoJSON file."""
    site = folder / "naive-site"
    site.mkdir(exist_ok=True)
    (site / "index.html").write_text(BASELINE_HTML, encoding="utf-8")
    (site / "naive.js").write_text(BASELINE_JS, encoding="utf-8")
    (site / "naive.css").write_text(BASELINE_CSS, encoding="utf-8")
    for name in MAPLIBRE_FILES:
        shutil.copyfile(MAPLIBRE_DIST / name, site / name)
    run([TECHMAP, "export", "--format", "geojson", "--output", site / "entries.geojson"], env)
    return site


class StaticServer:
    """bench/static_server.py in its own process (not in the one driving the browser)."""

    def __init__(self, root: Path, headers: dict):
        self.port = free_port()
        args = [sys.executable, "-m", "bench.static_server", "--root", str(root),
                "--port", str(self.port)]  # fmt: skip
        for name, value in headers.items():
            args += ["--header", f"{name}: {value}"]
        self.process = subprocess.Popen(args, cwd=ROOT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/naive.css", timeout=2):
                    break
            except OSError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise BenchError("the naive map's static server did not start") from error
                time.sleep(0.2)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def first_frame(browser, url: str, timeout_s: float) -> dict:
    """One cold load of a map page: milliseconds to the first clustered frame, and bytes."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.add_init_script(INSTRUMENT)
        finished, errors = [], []
        page.on("requestfinished", lambda request: finished.append(request))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        try:
            page.wait_for_selector(
                "html[data-bench-first-frame], body[data-map-error]",
                state="attached",
                timeout=timeout_s * 1000,
            )
        except Exception as error:  # a timeout or a crashed page: recorded, not fatal
            return {"ms": None, "error": f"{type(error).__name__}: {str(error)[:200]}",
                    "page_errors": errors}  # fmt: skip
        frame = page.get_attribute("html", "data-bench-first-frame")
        if frame is None:
            error = page.get_attribute("body", "data-map-error")
            return {"ms": None, "error": f"map error: {error[:200]}", "page_errors": errors}
        ms = float(frame)
        origin = page.evaluate("performance.timeOrigin")
        total = data = 0
        data_end = None  # when the last point data arrived, ms since navigation
        for request in finished:
            sizes = request.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            total += size
            path = urlsplit(request.url).path
            if path.startswith("/api/") or path.endswith(".geojson"):
                data += size
                timing = request.timing
                end = timing["startTime"] + timing["responseEnd"] - origin
                data_end = end if data_end is None else max(data_end, end)
        return {"ms": ms, "data_ms": data_end, "bytes": total, "data_bytes": data,
                "requests": len(finished),
                "page_errors": errors}  # fmt: skip
    finally:
        context.close()


def side_summary(samples: list[dict]) -> dict:
    times = [s["ms"] for s in samples if s["ms"] is not None]
    ok = [s for s in samples if s["ms"] is not None]
    return {
        "ms": times,
        "median_ms": statistics.median(times) if times else None,
        "median_data_ms": statistics.median(s["data_ms"] for s in ok if s["data_ms"] is not None)
        if any(s["data_ms"] is not None for s in ok)
        else None,
        "bytes": ok[-1]["bytes"] if ok else None,
        "data_bytes": ok[-1]["data_bytes"] if ok else None,
        "failures": [s["error"] for s in samples if s["ms"] is None],
        "page_errors": sorted({e for s in samples for e in s["page_errors"]}),
    }


def measure(ds, log=print, quick: bool = False, runs: int | None = None) -> dict:
    """Median time to the first clustered frame, techmap's map vs the naive GeoJSON map."""
    from playwright.sync_api import sync_playwright

    from tests.servers import CHROMIUM_ARGS

    runs = runs or (QUICK_RUNS if quick else RUNS)
    timeout_s = 60 + ds.size / 1_000_000 * 240  # generous: the naive page may be very slow
    log(f"  first frame: exporting {ds.size:,} entries as one GeoJSON file for the baseline")
    site = write_baseline_site(ds.folder, ds.env)
    samples = {"ours": [], "baseline": []}
    load = [round(x, 2) for x in os.getloadavg()]
    with served(ds.env, workers=2) as (url, _process):
        with urllib.request.urlopen(f"{url}/", timeout=30) as response:
            csp = response.headers["Content-Security-Policy"]
        static = StaticServer(site, {"Content-Security-Policy": csp})
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    for i in range(runs):
                        for side, page_url in (("ours", f"{url}/"), ("baseline", static.url)):
                            if any(s["ms"] is None for s in samples[side]):
                                continue  # it failed once: another try costs the time limit again
                            log(f"  first frame: {side}, run {i + 1}/{runs}")
                            samples[side].append(first_frame(browser, page_url, timeout_s))
                finally:
                    browser.close()
        finally:
            static.stop()
    ours, baseline = side_summary(samples["ours"]), side_summary(samples["baseline"])
    ratio = (
        ours["median_ms"] / baseline["median_ms"]
        if ours["median_ms"] and baseline["median_ms"]
        else None
    )
    return {
        "benchmark": "first_frame",
        "size": ds.size,
        "backend": ds.backend,
        "runs": runs,
        "geojson_file_bytes": (site / "entries.geojson").stat().st_size,
        "ours": ours,
        "baseline": baseline,
        "ratio": ratio,
        "load_before": load,
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def _ms(value) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def _bytes(value) -> str:
    return "—" if value is None else f"{value / 1e6:,.2f} MB"


def report(results: list[dict]) -> str:
    """A markdown section: one row per data set."""
    lines = [
        "## First clustered frame in headless Chromium",
        "",
        "Time from navigation to the first `idle` of MapLibre after the entries source holds "
        "the points (median of cold loads, fresh browser context each, 1280x720). Ours: "
        "techmap's map page, server-side clusters from `/api/map`. Baseline: the same points as "
        "one GeoJSON file (`techmap export --format geojson`) in MapLibre's client-side "
        "clustering, the same MapLibre build, map options and CSP, served by a static server "
        "on loopback. Ratio = ours / baseline (below 1: ours is faster). Bytes: everything "
        "the page transferred (data: API answers or the GeoJSON file). Failed: runs that did "
        "not draw within the time limit (a side that failed once is not run again).",
        "",
        "| Entries | Backend | Ours | Baseline | Ratio | Ours bytes (data) "
        "| Baseline bytes (data) | Failed ours/baseline | Runs | Load avg |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        ours, base = r["ours"], r["baseline"]
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(
            f"| {r['size']:,} | {r['backend']} | {_ms(ours['median_ms'])} "
            f"| {_ms(base['median_ms'])} | {ratio} "
            f"| {_bytes(ours['bytes'])} ({_bytes(ours['data_bytes'])}) "
            f"| {_bytes(base['bytes'])} ({_bytes(base['data_bytes'])}) "
            f"| {len(ours['failures'])}/{len(base['failures'])} | {r['runs']} "
            f"| {' '.join(map(str, r['load_before']))} |"
        )
    failures = [
        f"- {r['size']:,} on {r['backend']}, {side}: {message}"
        for r in results
        for side in ("ours", "baseline")
        for message in sorted(set(r[side]["failures"]))
    ]
    if failures:
        lines += ["", "Failed runs:", "", *failures]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4000", help="comma-separated entry counts")
    parser.add_argument("--backends", default="sqlite", help="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        for backend in args.backends.split(","):
            with dataset(size, backend) as ds:
                results.append(measure(ds, print, quick=args.quick, runs=args.runs))
    import json

    print(json.dumps(results, indent=1))
    print(report(results))


if __name__ == "__main__":
    main()
