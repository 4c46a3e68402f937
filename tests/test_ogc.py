"""OGC API - Features at /ogc/: every endpoint and error through Django's client on the real
database, then GDAL's own client (`ogrinfo`, OAPIF driver) against a real `techmap serve`.

Expected counts are computed from the database, never copied from the bundled dataset.
"""

import json
import os
import re
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest

from techmap.catalog.models import Category, Company, Entry
from techmap.catalog.queries import EntryFilters, entries_in_bbox, filter_entries
from techmap.ogc.documents import PROPERTIES
from tests.html_checks import parse
from tests.servers import TECHMAP, techmap_server

OGC = "/ogc/"
ITEMS = "/ogc/collections/entries/items"
CABLES = "/ogc/collections/cables/items"
CABLE_LINE = {"type": "LineString", "coordinates": [[100.5, 1.25], [110.0, 5.5], [120.0, 10.0]]}


def points():
    return Entry.objects.published().filter(latitude__isnull=False)


def get_json(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def all_features(client, url, **params):
    """Every feature of a collection, following the next links from the first page."""
    page = get_json(client, url, **params)
    features = list(page["features"])
    while nxt := [link for link in page["links"] if link["rel"] == "next"]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(nxt[0]["href"]).query).items()}
        page = get_json(client, url, **query)
        features += page["features"]
    return features


@pytest.fixture
def cable(db):
    """A published cable entry with a line and no point (like an imported TeleGeography cable)."""
    category = Category.objects.create(slug="t-ogc-cable", name="Cable test", color="#0000aa")
    entry = Entry.objects.create(
        public_id="t-ogc-cable-1",
        title="OGC test cable",
        status=Entry.Status.PUBLISHED,
        category=category,
        line_geometry=CABLE_LINE,
        year_started=2016,
    )
    entry.companies.add(Company.objects.get(slug="huawei"))
    return entry


# --- landing page, conformance, API definition ----------------------------------------------


