"""Making a release: freeze the published entries into files and an immutable snapshot.

create_release() writes entries.csv, entries.geojson and datapackage.json (one pass of the
exchange app's Data Package writer), a zip of that package and release.json into a
temporary folder under releases_dir(), then inserts the Release row and its ReleaseEntry
snapshot and renames the folder into place, all inside one transaction:

- if writing the files fails, no row is inserted and the temporary folder is removed;
- if inserting the rows (or the commit) fails, the folder is removed again;
- a crash between the rename and the commit leaves a folder without a row, which the next
  release of that name replaces (a folder only counts as a release when its row exists).

The snapshot rows are read back from the written entries.geojson, so the changelog
describes exactly the files people download.
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from techmap.catalog.stats import compute_stats
from techmap.catalog.synth import without_synthetic
from techmap.exchange.datapackage import (
    CSV_NAME,
    DESCRIPTOR_NAME,
    GEOJSON_NAME,
    write_package_files,
)
from techmap.exchange.export import CSV_MEDIA_TYPE, GEOJSON_MEDIA_TYPE, _umask, export_entries
from techmap.releases.models import Release, ReleaseEntry, release_name_validator, releases_dir

ZIP_NAME = "datapackage.zip"
INFO_NAME = "release.json"
# Bookkeeping that changes on every save, even when nothing a reader sees has changed.
IGNORED_FIELDS = frozenset({"updated"})
SNAPSHOT_BATCH = 500

# The frozen files offered for download: file name -> media type.
DOWNLOADS: dict[str, str] = {
    CSV_NAME: CSV_MEDIA_TYPE,
    GEOJSON_NAME: GEOJSON_MEDIA_TYPE,
    ZIP_NAME: "application/zip",
    DESCRIPTOR_NAME: "application/json",
}


class ReleaseError(Exception):
    """A release cannot be made or found; the message says why."""


@dataclass(frozen=True)
class ReleasePreview:
    """What create_release(dry_run=True) would freeze."""

    name: str
    entry_count: int
    counts: dict


def check_release_name(name: str) -> None:
    """Raise ReleaseError unless name is a valid release name not used yet."""
    try:
        release_name_validator(name)
    except ValidationError as exc:
        raise ReleaseError(f"invalid release name {name!r}: {exc.messages[0]}") from None
    if Release.objects.filter(name=name).exists():
        raise ReleaseError(f"a release named {name!r} already exists; releases never change")


def get_release(name: str) -> Release:
    """The release called name; raise ReleaseError if there is none."""
    try:
        return Release.objects.get(name=name)
    except Release.DoesNotExist:
        raise ReleaseError(f"no release named {name!r}") from None


def row_hash(row: dict) -> str:
    """SHA-256 of the row's compared columns (everything but IGNORED_FIELDS)."""
    compared = {k: v for k, v in row.items() if k not in IGNORED_FIELDS}
    return hashlib.sha256(orjson.dumps(compared, option=orjson.OPT_SORT_KEYS)).hexdigest()


@contextmanager
def _consistent_snapshot():
    """One transaction in which every query sees the same data."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # READ COMMITTED would let the chunked export see edits made half-way through.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def released_entries():
    """The entries a release freezes: the published ones, never synthetic benchmark data."""
    return without_synthetic(export_entries())


def create_release(name: str, notes: str = "", *, dry_run: bool = False):
    """Freeze the published entries as release name; return the Release (or a ReleasePreview).

    Raise ReleaseError for a bad or already used name.
    """
    check_release_name(name)
    if dry_run:
        with _consistent_snapshot():
            entries = released_entries()
            return ReleasePreview(name, entries.count(), compute_stats(entries))
    root = releases_dir()
    root.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    moved_to = None
    try:
        with _consistent_snapshot():
            count = write_package_files(released_entries(), temp)
            release = Release(
                name=name,
                notes=notes,
                created=timezone.now(),
                entry_count=count,
                counts=compute_stats(released_entries()),
            )
            _write_zip(temp)
            _write_info(temp, release)
            try:
                release.save()
            except IntegrityError:
                raise ReleaseError(f"a release named {name!r} already exists") from None
            _save_snapshot(release, temp / GEOJSON_NAME, count)
            _move_into_place(temp, release.folder)
            moved_to = release.folder
    except BaseException:
        if moved_to is not None:
            shutil.rmtree(moved_to, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)  # already gone when it was moved into place
    return release


def _write_zip(folder: Path) -> None:
    with zipfile.ZipFile(folder / ZIP_NAME, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name in (DESCRIPTOR_NAME, CSV_NAME, GEOJSON_NAME):
            zipped.write(folder / name, arcname=name)


def _write_info(folder: Path, release: Release) -> None:
    info = {
        "name": release.name,
        "notes": release.notes,
        "created": release.created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entry_count": release.entry_count,
        "counts": release.counts,
        "files": [CSV_NAME, GEOJSON_NAME, DESCRIPTOR_NAME, ZIP_NAME],
    }
    (folder / INFO_NAME).write_text(
        json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _features(geojson_path: Path) -> Iterator[dict]:
    """The features of a FeatureCollection written one feature per line (write_package_files)."""
    with open(geojson_path, "rb") as file:
        for line in file:
            text = line.strip().rstrip(b",")
            if text.startswith(b'{"type":"Feature"'):
                yield orjson.loads(text)


def _save_snapshot(release: Release, geojson_path: Path, expected: int) -> None:
    batch: list[ReleaseEntry] = []
    seen = 0
    for feature in _features(geojson_path):
        row = feature["properties"]
        batch.append(
            ReleaseEntry(
                release=release,
                public_id=row["id"],
                title=row["title"],
                row=row,
                row_hash=row_hash(row),
            )
        )
        seen += 1
        if len(batch) >= SNAPSHOT_BATCH:
            ReleaseEntry.objects.bulk_create(batch)
            batch.clear()
    ReleaseEntry.objects.bulk_create(batch)
    if seen != expected:
        raise ReleaseError(f"snapshot holds {seen} entries but the files hold {expected}")


def _move_into_place(temp: Path, final: Path) -> None:
    if final.exists():
        # Left by a crash after the rename but before the commit: no row owns it.
        leftover = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=final.parent))
        os.replace(final, leftover / "old")
        shutil.rmtree(leftover, ignore_errors=True)
    os.chmod(temp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual folder mode
    os.replace(temp, final)


def release_file(release: Release, filename: str) -> tuple[Path, str]:
    """(path, media type) of one frozen download of release; raise ReleaseError if unknown."""
    if filename not in DOWNLOADS:
        raise ReleaseError(f"a release has no file {filename!r}")
    path = release.folder / filename
    if not path.is_file():
        raise ReleaseError(f"the file {filename} of release {release.name} is missing")
    return path, DOWNLOADS[filename]
