"""techmap's own export formats read back (formats 'csv', 'xlsx' and 'geojson').

The column list and the cell rules live in techmap.exchange.columns, shared with the
exporter, so an export imported into an empty database gives the same entries. The
entry's public id is the key. Sources are reused only when every field is the same
(the export carries no source keys); companies, categories and topics are matched by
slug, then name, and created when missing (topics and secondary categories carry only a
slug in the export, so a missing one is created with its slug as its name).
"""

import json
import re
from pathlib import Path

from django.core.exceptions import ValidationError

from techmap.catalog import gazetteer
from techmap.catalog.geo import line_geometry_error
from techmap.catalog.models import Entry, public_id_validator
from techmap.exchange.columns import COLUMNS, CellError, parse_cell
from techmap.exchange.importers.base import (
    ImportFormatError,
    ParseResult,
    RowError,
    csv_records,
    read_text,
)
from techmap.exchange.importers.records import EntryRecord, NamedRef, SourceRecord
from techmap.exchange.importers.values import YEAR_RANGE, is_http_url

REQUIRED_COLUMNS = ("id", "title", "category")
PRECISIONS = {p.value for p in Entry.Precision}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
SOURCE_TEXT_FIELDS = (
    "title",
    "url",
    "publisher",
    "author",
    "publication_date",
    "archived_url",
    "language",
    "note",
)
_LIMITS = {"title": 500, "publisher": 300, "author": 500, "language": 12, "note": 500}


class _Rows:
    """Turns {column: cell} rows into EntryRecords, collecting errors with their place."""

    def __init__(self, result: ParseResult):
        self.result = result
        self.countries = {c["iso2"] for c in gazetteer.all_countries()}
        self.first: dict[str, str] = {}

    def add(self, cells: dict, line: int | None, where: str = ""):
        errors = []

        def error(column, reason):
            errors.append(RowError(line, column, reason, file=where))

        values = {}
        for column in COLUMNS:
            try:
                values[column.name] = parse_cell(column, cells.get(column.name))
            except CellError as exc:
                error(exc.column, exc.reason)
        if not errors:
            record = self._record(values, error, line, where)
            if record is not None and not errors:
                self.result.records.append(record)
        self.result.errors.extend(errors)

    def _record(self, v: dict, error, line, where) -> EntryRecord | None:
        place = f"line {line}" if line is not None else where
        public_id = v["id"]
        try:
            public_id_validator(public_id)
        except ValidationError:
            error("id", f"{public_id[:40]!r} is not a valid id")
        if public_id in self.first:
            error("id", f"duplicate id {public_id} (first on {self.first[public_id]})")
        else:
            self.first[public_id] = place
        for name in REQUIRED_COLUMNS:
            if not v[name]:
                error(name, "a value is required")
        if len(v["title"]) > 300:
            error("title", "longer than 300 characters")
        names, slugs = v["companies"], v["company_slugs"]
        if slugs and names and len(slugs) != len(names):
            error("company_slugs", "not as many slugs as companies")
        companies = [
            NamedRef(name=n, slug=s)
            for n, s in zip(names or slugs, slugs or [""] * len(names), strict=False)
        ]
        if not companies:
            error("companies", "an entry needs at least one company")
        country = (v["country"] or "").upper()
        if country and country not in self.countries:
            error("country", f"unknown country code {country!r}")
        lat, lng = (float(x) if x is not None else None for x in (v["latitude"], v["longitude"]))
        if (lat is None) != (lng is None):
            error("latitude", "give both latitude and longitude, or neither")
        if lat is not None and not -90 <= lat <= 90:
            error("latitude", f"latitude {lat} is outside -90..90")
        if lng is not None and not -180 <= lng <= 180:
            error("longitude", f"longitude {lng} is outside -180..180")
        precision = v["precision"] or Entry.Precision.NONE
        if precision not in PRECISIONS:
            error("precision", f"unknown precision {precision!r}")
        for name in ("year_started", "year_ended"):
            year = v[name]
            if year is not None and not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
                error(name, f"year {year} is outside {YEAR_RANGE[0]}-{YEAR_RANGE[1]}")
        if v["year_started"] and v["year_ended"] and v["year_ended"] < v["year_started"]:
            error("year_ended", "the end year is before the start year")
        if len(v["financing_currency"]) > 3:
            error("financing_currency", "use a three-letter ISO 4217 code")
        amount = v["financing_amount"]
        if amount is not None and abs(amount) >= 10**16:
            error("financing_amount", "too large")
        if v["line_geometry"] is not None:
            problem = line_geometry_error(v["line_geometry"])
            if problem:
                error("line_geometry", problem)
        sources = self._sources(v["sources"], error)
        if not sources:
            error("sources", "an entry needs at least one source")
        return EntryRecord(
            public_id=public_id,
            title=v["title"],
            companies=companies,
            category=NamedRef(slug=v["category"], name=v["category_name"] or v["category"]),
            secondary_category=NamedRef(slug=v["secondary_category"])
            if v["secondary_category"]
            else None,
            topics=[NamedRef(slug=t) for t in v["topics"]],
            country=country,
            city=v["city"],
            address=v["address"],
            latitude=lat,
            longitude=lng,
            precision=precision,
            line_geometry=v["line_geometry"],
            partners=v["partners"],
            financing_lender=v["financing_lender"],
            financing_amount=amount,
            financing_currency=v["financing_currency"],
            year_started=v["year_started"],
            year_ended=v["year_ended"],
            description=v["description"],
            highlight=v["highlight"],
            external_refs=v["external_refs"],
            sources=sources,
        )

    def _sources(self, items: list, error) -> list[SourceRecord]:
        sources = []
        for i, item in enumerate(items, 1):
            if not isinstance(item, dict):
                error("sources", f"source {i} is not an object")
                continue
            fields = {f: str(item.get(f) or "") for f in SOURCE_TEXT_FIELDS}
            if not fields["title"]:
                error("sources", f"source {i} has no title")
            for name in ("url", "archived_url"):
                if fields[name] and not is_http_url(fields[name]):
                    error("sources", f"source {i} {name} {fields[name][:60]!r} is not http(s)")
            if fields["publication_date"] and not _DATE.match(fields["publication_date"]):
                error("sources", f"source {i} publication_date is not YYYY[-MM[-DD]]")
            for name, limit in _LIMITS.items():
                if len(fields[name]) > limit:
                    error("sources", f"source {i} {name} is longer than {limit} characters")
            sources.append(SourceRecord(match="fields", **fields))
        return list(dict.fromkeys(sources))


