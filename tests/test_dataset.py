"""The bundled dataset (techmap/catalog/data/*.yaml): valid, sourced, loaded faithfully.

The dataset transcribes ASPI's report "Mapping China's technology giants" (2019).
These tests read only files inside the repository.
"""

import copy
import re
from collections import Counter
from decimal import Decimal

import pytest

from techmap.catalog.dataset import load_dataset, read_dataset, validate_dataset
from techmap.catalog.models import Category, Company, Entry, Source, Topic

# The report's notes print their links as "[online](#)"; the only full URLs it prints
# are China Tech Map marker and company pages, so those are the only URLs allowed.
CHINATECHMAP_URL = re.compile(
    r"^https://chinatechmap\.aspi\.org\.au/#/(map/marker-\d+|company/[a-z]+)$"
)

REPORT_COMPANIES = {
    "alibaba": "Alibaba",
    "baidu": "Baidu",
    "bgi": "BGI",
    "cetc": "China Electronics Technology Group Corporation (CETC)",
    "china-mobile": "China Mobile",
    "china-telecom": "China Telecom",
    "china-unicom": "China Unicom",
    "hikvision": "Hikvision",
    "huawei": "Huawei",
    "tencent": "Tencent",
    "wuxi": "Wuxi",
    "zte": "ZTE",
}

# Rough (lat_min, lat_max, lng_min, lng_max) boxes for countries with city-precision entries.
COUNTRY_BOXES = {
    "AT": (46.3, 49.1, 9.5, 17.2),
    "AU": (-44.0, -10.0, 112.0, 154.0),
    "CA": (41.6, 83.2, -141.1, -52.6),
    "GB": (49.8, 60.9, -8.7, 1.8),
    "ZW": (-22.5, -15.6, 25.2, 33.1),
}


@pytest.fixture(scope="module")
def data():
    return read_dataset()


def entry_record(data, entry_id):
    return next(e for e in data["entries"] if e["id"] == entry_id)


def source_record(data, key):
    return next(s for s in data["sources"] if s["key"] == key)


# --- The files as data --------------------------------------------------------------


def test_bundled_dataset_validates_without_problems(data):
    assert validate_dataset(data) == []


def test_every_source_url_is_a_china_tech_map_address_printed_in_the_report(data):
    for src in data["sources"]:
        for field in ("url", "archived_url"):
            url = src.get(field) or ""
            assert url == "" or CHINATECHMAP_URL.match(url), f"{src['key']}: {field} {url!r}"


def test_every_source_is_cited_by_an_entry_or_a_company(data):
    cited = {key for e in data["entries"] for key in e.get("sources") or []}
    for comp in data["companies"]:
        cited.update(comp.get("sources") or [])
        if comp.get("party_source"):
            cited.add(comp["party_source"])
    unused = {s["key"] for s in data["sources"]} - cited
    assert unused == set()


def test_every_entry_cites_the_report_and_at_least_one_source(data):
    for entry in data["entries"]:
        assert entry.get("sources"), entry["id"]
        assert "aspi-report-2019" in entry["sources"], entry["id"]


def test_every_company_cites_the_report(data):
    for comp in data["companies"]:
        assert comp["sources"][0] == "aspi-report-2019", comp["slug"]


def test_entry_ids_start_with_their_country_code(data):
    for entry in data["entries"]:
        assert entry["id"].startswith(entry["country"].lower() + "-"), entry["id"]


def test_no_coordinates_are_typed_into_the_entries_file(data):
    for entry in data["entries"]:
        assert entry.get("precision") in {"city", "country"}, entry["id"]
        assert "latitude" not in entry and "longitude" not in entry, entry["id"]


def test_china_tech_map_marker_refs_match_a_cited_marker_source(data):
    urls = {s["key"]: s.get("url") or "" for s in data["sources"]}
    with_marker = [
        e for e in data["entries"] if (e.get("external_refs") or {}).get("chinatechmap_marker")
    ]
    assert with_marker
    for entry in with_marker:
        marker = entry["external_refs"]["chinatechmap_marker"]
        assert isinstance(marker, str) and marker.isdigit(), entry["id"]
        expected = f"https://chinatechmap.aspi.org.au/#/map/marker-{marker}"
        assert expected in [urls[k] for k in entry["sources"]], entry["id"]


def test_party_branch_counts_are_the_reports_figures(data):
    companies = {c["slug"]: c for c in data["companies"]}
    assert companies["alibaba"]["party_branches"] == 200
    assert "around 200" in companies["alibaba"]["party_facts"]
    assert companies["tencent"]["party_branches"] == 89
    assert "2017" in companies["tencent"]["party_facts"]
    assert companies["huawei"]["party_branches"] == 300
    assert "more than 300" in companies["huawei"]["party_facts"]
    for slug in ("alibaba", "tencent", "huawei"):
        party_source = source_record(data, companies[slug]["party_source"])
        assert party_source["url"] == f"https://chinatechmap.aspi.org.au/#/company/{slug}"
    without_figure = set(companies) - {"alibaba", "tencent", "huawei"}
    assert all(companies[s].get("party_branches") is None for s in without_figure)


