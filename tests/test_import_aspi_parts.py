"""`techmap import --format aspi` of large files: parsed in parts on every core, and a
first load written part by part while the next parts are parsed."""

from pathlib import Path

import pytest
from simple_history.models import HistoricalRecords

from techmap.catalog.models import Entry, EntrySource, Source
from techmap.exchange.importers import parallel, run_import, writer
from techmap.exchange.importers.aspi import parse_aspi
from tests.test_import_aspi import aspi_row, write_aspi_csv

# --- parsing large files on every core -------------------------------------------------------


def _parallel_file(tmp_path, **changes) -> Path:
    rows = [
        aspi_row(
            i,
            text=f'<p>Row {i}, "quoted",\nsee <a href="https://example.org/{i}">source {i}</a></p>',
        )
        for i in range(1, 301)
    ]
    for i, row in enumerate(rows):  # every field a row of markers can set, here and there
        if i % 3 == 0:
            row.update({"secondary_infrastructure_type_id": f"{i % 4} | Secondary {i % 4}",
                        "Primary topic": "1 | Surveillance", "Secondary (if needed)": "2 | 5G",
                        "Third topic": "1 | surveillance", "year_commenced": str(2000 + i % 19),
                        "highlight": "yes", "cable_id": f"cable-{i}"})  # fmt: skip
        if i % 4 == 1:
            row.update({"overseas_infrastructure_lat": "", "overseas_infrastructure_lng": "",
                        "city": "Hamburg" if i % 8 == 1 else "Nowhere-on-the-map",
                        "street address": f"{i} Test Street", "year_ended": "2021"})  # fmt: skip
    rows[50]["label"] = ""  # invalid
    rows[120] = aspi_row(3)  # the id of row 3 again, in another part
    rows[200]["overseas_infrastructure_lat"] = "95"
    rows[250]["text"] = '<a href="javascript:alert(1)">x</a>'
    for index, cells in changes.items():
        rows[int(index[1:])].update(cells)
    return write_aspi_csv(tmp_path / "big.csv", rows)


def _parse_in_parts(path, monkeypatch):
    """parse_aspi(path) cut into small parts on two workers; also whether the cut was used."""
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
    monkeypatch.setattr(parallel, "PART", 4096)
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    used = []
    real = parallel.parse_in_parallel

    def spy(*args):
        parts = real(*args)
        if parts is None:
            used.append(False)
            return None

        def watched():
            for part in parts:
                used.append(part is not None)
                yield part

        return watched()

    monkeypatch.setattr(parallel, "parse_in_parallel", spy)
    result = parse_aspi(path)
    return result, len(used) > 1 and all(used)


def test_parsing_in_parallel_gives_the_same_records_errors_and_lines(db, tmp_path, monkeypatch):
    path = _parallel_file(tmp_path)
    single = parse_aspi(path)
    assert [(e.line, e.column) for e in single.errors] == [
        (102, "label"),
        (242, "company_overseas_infrastructure_id"),
        (401, "overseas_infrastructure_lat"),  # row 120 above took a single line
        (501, "text"),
    ]
    in_parts, used = _parse_in_parts(path, monkeypatch)
    assert used
    assert in_parts.errors == single.errors
    assert in_parts.records == single.records
    assert len(in_parts.records) == 296


def test_a_stray_quote_makes_a_large_file_parse_in_one_process(db, tmp_path, monkeypatch):
    # A quote inside an unquoted cell is a literal character to the csv module, and would
    # shift a cut made by counting quotes.
    path = _parallel_file(tmp_path)
    text = path.read_text(encoding="utf-8-sig")
    assert ",Synthetic test entry 11," in text
    path.write_text(text.replace(",Synthetic test entry 11,", ',Test 11 is "odd,', 1))
    single = parse_aspi(path)
    in_parts, used = _parse_in_parts(path, monkeypatch)
    assert not used
    assert (in_parts.records, in_parts.errors) == (single.records, single.errors)
    assert single.records[10].title == 'Test 11 is "odd'


