"""The map's data: single points when few are in view, server-side grid clusters otherwise.

Clustering runs in SQL (GROUP BY grid cell) so the cost of a map request grows with
the number of cells on screen, not with the number of entries in the database.
"""

from django.db.models import Avg, Count, F, FloatField, Min, QuerySet
from django.db.models.functions import Floor

from techmap.catalog.geojson import feature_collection, point_geometry, round_coordinates
from techmap.catalog.memo import memoized
from techmap.catalog.models import Company, Entry
from techmap.catalog.queries import entries_in_bbox

MAX_ZOOM = 22
MAX_EXPANSION_ZOOM = 16
LINE_FEATURE_LIMIT = 1000  # cables and other lines are few; the cap guards the response size
LINE_CHUNK = 500  # candidate lines loaded per query

Bbox = tuple[float, float, float, float]


def grid_cell_size(zoom: int) -> float:
    """Cell edge in degrees: a quarter of a 256-pixel web-map tile at this zoom."""
    return 360 / 2**zoom / 4


def map_properties(entry: Entry) -> dict:
    """The small set of properties the map draws and shows on hover."""
    return {
        "id": entry.public_id,
        "title": entry.title,
        "category": entry.category.slug,
        "color": entry.category.color,
        "companies": ", ".join(c.name for c in entry.companies.all()),
        "precision": entry.precision,
    }


def map_point_feature(entry: Entry) -> dict:
    return {
        "type": "Feature",
        "id": entry.public_id,
        "geometry": point_geometry(entry.longitude, entry.latitude),
        "properties": map_properties(entry),
    }


POINT_FIELDS = ("pk", "public_id", "title", "category__slug", "category__color", "precision",
                "longitude", "latitude")  # fmt: skip


IDS_BY_VALUE = 100  # entries up to which point_features() sends their ids, not a subquery


def point_features(queryset: QuerySet) -> list[tuple[int, dict]]:
    """(pk, map_point_feature()) of each entry of queryset, in its order, from plain rows.

    Two queries (the rows, then their companies) and no model instances: at thousands of
    points in view this is several times faster than instances with prefetched companies.
    """
    rows = list(queryset.values_list(*POINT_FIELDS))
    # The links of the same entries by subquery: faster than sending thousands of ids back,
    # slower than a few (compiling the subquery costs more than a short list).
    few = len(rows) <= IDS_BY_VALUE
    entries = [row[0] for row in rows] if few else queryset.order_by().values("pk")
    links = Entry.companies.through.objects.filter(entry__in=entries)
    pairs = list(links.values_list("entry_id", "company_id"))
    # The few companies named once, in the database's name order, not joined to every link.
    companies = Company.objects.filter(pk__in={c for _e, c in pairs}).order_by("name")
    rank = {pk: (n, name) for n, (pk, name) in enumerate(companies.values_list("pk", "name"))}
    names: dict[int, list[tuple]] = {}
    for entry_id, company_id in pairs:
        names.setdefault(entry_id, []).append(rank[company_id])
    names = {pk: [name for _n, name in sorted(ranked)] for pk, ranked in names.items()}
    return [
        (pk, {
            "type": "Feature",
            "id": public_id,
            "geometry": point_geometry(longitude, latitude),
            "properties": {
                "id": public_id,
                "title": title,
                "category": slug,
                "color": color,
                "companies": ", ".join(names.get(pk, ())),
                "precision": precision,
            },
        })
        for pk, public_id, title, slug, color, precision, longitude, latitude in rows
    ]


def chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _with_map_relations(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("category").prefetch_related("companies")


def cluster_points(queryset: QuerySet, bbox: Bbox, zoom: int) -> list[dict]:
    """Group the points of queryset inside bbox into grid cells sized by zoom.

    A cell holding several entries becomes a cluster feature at its members' average
    position; a cell holding one entry becomes that entry's point feature, so the
    map can open it directly. Cell edges fall on multiples of the cell size, which
    divides 180, so no cell straddles the antimeridian and averages stay meaningful.
    """
    cell = grid_cell_size(zoom)
    cells = (
        entries_in_bbox(queryset, bbox)
        .order_by()  # a default ordering would leak into GROUP BY
        .annotate(
            cell_x=Floor(F("longitude") / cell, output_field=FloatField()),
            cell_y=Floor(F("latitude") / cell, output_field=FloatField()),
        )
        .values("cell_x", "cell_y")
        .annotate(members=Count("pk"), lng=Avg("longitude"), lat=Avg("latitude"), first=Min("pk"))
        .order_by("cell_y", "cell_x")
    )
    features, singles = [], {}
    expansion_zoom = min(zoom + 2, MAX_EXPANSION_ZOOM)
    for row in cells:
        if row["members"] == 1:
            singles[row["first"]] = len(features)
            features.append(None)  # filled in below, keeping the grid order
            continue
        features.append({
            "type": "Feature",
            "id": f"cluster-{zoom}-{int(row['cell_x'])}-{int(row['cell_y'])}",
            "geometry": point_geometry(row["lng"], row["lat"]),
            "properties": {
                "cluster": True,
                "count": row["members"],
                "expansion_zoom": expansion_zoom,
            },
        })
    for chunk in chunks(list(singles), 2000):
        for pk, feature in point_features(Entry.objects.filter(pk__in=chunk).order_by()):
            features[singles[pk]] = feature
    return [f for f in features if f is not None]


def line_envelope(geometry: dict) -> Bbox | None:
    """The (west, south, east, north) of a line geometry's positions, or None if it has none."""
    coordinates = geometry["coordinates"]
    lines = [coordinates] if geometry["type"] == "LineString" else coordinates
    positions = [p for line in lines for p in line]
    if not positions:
        return None
    lngs, lats = [p[0] for p in positions], [p[1] for p in positions]
    return min(lngs), min(lats), max(lngs), max(lats)


def _longitude_ranges(bbox: Bbox) -> list[tuple[float, float]]:
    west, _south, east, _north = bbox
    return [(west, east)] if west <= east else [(west, 180.0), (-180.0, east)]


def envelope_touches_bbox(envelope: Bbox | None, bbox: Bbox) -> bool:
    if envelope is None:
        return False
    min_lng, min_lat, max_lng, max_lat = envelope
    if max_lat < bbox[1] or min_lat > bbox[3]:
        return False
    return any(max_lng >= w and min_lng <= e for w, e in _longitude_ranges(bbox))


def line_touches_bbox(geometry: dict, bbox: Bbox) -> bool:
    """Whether the line's bounding box overlaps bbox (cheap, may include near misses)."""
    return envelope_touches_bbox(line_envelope(geometry), bbox)


def _line_envelopes() -> list[tuple[int, Bbox | None]]:
    """(pk, envelope) of every entry with a line, by public id."""
    rows = Entry.objects.filter(line_geometry__isnull=False).order_by("public_id")
    pairs = rows.values_list("pk", "line_geometry")
    return [(pk, line_envelope(g) if g else None) for pk, g in pairs]


def _touching(envelopes: list[tuple[int, Bbox | None]], bbox: Bbox) -> list[int]:
    """The pks whose envelope meets bbox: envelope_touches_bbox() inlined, as it runs over
    some 20,000 cables on every map request."""
    _west, south, _east, north = bbox
    ranges = _longitude_ranges(bbox)
    return [
        pk
        for pk, envelope in envelopes
        if envelope is not None
        and envelope[3] >= south
        and envelope[1] <= north
        and any(envelope[2] >= w and envelope[0] <= e for w, e in ranges)
    ]


def line_features(entries: QuerySet, bbox: Bbox, limit: int = LINE_FEATURE_LIMIT) -> list[dict]:
    """Entries with a line geometry crossing bbox, as line features (never clustered).

    A million-entry table holds ~20,000 cables: their envelopes are read once per data
    version (memo), so a request loads only the lines whose envelope meets bbox.
    """
    envelopes = memoized("line-envelopes", _line_envelopes)
    candidates = _touching(envelopes, bbox)
    features = []
    for chunk in chunks(candidates, LINE_CHUNK):  # in public id order, like the envelopes
        rows = entries.filter(pk__in=chunk, line_geometry__isnull=False).order_by("public_id")
        for entry in _with_map_relations(rows):
            geometry = entry.line_geometry
            if not geometry or not line_touches_bbox(geometry, bbox):
                continue
            features.append({
                "type": "Feature",
                "id": entry.public_id,
                "geometry": {"type": geometry["type"],
                             "coordinates": round_coordinates(geometry["coordinates"])},
                "properties": {**map_properties(entry), "line": True},
            })
            if len(features) >= limit:
                return features
    return features


def map_feature_collection(entries: QuerySet, bbox: Bbox, zoom: int, point_limit: int) -> dict:
    """The map's view of entries: points (or clusters above point_limit) plus lines.

    "total" counts the entries with a point inside bbox; "clustered" says whether
    the points were grouped.
    """
    in_view = entries_in_bbox(entries, bbox)
    total = in_view.count()
    clustered = total > point_limit
    if clustered:
        features = cluster_points(in_view, bbox, zoom)
    else:
        features = [f for _pk, f in point_features(in_view.order_by("public_id"))]
    features += line_features(entries, bbox)
    collection = feature_collection(features)
    collection.update(total=total, clustered=clustered, zoom=zoom, bbox=list(bbox))
    return collection
