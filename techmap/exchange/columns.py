"""The project's own flat entry format: one row per published entry, one column list.

CSV, XLSX, the GeoJSON properties, the Data Package's Table Schema and the importer of
these formats all read COLUMNS, so a column is added or renamed in this one place.

Cell rules shared by the writers and the importer:
- Lists (companies, company_slugs, topics, partners) are joined with LIST_SEPARATOR.
- external_refs, line_geometry and sources are JSON text in CSV/XLSX (real JSON in GeoJSON).
- An empty cell means an empty string, an empty list or no value (None).
- Text cells that a spreadsheet would run as a formula (starting with = + - @ tab or
  carriage return, after any leading apostrophes) are written with one extra leading
  apostrophe; restore_formula_text() strips exactly that one apostrophe again. Number,
  integer and boolean cells are written as numbers and never prefixed.
"""

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from operator import itemgetter

LIST_SEPARATOR = "; "
FORMULA_PREFIX = "'"
# One or more apostrophes already in front still count: "'=x" is written "''=x" so that
# stripping exactly one apostrophe on import gives back "'=x".
_FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")
SOURCE_FIELDS = (
    "title",
    "author",
    "publisher",
    "publication_date",
    "url",
    "archived_url",
    "language",
    "note",
)


@dataclass(frozen=True)
class Column:
    """One export column: its name, Table Schema type, meaning and how to read it from a row.

    getter reads the column's value from an export row (a plain dict, see rows.py).
    """

    name: str
    type: str  # Table Schema type: string, number, integer, boolean, datetime, object, array
    description: str
    getter: Callable[[dict], object]
    required: bool = False

    def schema_field(self) -> dict:
        """The column as a Frictionless Table Schema field descriptor."""
        field = {"name": self.name, "type": self.type, "description": self.description}
        if self.required:
            field["constraints"] = {"required": True}
        return field


def _field(key: str, empty=None) -> Callable[[dict], object]:
    """A getter of row[key], with empty in place of None (e.g. "" for a missing relation)."""
    if empty is None:
        return itemgetter(key)
    return lambda row: row[key] if row[key] is not None else empty


def _joined(key: str, index: int | None = None) -> Callable[[dict], str]:
    """A getter joining the list row[key] (or item index of each element) with '; '."""
    if index is None:
        return lambda row: LIST_SEPARATOR.join(row[key] or ())
    return lambda row: LIST_SEPARATOR.join(item[index] for item in row[key])


COLUMNS: list[Column] = [
    Column("id", "string", "Stable public identifier of the entry.", _field("public_id"), True),
    Column("title", "string", "Title of the entry.", _field("title"), True),
    Column(
        "companies",
        "string",
        "Names of the companies involved, separated by '; '.",
        _joined("companies", 0),
    ),
    Column(
        "company_slugs",
        "string",
        "Identifiers of the companies, in the same order, separated by '; '.",
        _joined("companies", 1),
    ),
    Column("category", "string", "Category identifier (slug).", _field("category__slug", ""), True),
    Column("category_name", "string", "Category name.", _field("category__name")),
    Column(
        "secondary_category",
        "string",
        "Secondary category identifier (slug), if any.",
        _field("secondary_category__slug", ""),
    ),
    Column(
        "topics", "string", "Topic identifiers (slugs), separated by '; '.", _joined("topic_slugs")
    ),
    Column(
        "country",
        "string",
        "ISO 3166-1 alpha-2 code of the host country.",
        _field("country__iso2", ""),
    ),
    Column("country_name", "string", "Name of the host country.", _field("country__name", "")),
    Column("city", "string", "City.", _field("city")),
    Column("address", "string", "Street address.", _field("address")),
    Column("latitude", "number", "Latitude (WGS 84).", _field("latitude")),
    Column("longitude", "number", "Longitude (WGS 84).", _field("longitude")),
    Column(
        "precision",
        "string",
        "How precise the point is: exact, city, country or none.",
        _field("precision"),
    ),
    Column("partners", "string", "Names of partners, separated by '; '.", _joined("partners")),
    Column(
        "financing_lender", "string", "Lender financing the project.", _field("financing_lender")
    ),
    Column("financing_amount", "number", "Amount financed.", _field("financing_amount")),
    Column(
        "financing_currency",
        "string",
        "ISO 4217 currency code of the amount.",
        _field("financing_currency"),
    ),
    Column("year_started", "integer", "Year commenced.", _field("year_started")),
    Column("year_ended", "integer", "Year ended.", _field("year_ended")),
    Column("description", "string", "Description (sanitised HTML).", _field("description")),
    Column("highlight", "boolean", "Highlighted by the editors.", _field("highlight")),
    Column(
        "external_refs",
        "object",
        "External identifiers as a JSON object.",
        lambda row: row["external_refs"] or {},
    ),
    Column(
        "line_geometry",
        "object",
        "GeoJSON LineString or MultiLineString (e.g. a cable route), or empty.",
        lambda row: row["line_geometry"] or None,
    ),
    Column(
        "sources",
        "array",
        "Sources in citation order, as a JSON list of objects with keys "
        + ", ".join(SOURCE_FIELDS)
        + ".",
        _field("sources"),
    ),
    Column("created", "datetime", "When the entry was created (ISO 8601, UTC).", _field("created")),
    Column(
        "updated",
        "datetime",
        "When the entry was last changed (ISO 8601, UTC).",
        _field("updated"),
    ),
]