def _check_header(header: list[str], name: str, expected: str):
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFormatError(
            f"{name} is not {expected}: missing column(s) {', '.join(missing)}."
        )


def parse_csv(path) -> ParseResult:
    """Read a techmap CSV export."""
    path = Path(path)
    expected = "a techmap CSV export"
    header, rows = csv_records(read_text(path, expected))
    _check_header(header, path.name, expected)
    result = ParseResult()
    reader = _Rows(result)
    for line, row in rows:
        if isinstance(row, Exception):
            result.errors.append(RowError(line, "", f"not valid CSV ({row})"))
        elif len(row) != len(header):
            result.errors.append(
                RowError(line, "", f"wrong column count: {len(row)} cells, expected {len(header)}")
            )
        else:
            reader.add(dict(zip(header, row, strict=True)), line)
    return result


def parse_xlsx(path) -> ParseResult:
    """Read a techmap XLSX export (the 'entries' sheet, or the first sheet)."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    path = Path(path)
    expected = "a techmap XLSX export"
    if not path.is_file():
        raise ImportFormatError(f"{path} is not a file; expected {expected}.")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFormatError(f"{path.name} is not {expected} ({exc}).") from None
    try:
        sheet = workbook["entries"] if "entries" in workbook.sheetnames else workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        _check_header(header, path.name, expected)
        result = ParseResult()
        reader = _Rows(result)
        for line, row in enumerate(rows, 2):
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in row):
                continue
            if len(row) > len(header) and any(c is not None for c in row[len(header) :]):
                result.errors.append(RowError(line, "", "cells beyond the last column"))
                continue
            reader.add(dict(zip(header, row, strict=False)), line)
        return result
    finally:
        workbook.close()


def parse_geojson(path) -> ParseResult:
    """Read a techmap GeoJSON export (every column is a feature property)."""
    path = Path(path)
    expected = "a techmap GeoJSON export"
    try:
        data = json.loads(read_text(path, expected))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path.name} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ImportFormatError(f"{path.name} is not {expected}: not a FeatureCollection.")
    features = data.get("features")
    if not isinstance(features, list):
        raise ImportFormatError(f"{path.name} is not {expected}: no features list.")
    result = ParseResult()
    reader = _Rows(result)
    for i, feature in enumerate(features, 1):
        where = f"feature {i}"
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            result.errors.append(RowError(None, "", "a feature needs properties", file=where))
            continue
        missing = [c for c in REQUIRED_COLUMNS if c not in props]
        if missing:
            result.errors.append(
                RowError(None, missing[0], "missing property (not a techmap export?)", where)
            )
            continue
        reader.add(props, None, where)
    return result


PARSERS = {"csv": parse_csv, "xlsx": parse_xlsx, "geojson": parse_geojson}
