"""The embed snippet as a new user would use it: copied from the map's share menu, pasted
into a plain HTML page served from another local port, and opened in Chromium.

A real `techmap serve` on a temporary database, Debian's Chromium through Playwright, and a
small standard-library HTTP server for the "other site". Run alone with: pytest -m browser
"""

import json
import re
import threading
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.servers import bundled_server, chromium_browser, free_port

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
READY = "body[data-map-ready='true']"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    with bundled_server(tmp_path_factory.mktemp("embed-data")) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.console_messages = []
    page.on("console", lambda m: page.console_messages.append((m.type, m.text)))
    page.on("pageerror", lambda e: page.console_messages.append(("pageerror", str(e))))
    yield page
    context.close()


@contextmanager
def other_site(html: str):
    """Serve one HTML page at http://127.0.0.1:<another port>/ (a different origin)."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def api(base_url: str, path: str) -> dict:
    with urllib.request.urlopen(f"{base_url}{path}") as response:
        return json.load(response)


def located_entry(base_url: str) -> dict:
    """A published entry with a point and a company, from the running server's API."""
    entries = api(base_url, "/api/entries?limit=200")["results"]
    return next(e for e in entries if e.get("latitude") is not None and e.get("companies"))


def test_share_menu_snippet_shows_the_chosen_view_on_another_site(page, server_url):
    entry = located_entry(server_url)
    company = entry["companies"][0]["slug"]
    expected_count = api(server_url, f"/api/facets?company={company}")["total"]

    # 1. On the full map, choose a view and copy the snippet from the share menu.
    page.goto(f"{server_url}/?company={company}&entry={entry['id']}#map=3.00/10.0000/20.0000")
    page.wait_for_selector(READY, state="attached")
    page.click("#share-menu summary")
    snippet = page.input_value("#share-embed")
    assert snippet.startswith("<iframe ") and snippet.endswith("></iframe>")
    for attribute in ('loading="lazy"', 'referrerpolicy="', 'title="', 'width="', 'height="'):
        assert attribute in snippet
    assert page.input_value("#share-link") == page.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server_url)
    page.click("[data-copy='share-embed']")
    expect(page.locator("#share-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("() => navigator.clipboard.readText()") == snippet

    # The snippet follows the view: a filter change is in it at once.
    category = page.locator("[data-facet='category'] input").first
    category.check()
    category_slug = category.get_attribute("value")
    expect(page.locator("#share-embed")).to_have_value(
        re.compile(re.escape(f"category={category_slug}"))
    )
    category.uncheck()
    expect(page.locator("#share-embed")).not_to_have_value(re.compile("category="))
    snippet = page.input_value("#share-embed")

    src = snippet.split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    parts = urlsplit(src)
    assert f"{parts.scheme}://{parts.netloc}" == server_url and parts.path == "/embed/"
    assert parse_qs(parts.query) == {"company": [company], "entry": [entry["id"]]}
    assert parts.fragment.startswith("map=")

    # 2. Paste it into a plain page of another site, next to a frame of a normal page.
    host_html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Another site</title></head>"
        f"<body><h1>Another site</h1>{snippet.replace('<iframe ', '<iframe id=embedded ', 1)}"
        f"<iframe id=plain src='{server_url}/entries/' width=600 height=300"
        " title='The list page'></iframe></body></html>"
    )
    with other_site(host_html) as site_url:
        assert urlsplit(site_url).port != urlsplit(server_url).port
        page.goto(site_url)
        frame = page.frame_locator("#embedded")
        frame.locator(READY).wait_for(state="attached")

        # The framed map shows the chosen view: filter applied, entry panel open.
        expect(frame.locator("#match-count")).to_contain_text(f"{expected_count:,}")
        assert frame.locator(f"input[name='company'][value='{company}']").is_checked()
        expect(frame.locator("#detail")).to_be_visible()
        expect(frame.locator("#detail-title")).to_have_text(entry["title"])
        expect(frame.locator(".site-header")).to_have_count(0)

        # The attribution link opens the same view on the full site, in a new tab.
        full = frame.locator("#embed-full-link")
        expect(full).to_have_text("techmap / full view")
        assert full.get_attribute("target") == "_blank"
        assert "noopener" in full.get_attribute("rel")
        full_url = urlsplit(full.get_attribute("href"))
        assert full_url.path == "/" and parse_qs(full_url.query) == parse_qs(parts.query)
        assert full_url.fragment.startswith("map=")
        expect(frame.locator(".embed-bar__data")).to_contain_text("Natural Earth")

        # The compact filter toggle opens the filters over the map.
        expect(frame.locator("#filter-panel")).to_be_hidden()
        frame.locator("#embed-filters-toggle").click()
        expect(frame.locator("#filter-panel")).to_be_visible()

        # The normal page refuses to be framed: Chromium shows its error page instead.
        frames = [f.url for f in page.frames]
        (embedded,) = [url for url in frames if url.startswith(f"{server_url}/embed/?")]
        assert urlsplit(embedded).fragment == parts.fragment  # the same map position
        assert not any(url.startswith(f"{server_url}/entries/") for url in frames)
        assert any(url.startswith("chrome-error://") for url in frames)
        expect(page.frame_locator("#plain").locator("table, .entries-table")).to_have_count(0)
        refusals = [t for _, t in page.console_messages if "frame-ancestors 'none'" in t]
        assert any(server_url in t for t in refusals), page.console_messages
        assert not [t for _, t in page.console_messages if "/embed/" in t and "Refused" in t]
        errors = [t for kind, t in page.console_messages if kind == "pageerror"]
        assert errors == []
