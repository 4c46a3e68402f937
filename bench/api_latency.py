"""The map API at scale: bbox answer vs a raw query, facet counts, first-view bytes, memory.

On one data set built by `techmap synth` (bench/datasets.py):

a. bbox: /api/map for a city-sized box where points come back one by one, against a raw
   query of the same rows + orjson (bench/api_worker.py, both in one process, alternating);
   the ratio uses these in-process times. The same request is also timed over HTTP against
   `techmap serve --workers 2`; the < 50 ms target is checked on that HTTP median.
b. facets: /api/facets for the whole table and with a company filter, over HTTP.
c. first-view bytes: the first map view (/api/map, world box, zoom FIRST_ZOOM, plus
   /api/facets) against `techmap export --format geojson` of the whole table.
d. server memory: resident memory of the gunicorn master and each worker after a sweep of
   bbox, zoom and facet requests.
"""

import gzip
import time
from pathlib import Path

import requests

from bench.common import median, met, ms, run_json_worker, table
from bench.datasets import TECHMAP, run, served

# A city-sized box (0.4 x 0.3 degrees) around Calgary: the synthetic data put ~1,700 points
# there at 1,000,000 entries (below MAP_POINT_LIMIT, so points come back one by one) and no
# cable envelope crosses it. Calgary is a real city; the points near it are synthetic.
CITY_BBOX = "-114.3,50.9,-113.9,51.2"
CITY_ZOOM = 10
# The map's first request at 1280x720 (map.js fits the inhabited world, zoom 1.x, floored),
# the same as bench/load.py's.
WORLD_BBOX = "-130.0000,-60.1778,160.0000,74.4378"
FIRST_ZOOM = 1
BBOX_RATIO_TARGET = 3.0
BBOX_MS_TARGET = 50.0  # city box, HTTP median, at 1,000,000 entries
FACETS_MS_TARGET = 200.0  # whole table, HTTP median, at 1,000,000 entries
FIRST_VIEW_TARGET = 0.05  # share of the naive GeoJSON's bytes
RSS_TARGET_MB = 300.0  # per server process
SWEEP = [  # (bbox, zoom): a pan and zoom tour of the map
    (WORLD_BBOX, 1), ("-180,-85,180,85", 2), ("-30,20,60,70", 3), ("-10,35,30,60", 4),
    ("0,40,20,55", 5), ("20,-35,40,-10", 5), ("28,-20,34,-15", 7), ("30.8,-18,31.3,-17.6", 10),
    ("100,0,140,45", 4), ("-130,20,-60,55", 3), ("-114.3,50.9,-113.9,51.2", 10),
]  # fmt: skip
TITLE = "Map API at scale"
# Repeated requests would otherwise be answered from the per-process answer cache
# (web/response_cache.py); these figures are about computing the answers.
NO_ANSWER_CACHE = {"TECHMAP_RESPONSE_CACHE_MB": "0"}


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def server_rss_mb(master_pid: int) -> dict:
    """Resident memory (MB) of the gunicorn master and its workers."""
    workers = [_rss_kb(pid) / 1024 for pid in _children(master_pid)]
    master = _rss_kb(master_pid) / 1024
    return {"master": master, "workers": workers, "total": master + sum(workers)}


def _get(session: requests.Session, url: str) -> requests.Response:
    response = session.get(url, timeout=120)
    response.raise_for_status()
    return response


def _timed_gets(session, url: str, repeat: int) -> list[float]:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        _get(session, url)
        timings.append(time.perf_counter() - start)
    return timings


def naive_geojson_bytes(ds) -> dict:
    """Size of the whole table as one GeoJSON file, raw and gzip'd (level 6, as nginx)."""
    path = ds.folder / "all.geojson"
    seconds = run([TECHMAP, "export", "--format", "geojson", "--output", path], ds.env)
    raw = path.read_bytes()
    size = {"raw": len(raw), "gzip": len(gzip.compress(raw, 6)), "export_seconds": seconds}
    path.unlink()
    return size


def top_company(session, url: str) -> str:
    companies = _get(session, f"{url}/api/facets").json()["company"]
    return companies[0]["slug"] if companies else ""