COLUMN_NAMES: list[str] = [c.name for c in COLUMNS]
COLUMNS_BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
LIST_COLUMNS = frozenset({"companies", "company_slugs", "topics", "partners"})
NUMERIC_TYPES = frozenset({"number", "integer", "boolean"})


# --- entry -> values ------------------------------------------------------------------------


def entry_to_row(row: dict) -> dict:
    """An export row's values by column name, as Python values (str, float, Decimal, dict,
    datetime...): a datetime read as its export text (on SQLite) is a datetime again."""
    values = {c.name: c.getter(row) for c in COLUMNS}
    for c in COLUMNS:
        if c.type == "datetime" and isinstance(values[c.name], str):
            values[c.name] = parse_cell(c, values[c.name])
    return values


def neutralise_formula(text: str) -> str:
    """text with one apostrophe in front when a spreadsheet would run it as a formula."""
    return FORMULA_PREFIX + text if _FORMULA_START.match(text) else text


def restore_formula_text(text: str) -> str:
    """Undo neutralise_formula(): strip exactly one apostrophe from a neutralised text cell."""
    if text.startswith(FORMULA_PREFIX) and _FORMULA_START.match(text[1:]):
        return text[1:]
    return text


def datetime_text(value: dt.datetime | str) -> str:
    """value as ISO 8601 text in UTC with microseconds, e.g. 2026-11-27T16:33:00.000000Z.
    Text is that already (rows.stored_datetime_text)."""
    if isinstance(value, str):
        return value
    if value.tzinfo is not None and value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    if value.year < 1000:  # isoformat() pads the year to four digits; strftime does not
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # isoformat() gives the same text as strftime("%Y-%m-%dT%H:%M:%S.%f") several times faster.
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def cell_text(column: Column, value) -> str:
    """value as CSV cell text: empty for None, numbers plain, text neutralised."""
    if value is None:
        return ""
    if column.type == "boolean":
        return "true" if value else "false"
    if column.type in ("number", "integer"):
        return str(value)  # repr of a float round-trips; Decimal keeps its digits
    if column.type == "datetime":
        return datetime_text(value)
    if column.type in ("object", "array"):
        return json_text(value) if value or column.type == "array" else ""
    return neutralise_formula(str(value))


def spreadsheet_value(column: Column, value):
    """value as an XLSX cell value: numbers stay numbers, text as in cell_text()."""
    if value is None:
        return None
    if column.type == "boolean":
        return bool(value)
    if column.type == "integer":
        return int(value)
    if column.type == "number":
        return float(value)
    text = cell_text(column, value)
    return text if text != "" else None


def json_value(column: Column, value):
    """value as a GeoJSON property: JSON types, no formula prefix (JSON is not a spreadsheet)."""
    if value is None:
        return None
    if column.type == "number":
        return float(value)
    if column.type == "datetime":
        return datetime_text(value)
    return value


