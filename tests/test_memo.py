"""Whole-table answers kept per process until the data change (techmap.catalog.memo): the
unfiltered facet counts and the cables' envelopes; and the map's points from plain rows."""

import pytest

from techmap.catalog.clusters import line_features, map_point_feature, point_features
from techmap.catalog.facets import compute_facets, facet_counts
from techmap.catalog.models import Category, Company, Entry, Source
from techmap.catalog.queries import EntryFilters

pytestmark = pytest.mark.django_db

WORLD = (-180.0, -90.0, 180.0, 90.0)


@pytest.fixture
def category():
    return Category.objects.create(slug="t-memo", name="Memo test", color="#123456")


def publish(entry):
    entry.sources.add(Source.objects.create(title="A source", url="https://example.org/m"))
    entry.status = Entry.Status.PUBLISHED
    entry.save()
    return entry


def test_unfiltered_facets_are_reused_until_the_data_change(bundled, client, category):
    first = facet_counts(EntryFilters())
    assert first == compute_facets(EntryFilters())
    assert facet_counts(EntryFilters()) is first  # the same data version: the kept answer

    publish(Entry.objects.create(public_id="t-memo-1", title="New", category=category))
    body = client.get("/api/facets").json()
    assert body["total"] == first["total"] + 1
    assert {"slug": "t-memo", "name": "Memo test", "color": "#123456", "count": 1} in (
        body["category"]
    )
    assert facet_counts(EntryFilters()) is not first


def test_filtered_facets_are_never_kept(bundled, category):
    filters = EntryFilters(categories=("t-memo",))
    assert facet_counts(filters)["total"] == 0
    # A change no data version sees (QuerySet.update leaves `updated` alone) still shows.
    entry = publish(Entry.objects.create(public_id="t-memo-2", title="New", category=category))
    Entry.objects.filter(pk=entry.pk).update(status=Entry.Status.DRAFT)
    assert facet_counts(filters)["total"] == 0
    Entry.objects.filter(pk=entry.pk).update(status=Entry.Status.PUBLISHED)
    assert facet_counts(filters)["total"] == 1


def test_line_features_follow_added_and_moved_lines(category):
    east = {"type": "LineString", "coordinates": [[10.0, 10.0], [11.0, 11.0]]}
    west = {"type": "LineString", "coordinates": [[-60.0, 10.0], [-61.0, 11.0]]}
    box = (9.0, 9.0, 12.0, 12.0)
    published = Entry.objects.published().filter(public_id__startswith="t-memo-line")
    Entry.objects.create(public_id="t-memo-line-a", title="Cable A", category=category,
                         status="published", line_geometry=east)  # fmt: skip
    assert [f["id"] for f in line_features(published, box)] == ["t-memo-line-a"]

    b = Entry.objects.create(public_id="t-memo-line-b", title="Cable B", category=category,
                             status="published", line_geometry=east)  # fmt: skip
    assert [f["id"] for f in line_features(published, box)] == ["t-memo-line-a", "t-memo-line-b"]

    b.line_geometry = west
    b.save()
    assert [f["id"] for f in line_features(published, box)] == ["t-memo-line-a"]
    assert [f["id"] for f in line_features(published, WORLD)] == ["t-memo-line-a", "t-memo-line-b"]


@pytest.mark.parametrize("ids_by_value", [100, 0])  # the links by the entries' ids, or subquery
def test_point_features_from_rows_equal_those_from_model_instances(
    category, monkeypatch, ids_by_value
):
    from techmap.catalog import clusters

    monkeypatch.setattr(clusters, "IDS_BY_VALUE", ids_by_value)
    zeta = Company.objects.create(slug="t-zeta", name="Zeta Co")
    alpha = Company.objects.create(slug="t-alpha", name="Alpha Co")
    for n, companies in enumerate([[zeta, alpha], [alpha], []]):
        entry = Entry.objects.create(public_id=f"t-memo-pt-{n}", title=f"<b>Point {n}</b>",
                                     category=category, status="published", precision="city",
                                     longitude=10.123456789 + n, latitude=-5.5)  # fmt: skip
        entry.companies.set(companies)
    entries = Entry.objects.filter(public_id__startswith="t-memo-pt-").order_by("public_id")
    from_rows = [feature for _pk, feature in point_features(entries)]
    expected = [map_point_feature(e) for e in entries.select_related("category")]
    assert from_rows == expected
    assert from_rows[0]["properties"]["companies"] == "Alpha Co, Zeta Co"
    assert from_rows[2]["properties"]["companies"] == ""
