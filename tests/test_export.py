"""Exports of the published entries: CSV, XLSX, GeoJSON, the Data Package, the `techmap
export` command (through its real entry point) and the /download/ views.

Counts are never hard-coded: every export is compared with the ORM's published entries.
"""

import csv
import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source, Topic
from techmap.catalog.queries import EntryFilters
from techmap.exchange import columns as columns_module
from techmap.exchange.columns import (
    COLUMN_NAMES,
    COLUMNS,
    COLUMNS_BY_NAME,
    cell_text,
    entry_to_csv_cells,
    entry_to_row,
    neutralise_formula,
    restore_formula_text,
    row_to_record,
)
from techmap.exchange.datapackage import write_datapackage
from techmap.exchange.export import (
    ExportError,
    export_entries,
    export_to_path,
    iter_export_entries,
    write_csv,
)
from techmap.exchange.rows import stored_datetime_text

TECHMAP = Path(sys.executable).parent / "techmap"
FRICTIONLESS = Path(sys.executable).parent / "frictionless"
HOSTILE_TITLE = '=HYPERLINK("http://x")'


# --- helpers --------------------------------------------------------------------------------


def make_entry(public_id, *, status=Entry.Status.PUBLISHED, company=None, **fields):
    """An entry of the first category and company (or the one given), with one source."""
    fields.setdefault("title", f"Entry {public_id}")
    fields.setdefault("category", Category.objects.order_by("pk").first())
    entry = Entry.objects.create(public_id=public_id, status=status, **fields)
    entry.companies.set([company or Company.objects.order_by("pk").first()])
    source = Source.objects.create(title=f"Source for {public_id}", url="https://example.org/s")
    EntrySource.objects.create(entry=entry, source=source, position=0)
    return entry


def published_ids(**filters) -> set[str]:
    return set(Entry.objects.published().filter(**filters).values_list("public_id", flat=True))


def csv_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def xlsx_rows(source) -> list[dict]:
    workbook = openpyxl.load_workbook(source, read_only=True)
    rows = list(workbook["entries"].iter_rows(values_only=True))
    header = list(rows[0])
    assert header == COLUMN_NAMES
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def export_file(tmp_path, fmt, filters=None) -> Path:
    path = tmp_path / f"out.{fmt}" if fmt != "datapackage" else tmp_path / "package"
    export_to_path(export_entries(filters), fmt, path)
    return path


def exported_ids(tmp_path, fmt, filters=None) -> list[str]:
    path = export_file(tmp_path, fmt, filters)
    if fmt == "csv":
        return [row["id"] for row in csv_rows(path)]
    if fmt == "xlsx":
        return [row["id"] for row in xlsx_rows(path)]
    if fmt == "geojson":
        return [f["id"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]]
    return [row["id"] for row in csv_rows(path / "entries.csv")]


@pytest.fixture
def unpublished(bundled):
    """A draft and a retired entry, which no export may show."""
    return [
        make_entry("zz-draft-entry", status=Entry.Status.DRAFT),
        make_entry("zz-retired-entry", status=Entry.Status.RETIRED),
    ]


@pytest.fixture
def hostile(bundled):
    """A published entry whose text cells a spreadsheet would run as formulas."""
    return make_entry(
        "zz-hostile",
        title=HOSTILE_TITLE,
        city="+cmd",
        address="\tTAB",
        partners=["@SUM(1)"],
        financing_lender="-2+3",
        financing_amount=Decimal("-1500000.50"),
        financing_currency="USD",
        latitude=-33.5,
        longitude=151.25,
        precision=Entry.Precision.EXACT,
        country=Country.objects.order_by("pk").first(),
        year_started=2015,
        external_refs={"note": "=1+1"},
    )


# --- the column definition ------------------------------------------------------------------


def test_columns_are_the_documented_flat_format_in_order():
    assert COLUMN_NAMES == [
        "id", "title", "companies", "company_slugs", "category", "category_name",
        "secondary_category", "topics", "country", "country_name", "city", "address",
        "latitude", "longitude", "precision", "partners", "financing_lender",
        "financing_amount", "financing_currency", "year_started", "year_ended",
        "description", "highlight", "external_refs", "line_geometry", "sources",
        "created", "updated",
    ]  # fmt: skip
    allowed = {"string", "number", "integer", "boolean", "datetime", "object", "array"}
    assert {c.type for c in COLUMNS} <= allowed
    assert all(c.description for c in COLUMNS)


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+cmd", "-2+3", "@SUM(1)", "\tTAB", "\rCR", "'=already", "''+two"],
)
def test_formula_text_is_neutralised_and_restored_exactly(text):
    written = neutralise_formula(text)
    assert written == "'" + text
    assert restore_formula_text(written) == text


