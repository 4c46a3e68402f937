"""The two feature collections, which published entries each holds, and their extents.

`entries` holds every published entry with a point; `cables` every published entry with a
line (a LineString or MultiLineString, e.g. a submarine cable). An entry with both is in
both, drawn as a point in one and as a line in the other, so each layer has one geometry
type as GIS clients expect.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

from django.db.models import Max, Min, QuerySet

from techmap.catalog.clusters import line_envelope, line_touches_bbox
from techmap.catalog.geojson import geometry, point_geometry
from techmap.catalog.models import Entry
from techmap.catalog.queries import EntryFilters, filter_entries

GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    geometry_type: str
    published: Callable[[], QuerySet]
    geometry: Callable[[Entry], dict | None]


def _with_points() -> QuerySet:
    return Entry.objects.published().filter(latitude__isnull=False, longitude__isnull=False)


def _with_lines() -> QuerySet:
    return Entry.objects.published().filter(line_geometry__isnull=False)


COLLECTIONS = {
    c.id: c
    for c in (
        Collection(
            id="entries",
            title="Entries",
            description="Every published entry with a location, as a point: where a company "
            "operates abroad (offices, data centres, 5G networks, smart cities, research, ...).",
            geometry_type="Point",
            published=_with_points,
            geometry=lambda e: point_geometry(e.longitude, e.latitude),
        ),
        Collection(
            id="cables",
            title="Cables",
            description="Every published entry with a line geometry (e.g. a submarine cable "
            "route), as a LineString or MultiLineString.",
            geometry_type="LineString",
            published=_with_lines,
            geometry=lambda e: geometry(e.line_geometry, None, None),
        ),
    )
}


def collection_entries(collection: Collection, filters: EntryFilters) -> QuerySet:
    """The collection's published entries matching filters (a bbox tests the geometry)."""
    if collection.id == "entries":
        return filter_entries(filters, collection.published())
    entries = filter_entries(replace(filters, bbox=None), collection.published())
    if filters.bbox is None:
        return entries
    # Lines have no indexed envelope: test each one. Cables are few (see clusters.py).
    touching = [
        pk
        for pk, line in entries.values_list("pk", "line_geometry")
        if line and line_touches_bbox(line, filters.bbox)
    ]
    return Entry.objects.filter(pk__in=touching)


def spatial_extent(collection: Collection) -> list[float] | None:
    """[west, south, east, north] around the collection's geometries, or None when empty."""
    if collection.id == "entries":
        box = collection.published().aggregate(
            west=Min("longitude"),
            south=Min("latitude"),
            east=Max("longitude"),
            north=Max("latitude"),
        )
        return None if box["west"] is None else [box[k] for k in ("west", "south", "east", "north")]
    envelopes = [
        line_envelope(line)
        for line in collection.published().values_list("line_geometry", flat=True)
        if line
    ]
    envelopes = [e for e in envelopes if e]
    if not envelopes:
        return None
    return [
        min(e[0] for e in envelopes),
        min(e[1] for e in envelopes),
        max(e[2] for e in envelopes),
        max(e[3] for e in envelopes),
    ]


def temporal_extent(collection: Collection) -> list[str | None]:
    """[start, end] as RFC 3339 instants from the entries' years; None for an open end.

    The end is open while any dated entry has not ended.
    """
    entries = collection.published()
    years = entries.aggregate(first=Min("year_started"), last=Max("year_ended"))
    ongoing = entries.filter(year_started__isnull=False, year_ended__isnull=True).exists()
    start = f"{years['first']:04d}-01-01T00:00:00Z" if years["first"] else None
    end = f"{years['last']:04d}-12-31T23:59:59Z" if years["last"] and not ongoing else None
    return [start, end]
