"""Headline statistics: compute_stats on a controlled set, its sentences, `techmap stats`
with filters through the real entry point, /api/stats and the /stats/ page's bar charts."""

import json
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source, Topic
from techmap.catalog.queries import filter_entries, parse_filters
from techmap.catalog.stats import (
    category_plurals,
    category_sentence,
    compute_stats,
    count_data_points,
    stats_sentences,
)
from techmap.web import charts
from techmap.web.stats_views import stats_page
from tests.html_checks import parse

TECHMAP = Path(sys.executable).parent / "techmap"
STATS_KEYS = ["entries", "companies", "countries", "by_category", "by_company", "by_country",
              "by_region", "data_points"]


def make_entry(public_id, *, companies, category, country=None, sources, topics=(),
               status=Entry.Status.PUBLISHED, **fields):
    entry = Entry.objects.create(public_id=public_id, title=fields.pop("title", public_id),
                                 category=category, country=country, status=status, **fields)
    entry.companies.set(companies)
    entry.topics.set(topics)
    for position, source in enumerate(sources):
        EntrySource.objects.create(entry=entry, source=source, position=position)
    return entry


@pytest.fixture
def controlled(db):
    """Five published entries and a draft of two test companies the bundled data never uses."""
    alpha = Category.objects.create(slug="s-alpha", name="Alpha project", name_zh="甲类项目",
                                    plural="alpha projects", color="#123456")
    beta = Category.objects.create(slug="s-beta", name="Beta thing")
    acme = Company.objects.create(slug="s-acme", name="Stats Acme")
    bolt = Company.objects.create(slug="s-bolt", name="Stats Bolt")
    topic = Topic.objects.create(slug="s-topic", name="Stats topic")
    one = Source.objects.create(title="Source one", url="https://example.org/1")
    two = Source.objects.create(title="Source two")
    zw, no, se, fr = (Country.objects.get(iso2=c) for c in ("ZW", "NO", "SE", "FR"))
    make_entry(  # 22 data points: every field filled
        "s-full", companies=[acme], category=alpha, secondary_category=beta, country=zw,
        city="Harare", address="1 Test Road", latitude=-17.8, longitude=31.0,
        line_geometry={"type": "LineString", "coordinates": [[31.0, -17.8], [32.0, -18.0]]},
        partners=["University A", "Telco B"], financing_lender="Test Bank",
        financing_amount=Decimal("1000"), financing_currency="USD", year_started=2016,
        year_ended=2018, description="<p>Text.</p>", topics=[topic], sources=[one, two],
        external_refs={"chinatechmap_marker": "1", "cable_id": "c-9"},
    )
    # 6: title, category, country, two companies, one source
    make_entry("s-joint-oslo", companies=[acme, bolt], category=beta, country=no, sources=[one])
    # 6: title, category, country, year commenced, company, source
    make_entry("s-bolt-stockholm", companies=[bolt], category=alpha, country=se,
               year_started=2019, sources=[one])
    # 5: title, category, country, company, source
    make_entry("s-acme-bergen", companies=[acme], category=alpha, country=no, sources=[two])
    # 4: title, category, company, source (no country)
    make_entry("s-nowhere", companies=[acme], category=beta, sources=[one])
    make_entry("s-draft-paris", companies=[acme, bolt], category=alpha, country=fr,
               status=Entry.Status.DRAFT, sources=[one], city="Paris", partners=["X"])
    return {"alpha": alpha, "beta": beta, "acme": acme, "bolt": bolt}


def controlled_entries():
    return Entry.objects.published().filter(public_id__startswith="s-")


# --- compute_stats --------------------------------------------------------------------------


def test_compute_stats_keeps_the_documented_key_order(controlled):
    assert list(compute_stats(controlled_entries())) == STATS_KEYS


