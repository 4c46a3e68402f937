"""Smoke tests of the benchmark harness in bench/: it runs end to end and its synthetic
data is a valid China Tech Map file. No test here looks at a duration."""

import subprocess
import sys
from pathlib import Path

from bench.datasets import postgres_available
from bench.synthetic import COLUMNS as SYNTHETIC_COLUMNS
from bench.synthetic import write_synthetic_csv
from techmap.exchange.importers.aspi import COLUMNS as ASPI_COLUMNS
from techmap.exchange.importers.aspi import parse_aspi

ROOT = Path(__file__).resolve().parent.parent


def test_synthetic_file_has_the_aspi_header():
    assert SYNTHETIC_COLUMNS == ASPI_COLUMNS


def test_synthetic_file_is_valid_and_marked_synthetic(tmp_path):
    path = write_synthetic_csv(tmp_path / "data.csv", 60)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # a byte-order mark, as ASPI's file
    result = parse_aspi(path)
    assert result.errors == []
    assert len(result.records) == 60
    assert all(r.title.startswith("Synthetic entry ") for r in result.records)
    assert all(r.companies[0].name.startswith("Synthetic Company ") for r in result.records)


def test_synthetic_file_is_the_same_for_the_same_seed(tmp_path):
    first = write_synthetic_csv(tmp_path / "a.csv", 40).read_bytes()
    assert write_synthetic_csv(tmp_path / "b.csv", 40).read_bytes() == first


def test_quick_benchmark_runs_every_benchmark_and_writes_its_report(tmp_path):
    """`bench/run.py --quick` runs all benchmarks (PostgreSQL too when its server answers,
    else the report says it was skipped) and writes one report with every section."""
    output = tmp_path / "results.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = output.read_text(encoding="utf-8")
    for heading in (
        "# techmap benchmarks",
        "- Load average (1, 5, 15 min) at start:",
        "## Import (`aspi` format) and GeoJSON export",
        "## Map API at scale",
        "### a. bbox:",
        "### b. Facet counts",
        "### c. First-view bytes",
        "### d. Server memory",
        "## First clustered frame in headless Chromium",
        "## Load test",
        "SYNTHETIC",
    ):
        assert heading in text, heading
    assert "## Failures" not in text and "Not run:" not in text
    assert "| 300 | sqlite |" in text
    if postgres_available():
        assert "| 300 | postgresql |" in text
    else:
        assert "PostgreSQL skipped" in text
    assert text in result.stdout  # the same report is printed

    # --append adds a second run, with its own header, after the first.
    again = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--only", "import",
         "--backends", "sqlite", "--append", "--output", str(output)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    both = output.read_text(encoding="utf-8")
    assert both.startswith(text)
    assert both.count("# techmap benchmarks") == 2
    assert "--only import --backends sqlite --append" in both[len(text) :]


def test_unknown_benchmark_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--only", "nope",
         "--output", str(tmp_path / "r.md")],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 2
    assert "choose benchmarks from" in result.stderr
    assert not (tmp_path / "r.md").exists()
