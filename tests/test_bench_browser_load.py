"""Smoke tests of bench/first_frame.py and bench/load.py: quick runs on a tiny synthetic data
set, on the backend of this test run, so the benchmarks cannot rot. No duration is asserted."""

import os

import pytest

from bench import first_frame, load
from bench.datasets import dataset, served

BACKEND = (
    "postgresql" if os.environ.get("TECHMAP_DATABASE_URL", "").startswith("postgres") else "sqlite"
)


@pytest.fixture(scope="module")
def tiny():
    with dataset(300, BACKEND, log=lambda message: None) as ds:
        yield ds


def test_load_benchmark_hits_every_target_without_errors(tiny):
    result = load.measure(tiny, log=lambda message: None, quick=True)
    assert (result["size"], result["backend"], result["workers"]) == (300, BACKEND, 2)
    names = set(result["targets"])
    assert names == {
        "hello (baseline)",
        "map page `/`",
        "map page `/`, If-None-Match → 304",
        "map GeoJSON `/api/map`",
        "map GeoJSON `/api/map`, If-None-Match → 304",
    }
    for name, target in result["targets"].items():
        assert target["requests"] > 0, name
        assert target["error_total"] == 0, (name, target["errors"])
        assert target["rps"] > 0 and target["latency_ms"]["p99"] >= target["latency_ms"]["p50"]
    assert result["ratios"]["hello (baseline)"] == 1
    assert result["server_problems"] == []
    text = load.report([result])
    assert "| Entries | Backend | Target |" in text
    assert f"| 300 | {BACKEND} | map GeoJSON `/api/map` |" in text


def test_python_load_fallback_counts_answers_and_errors(tiny):
    with served(tiny.env, workers=1, extra_env=load.HELLO_ENV) as (url, _process):
        good = load.python_load(url + load.HELLO, 3, 1, {})
        missing = load.python_load(url + "/no-such-page/", 2, 1, {})
    assert good["requests"] > 0 and sum(good["errors"].values()) == 0
    assert missing["requests"] > 0 and missing["errors"]["status"] == missing["requests"]


@pytest.mark.browser
def test_first_frame_benchmark_draws_both_maps(tiny):
    result = first_frame.measure(tiny, log=lambda message: None, quick=True)
    assert (result["size"], result["backend"], result["runs"]) == (300, BACKEND, 1)
    for side in ("ours", "baseline"):
        summary = result[side]
        assert summary["failures"] == [] and summary["page_errors"] == [], summary
        assert summary["median_ms"] > 0 and len(summary["ms"]) == 1
    # The naive page downloads the whole export; techmap's map only the API answers.
    assert result["baseline"]["data_bytes"] >= result["geojson_file_bytes"] > 0
    assert 0 < result["ours"]["data_bytes"]
    assert result["ratio"] > 0
    text = first_frame.report([result])
    assert "| Entries | Backend | Ours | Baseline | Ratio |" in text
    assert f"| 300 | {BACKEND} |" in text
