"""Importers: each format's parser turns a file into validated EntryRecords; run_import()
writes them in one transaction, or nothing at all.

Adding a format: write a parse_<format>(path, **options) -> ParseResult function and
register it in PARSERS.
"""

from collections.abc import Collection
from pathlib import Path

from django.db import transaction

from techmap.exchange.importers.base import ImportFormatError, ImportReport, ParseResult, RowError

__all__ = ["FORMATS", "ImportFormatError", "ImportReport", "RowError", "parse", "run_import"]

FORMATS = ("aspi", "telegeography", "csv", "xlsx", "geojson")


def parse(path, fmt: str, **options) -> ParseResult:
    """Parse and validate path as format fmt; raise ImportFormatError if it is not one."""
    if fmt == "aspi":
        from techmap.exchange.importers.aspi import parse_aspi

        return parse_aspi(path)
    if fmt == "telegeography":
        from techmap.exchange.importers.telegeography import parse_telegeography

        return parse_telegeography(path, aliases=options.get("aliases"))
    if fmt in ("csv", "xlsx", "geojson"):
        from techmap.exchange.importers import own_formats

        return own_formats.PARSERS[fmt](path)
    raise ImportFormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")


def run_import(
    path,
    fmt: str,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    status: str = "published",
    aliases: dict | None = None,
) -> ImportReport:
    """Parse, validate and write one file; nothing is written if any row is invalid unless
    skip_invalid, and nothing at all on a dry run. All writes happen in one transaction."""
    from techmap.exchange.importers import bulk

    with bulk.collector_paused():
        return _run_import(path, fmt, dry_run, skip_invalid, status, aliases)


def _run_import(path, fmt, dry_run, skip_invalid, status, aliases) -> ImportReport:
    from techmap.catalog import bulkload
    from techmap.exchange.importers import bulk
    from techmap.exchange.importers.writer import is_large_load, write_records

    if fmt == "aspi":
        report = _run_first_load_in_parts(path, dry_run, skip_invalid, status)
        if report is not None:
            return report
    result = parse(path, fmt, aliases=aliases)
    report = _report(result, dry_run)
    if result.errors and not skip_invalid:
        return report
    large = not dry_run and is_large_load(len(result.records))
    with bulk.large_cache(), bulkload.rollback_journal_when_alone(enabled=large):
        with transaction.atomic():
            counts = write_records(result.records, status=status)
            if dry_run:
                transaction.set_rollback(True)
    return _written(report, counts)


def _report(result: ParseResult, dry_run: bool) -> ImportReport:
    return ImportReport(
        skipped=result.skipped,
        invalid=result.invalid_rows,
        errors=result.errors,
        dry_run=dry_run,
    )


def _written(report: ImportReport, counts: dict, fresh: Collection[str] = ()) -> ImportReport:
    """report with the counts of a write; the tables it filled get fresh statistics, except
    those already analyzed after their rows went in (fresh)."""
    report.created = counts["created"]
    report.updated = counts["updated"]
    report.unchanged = counts["unchanged"]
    report.written = not report.dry_run
    if report.written and report.created + report.updated >= ANALYZE_AFTER:
        refresh_statistics(skip=fresh)
    return report


def _run_first_load_in_parts(path, dry_run, skip_invalid, status) -> ImportReport | None:
    """A large aspi file into an empty entry table, each part written while the workers
    parse the next; None when the table holds entries or the file is not parsed in parts.

    Nothing is written if any row is invalid (unless skip_invalid) or on a dry run, as
    run_import() promises: parts written before an invalid row turns up are rolled back,
    and after it the rest of the file is only read, for its errors.
    """
    from techmap.catalog import bulkload
    from techmap.catalog.models import Entry
    from techmap.exchange.importers import bulk, parallel
    from techmap.exchange.importers.aspi import PartNotCut, file_source, parse_aspi_in_parts
    from techmap.exchange.importers.writer import LOADED_TABLES, write_first_load

    if Entry.objects.exists():
        return None
    in_parts = parse_aspi_in_parts(path)
    if in_parts is None:
        return None
    result, parts = in_parts

    def parts_to_write():
        for records in parallel.read_ahead(parts):
            if skip_invalid or not result.errors:
                yield records

    with bulk.large_cache(), bulkload.rollback_journal_when_alone(enabled=not dry_run):
        try:
            with transaction.atomic():
                counts = write_first_load(
                    parts_to_write(), status=status, file_source=file_source(Path(path).name)
                )
                blocked = bool(result.errors) and not skip_invalid
                if dry_run or blocked:
                    transaction.set_rollback(True)
        except PartNotCut:  # a part cannot be parsed alone: parse the file whole instead
            return None
    report = _report(result, dry_run)
    # On PostgreSQL the load analyzed its tables once their rows were in: again would cost
    # half a second per million entries.
    fresh = LOADED_TABLES if bulkload.renews_statistics() else ()
    return report if blocked else _written(report, counts, fresh)


ANALYZE_AFTER = 1000  # rows written in bulk from which the planner's statistics are renewed
WRITTEN_TABLES = ("catalog_entry", "catalog_entry_companies", "catalog_entry_topics",
                  "catalog_entrysource", "catalog_source")  # fmt: skip


def refresh_statistics(skip: Collection[str] = ()) -> None:
    """ANALYZE the tables an import fills, except those in skip.

    PostgreSQL's autovacuum renews the statistics only a minute or so after a bulk write;
    until then the planner takes a fresh million-row table for an empty one and answers the
    map, the facets and exports with nested loops of sequential scans (minutes instead of
    seconds). SQLite has no statistics at all until ANALYZE, and without them it walks the
    status index for facet counts that an index of their own answers in a fraction.
    """
    from techmap.catalog import bulkload

    bulkload.analyze([table for table in WRITTEN_TABLES if table not in skip])
