"""Entries as RFC 7946 GeoJSON features and paged feature collections."""

from collections.abc import Callable

from django.db.models import QuerySet

from techmap.catalog.models import Entry
from techmap.catalog.representations import (
    entry_summary,
    round_coordinate,
    summary_relations,
)

GEOJSON_MEDIA_TYPE = "application/geo+json"


def round_coordinates(coordinates):
    """Nested GeoJSON coordinates with every number rounded to 6 decimals."""
    if isinstance(coordinates, (int, float)) and not isinstance(coordinates, bool):
        return round_coordinate(float(coordinates))
    return [round_coordinates(c) for c in coordinates]


def point_geometry(longitude: float, latitude: float) -> dict:
    return {
        "type": "Point",
        "coordinates": [round_coordinate(longitude), round_coordinate(latitude)],
    }


def geometry(line: dict | None, longitude: float | None, latitude: float | None) -> dict | None:
    """The line (e.g. a cable route) when there is one, else the point, else None."""
    if line:
        return {"type": line["type"], "coordinates": round_coordinates(line["coordinates"])}
    if latitude is not None and longitude is not None:
        return point_geometry(longitude, latitude)
    return None


def entry_geometry(entry: Entry) -> dict | None:
    """The entry's line (e.g. a cable route) when it has one, else its point, else None."""
    return geometry(entry.line_geometry, entry.longitude, entry.latitude)


def entry_feature(entry: Entry) -> dict:
    """An entry as a Feature whose id is its public id and properties its summary."""
    properties = entry_summary(entry)
    for key in ("id", "latitude", "longitude"):
        del properties[key]
    return {
        "type": "Feature",
        "id": entry.public_id,
        "geometry": entry_geometry(entry),
        "properties": properties,
    }


def feature_collection(
    features: list[dict], *, number_matched: int | None = None, links: list[dict] | None = None,
) -> dict:
    """A FeatureCollection with OGC API Features' numberMatched/numberReturned/links."""
    collection = {"type": "FeatureCollection"}
    if number_matched is not None:
        collection["numberMatched"] = number_matched
    collection["numberReturned"] = len(features)
    if links is not None:
        collection["links"] = links
    collection["features"] = features
    return collection


def entries_feature_collection(
    entries: QuerySet, *, limit: int, offset: int, link_for: Callable[[int], str],
) -> dict:
    """One page of entries (ordered by public id) with self, next and prev links.

    link_for(offset) returns the address of the page starting at offset.
    """
    matched = entries.count()
    page = summary_relations(entries.order_by("public_id"))[offset:offset + limit]
    features = [entry_feature(e) for e in page]
    links = [{"rel": "self", "type": GEOJSON_MEDIA_TYPE, "href": link_for(offset)}]
    if offset + len(features) < matched:
        links.append({"rel": "next", "type": GEOJSON_MEDIA_TYPE, "href": link_for(offset + limit)})
    if offset > 0:
        links.append(
            {"rel": "prev", "type": GEOJSON_MEDIA_TYPE, "href": link_for(max(offset - limit, 0))}
        )
    return feature_collection(features, number_matched=matched, links=links)
