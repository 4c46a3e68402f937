"""techmap publish-static: the public site as static files, served by a plain file server.

The site is published from the test database holding the bundled dataset; expected values
come from the application's own API (Django's test client), never from the dataset's size.
The browser tests serve the output with `python -m http.server` and drive Chromium.
"""

import hashlib
import html
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import CommandError, call_command

from techmap.catalog import synth
from techmap.catalog.models import Entry
from techmap.publishing.links import LinkPlan, output_path
from techmap.publishing.publish import MARKER, PublishError, publish_static
from tests.servers import TECHMAP, chromium_browser, free_port, techmap_server

expect = pytest.importorskip("playwright.sync_api").expect

BASE_URL = "http://techmap.example.org"
# Low enough that the bundled dataset is clustered at the world view, so the browser test
# sees the client-side clusters too; the live API is asked with the same limit.
POINT_LIMIT = 8
LINK = re.compile(r'\s(?:href|src|action|data-[a-z-]+-url|data-static-api)="([^"]*)"')


def publish(outdir: Path, **options) -> None:
    call_command("publish-static", str(outdir), "--base-url", BASE_URL, **options)


def live_answers(base_url: str) -> dict:
    """The live API's answers the tests compare the static copy with."""

    def get(path):
        with urllib.request.urlopen(f"{base_url}{path}") as response:
            return json.load(response)

    facets = get("/api/facets")
    company = next(c for c in facets["company"] if 0 < c["count"] < facets["total"])["slug"]
    category = next(c for c in facets["category"] if c["count"])["slug"]
    world = "bbox=-180,-90,180,90"
    paths = [
        "/api/facets",
        f"/api/facets?company={company}",
        f"/api/facets?category={category}&year_from=2015",
        "/api/facets?q=university",
        "/api/entries?limit=5&offset=2",
        f"/api/entries?company={company}",
        f"/api/map?{world}&zoom=0",
        f"/api/map?{world}&zoom=3",
        "/api/map?bbox=100,-50,-100,50&zoom=2",
        f"/api/map?{world}&zoom=1&company={company}",
    ]
    ids = sorted(e["id"] for e in get("/api/entries?limit=1000")["results"])
    answers = {path: get(path) for path in [*paths, "/api/companies", f"/api/entries/{ids[0]}"]}
    return {"company": company, "compared": paths, "ids": ids, "answers": answers}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The bundled dataset in a fresh SQLite database, published by the real `techmap`
    command, and the answers of the same database served live.

    Its own database (as in test_browser.py): Playwright's event loop forbids database
    access in the browser tests, and they must not depend on the test database's state.
    """
    data_dir = tmp_path_factory.mktemp("static-data")
    outdir = tmp_path_factory.mktemp("static") / "site"
    env = {
        **os.environ,
        "TECHMAP_DATA_DIR": str(data_dir),
        "TECHMAP_DEBUG": "false",
        "TECHMAP_MAP_POINT_LIMIT": str(POINT_LIMIT),
    }
    env.pop("TECHMAP_DATABASE_URL", None)
    subprocess.run([str(TECHMAP), "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [str(TECHMAP), "publish-static", str(outdir), "--base-url", BASE_URL],
        env=env,
        check=True,
        capture_output=True,
    )
    with techmap_server(env, data_dir) as url:
        live = live_answers(url)
    return {"dir": outdir, "ids": live["ids"], "api": live["answers"], "live": live}


def files_of(outdir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(outdir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(outdir.rglob("*"))
        if p.is_file()
    }


def resolves(outdir: Path, url: str) -> bool:
    """Whether a static file server answers url (a same-origin path) with a file."""
    path = urlsplit(url).path
    target = outdir / path.lstrip("/")
    return (target / "index.html").is_file() if path.endswith("/") else target.is_file()


# --- the files -------------------------------------------------------------------------------


def test_every_public_page_api_answer_and_download_is_written(site):
    outdir = site["dir"]
    expected = [
        "index.html",
        "entries/index.html",
        "companies/index.html",
        "countries/index.html",
        "stats/index.html",
        "data/index.html",
        "about/index.html",
        "releases/index.html",
        "submit/index.html",
        "404.html",
        "api/static-data.json",
        "api/facets.json",
        "api/stats.json",
        "api/entries.geojson",
        "api/openapi.json",
        "download/entries.csv",
        "download/entries.xlsx",
        "download/entries.geojson",
        "download/datapackage.zip",
    ]
    expected += [f"entries/{i}/index.html" for i in site["ids"]]
    expected += [f"api/entries/{i}.json" for i in site["ids"]]
    expected += [f"companies/{c['slug']}/index.html" for c in site["api"]["/api/companies"]]
    expected += [
        f"countries/{c['iso2'].lower()}/index.html" for c in site["api"]["/api/facets"]["country"]
    ]
    missing = [name for name in expected if not (outdir / name).is_file()]
    assert missing == []


def test_the_downloads_hold_every_published_entry(site):
    geojson = json.loads((site["dir"] / "download/entries.geojson").read_text())
    assert sorted(f["id"] for f in geojson["features"]) == site["ids"]
    lines = (site["dir"] / "download/entries.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(site["ids"]) + 1


def test_no_page_links_to_a_file_that_is_not_there(site):
    outdir = site["dir"]
    broken = []
    pages = list(outdir.rglob("*.html"))
    assert len(pages) > len(site["ids"])
    for page in pages:
        page_url = "/" + str(page.relative_to(outdir)).removesuffix("index.html")
        for value in LINK.findall(page.read_text(encoding="utf-8")):
            url = html.unescape(value)
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith("#"):
                continue
            if not resolves(outdir, urljoin(page_url, url)):
                broken.append(f"{page_url} → {url}")
    assert broken == []


def test_pages_that_need_a_server_are_not_linked(site):
    for page in site["dir"].rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for value in LINK.findall(text):
            path = urlsplit(html.unescape(value)).path
            assert not path.startswith(("/review/", "/admin/", "/i18n/")), (page, value)
            if path == "/entries/":
                assert "?" not in value, (page, value)  # a filtered list needs a server


def test_the_map_page_says_where_its_data_is(site):
    text = (site["dir"] / "index.html").read_text(encoding="utf-8")
    assert 'data-static-api="/api/static-data.json"' in text
    assert re.search(r'<script src="/static/web/static-api\.[0-9a-f]{12}\.js">', text)
    assert "<script>" not in text  # strict CSP: no inline script


def test_static_data_holds_each_published_entry_once(site):
    data = json.loads((site["dir"] / "api/static-data.json").read_text())
    assert [e["id"] for e in data["entries"]] == site["ids"]
    assert data["point_limit"] == POINT_LIMIT


def test_only_hashed_static_files_the_pages_use_are_written(site):
    static = [p.name for p in (site["dir"] / "static").rglob("*") if p.is_file()]
    assert static
    assert all(re.search(r"\.[0-9a-f]{12}\.", name) for name in static), static
    assert not any(name.endswith(".map") or "-dev." in name for name in static)


# --- link plan ---------------------------------------------------------------------------------


def test_addresses_of_the_static_copy():
    assert output_path("/") == "index.html"
    assert output_path("/entries/abc/") == "entries/abc/index.html"
    assert output_path("/api/entries/abc") == "api/entries/abc.json"
    assert output_path("/api/entries.geojson") == "api/entries.geojson"
    assert output_path("/entries/?page=3") == "entries/page/3/index.html"
    assert output_path("/download/entries.csv") == "download/entries.csv"


def test_links_that_need_a_server_go_where_the_same_works_without_one():
    plan = LinkPlan(list_pages=2)
    assert plan.target("/entries/?category=rd-lab") == "/?category=rd-lab&view=list"
    assert plan.target("/entries/?page=2") == "/entries/page/2/"
    assert plan.target("/entries/?page=3") == "/?view=list"
    assert plan.target("/stats/?company=huawei") == "/stats/"
    assert plan.target("/?company=huawei") == "/?company=huawei"
    assert plan.target("/api/stats?company=huawei") == "/api/stats.json"
    assert plan.target("/submit/") == "/submit/"
    assert plan.target("/entries/", "action") == "/"
    live = LinkPlan(list_pages=1, live_url="https://live.example.org")
    assert live.target("/submit/") == "https://live.example.org/submit/"


def test_rewriting_keeps_other_sites_and_fragments():
    plan = LinkPlan(list_pages=1)
    page = (
        '<a href="https://example.org/x?a=1&amp;b=2">x</a><a href="#top">t</a>'
        '<a href="?page=2">next</a><a href="/entries/?company=a&amp;topic=b">l</a>'
    )
    assert plan.rewrite("/entries/", page) == (
        '<a href="https://example.org/x?a=1&amp;b=2">x</a><a href="#top">t</a>'
        '<a href="/?view=list">next</a><a href="/?company=a&amp;topic=b&amp;view=list">l</a>'
    )


# --- synthetic entries, atomicity, idempotency -------------------------------------------------


def test_synthetic_entries_are_never_published_and_stay_in_the_database(bundled, tmp_path):
    synth.add_synthetic_entries(40, 11)
    synthetic = synth.synthetic_entries()
    assert synthetic.filter(status=Entry.Status.PUBLISHED).count() == 40
    result = publish_static(tmp_path / "site", base_url=BASE_URL)
    assert result.entries == Entry.objects.published().count() - 40
    for path in (tmp_path / "site").rglob("*"):
        assert "synthetic" not in path.name
        if path.suffix in (".html", ".json", ".csv", ".geojson"):
            text = path.read_text(encoding="utf-8")
            assert synth.SYNTHETIC_PREFIX not in text, path
            assert synth.SOURCE_TITLE not in text, path
    # Hidden only while publishing: the database is as before.
    assert synthetic.filter(status=Entry.Status.PUBLISHED).count() == 40


def test_publishing_twice_writes_the_same_files(bundled, tmp_path):
    outdir = tmp_path / "site"
    publish(outdir)
    first = files_of(outdir)
    publish(outdir)
    second = files_of(outdir)
    # Workbooks and zip archives record the time they were written; everything else is equal.
    stamped = (".xlsx", ".zip")
    assert first.keys() == second.keys()
    assert {k: v for k, v in first.items() if not k.endswith(stamped)} == {
        k: v for k, v in second.items() if not k.endswith(stamped)
    }
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no build folder left behind


def test_a_failure_half_way_leaves_the_previous_copy_untouched(bundled, tmp_path, monkeypatch):
    outdir = tmp_path / "site"
    publish(outdir)
    before = files_of(outdir)

    def broken(*args, **kwargs):
        raise RuntimeError("the about page broke")

    monkeypatch.setattr("techmap.web.reference.about_context", broken)
    # The next copy would differ: only an untouched folder proves nothing was swapped in.
    Entry.objects.published().filter(
        public_id=Entry.objects.published().order_by("public_id").values("public_id")[:1]
    ).update(title="Changed")
    with pytest.raises(RuntimeError, match="the about page broke"):
        publish(outdir)
    assert files_of(outdir) == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_folder_that_is_not_a_static_copy_is_never_replaced(bundled, tmp_path):
    outdir = tmp_path / "precious"
    outdir.mkdir()
    (outdir / "notes.txt").write_text("keep me")
    with pytest.raises(CommandError, match="does not hold a static site"):
        publish(outdir)
    assert [p.name for p in outdir.iterdir()] == ["notes.txt"]


def test_a_bad_base_url_is_refused_before_anything_is_written(bundled, tmp_path):
    with pytest.raises(PublishError, match="base-url"):
        publish_static(tmp_path / "site", base_url="techmap.example.org")
    assert list(tmp_path.iterdir()) == []


def test_dry_run_writes_nothing(bundled, tmp_path):
    publish(tmp_path / "site", dry_run=True)
    assert list(tmp_path.iterdir()) == []


def test_the_marker_file_is_written(site):
    assert (site["dir"] / MARKER).is_file()


# --- in a browser, from a plain static file server ---------------------------------------------


@pytest.fixture(scope="module")
def static_server(site):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            str(port),
            "--directory",
            str(site["dir"]),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def page(chromium, static_server):
    """A browser page recording errors, requests and failed responses."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.errors, page.requested, page.failed = [], [], []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.requested.append(r.url))
    page.on("response", lambda r: r.status >= 400 and page.failed.append(f"{r.status} {r.url}"))
    yield page
    context.close()