# --- a first load is written part by part while the next parts are parsed -------------------


@pytest.fixture
def no_entries(db):
    """The test database without the bundled entries or any history of entries, sources
    and their links (its sources stay: companies cite them)."""
    Entry.objects.all().delete()
    for model in (Entry, EntrySource, Source):
        model.history.all().delete()
    for name in ("companies", "topics"):
        _snapshots(name).objects.all().delete()


def _snapshots(name: str):
    """The history model of the links of Entry's many-to-many field name."""
    return HistoricalRecords.m2m_models[Entry._meta.get_field(name)]


def _first_load_in_parts(monkeypatch) -> list[int]:
    """Make the next import cut its file into small parts on two workers; the returned list
    fills with the number of records of each part written as it arrives."""
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
    monkeypatch.setattr(parallel, "PART", 4096)
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    written = []
    real = writer.write_first_load

    def spy(parts, **options):
        def counted():
            for records in parts:
                written.append(len(records))
                yield records

        return real(counted(), **options)

    monkeypatch.setattr(writer, "write_first_load", spy)
    return written


def _assert_sources_are(records):
    """Each entry of records cites its record's sources, in order."""
    for rec in records:
        links = EntrySource.objects.filter(entry__public_id=rec.public_id).order_by("position")
        assert [(link.source.title, link.source.url) for link in links] == [
            (s.title, s.url) for s in rec.sources
        ]


def _assert_entries_are(records):
    """The database holds exactly the entries of records, with their values and links, and
    the history of a bulk creation: one row per entry, source link and new source."""
    entries = {
        e.public_id: e
        for e in Entry.objects.select_related("category", "country").prefetch_related(
            "companies", "topics", "entry_sources__source"
        )
    }
    assert sorted(entries) == sorted(r.public_id for r in records)
    for rec in records:
        entry = entries[rec.public_id]
        assert (entry.title, entry.category.name, entry.country.iso2) == (
            rec.title,
            rec.category.name,
            rec.country,
        )
        assert (entry.latitude, entry.longitude, entry.description, entry.external_refs) == (
            rec.latitude,
            rec.longitude,
            rec.clean_description,
            rec.external_refs,
        )
        secondary = entry.secondary_category.name if entry.secondary_category else None
        assert secondary == (rec.secondary_category.name if rec.secondary_category else None)
        for name in ("city", "address", "precision", "line_geometry", "partners",
                     "financing_lender", "financing_amount", "financing_currency",
                     "year_started", "year_ended", "highlight"):  # fmt: skip
            assert getattr(entry, name) == getattr(rec, name), name
        assert (entry.status, entry.version) == ("published", 1)
        assert [c.name for c in entry.companies.all()] == [c.name for c in rec.companies]
        topics = {t.name.casefold() for t in entry.topics.all()}  # a name once, in any case
        assert sorted(topics) == sorted({t.name.casefold() for t in rec.topics})
    _assert_sources_are(records)
    assert Entry.history.filter(history_type="+").count() == len(records)
    assert EntrySource.history.count() == EntrySource.objects.count()
    new_sources = Source.objects.filter(url__startswith="https://example.org/")
    assert Source.history.count() == new_sources.count() == len(records)
    assert _snapshots("companies").objects.count() == Entry.companies.through.objects.count()


def test_a_first_load_is_written_part_by_part_as_a_whole_file_would_be(
    no_entries, tmp_path, monkeypatch
):
    path = _parallel_file(tmp_path)
    whole = parse_aspi(path)  # under 8 MB: parsed in one process
    written = _first_load_in_parts(monkeypatch)
    report = run_import(path, "aspi", skip_invalid=True)
    assert len(written) > 5 and sum(written) == len(whole.records) == 296
    assert report.errors == whole.errors
    assert (report.created, report.updated, report.unchanged, report.invalid) == (296, 0, 0, 4)
    _assert_entries_are(whole.records)


