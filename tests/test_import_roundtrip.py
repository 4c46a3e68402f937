"""techmap's own formats (csv, xlsx, geojson): export -> import reproduces the data.

The database of the subprocess tests starts from the bundled dataset plus the synthetic
fixtures of tests/fixtures (China Tech Map rows and TeleGeography cables), so the export
holds created companies and categories, cable routes and file-citing sources.
"""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from techmap.catalog.models import Entry
from techmap.exchange.export import export_entries, iter_export_entries, write_csv
from techmap.exchange.importers.own_formats import parse_csv
from tests.test_import_aspi import (
    DATA_CSV,
    FIXTURES,
    count_rows,
    import_file,
    run_techmap,
    techmap_env,
)

FORMATS = ("csv", "xlsx", "geojson")


def export_rows(path) -> list[dict]:
    """The rows of a techmap CSV export without the timestamps a new database sets afresh."""
    with open(path, encoding="utf-8", newline="") as fh:
        return [
            {k: v for k, v in row.items() if k not in ("created", "updated")}
            for row in csv.DictReader(fh)
        ]


def run_ok(*args, env):
    result = run_techmap(*args, env=env)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A database with the bundled dataset and the fixtures, exported in every format."""
    folder = tmp_path_factory.mktemp("source")
    env = techmap_env(folder)
    run_ok("init", env=env)
    run_ok("import", DATA_CSV, "--format", "aspi", env=env)
    run_ok("import", FIXTURES / "telegeography", "--format", "telegeography", env=env)
    for fmt in FORMATS:
        run_ok("export", "--format", fmt, "--output", folder / f"export.{fmt}", env=env)
    stats = run_ok("stats", env=env).stdout
    return folder, env, stats


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_then_import_into_an_empty_database_reproduces_entries_and_stats(
    exported, tmp_path, fmt
):
    source, _, source_stats = exported
    env = techmap_env(tmp_path)
    run_ok("init", "--empty", env=env)
    n = count_rows(source)
    result = run_ok("import", source / f"export.{fmt}", "--format", fmt, env=env)
    assert f"created {n}, updated 0, unchanged 0, skipped 0, invalid 0" in result.stdout
    assert run_ok("stats", env=env).stdout == source_stats
    run_ok("export", "--format", "csv", "--output", tmp_path / "again.csv", env=env)
    assert export_rows(tmp_path / "again.csv") == export_rows(source / "export.csv")
    again = run_ok("import", source / f"export.{fmt}", "--format", fmt, env=env)
    assert f"created 0, updated 0, unchanged {n}, skipped 0, invalid 0" in again.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_importing_an_export_into_its_own_database_changes_nothing(exported, fmt):
    source, env, _ = exported
    n = count_rows(source)
    result = run_ok("import", source / f"export.{fmt}", "--format", fmt, env=env)
    assert f"created 0, updated 0, unchanged {n}, skipped 0, invalid 0" in result.stdout


def _export_csv_text() -> str:
    buffer = io.StringIO(newline="")
    write_csv(iter_export_entries(export_entries()), buffer)
    return buffer.getvalue()


def test_formula_like_text_round_trips_through_the_neutralising_apostrophe(db, tmp_path):
    entry = Entry.objects.published().first()
    entry.title = "=SUM(1,2) is a title, not a formula"
    entry.city = "'@already quoted"
    entry.save()
    text = _export_csv_text()
    assert "'=SUM(1,2) is a title" in text
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    entry.title, entry.city = "changed", "changed"
    entry.save()
    out, err, failure = import_file(path, "csv")
    assert failure is None, err
    assert "updated 1," in out
    entry.refresh_from_db()
    assert entry.title == "=SUM(1,2) is a title, not a formula"
    assert entry.city == "'@already quoted"


def test_bad_rows_of_an_own_csv_are_reported_with_line_and_column(db, tmp_path):
    rows = list(csv.reader(io.StringIO(_export_csv_text(), newline="")))
    header = rows[0]
    col = {name: i for i, name in enumerate(header)}
    bad_lat, bad_source, bad_json = rows[1][:], rows[2][:], rows[3][:]
    bad_lat[col["latitude"]] = "123"
    bad_source[col["sources"]] = json.dumps([{"title": "x", "url": "javascript:alert(1)"}])
    bad_json[col["sources"]] = "[not json"
    path = tmp_path / "bad.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerows([header, bad_lat, bad_source, bad_json, rows[4][:5], rows[1]])
    result = parse_csv(path)
    got = [(e.line, e.column) for e in result.errors]
    assert got == [(2, "latitude"), (3, "sources"), (4, "sources"), (5, ""), (6, "id")]
    assert "duplicate id" in result.errors[-1].reason
    assert "wrong column count" in result.errors[3].reason


@pytest.mark.parametrize(
    ("fmt", "content", "message"),
    [
        ("csv", None, "missing column(s) id, title, category"),
        ("xlsx", b"\x89PNG\r\n\x1a\n\x00\x00", "not a techmap XLSX export"),
        ("geojson", b"id,title\n1,2\n", "not valid JSON"),
        ("geojson", b'{"type": "Feature"}', "not a FeatureCollection"),
    ],
)
def test_a_file_that_is_not_the_declared_own_format_is_one_clear_error(
    db, tmp_path, fmt, content, message
):
    path = tmp_path / f"file.{fmt}"
    if content is None:
        path.write_bytes(DATA_CSV.read_bytes())
    else:
        path.write_bytes(content)
    with pytest.raises(CommandError) as info:
        call_command("import", str(path), format=fmt, stdout=io.StringIO())
    assert message in str(info.value)