READY = "body[data-map-ready='true']"


def assert_clean(page, base: str):
    assert [u for u in page.requested if not u.startswith(f"{base}/")] == []
    assert page.failed == []
    assert page.errors == []


def rounded(value):
    """value with floats rounded to 5 decimals: cluster centres are averages computed by
    SQL on one side and JavaScript on the other, equal to about a metre."""
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def count_text(total: int) -> str:
    return f"{total} {'entry matches' if total == 1 else 'entries match'}"


@pytest.mark.browser
def test_the_static_map_draws_points_and_clusters_from_files(page, static_server, site):
    page.goto(f"{static_server}/")
    page.wait_for_selector(READY, state="attached")
    total = site["api"]["/api/facets"]["total"]
    assert page.locator("#match-count").text_content() == count_text(total)
    points = page.evaluate(
        "() => window.techmap.map.queryRenderedFeatures({layers: ['points']}).length"
    )
    clusters = page.locator("#map .cluster").count()
    assert points + clusters > 0
    assert any(u.endswith("/api/static-data.json") for u in page.requested)
    assert_clean(page, static_server)


@pytest.mark.browser
def test_the_static_api_answers_as_the_live_api_does(page, static_server, site):
    page.goto(f"{static_server}/")
    page.wait_for_selector(READY, state="attached")
    for path in site["live"]["compared"]:
        static = page.evaluate("(url) => window.techmapStaticApi.getJson(url)", path)
        live = dict(site["api"][path])
        if path.startswith("/api/entries"):
            # The live API links pages by absolute address, the static one by path.
            for key in ("next", "previous"):
                live[key] = live[key] and urlsplit(live[key]).query
                static[key] = static[key] and urlsplit(static[key]).query
        assert rounded(static) == rounded(live), path
    assert_clean(page, static_server)


