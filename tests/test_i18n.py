"""English and Simplified Chinese: the language switch, caching per language, complete
translations, Chinese names and search by Chinese names.

The completeness tests use GNU gettext (installed by scripts/setup.sh), as
`techmap makemessages` does.
"""

import gettext
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from techmap.catalog import names
from techmap.catalog.models import Category, Company, Entry, Topic
from techmap.catalog.queries import filter_entries, parse_filters
from techmap.web import caching

REPO = Path(__file__).resolve().parent.parent
LOCALE = REPO / "techmap" / "locale"
ZH_DIR = LOCALE / "zh_Hans" / "LC_MESSAGES"
DATA_FILES = sorted((REPO / "techmap" / "catalog" / "data").glob("*.yaml"))
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def settled(bundled):
    caching.forget_data_version()
    yield
    caching.forget_data_version()


def _gettext_tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} (GNU gettext) is missing: run scripts/setup.sh"
    return path


# --- the switch and the negotiation ---------------------------------------------------------


def test_every_page_header_has_a_language_switch_that_needs_no_script(client, bundled):
    page = client.get("/entries/").content.decode()
    form = re.search(r'<form class="language-switch"[^>]*>.*?</form>', page, re.S).group(0)
    assert 'action="/i18n/setlang/"' in form and 'method="post"' in form
    assert 'name="language" value="zh-hans"' in form and 'value="en"' in form
    assert "<script" not in form and "csrfmiddlewaretoken" not in form


def test_switching_to_chinese_sets_the_cookie_and_returns_to_the_page(client, bundled):
    response = client.post(
        "/i18n/setlang/",
        {"language": "zh-hans"},
        headers={"referer": "http://testserver/entries/?country=ZW", "accept": "text/html"},
    )
    assert response.status_code == 302
    assert response["Location"] == "http://testserver/entries/?country=ZW"
    assert response.cookies["django_language"].value == "zh-hans"
    page = client.get("/entries/?country=ZW")
    assert page["Content-Language"] == "zh-hans"
    assert '<html lang="zh-Hans">' in page.content.decode()
    assert "<h1>条目</h1>" in page.content.decode()
    client.post("/i18n/setlang/", {"language": "en"})
    assert "<h1>Entries</h1>" in client.get("/entries/").content.decode()


