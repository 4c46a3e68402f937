"""Published entries as a Frictionless Data Package: entries.csv, entries.geojson and
datapackage.json (Table Schema from columns.py, licence, sources and citation).

The package is written into a temporary folder next to the output and renamed into
place at the end, as a folder or, when the output name ends in .zip, as a zip file.
"""

import datetime as dt
import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import orjson
from django.db.models import QuerySet

from techmap.exchange.columns import COLUMN_NAMES, COLUMNS, entry_to_csv_cells
from techmap.exchange.export import (
    CITATION,
    LICENCE_NAME,
    LICENCE_TITLE,
    LICENCE_URL,
    ExportError,
    _csv_writer,
    _umask,
    feature_builder,
    iter_export_entries,
)

DESCRIPTOR_NAME = "datapackage.json"
CSV_NAME = "entries.csv"
GEOJSON_NAME = "entries.geojson"
SOURCES = [
    {
        "title": "Mapping China's technology giants (ASPI International Cyber Policy Centre, 2019)",
        "path": "https://www.aspi.org.au/report/mapping-chinas-tech-giants",
    },
    {"title": "China Tech Map (ASPI)", "path": "https://chinatechmap.aspi.org.au/"},
]


def table_schema() -> dict:
    """The Table Schema of entries.csv, generated from COLUMNS."""
    return {
        "fields": [column.schema_field() for column in COLUMNS],
        "primaryKey": ["id"],
        "missingValues": [""],
    }


def _file_facts(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "hash": f"sha256:{digest.hexdigest()}"}


def datapackage_descriptor(folder: Path, *, count: int, created: dt.datetime) -> dict:
    """The datapackage.json content for the data files already written in folder."""
    return {
        "name": "techmap-entries",
        "title": "techmap: where Chinese technology companies operate abroad",
        "description": (
            f"{count} published entries of techmap, each a place where a technology company "
            "operates abroad (projects, offices, labs, partnerships, cables...), with "
            "companies, category, country, coordinates, years and sources. entries.csv is "
            "the flat table; entries.geojson holds the same entries as map features. Text "
            "cells that begin with ' followed by = + - @ tab or carriage return had that ' "
            "added so spreadsheets do not run them as formulas."
        ),
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "licenses": [{"name": LICENCE_NAME, "path": LICENCE_URL, "title": LICENCE_TITLE}],
        "sources": SOURCES,
        "citation": CITATION,
        "resources": [
            {
                "name": "entries",
                "type": "table",
                "path": CSV_NAME,
                "scheme": "file",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                **_file_facts(folder / CSV_NAME),
                "schema": table_schema(),
            },
            {
                "name": "entries-geojson",
                "type": "json",
                "path": GEOJSON_NAME,
                "scheme": "file",
                "format": "geojson",
                "mediatype": "application/geo+json",
                "encoding": "utf-8",
                **_file_facts(folder / GEOJSON_NAME),
            },
        ],
    }


def write_package_files(entries: QuerySet, folder: Path) -> int:
    """Write entries.csv, entries.geojson and datapackage.json into folder in one pass."""
    count = 0
    with (
        open(folder / CSV_NAME, "w", encoding="utf-8", newline="") as csv_file,
        open(folder / GEOJSON_NAME, "wb") as geojson_file,
    ):
        writer = _csv_writer(csv_file)
        writer.writerow(COLUMN_NAMES)
        geojson_file.write(b'{"type":"FeatureCollection","features":[\n')
        feature = feature_builder()
        # One pass over the database so both files hold exactly the same entries.
        for entry in iter_export_entries(entries):
            writer.writerow(entry_to_csv_cells(entry))
            if count:
                geojson_file.write(b",\n")
            geojson_file.write(orjson.dumps(feature(entry)))
            count += 1
        geojson_file.write(b"\n]}\n")
    descriptor = datapackage_descriptor(folder, count=count, created=dt.datetime.now(dt.UTC))
    (folder / DESCRIPTOR_NAME).write_text(
        json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return count


def _check_output(output: Path) -> None:
    if not output.parent.is_dir():
        raise ExportError(f"folder {output.parent} does not exist")
    if output.suffix.lower() == ".zip":
        if output.is_dir():
            raise ExportError(f"{output} is a folder, not a zip file")
    elif output.is_file():
        raise ExportError(f"{output} is a file; give a folder name or a name ending in .zip")
    elif output.is_dir() and any(output.iterdir()) and not (output / DESCRIPTOR_NAME).is_file():
        # Only ever replace a folder that holds an earlier data package.
        raise ExportError(f"{output} is a folder that does not hold a data package")


def write_datapackage(entries: QuerySet, output: Path) -> int:
    """Write the data package to output (a folder, or a .zip file) atomically; return the count."""
    output = Path(output)
    _check_output(output)
    with tempfile.TemporaryDirectory(prefix=f".{output.name}.", dir=output.parent) as temp:
        folder = Path(temp) / "package"
        folder.mkdir(mode=0o777 & ~_umask())
        count = write_package_files(entries, folder)
        if output.suffix.lower() == ".zip":
            archive = Path(temp) / "package.zip"
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
                for name in (DESCRIPTOR_NAME, CSV_NAME, GEOJSON_NAME):
                    zipped.write(folder / name, arcname=name)
            os.chmod(archive, 0o666 & ~_umask())
            os.replace(archive, output)
        else:
            if output.is_dir() and any(output.iterdir()):
                old = Path(temp) / "previous"
                os.replace(output, old)  # removed with the temporary folder
            os.replace(folder, output)
    return count