def test_a_first_load_in_parts_with_an_invalid_row_writes_nothing(
    no_entries, tmp_path, monkeypatch
):
    path = _parallel_file(tmp_path)
    whole = parse_aspi(path)
    written = _first_load_in_parts(monkeypatch)
    report = run_import(path, "aspi")
    assert written  # the parts before the first invalid row were written, then rolled back
    assert sum(written) < len(whole.records)
    assert report.errors == whole.errors and not report.written
    assert (report.created, report.invalid) == (0, 4)
    assert Entry.objects.count() == Entry.history.count() == EntrySource.history.count() == 0
    assert not Source.objects.filter(url__startswith="https://example.org/").exists()


def test_a_dry_run_in_parts_counts_everything_and_writes_nothing(no_entries, tmp_path, monkeypatch):
    path = _parallel_file(tmp_path)
    written = _first_load_in_parts(monkeypatch)
    report = run_import(path, "aspi", dry_run=True, skip_invalid=True)
    assert sum(written) == report.created == 296 and not report.written
    assert Entry.objects.count() == Entry.history.count() == EntrySource.history.count() == 0
    assert not Source.objects.filter(url__startswith="https://example.org/").exists()


def test_a_stray_quote_after_parts_were_written_falls_back_to_the_whole_file(
    no_entries, tmp_path, monkeypatch
):
    path = _parallel_file(tmp_path)
    text = path.read_text(encoding="utf-8-sig")
    assert ",Synthetic test entry 281," in text
    path.write_text(text.replace(",Synthetic test entry 281,", ',Test 281 is "odd,', 1))
    whole = parse_aspi(path)
    written = _first_load_in_parts(monkeypatch)
    report = run_import(path, "aspi", skip_invalid=True)
    assert written and sum(written) < len(whole.records)  # rolled back, then written whole
    assert report.created == len(whole.records) == 296
    assert Entry.objects.get(public_id="ctm-281").title == 'Test 281 is "odd'
    _assert_entries_are(whole.records)


def test_an_import_into_a_table_with_entries_is_not_written_in_parts(
    no_entries, tmp_path, monkeypatch
):
    path = _parallel_file(tmp_path)
    written = _first_load_in_parts(monkeypatch)
    run_import(path, "aspi", skip_invalid=True)
    written.clear()
    report = run_import(path, "aspi", skip_invalid=True)
    assert written == []  # existing entries are compared with the file as a whole
    assert (report.created, report.updated, report.unchanged) == (0, 0, 296)


def test_a_source_cited_in_every_part_is_created_once_with_one_history_row(
    no_entries, tmp_path, monkeypatch
):
    shared = '<a href="https://example.org/shared">shared source</a>'
    rows = [
        aspi_row(i, text=f'<p>Row {i}: <a href="https://example.org/{i}">own</a>, {shared}</p>')
        for i in range(1, 201)
    ]
    path = write_aspi_csv(tmp_path / "big.csv", rows)
    written = _first_load_in_parts(monkeypatch)
    report = run_import(path, "aspi")
    assert len(written) > 5 and report.created == 200
    source = Source.objects.get(url="https://example.org/shared")
    assert EntrySource.objects.filter(source=source).count() == 200
    assert source.history.count() == 1
    new_sources = Source.objects.filter(url__startswith="https://example.org/")
    assert new_sources.count() == Source.history.count() == 201


def test_a_first_load_numbers_its_entries_after_every_id_ever_given(
    no_entries, tmp_path, monkeypatch
):
    from techmap.catalog.models import Category

    category = Category.objects.first()
    gone = Entry.objects.create(public_id="gone", title="Gone", category=category).pk
    Entry.objects.filter(pk=gone).delete()  # its id is never given again
    written = _first_load_in_parts(monkeypatch)
    assert run_import(_parallel_file(tmp_path), "aspi", skip_invalid=True).created == 296
    ids = sorted(Entry.objects.values_list("pk", flat=True))
    assert len(written) > 5 and ids == list(range(gone + 1, gone + 297))
    later = Entry.objects.create(public_id="later", title="Later", category=category)
    assert later.pk == gone + 297