def test_source_dates_are_as_precise_as_the_notes(data):
    def date(key):
        return source_record(data, key).get("publication_date")

    assert date("note-75-reuters-zte-venezuela") == "2018-11-14"
    assert date("note-59-researchgate-fdi-sub-saharan-africa") == "2017-08"
    assert date("note-58-zinyama-contracting-out-zimbabwe") is None  # the note gives no date
    for src in data["sources"]:
        if src.get("publication_date"):
            assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", src["publication_date"]), src["key"]


# --- The dataset as loaded into the database ----------------------------------------


@pytest.mark.django_db
def test_every_published_entry_in_the_database_has_a_source():
    published = Entry.objects.published()
    assert published.count() == len(read_dataset()["entries"])
    assert not published.filter(sources__isnull=True).exists()


@pytest.mark.django_db
def test_the_twelve_companies_of_the_report_exist_with_their_names():
    assert dict(Company.objects.values_list("slug", "name")) == REPORT_COMPANIES
    assert Company.objects.get(slug="huawei").name_zh == "华为"


@pytest.mark.django_db
def test_loading_the_dataset_a_second_time_changes_nothing():
    entries_before = Entry.objects.count()
    written = load_dataset()
    assert written and all(count == 0 for count in written.values()), written
    written = load_dataset(update=True)
    assert all(count == 0 for count in written.values()), written
    assert Entry.objects.count() == entries_before


@pytest.mark.django_db
def test_loading_again_keeps_curators_edits_unless_asked_to_update():
    entry = Entry.objects.get(public_id="zw-zte-econet-loan-2015")
    entry.title = "Edited by a curator"
    entry.save()
    entry.entry_sources.all().delete()
    load_dataset()
    entry.refresh_from_db()
    assert entry.title == "Edited by a curator"
    assert entry.entry_sources.count() == 0
    written = load_dataset(update=True)
    entry.refresh_from_db()
    assert written["entries"] == 1
    assert entry.title != "Edited by a curator"
    assert entry.entry_sources.count() >= 1


@pytest.mark.django_db
def test_categories_and_topics_carry_chinese_names_that_update_re_applies():
    category = Category.objects.get(slug="5g-relationship")
    assert (category.name_zh, category.plural_zh) == ("5G 合作关系", "5G 项目")
    assert Topic.objects.get(slug="chinese-state-loan").name_zh == "中国国家贷款"
    assert not Category.objects.filter(name_zh="").exists()
    assert not Topic.objects.filter(name_zh="").exists()
    Category.objects.filter(pk=category.pk).update(name_zh="", plural_zh="")
    load_dataset()  # a curator's edit survives a plain load
    category.refresh_from_db()
    assert category.name_zh == ""
    assert load_dataset(update=True)["categories"] == 1
    category.refresh_from_db()
    assert (category.name_zh, category.plural_zh) == ("5G 合作关系", "5G 项目")


@pytest.mark.django_db
def test_loading_restores_a_deleted_bundled_entry():
    Entry.objects.filter(public_id="zw-zte-econet-loan-2015").delete()
    assert load_dataset()["entries"] == 1
    assert Entry.objects.filter(public_id="zw-zte-econet-loan-2015").exists()


@pytest.mark.django_db
def test_zte_econet_loan_has_its_financing_year_and_country():
    entry = Entry.objects.get(public_id="zw-zte-econet-loan-2015")
    assert entry.financing_amount == Decimal("500000000")
    assert entry.financing_currency == "USD"
    assert entry.financing_lender == "China Development Bank"
    assert entry.year_started == 2015
    assert entry.country.iso2 == "ZW"
    assert [c.slug for c in entry.companies.all()] == ["zte"]
    assert "chinese-state-loan" in {t.slug for t in entry.topics.all()}
    first_source = entry.entry_sources.order_by("position").first().source
    assert first_source.key == "note-61-myzol-econet-500-million-loan"
    assert first_source.url == ""


@pytest.mark.django_db
def test_cetc_has_three_university_partnerships_with_their_markers():
    entries = Entry.objects.filter(companies__slug="cetc", category__slug="research-partnership")
    found = {(e.country.iso2, e.external_refs.get("chinatechmap_marker")) for e in entries}
    assert found == {("AU", "87"), ("GB", "86"), ("AT", "49")}
    assert {e.city for e in entries} == {"Sydney", "Manchester", "Graz"}


@pytest.mark.django_db
def test_hikvision_mutare_smart_city_is_placed_in_mutare_in_2018():
    entry = Entry.objects.get(public_id="zw-hikvision-mutare-smart-city")
    assert (entry.city, entry.precision, entry.year_started) == ("Mutare", "city", 2018)
    assert entry.highlight
    assert "facial-recognition" in {t.slug for t in entry.topics.all()}


