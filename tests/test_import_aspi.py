"""`techmap import --format aspi`: the China Tech Map's data.csv layout.

Fixtures in tests/fixtures/aspi are synthetic (see tests/fixtures/README.md). Tests run
in-process through call_command, and through the real `techmap` entry point as
subprocesses with their own data directory and SQLite database.
"""

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from techmap.catalog import bulkload, history
from techmap.catalog.models import Category, Company, Entry, EntrySource, Source, Topic
from techmap.exchange.importers import ImportFormatError, run_import, writer
from techmap.exchange.importers.aspi import COLUMNS, parse_aspi
from techmap.exchange.importers.base import csv_records

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATA_CSV = FIXTURES / "aspi" / "data.csv"
HOSTILE_CSV = FIXTURES / "aspi" / "hostile.csv"
TECHMAP = Path(sys.executable).parent / "techmap"


# --- helpers ---------------------------------------------------------------------------------


def import_file(path, fmt="aspi", **options):
    """Run `import` in-process; return (stdout, stderr, CommandError or None)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import", str(path), format=fmt, stdout=out, stderr=err, **options)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def techmap_env(data_dir: Path) -> dict:
    """Environment of a `techmap` subprocess: its own data folder and SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECHMAP_")}
    env["TECHMAP_DATA_DIR"] = str(data_dir)
    env["TECHMAP_DATABASE_URL"] = f"sqlite:///{data_dir / 'db.sqlite3'}"
    return env


def run_techmap(*args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TECHMAP), *map(str, args)], env=env, capture_output=True, text=True, timeout=300
    )


def count_rows(data_dir: Path, table: str = "catalog_entry") -> int:
    con = sqlite3.connect(data_dir / "db.sqlite3")
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def empty_db(tmp_path):
    """A data folder whose database holds the taxonomy and companies but no entries."""
    env = techmap_env(tmp_path)
    result = run_techmap("init", "--empty", env=env)
    assert result.returncode == 0, result.stderr
    return tmp_path, env


def write_aspi_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row.get(c, "") for c in COLUMNS])
    return path


def aspi_row(ident, **cells) -> dict:
    row = {
        "company_overseas_infrastructure_id": str(ident),
        "company_id": "1 | Huawei",
        "infrastructure_type_id": "4 | R&D lab",
        "country_id": "12 | Germany",
        "overseas_infrastructure_lat": "52.52",
        "overseas_infrastructure_lng": "13.405",
        "label": f"Synthetic test entry {ident}",
        "text": f'<p>Entry {ident}, see <a href="https://example.org/{ident}">source</a>.</p>',
    }
    row.update(cells)
    return row


# --- parsing ---------------------------------------------------------------------------------


def test_csv_records_report_the_line_where_a_multiline_record_starts():
    text = 'a,b\n1,"two\nlines"\n\n3,"x"\n'
    header, rows = csv_records(text)
    assert header == ["a", "b"]
    assert [(line, row) for line, row in rows] == [(2, ["1", "two\nlines"]), (5, ["3", "x"])]


def test_parse_reads_bom_quoted_cells_and_multiline_html(db):
    result = parse_aspi(DATA_CSV)
    assert result.errors == []
    by_id = {r.public_id: r for r in result.records}
    assert sorted(by_id) == [f"ctm-900{i}" for i in range(1, 7)]
    first = by_id["ctm-9001"]
    assert first.title == "Test Lab One, Munich"
    assert '"Test Lab One"' in first.description and "\n" in first.description
    assert [s.url for s in first.sources] == [
        "https://example.org/news/test-lab-one",
        "https://example.com/report.pdf",
    ]
    assert [s.title for s in first.sources] == ["Example News, 2015", "a test report"]
    assert by_id["ctm-9005"].title == 'The "Widget" station, phase 1, 2 and 3'


# --- importing the fixture -------------------------------------------------------------------


def test_import_creates_one_entry_per_row_with_the_counts_a_reader_expects(db):
    out, err, failure = import_file(DATA_CSV)
    assert failure is None, err
    assert out.strip() == "created 6, updated 0, unchanged 0, skipped 0, invalid 0"
    entries = Entry.objects.filter(public_id__startswith="ctm-900")
    assert entries.count() == 6
    assert set(entries.values_list("status", flat=True)) == {"published"}


