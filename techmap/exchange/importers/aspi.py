"""The China Tech Map's public data.csv download (format 'aspi').

One row per marker. Decisions a reader of the data should know:
- The row id is the external key: the entry gets public id ``ctm-<id>`` and
  ``external_refs.chinatechmap_marker``; an existing entry holding that marker is updated.
- "<id> | <name>" cells are matched by name (case-insensitively); unknown companies,
  categories and topics are created with the file's exact names.
- Location: coordinates give precision exact; blank coordinates with a city the offline
  gazetteer knows give precision city; otherwise a country gives precision country,
  drawn at the capital (as the bundled dataset does); no country gives no point.
  Cable rows follow the same rule and also keep cable_id and cable_owner.
- ``text`` is sanitised HTML; its http(s) links become the entry's sources in order
  (one Source per URL across imports). Any other link scheme makes the row invalid.
  A row without links cites the imported file itself (a Source "China Tech Map
  <file name> import") so every published entry keeps its provenance.
"""

import functools
from collections.abc import Iterator
from pathlib import Path

from django.utils.text import slugify

from techmap.catalog import gazetteer
from techmap.catalog.models import Entry
from techmap.catalog.sanitize import sanitize_html
from techmap.exchange.importers import parallel
from techmap.exchange.importers.base import (
    ImportFormatError,
    ParseResult,
    RowError,
    csv_records,
    read_text,
)
from techmap.exchange.importers.records import (
    EntryRecord,
    FirstLoadRecord,
    NamedRef,
    SourceRecord,
)
from techmap.exchange.importers.values import (
    country_iso2,
    html_links,
    is_http_url,
    looks_like_formula,
    parse_year,
)

COLUMNS = (
    "company_overseas_infrastructure_id",
    "company_id",
    "infrastructure_type_id",
    "secondary_infrastructure_type_id",
    "country_id",
    "city",
    "overseas_infrastructure_lat",
    "overseas_infrastructure_lng",
    "label",
    "year_commenced",
    "year_ended",
    "Primary topic",
    "Secondary (if needed)",
    "Third topic",
    "text",
    "cable_id",
    "highlight",
    "cable_owner",
    "type_of_company_id_ref",
    "street address",
)
# Without these the file is not a China Tech Map export at all.
REQUIRED_COLUMNS = (
    "company_overseas_infrastructure_id",
    "company_id",
    "infrastructure_type_id",
    "country_id",
    "overseas_infrastructure_lat",
    "overseas_infrastructure_lng",
    "label",
    "text",
)
TOPIC_COLUMNS = ("Primary topic", "Secondary (if needed)", "Third topic")
EXTERNAL_KEY = "chinatechmap_marker"
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"", "0", "false", "no", "n", "f"}
YES_NO_WORDS = TRUE_WORDS | FALSE_WORDS
MAX_TITLE = 300


def split_id_name(cell: str) -> tuple[str, str]:
    """'12 | Huawei' -> ('12', 'Huawei'); a cell without '|' is a name alone."""
    if "|" in cell:
        ident, name = cell.split("|", 1)
        return ident.strip(), " ".join(name.split())
    return "", " ".join(cell.split())


@functools.cache
def file_source(filename: str) -> SourceRecord:
    """The citation of the imported file, for rows whose text links to no source."""
    return SourceRecord(
        title=f"China Tech Map {filename} import",
        note=f"Imported from the China Tech Map file {filename}",
        key=("chinatechmap-import-" + slugify(filename))[:120],
    )


# Many rows share a city and country, and a gazetteer look-up costs far more than a row.
@functools.lru_cache(maxsize=8192)
def place(city: str, iso2: str) -> tuple[float | None, float | None, str]:
    """(lat, lng, precision) of a row without coordinates: its city, else its country."""
    point = gazetteer.city_point(city, iso2) if city else None
    if point is not None:
        return (*point, Entry.Precision.CITY)
    point = gazetteer.country_point(iso2)
    if point is not None:
        return (*point, Entry.Precision.COUNTRY)
    return None, None, Entry.Precision.NONE


