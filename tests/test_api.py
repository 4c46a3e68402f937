"""The JSON API (/api/): every endpoint with good and bad parameters.

The bundled dataset changes as it is curated, so expectations about it are computed
with the ORM; behaviour in detail is tested on entries created here.
"""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.http import QueryDict

from techmap.catalog.facets import compute_facets
from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source, Topic
from techmap.catalog.queries import EntryFilters, filter_entries, parse_filters
from techmap.catalog.stats import compute_stats

pytestmark = pytest.mark.django_db

Status = Entry.Status


@pytest.fixture
def category():
    return Category.objects.create(
        slug="t-lab", name="Test lab", plural="test labs", color="#123456",
        name_zh="测试实验室", plural_zh="测试实验室们",
    )


@pytest.fixture
def company():
    return Company.objects.create(slug="t-acme", name="Acme Test Co", name_zh="测试")


@pytest.fixture
def source():
    return Source.objects.create(
        title="A report", author="A. Writer", publisher="Press", publication_date="2019-04",
        url="https://example.org/report", language="en", note="p. 3",
    )


@pytest.fixture
def make_entry(category, company, source):
    """Create an entry (published by default) with one company and one source."""
    def make(public_id, *, status=Status.PUBLISHED, country="ZW", lat=-17.8, lng=31.05, **fields):
        entry = Entry.objects.create(
            public_id=public_id, title=fields.pop("title", f"Title of {public_id}"),
            category=fields.pop("category", category), status=status,
            country=Country.objects.get(iso2=country) if country else None,
            latitude=lat, longitude=lng,
            precision=fields.pop("precision", "city" if lat is not None else "none"), **fields,
        )
        entry.companies.add(company)
        EntrySource.objects.create(entry=entry, source=source, position=1)
        return entry
    return make


@pytest.fixture
def draft_and_retired(make_entry):
    return [
        make_entry("t-draft-entry", status=Status.DRAFT),
        make_entry("t-retired-entry", status=Status.RETIRED),
    ]


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.content[:300]
    return response.json()


def published_ids(**filters):
    entries = filter_entries(parse_filters(filters)) if filters else Entry.objects.published()
    return sorted(entries.values_list("public_id", flat=True))


def all_pages(client, url, key="results"):
    """Follow next links and return every item."""
    items = []
    while url:
        body = get_json(client, url)
        items += body[key]
        url = body["next"]
    return items


# --- /api/entries ------------------------------------------------------------------------

def test_entry_list_returns_exactly_the_published_entries_in_public_id_order(
    client, draft_and_retired,
):
    body = get_json(client, "/api/entries?limit=1000")
    ids = [e["id"] for e in body["results"]]
    assert ids == published_ids()
    assert body["count"] == len(ids) > 0
    assert "t-draft-entry" not in ids and "t-retired-entry" not in ids


def test_entry_list_pages_follow_next_links_through_every_entry(client):
    body = get_json(client, "/api/entries?limit=3")
    assert body["limit"] == 3 and body["offset"] == 0 and body["previous"] is None
    assert "offset=3" in body["next"]
    ids = [e["id"] for e in all_pages(client, "/api/entries?limit=3")]
    assert ids == published_ids()
    second = get_json(client, "/api/entries?limit=3&offset=3")
    assert "offset=0" in second["previous"]


def test_entry_list_keeps_filters_in_paging_links(client, make_entry):
    for n in range(3):
        make_entry(f"t-paged-{n}")
    body = get_json(client, "/api/entries?company=t-acme&limit=2")
    assert body["count"] == 3
    assert "company=t-acme" in body["next"]


def test_entry_list_uses_page_size_settings(client, settings):
    settings.TECHMAP = {**settings.TECHMAP, "API_PAGE_SIZE": 2, "API_MAX_PAGE_SIZE": 4}
    assert get_json(client, "/api/entries")["limit"] == 2
    body = get_json(client, "/api/entries?limit=500")
    assert body["limit"] == 4 and len(body["results"]) == 4