def test_rows_without_links_in_every_part_cite_the_imported_file(
    no_entries, tmp_path, monkeypatch
):
    rows = [aspi_row(i) if i % 3 == 1 else aspi_row(i, text="<p>No link.</p>")
            for i in range(1, 201)]  # fmt: skip
    path = write_aspi_csv(tmp_path / "big.csv", rows)
    whole = parse_aspi(path)
    written = _first_load_in_parts(monkeypatch)
    assert run_import(path, "aspi").created == 200 and len(written) > 5
    _assert_sources_are(whole.records)
    cited = Source.objects.get(title="China Tech Map big.csv import")
    assert EntrySource.objects.filter(source=cited).count() == 133
    assert cited.history.count() == 1


def test_a_first_load_in_parts_analyzes_each_table_it_fills_once_all_its_rows_are_in(
    no_entries, tmp_path, monkeypatch
):
    from django.db import connection

    from techmap import exchange

    monkeypatch.setattr(exchange.importers, "ANALYZE_AFTER", 1)  # 296 entries count as large
    path = _parallel_file(tmp_path)
    written = _first_load_in_parts(monkeypatch)
    analyzed = []

    def watch(execute, sql, params, many, context):
        if sql.startswith("ANALYZE"):
            analyzed.append(sql.split()[1].strip('"'))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        report = run_import(path, "aspi", skip_invalid=True)
    assert len(written) > 5 and report.created == 296
    assert sorted(analyzed) == sorted(exchange.importers.WRITTEN_TABLES)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'catalog_entry'")
            assert {int(stat.split()[0]) for (stat,) in cursor.fetchall()} == {296}
        else:
            for table, model in (("catalog_entry", Entry), ("catalog_entrysource", EntrySource)):
                cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
                assert cursor.fetchone()[0] == model.objects.count()


def test_entries_written_in_bulk_are_stamped_with_the_time_of_their_write(
    no_entries, tmp_path, monkeypatch
):
    from django.utils import timezone

    # 296 entries written in parts (COPY on PostgreSQL), then 3 changed (UPDATE)
    path = _parallel_file(tmp_path)
    _first_load_in_parts(monkeypatch)
    before = timezone.now()
    assert run_import(path, "aspi", skip_invalid=True).created == 296
    after = timezone.now()
    stamps = dict(Entry.objects.values_list("created", "updated"))  # each part has its own
    assert all(before <= created == updated <= after for created, updated in stamps.items())
    assert all(created.utcoffset().total_seconds() == 0 for created in stamps)

    changed = _parallel_file(tmp_path, r1={"label": "Changed 2"}, r2={"label": "Changed 3"})
    before = timezone.now()
    assert run_import(changed, "aspi", skip_invalid=True).updated == 2
    after = timezone.now()
    titles = Entry.objects.filter(title__startswith="Changed")
    assert titles.count() == 2
    assert all(before <= e.updated <= after and e.created in stamps for e in titles)


# --- reading the next part ahead -------------------------------------------------------------


def test_read_ahead_yields_every_item_computing_the_next_in_another_thread():
    import threading

    made_in = []

    def items():
        for n in range(4):
            made_in.append(threading.current_thread())
            yield n

    ahead = parallel.read_ahead(items())
    assert next(ahead) == 0
    assert list(ahead) == [1, 2, 3]
    here = threading.current_thread()
    assert made_in[0] is here  # the first one, where the workers start
    assert len(made_in) == 4 and all(thread is not here for thread in made_in[1:])


def test_read_ahead_raises_what_the_iterator_raises_and_closes_it_when_left_early():
    closed = []

    class PartError(Exception):
        pass

    def items():
        try:
            yield 1
            yield 2
            raise PartError("part 3")
        finally:
            closed.append(True)

    with pytest.raises(PartError, match="part 3"):
        list(parallel.read_ahead(items()))
    closed.clear()
    source = items()  # held here: only read_ahead's closing can run its finally
    ahead = parallel.read_ahead(source)
    assert next(ahead) == 1
    ahead.close()
    assert closed == [True]