@pytest.mark.parametrize("text", ["", "plain", "'quoted", "it's", "1-2", "<p>=x</p>"])
def test_harmless_text_is_written_unchanged(text):
    assert neutralise_formula(text) == text
    assert restore_formula_text(text) == text


def test_numbers_are_never_prefixed_in_csv_cells():
    assert cell_text(COLUMNS_BY_NAME["latitude"], -33.5) == "-33.5"
    assert cell_text(COLUMNS_BY_NAME["financing_amount"], Decimal("-12.50")) == "-12.50"
    assert cell_text(COLUMNS_BY_NAME["year_started"], None) == ""


def test_a_csv_row_reads_back_to_the_same_values(hostile):
    entry = next(iter_export_entries(Entry.objects.filter(pk=hostile.pk)))
    cells = dict(zip(COLUMN_NAMES, entry_to_csv_cells(entry), strict=True))
    record = row_to_record(cells)
    row = entry_to_row(entry)
    for name in ("companies", "company_slugs", "topics", "partners"):
        row[name] = [part for part in row[name].split("; ") if part]
    assert record == row


def test_row_to_record_names_the_bad_column():
    cells = {"id": "x", "title": "t", "category": "c", "latitude": "north"}
    with pytest.raises(columns_module.CellError) as info:
        row_to_record(cells)
    assert info.value.column == "latitude"


# --- every format holds exactly the published entries ---------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson", "datapackage"])
def test_export_holds_exactly_the_published_entries(tmp_path, unpublished, fmt):
    ids = exported_ids(tmp_path, fmt)
    assert len(ids) == len(set(ids))
    assert set(ids) == published_ids()
    assert ids == sorted(ids)
    assert "zz-draft-entry" not in ids and "zz-retired-entry" not in ids