def test_the_switch_never_redirects_to_another_site(client, bundled):
    response = client.post(
        "/i18n/setlang/", {"language": "zh-hans"}, headers={"referer": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_browser_language_chooses_chinese_and_english_stays_the_default(client, bundled):
    assert "<h1>统计</h1>" in client.get("/stats/", **ZH).content.decode()
    assert "<h1>Statistics</h1>" in client.get("/stats/").content.decode()
    assert (
        "<h1>Statistics</h1>" in client.get("/stats/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    )


def test_pages_vary_on_the_language_and_their_etags_differ(client, settled):
    english, chinese = client.get("/entries/", **EN), client.get("/entries/", **ZH)
    for response in (english, chinese):
        vary = {v.strip() for v in response["Vary"].split(",")}
        assert {"Accept-Language", "Cookie"} <= vary
        assert "public" in response["Cache-Control"]
    assert english["ETag"] != chinese["ETag"]
    # A browser that switched language never gets the other language's copy as a 304.
    assert client.get("/entries/", HTTP_IF_NONE_MATCH=english["ETag"], **ZH).status_code == 200
    assert client.get("/entries/", HTTP_IF_NONE_MATCH=chinese["ETag"], **ZH).status_code == 304


def test_the_javascript_catalog_is_served_from_our_origin_per_language(client, settled):
    chinese = client.get("/jsi18n/", **ZH)
    assert chinese.status_code == 200 and "javascript" in chinese["Content-Type"]
    escaped = "无法加载此条目".encode("unicode_escape").decode()  # JSON escapes non-ASCII
    assert escaped in chinese.content.decode()
    assert "Cookie" in chinese["Vary"]
    assert escaped not in client.get("/jsi18n/", **EN).content.decode()
    assert '<script src="/jsi18n/"></script>' in client.get("/").content.decode()


# --- the translations are complete and compiled -------------------------------------------------


def test_every_marked_string_has_a_chinese_translation(tmp_path):
    """makemessages over a copy of the code: no msgid may be new, untranslated or fuzzy."""
    _gettext_tool("xgettext")
    copy = tmp_path / "techmap"
    shutil.copytree(
        REPO / "techmap", copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "vendor")
    )
    with override_settings(LOCALE_PATHS=[copy / "locale"]), translation.override(None):
        cwd = Path.cwd()
        try:
            import os

            os.chdir(copy)
            for domain in ("django", "djangojs"):
                call_command(
                    "makemessages", locale=["zh_Hans"], domain=domain, no_obsolete=True, verbosity=0
                )
        finally:
            os.chdir(cwd)
    msgattrib = _gettext_tool("msgattrib")
    for domain in ("django", "djangojs"):
        po = copy / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"
        for option in ("--untranslated", "--only-fuzzy"):
            out = subprocess.run(
                [msgattrib, option, "--no-wrap", str(po)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            missing = [m for m in re.findall(r'^msgid "(.+)"$', out, re.M)]
            assert not missing, (
                f"{domain}.po {option}: translate these in techmap/locale/zh_Hans "
                f"(techmap makemessages, README.md): {missing}"
            )


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_compiled_catalogues_match_the_po_files(tmp_path, domain):
    msgfmt = _gettext_tool("msgfmt")
    fresh = tmp_path / f"{domain}.mo"
    subprocess.run([msgfmt, "--check", "-o", str(fresh), str(ZH_DIR / f"{domain}.po")], check=True)
    compiled = ZH_DIR / f"{domain}.mo"
    assert compiled.exists(), "run scripts/setup.sh (techmap compilemessages)"
    with fresh.open("rb") as a, compiled.open("rb") as b:
        assert gettext.GNUTranslations(a)._catalog == gettext.GNUTranslations(b)._catalog, (
            f"{compiled} is older than its .po: run scripts/setup.sh (techmap compilemessages)"
        )


def _ui_phrases() -> dict[str, str]:
    """Plain interface texts of our catalogue (msgid -> msgstr) that differ in Chinese."""
    with (ZH_DIR / "django.mo").open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    data = "\n".join(p.read_text(encoding="utf-8") for p in DATA_FILES)
    phrases = {}
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or not msgid or msgid == msgstr:
            continue
        msgid = msgid.split("\x04")[-1]  # drop a context
        if re.search(r"[%<{&]", msgid) or len(msgid) < 4 or msgid in data:
            continue  # placeholders and markup, tiny words, words the data also use
        phrases[msgid] = msgstr
    return phrases


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    attrs = " ".join(re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', page))
    return html.unescape(re.sub(r"<[^>]+>", " ", page) + " " + attrs)


MAIN_PAGES = [
    "/",
    "/entries/",
    "/companies/",
    "/companies/huawei/",
    "/countries/",
    "/countries/zw/",
    "/stats/",
    "/data/",
    "/about/",
    "/submit/",
    "/releases/",
]


def test_the_main_pages_read_in_chinese_without_english_interface_text(client, bundled):
    entry = Entry.objects.published().order_by("public_id").first()
    phrases = _ui_phrases()
    assert len(phrases) > 150  # the catalogue is loaded: the test can fail
    for path in [*MAIN_PAGES, entry.get_absolute_url()]:
        response = client.get(path, **ZH)
        assert response.status_code == 200, path
        text = _visible_text(response.content.decode())
        left = sorted(p for p in phrases if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text))
        assert not left, f"{path} shows English interface text in Chinese: {left}"
        assert re.search(r"[\u4e00-\u9fff]", text)


def test_an_english_interface_text_left_untranslated_is_found(client, bundled):
    """The check above works: the English page shows the phrases it looks for."""
    phrases = _ui_phrases()
    text = _visible_text(client.get("/stats/", **EN).content.decode())
    assert [p for p in phrases if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text)]


# --- Chinese names ------------------------------------------------------------------------


def test_country_names_in_chinese_come_from_pycountry():
    assert names.country_name_zh("ZW") == "津巴布韦"
    assert names.country_name_zh("GB") == "英国"
    assert names.country_name_zh("XX") == ""
    with translation.override("zh-hans"):
        assert names.country_name("ZW", "Zimbabwe") == "津巴布韦"
    with translation.override("en"):
        assert names.country_name("ZW", "Zimbabwe") == "Zimbabwe"


def test_the_bundled_companies_carry_their_chinese_names(bundled):
    chinese = dict(Company.objects.values_list("slug", "name_zh"))
    assert chinese["huawei"] == "华为" and chinese["zte"] == "中兴通讯"
    assert chinese["tencent"] == "腾讯" and chinese["hikvision"] == "海康威视"
    assert sum(1 for name in chinese.values() if name) == 11  # Wuxi's is not known


def test_chinese_pages_show_chinese_names_and_english_beside_them(client, bundled):
    country = client.get("/countries/zw/", **ZH).content.decode()
    assert re.search(r"<h1>津巴布韦 <span[^>]*lang=\"en\"[^>]*>Zimbabwe</span></h1>", country)
    english = client.get("/countries/zw/", **EN).content.decode()
    assert re.search(r"<h1>Zimbabwe <span[^>]*lang=\"zh-Hans\"[^>]*>津巴布韦</span></h1>", english)
    assert "华为 (Huawei)" in client.get("/", **ZH).content.decode()
    assert "津巴布韦" in client.get("/", **ZH).content.decode()
    assert "华为 (Huawei)" in client.get("/companies/huawei/", **ZH).content.decode()


def test_sources_show_their_language(client, bundled):
    entry = Entry.objects.published().filter(entry_sources__source__language="zh").first()
    assert entry is not None
    assert "(in Chinese)" in client.get(entry.get_absolute_url()).content.decode()
    # In Chinese, the English sources are marked instead.
    assert "（英语）" in client.get(entry.get_absolute_url(), **ZH).content.decode()


# --- category and topic names (data with a Chinese name) ------------------------------------


def _shown(text: str, name: str) -> bool:
    return bool(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text))


def _taxonomy_names(categories_only=False) -> list[tuple[str, str]]:
    """(English, Chinese) names of the bundled categories (and topics) that differ."""
    rows = list(Category.objects.values_list("name", "name_zh"))
    if not categories_only:
        rows += list(Topic.objects.values_list("name", "name_zh"))
    return [(en, zh) for en, zh in rows if zh and zh != en]


@pytest.mark.parametrize("path", ["/", "/stats/", "/data/"])
def test_category_and_topic_names_read_in_chinese_on_the_map_and_stats(client, bundled, path):
    names_shown = _taxonomy_names(categories_only=path != "/")
    assert len(names_shown) >= 19  # every bundled category has a Chinese name
    chinese = _visible_text(client.get(path, **ZH).content.decode())
    english = _visible_text(client.get(path, **EN).content.decode())
    # The map's filters (and legend data) name every category and topic; the statistics
    # name the categories that have entries, which the English page shows.
    expected = [(en, zh) for en, zh in names_shown if path == "/" or _shown(english, en)]
    assert len(expected) >= 10  # the English page shows them: this test can fail
    assert [en for en, _ in expected if _shown(chinese, en)] == []
    assert [zh for _, zh in expected if zh not in chinese] == []


def test_the_map_legend_data_names_categories_in_the_page_language(client, bundled):
    def legend(headers):
        page = client.get("/", **headers).content.decode()
        config = re.search(r'<script id="map-config" type="application/json">(.*?)</script>',
                           page, re.S)
        return {c["slug"]: c["name"] for c in json.loads(config.group(1))["categories"]}

    assert legend(ZH)["5g-relationship"] == "5G 合作关系"
    assert legend(EN)["5g-relationship"] == "5G relationship"


def test_entry_company_country_list_and_submit_pages_name_categories_in_chinese(client, bundled):
    entry = Entry.objects.published().filter(topics__isnull=False).order_by("public_id").first()
    page = client.get(entry.get_absolute_url(), **ZH).content.decode()
    assert f">{entry.category.name_zh}</a>" in page
    assert all(f">{t.name_zh}</a>" in page for t in entry.topics.all())
    huawei = client.get("/companies/huawei/", **ZH).content.decode()
    assert ">智慧城市/公共安全项目<" in huawei
    assert ">Smart City-Public Security project<" not in huawei
    zimbabwe = client.get("/countries/zw/", **ZH).content.decode()
    assert "智慧城市/公共安全项目" in zimbabwe
    listing = client.get("/entries/?country=ZW", **ZH).content.decode()
    assert "<td>智慧城市/公共安全项目</td>" in listing
    assert '<option value="5g-relationship">5G 合作关系</option>' in listing
    submit = client.get("/submit/", **ZH).content.decode()
    assert '<option value="5g-relationship">5G 合作关系</option>' in submit
    stats = client.get("/stats/", **ZH).content.decode()
    assert re.search(r"<li>大学与研究合作：3 项，分布于 \d+ 个国家。</li>", stats)  # plural_zh


# --- search by Chinese or English names -----------------------------------------------------


def _ids(**params) -> set[str]:
    return set(filter_entries(parse_filters(params)).values_list("public_id", flat=True))


def test_searching_a_chinese_company_name_finds_its_entries(bundled):
    huawei = _ids(company="huawei")
    assert huawei and _ids(q="华为") == huawei == _ids(q="Huawei") | huawei


def test_searching_a_chinese_country_name_finds_the_entries_in_that_country(bundled):
    zimbabwe = _ids(country="ZW")
    assert zimbabwe and _ids(q="津巴布韦") == zimbabwe


def test_searching_a_chinese_city_name_finds_the_entries_in_that_city(bundled):
    sydney = set(
        Entry.objects.published()
        .filter(city="Sydney", country__iso2="AU")
        .values_list("public_id", flat=True)
    )
    assert sydney and _ids(q="悉尼") == sydney


def test_search_words_combine_and_unknown_chinese_names_find_nothing(bundled):
    assert _ids(q="华为 津巴布韦") == _ids(company="huawei", country="ZW")
    assert _ids(q="不存在的名字") == set()


def test_search_by_chinese_name_on_the_pages_and_api(client, bundled):
    count = len(_ids(country="ZW"))
    assert client.get("/api/entries", {"q": "津巴布韦"}).json()["count"] == count
    page = client.get("/entries/", {"q": "津巴布韦"}).content.decode()
    assert f"<strong>{count}</strong> entries" in page