def test_compute_stats_counts_the_controlled_set_exactly(controlled):
    stats = compute_stats(controlled_entries())
    assert (stats["entries"], stats["companies"], stats["countries"]) == (5, 2, 3)
    assert stats["by_category"] == [
        {"slug": "s-alpha", "name": "Alpha project", "name_zh": "甲类项目", "entries": 3,
         "countries": 3},
        {"slug": "s-beta", "name": "Beta thing", "name_zh": "", "entries": 2, "countries": 1},
    ]
    assert stats["by_company"] == [
        {"slug": "s-acme", "name": "Stats Acme", "name_zh": "", "entries": 4, "countries": 2},
        {"slug": "s-bolt", "name": "Stats Bolt", "name_zh": "", "entries": 2, "countries": 2},
    ]


def test_by_country_counts_entries_and_distinct_companies_most_first(controlled):
    assert compute_stats(controlled_entries())["by_country"] == [
        {"iso2": "NO", "name": "Norway", "name_zh": "挪威", "region": "Europe", "entries": 2,
         "companies": 2},
        {"iso2": "SE", "name": "Sweden", "name_zh": "瑞典", "region": "Europe", "entries": 1,
         "companies": 1},
        {"iso2": "ZW", "name": "Zimbabwe", "name_zh": "津巴布韦", "region": "Africa", "entries": 1,
         "companies": 1},
    ]


def test_by_region_counts_entries_countries_and_subregions(controlled):
    assert compute_stats(controlled_entries())["by_region"] == [
        {"region": "Europe", "entries": 3, "countries": 2, "subregions": [
            {"subregion": "Northern Europe", "entries": 3, "countries": 2}]},
        {"region": "Africa", "entries": 1, "countries": 1, "subregions": [
            {"subregion": "Eastern Africa", "entries": 1, "countries": 1}]},
    ]


def test_data_points_count_each_non_empty_field_and_each_linked_item(controlled):
    assert compute_stats(controlled_entries())["data_points"] == 22 + 6 + 6 + 5 + 4


def test_data_points_of_one_full_entry(controlled):
    assert count_data_points(Entry.objects.filter(public_id="s-full")) == 22


def test_data_points_ignore_drafts_and_empty_json(controlled):
    Entry.objects.filter(public_id="s-nowhere").update(partners=[], external_refs={})
    assert count_data_points(controlled_entries()) == 43
    assert count_data_points(Entry.objects.none()) == 0


def test_stats_of_a_filter_count_only_matching_entries(controlled):
    stats = compute_stats(filter_entries(parse_filters({"company": "s-bolt"})))
    assert (stats["entries"], stats["companies"], stats["countries"]) == (2, 2, 2)
    assert [(r["iso2"], r["entries"], r["companies"]) for r in stats["by_country"]] == [
        ("NO", 1, 2), ("SE", 1, 1)]
    assert [(r["region"], r["entries"], r["countries"]) for r in stats["by_region"]] == [
        ("Europe", 2, 2)]
    assert stats["data_points"] == 12


def test_stats_of_a_year_filter(controlled):
    stats = compute_stats(filter_entries(parse_filters({"year_from": "2019"}),
                                         controlled_entries()))
    assert stats["entries"] == 1
    assert stats["by_country"][0]["iso2"] == "SE"


def test_stats_of_a_filter_matching_nothing_are_zero_and_empty(controlled):
    stats = compute_stats(filter_entries(parse_filters({"q": "no-such-word-anywhere"})))
    assert stats == {"entries": 0, "companies": 0, "countries": 0, "by_category": [],
                     "by_company": [], "by_country": [], "by_region": [], "data_points": 0}


def test_compute_stats_takes_a_fixed_number_of_queries(controlled, django_assert_max_num_queries):
    with django_assert_max_num_queries(13):
        compute_stats()


# --- sentences --------------------------------------------------------------------------------


def test_category_sentence_uses_the_plural_as_the_report_does():
    row = {"slug": "5g-relationship", "name": "5G relationship", "entries": 52, "countries": 34}
    assert category_sentence(row, {"5g-relationship": "5G initiatives"}) == (
        "52 5G initiatives across 34 countries.")
    assert category_sentence({**row, "entries": 1, "countries": 1}, {}) == (
        "1 5G relationship across 1 country.")


