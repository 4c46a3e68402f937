"""The language switch in a real browser: Chromium against a real `techmap serve`.

Run alone with: pytest -m browser tests/test_i18n_browser.py
"""

import json
import re
import urllib.request

import pytest

from tests.servers import bundled_server, chromium_browser

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
READY = "body[data-map-ready='true']"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """A real `techmap serve` on a fresh SQLite database holding the bundled dataset."""
    with bundled_server(tmp_path_factory.mktemp("i18n-browser-data")) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def page(chromium):
    # An English-speaking browser: the page starts in English and changes only by the switch.
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()


def _facets(base_url: str, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    with urllib.request.urlopen(f"{base_url}/api/facets?{query}") as response:
        return json.load(response)


def test_the_switch_turns_the_map_page_into_chinese_and_back(page, server_url):
    page.goto(f"{server_url}/?country=ZW")
    page.wait_for_selector(READY)
    expect(page.locator("h1")).to_have_text("Overseas presence of China's tech giants")
    total = _facets(server_url, country="ZW")["total"]
    expect(page.locator("#match-count")).to_have_text(f"{total} entries match")

    page.locator(".language-switch button[value='zh-hans']").click()
    page.wait_for_selector(READY)
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    expect(page.locator("h1")).to_have_text("中国科技巨头的海外存在")
    # Back on the same view, its filter kept; headings, filters and map.js's texts in Chinese.
    assert re.search(r"[?&]country=ZW(&|#|$)", page.url)
    expect(page.locator("input[name='country'][value='ZW']")).to_be_checked()
    expect(page.locator(".facet summary").first).to_contain_text("公司")
    expect(page.locator("[data-facet='country'] .option__name")).to_contain_text(["津巴布韦"])
    expect(page.locator("label[for='f-q']")).to_have_text("搜索")
    expect(page.locator("#match-count")).to_have_text(f"匹配 {total} 条条目")
    expect(page.locator(".language-switch button[value='zh-hans']")).to_be_disabled()

    page.locator(".language-switch button[value='en']").click()
    page.wait_for_selector(READY)
    expect(page.locator("h1")).to_have_text("Overseas presence of China's tech giants")
    assert page.console_errors == []


def test_a_chinese_search_on_the_map_finds_the_entries(page, server_url):
    page.goto(f"{server_url}/")
    page.wait_for_selector(READY)
    page.locator(".language-switch button[value='zh-hans']").click()
    page.wait_for_selector(READY)
    page.locator("#f-q").fill("津巴布韦")
    page.locator("#f-q").press("Enter")
    total = _facets(server_url, country="ZW")["total"]
    expect(page.locator("#match-count")).to_have_text(f"匹配 {total} 条条目")
    assert page.console_errors == []


def _first_entry(base_url: str, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {**params, "limit": 1}.items())
    with urllib.request.urlopen(f"{base_url}/api/entries?{query}") as response:
        return json.load(response)["results"][0]


def test_the_entry_panel_list_and_legend_name_things_in_chinese(chromium, server_url):
    """The API gives name and name_zh; map.js shows the page's language."""
    entry = _first_entry(server_url, company="huawei", country="ZW")
    assert entry["country"]["name_zh"] == "津巴布韦" and entry["category"]["name_zh"]
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    host = server_url.split("//", 1)[1].split(":")[0]
    context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "domain": host, "path": "/"}]
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{server_url}/?entry={entry['id']}")
        page.wait_for_selector(READY)
        panel = page.locator("#detail-body .detail__meta")
        expect(panel).to_contain_text("华为 (Huawei)")
        expect(panel).to_contain_text("津巴布韦")
        expect(panel).to_contain_text(entry["category"]["name_zh"])
        expect(panel).not_to_contain_text("Zimbabwe")
        expect(panel).not_to_contain_text(entry["category"]["name"])
        # The legend names the categories in Chinese too.
        expect(page.locator("#legend-list")).to_contain_text(entry["category"]["name_zh"])

        page.goto(f"{server_url}/?company=huawei&country=ZW&view=list")
        page.wait_for_selector(READY)
        first_row = page.locator("#list-body tr").first
        expect(first_row).to_contain_text("津巴布韦")
        expect(first_row).to_contain_text("华为 (Huawei)")
        assert errors == []
    finally:
        context.close()
