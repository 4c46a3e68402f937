"""Server-side clustering of the map's points (techmap.catalog.clusters), tested directly."""

import pytest

from techmap.catalog.clusters import (
    cluster_points,
    grid_cell_size,
    line_features,
    line_touches_bbox,
    map_feature_collection,
)
from techmap.catalog.models import Category, Company, Entry

pytestmark = pytest.mark.django_db

WORLD = (-180.0, -90.0, 180.0, 90.0)


@pytest.fixture
def category():
    return Category.objects.create(slug="t-cluster", name="Cluster test", color="#00aa00")


@pytest.fixture
def add_points(category):
    """Create published points (lng, lat) named t-pt-<n>; return a queryset of exactly these."""
    company = Company.objects.create(slug="t-cluster-co", name="Cluster Co")
    created = []

    def add(points, status=Entry.Status.PUBLISHED, prefix="t-pt"):
        start = len(created)
        entries = Entry.objects.bulk_create(
            Entry(public_id=f"{prefix}-{start + i}", title=f"Point {start + i}", status=status,
                  category=category, longitude=lng, latitude=lat, precision="exact")
            for i, (lng, lat) in enumerate(points)
        )
        for entry in entries:
            entry.companies.add(company)
        created.extend(entries)
        return Entry.objects.published().filter(companies=company)
    return add


def counts(features):
    return sum(f["properties"]["count"] if f["properties"].get("cluster") else 1
               for f in features)


def test_grid_cell_is_a_quarter_tile_and_halves_with_each_zoom():
    assert grid_cell_size(0) == 90
    assert grid_cell_size(1) == 45
    assert grid_cell_size(10) == pytest.approx(360 / 1024 / 4)


def test_nearby_points_form_one_cluster_at_their_average_position(add_points):
    entries = add_points([(10.1, 20.1), (10.3, 20.2), (10.2, 20.3), (-60.0, -30.0)])
    features = cluster_points(entries, WORLD, zoom=3)  # cells of 11.25 degrees
    clusters = [f for f in features if f["properties"].get("cluster")]
    assert len(clusters) == 1
    cluster = clusters[0]
    assert cluster["properties"] == {"cluster": True, "count": 3, "expansion_zoom": 5}
    assert cluster["geometry"]["coordinates"] == pytest.approx([10.2, 20.2])
    assert counts(features) == 4


def test_a_cell_with_one_entry_is_returned_as_that_entrys_point(add_points):
    entries = add_points([(-60.0, -30.0)])
    [feature] = cluster_points(entries, WORLD, zoom=3)
    assert feature["id"] == "t-pt-0"
    assert feature["geometry"] == {"type": "Point", "coordinates": [-60.0, -30.0]}
    assert feature["properties"] == {
        "id": "t-pt-0", "title": "Point 0", "category": "t-cluster", "color": "#00aa00",
        "companies": "Cluster Co", "precision": "exact",
    }


def test_higher_zoom_splits_clusters_and_counts_still_sum_to_total(add_points):
    grid = [(lng / 10, lat / 10) for lng in range(0, 100, 7) for lat in range(0, 100, 7)]
    entries = add_points(grid)
    previous = 0
    for zoom in (0, 2, 4, 6):
        features = cluster_points(entries, WORLD, zoom)
        assert counts(features) == len(grid)
        assert len(features) >= previous
        previous = len(features)
    assert previous > 1


def test_expansion_zoom_is_capped_at_16(add_points):
    entries = add_points([(1.0, 1.0), (1.0000001, 1.0000001)])
    [cluster] = cluster_points(entries, WORLD, zoom=15)
    assert cluster["properties"]["expansion_zoom"] == 16


def test_only_points_inside_the_bbox_are_clustered(add_points):
    entries = add_points([(5.0, 5.0), (5.1, 5.1), (50.0, 5.0)])
    features = cluster_points(entries, (0.0, 0.0, 10.0, 10.0), zoom=2)
    assert counts(features) == 2


def test_bbox_crossing_the_antimeridian_clusters_both_sides_separately(add_points):
    entries = add_points([(179.5, -17.0), (179.6, -17.1), (-179.5, -17.0), (-179.6, -17.2),
                          (0.0, -17.0)])
    features = cluster_points(entries, (170.0, -30.0, -170.0, 0.0), zoom=2)
    assert counts(features) == 4
    sides = sorted(f["geometry"]["coordinates"][0] for f in features)
    # A cell never straddles 180 degrees, so no cluster lands at the average longitude 0.
    assert sides == pytest.approx([-179.55, 179.55])


