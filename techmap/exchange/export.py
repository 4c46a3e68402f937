"""Published entries written as CSV, XLSX and GeoJSON, streamed in batches.

Plain functions used by the `techmap export` command, the download views and releases.
Rows come from iter_export_entries(): plain dicts read a chunk at a time (rows.py), so
memory stays flat however many entries there are; columns.py turns them into cells.
"""

import csv
import datetime as dt
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import orjson
from django.db.models import QuerySet

from techmap.catalog.geojson import geometry
from techmap.catalog.queries import EntryFilters, filter_entries
from techmap.exchange.columns import (
    COLUMN_NAMES,
    COLUMNS,
    entry_to_csv_cells,
    entry_to_properties,
    properties_builder,
    spreadsheet_value,
)
from techmap.exchange.rows import CHUNK_SIZE, iter_export_rows

STREAM_BUFFER = 64 * 1024  # bytes gathered before a streamed chunk is handed on
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GEOJSON_MEDIA_TYPE = "application/geo+json"
FORMATS = ("csv", "xlsx", "geojson", "datapackage")
LICENCE_NAME = "CC-BY-SA-4.0"
LICENCE_TITLE = "Creative Commons Attribution Share-Alike 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by-sa/4.0/"
CITATION = (
    "techmap: a geolocated database of the overseas presence of Chinese technology companies, "
    "building on ASPI's 'Mapping China's technology giants' (2019). Licensed CC BY-SA 4.0."
)


class ExportError(Exception):
    """The export cannot be written where asked; the message says why."""


def export_entries(filters: EntryFilters | None = None) -> QuerySet:
    """Published entries matching filters (all published ones by default), by public id."""
    return filter_entries(filters or EntryFilters()).order_by("public_id")


def iter_export_entries(entries: QuerySet, chunk_size: int = CHUNK_SIZE) -> Iterator[dict]:
    """The queryset's entries as export rows (plain dicts), fetched chunk_size at a time."""
    return iter_export_rows(entries, chunk_size)


def download_filename(extension: str, today: dt.date | None = None) -> str:
    """The file name offered for a download, e.g. techmap-entries-2026-11-27.csv."""
    today = today or dt.date.today()
    return f"techmap-entries-{today.isoformat()}.{extension}"


# --- CSV ------------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose write() returns what it was given (for streaming csv)."""

    def write(self, value: str) -> str:
        return value


def _csv_writer(file):
    # RFC 4180: CRLF line ends, fields quoted only when they hold a comma, quote or newline.
    return csv.writer(file, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


def csv_lines(entries: Iterable[dict]) -> Iterator[str]:
    """The CSV text of entries line by line, header first (for streaming responses)."""
    writer = _csv_writer(_Echo())
    yield writer.writerow(COLUMN_NAMES)
    for entry in entries:
        yield writer.writerow(entry_to_csv_cells(entry))


def write_csv(entries: Iterable[dict], file) -> int:
    """Write entries as UTF-8 CSV to a text file opened with newline=''; return the count."""
    writer = _csv_writer(file)
    writer.writerow(COLUMN_NAMES)
    count = 0
    for entry in entries:
        writer.writerow(entry_to_csv_cells(entry))
        count += 1
    return count


# --- GeoJSON --------------------------------------------------------------------------------


def export_feature(row: dict, properties: Callable[[dict], dict] = entry_to_properties) -> dict:
    """An export row as a Feature with every export column as a property (for re-import)."""
    return {
        "type": "Feature",
        "id": row["public_id"],
        "geometry": geometry(row["line_geometry"], row["longitude"], row["latitude"]),
        "properties": properties(row),
    }


def feature_builder() -> Callable[[dict], dict]:
    """export_feature() for many rows, with the properties built by properties_builder()."""
    properties = properties_builder()
    return lambda row: export_feature(row, properties)


def geojson_chunks(entries: Iterable[dict]) -> Iterator[bytes]:
    """An RFC 7946 FeatureCollection of entries as UTF-8 byte chunks of about 64 KB."""
    feature = feature_builder()
    buffer = bytearray(b'{"type":"FeatureCollection","features":[\n')
    first = True
    for entry in entries:
        if not first:
            buffer += b",\n"
        first = False
        buffer += orjson.dumps(feature(entry))
        if len(buffer) >= STREAM_BUFFER:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"\n]}\n"
    yield bytes(buffer)


def write_geojson(entries: Iterable[dict], file) -> int:
    """Write entries as a GeoJSON FeatureCollection to a binary file; return the count."""
    count = 0

    def counted():
        nonlocal count
        for entry in entries:
            count += 1
            yield entry

    for chunk in geojson_chunks(counted()):
        file.write(chunk)
    return count


# --- XLSX -----------------------------------------------------------------------------------


def _xlsx_safe(value):
    # openpyxl refuses control characters that XML 1.0 cannot hold; drop them rather than fail.
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def write_xlsx(entries: Iterable[dict], file) -> int:
    """Write entries to an XLSX workbook (sheet 'entries', then 'about'); return the count."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("entries")
    sheet.append(COLUMN_NAMES)
    count = 0
    try:
        for entry in entries:
            sheet.append([_xlsx_safe(spreadsheet_value(c, c.getter(entry))) for c in COLUMNS])
            count += 1
    except BaseException:
        # Finish the half-written sheet's temporary file now rather than at garbage collection.
        with suppress(Exception):
            sheet.close()
        raise
    about = workbook.create_sheet("about")
    for row in (
        ("title", "techmap entries"),
        ("exported", dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("entries", count),
        ("licence", f"{LICENCE_TITLE} ({LICENCE_URL})"),
        ("citation", CITATION),
        ("note", "Text cells starting with ' followed by = + - @ had the ' added on export."),
    ):
        about.append(row)
    workbook.save(file)
    return count


# --- files ----------------------------------------------------------------------------------


@contextmanager
def atomic_output(path: Path, mode: str = "wb", **open_args):
    """Open a temporary file next to path; it replaces path only if the block succeeds."""
    path = Path(path)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **open_args) as file:
            yield file
        os.chmod(temp_name, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


WRITERS: dict[str, tuple[Callable, str, dict]] = {
    "csv": (write_csv, "w", {"encoding": "utf-8", "newline": ""}),
    "geojson": (write_geojson, "wb", {}),
    "xlsx": (write_xlsx, "wb", {}),
}


def export_to_path(entries: QuerySet, fmt: str, path: Path) -> int:
    """Write the entries in format fmt to path atomically; return how many were written."""
    if fmt == "datapackage":
        from techmap.exchange.datapackage import write_datapackage

        return write_datapackage(entries, Path(path))
    writer, mode, open_args = WRITERS[fmt]
    with atomic_output(Path(path), mode, **open_args) as file:
        return writer(iter_export_entries(entries), file)
