"""Published entries as plain dicts ("export rows"), fetched a chunk at a time.

Every export (CSV, XLSX, GeoJSON, the Data Package, releases) reads entries through
iter_export_rows(); the columns in columns.py read these rows. Building model instances
and running Django's prefetch machinery cost most of an export's time, so each chunk of
entries is read with one values() query plus one per relation (companies, topics,
sources), joined here by entry id. The number of queries depends on the number of
chunks only, and memory holds one chunk at a time.

A row holds the ENTRY_FIELDS, DATETIME_FIELDS and JSON_FIELDS below under their values()
names (e.g. "category__slug"; the datetimes as datetimes, or on SQLite as their export
text already: see stored_datetime_text) and three lists in the order the entry page shows them:
- "companies": (name, slug) pairs, by company name;
- "topic_slugs": topic slugs, by topic name;
- "sources": dicts of SOURCE_FIELDS, in citation order.
"""

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator

import orjson
from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from techmap.catalog.models import Entry, EntrySource
from techmap.exchange import columns
from techmap.exchange.columns import SOURCE_FIELDS

CHUNK_SIZE = 5000  # entries per batch of queries
ENTRY_FIELDS = (
    "id",
    "public_id",
    "title",
    "category__slug",
    "category__name",
    "secondary_category__slug",
    "country__iso2",
    "country__name",
    "city",
    "address",
    "latitude",
    "longitude",
    "precision",
    "financing_lender",
    "financing_amount",
    "financing_currency",
    "year_started",
    "year_ended",
    "description",
    "highlight",
)
DATETIME_FIELDS = ("created", "updated")
# JSON columns are read as text and parsed with orjson, several times faster than the json
# module JSONField uses; parse_json_text() falls back to json, so the values are the same.
JSON_FIELDS = ("partners", "external_refs", "line_geometry")
_JSON_TEXT = {f"{name}_text": Cast(name, TextField()) for name in JSON_FIELDS}

_EntryCompany = Entry.companies.through
_EntryTopic = Entry.topics.through


def parse_json_text(text: str | None):
    """The value of JSON text as JSONField.from_db_value() gives it (None for NULL)."""
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. integers beyond 64 bits, which json accepts
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text


def _entry_filter(field: str, ids: list[int]) -> Q:
    """field among ids: as a range when the ids are dense, else as a list.

    Django prepares each value of an IN list one by one, which costs more than the query;
    entries imported in public id order have nearly consecutive ids, and a range of them
    costs nothing to send. Rows of other entries in the range are left out by the caller.
    """
    low, high = min(ids), max(ids)
    if high - low < 2 * len(ids):
        return Q(**{f"{field}__gte": low, f"{field}__lte": high})
    return Q(**{f"{field}__in": ids})


def _companies(ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    found = defaultdict(list)
    links = (
        _EntryCompany.objects.filter(_entry_filter("entry_id", ids))
        .order_by("company__name", "company_id")
        .values_list("entry_id", "company__name", "company__slug")
    )
    for entry_id, name, slug in links:
        found[entry_id].append((name, slug))
    return found


def _topic_slugs(ids: list[int]) -> dict[int, list[str]]:
    found = defaultdict(list)
    links = (
        _EntryTopic.objects.filter(_entry_filter("entry_id", ids))
        .order_by("topic__name", "topic_id")
        .values_list("entry_id", "topic__slug")
    )
    for entry_id, slug in links:
        found[entry_id].append(slug)
    return found


def _sources(ids: list[int]) -> dict[int, list[dict]]:
    found = defaultdict(list)
    fields = [f"source__{name}" for name in SOURCE_FIELDS]
    links = (
        EntrySource.objects.filter(_entry_filter("entry_id", ids))
        .order_by("position", "id")  # EntrySource's own ordering: citation order
        .values_list("entry_id", *fields)
    )
    for entry_id, *values in links:
        found[entry_id].append(dict(zip(SOURCE_FIELDS, values, strict=True)))
    return found


def stored_datetime_text(text: str | None) -> str | None:
    """A datetime as SQLite stores it for Django (UTC: "2026-11-27 16:33:00" or
    "2026-11-27 16:33:00.123456") as export text ("2026-11-27T16:33:00.000000Z", what
    columns.py makes of a datetime). Reading the text as it is saves Django parsing it
    and the export formatting it back: a sixth of a SQLite export's time."""
    if text is None:
        return None
    if len(text) not in (19, 26) or text[10] != " " or text[0] == "0":  # not that form
        value = parse_datetime(text)
        return columns.datetime_text(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return f"{text[:10]}T{text[11:19]}.{text[20:26] or '000000'}Z"


def _chunk_rows(ids: list[int]) -> list[dict]:
    """The rows of the entries with these primary keys, in the order of ids."""
    stored_text = connection.vendor == "sqlite"
    times = {f"{n}_text": Cast(n, TextField()) for n in DATETIME_FIELDS} if stored_text else {}
    entries = Entry.objects.filter(_entry_filter("pk", ids)).values(
        *ENTRY_FIELDS, *(() if stored_text else DATETIME_FIELDS), **_JSON_TEXT, **times
    )
    by_id = {row["id"]: row for row in entries}
    companies, topics, sources = _companies(ids), _topic_slugs(ids), _sources(ids)
    rows = []
    for pk in ids:
        row = by_id.get(pk)
        if row is None:  # deleted since the ids were read
            continue
        for name in JSON_FIELDS:
            row[name] = parse_json_text(row.pop(f"{name}_text"))
        if stored_text:
            for name in DATETIME_FIELDS:
                row[name] = stored_datetime_text(row.pop(f"{name}_text"))
        row["companies"] = companies.get(pk, ())
        row["topic_slugs"] = topics.get(pk, ())
        row["sources"] = sources.get(pk, [])
        rows.append(row)
    return rows


def iter_export_rows(entries: QuerySet, chunk_size: int = CHUNK_SIZE) -> Iterator[dict]:
    """The entries of the queryset as export rows, in its order, chunk_size at a time."""
    ids = list(entries.values_list("pk", flat=True))
    for start in range(0, len(ids), chunk_size):
        yield from _chunk_rows(ids[start : start + chunk_size])
