"""The map page in a real browser: Debian's Chromium driven by Playwright against a real
`techmap serve` (gunicorn, DEBUG off, static files from whitenoise) on a temporary database.

Run alone with: pytest -m browser
Expected values come from the running server's API, never from the bundled dataset's size.
"""

import json
import re
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.servers import bundled_server, chromium_browser

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
READY = "body[data-map-ready='true']"


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory):
    """A real `techmap serve` on a fresh SQLite database holding the bundled dataset."""
    with bundled_server(tmp_path_factory.mktemp("browser-data")) as url:
        yield url


# Module scope: Playwright's sync API allows one running instance at a time, and other
# browser test modules start their own.
@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def map_page(chromium, live_server_url):
    """A fresh browser page that records console errors, page errors and every request."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.console_errors = []
    page.requested_urls = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.on("request", lambda r: page.requested_urls.append(r.url))
    yield page
    context.close()


def api(base_url: str, path: str, **params):
    query = urlencode(params, doseq=True)
    with urllib.request.urlopen(f"{base_url}{path}{'?' + query if query else ''}") as response:
        return json.load(response)


def open_map(page, url: str):
    page.goto(url)
    page.wait_for_selector(READY, state="attached")


def map_view(page) -> dict:
    return page.evaluate(
        "() => { const c = window.techmap.map.getCenter();"
        " return {lat: c.lat, lng: c.lng, zoom: window.techmap.map.getZoom()}; }"
    )


def clickable_points(page) -> list[dict]:
    """Rendered single points not hidden under an overlay, each alone at its pixel."""
    return page.evaluate(
        """() => {
          const map = window.techmap.map;
          const canvas = map.getCanvas();
          const box = canvas.getBoundingClientRect();
          const byPixel = new Map();
          for (const f of map.queryRenderedFeatures({layers: ['points']})) {
            const p = map.project(f.geometry.coordinates);
            const key = `${Math.round(p.x)},${Math.round(p.y)}`;
            const ids = byPixel.get(key) || new Map();
            const {id, title} = f.properties;
            ids.set(id, {id, title, x: p.x, y: p.y});
            byPixel.set(key, ids);
          }
          return [...byPixel.values()]
            .filter((ids) => ids.size === 1)
            .map((ids) => [...ids.values()][0])
            .filter((p) => p.x > 5 && p.y > 5 && p.x < box.width - 5 && p.y < box.height - 5)
            .filter((p) => document.elementFromPoint(box.left + p.x, box.top + p.y) === canvas);
        }"""
    )


def click_on_map(page, x: float, y: float):
    box = page.locator("#map canvas").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_map_loads_without_errors_or_requests_to_other_hosts(map_page, live_server_url):
    open_map(map_page, f"{live_server_url}/")
    facets = api(live_server_url, "/api/facets")
    expect(map_page.locator("#match-count")).to_contain_text(f"{facets['total']} entr")
    drawn = map_page.evaluate(
        "() => window.techmap.map.queryRenderedFeatures({layers: ['points']}).length"
        " + document.querySelectorAll('#map .cluster').length"
    )
    assert drawn > 0
    assert map_page.locator("#legend-list li").count() > 0
    assert map_page.locator("h1").count() == 1
    assert any("/api/map?" in u for u in map_page.requested_urls)
    foreign = [u for u in map_page.requested_urls if not u.startswith(f"{live_server_url}/")]
    assert foreign == []
    assert map_page.console_errors == []


def test_clicking_a_point_opens_its_detail(map_page, live_server_url):
    open_map(map_page, f"{live_server_url}/")
    points = clickable_points(map_page)
    assert points, "no single point is visible and clickable on the world view"
    point = points[0]
    click_on_map(map_page, point["x"], point["y"])
    detail = api(live_server_url, f"/api/entries/{point['id']}")
    expect(map_page.locator("#detail-title")).to_have_text(detail["title"])
    expect(map_page.locator("#detail-title")).to_be_focused()
    expect(map_page.locator("#detail .detail__permalink")).to_have_attribute(
        "href", f"/entries/{point['id']}/"
    )
    if detail["sources"]:
        assert map_page.locator("#detail .detail__sources li").count() == len(detail["sources"])
    map_page.wait_for_url(re.compile(rf"[?&]entry={re.escape(point['id'])}(&|#|$)"))
    map_page.keyboard.press("Escape")
    expect(map_page.locator("#detail")).to_be_hidden()
    assert "entry=" not in map_page.url
    assert map_page.console_errors == []


def _company_to_pick(base_url: str) -> dict:
    facets = api(base_url, "/api/facets")
    companies = [c for c in facets["company"] if c["count"] > 0]
    assert companies
    narrower = [c for c in companies if c["count"] < facets["total"]]
    return (narrower or companies)[0]


def _count_text(total: int) -> str:
    return f"{total} {'entry matches' if total == 1 else 'entries match'}"


def test_changing_a_filter_updates_counts_and_url(map_page, live_server_url):
    open_map(map_page, f"{live_server_url}/")
    company = _company_to_pick(live_server_url)
    map_page.locator(f"input[name='company'][value='{company['slug']}']").check()
    map_page.wait_for_url(re.compile(rf"\?(.*&)?company={re.escape(company['slug'])}(&|#|$)"))
    filtered = api(live_server_url, "/api/facets", company=company["slug"])
    expect(map_page.locator("#match-count")).to_have_text(_count_text(filtered["total"]))
    category = filtered["category"][0]
    option = map_page.locator(f"input[name='category'][value='{category['slug']}']")
    expect(option.locator("xpath=..").locator("[data-count]")).to_have_text(str(category["count"]))
    expect(map_page.locator("#list-page-link")).to_have_attribute(
        "href", f"/entries/?company={company['slug']}"
    )
    assert map_page.console_errors == []


def test_reloading_the_url_restores_filters_entry_and_view(map_page, live_server_url):
    open_map(map_page, f"{live_server_url}/")
    company = _company_to_pick(live_server_url)
    entry = api(live_server_url, "/api/entries", company=company["slug"], limit=1)["results"][0]
    map_page.locator(f"input[name='company'][value='{company['slug']}']").check()
    map_page.evaluate(f"() => window.techmap.selectEntry({json.dumps(entry['id'])})")
    expect(map_page.locator("#detail-title")).to_have_text(entry["title"])
    # A block body: returning the Map object would make Playwright serialise all of it.
    map_page.evaluate("() => { window.techmap.map.jumpTo({center: [31.5, -18.2], zoom: 4.5}); }")
    map_page.wait_for_url(re.compile(r"#map=4\.50/-18\.2000/31\.5000$"))
    shared = map_page.url
    query = parse_qs(urlsplit(shared).query)
    assert query["company"] == [company["slug"]]
    assert query["entry"] == [entry["id"]]

    map_page.reload()
    map_page.wait_for_selector(READY, state="attached")
    assert map_page.url == shared
    expect(map_page.locator(f"input[name='company'][value='{company['slug']}']")).to_be_checked()
    expect(map_page.locator("#detail-title")).to_have_text(entry["title"])
    filtered = api(live_server_url, "/api/facets", company=company["slug"])
    expect(map_page.locator("#match-count")).to_have_text(_count_text(filtered["total"]))
    view = map_view(map_page)
    assert view["zoom"] == pytest.approx(4.5, abs=0.01)
    assert view["lat"] == pytest.approx(-18.2, abs=0.001)
    assert view["lng"] == pytest.approx(31.5, abs=0.001)
    assert map_page.console_errors == []


def test_list_view_gives_keyboard_access_to_entries(map_page, live_server_url):
    open_map(map_page, f"{live_server_url}/")
    first = api(live_server_url, "/api/entries", limit=1)["results"][0]
    list_button = map_page.get_by_role("button", name="List")
    list_button.focus()
    map_page.keyboard.press("Enter")
    expect(list_button).to_have_attribute("aria-pressed", "true")
    first_link = map_page.locator("#list-body a.entry-link").first
    expect(first_link).to_have_text(first["title"])
    assert "view=list" in map_page.url
    for _ in range(15):
        map_page.keyboard.press("Tab")
        if map_page.evaluate("() => document.activeElement.classList.contains('entry-link')"):
            break
    else:
        pytest.fail("Tab never reached an entry in the list")
    title = map_page.evaluate("() => document.activeElement.textContent")
    map_page.keyboard.press("Enter")
    expect(map_page.locator("#detail-title")).to_have_text(title)
    expect(map_page.locator("#detail-title")).to_be_focused()
    map_page.keyboard.press("Escape")
    expect(map_page.locator("#detail")).to_be_hidden()
    assert map_page.evaluate("() => document.activeElement.textContent") == title
    assert map_page.console_errors == []


def _outline_feature_count(page) -> int:
    return page.evaluate(
        "() => window.techmap.map.getSource('countries').serialize().data.features.length"
    )


def test_first_view_draws_coarse_outlines_and_zooming_in_loads_detailed_ones(
    map_page, live_server_url
):
    open_map(map_page, f"{live_server_url}/")
    outlines = [u for u in map_page.requested_urls if "/world-atlas/" in u]
    assert [u.rsplit("/", 1)[1].split(".")[0] for u in outlines] == ["countries-110m"]
    coarse = _outline_feature_count(map_page)
    assert coarse > 100

    with map_page.expect_response(re.compile(r"world-atlas/countries-50m")) as detail:
        map_page.evaluate("() => window.techmap.map.jumpTo({center: [10, 50], zoom: 5})")
    assert detail.value.ok
    # The 1:50m file holds more countries and islands than the 1:110m one.
    map_page.wait_for_function(
        "(coarse) => window.techmap.map.getSource('countries')"
        ".serialize().data.features.length > coarse",
        arg=coarse,
    )
    assert map_page.console_errors == []