def test_import_places_rows_by_coordinates_city_or_country(db):
    import_file(DATA_CSV)
    got = {
        e.public_id: (e.precision, e.country.iso2 if e.country else "", e.has_point)
        for e in Entry.objects.filter(public_id__startswith="ctm-900")
    }
    assert got["ctm-9001"] == ("exact", "DE", True)
    assert got["ctm-9002"] == ("city", "KE", True)  # blank coordinates, city Nairobi
    assert got["ctm-9003"] == ("none", "", False)  # cable row, no country, no point
    assert got["ctm-9004"] == ("country", "PK", True)  # cable row with a country
    assert got["ctm-9005"] == ("exact", "VN", True)  # "Viet Nam" matched by name
    assert got["ctm-9006"] == ("country", "LA", True)  # city unknown to the gazetteer
    munich = Entry.objects.get(public_id="ctm-9001")
    assert (munich.latitude, munich.longitude) == (48.1351, 11.582)


def test_import_keeps_cable_fields_and_the_external_key(db):
    import_file(DATA_CSV)
    cable = Entry.objects.get(public_id="ctm-9003")
    assert cable.category.slug == "cable-undersea"
    assert cable.external_refs == {
        "chinatechmap_marker": "9003",
        "cable_id": "77",
        "cable_owner": "China Unicom, Test Telco One",
    }
    assert [c.slug for c in cable.companies.all()] == ["china-unicom"]


def test_import_creates_unknown_companies_categories_and_topics_with_the_files_names(db):
    import_file(DATA_CSV)
    entry = Entry.objects.get(public_id="ctm-9005")
    assert [c.name for c in entry.companies.all()] == ["Test Widget Corp"]
    assert entry.category.name == "Satellite ground station"
    assert entry.category.slug == "satellite-ground-station"
    assert entry.secondary_category.slug == "rd-lab"
    assert sorted(t.name for t in entry.topics.all()) == ["5G", "Test Topic Zeta"]
    assert (entry.year_started, entry.year_ended, entry.highlight) == (2018, 2020, True)
    # Names that differ only in case reuse what exists.
    six = Entry.objects.get(public_id="ctm-9006")
    assert six.category.slug == "mou-agreement"
    assert [c.slug for c in six.companies.all()] == ["huawei"]
    assert Company.objects.filter(name__iexact="huawei").count() == 1
    assert Category.objects.filter(name__iexact="mou-agreement").count() == 1
    assert Topic.objects.filter(name="Test Topic Zeta").count() == 1



def test_new_names_are_created_once_in_the_order_first_named_each_with_its_history(
    db, tmp_path
):
    rows = [
        aspi_row(1, company_id="91 | Zeta Networks", infrastructure_type_id="91 | Quantum lab",
                 secondary_infrastructure_type_id="92 | Sensor hub",
                 **{"Primary topic": "91 | Edge AI"}),
        aspi_row(2, company_id="91 | ZETA networks", infrastructure_type_id="92 | Sensor hub",
                 **{"Primary topic": "91 | edge ai"}),
        aspi_row(3, company_id="92 | Omega Cloud", infrastructure_type_id="91 | Quantum lab"),
    ]  # fmt: skip
    path = write_aspi_csv(tmp_path / "names.csv", rows)
    last_position = Category.objects.order_by("-position").values_list("position", flat=True)[0]
    with history.change_reason("names test import"):
        assert run_import(path, "aspi").created == 3
    companies = Company.objects.filter(name__in=["Zeta Networks", "Omega Cloud"])
    categories = Category.objects.filter(name__in=["Quantum lab", "Sensor hub"])
    topics = Topic.objects.filter(name__iexact="Edge AI")
    assert sorted(c.name for c in companies) == ["Omega Cloud", "Zeta Networks"]
    assert [(c.name, c.position) for c in categories.order_by("position")] == [
        ("Quantum lab", last_position + 1),
        ("Sensor hub", last_position + 2),
    ]
    assert [t.name for t in topics] == ["Edge AI"]
    for obj in [*companies, *categories, *topics]:
        (row,) = obj.history.all()
        assert (row.history_type, row.history_change_reason) == ("+", "names test import")
    two = Entry.objects.get(public_id="ctm-2")
    assert [c.name for c in two.companies.all()] == ["Zeta Networks"]
    assert two.category.name == "Sensor hub"