@functools.lru_cache(maxsize=65536)
def _name_cell(cell: str) -> tuple[str, str]:
    """(name, reason the cell is invalid or "") of a '<id> | <name>' cell.

    Files repeat the same few companies, categories and topics on every row: cached.
    """
    cell = cell.strip()
    ident, name = split_id_name(cell)
    if looks_like_formula(cell) or looks_like_formula(name):
        return "", f"{cell[:40]!r} looks like a spreadsheet formula"
    if ident and not ident.isdigit():
        return "", f"{cell[:40]!r} is not of the form '<id> | <name>'"
    return name, ""


@functools.lru_cache(maxsize=4096)
def _country_cell(cell: str) -> tuple[str, str]:
    """(ISO code, reason the country is unknown or "") of a country_id cell with a name."""
    try:
        return country_iso2(split_id_name(cell)[1]), ""
    except ValueError as exc:
        return "", str(exc)


@functools.lru_cache(maxsize=1024)
def _year_cell(cell: str) -> tuple[int | None, str]:
    try:
        return parse_year(cell), ""
    except ValueError as exc:
        return None, str(exc)


def _coordinate(cell: str, limit: float, what: str) -> tuple[float | None, str]:
    if not cell:
        return None, ""
    try:
        value = float(cell)
    except ValueError:
        return None, f"{cell[:40]!r} is not a {what}"
    if value != value or not -limit <= value <= limit:  # NaN or out of range
        return None, f"{what} {value} is outside -{limit:g}..{limit:g}"
    return value, ""


# Records share their (immutable) names and sources: one object per distinct value.
_named = functools.lru_cache(maxsize=65536)(lambda name: NamedRef(name=name))
_cited = functools.lru_cache(maxsize=65536)(lambda title, url: SourceRecord(title=title, url=url))