@pytest.mark.django_db
def test_hikvision_facial_recognition_work_cites_marker_159():
    entry = Entry.objects.get(public_id="zw-hikvision-facial-recognition")
    assert entry.external_refs == {"chinatechmap_marker": "159"}
    urls = [s.url for s in entry.sources.all()]
    assert "https://chinatechmap.aspi.org.au/#/map/marker-159" in urls


@pytest.mark.django_db
def test_huawei_safe_city_countries_named_by_the_report_are_all_present():
    countries = set(
        Entry.objects.filter(
            companies__slug="huawei", category__slug="smart-city-public-security"
        ).values_list("country__iso2", flat=True)
    )
    assert {"EC", "PK", "PH", "VE", "BO", "RS"} <= countries


@pytest.mark.django_db
def test_belarus_ict_priorities_is_a_government_engagement_from_2018():
    entry = Entry.objects.get(public_id="by-huawei-national-ict-priorities-2018")
    assert entry.category.slug == "government-engagement"
    assert entry.year_started == 2018
    assert entry.country.iso2 == "BY"


@pytest.mark.django_db
def test_wechat_user_base_entries_are_consumer_services_of_tencent():
    entries = Entry.objects.filter(companies__slug="tencent", category__slug="consumer-service")
    assert {"MY", "TH", "BT", "MN"} <= set(entries.values_list("country__iso2", flat=True))


@pytest.mark.django_db
def test_city_precision_entries_have_coordinates_inside_their_country():
    entries = Entry.objects.filter(precision=Entry.Precision.CITY).select_related("country")
    assert entries.exists()
    for entry in entries:
        lat_min, lat_max, lng_min, lng_max = COUNTRY_BOXES[entry.country.iso2]
        assert lat_min <= entry.latitude <= lat_max, entry.public_id
        assert lng_min <= entry.longitude <= lng_max, entry.public_id


@pytest.mark.django_db
def test_country_precision_entries_have_a_point():
    for entry in Entry.objects.filter(precision=Entry.Precision.COUNTRY):
        assert entry.has_point, entry.public_id


@pytest.mark.django_db
def test_sources_without_a_url_are_stored_blank():
    assert Source.objects.filter(key="note-75-reuters-zte-venezuela", url="").exists()
    assert (
        not Source.objects.exclude(url="").exclude(url__startswith="https://chinatechmap").exists()
    )


# --- The validator catches broken input -----------------------------------------------


def broken(data):
    return copy.deepcopy(data)


def test_validator_reports_an_unknown_company_slug(data):
    bad = broken(data)
    bad["entries"][0]["companies"] = ["not-a-company"]
    entry_id = bad["entries"][0]["id"]
    problems = validate_dataset(bad)
    assert any(entry_id in p and "not-a-company" in p for p in problems), problems


def test_validator_reports_a_published_entry_without_sources(data):
    bad = broken(data)
    entry = entry_record(bad, "ve-zte-fatherland-card")
    entry["sources"] = []
    problems = validate_dataset(bad)
    assert problems == [
        "entries.yaml ve-zte-fatherland-card: a published entry needs at least one source"
    ]


def test_validator_accepts_a_draft_entry_without_sources(data):
    bad = broken(data)
    entry = entry_record(bad, "ve-zte-fatherland-card")
    entry["sources"] = []
    entry["status"] = "draft"
    assert validate_dataset(bad) == []


def test_validator_reports_a_javascript_url(data):
    bad = broken(data)
    source_record(bad, "note-75-reuters-zte-venezuela")["url"] = "javascript:alert(1)"
    problems = validate_dataset(bad)
    assert any("note-75-reuters-zte-venezuela" in p and "url" in p for p in problems), problems


def test_validator_reports_a_bad_precision(data):
    bad = broken(data)
    entry_record(bad, "zw-zte-econet-loan-2015")["precision"] = "somewhere"
    problems = validate_dataset(bad)
    assert any("zw-zte-econet-loan-2015" in p and "somewhere" in p for p in problems), problems


def test_validator_reports_a_duplicate_entry_id(data):
    bad = broken(data)
    bad["entries"].append(copy.deepcopy(entry_record(bad, "by-huawei-video-surveillance-2011")))
    problems = validate_dataset(bad)
    entry_id = "by-huawei-video-surveillance-2011"
    assert any("duplicate id" in p and entry_id in p for p in problems), problems


def test_validator_reports_an_unknown_source_key(data):
    bad = broken(data)
    entry_id = "au-cetc-university-of-technology-sydney"
    entry_record(bad, entry_id)["sources"].append("no-such-source")
    problems = validate_dataset(bad)
    assert any(entry_id in p and "no-such-source" in p for p in problems), problems


def test_validator_reports_a_city_missing_from_the_gazetteer(data):
    bad = broken(data)
    entry_id = "zw-hikvision-mutare-smart-city"
    entry_record(bad, entry_id)["city"] = "Atlantis"
    problems = validate_dataset(bad)
    assert any(entry_id in p and "Atlantis" in p for p in problems), problems


def test_entry_ids_are_unique_in_the_bundled_file(data):
    counts = Counter(e["id"] for e in data["entries"])
    assert [i for i, n in counts.items() if n > 1] == []