def test_category_sentence_in_chinese_uses_the_chinese_plural_or_name(db):
    Category.objects.create(slug="s-5g", name="Test 5G link", plural="test 5G links",
                            name_zh="5G 合作关系", plural_zh="5G 项目")
    Category.objects.create(slug="s-plain", name="Plain", name_zh="普通")
    Category.objects.create(slug="s-untranslated", name="Untranslated", plural="untranslateds")
    row = {"slug": "s-5g", "name": "Test 5G link", "name_zh": "5G 合作关系",
           "entries": 52, "countries": 34}
    with translation.override("zh-hans"):
        plurals = category_plurals()
        assert category_sentence(row, plurals) == "5G 项目：52 项，分布于 34 个国家。"
        assert category_sentence({**row, "slug": "s-plain", "name_zh": "普通"}, plurals) == (
            "普通：52 项，分布于 34 个国家。")
        untranslated = {**row, "slug": "s-untranslated", "name": "Untranslated", "name_zh": ""}
        assert category_sentence(untranslated, plurals).startswith("Untranslated：")
    with translation.override("en"):
        assert category_sentence(row, category_plurals()) == (
            "52 test 5G links across 34 countries.")


def test_stats_sentences_add_data_points_top_countries_and_regions(controlled):
    stats = compute_stats(controlled_entries())
    lines = stats_sentences(stats, {"s-alpha": "alpha projects"}, top_countries=2)
    assert lines[0] == "5 points of overseas presence for 2 companies across 3 countries."
    assert lines[1] == "43 data points."
    assert "3 alpha projects across 3 countries." in lines
    assert "Stats Acme: 4 entries in 2 countries." in lines
    assert "Countries with the most entries: Norway (2), Sweden (1)." in lines
    assert lines[-2:] == ["3 entries across 2 countries in Europe.",
                          "1 entry across 1 country in Africa."]


def test_stats_sentences_format_thousands():
    stats = {"entries": 1700, "companies": 12, "countries": 90, "data_points": 17123,
             "by_category": [], "by_company": [], "by_country": [], "by_region": []}
    assert stats_sentences(stats)[:2] == [
        "1,700 points of overseas presence for 12 companies across 90 countries.",
        "17,123 data points.",
    ]


# --- /api/stats -------------------------------------------------------------------------------


def test_api_stats_include_the_new_keys_for_a_filter(client, controlled):
    body = json.loads(client.get("/api/stats?company=s-bolt").content)
    assert list(body) == STATS_KEYS
    assert body == compute_stats(filter_entries(parse_filters({"company": "s-bolt"})))
    assert body["data_points"] == 12


# --- the /stats/ page ---------------------------------------------------------------------------


def svgs(response) -> list[dict]:
    return parse(response).find_all("svg")


def test_stats_page_answers_with_one_h1_and_an_svg_per_chart(client, controlled):
    response = client.get("/stats/")
    assert response.status_code == 200
    page = parse(response)
    assert len(page.h1_texts) == 1
    ids = [svg["id"] for svg in svgs(response)]
    assert ids == ["chart-category", "chart-company", "chart-country", "chart-region"]
    for svg in svgs(response):
        assert svg["role"] == "img" and svg["aria-label"].startswith("Bar chart:")
    assert len(page.find_all("table")) == 4  # a table alternative per chart
    assert not [attrs for _, attrs in page.tags if "style" in attrs]


def test_stats_page_reflects_the_filters(client, controlled):
    response = client.get("/stats/?company=s-bolt")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Company: <strong>Stats Bolt</strong>" in html
    assert "2 points of overseas presence for 2 companies across 2 countries." in html
    assert "12 data points." in html
    assert "1 Alpha project across 1 country." in html  # one: the name, not the plural
    assert 'href="/entries/?company=s-bolt"' in html and 'href="/api/stats?company=s-bolt"' in html
    rects = [r for r in parse(response).find_all("rect")]
    # category: alpha and beta; company: both; country: NO and SE; region: Europe
    assert len(rects) == 2 + 2 + 2 + 1


