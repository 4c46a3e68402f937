"""The data model's own rules and the shared entry filters, against the real database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict

from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source
from techmap.catalog.queries import FilterError, filter_entries, parse_filters
from techmap.catalog.stats import compute_stats

pytestmark = pytest.mark.django_db


def make_entry(public_id, *, company=None, status=Entry.Status.PUBLISHED, source=True, **fields):
    category = fields.pop("category", None) or Category.objects.get(slug="data-centre")
    fields.setdefault("country", Country.objects.get(iso2="NZ"))
    entry = Entry.objects.create(
        public_id=public_id,
        title=fields.pop("title", public_id),
        category=category,
        status=status,
        **fields,
    )
    company = company or Company.objects.create(slug=f"co-{public_id}", name=f"Co {public_id}")
    entry.companies.add(company)
    if source:
        src = Source.objects.create(title=f"Source for {public_id}")
        EntrySource.objects.create(entry=entry, source=src, position=1)
    return entry


def ids(qs):
    return set(qs.values_list("public_id", flat=True))


def test_description_is_sanitised_on_save():
    entry = make_entry(
        "t-sanitise",
        description='<p onclick="x()">Hi<script>alert(1)</script>'
        '<a href="javascript:alert(1)">link</a><img src=x onerror=alert(1)></p>',
    )
    entry.refresh_from_db()
    assert "script" not in entry.description
    assert "onclick" not in entry.description
    assert "javascript:" not in entry.description
    assert "<img" not in entry.description
    assert entry.description.startswith("<p>Hi")


def test_database_rejects_end_year_before_start_year():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_entry("t-years", year_started=2019, year_ended=2015)


def test_database_rejects_half_a_point_and_out_of_range_coordinates():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_entry("t-half", latitude=10.0)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_entry("t-range", latitude=95.0, longitude=10.0)


def test_published_entry_without_source_fails_validation():
    entry = make_entry("t-nosource", source=False)
    with pytest.raises(ValidationError) as exc:
        entry.full_clean()
    assert "cannot be published" in str(exc.value)
    entry.status = Entry.Status.DRAFT
    entry.full_clean()  # a draft may wait for its sources


def test_line_geometry_is_validated():
    entry = make_entry("t-line", line_geometry={"type": "LineString", "coordinates": [[0, 0]]})
    with pytest.raises(ValidationError) as exc:
        entry.full_clean()
    assert "line_geometry" in exc.value.message_dict
    entry.line_geometry = {"type": "MultiLineString", "coordinates": [[[0, 0], [10, 5]]]}
    entry.full_clean()


def test_source_accepts_only_http_and_https_urls():
    with pytest.raises(ValidationError):
        Source(title="x", url="javascript:alert(1)").full_clean()
    Source(title="x", url="https://example.org/a").full_clean()
    Source(title="print only").full_clean()  # many citations have no URL


def test_source_citation_reads_like_a_reference():
    src = Source(
        title="A report",
        author="A. Author",
        publisher="Pub",
        publication_date="2018-05",
        note="cited in note 9",
    )
    assert src.citation() == "A. Author, 'A report', Pub, 2018-05 (cited in note 9)"


def test_drafts_and_retired_entries_are_not_public():
    make_entry("t-draft", status=Entry.Status.DRAFT)
    make_entry("t-retired", status=Entry.Status.RETIRED)
    make_entry("t-public")
    public = ids(filter_entries(parse_filters(QueryDict())))
    assert "t-public" in public
    assert not {"t-draft", "t-retired"} & public


def test_year_filters_select_overlapping_entries():
    make_entry("t-y2010", year_started=2010, year_ended=2012)
    make_entry("t-y2016", year_started=2016)
    make_entry("t-ynone")
    got = ids(filter_entries(parse_filters(QueryDict("year_from=2013"))))
    assert "t-y2016" in got and "t-y2010" not in got and "t-ynone" not in got
    got = ids(filter_entries(parse_filters(QueryDict("year_to=2011"))))
    assert "t-y2010" in got and "t-y2016" not in got


def test_filters_accept_repeats_and_commas_and_match_each_entry_once():
    huawei = Company.objects.create(slug="t-hw", name="T Huawei")
    zte = Company.objects.create(slug="t-zte", name="T ZTE")
    entry = make_entry("t-both", company=huawei)
    entry.companies.add(zte)
    qs = filter_entries(parse_filters(QueryDict("company=t-hw,t-zte")))
    assert list(qs.values_list("public_id", flat=True)) == ["t-both"]
    qs = filter_entries(parse_filters(QueryDict("company=t-hw&company=t-zte")))
    assert qs.count() == 1


def test_text_search_matches_title_city_and_company_words():
    make_entry("t-text", title="Fibre backbone", city="Wellington")
    assert ids(filter_entries(parse_filters(QueryDict("q=backbone wellington")))) == {"t-text"}
    assert ids(filter_entries(parse_filters(QueryDict("q=backbone nowhere")))) == set()


def test_bbox_crossing_the_antimeridian():
    make_entry("t-east", latitude=-17.7, longitude=178.0, precision="city")
    make_entry("t-west", latitude=-14.3, longitude=-170.7, precision="city")
    make_entry("t-far", latitude=0.0, longitude=0.0, precision="city")
    got = ids(filter_entries(parse_filters(QueryDict("bbox=170,-30,-160,0"), allow_bbox=True)))
    assert {"t-east", "t-west"} <= got and "t-far" not in got


@pytest.mark.parametrize(
    "query, message",
    [
        ("company=no-such-company", "unknown company"),
        ("country=QQ", "unknown country"),
        ("year_from=abc", "year_from must be a year"),
        ("year_from=2019&year_to=2010", "year_from must not be after year_to"),
        ("year_to=1066", "between 1900 and 2100"),
        ("q=" + "x" * 201, "limited to 200"),
    ],
)
def test_bad_filters_raise_a_readable_error(query, message):
    with pytest.raises(FilterError, match=message):
        parse_filters(QueryDict(query))


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "0,10,10,0", "0,-95,10,10", "200,0,210,10"])
def test_bad_bbox_raises_a_readable_error(bbox):
    with pytest.raises(FilterError, match="bbox"):
        parse_filters(QueryDict(f"bbox={bbox}"), allow_bbox=True)


def test_stats_count_only_published_entries():
    before = compute_stats()
    make_entry("t-s1", country=Country.objects.get(iso2="TV"))
    make_entry("t-s2", status=Entry.Status.DRAFT, country=Country.objects.get(iso2="NR"))
    after = compute_stats()
    assert after["entries"] == before["entries"] + 1
    assert after["companies"] == before["companies"] + 1
    assert after["countries"] == before["countries"] + 1
    centres = {row["slug"]: row for row in after["by_category"]}["data-centre"]
    assert centres["countries"] >= 1