def test_drafts_and_retired_entries_are_never_clustered(add_points):
    add_points([(1.0, 1.0)] * 3, status=Entry.Status.DRAFT, prefix="t-draft")
    add_points([(1.0, 1.0)] * 2, status=Entry.Status.RETIRED, prefix="t-retired")
    entries = add_points([(1.0, 1.0), (1.01, 1.01)])
    features = cluster_points(entries, WORLD, zoom=0)
    assert counts(features) == 2


def test_map_collection_returns_points_up_to_the_limit_then_clusters(add_points):
    entries = add_points([(2.0 + i / 100, 3.0) for i in range(6)])
    plain = map_feature_collection(entries, WORLD, 4, point_limit=6)
    assert plain["clustered"] is False and plain["total"] == 6
    assert sorted(f["id"] for f in plain["features"]) == [f"t-pt-{i}" for i in range(6)]
    grouped = map_feature_collection(entries, WORLD, 4, point_limit=5)
    assert grouped["clustered"] is True and grouped["total"] == 6
    assert counts(grouped["features"]) == 6 and len(grouped["features"]) < 6
    assert grouped["type"] == "FeatureCollection"


def test_map_total_counts_only_entries_in_view(add_points):
    entries = add_points([(2.0, 3.0), (100.0, 3.0)])
    collection = map_feature_collection(entries, (0.0, 0.0, 10.0, 10.0), 4, point_limit=10)
    assert collection["total"] == 1 and [f["id"] for f in collection["features"]] == ["t-pt-0"]


@pytest.mark.parametrize("geometry, bbox, expected", [
    ({"type": "LineString", "coordinates": [[0, 0], [20, 20]]}, (5, 5, 10, 10), True),
    ({"type": "LineString", "coordinates": [[0, 0], [20, 20]]}, (30, 5, 40, 10), False),
    ({"type": "LineString", "coordinates": [[0, 0], [20, 20]]}, (5, 30, 10, 40), False),
    ({"type": "MultiLineString", "coordinates": [[[175, 0], [179, 1]]]}, (170, -5, -170, 5), True),
    ({"type": "LineString", "coordinates": [[-178, 0], [-175, 1]]}, (170, -5, -170, 5), True),
    ({"type": "LineString", "coordinates": [[-100, 0], [-90, 1]]}, (170, -5, -170, 5), False),
])
def test_line_touches_bbox_including_across_the_antimeridian(geometry, bbox, expected):
    assert line_touches_bbox(geometry, bbox) is expected


def test_line_features_are_marked_capped_and_skip_unpublished(category):
    line = {"type": "LineString", "coordinates": [[1.0, 1.0], [2.1234567, 2.0]]}
    for n, status in enumerate(["published", "published", "published", "draft"]):
        Entry.objects.create(public_id=f"t-line-{n}", title="Cable", category=category,
                             status=status, line_geometry=line)
    entries = Entry.objects.published().filter(public_id__startswith="t-line-")
    features = line_features(entries, WORLD)
    assert [f["id"] for f in features] == ["t-line-0", "t-line-1", "t-line-2"]
    assert features[0]["properties"]["line"] is True
    assert features[0]["geometry"]["coordinates"] == [[1.0, 1.0], [2.123457, 2.0]]
    assert len(line_features(entries, WORLD, limit=2)) == 2


def test_map_endpoint_cluster_counts_sum_to_total_with_a_low_limit(client, settings, add_points):
    settings.TECHMAP = {**settings.TECHMAP, "MAP_POINT_LIMIT": 5}
    add_points([(30.0 + i / 50, -20.0 + i / 50) for i in range(40)])
    add_points([(30.0, -20.0)] * 5, status=Entry.Status.DRAFT, prefix="t-hidden")
    body = client.get("/api/map?bbox=20,-30,40,-10&zoom=5&company=t-cluster-co").json()
    assert body["clustered"] is True and body["total"] == 40
    assert counts(body["features"]) == 40
    assert not any(f["id"].startswith("t-hidden") for f in body["features"])


def test_map_endpoint_clusters_across_the_antimeridian(client, settings, add_points):
    settings.TECHMAP = {**settings.TECHMAP, "MAP_POINT_LIMIT": 2}
    add_points([(178.0, -18.0), (178.1, -18.1), (-178.0, -18.0), (-178.1, -18.1), (0.0, 0.0)])
    body = client.get("/api/map?bbox=170,-30,-170,0&zoom=3&company=t-cluster-co").json()
    assert body["clustered"] is True and body["total"] == 4
    assert counts(body["features"]) == 4
