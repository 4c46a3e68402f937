"""Endpoints over entries: list, detail, GeoJSON, the map's data, facets and stats.

Each endpoint parses its parameters and calls a plain function in techmap.catalog.
"""

from dataclasses import replace

from django.conf import settings
from ninja import Query, Router
from ninja.errors import HttpError

from techmap.api.params import BboxQuery, EntryFilterQuery, MapQuery, PageQuery, page_limit
from techmap.api.responses import is_lookup_key, json_response, page_url
from techmap.catalog.clusters import map_feature_collection
from techmap.catalog.facets import facet_counts
from techmap.catalog.geojson import GEOJSON_MEDIA_TYPE, entries_feature_collection
from techmap.catalog.models import Entry
from techmap.catalog.queries import filter_entries, parse_filters
from techmap.catalog.representations import (
    detail_relations,
    entry_detail,
    entry_summary,
    summary_relations,
)
from techmap.catalog.stats import compute_stats

router = Router(tags=["entries"])


@router.get(
    "/entries",
    summary="List published entries",
    description="Published entries matching the filters, ordered by public id, "
    "in pages of `limit` (default API_PAGE_SIZE, at most API_MAX_PAGE_SIZE) from `offset`.",
)
def list_entries(
    request, filters: Query[EntryFilterQuery], area: Query[BboxQuery], page: Query[PageQuery],
):
    entries = filter_entries(parse_filters(request.GET, allow_bbox=True)).order_by("public_id")
    limit = page_limit(page.limit, "API_PAGE_SIZE", "API_MAX_PAGE_SIZE")
    offset = page.offset
    count = entries.count()
    rows = summary_relations(entries)[offset:offset + limit]
    return json_response({
        "count": count,
        "limit": limit,
        "offset": offset,
        "next": page_url(request, limit=limit, offset=offset + limit)
        if offset + limit < count else None,
        "previous": page_url(request, limit=limit, offset=max(offset - limit, 0))
        if offset > 0 else None,
        "results": [entry_summary(e) for e in rows],
    })


@router.get(
    "/entries.geojson",
    summary="Published entries as GeoJSON",
    description="An RFC 7946 FeatureCollection of the matching entries; each feature's id is "
    "the entry's public id and its geometry the line (cables), else the point, else null. "
    "Returns up to GEOJSON_MAX_FEATURES features (`limit` may lower it); further pages are "
    "linked by a `links` item with rel `next`. Content type application/geo+json.",
)
def entries_geojson(
    request, filters: Query[EntryFilterQuery], area: Query[BboxQuery], page: Query[PageQuery],
):
    entries = filter_entries(parse_filters(request.GET, allow_bbox=True))
    limit = page_limit(page.limit, "GEOJSON_MAX_FEATURES", "GEOJSON_MAX_FEATURES")
    collection = entries_feature_collection(
        entries, limit=limit, offset=page.offset,
        link_for=lambda offset: page_url(request, limit=limit, offset=offset),
    )
    return json_response(collection, content_type=GEOJSON_MEDIA_TYPE)


@router.get(
    "/entries/{public_id}",
    summary="One published entry",
    description="Every public field of an entry with its numbered sources and a citation. "
    "404 when no published entry has this id.",
)
def get_entry(request, public_id: str):
    entries = detail_relations(Entry.objects.published())
    entry = entries.filter(public_id=public_id).first() if is_lookup_key(public_id) else None
    if entry is None:
        raise HttpError(404, f"No published entry has the id {public_id[:80]!r}.")
    return json_response(entry_detail(entry))


@router.get(
    "/map",
    summary="The map's points or clusters for a view",
    description="Entries with a point inside `bbox`, as single point features when there are "
    "at most MAP_POINT_LIMIT of them, else as grid clusters sized by `zoom` (a cell with one "
    "entry is returned as that entry's point). Lines (cables) crossing the view are added "
    "with property line=true. Top-level `total` counts the entries in view and `clustered` "
    "says whether points were grouped.",
)
def map_data(request, view: Query[MapQuery], filters: Query[EntryFilterQuery]):
    parsed = parse_filters(request.GET, allow_bbox=True)
    entries = filter_entries(replace(parsed, bbox=None))
    collection = map_feature_collection(
        entries, parsed.bbox, view.zoom, point_limit=settings.TECHMAP["MAP_POINT_LIMIT"],
    )
    return json_response(collection, content_type=GEOJSON_MEDIA_TYPE)


@router.get(
    "/facets",
    summary="Counts for the filter panel",
    description="How many published entries each company, category, country and topic holds "
    "under the current filters, each facet ignoring its own filter; selected values are "
    "listed even when their count is 0. Also the total and the year range.",
)
def facets(request, filters: Query[EntryFilterQuery]):
    return json_response(facet_counts(parse_filters(request.GET)))


@router.get(
    "/stats",
    summary="Headline statistics",
    description="Counts of the published entries matching the filters: `entries`, "
    "`companies`, `countries`, then `by_category` and `by_company` (entries and distinct "
    "countries each), `by_country` (entries and companies per country, with its UN region), "
    "`by_region` (entries and countries per UN region, with `subregions`) and `data_points` "
    "(the number of non-empty fields of those entries). Without filters the same as "
    "`techmap stats --json`; with them the same as `techmap stats --json` given the same "
    "filters.",
)
def stats(request, filters: Query[EntryFilterQuery]):
    return json_response(compute_stats(filter_entries(parse_filters(request.GET))))