@pytest.mark.browser
def test_a_company_filter_changes_the_counts_and_the_url(page, static_server, site):
    page.goto(f"{static_server}/")
    page.wait_for_selector(READY, state="attached")
    company = site["live"]["company"]
    page.locator(f"input[name='company'][value='{company}']").check()
    page.wait_for_url(re.compile(rf"\?(.*&)?company={re.escape(company)}(&|#|$)"))
    filtered = site["api"][f"/api/facets?company={company}"]
    assert filtered["total"] != site["api"]["/api/facets"]["total"]
    expect(page.locator("#match-count")).to_have_text(count_text(filtered["total"]))
    # The shared URL shows the same filter after a reload.
    page.reload()
    page.wait_for_selector(READY, state="attached")
    assert page.locator(f"input[name='company'][value='{company}']").is_checked()
    expect(page.locator("#match-count")).to_have_text(count_text(filtered["total"]))
    assert_clean(page, static_server)


@pytest.mark.browser
def test_entry_permalinks_open_the_entry(page, static_server, site):
    public_id = site["ids"][0]
    detail = site["api"][f"/api/entries/{public_id}"]
    page.goto(f"{static_server}/?entry={public_id}")
    page.wait_for_selector(READY, state="attached")
    expect(page.locator("#detail-title")).to_have_text(detail["title"])
    page.locator("#detail .detail__permalink").click()
    page.wait_for_url(f"{static_server}/entries/{public_id}/")
    expect(page.locator("h1")).to_have_text(detail["title"])
    assert_clean(page, static_server)


@pytest.mark.browser
def test_an_unknown_entry_permalink_says_so(page, static_server):
    page.goto(f"{static_server}/?entry=no-such-entry")
    page.wait_for_selector(READY, state="attached")
    expect(page.locator("#detail-title")).to_have_text("Entry not found")
    assert page.failed == [f"404 {static_server}/api/entries/no-such-entry.json"]
    assert len(page.errors) == 1 and "404" in page.errors[0]  # the browser logs the 404
    page.failed, page.errors = [], []
    assert_clean(page, static_server)


@pytest.mark.browser
def test_the_list_view_shows_the_entries(page, static_server, site):
    page.goto(f"{static_server}/?view=list")
    shown = min(len(site["ids"]), 50)
    page.wait_for_selector(f"#list-view[data-loaded='{shown}']", state="attached")
    assert page.locator("#list-body tr").count() == shown
    assert_clean(page, static_server)