def test_new_names_are_created_in_bulk_however_many_a_file_names(db, tmp_path):
    """Ten new companies, categories and topics cost the same statements as one of each:
    they are created together, each with its history row, not one by one."""

    def statements(n, tag, first):
        rows = [
            aspi_row(first + i, company_id=f"{i} | {tag} company {i}",
                     infrastructure_type_id=f"{i} | {tag} category {i}",
                     **{"Primary topic": f"{i} | {tag} topic {i}"})
            for i in range(1, n + 1)
        ]  # fmt: skip
        path = write_aspi_csv(tmp_path / f"{tag}.csv", rows)
        with CaptureQueriesContext(connection) as queries:
            report = run_import(path, "aspi")
        assert report.created == n
        return len(queries)

    assert statements(10, "many", 100) == statements(1, "one", 200)
    for model in (Company, Category, Topic):
        made = model.objects.filter(name__contains="many")
        assert made.count() == 10
        assert all([row.history_type for row in obj.history.all()] == ["+"] for obj in made)


def test_names_first_met_after_the_bulk_creation_are_created_as_they_come(
    db, tmp_path, monkeypatch
):
    """Only an import's first records are searched for new names to create together; a
    name first met later is created when its row is written, still in file order."""
    monkeypatch.setattr(writer, "NAMES_IN_BULK", 2)
    rows = [
        aspi_row(301, infrastructure_type_id="1 | Late test A"),
        aspi_row(302, infrastructure_type_id="2 | Late test B",
                 **{"Primary topic": "9 | Late topic"}),
        aspi_row(303, infrastructure_type_id="3 | Late test C",
                 **{"Primary topic": "9 | late TOPIC"}),
        aspi_row(304, infrastructure_type_id="1 | late test a",
                 secondary_infrastructure_type_id="4 | Late test D"),
    ]  # fmt: skip
    assert run_import(write_aspi_csv(tmp_path / "late.csv", rows), "aspi").created == 4
    late = Category.objects.filter(name__startswith="Late test").order_by("position")
    assert [c.name for c in late] == ["Late test A", "Late test B", "Late test C", "Late test D"]
    assert Topic.objects.filter(name__iexact="late topic").count() == 1
    for obj in [*late, Topic.objects.get(name="Late topic")]:
        assert [row.history_type for row in obj.history.all()] == ["+"]
    four = Entry.objects.get(public_id="ctm-304")
    assert (four.category.name, four.secondary_category.name) == ("Late test A", "Late test D")


def test_import_turns_text_links_into_sources_in_order_and_shares_them_by_url(db):
    import_file(DATA_CSV)
    first = Entry.objects.get(public_id="ctm-9001")
    urls = [link.source.url for link in first.entry_sources.order_by("position")]
    assert urls == ["https://example.org/news/test-lab-one", "https://example.com/report.pdf"]
    assert Source.objects.filter(url="https://example.org/news/test-lab-one").count() == 1
    shared = Entry.objects.get(public_id="ctm-9005").sources.get()
    assert shared.url == "https://example.org/news/test-lab-one"
    assert 'rel="noopener noreferrer nofollow"' in first.description


def test_a_row_without_links_cites_the_imported_file(db):
    import_file(DATA_CSV)
    source = Entry.objects.get(public_id="ctm-9003").sources.get()
    assert source.title == "China Tech Map data.csv import"
    assert "data.csv" in source.note


def test_reimport_changes_nothing(db):
    import_file(DATA_CSV)
    stamps = dict(Entry.objects.values_list("public_id", "updated"))
    sources = Source.objects.count()
    out, _, failure = import_file(DATA_CSV)
    assert failure is None
    assert out.strip() == "created 0, updated 0, unchanged 6, skipped 0, invalid 0"
    assert dict(Entry.objects.values_list("public_id", "updated")) == stamps
    assert Source.objects.count() == sources


def test_a_changed_row_updates_its_entry(db, tmp_path):
    first = write_aspi_csv(tmp_path / "a.csv", [aspi_row(8801), aspi_row(8802)])
    import_file(first)
    changed = write_aspi_csv(
        tmp_path / "a.csv",
        [
            aspi_row(8801, label="Renamed test entry"),
            aspi_row(8802, text='<p><a href="https://example.org/new">new source</a></p>'),
        ],
    )
    out, _, failure = import_file(changed)
    assert failure is None
    assert out.strip() == "created 0, updated 2, unchanged 0, skipped 0, invalid 0"
    assert Entry.objects.get(public_id="ctm-8801").title == "Renamed test entry"
    assert [s.url for s in Entry.objects.get(public_id="ctm-8802").sources.all()] == [
        "https://example.org/new"
    ]