def _row_values(line: int, cells: dict[str, str], errors: list):
    """The values of one row (see _record()), or None after adding a RowError per problem
    to errors."""
    n_errors = len(errors)

    def error(column: str, reason: str) -> None:
        errors.append(RowError(line, column, reason))

    def name(column: str, required: bool = False) -> str:
        value, reason = _name_cell(cells.get(column, ""))
        if reason:
            error(column, reason)
        elif required and not value:
            error(column, "a value is required")
        return value

    ident = cells["company_overseas_infrastructure_id"].strip()
    if not ident:
        error("company_overseas_infrastructure_id", "a value is required")
    elif not ident.isdigit() or len(ident) > 12:
        error("company_overseas_infrastructure_id", f"{ident[:40]!r} is not a row number")
    company = name("company_id", required=True)
    category = name("infrastructure_type_id", required=True)
    secondary = name("secondary_infrastructure_type_id")
    topics = [name(TOPIC_COLUMNS[0]), name(TOPIC_COLUMNS[1]), name(TOPIC_COLUMNS[2])]
    title = " ".join(cells["label"].split())
    if not title:
        error("label", "a value is required")
    elif len(title) > MAX_TITLE:
        error("label", f"longer than {MAX_TITLE} characters")
    elif looks_like_formula(title):
        error("label", f"{title[:40]!r} looks like a spreadsheet formula")
    city = " ".join(cells.get("city", "").split())
    if looks_like_formula(city):
        error("city", f"{city[:40]!r} looks like a spreadsheet formula")
    iso2 = ""
    if name("country_id"):
        iso2, reason = _country_cell(cells["country_id"].strip())
        if reason:
            error("country_id", reason)
    lat_cell = cells["overseas_infrastructure_lat"].strip()
    lng_cell = cells["overseas_infrastructure_lng"].strip()
    lat, reason = _coordinate(lat_cell, 90, "latitude")
    if reason:
        error("overseas_infrastructure_lat", reason)
    lng, reason = _coordinate(lng_cell, 180, "longitude")
    if reason:
        error("overseas_infrastructure_lng", reason)
    if (not lat_cell) != (not lng_cell):
        column = "overseas_infrastructure_lng" if not lng_cell else "overseas_infrastructure_lat"
        error(column, "give both latitude and longitude, or neither")
    started, reason = _year_cell(cells.get("year_commenced", "").strip())
    if reason:
        error("year_commenced", reason)
    ended, reason = _year_cell(cells.get("year_ended", "").strip())
    if reason:
        error("year_ended", reason)
    if started and ended and ended < started:
        error("year_ended", f"{ended} is before year_commenced {started}")
    highlight = cells.get("highlight", "").strip().lower()
    if highlight not in YES_NO_WORDS:
        error("highlight", f"{highlight[:40]!r} is not yes/no")
    raw_text = cells["text"] or ""
    sources = []
    for href, label in html_links(raw_text):
        if not is_http_url(href):
            error("text", f"link {href[:60]!r} is not an http or https URL")
        elif len(href) > 2000:
            error("text", "a link is longer than 2000 characters")
        else:
            sources.append(((label or href)[:500], href))
    if len(errors) > n_errors:
        return None

    precision = Entry.Precision.NONE
    if lat is not None:
        precision = Entry.Precision.EXACT
    elif iso2:
        lat, lng, precision = place(city, iso2)

    refs = {EXTERNAL_KEY: ident}
    for column, key in (
        ("cable_id", "cable_id"),
        ("cable_owner", "cable_owner"),
        ("type_of_company_id_ref", "type_of_company"),
    ):
        value = cells.get(column, "")
        if value and not value.isspace():
            refs[key] = " ".join(value.split())
    # Only the sanitised description is kept (the raw one is never written): one string
    # less for each row that parallel workers send back.
    description = sanitize_html(raw_text.strip())
    # Plain values, not objects: parallel workers send these back, and tuples of strings
    # cross between processes several times faster than dataclasses.
    return (
        ident,
        title,
        company,
        category,
        secondary,
        tuple(t for t in topics if t),
        iso2,
        city,
        " ".join(cells.get("street address", "").split())[:500],
        lat,
        lng,
        str(precision),
        started,
        ended,
        description,
        highlight in TRUE_WORDS,
        refs,
        tuple(dict.fromkeys(sources)),
    )


def _record(values: tuple, filename: str) -> EntryRecord:
    """The EntryRecord of the values _row_values() read from a row."""
    (ident, title, company, category, secondary, topics, iso2, city, address, lat, lng,
     precision, started, ended, description, highlight, refs, sources) = values  # fmt: skip
    return EntryRecord(
        public_id=f"ctm-{ident}",
        external_key=(EXTERNAL_KEY, ident),
        title=title,
        companies=[_named(company)],
        category=_named(category),
        secondary_category=_named(secondary) if secondary else None,
        topics=[_named(t) for t in topics],
        country=iso2,
        city=city,
        address=address,
        latitude=lat,
        longitude=lng,
        precision=precision,
        year_started=started,
        year_ended=ended,
        description=description,
        clean_description=description,
        highlight=highlight,
        external_refs=refs,
        sources=[_cited(*s) for s in sources] or [file_source(filename)],
    )


def _first_load_record(values: tuple, filename: str) -> FirstLoadRecord:
    """The FirstLoadRecord of the values _row_values() read from a row (see _record())."""
    (ident, title, company, category, secondary, topics, iso2, city, address, lat, lng,
     precision, started, ended, description, highlight, refs, sources) = values  # fmt: skip
    return FirstLoadRecord(f"ctm-{ident}", title, (company,), category, secondary, topics,
                           iso2, city, address, lat, lng, precision, started, ended,
                           description, highlight, refs, sources)  # fmt: skip