def test_entry_summary_has_every_documented_field(client, make_entry, category):
    second = Category.objects.create(slug="t-second", name="Second", color="#abcdef")
    make_entry(
        "t-summary", title="Summary <b>test</b>", city="Harare", lat=-17.82924471, lng=31.0522,
        secondary_category=second, year_started=2015, year_ended=2019, highlight=True,
    )
    [summary] = get_json(client, "/api/entries?q=t-summary")["results"]
    assert summary == {
        "id": "t-summary", "title": "Summary <b>test</b>", "url": "/entries/t-summary/",
        # Names in English and Chinese (blank when unknown): the client picks one.
        "companies": [{"slug": "t-acme", "name": "Acme Test Co", "name_zh": "测试"}],
        "category": {
            "slug": "t-lab", "name": "Test lab", "name_zh": "测试实验室", "color": "#123456",
        },
        "secondary_category": {
            "slug": "t-second", "name": "Second", "name_zh": "", "color": "#abcdef",
        },
        "country": {
            "iso2": "ZW", "name": Country.objects.get(iso2="ZW").name, "name_zh": "津巴布韦",
        },
        "city": "Harare", "precision": "city", "latitude": -17.829245, "longitude": 31.0522,
        "year_started": 2015, "year_ended": 2019, "highlight": True,
    }


def test_entry_list_filters_match_the_shared_filter_functions(client, make_entry):
    make_entry("t-in-zw")
    bundled_category = Category.objects.exclude(slug="t-lab").first().slug
    for query in ("country=zw", "company=t-acme", f"category=t-lab,{bundled_category}",
                  "year_from=2018&year_to=2019", "q=smart"):
        ids = [e["id"] for e in get_json(client, f"/api/entries?limit=1000&{query}")["results"]]
        params = dict(pair.split("=") for pair in query.split("&"))
        assert ids == published_ids(**params), query
    assert "t-in-zw" in [e["id"] for e in get_json(client, "/api/entries?country=ZW&limit=1000")[
        "results"]]


def test_entry_list_bbox_crossing_the_antimeridian_keeps_both_sides(client, make_entry):
    make_entry("t-fiji", country="FJ", lat=-17.7, lng=178.4)
    make_entry("t-samoa", country="WS", lat=-13.8, lng=-171.8)
    make_entry("t-outside", country="FJ", lat=-17.7, lng=150.0)
    body = get_json(client, "/api/entries?bbox=170,-30,-160,0&company=t-acme")
    assert [e["id"] for e in body["results"]] == ["t-fiji", "t-samoa"]


def test_entry_list_query_count_does_not_grow_with_entries(
    client, make_entry, django_assert_max_num_queries,
):
    other = Company.objects.create(slug="t-other", name="Other Co")
    for n in range(30):
        make_entry(f"t-many-{n:02}").companies.add(other)
    # Filter validation, count, page, companies: a fixed number whatever the page size.
    with django_assert_max_num_queries(8):
        body = get_json(client, "/api/entries?limit=1000")
    assert len(body["results"]) >= 30