def test_an_entry_holding_the_marker_is_updated_not_duplicated(db, tmp_path):
    entry = Entry.objects.get(external_refs__chinatechmap_marker="159")
    path = write_aspi_csv(tmp_path / "m.csv", [aspi_row(159, label="Marker 159 from the file")])
    out, _, failure = import_file(path)
    assert failure is None
    assert "created 0, updated 1" in out
    entry.refresh_from_db()
    assert entry.title == "Marker 159 from the file"
    assert not Entry.objects.filter(public_id="ctm-159").exists()


def test_status_draft_imports_drafts(db):
    import_file(DATA_CSV, status="draft")
    statuses = set(
        Entry.objects.filter(public_id__startswith="ctm-900").values_list("status", flat=True)
    )
    assert statuses == {"draft"}


def test_dry_run_writes_nothing_but_reports_what_it_would_do(db):
    before = Entry.objects.count(), Source.objects.count(), Company.objects.count()
    out, _, failure = import_file(DATA_CSV, dry_run=True)
    assert failure is None
    assert "would have created 6, updated 0" in out
    assert (Entry.objects.count(), Source.objects.count(), Company.objects.count()) == before


# --- bad input -------------------------------------------------------------------------------

HOSTILE_ERRORS = [
    "line 4, column text: link 'javascript:alert(1)' is not an http or https URL",
    "line 5, column label:",
    "line 6, column company_id:",
    "line 7, column overseas_infrastructure_lat: latitude 95.0 is outside -90..90",
    "line 8, column year_commenced: '20x5' is not a year",
    "line 9: wrong column count: 4 cells, expected 20",
    "line 10, column company_overseas_infrastructure_id: duplicate id 9101 (first on line 2)",
    "line 11, column infrastructure_type_id: a value is required",
    "line 11, column country_id: unknown country 'Atlantis'",
]


def test_hostile_file_reports_every_invalid_row_and_writes_nothing(db):
    before = Entry.objects.count(), Source.objects.count(), Company.objects.count()
    out, err, failure = import_file(HOSTILE_CSV)
    assert failure is not None and "8 invalid row(s)" in str(failure)
    lines = err.strip().splitlines()
    assert len(lines) == len(HOSTILE_ERRORS)
    for line, expected in zip(lines, HOSTILE_ERRORS, strict=True):
        assert line.startswith(expected)
    assert out.strip() == "Nothing written: created 0, updated 0, unchanged 0, skipped 0, invalid 8"
    assert (Entry.objects.count(), Source.objects.count(), Company.objects.count()) == before