def parse_rows(rows, header: list[str]) -> list[tuple]:
    """(line, id or None, values or None, errors) of each (line, cells) of rows.

    The id is None for rows too broken to have one; the caller rejects repeated ids, which
    needs every row of the file (parallel workers each see a part of it).
    """
    parsed = []
    width = len(header)
    for line, row in rows:
        if isinstance(row, Exception):
            parsed.append((line, None, None, [RowError(line, "", f"not valid CSV ({row})")]))
            continue
        if len(row) != width:
            reason = f"wrong column count: {len(row)} cells, expected {width}"
            parsed.append((line, None, None, [RowError(line, "", reason)]))
            continue
        errors = []
        cells = dict(zip(header, row, strict=True))
        values = _row_values(line, cells, errors)
        parsed.append((line, cells["company_overseas_infrastructure_id"].strip(), values, errors))
    return parsed


def _read(path: Path) -> tuple[str, list[str], object]:
    """(text, header, rows) of a China Tech Map data.csv; ImportFormatError if it is not one."""
    expected = "a China Tech Map data.csv file"
    text = read_text(path, expected)
    header, rows = csv_records(text)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFormatError(
            f"{path.name} is not {expected}: missing column(s) {', '.join(missing)}."
        )
    duplicated = sorted({h for h in header if header.count(h) > 1 and h})
    if duplicated:
        raise ImportFormatError(f"{path.name}: column(s) {', '.join(duplicated)} appear twice.")
    return text, header, rows


def parse_aspi(path) -> ParseResult:
    """Read and validate a China Tech Map data.csv; raise ImportFormatError if it is not one."""
    path = Path(path)
    text, header, rows = _read(path)
    if len(text) >= parallel.PARALLEL_FROM:
        in_parts = parallel.parse_in_parallel(text, header, parse_rows)
        if in_parts is not None:
            result = ParseResult()
            try:
                for records in records_by_part(in_parts, path.name, result):
                    result.records += records
                return result
            except PartNotCut:
                pass
    result = ParseResult()
    for records in records_by_part([parse_rows(rows, header)], path.name, result):
        result.records += records
    return result


def parse_aspi_in_parts(path) -> tuple[ParseResult, Iterator[list[FirstLoadRecord]]] | None:
    """For a file large enough to be parsed in parallel: (a ParseResult without records,
    whose errors fill in as the parts are read, and an iterator of each part's records in
    file order, as FirstLoadRecords: for a first load), so that the caller can write one
    part while the next are parsed. A record without links is to cite file_source(the
    file's name), as an EntryRecord of parse_aspi() does.

    None when the file is parsed in one piece. The iterator raises PartNotCut when a part
    cannot be parsed apart from the rest; the caller then uses parse_aspi().
    """
    path = Path(path)
    text, header, _ = _read(path)
    if len(text) < parallel.PARALLEL_FROM:
        return None
    in_parts = parallel.parse_in_parallel(text, header, parse_rows)
    if in_parts is None:
        return None
    result = ParseResult()
    return result, records_by_part(in_parts, path.name, result, _first_load_record)


class PartNotCut(Exception):
    """A part of the file could not be parsed apart from the rest (see parallel.py)."""


def records_by_part(parsed_parts, filename: str, result: ParseResult, make=_record):
    """The records (made by make, from the values and filename) of each parse_rows()
    result, in file order, adding row errors (and repeated ids) to result as it goes;
    PartNotCut for a part that is None."""
    first_line: dict[str, int] = {}
    for part in parsed_parts:
        if part is None:
            raise PartNotCut
        records = []
        for line, ident, values, errors in part:
            if ident and ident in first_line:
                result.errors.append(
                    RowError(
                        line,
                        "company_overseas_infrastructure_id",
                        f"duplicate id {ident} (first on line {first_line[ident]})",
                    )
                )
                continue
            if ident:
                first_line[ident] = line
            result.errors.extend(errors)
            if values is not None:
                records.append(make(values, filename))
        yield records