def measure(ds, repeat: int, log) -> dict:
    """Every measurement of this module on data set ds (bench.datasets.Dataset)."""
    result = {"size": ds.size, "backend": ds.backend}
    log(f"  naive GeoJSON export of {ds.size:,} entries on {ds.backend}")
    result["naive"] = naive_geojson_bytes(ds)
    with served(ds.env, workers=2, extra_env=NO_ANSWER_CACHE) as (url, process):
        session = requests.Session()
        company = top_company(session, url)
        facet_filter = f"company={company}" if company else ""
        log(f"  bbox and facets over HTTP on {ds.backend}, {repeat} runs each")
        city = f"{url}/api/map?bbox={CITY_BBOX}&zoom={CITY_ZOOM}"
        result["http"] = {
            "city": _timed_gets(session, city, repeat),
            "world": _timed_gets(
                session, f"{url}/api/map?bbox={WORLD_BBOX}&zoom={FIRST_ZOOM}", max(3, repeat // 3)
            ),  # fmt: skip
            "facets": _timed_gets(session, f"{url}/api/facets", repeat),
            "facets_filtered": _timed_gets(session, f"{url}/api/facets?{facet_filter}", repeat),
        }
        result["facet_filter"] = facet_filter
        plain = {"Accept-Encoding": "identity"}
        world = session.get(f"{url}/api/map?bbox={WORLD_BBOX}&zoom={FIRST_ZOOM}", headers=plain)
        facets = session.get(f"{url}/api/facets", headers=plain)
        served_bytes = len(world.content) + len(facets.content)
        result["first_view"] = {
            "served": served_bytes,
            "gzip": len(gzip.compress(world.content, 6)) + len(gzip.compress(facets.content, 6)),
            "encoding": world.headers.get("Content-Encoding", "none"),
            "features": len(world.json()["features"]),
        }
        log(f"  sweep of {len(SWEEP)} views, then server memory")
        for bbox, zoom in SWEEP:
            _get(session, f"{url}/api/map?bbox={bbox}&zoom={zoom}")
            _get(session, f"{url}/api/facets?{facet_filter}")
        _get(session, f"{url}/api/facets")
        result["rss"] = server_rss_mb(process.pid)
    log(f"  bbox vs raw query and facets in-process on {ds.backend}")
    result["inprocess"] = run_json_worker(
        "bench.api_worker",
        ["--database-url", ds.database_url, f"--bbox={CITY_BBOX}", "--zoom", CITY_ZOOM,
         "--facet-filter", facet_filter, "--repeat", repeat],
        {**ds.env, **NO_ANSWER_CACHE},
    )  # fmt: skip
    return result


def _at_scale(r) -> bool:
    return r["size"] >= 1_000_000


def report(results: list[dict]) -> str:
    lines = [
        f"## {TITLE}",
        "",
        "Each data set is the bundled data plus N SYNTHETIC entries from `techmap synth` "
        "(points around real cities by population, 2% cables), served by `techmap serve "
        "--workers 2` (gunicorn sync workers: one connection per request, no keep-alive) on "
        "loopback; HTTP times are client-side wall-clock times with `requests`. The "
        "per-process answer cache is off (TECHMAP_RESPONSE_CACHE_MB=0): these figures are "
        "the cost of computing each answer.",
        "",
        f"### a. bbox: `/api/map?bbox={CITY_BBOX}&zoom={CITY_ZOOM}` (around Calgary) vs a raw "
        "query + orjson",
        "",
        "Ratio = in-process times (Django test client through middleware, view and orjson, "
        "vs the raw query of the same rows and properties turned into the same features and "
        "dumped with orjson, alternating). HTTP = the same request to the running server; "
        f"the < {BBOX_MS_TARGET:.0f} ms target (at 1,000,000 entries) is checked on the HTTP "
        f"median, the ratio target is <= {BBOX_RATIO_TARGET:.0f}.",
        "",
    ]
    rows = []
    for r in results:
        ip, answer = r["inprocess"], r["inprocess"]["map_answer"]
        ours, base = median(ip["bbox"]["ours"]), median(ip["bbox"]["baseline"])
        http = median(r["http"]["city"])
        ok = ours / base <= BBOX_RATIO_TARGET and (not _at_scale(r) or http * 1000 < BBOX_MS_TARGET)
        rows.append([
            f"{r['size']:,}", r["backend"],
            f"{answer['points']} points, {answer['lines']} lines"
            f"{' (clustered)' if answer['clustered'] else ''}",
            ms(ours), ms(base), f"{ours / base:.2f}", ms(http), met(ok),
        ])  # fmt: skip
    lines += table(
        ["entries", "backend", "answer", "ours in-process (ms)", "raw query + orjson (ms)",
         "ratio", "ours over HTTP (ms)", "targets met"],
        rows,
    )  # fmt: skip
    lines += [
        "",
        "### b. Facet counts (company, category, country, topic, years)",
        "",
        f"`/api/facets` over HTTP, medians; target < {FACETS_MS_TARGET:.0f} ms for the whole "
        "table at 1,000,000 entries. The unfiltered counts are kept per process until the "
        "data change (checked on every request), so the first request after a change pays "
        "the full count: shown as 'first (in-process)'. The filtered request (the company "
        "with most entries) is computed every time.",
        "",
    ]
    rows = []
    for r in results:
        ip = r["inprocess"]["facets"]
        whole, filtered = median(r["http"]["facets"]), median(r["http"]["facets_filtered"])
        rows.append([
            f"{r['size']:,}", r["backend"], ms(whole), ms(ip["first_all"][0]),
            f"{ms(filtered)} (`{r['facet_filter']}`)", ms(ip["first_filtered"][0]),
            met(not _at_scale(r) or whole * 1000 < FACETS_MS_TARGET),
        ])  # fmt: skip
    lines += table(
        ["entries", "backend", "whole table (ms)", "first (in-process, ms)", "filtered (ms)",
         "filtered first (in-process, ms)", "target met (whole table)"],
        rows,
    )  # fmt: skip
    lines += [
        "",
        "### c. First-view bytes vs the naive approach",
        "",
        f"First view = `/api/map?bbox={WORLD_BBOX}&zoom={FIRST_ZOOM}` (server-side grid "
        "clusters, plus cables crossing the view) + `/api/facets`, as served (this server "
        "does not compress; the gzip column is what a gzip-ing proxy such as nginx would "
        "send). Static assets (MapLibre, CSS, map.js, outlines) are not counted: they are "
        "the same at any size and cached. Naive = the whole table as one GeoJSON file "
        f"(`techmap export --format geojson`). Target: <= {FIRST_VIEW_TARGET:.0%}.",
        "",
    ]
    rows = []
    for r in results:
        fv, naive = r["first_view"], r["naive"]
        ratio, gz_ratio = fv["served"] / naive["raw"], fv["gzip"] / naive["gzip"]
        rows.append([
            f"{r['size']:,}", r["backend"], f"{fv['served']:,}", f"{naive['raw']:,}",
            f"{ratio:.2%}", f"{fv['gzip']:,}", f"{naive['gzip']:,}", f"{gz_ratio:.2%}",
            ms(median(r["http"]["world"])), met(ratio <= FIRST_VIEW_TARGET),
        ])  # fmt: skip
    lines += table(
        ["entries", "backend", "first view (B)", "naive GeoJSON (B)", "ratio",
         "first view gzip (B)", "naive gzip (B)", "ratio gzip", "world view over HTTP (ms)",
         "target met"],
        rows,
    )  # fmt: skip
    lines += [
        "",
        "### d. Server memory",
        "",
        f"Resident memory (VmRSS) of the gunicorn master and its 2 workers after a sweep "
        f"of {len(SWEEP)} map views (world to city zoom) each followed by a filtered "
        f"/api/facets. Target: < {RSS_TARGET_MB:.0f} MB per process (each worker).",
        "",
    ]
    rows = []
    for r in results:
        rss = r["rss"]
        biggest = max(rss["workers"] + [rss["master"]])
        rows.append([
            f"{r['size']:,}", r["backend"], f"{rss['master']:.0f}",
            ", ".join(f"{w:.0f}" for w in rss["workers"]), f"{rss['total']:.0f}",
            met(biggest < RSS_TARGET_MB),
        ])  # fmt: skip
    lines += table(
        ["entries", "backend", "master (MB)", "workers (MB)", "total (MB)",
         "target met (per process)"],
        rows,
    )  # fmt: skip
    lines += ["", "Every run (ms):", ""]
    for r in results:
        runs = "; ".join(f"HTTP {k} " + ", ".join(ms(v) for v in vals)
                         for k, vals in r["http"].items())  # fmt: skip
        ip = r["inprocess"]["bbox"]
        runs += "; in-process bbox ours " + ", ".join(ms(v) for v in ip["ours"])
        runs += "; raw " + ", ".join(ms(v) for v in ip["baseline"])
        lines.append(f"- {r['size']:,} on {r['backend']}: {runs}")
    return "\n".join(lines) + "\n"