def test_skip_invalid_writes_the_valid_rows_and_still_fails(db):
    out, err, failure = import_file(HOSTILE_CSV, skip_invalid=True)
    assert failure is not None and "8 invalid row(s) skipped" in str(failure)
    assert out.strip() == "created 2, updated 0, unchanged 0, skipped 0, invalid 8"
    assert len(err.strip().splitlines()) == len(HOSTILE_ERRORS)
    scripted = Entry.objects.get(public_id="ctm-9102")
    assert "<script" not in scripted.description and "onerror" not in scripted.description
    assert not Company.objects.filter(name__contains="cmd").exists()
    # The duplicate of 9101 was rejected; the first 9101 kept its title.
    assert Entry.objects.get(public_id="ctm-9101").title == "Test valid row"


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"overseas_infrastructure_lng": "181"}, "overseas_infrastructure_lng", "outside"),
        ({"overseas_infrastructure_lat": "north"}, "overseas_infrastructure_lat", "not a"),
        ({"overseas_infrastructure_lng": ""}, "overseas_infrastructure_lng", "both"),
        ({"year_ended": "1990", "year_commenced": "2000"}, "year_ended", "before"),
        ({"year_commenced": "1850"}, "year_commenced", "outside"),
        ({"company_id": ""}, "company_id", "required"),
        ({"label": ""}, "label", "required"),
        ({"company_overseas_infrastructure_id": "12a"}, "company_overseas_infrastructure_id", ""),
        ({"text": '<a href="ftp://example.org/x">x</a>'}, "text", "http or https"),
        ({"text": '<a href="/relative">x</a>'}, "text", "http or https"),
        ({"highlight": "maybe"}, "highlight", "yes/no"),
        ({"city": "@SUM(1+1)"}, "city", "formula"),
    ],
)
def test_each_kind_of_invalid_cell_is_reported_with_its_column(db, tmp_path, cells, column, reason):
    path = write_aspi_csv(tmp_path / "bad.csv", [aspi_row(7001), aspi_row(7002, **cells)])
    result = parse_aspi(path)
    assert [r.public_id for r in result.records] == ["ctm-7001"]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.line, error.column) == (3, column)
    assert reason in error.reason


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a PNG image"),
        (b'{"id": "safe", "name": "SAFE"}', "missing column(s)"),
        (b"company_id,label\n1 | Huawei,x\n", "missing column(s) company_overseas"),
        (b"", "is empty"),
        (b"\xff\xfe\xfa latin garbage \xe9", "not UTF-8"),
    ],
)
def test_a_file_in_another_format_gives_one_clear_error(db, tmp_path, content, message):
    path = tmp_path / "not-aspi.csv"
    path.write_bytes(content)
    before = Entry.objects.count()
    with pytest.raises(CommandError) as info:
        call_command("import", str(path), format="aspi", stdout=io.StringIO())
    assert message in str(info.value)
    assert Entry.objects.count() == before


def test_a_missing_file_gives_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import", str(tmp_path / "nope.csv"), format="aspi", stdout=io.StringIO())


def test_run_import_returns_a_report(db):
    report = run_import(DATA_CSV, "aspi", dry_run=True)
    assert (report.created, report.invalid, report.written) == (6, 0, False)


# --- the real entry point --------------------------------------------------------------------


def test_cli_imports_then_reimports_nothing(empty_db):
    data_dir, env = empty_db
    first = run_techmap("import", DATA_CSV, "--format", "aspi", env=env)
    assert first.returncode == 0, first.stderr
    assert "created 6, updated 0, unchanged 0, skipped 0, invalid 0" in first.stdout
    second = run_techmap("import", DATA_CSV, "--format", "aspi", env=env)
    assert second.returncode == 0, second.stderr
    assert "created 0, updated 0, unchanged 6, skipped 0, invalid 0" in second.stdout
    assert count_rows(data_dir) == 6
    stats = run_techmap("stats", env=env)
    assert "6 points of overseas presence for 5 companies across 5 countries." in stats.stdout
    assert "2 undersea cables across 1 country." in stats.stdout