def test_stats_page_draws_bars_proportional_to_the_counts(client, controlled):
    page = parse(client.get("/stats/?company=s-acme"))
    widths = [float(r["width"]) for r in page.find_all("rect")]
    full = charts.CHART_WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH
    # categories: alpha 2 entries, beta 2 -> both full; companies: acme 4, bolt 1
    assert widths[:4] == [full, full, full, round(full / 4, 1)]
    fills = [r["fill"] for r in page.find_all("rect")]
    assert "#123456" in fills[:2]  # the category's own colour


def test_stats_page_lists_all_countries_in_its_table(client, controlled):
    html = client.get("/stats/?company=s-acme").content.decode()
    for iso2, name in (("no", "Norway"), ("zw", "Zimbabwe")):
        assert f'<a href="/countries/{iso2}/">{name}</a>' in html
    assert "All 2 countries as a table" in html
    assert "Northern Europe" in html


def test_stats_page_shows_at_most_25_countries_in_the_chart(client, db):
    stats = stats_page({}).stats
    chart = stats_page({}).charts["country"]
    assert len(chart.bars) == min(25, len(stats["by_country"]))


@pytest.mark.parametrize(("query", "message"), [
    ("country=QQ", "unknown country: QQ"), ("year_from=abcd", "year_from must be a year"),
    ("company=nope", "unknown company"),
])
def test_stats_page_rejects_bad_filters_with_400(client, db, query, message):
    response = client.get(f"/stats/?{query}")
    assert response.status_code == 400
    page = parse(response)
    assert len(page.h1_texts) == 1
    assert message.lower() in response.content.decode().lower()
    assert not page.find_all("svg")


def test_stats_page_with_no_matching_entry_says_so(client, db):
    html = client.get("/stats/?q=no-such-word-anywhere").content.decode()
    assert "No published entry matches these filters." in html
    assert "<svg" not in html