def entry_to_csv_cells(row: dict) -> list[str]:
    """An export row as a list of CSV cell texts in COLUMNS order."""
    return [cell_text(c, c.getter(row)) for c in COLUMNS]


def entry_to_properties(row: dict) -> dict:
    """An export row's columns as GeoJSON properties (JSON values)."""
    return {c.name: json_value(c, c.getter(row)) for c in COLUMNS}


# json_value() for each column type that needs a conversion (None always stays None).
_JSON_CONVERTERS: dict[str, Callable] = {"number": float, "datetime": datetime_text}


def properties_builder() -> Callable[[dict], dict]:
    """A faster entry_to_properties() for many rows: COLUMNS is read once, when called."""
    names = [c.name for c in COLUMNS]
    getters = [c.getter for c in COLUMNS]
    conversions = [
        (i, _JSON_CONVERTERS[c.type]) for i, c in enumerate(COLUMNS) if c.type in _JSON_CONVERTERS
    ]

    def properties(row: dict) -> dict:
        values = [get(row) for get in getters]
        for i, convert in conversions:
            if values[i] is not None:
                values[i] = convert(values[i])
        return dict(zip(names, values, strict=True))

    return properties


# --- cells -> values (for the importer) -------------------------------------------------


class CellError(ValueError):
    """A cell that cannot be read as its column's type; the message says why."""

    def __init__(self, column: str, reason: str):
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


def parse_cell(column: Column, raw):
    """A CSV/XLSX/GeoJSON cell back to the Python value entry_to_row() gives.

    Accepts text (CSV), native numbers/booleans (XLSX) and JSON values (GeoJSON).
    Lists come back as lists of strings; empty cells as "", [] or None.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        if column.type in ("string",):
            return [] if column.name in LIST_COLUMNS else ""
        if column.type == "array":
            return []
        if column.type == "object" and column.name == "external_refs":
            return {}
        if column.type == "boolean":
            return False
        return None
    kind = column.type
    try:
        if kind == "string":
            text = restore_formula_text(str(raw)) if isinstance(raw, str) else str(raw)
            if column.name in LIST_COLUMNS:
                return [part.strip() for part in text.split(";") if part.strip()]
            return text
        if kind == "integer":
            if isinstance(raw, bool):
                raise ValueError
            number = float(raw) if not isinstance(raw, int) else raw
            if number != int(number):
                raise ValueError
            return int(number)
        if kind == "number":
            if isinstance(raw, bool):
                raise ValueError
            value = Decimal(str(raw).strip())
            if not value.is_finite():
                raise ValueError
            return value
        if kind == "boolean":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("true", "1", "yes"):
                return True
            if text in ("false", "0", "no"):
                return False
            raise ValueError
        if kind == "datetime":
            if isinstance(raw, dt.datetime):
                return raw if raw.tzinfo else raw.replace(tzinfo=dt.UTC)
            value = dt.datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        if kind in ("object", "array"):
            value = json.loads(raw) if isinstance(raw, str) else raw
            expected = dict if kind == "object" else list
            if not isinstance(value, expected):
                raise CellError(column.name, f"expected a JSON {kind}")
            return value
    except CellError:
        raise
    except (ValueError, TypeError, InvalidOperation, json.JSONDecodeError):
        shown = str(raw)[:40]
        raise CellError(column.name, f"{shown!r} is not a valid {kind}") from None
    raise CellError(column.name, f"unknown column type {kind}")


def row_to_record(row: dict) -> dict:
    """A row {column name: cell} back to typed values by column name; raise CellError.

    Unknown keys are ignored; missing columns come back as empty values. Latitude and
    longitude come back as floats, the amount as a Decimal.
    """
    record = {}
    for column in COLUMNS:
        value = parse_cell(column, row.get(column.name))
        if column.name in ("latitude", "longitude") and value is not None:
            value = float(value)
        record[column.name] = value
    for column in COLUMNS:
        if column.required and not record[column.name]:
            raise CellError(column.name, "is required")
    return record