def test_cli_hostile_file_exits_non_zero_lists_rows_and_writes_nothing(empty_db):
    data_dir, env = empty_db
    sources = count_rows(data_dir, "catalog_source")
    result = run_techmap("import", HOSTILE_CSV, "--format", "aspi", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    for expected in HOSTILE_ERRORS:
        assert expected in result.stderr
    assert count_rows(data_dir) == 0
    assert count_rows(data_dir, "catalog_source") == sources
    skipping = run_techmap("import", HOSTILE_CSV, "--format", "aspi", "--skip-invalid", env=env)
    assert skipping.returncode != 0
    assert "created 2, updated 0, unchanged 0, skipped 0, invalid 8" in skipping.stdout
    assert count_rows(data_dir) == 2


def test_cli_wrong_format_is_one_clean_error(empty_db, tmp_path):
    _, env = empty_db
    png = tmp_path / "map.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    for path in (png, FIXTURES / "telegeography" / "test-cable-one.json"):
        result = run_techmap("import", path, "--format", "aspi", env=env)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("CommandError:")


def test_cli_dry_run_writes_nothing(empty_db):
    data_dir, env = empty_db
    result = run_techmap("import", DATA_CSV, "--format", "aspi", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert "would have created 6" in result.stdout
    assert count_rows(data_dir) == 0
    assert count_rows(data_dir, "catalog_company") == 12  # the test company was not created


@pytest.mark.parametrize("reader_open", [True, False], ids=["wal", "rollback-journal"])
def test_cli_import_killed_with_sigkill_leaves_the_database_before_or_after(empty_db, reader_open):
    """Killed mid-load, the import leaves the entries it found or all of them: with the
    write-ahead log (another connection has the database open) and with the rollback
    journal a large load switches to when it is alone."""
    data_dir, env = empty_db
    n = 20_000  # a large load (writer.INDEXES_ASIDE_FROM) into an empty table
    big = write_aspi_csv(data_dir / "big.csv", [aspi_row(i) for i in range(1, n + 1)])
    database = data_dir / "db.sqlite3"
    reader = sqlite3.connect(database) if reader_open else None
    if reader is not None:
        reader.execute("SELECT count(*) FROM catalog_entry").fetchone()
    # Mid-load: the write-ahead log has taken spilled pages, or the journal exists.
    wal, journal = Path(f"{database}-wal"), Path(f"{database}-journal")
    process = subprocess.Popen(
        [str(TECHMAP), "import", str(big), "--format", "aspi"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if (wal.exists() and wal.stat().st_size > 1_000_000) or journal.exists():
                break
            time.sleep(0.005)
        killed_mid_load = process.poll() is None
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
        if reader is not None:
            reader.close()
    assert killed_mid_load
    assert count_rows(data_dir) in (0, n)
    assert count_rows(data_dir, "catalog_entrysource") in (0, n)
    stats = run_techmap("stats", env=env)  # the next command finds a sound database
    assert stats.returncode == 0, stats.stderr
    assert sqlite3.connect(database).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- large loads set the indexes (and PostgreSQL's foreign keys) aside ------------------------

LOADED_TABLES = ["catalog_entry", "catalog_entry_companies", "catalog_entry_topics",
                 "catalog_entrysource"]  # fmt: skip


def _set_aside_objects() -> list[str]:
    """The create statements of every index and foreign key a large load sets aside, and of
    the history tables' primary keys."""
    from django.db import connection

    history_tables = history.tables([Entry, EntrySource, Source])
    with connection.cursor() as cursor:
        objects = bulkload.schema_objects(cursor, LOADED_TABLES)
        objects += bulkload.schema_objects(cursor, history_tables, primary_keys=True)
    return sorted(create for _, create in objects)


def _large_load(tmp_path, monkeypatch) -> tuple[Path, list]:
    """A file with more new entries than the entry and history tables hold, and a record of
    which tables the import set aside."""
    monkeypatch.setattr(writer, "INDEXES_ASIDE_FROM", 1)
    monkeypatch.setattr(history, "IDS_AS_PARAMETERS", 5)  # history ids by temporary table
    n = max(Entry.objects.count(), Entry.history.count()) + 20
    rows = [aspi_row(800_000 + i) for i in range(n)]  # ids no bundled entry holds
    path = write_aspi_csv(tmp_path / "load.csv", rows)
    used = []
    real = bulkload.schema_set_aside

    def spy(tables, *, enabled=True, primary_keys=False):
        used.append((tables[0], enabled, primary_keys))
        return real(tables, enabled=enabled, primary_keys=primary_keys)

    monkeypatch.setattr(bulkload, "schema_set_aside", spy)
    return path, used


def test_a_large_load_sets_the_indexes_aside_and_builds_them_again(db, tmp_path, monkeypatch):
    from django.db import connection

    before = _set_aside_objects()
    assert len(before) >= 8
    path, used = _large_load(tmp_path, monkeypatch)
    n = Entry.objects.count()
    out, err, failure = import_file(path)
    assert failure is None, err
    history_set_aside = connection.vendor == "postgresql"
    assert used == [
        ("catalog_entry", True, False),
        ("catalog_historicalentry", history_set_aside, True),  # numbered by their sequences
    ]
    assert _set_aside_objects() == before
    new = len(path.read_text().splitlines()) - 1
    assert Entry.objects.count() == n + new  # all new
    entry = Entry.objects.get(public_id="ctm-800000")
    assert entry.history.count() == 1 and entry.history.get().history_type == "+"
    snapshot = entry.history.get().companies.values_list("company_id", flat=True)
    assert list(snapshot) == list(entry.companies.values_list("pk", flat=True)) != []
    out, err, failure = import_file(path)  # and again: nothing changes
    assert "unchanged" in out and "created 0, updated 0" in out


def test_a_failed_large_load_writes_nothing_and_keeps_the_indexes(db, tmp_path, monkeypatch):
    from django.db import DatabaseError

    before = _set_aside_objects()
    counts = Entry.objects.count(), Source.objects.count()
    path, used = _large_load(tmp_path, monkeypatch)

    def fail(*args):
        raise DatabaseError("simulated failure while the indexes are set aside")

    monkeypatch.setattr(writer, "_sync_links", fail)
    out, err, failure = import_file(path)
    assert failure is not None and "simulated failure" in str(failure)
    assert used == [("catalog_entry", True, False)]
    assert _set_aside_objects() == before
    assert (Entry.objects.count(), Source.objects.count()) == counts


def test_primary_keys_set_aside_are_built_again_and_still_refuse_a_repeated_key(db):
    """A large load's history goes in without its primary keys on PostgreSQL (SQLite cannot
    drop one); adding them back checks the rows as they would have."""
    from django.db import IntegrityError, transaction

    import_file(DATA_CSV)
    table = Entry.history.model._meta.db_table
    before = _set_aside_objects()

    def primary_keys(cursor) -> list[str]:
        objects = bulkload.schema_objects(cursor, [table], primary_keys=True)
        return [create for _, create in objects if "PRIMARY KEY" in create]

    inside = []
    with pytest.raises(IntegrityError), transaction.atomic():
        with bulkload.schema_set_aside([table], primary_keys=True):
            with connection.cursor() as cursor:
                inside = primary_keys(cursor)
                cursor.execute(
                    f"INSERT INTO {table} SELECT * FROM {table} WHERE history_id = %s",
                    [Entry.history.values_list("history_id", flat=True).first()],
                )
    assert inside == []
    assert _set_aside_objects() == before
    with connection.cursor() as cursor:
        assert len(primary_keys(cursor)) == (connection.vendor == "postgresql")


def _journal_during_a_large_import(tmp_path, monkeypatch) -> list[str]:
    """Import a large load; return SQLite's journal mode during the write."""
    from django.db import connection

    path, _ = _large_load(tmp_path, monkeypatch)
    seen = []
    real = writer.write_records

    def spy(records, **options):
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            seen.append(cursor.fetchone()[0])
        return real(records, **options)

    monkeypatch.setattr(writer, "write_records", spy)
    report = run_import(path, "aspi")
    assert report.created == len(path.read_text().splitlines()) - 1
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_large_import_alone_writes_through_a_rollback_journal_then_wal_again(
    tmp_path, monkeypatch
):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's journal modes")
    assert _journal_during_a_large_import(tmp_path, monkeypatch) == ["delete"]
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


@pytest.mark.django_db(transaction=True)
def test_a_large_import_beside_another_connection_keeps_the_write_ahead_log(tmp_path, monkeypatch):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's journal modes")
    connection.ensure_connection()
    other = sqlite3.connect(connection.settings_dict["NAME"])  # e.g. a running server
    try:
        before = other.execute("SELECT count(*) FROM catalog_entry").fetchone()[0]
        assert _journal_during_a_large_import(tmp_path, monkeypatch) == ["wal"]
        assert other.execute("SELECT count(*) FROM catalog_entry").fetchone()[0] > before
    finally:
        other.close()


def test_an_import_pauses_the_garbage_collector_and_resumes_it(db, monkeypatch):
    import gc

    seen = []
    real = writer.write_records

    def spy(records, **options):
        seen.append(gc.isenabled())
        return real(records, **options)

    monkeypatch.setattr(writer, "write_records", spy)
    assert gc.isenabled()
    run_import(DATA_CSV, "aspi")
    assert seen == [False]
    assert gc.isenabled()
    with pytest.raises(ImportFormatError):
        run_import(DATA_CSV, "telegeography")  # fails while paused: resumed all the same
    assert gc.isenabled()


def test_a_large_import_leaves_fresh_planner_statistics(db, monkeypatch):
    from django.db import connection

    from techmap import exchange

    monkeypatch.setattr(exchange.importers, "ANALYZE_AFTER", 1)  # the fixture counts as large
    run_import(DATA_CSV, "aspi")
    entries = Entry.objects.count()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # One row per index of the table; its first number is the table's row count.
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'catalog_entry'")
            counts = {int(stat.split()[0]) for (stat,) in cursor.fetchall()}
            assert counts == {entries}
        else:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'catalog_entry'")
            assert cursor.fetchone()[0] == entries