def test_landing_page_links_to_itself_the_api_definition_conformance_and_collections(client, db):
    page = get_json(client, OGC)
    by_rel = {link["rel"]: link for link in page["links"]}
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= set(by_rel)
    assert by_rel["alternate"]["type"] == "text/html"
    assert by_rel["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    for link in page["links"]:
        response = client.get(link["href"])
        assert response.status_code == 200, link
        assert response["Content-Type"].startswith(link["type"].split(";")[0]), link


def test_conformance_declares_core_geojson_html_and_openapi(client, db):
    classes = get_json(client, "/ogc/conformance")["conformsTo"]
    base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    assert {base + c for c in ("core", "geojson", "html", "oas30")} <= set(classes)


def test_api_definition_describes_the_items_parameters_and_page_sizes(client, db, settings):
    settings.TECHMAP = {**settings.TECHMAP, "API_PAGE_SIZE": 7, "API_MAX_PAGE_SIZE": 70}
    response = client.get("/ogc/openapi")
    assert response["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = response.json()
    assert doc["openapi"].startswith("3.0")
    refs = doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    names = {r["$ref"].rsplit("/", 1)[1] for r in refs}
    assert {"bbox", "limit", "offset", "datetime", "company", "category", "country"} <= names
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert (limit["default"], limit["maximum"]) == (7, 70)
    server = doc["servers"][0]["url"]
    for path in doc["paths"]:
        concrete = path.replace("{collectionId}", "entries").replace(
            "{featureId}", points().order_by("public_id").first().public_id
        )
        assert client.get(urlsplit(server).path + concrete).status_code == 200, path


# --- collections --------------------------------------------------------------------------


def test_collections_lists_entries_and_cables_with_item_links(client, db):
    doc = get_json(client, "/ogc/collections")
    assert [c["id"] for c in doc["collections"]] == ["entries", "cables"]
    for collection in doc["collections"]:
        assert collection["itemType"] == "feature"
        items = [x for x in collection["links"] if x["rel"] == "items"]
        assert {x["type"] for x in items} == {"application/geo+json", "text/html"}


def test_entries_extent_is_the_box_around_the_points_and_the_years(client, db):
    extent = get_json(client, "/ogc/collections/entries")["extent"]
    lngs = list(points().values_list("longitude", flat=True))
    lats = list(points().values_list("latitude", flat=True))
    assert extent["spatial"]["bbox"] == [[min(lngs), min(lats), max(lngs), max(lats)]]
    first = min(y for y in points().values_list("year_started", flat=True) if y)
    assert extent["temporal"]["interval"][0][0] == f"{first}-01-01T00:00:00Z"


def test_cables_extent_is_the_box_around_the_lines(client, cable):
    extent = get_json(client, "/ogc/collections/cables")["extent"]
    assert extent["spatial"]["bbox"] == [[100.5, 1.25, 120.0, 10.0]]


def test_unknown_collection_is_an_ogc_404(client, db):
    for url in (
        "/ogc/collections/nope",
        "/ogc/collections/nope/items",
        "/ogc/collections/nope/items/x",
        "/ogc/collections/nope/schema",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "NotFound"


def test_schema_types_every_feature_property(client, db):
    response = client.get("/ogc/collections/entries/schema")
    assert response["Content-Type"] == "application/schema+json"
    described = response.json()["properties"]["properties"]["properties"]
    feature = get_json(client, ITEMS, limit=1)["features"][0]
    assert set(described) == set(feature["properties"]) == set(PROPERTIES)
    assert described["year_started"]["type"] == "integer"


# --- items ---------------------------------------------------------------------------------


def test_items_are_the_published_points_as_flat_geojson(client, db):
    response = client.get(ITEMS, {"limit": 1000})
    assert response["Content-Type"] == "application/geo+json"
    page = response.json()
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == page["numberReturned"] == points().count()
    assert {f["id"] for f in page["features"]} == set(points().values_list("public_id", flat=True))
    for feature in page["features"]:
        assert feature["geometry"]["type"] == "Point"
        assert not any(isinstance(v, (dict, list)) for v in feature["properties"].values())


def test_a_feature_carries_the_entrys_title_companies_and_page(client, db):
    entry = points().filter(companies__slug="huawei").order_by("public_id").first()
    feature = get_json(client, f"{ITEMS}/{entry.public_id}")
    assert feature["properties"]["title"] == entry.title
    assert "Huawei" in feature["properties"]["companies"].split("; ")
    assert feature["properties"]["url"] == f"http://testserver{entry.get_absolute_url()}"
    assert feature["geometry"]["coordinates"] == [
        round(entry.longitude, 6),
        round(entry.latitude, 6),
    ]
    assert {link["rel"] for link in feature["links"]} >= {"self", "alternate", "collection"}


def test_default_and_maximum_page_sizes_come_from_the_api_settings(client, db, settings):
    settings.TECHMAP = {**settings.TECHMAP, "API_PAGE_SIZE": 3, "API_MAX_PAGE_SIZE": 5}
    assert get_json(client, ITEMS)["numberReturned"] == 3
    assert get_json(client, ITEMS, limit=4)["numberReturned"] == 4
    assert get_json(client, ITEMS, limit=500)["numberReturned"] == 5


def test_next_links_page_through_every_feature_once_and_prev_links_back(client, db):
    features = all_features(client, ITEMS, limit=7)
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) == points().count() > 7
    assert ids == sorted(ids)
    second = get_json(client, ITEMS, limit=7, offset=7)
    prev = [x for x in second["links"] if x["rel"] == "prev"][0]["href"]
    assert parse_qs(urlsplit(prev).query)["offset"] == ["0"]
    last = get_json(client, ITEMS, limit=7, offset=points().count() - 1)
    assert last["numberReturned"] == 1
    assert "next" not in {x["rel"] for x in last["links"]}


def test_bbox_returns_the_points_inside_it(client, db):
    bbox = (100.0, 0.0, 180.0, 60.0)
    features = all_features(client, ITEMS, bbox="100,0,180,60")
    expected = entries_in_bbox(points(), bbox)
    assert 0 < len(features) == expected.count() < points().count()
    for feature in features:
        lng, lat = feature["geometry"]["coordinates"]
        assert 100 <= lng <= 180 and 0 <= lat <= 60


def test_property_filters_are_the_sites_filters(client, db):
    category = points().order_by("public_id").first().category.slug
    for params, filters in (
        ({"company": "huawei"}, EntryFilters(companies=("huawei",))),
        ({"country": "ke"}, EntryFilters(countries=("KE",))),
        ({"category": category}, EntryFilters(categories=(category,))),
    ):
        expected = filter_entries(filters, points()).count()
        got = get_json(client, ITEMS, limit=1000, **params)
        assert got["numberMatched"] == expected, params
    huawei = get_json(client, ITEMS, company="huawei", limit=1000)["features"]
    assert huawei and all("huawei" in f["properties"]["company_slugs"] for f in huawei)


def test_datetime_selects_entries_active_in_those_years(client, db):
    year = max(y for y in points().values_list("year_started", flat=True) if y)
    for value, filters in (
        (f"{year}-06-01T00:00:00Z", EntryFilters(year_from=year, year_to=year)),
        (f"{year}-01-01/..", EntryFilters(year_from=year)),
        (f"../{year}-12-31", EntryFilters(year_to=year)),
    ):
        expected = filter_entries(filters, points()).count()
        assert get_json(client, ITEMS, datetime=value)["numberMatched"] == expected > 0, value
    before = get_json(client, ITEMS, datetime="1950-01-01/1950-12-31")
    assert before["numberMatched"] == 0


def test_drafts_are_never_features(client, db):
    draft = points().first()
    Entry.objects.filter(pk=draft.pk).update(status=Entry.Status.DRAFT)
    ids = {f["id"] for f in all_features(client, ITEMS, limit=1000)}
    assert draft.public_id not in ids
    assert client.get(f"{ITEMS}/{draft.public_id}").status_code == 404


def test_cables_are_lines_and_bbox_tests_the_line(client, cable):
    page = get_json(client, CABLES)
    assert [f["id"] for f in page["features"]] == [cable.public_id]
    assert page["features"][0]["geometry"] == CABLE_LINE
    assert get_json(client, CABLES, bbox="105,0,115,20")["numberMatched"] == 1
    assert get_json(client, CABLES, bbox="0,0,50,50")["numberMatched"] == 0
    # A cable without a point is not in the points collection.
    assert client.get(f"{ITEMS}/{cable.public_id}").status_code == 404
    assert get_json(client, f"{CABLES}/{cable.public_id}")["geometry"]["type"] == "LineString"


BAD_ITEMS_QUERIES = [
    {"bbox": "a"},
    {"bbox": "1,2,3"},
    {"bbox": "0,50,10,40"},
    {"bbox": "0,0,200,10"},
    {"limit": "abc"},
    {"limit": "0"},
    {"limit": "-5"},
    {"offset": "-1"},
    {"offset": "1e3"},
    {"offset": str(10**30)},
    {"f": "xml"},
    {"foo": "1"},
    {"company": "no-such-company"},
    {"year_from": "abc"},
    {"datetime": "yesterday"},
    {"datetime": "../.."},
    {"datetime": "2020-01-01/2010-01-01"},
    {"datetime": "2020/2021/2022"},
    {"q": "bad\x00text"},
    {"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"},
    {"bbox-crs": "EPSG:4326"},
]


@pytest.mark.parametrize("params", BAD_ITEMS_QUERIES, ids=lambda p: repr(p)[:40])
def test_bad_items_parameters_are_ogc_400s(client, db, params):
    response = client.get(ITEMS, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and body["description"]


def test_crs84_may_be_named_explicitly(client, db):
    crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    page = get_json(client, ITEMS, crs=crs84, **{"bbox-crs": crs84, "bbox": "100,0,180,60"})
    assert page["numberMatched"] == entries_in_bbox(points(), (100, 0, 180, 60)).count()
    feature_id = page["features"][0]["id"]
    assert get_json(client, f"{ITEMS}/{feature_id}", crs=crs84)["id"] == feature_id


def test_a_parameter_given_twice_and_unknown_parameters_elsewhere_are_400s(client, db):
    assert client.get(f"{ITEMS}?limit=2&limit=3").status_code == 400
    for url in (OGC, "/ogc/collections", "/ogc/collections/entries", "/ogc/openapi"):
        assert client.get(url, {"bogus": "1"}).status_code == 400, url


def test_unknown_features_are_ogc_404s(client, db):
    for feature_id in ("no-such-entry", "bad\x00id", "x" * 500):
        response = client.get(f"{ITEMS}/{feature_id}")
        assert response.status_code == 404
        assert response.json()["code"] == "NotFound"


# --- formats, HTML and caching ------------------------------------------------------------


@pytest.mark.parametrize(
    "url", [OGC, "/ogc/conformance", "/ogc/collections", "/ogc/collections/entries", ITEMS]
)
def test_html_pages_use_the_site_template_without_inline_code(client, db, url):
    for response in (
        client.get(url, {"f": "html"}),
        client.get(url, headers={"Accept": "text/html,*/*;q=0.8"}),
    ):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        page = parse(response)
        assert len(page.h1_texts) == 1
        assert page.find_all("header")  # the site's base template
        assert not page.inline_script_text
        assert not [attrs for _, attrs in page.tags if "style" in attrs]
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_html_feature_page_escapes_the_entrys_text(client, db):
    entry = points().order_by("public_id").first()
    Entry.objects.filter(pk=entry.pk).update(title="<script>alert(1)</script>")
    for url, params in ((f"{ITEMS}/{entry.public_id}", {}), (ITEMS, {"limit": 1000})):
        html = client.get(url, {"f": "html", **params}).content.decode()
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_html_items_page_links_to_the_next_html_page(client, db):
    page = parse(client.get(ITEMS, {"f": "html", "limit": 5}))
    nxt = [a["href"] for a in page.find_all("a") if a.get("rel") == "next"]
    assert nxt and parse_qs(urlsplit(nxt[0]).query)["f"] == ["html"]
    assert len([a for a in page.find_all("a") if "/items/" in a.get("href", "")]) >= 5


def test_json_is_the_default_and_answers_vary_with_accept(client, db):
    for accept in ("*/*", "application/geo+json, application/json", "application/json"):
        response = client.get(ITEMS, headers={"Accept": accept})
        assert response["Content-Type"] == "application/geo+json", accept
        assert "Accept" in response["Vary"]


def test_public_answers_are_cacheable_and_revalidated(client, db):
    response = client.get(ITEMS, {"limit": 3})
    assert "public" in response["Cache-Control"]
    etag = response["ETag"]
    again = client.get(ITEMS, {"limit": 3}, headers={"If-None-Match": etag})
    assert again.status_code == 304


# --- GDAL's own client against a real server ----------------------------------------------

OGRINFO = shutil.which("ogrinfo")
needs_ogrinfo = pytest.mark.skipif(
    OGRINFO is None,
    reason="GDAL's ogrinfo is missing: `scripts/setup.sh --test` installs Debian's gdal-bin",
)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BBOX = (100.0, 0.0, 180.0, 60.0)

# Counts and a sample Huawei entry, read from the server's own database by `techmap shell`.
FACTS_SCRIPT = f"""
import json
from techmap.catalog.models import Entry
from techmap.catalog.queries import entries_in_bbox
points = Entry.objects.published().filter(latitude__isnull=False)
huawei = points.filter(companies__slug="huawei").order_by("public_id").first()
print(json.dumps({{
    "points": points.count(),
    "lines": Entry.objects.published().filter(line_geometry__isnull=False).count(),
    "in_bbox": entries_in_bbox(points, {BBOX!r}).count(),
    "huawei": {{"id": huawei.public_id, "title": huawei.title,
                "companies": "; ".join(c.name for c in huawei.companies.order_by("name"))}},
}}))
"""


@pytest.fixture(scope="module")
def gdal_site(tmp_path_factory):
    """A real `techmap serve` on a fresh SQLite database: the bundled dataset plus the test
    TeleGeography cables; yields (OAPIF dataset name, facts from its database)."""
    data_dir = tmp_path_factory.mktemp("ogc-data")
    env = {**os.environ, "TECHMAP_DATA_DIR": str(data_dir), "TECHMAP_DEBUG": "false"}
    env.pop("TECHMAP_DATABASE_URL", None)
    run = {"env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run([str(TECHMAP), "init"], **run)
    cables = os.path.join(REPO, "tests", "fixtures", "telegeography")
    subprocess.run(
        [str(TECHMAP), "import", cables, "--format", "telegeography", "--status", "published"],
        **run,
    )
    shell = subprocess.run([str(TECHMAP), "shell", "-c", FACTS_SCRIPT], **run)
    facts = json.loads(shell.stdout.strip().splitlines()[-1])  # after the shell's notices
    with techmap_server(env, data_dir, seconds=90) as url:
        yield f"OAPIF:{url}/ogc/", facts


def ogrinfo(*args) -> str:
    result = subprocess.run(
        [OGRINFO, "-ro", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout


def feature_ids(output: str) -> list[str]:
    return re.findall(r"^  id \(String\) = (.*)$", output, flags=re.M)


@needs_ogrinfo
def test_ogrinfo_lists_both_collections(gdal_site):
    dataset, _ = gdal_site
    output = ogrinfo("-so", dataset)
    assert re.search(r"^1: entries \(title: Entries\) \(Point\)$", output, re.M), output
    assert re.search(r"^2: cables \(title: Cables\) \(.*Line String\)$", output, re.M), output


@needs_ogrinfo
def test_ogrinfo_counts_the_published_points_and_types_their_attributes(gdal_site):
    dataset, facts = gdal_site
    summary = ogrinfo("-so", dataset, "entries")
    assert f"Feature Count: {facts['points']}" in summary
    for line in ("title: String", "year_started: Integer", "year_ended: Integer"):
        assert line in summary
    everything = ogrinfo("-al", "-q", dataset, "entries")
    assert len(feature_ids(everything)) == facts["points"]
    huawei = facts["huawei"]
    block = everything.split(f"  id (String) = {huawei['id']}\n", 1)[1].split("OGRFeature", 1)[0]
    assert f"  title (String) = {huawei['title']}\n" in block
    assert f"  companies (String) = {huawei['companies']}\n" in block
    assert "POINT (" in block


@needs_ogrinfo
def test_ogrinfo_pages_through_small_pages(gdal_site):
    dataset, facts = gdal_site
    assert facts["points"] > 5  # otherwise one page would hold them all
    ids = feature_ids(ogrinfo("-al", "-q", "-oo", "PAGE_SIZE=5", dataset, "entries"))
    assert len(ids) == len(set(ids)) == facts["points"]


@needs_ogrinfo
def test_ogrinfo_spatial_filter_is_answered_by_the_bbox_parameter(gdal_site):
    dataset, facts = gdal_site
    assert 0 < facts["in_bbox"] < facts["points"]
    output = ogrinfo("-al", "-q", "-spat", *map(str, BBOX), dataset, "entries")
    assert len(feature_ids(output)) == facts["in_bbox"]


@needs_ogrinfo
def test_ogrinfo_reads_the_cables_as_lines(gdal_site):
    dataset, facts = gdal_site
    assert facts["lines"] > 0
    output = ogrinfo("-al", "-q", dataset, "cables")
    assert len(feature_ids(output)) == facts["lines"]
    assert output.count("LINESTRING (") == facts["lines"]