@pytest.mark.parametrize(
    ("filters", "orm"),
    [
        (EntryFilters(companies=("huawei",)), {"companies__slug": "huawei"}),
        (EntryFilters(year_from=2015, year_to=2017), None),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_export_applies_the_api_filters(tmp_path, bundled, fmt, filters, orm):
    if orm is None:  # the year range overlap rule of queries.filter_entries
        qs = Entry.objects.published().filter(year_started__lte=2017).exclude(year_ended__lt=2015)
        expected = set(qs.values_list("public_id", flat=True))
    else:
        expected = published_ids(**orm)
    assert 0 < len(expected) < len(published_ids())
    assert set(exported_ids(tmp_path, fmt, filters)) == expected


def test_export_by_country_and_text(tmp_path, bundled):
    country = Entry.objects.published().exclude(country=None).values_list("country__iso2")[0][0]
    ids = exported_ids(tmp_path, "csv", EntryFilters(countries=(country,)))
    assert set(ids) == published_ids(country__iso2=country)
    word_entry = Entry.objects.published().order_by("public_id").first()
    ids = exported_ids(tmp_path, "csv", EntryFilters(q=word_entry.public_id))
    assert ids == [word_entry.public_id]


def test_export_queries_do_not_grow_with_the_number_of_entries(tmp_path, bundled):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            write_csv(iter_export_entries(export_entries()), io.StringIO())
        return len(ctx.captured_queries)

    before = count_queries()
    for n in range(25):
        make_entry(f"zz-many-{n:02d}")
    assert count_queries() == before


# --- spreadsheet safety ---------------------------------------------------------------------


def test_csv_neutralises_formulas_but_keeps_numbers(tmp_path, hostile):
    (row,) = [r for r in csv_rows(export_file(tmp_path, "csv")) if r["id"] == "zz-hostile"]
    assert row["title"] == "'" + HOSTILE_TITLE
    assert row["city"] == "'+cmd"
    assert row["address"] == "'\tTAB"
    assert row["partners"] == "'@SUM(1)"
    assert row["financing_lender"] == "'-2+3"
    assert row["latitude"] == "-33.5"
    assert row["financing_amount"] == "-1500000.50"
    assert row["year_started"] == "2015"
    assert row["highlight"] == "false"
    assert json.loads(row["external_refs"]) == {"note": "=1+1"}
    assert row["year_ended"] == "" and row["line_geometry"] == ""
    assert row["secondary_category"] == ""


def test_xlsx_neutralises_formulas_but_keeps_numbers(tmp_path, hostile):
    (row,) = [r for r in xlsx_rows(export_file(tmp_path, "xlsx")) if r["id"] == "zz-hostile"]
    for name in ("title", "city", "address", "partners", "financing_lender"):
        assert isinstance(row[name], str) and row[name].startswith("'"), name
    assert row["title"] == "'" + HOSTILE_TITLE
    assert row["latitude"] == -33.5
    assert row["longitude"] == 151.25
    assert row["financing_amount"] == -1500000.5
    assert row["year_started"] == 2015 and isinstance(row["year_started"], int)
    assert row["highlight"] is False
    assert row["year_ended"] is None and row["secondary_category"] is None


def test_xlsx_has_no_formula_cells(tmp_path, hostile):
    workbook = openpyxl.load_workbook(export_file(tmp_path, "xlsx"))
    for row in workbook["entries"].iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate


def test_geojson_features_carry_every_column_and_raw_text(tmp_path, hostile):
    collection = json.loads(export_file(tmp_path, "geojson").read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    (feature,) = [f for f in collection["features"] if f["id"] == "zz-hostile"]
    assert list(feature["properties"]) == COLUMN_NAMES
    assert feature["geometry"] == {"type": "Point", "coordinates": [151.25, -33.5]}
    assert feature["properties"]["title"] == HOSTILE_TITLE  # JSON is not a spreadsheet
    assert feature["properties"]["financing_amount"] == -1500000.5
    assert feature["properties"]["sources"][0]["url"] == "https://example.org/s"



@pytest.mark.parametrize("fmt", ["geojson", "csv"])
@pytest.mark.parametrize("microsecond", [0, 120000])
def test_timestamps_are_exported_as_utc_iso_text_with_microseconds(tmp_path, hostile, fmt,
                                                                   microsecond):  # fmt: skip
    stamp = dt.datetime(2025, 3, 4, 5, 6, 7, microsecond, tzinfo=dt.UTC)
    Entry.objects.filter(public_id="zz-hostile").update(created=stamp, updated=stamp)
    path = export_file(tmp_path, fmt)
    if fmt == "geojson":
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
        (row,) = [f["properties"] for f in features if f["id"] == "zz-hostile"]
    else:
        rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
        (row,) = [r for r in rows if r["id"] == "zz-hostile"]
    expected = f"2025-03-04T05:06:07.{microsecond:06d}Z"
    assert (row["created"], row["updated"]) == (expected, expected)


@pytest.mark.parametrize(
    "stored, text",
    [
        ("2025-03-04 05:06:07", "2025-03-04T05:06:07.000000Z"),
        ("2025-03-04 05:06:07.000120", "2025-03-04T05:06:07.000120Z"),
        # Other forms than Django's are parsed: a fraction, an offset, a year before 1000.
        ("2025-03-04 05:06:07.5", "2025-03-04T05:06:07.500000Z"),
        ("2025-03-04 05:06:07+02:00", "2025-03-04T03:06:07.000000Z"),
        ("0999-03-04 05:06:07", "999-03-04T05:06:07.000000Z"),
        (None, None),
    ],
)
def test_a_datetime_stored_by_sqlite_becomes_the_text_of_the_datetime(stored, text):
    assert stored_datetime_text(stored) == text

# --- data package ---------------------------------------------------------------------------


def frictionless_report(descriptor: Path) -> dict:
    result = subprocess.run(
        [str(FRICTIONLESS), "validate", "--json", str(descriptor)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(result.stdout)


def test_datapackage_passes_frictionless_validate(tmp_path, hostile):
    package = export_file(tmp_path, "datapackage")
    report = frictionless_report(package / "datapackage.json")
    assert report["valid"], json.dumps(report, indent=1)[:3000]
    descriptor = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["licenses"][0]["name"] == "CC-BY-SA-4.0"
    assert descriptor["sources"] and descriptor["citation"] and descriptor["created"]
    schema = descriptor["resources"][0]["schema"]
    assert [f["name"] for f in schema["fields"]] == COLUMN_NAMES
    assert schema["primaryKey"] == ["id"]
    assert {r["path"] for r in descriptor["resources"]} == {"entries.csv", "entries.geojson"}


def test_datapackage_as_zip_holds_the_three_files(tmp_path, bundled):
    output = tmp_path / "techmap.zip"
    count = write_datapackage(export_entries(), output)
    with zipfile.ZipFile(output) as zipped:
        assert sorted(zipped.namelist()) == ["datapackage.json", "entries.csv", "entries.geojson"]
        rows = list(csv.DictReader(io.StringIO(zipped.read("entries.csv").decode("utf-8"))))
    assert count == len(rows) == len(published_ids())
    assert [p.name for p in tmp_path.iterdir()] == ["techmap.zip"]  # no temporary leftovers


def test_datapackage_replaces_an_earlier_package_but_not_another_folder(tmp_path, bundled):
    package = tmp_path / "package"
    write_datapackage(export_entries(), package)
    write_datapackage(export_entries(EntryFilters(companies=("huawei",))), package)
    assert len(csv_rows(package / "entries.csv")) == len(published_ids(companies__slug="huawei"))
    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(ExportError):
        write_datapackage(export_entries(), other)
    assert [p.name for p in other.iterdir()] == ["holiday.jpg"]


# --- atomic writes --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson", "datapackage"])
def test_a_failed_export_leaves_no_partial_output(tmp_path, bundled, fmt):
    calls = {"n": 0}
    title = COLUMNS_BY_NAME["title"]

    def exploding_title(entry):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("disk on fire")
        return title.getter(entry)

    # COLUMNS is the one list every writer reads; swap its title column for a failing one.
    position = COLUMNS.index(title)
    COLUMNS[position] = replace(title, getter=exploding_title)
    output = tmp_path / ("package" if fmt == "datapackage" else f"out.{fmt}")
    try:
        with pytest.raises(RuntimeError):
            export_to_path(export_entries(), fmt, output)
    finally:
        COLUMNS[position] = title
    assert list(tmp_path.iterdir()) == []


# --- the techmap export command -------------------------------------------------------------


def techmap_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECHMAP_")}
    env["TECHMAP_DATA_DIR"] = str(data_dir)
    env["TECHMAP_DATABASE_URL"] = f"sqlite:///{data_dir / 'db.sqlite3'}"
    return env


def run_techmap(*args, env):
    return subprocess.run(
        [str(TECHMAP), *args], env=env, capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def cli_data(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("export-cli")
    env = techmap_env(data_dir)
    result = run_techmap("init", env=env)
    assert result.returncode == 0, result.stderr
    con = sqlite3.connect(data_dir / "db.sqlite3")
    try:
        ids = {
            r[0]
            for r in con.execute(
                "select public_id from catalog_entry where status=?", ("published",)
            )
        }
    finally:
        con.close()
    return data_dir, env, ids


@pytest.mark.parametrize("fmt", ["csv", "geojson", "xlsx"])
def test_techmap_export_writes_every_published_entry(tmp_path, cli_data, fmt):
    _, env, ids = cli_data
    output = tmp_path / f"entries.{fmt}"
    result = run_techmap("export", "--format", fmt, "--output", str(output), env=env)
    assert result.returncode == 0, result.stderr
    assert f"Wrote {len(ids)} published entries" in result.stdout
    if fmt == "csv":
        assert {r["id"] for r in csv_rows(output)} == ids
    elif fmt == "xlsx":
        assert {r["id"] for r in xlsx_rows(output)} == ids
    else:
        features = json.loads(output.read_text(encoding="utf-8"))["features"]
        assert {f["id"] for f in features} == ids
    assert [p.name for p in tmp_path.iterdir()] == [output.name]


def test_techmap_export_datapackage_is_valid(tmp_path, cli_data):
    _, env, ids = cli_data
    output = tmp_path / "package"
    result = run_techmap("export", "--format", "datapackage", "--output", str(output), env=env)
    assert result.returncode == 0, result.stderr
    assert frictionless_report(output / "datapackage.json")["valid"]
    assert {r["id"] for r in csv_rows(output / "entries.csv")} == ids


def test_techmap_export_filters_like_the_api(tmp_path, cli_data):
    _, env, ids = cli_data
    output = tmp_path / "huawei.csv"
    args = ["--company", "huawei", "--year-from", "2000", "--year-to", "2100"]
    result = run_techmap("export", "--format", "csv", "--output", str(output), *args, env=env)
    assert result.returncode == 0, result.stderr
    rows = csv_rows(output)
    assert rows and len(rows) < len(ids)
    assert all("huawei" in r["company_slugs"].split("; ") for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--company", "no-such-company"], "unknown company: no-such-company"),
        (["--year-from", "soon"], "year_from must be a year"),
        (["--year-from", "2020", "--year-to", "2010"], "year_from must not be after year_to"),
    ],
)
def test_techmap_export_bad_filter_fails_clearly_and_keeps_the_old_file(
    tmp_path, cli_data, args, message
):
    _, env, _ = cli_data
    output = tmp_path / "entries.csv"
    output.write_text("previous export\n", encoding="utf-8")
    result = run_techmap("export", "--format", "csv", "--output", str(output), *args, env=env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert output.read_text(encoding="utf-8") == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["entries.csv"]


def test_techmap_export_into_a_missing_folder_fails_clearly(tmp_path, cli_data):
    _, env, _ = cli_data
    output = tmp_path / "missing" / "entries.csv"
    result = run_techmap("export", "--format", "csv", "--output", str(output), env=env)
    assert result.returncode != 0
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


# --- download views -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "extension"),
    [
        ("exchange:csv", "text/csv", "csv"),
        (
            "exchange:xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        ("exchange:geojson", "application/geo+json", "geojson"),
    ],
)
def test_download_returns_the_published_entries_as_an_attachment(
    client, unpublished, name, content_type, extension
):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="techmap-entries-')
    assert disposition.endswith(f'.{extension}"')
    body = b"".join(response.streaming_content)
    if extension == "csv":
        ids = [r["id"] for r in csv.DictReader(io.StringIO(body.decode("utf-8")))]
    elif extension == "xlsx":
        ids = [r["id"] for r in xlsx_rows(io.BytesIO(body))]
    else:
        ids = [f["id"] for f in json.loads(body)["features"]]
    assert set(ids) == published_ids() and len(ids) == len(set(ids))


def test_download_applies_the_filters_of_the_query_string(client, bundled):
    response = client.get(reverse("exchange:csv"), {"company": "huawei", "q": "   "})
    body = b"".join(response.streaming_content).decode("utf-8")
    ids = {r["id"] for r in csv.DictReader(io.StringIO(body))}
    assert ids == published_ids(companies__slug="huawei")


@pytest.mark.parametrize("name", ["exchange:csv", "exchange:xlsx", "exchange:geojson"])
@pytest.mark.parametrize(
    "query",
    [{"company": "no-such"}, {"year_from": "abc"}, {"country": "ZZ"}, {"q": "x" * 500}],
)
def test_download_with_a_bad_filter_is_a_400_with_the_reason(client, bundled, name, query):
    response = client.get(reverse(name), query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode("utf-8").startswith("Bad filter: ")


def test_download_urls_are_under_download(bundled):
    assert reverse("exchange:csv") == "/download/entries.csv"
    assert reverse("exchange:xlsx") == "/download/entries.xlsx"
    assert reverse("exchange:geojson") == "/download/entries.geojson"


def test_topics_column_holds_topic_slugs(tmp_path, bundled):
    topic = Topic.objects.filter(entries__status=Entry.Status.PUBLISHED).first()
    rows = csv_rows(export_file(tmp_path, "csv", EntryFilters(topics=(topic.slug,))))
    assert rows and all(topic.slug in r["topics"].split("; ") for r in rows)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_every_format_reads_back_to_the_entry_values(tmp_path, hostile, fmt):
    path = export_file(tmp_path, fmt)
    if fmt == "csv":
        rows = csv_rows(path)
    elif fmt == "xlsx":
        rows = xlsx_rows(path)
    else:
        rows = [f["properties"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]]
    (row,) = [r for r in rows if r["id"] == "zz-hostile"]
    entry = next(iter_export_entries(Entry.objects.filter(pk=hostile.pk)))
    expected = entry_to_row(entry)
    for name in ("companies", "company_slugs", "topics", "partners"):
        expected[name] = [part for part in expected[name].split("; ") if part]
    assert row_to_record(row) == expected
