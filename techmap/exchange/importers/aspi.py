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
from pathlib import Path

from django.utils.text import slugify

from techmap.catalog import gazetteer
from techmap.catalog.models import Entry
from techmap.exchange.importers.base import (
    ImportFormatError,
    ParseResult,
    RowError,
    csv_records,
    read_text,
)
from techmap.exchange.importers.records import EntryRecord, NamedRef, SourceRecord
from techmap.exchange.importers.values import (
    country_iso2,
    html_links,
    is_http_url,
    looks_like_formula,
    parse_coordinate,
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


class _Row:
    """Reads one row's cells, collecting a RowError for every problem."""

    def __init__(self, line: int, cells: dict[str, str], errors: list[RowError]):
        self.line, self.cells, self.errors = line, cells, errors
        # Cells are read several times each; strip them once.
        self.stripped = {column: cell.strip() for column, cell in cells.items()}

    def error(self, column: str, reason: str):
        self.errors.append(RowError(self.line, column, reason))

    def text(self, column: str) -> str:
        return self.stripped.get(column, "")

    def name(self, column: str, required: bool = False) -> str:
        cell = self.text(column)
        ident, name = split_id_name(cell)
        if looks_like_formula(cell) or looks_like_formula(name):
            self.error(column, f"{cell[:40]!r} looks like a spreadsheet formula")
            return ""
        if ident and not ident.isdigit():
            self.error(column, f"{cell[:40]!r} is not of the form '<id> | <name>'")
            return ""
        if required and not name:
            self.error(column, "a value is required")
        return name

    def read(self, column: str, reader, *args):
        try:
            return reader(self.text(column), *args)
        except ValueError as exc:
            self.error(column, str(exc))
            return None


def _row_to_record(row: _Row, filename: str) -> EntryRecord | None:
    n_errors = len(row.errors)
    ident = row.text("company_overseas_infrastructure_id")
    if not ident:
        row.error("company_overseas_infrastructure_id", "a value is required")
    elif not ident.isdigit() or len(ident) > 12:
        row.error("company_overseas_infrastructure_id", f"{ident[:40]!r} is not a row number")
    company = row.name("company_id", required=True)
    category = row.name("infrastructure_type_id", required=True)
    secondary = row.name("secondary_infrastructure_type_id")
    topics = [t for t in (row.name(c) for c in TOPIC_COLUMNS) if t]
    title = " ".join(row.text("label").split())
    if not title:
        row.error("label", "a value is required")
    elif len(title) > MAX_TITLE:
        row.error("label", f"longer than {MAX_TITLE} characters")
    elif looks_like_formula(title):
        row.error("label", f"{title[:40]!r} looks like a spreadsheet formula")
    city = " ".join(row.text("city").split())
    if looks_like_formula(city):
        row.error("city", f"{city[:40]!r} looks like a spreadsheet formula")
    iso2 = ""
    country_name = row.name("country_id")
    if country_name:
        iso2 = row.read("country_id", lambda text: country_iso2(split_id_name(text)[1])) or ""
    lat = row.read("overseas_infrastructure_lat", parse_coordinate, 90, "latitude")
    lng = row.read("overseas_infrastructure_lng", parse_coordinate, 180, "longitude")
    lat_blank = not row.text("overseas_infrastructure_lat")
    lng_blank = not row.text("overseas_infrastructure_lng")
    if lat_blank != lng_blank:
        column = "overseas_infrastructure_lng" if lng_blank else "overseas_infrastructure_lat"
        row.error(column, "give both latitude and longitude, or neither")
    started = row.read("year_commenced", parse_year)
    ended = row.read("year_ended", parse_year)
    if started and ended and ended < started:
        row.error("year_ended", f"{ended} is before year_commenced {started}")
    highlight = row.text("highlight").lower()
    if highlight not in YES_NO_WORDS:
        row.error("highlight", f"{highlight[:40]!r} is not yes/no")
    raw_text = row.cells.get("text") or ""
    sources = []
    for href, label in html_links(raw_text):
        if not is_http_url(href):
            row.error("text", f"link {href[:60]!r} is not an http or https URL")
        elif len(href) > 2000:
            row.error("text", "a link is longer than 2000 characters")
        else:
            sources.append(SourceRecord(title=(label or href)[:500], url=href))
    if len(row.errors) > n_errors:
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
        if row.text(column):
            refs[key] = " ".join(row.text(column).split())
    return EntryRecord(
        public_id=f"ctm-{ident}",
        external_key=(EXTERNAL_KEY, ident),
        title=title,
        companies=[NamedRef(name=company)],
        category=NamedRef(name=category),
        secondary_category=NamedRef(name=secondary) if secondary else None,
        topics=[NamedRef(name=t) for t in topics],
        country=iso2,
        city=city,
        address=" ".join(row.text("street address").split())[:500],
        latitude=lat,
        longitude=lng,
        precision=precision,
        year_started=started,
        year_ended=ended,
        description=raw_text.strip(),
        highlight=highlight in TRUE_WORDS,
        external_refs=refs,
        sources=list(dict.fromkeys(sources)) or [file_source(filename)],
    )


def parse_aspi(path) -> ParseResult:
    """Read and validate a China Tech Map data.csv; raise ImportFormatError if it is not one."""
    path = Path(path)
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
    result = ParseResult()
    first_line: dict[str, int] = {}
    for line, row in rows:
        if isinstance(row, Exception):
            result.errors.append(RowError(line, "", f"not valid CSV ({row})"))
            continue
        if len(row) != len(header):
            result.errors.append(
                RowError(line, "", f"wrong column count: {len(row)} cells, expected {len(header)}")
            )
            continue
        reader = _Row(line, dict(zip(header, row, strict=True)), result.errors)
        ident = reader.text("company_overseas_infrastructure_id")
        if ident and ident in first_line:
            reader.error(
                "company_overseas_infrastructure_id",
                f"duplicate id {ident} (first on line {first_line[ident]})",
            )
            continue
        if ident:
            first_line[ident] = line
        record = _row_to_record(reader, path.name)
        if record is not None:
            result.records.append(record)
    return result