def test_stats_page_queries_do_not_grow_with_rows(client, controlled,
                                                  django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        client.get("/stats/")


def test_navigation_data_and_about_pages_link_to_statistics(client, db):
    nav = parse(client.get("/stats/")).find_all("a")
    assert [a["href"] for a in nav if "aria-current" in a] == ["/stats/"]
    for url in ("/data/", "/about/"):
        hrefs = [a.get("href") for a in parse(client.get(url)).find_all("a")]
        assert hrefs.count("/stats/") == 2, url  # the navigation and the page's own text


# --- bar chart geometry -------------------------------------------------------------------------


def test_bar_chart_scales_bars_to_the_largest_value_and_shortens_labels():
    rows = [{"name": "A" * 50, "entries": 10}, {"name": "B", "entries": 5},
            {"name": "C", "entries": 0}]
    chart = charts.bar_chart("x", "Entries per thing", rows, label=lambda r: r["name"],
                             value_text=lambda r: str(r["entries"]))
    full = charts.CHART_WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH
    assert [bar.width for bar in chart.bars] == [full, full / 2, 0]
    assert len(chart.bars[0].label) == charts.MAX_LABEL_CHARS
    assert chart.bars[0].label.endswith("…") and chart.bars[0].full_label == "A" * 50
    assert chart.height == 3 * charts.ROW_HEIGHT + 2 * charts.PADDING
    assert chart.view_box == f"0 0 {charts.CHART_WIDTH} {chart.height}"
    assert chart.bars[1].color == charts.DEFAULT_COLOR


def test_bar_chart_of_no_rows_is_empty():
    assert charts.bar_chart("x", "Nothing", [], label=str, value_text=str).bars == []


# --- `techmap stats` through the real entry point -------------------------------------------------


def run_techmap(*args, env, check=True):
    result = subprocess.run([str(TECHMAP), *args], env=env, capture_output=True, text=True,
                            timeout=180)
    if check and result.returncode != 0:
        pytest.fail(f"techmap {' '.join(args)} exited {result.returncode}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """A data directory and SQLite database filled by `techmap init`."""
    import os

    data_dir = tmp_path_factory.mktemp("stats-cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECHMAP_")}
    env["TECHMAP_DATA_DIR"] = str(data_dir)
    env["TECHMAP_DATABASE_URL"] = f"sqlite:///{data_dir / 'db.sqlite3'}"
    run_techmap("init", env=env)
    return env, data_dir / "db.sqlite3"


def sql(db: Path, query: str, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def test_cli_stats_json_with_a_country_filter_counts_that_country(cli):
    env, db = cli
    stats = json.loads(run_techmap("stats", "--json", "--country", "zw", env=env).stdout)
    (expected,) = sql(db, """select count(*) from catalog_entry e join catalog_country c
                             on c.id = e.country_id where e.status = 'published'
                             and c.iso2 = 'ZW'""")[0]
    assert list(stats) == STATS_KEYS
    assert stats["entries"] == expected > 0
    assert stats["countries"] == 1
    assert [row["iso2"] for row in stats["by_country"]] == ["ZW"]
    assert [row["region"] for row in stats["by_region"]] == ["Africa"]


def test_cli_stats_combines_filters_like_the_api(cli):
    env, db = cli
    (company,) = sql(db, """select co.slug from catalog_company co
                            join catalog_entry_companies ec on ec.company_id = co.id
                            group by co.slug order by count(*) desc limit 1""")[0]
    everything = json.loads(run_techmap("stats", "--json", env=env).stdout)
    filtered = json.loads(run_techmap("stats", "--json", "--company", company,
                                      "--year-from", "1900", env=env).stdout)
    assert filtered["companies"] >= 1
    assert filtered["entries"] <= everything["entries"]
    assert filtered["data_points"] <= everything["data_points"]
    assert {r["slug"] for r in filtered["by_company"]} >= {company}


def test_cli_stats_rejects_a_bad_filter_with_a_clear_error(cli):
    env, _ = cli
    result = run_techmap("stats", "--country", "QQ", env=env, check=False)
    assert result.returncode != 0
    assert "unknown country: QQ" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_techmap("stats", "--year-from", "abcd", env=env, check=False)
    assert result.returncode != 0 and "--year-from must be a year" in result.stderr


def test_cli_stats_by_prints_one_breakdown_as_a_table(cli):
    env, _ = cli
    stats = json.loads(run_techmap("stats", "--json", env=env).stdout)
    lines = run_techmap("stats", "--by", "country", env=env).stdout.splitlines()
    assert lines[0].split("\t") == ["iso2", "name", "region", "entries", "companies"]
    assert [line.split("\t")[0] for line in lines[1:]] == [r["iso2"] for r in stats["by_country"]]
    regions = run_techmap("stats", "--by", "region", env=env).stdout.splitlines()
    assert len(regions) == 1 + len(stats["by_region"])


def test_cli_plain_stats_sentences_include_data_points_and_regions(cli):
    env, _ = cli
    stats = json.loads(run_techmap("stats", "--json", env=env).stdout)
    lines = run_techmap("stats", env=env).stdout.splitlines()
    assert lines[1] == f"{stats['data_points']:,} data points."
    assert any(line.startswith("Countries with the most entries: ") for line in lines)
    region = stats["by_region"][0]
    assert any(line.endswith(f" in {region['region']}.") for line in lines)


def test_cli_stats_help_documents_the_filters(cli):
    env, _ = cli
    out = run_techmap("stats", "--help", env=env).stdout
    for option in ("--company", "--category", "--country", "--topic", "--year-from",
                   "--year-to", "--q", "--by", "--json"):
        assert option in out