@pytest.mark.parametrize("url", [
    "/api/entries?limit=abc", "/api/entries?limit=0", "/api/entries?offset=-1",
    "/api/entries?bbox=1,2,3", "/api/entries?bbox=a,b,c,d", "/api/entries?bbox=0,10,5,0",
    "/api/entries?year_from=abcd", "/api/entries?year_from=1200",
    "/api/entries?year_from=2020&year_to=2010", "/api/entries?country=XX",
    "/api/entries?company=%3Cscript%3E", "/api/entries?category=nope", "/api/entries?topic=nope",
    "/api/entries?q=" + "x" * 201,
    "/api/entries.geojson?limit=abc", "/api/entries.geojson?offset=-1",
    "/api/entries.geojson?country=XX", "/api/entries.geojson?bbox=1,2,3",
    "/api/map?zoom=3", "/api/map?bbox=1,2,3,4", "/api/map?bbox=1,2,3,4&zoom=99",
    "/api/map?bbox=1,2,3,4&zoom=-1", "/api/map?bbox=1,2,3,4&zoom=abc",
    "/api/map?bbox=1,2,3&zoom=3", "/api/map?bbox=-190,0,10,10&zoom=3",
    "/api/map?bbox=1,2,3,4&zoom=3&company=%3Cscript%3E",
    "/api/facets?country=XX", "/api/facets?year_to=abcd", "/api/stats?company=nope",
    "/api/stats?year_from=abcd", "/api/countries?with_entries=maybe",
    # Values a database would choke on must still be a 400, never a 500.
    "/api/entries?offset=" + "9" * 30, "/api/entries.geojson?offset=" + "9" * 30,
    "/api/entries?bbox=nan,0,1,1", "/api/entries?bbox=inf,0,1,1", "/api/entries?q=a%00b",
    "/api/entries?company=a%00b", "/api/facets?q=%00", "/api/entries?year_from=" + "9" * 40,
    "/api/map?bbox=0,0,1,1&zoom=1.5",
])
def test_bad_parameters_get_400_with_a_json_detail(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail


def test_bad_filter_messages_name_the_problem(client):
    assert get_json(client, "/api/entries?country=XX", 400) == {"detail": "unknown country: XX"}
    assert "limit" in get_json(client, "/api/entries?limit=abc", 400)["detail"]
    assert "zoom" in get_json(client, "/api/map?bbox=1,2,3,4&zoom=99", 400)["detail"]
    assert "bbox" in get_json(client, "/api/map?zoom=3", 400)["detail"]


# --- /api/entries/{id} -------------------------------------------------------------------

def test_entry_detail_has_every_field_numbered_sources_and_a_citation(client, make_entry, source):
    topic = Topic.objects.create(slug="t-topic", name="Test topic", name_zh="测试主题")
    cable = {"type": "LineString", "coordinates": [[10.1234567, 1.0], [11.0, 2.0]]}
    entry = make_entry(
        "t-detail", title="Detail entry", address="1 Main St", partners=["A University"],
        financing_lender="A Bank", financing_amount=Decimal("1500000.50"),
        financing_currency="USD", description="<p>Said <em>this</em>.</p>",
        line_geometry=cable, external_refs={"chinatechmap_marker": "7"},
    )
    entry.topics.add(topic)
    second = Source.objects.create(title="Print only", publisher="Paper")
    EntrySource.objects.create(entry=entry, source=second, position=2)
    body = get_json(client, "/api/entries/t-detail")
    assert body["id"] == "t-detail" and body["title"] == "Detail entry"
    assert body["topics"] == [{"slug": "t-topic", "name": "Test topic", "name_zh": "测试主题"}]
    assert body["address"] == "1 Main St" and body["partners"] == ["A University"]
    assert body["financing"] == {"lender": "A Bank", "amount": 1500000.5, "currency": "USD"}
    assert body["description"] == "<p>Said <em>this</em>.</p>"
    assert body["line_geometry"] == cable
    assert body["external_refs"] == {"chinatechmap_marker": "7"}
    assert [s["n"] for s in body["sources"]] == [1, 2]
    assert body["sources"][0] == {
        "n": 1, "title": "A report", "author": "A. Writer", "publisher": "Press",
        "publication_date": "2019-04", "url": "https://example.org/report", "archived_url": "",
        "language": "en", "note": "p. 3", "citation": source.citation(),
    }
    assert body["sources"][1]["url"] == "" and body["sources"][1]["title"] == "Print only"
    assert "Detail entry" in body["citation"] and "t-detail" in body["citation"]
    assert "/entries/t-detail/" in body["citation"]
    assert body["created"] == entry.created.isoformat()
    assert body["updated"].startswith(str(entry.updated.year))


def test_entry_detail_of_a_bundled_entry_matches_the_database(client):
    entry = Entry.objects.published().first()
    body = get_json(client, f"/api/entries/{entry.public_id}")
    assert body["title"] == entry.title
    assert len(body["sources"]) == entry.sources.count() >= 1


@pytest.mark.parametrize(
    "public_id", ["no-such-entry", "t-draft-entry", "t-retired-entry", "a%00b"],
)
def test_entry_detail_of_unknown_draft_or_retired_id_is_404(client, draft_and_retired, public_id):
    response = client.get(f"/api/entries/{public_id}")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("No published entry")


# --- /api/entries.geojson ----------------------------------------------------------------

def test_geojson_returns_exactly_the_published_entries(client, draft_and_retired):
    response = client.get("/api/entries.geojson")
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    ids = [f["id"] for f in body["features"]]
    assert ids == published_ids()
    assert body["numberMatched"] == body["numberReturned"] == len(ids)
    assert [link["rel"] for link in body["links"]] == ["self"]


def test_geojson_features_use_line_then_point_then_null_geometry(client, make_entry):
    line = {"type": "MultiLineString", "coordinates": [[[1.23456789, 2.0], [3.0, 4.0]]]}
    make_entry("t-geo-line", line_geometry=line)
    make_entry("t-geo-point", lat=-17.123456789, lng=31.987654321)
    make_entry("t-geo-none", lat=None, lng=None, country=None)
    body = get_json(client, "/api/entries.geojson?company=t-acme")
    features = {f["id"]: f for f in body["features"]}
    assert features["t-geo-line"]["geometry"] == {
        "type": "MultiLineString", "coordinates": [[[1.234568, 2.0], [3.0, 4.0]]]}
    assert features["t-geo-point"]["geometry"] == {
        "type": "Point", "coordinates": [31.987654, -17.123457]}
    assert features["t-geo-none"]["geometry"] is None
    props = features["t-geo-point"]["properties"]
    assert props["title"] == "Title of t-geo-point" and props["url"] == "/entries/t-geo-point/"
    assert props["companies"] == [{"slug": "t-acme", "name": "Acme Test Co", "name_zh": "测试"}]
    assert not {"id", "latitude", "longitude"} & set(props)


def test_geojson_pages_beyond_the_maximum_with_next_links(client, settings, draft_and_retired):
    settings.TECHMAP = {**settings.TECHMAP, "GEOJSON_MAX_FEATURES": 3}
    url, ids, pages = "/api/entries.geojson", [], 0
    while url:
        body = get_json(client, url)
        assert body["numberReturned"] == len(body["features"]) <= 3
        assert body["numberMatched"] == len(published_ids())
        ids += [f["id"] for f in body["features"]]
        links = {link["rel"]: link for link in body["links"]}
        assert links["self"]["type"] == "application/geo+json"
        url = links.get("next", {}).get("href")
        pages += 1
    assert ids == published_ids()
    assert pages == -(-len(ids) // 3)


def test_geojson_limit_lowers_but_never_raises_the_maximum(client, settings):
    settings.TECHMAP = {**settings.TECHMAP, "GEOJSON_MAX_FEATURES": 4}
    assert get_json(client, "/api/entries.geojson?limit=2")["numberReturned"] == 2
    assert get_json(client, "/api/entries.geojson?limit=100")["numberReturned"] == 4


def test_geojson_applies_filters(client):
    ids = [f["id"] for f in get_json(client, "/api/entries.geojson?country=zw")["features"]]
    assert ids == published_ids(country="zw")


# --- /api/map ----------------------------------------------------------------------------

def test_map_returns_single_points_below_the_point_limit(client, draft_and_retired):
    body = get_json(client, "/api/map?bbox=-180,-90,180,90&zoom=2")
    assert body["clustered"] is False
    points = [f for f in body["features"] if not f["properties"].get("line")]
    with_point = Entry.objects.published().exclude(latitude=None)
    assert sorted(f["id"] for f in points) == sorted(with_point.values_list("public_id", flat=True))
    assert body["total"] == len(points)
    assert "t-draft-entry" not in {f["id"] for f in body["features"]}
    props = points[0]["properties"]
    assert set(props) == {"id", "title", "category", "color", "companies", "precision"}


def test_map_clusters_on_the_server_above_the_point_limit(client, settings, draft_and_retired):
    settings.TECHMAP = {**settings.TECHMAP, "MAP_POINT_LIMIT": 3}
    body = get_json(client, "/api/map?bbox=-180,-90,180,90&zoom=1")
    assert body["clustered"] is True
    members = sum(f["properties"].get("count", 1) for f in body["features"]
                  if not f["properties"].get("line"))
    assert members == body["total"] == Entry.objects.published().exclude(latitude=None).count()


def test_map_includes_lines_crossing_the_view_marked_as_lines(client, make_entry):
    make_entry("t-cable", lat=None, lng=None, line_geometry={
        "type": "LineString", "coordinates": [[170.0, -10.0], [179.0, -12.0]]})
    inside = get_json(client, "/api/map?bbox=160,-20,-170,0&zoom=4&company=t-acme")
    [line] = [f for f in inside["features"] if f["id"] == "t-cable"]
    assert line["properties"]["line"] is True and line["geometry"]["type"] == "LineString"
    outside = get_json(client, "/api/map?bbox=0,0,10,10&zoom=4&company=t-acme")
    assert "t-cable" not in {f["id"] for f in outside["features"]}


# --- /api/facets -------------------------------------------------------------------------

def test_facets_count_every_filter_except_their_own(client, make_entry):
    make_entry("t-facet-zw")
    make_entry("t-facet-ke", country="KE", lat=-1.28, lng=36.8)
    make_entry("t-facet-draft", country="KE", lat=-1.28, lng=36.8, status=Status.DRAFT)
    body = get_json(client, "/api/facets?company=t-acme&country=ZW")
    assert body["total"] == 1
    countries = {row["iso2"]: row["count"] for row in body["country"]}
    assert countries == {"ZW": 1, "KE": 1}  # the country facet ignores country=ZW
    companies = {row["slug"]: row["count"] for row in body["company"]}
    assert companies["t-acme"] == 1
    assert companies == {
        c.slug: Entry.objects.published().filter(country__iso2="ZW", companies=c).count()
        for c in Company.objects.filter(entries__in=published_ids_qs(country="ZW")).distinct()
    }


def published_ids_qs(**filters):
    return filter_entries(parse_filters(filters)).values("pk")


def test_facets_list_a_selected_value_even_with_zero_entries(client):
    empty = Topic.objects.create(slug="t-empty-topic", name="Empty topic")
    body = get_json(client, f"/api/facets?topic={empty.slug}")
    assert body["total"] == 0
    assert {"slug": "t-empty-topic", "name": "Empty topic", "count": 0} in body["topic"]
    assert all(row["count"] > 0 for row in body["topic"] if row["slug"] != "t-empty-topic")


def test_facets_without_filters_match_the_published_entries(client, draft_and_retired):
    body = get_json(client, "/api/facets")
    published = Entry.objects.published()
    assert body["total"] == published.count()
    assert sum(r["count"] for r in body["country"]) == published.exclude(country=None).count()
    assert {r["iso2"] for r in body["country"]} == set(
        published.exclude(country=None).values_list("country__iso2", flat=True))
    years = [y for y in published.values_list("year_started", flat=True) if y]
    assert body["years"]["min"] == min(years)
    assert set(body["category"][0]) == {"slug", "name", "color", "count"}


def brute_force_facets(filters):
    """Facet counts by definition, in Python: per facet, the published entries matching
    every filter except its own."""
    # The text search is the shared filter's (q matches many fields): taken as it is.
    searched = set(filter_entries(EntryFilters(q=filters.q)).values_list("pk", flat=True))

    def matches(entry, skip):
        if filters.q and entry.pk not in searched:
            return False
        companies = {c.slug for c in entry.companies.all()}
        topics = {t.slug for t in entry.topics.all()}
        categories = {entry.category.slug} | (
            {entry.secondary_category.slug} if entry.secondary_category else set())
        started, ended = entry.year_started, entry.year_ended
        tests = {
            "company": not filters.companies or companies & set(filters.companies),
            "category": not filters.categories or categories & set(filters.categories),
            "country": not filters.countries
            or (entry.country is not None and entry.country.iso2 in filters.countries),
            "topic": not filters.topics or topics & set(filters.topics),
            "years": (filters.year_from is None
                      or (ended is not None and ended >= filters.year_from)
                      or (ended is None and started is not None))
            and (filters.year_to is None or (started is not None and started <= filters.year_to)),
        }
        return all(ok for facet, ok in tests.items() if facet != skip)

    entries = list(Entry.objects.published().select_related(
        "category", "secondary_category", "country").prefetch_related("companies", "topics"))
    counts = {facet: {} for facet in ("company", "category", "country", "topic")}
    for entry in entries:
        keys = {
            "company": [c.slug for c in entry.companies.all()],
            "category": list(dict.fromkeys(
                [entry.category.slug]
                + ([entry.secondary_category.slug] if entry.secondary_category else []))),
            "country": [entry.country.iso2] if entry.country else [],
            "topic": [t.slug for t in entry.topics.all()],
        }
        for facet, values in keys.items():
            if matches(entry, facet):
                for value in values:
                    counts[facet][value] = counts[facet].get(value, 0) + 1
    in_range = [e for e in entries if matches(e, "years")]
    starts = [e.year_started for e in in_range if e.year_started is not None]
    ends = [y for e in in_range for y in (e.year_started, e.year_ended) if y is not None]
    years = {"min": min(starts) if starts else None, "max": max(ends) if ends else None}
    total = sum(1 for e in entries if matches(e, None))
    return total, counts, years


@pytest.mark.parametrize("query", [
    "", "company=t-acme", "company=t-acme,t-other", "category=t-lab", "category=t-second",
    "country=KE", "country=KE,ZW&company=t-other", "topic=t-topic", "topic=t-topic&country=ZW",
    "year_from=2015", "year_to=2016&category=t-lab", "year_from=2014&year_to=2018&company=t-acme",
    "company=t-acme&category=t-second&country=ZW&topic=t-topic&year_from=2010",
    "company=t-other&q=Title",
])
def test_facets_equal_counts_by_definition_for_combined_filters(client, make_entry, query):
    other = Company.objects.create(slug="t-other", name="Other Test Co")
    second = Category.objects.create(slug="t-second", name="Second", color="#654321")
    topic = Topic.objects.create(slug="t-topic", name="Test topic")
    make_entry("t-bf-1", year_started=2012, year_ended=2016).companies.add(other)  # two chosen
    make_entry("t-bf-2", country="KE", secondary_category=second, year_started=2018)
    make_entry("t-bf-3", country=None, lat=None, lng=None, year_started=2015).topics.add(topic)
    make_entry("t-bf-4", category=second, secondary_category=second).topics.add(topic)
    make_entry("t-bf-5", status=Status.DRAFT, year_started=1990).companies.add(other)
    make_entry("t-bf-6", country="KE", year_started=2010, year_ended=2014).companies.set([other])

    body = get_json(client, f"/api/facets?{query}")
    total, counts, years = brute_force_facets(parse_filters(QueryDict(query)))
    assert body["total"] == total
    for facet, key in (("company", "slug"), ("category", "slug"), ("country", "iso2"),
                       ("topic", "slug")):
        assert {r[key]: r["count"] for r in body[facet] if r["count"]} == counts[facet], facet
    assert body["years"] == years
    # Filtered answers reuse the whole table's counts (kept per data version) for a facet
    # whose only filter is its own; those equal the counts made afresh.
    assert compute_facets(parse_filters(QueryDict(query))) == body


# --- companies, taxonomy, countries ------------------------------------------------------

def test_company_list_counts_published_entries_and_countries(client, make_entry, company):
    make_entry("t-co-1")
    make_entry("t-co-2", country="KE", lat=-1.28, lng=36.8)
    make_entry("t-co-draft", country="NG", status=Status.DRAFT)
    rows = {c["slug"]: c for c in get_json(client, "/api/companies")}
    assert rows["t-acme"] == {"slug": "t-acme", "name": "Acme Test Co", "name_zh": "测试",
                              "url": "/companies/t-acme/", "entries": 2, "countries": 2}
    assert set(rows) == set(Company.objects.values_list("slug", flat=True))


def test_company_profile_has_every_field_and_breakdowns(client, make_entry, company, source):
    company.party_branches, company.party_source = 3, source
    company.sectors, company.website = ["Surveillance"], "https://acme.example"
    company.save()
    make_entry("t-prof-1")
    make_entry("t-prof-2")
    body = get_json(client, "/api/companies/t-acme")
    for key in ("name", "name_zh", "sectors", "headquarters", "ownership", "profile",
                "party_branches", "party_facts", "leadership", "website"):
        assert key in body
    assert body["party_branches"] == 3 and body["party_source"] == source.citation()
    assert body["entries"] == 2 and body["countries"] == 1
    assert body["by_category"] == [
        {"slug": "t-lab", "name": "Test lab", "name_zh": "测试实验室", "entries": 2}]
    assert body["by_country"] == [
        {"iso2": "ZW", "name": Country.objects.get(iso2="ZW").name, "name_zh": "津巴布韦",
         "entries": 2}]


def test_unknown_company_or_country_is_404(client):
    assert "nope" in get_json(client, "/api/companies/nope", 404)["detail"]
    assert get_json(client, "/api/countries/xx", 404)["detail"]
    assert get_json(client, "/api/companies/a%00b", 404)["detail"]
    assert get_json(client, "/api/countries/x%00", 404)["detail"]


def test_category_and_topic_lists_count_published_entries(client, make_entry, category):
    topic = Topic.objects.create(slug="t-t", name="T")
    make_entry("t-cat-1").topics.add(topic)
    make_entry("t-cat-draft", status=Status.DRAFT).topics.add(topic)
    categories = {c["slug"]: c for c in get_json(client, "/api/categories")}
    assert categories["t-lab"] == {
        "slug": "t-lab", "name": "Test lab", "name_zh": "测试实验室", "plural": "test labs",
        "plural_zh": "测试实验室们", "color": "#123456", "description": "", "entries": 1,
    }
    assert len(categories) == Category.objects.count()
    topics = {t["slug"]: t for t in get_json(client, "/api/topics")}
    assert topics["t-t"] == {"slug": "t-t", "name": "T", "name_zh": "", "entries": 1}


def test_country_list_covers_every_country_or_only_those_with_entries(client):
    every = get_json(client, "/api/countries")
    assert len(every) == Country.objects.count()
    assert set(every[0]) == {"iso2", "iso3", "name", "name_zh", "region", "subregion", "entries"}
    zimbabwe = next(c for c in every if c["iso2"] == "ZW")
    assert zimbabwe["name_zh"] == "津巴布韦"  # pycountry's Chinese name
    some = get_json(client, "/api/countries?with_entries=true")
    expected = set(Entry.objects.published().exclude(country=None)
                   .values_list("country__iso2", flat=True))
    assert {c["iso2"] for c in some} == expected and all(c["entries"] > 0 for c in some)


def test_country_detail_is_case_insensitive_with_breakdowns(client, make_entry):
    make_entry("t-country-1")
    body = get_json(client, "/api/countries/zw")
    assert body["iso2"] == "ZW" and body["iso3"] == "ZWE"
    assert body["entries"] == Entry.objects.published().filter(country__iso2="ZW").count()
    assert {"slug": "t-acme", "name": "Acme Test Co", "name_zh": "测试", "entries": 1} in (
        body["by_company"])
    assert body["name_zh"] == "津巴布韦"
    assert sum(r["entries"] for r in body["by_category"]) == body["entries"]


# --- /api/stats --------------------------------------------------------------------------

def test_stats_without_filters_equal_the_stats_command(client, draft_and_retired):
    out = io.StringIO()
    call_command("stats", "--json", stdout=out)
    assert get_json(client, "/api/stats") == json.loads(out.getvalue())


def test_stats_apply_filters(client):
    body = get_json(client, "/api/stats?country=ZW")
    assert body == compute_stats(filter_entries(parse_filters({"country": "ZW"})))
    assert body["countries"] <= 1


# --- OpenAPI, headers --------------------------------------------------------------------

def test_openapi_document_lists_every_endpoint_with_a_summary(client):
    doc = json.loads(client.get("/api/openapi.json").content)
    expected = {
        "/api/entries", "/api/entries.geojson", "/api/entries/{public_id}", "/api/map",
        "/api/facets", "/api/stats", "/api/companies", "/api/companies/{slug}",
        "/api/categories", "/api/topics", "/api/countries", "/api/countries/{iso2}",
    }
    assert set(doc["paths"]) == expected
    for path in expected:
        assert doc["paths"][path]["get"]["summary"], path
    params = {p["name"] for p in doc["paths"]["/api/entries"]["get"]["parameters"]}
    assert {"company", "category", "country", "topic", "year_from", "year_to", "q",
            "bbox", "limit", "offset"} <= params


def test_docs_page_is_off_so_no_third_party_assets_load(client):
    assert client.get("/api/docs").status_code == 404


@pytest.mark.parametrize("url", [
    "/api/entries", "/api/entries.geojson", "/api/map?bbox=0,0,10,10&zoom=3", "/api/facets",
    "/api/stats", "/api/companies", "/api/categories", "/api/topics", "/api/countries",
])
def test_public_responses_may_be_cached_for_a_minute(client, url):
    assert client.get(url)["Cache-Control"] == "public, max-age=60"
