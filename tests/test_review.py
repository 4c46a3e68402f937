"""The editors' review queue: who may see it, what it lists, likely duplicates, escaping."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone

from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source
from techmap.contributions.duplicates import haversine_km, likely_duplicates, title_similarity
from techmap.contributions.models import Submission
from tests.html_checks import parse

pytestmark = pytest.mark.django_db

SECRET_EMAIL = "whistle.blower@private.example"

try:
    from tests.xss_payloads import PAYLOADS, assert_no_live_markup, assert_payload_escaped
except ImportError:  # pragma: no cover - the shared corpus is missing
    PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "<svg/onload=1>"]
    assert_no_live_markup = assert_payload_escaped = None


def make_editor(username="editor", group_name="editor") -> User:
    """A user in the editor group, which holds the review permission."""
    group, _ = Group.objects.get_or_create(name=group_name)
    permission = Permission.objects.get(
        codename="review_submission", content_type__app_label="contributions"
    )
    group.permissions.add(permission)  # the roles hook may have done it already
    user = User.objects.create_user(username, is_staff=True)  # no password: force_login
    user.groups.add(group)
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_submission(**fields) -> Submission:
    """A pending submission; fields override the defaults."""
    defaults = {
        "title": "Test submission",
        "category": Category.objects.get_or_create(slug="t-review", defaults={"name": "T review"})[
            0
        ],
        "country": Country.objects.get(iso2="NO"),
        "source_urls": ["https://example.org/report"],
        "contact_email": SECRET_EMAIL,
    }
    defaults.update(fields)
    return Submission.objects.create(**defaults)


def make_entry(public_id, *, company, country, title, **fields) -> Entry:
    category = (
        fields.pop("category", None)
        or Category.objects.get_or_create(slug="t-review", defaults={"name": "T review"})[0]
    )
    entry = Entry.objects.create(
        public_id=public_id,
        title=title,
        category=category,
        country=country,
        status=fields.pop("status", Entry.Status.PUBLISHED),
        **fields,
    )
    entry.companies.set([company])
    source = Source.objects.create(title=f"Source of {public_id}", url="https://example.org/x")
    EntrySource.objects.create(entry=entry, source=source)
    return entry


@pytest.fixture
def editor(db):
    return make_editor()


@pytest.fixture
def editor_client(editor):
    return client_for(editor)


@pytest.fixture
def acme(db):
    return Company.objects.create(slug="t-acme-review", name="Test Acme Review")


# Permissions ----------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_the_admin_login(client):
    response = client.get("/review/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/review/"


def test_anonymous_visitor_cannot_open_a_submission_or_act_on_it(client):
    submission = make_submission()
    assert client.get(f"/review/{submission.pk}/").status_code == 302
    response = client.post(f"/review/{submission.pk}/reject/", {"reject-reason": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PENDING


def test_signed_in_user_without_the_permission_gets_403(db):
    plain = client_for(User.objects.create_user("plain", is_staff=True))
    submission = make_submission()
    assert plain.get("/review/").status_code == 403
    assert plain.get(f"/review/{submission.pk}/").status_code == 403
    response = plain.post(f"/review/{submission.pk}/reject/", {"reject-reason": "no"})
    assert response.status_code == 403
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PENDING


def test_contributor_group_alone_cannot_review(db):
    contributor = User.objects.create_user("contrib")
    contributor.groups.add(Group.objects.get_or_create(name="contributor")[0])
    if contributor.has_perm("contributions.review_submission"):
        pytest.fail("the contributor role must not hold the review permission")
    assert client_for(contributor).get("/review/").status_code == 403


def test_editor_sees_the_queue_with_one_h1(editor_client):
    response = editor_client.get("/review/")
    assert response.status_code == 200
    assert parse(response.content.decode()).h1_texts == ["Review queue"]


def test_actions_answer_only_post(editor_client):
    submission = make_submission()
    assert editor_client.get(f"/review/{submission.pk}/accept/").status_code == 405
    assert editor_client.get("/review/bulk-reject/").status_code == 405


def test_unknown_submission_is_404(editor_client):
    assert editor_client.get("/review/999999/").status_code == 404


# The queue ------------------------------------------------------------------------------


def test_queue_lists_pending_submissions_newest_first(editor_client):
    now = timezone.now()
    old = make_submission(title="Oldest pending thing")
    new = make_submission(title="Newest pending thing")
    mid = make_submission(title="Middle pending thing")
    for sub, age in ((old, 3), (mid, 2), (new, 1)):
        Submission.objects.filter(pk=sub.pk).update(created=now - timedelta(hours=age))
    html = editor_client.get("/review/").content.decode()
    positions = [html.index(t) for t in ("Newest pending", "Middle pending", "Oldest pending")]
    assert positions == sorted(positions)


def test_queue_hides_reviewed_submissions(editor_client):
    make_submission(title="Still waiting here")
    for status in ("accepted", "rejected", "duplicate"):
        make_submission(title=f"Closed as {status}", status=status)
    html = editor_client.get("/review/").content.decode()
    assert "Still waiting here" in html
    assert "Closed as" not in html


def test_queue_is_paginated(editor_client):
    for n in range(27):
        make_submission(title=f"Paged submission {n:02d}")
    first = editor_client.get("/review/").content.decode()
    second = editor_client.get("/review/?page=2").content.decode()
    assert "Page 1 of 2" in first
    assert first.count('name="ids"') == 25
    assert second.count('name="ids"') == 2


def test_queue_query_count_does_not_grow_per_row_beyond_the_duplicate_lookup(
    editor_client, acme, django_assert_max_num_queries
):
    for n in range(20):
        make_submission(title=f"Counted submission {n}", company=acme)
    # Session, user, permissions, count, page, dead links: ~10; one duplicate query per row.
    with django_assert_max_num_queries(12 + 20):
        assert editor_client.get("/review/").status_code == 200


def test_queue_links_sources_safely_and_never_links_other_schemes(editor_client):
    make_submission(source_urls=["https://example.org/a?b=1&c=2", "javascript:alert(1)"])
    page = parse(editor_client.get("/review/").content.decode())
    links = [attrs for tag, attrs in page.tags if tag == "a" and "example.org/a" in attrs["href"]]
    assert links and links[0]["rel"] == "noopener noreferrer nofollow"
    assert links[0]["href"] == "https://example.org/a?b=1&c=2"
    assert not [a for t, a in page.tags if t == "a" and "javascript" in a.get("href", "").lower()]


def test_contact_email_is_on_the_detail_page_for_editors_but_not_the_list(editor_client):
    submission = make_submission()
    assert SECRET_EMAIL not in editor_client.get("/review/").content.decode()
    assert SECRET_EMAIL in editor_client.get(f"/review/{submission.pk}/").content.decode()


def test_address_hash_is_never_shown(editor_client):
    submission = make_submission(address_hash="f" * 64)
    assert "f" * 64 not in editor_client.get("/review/").content.decode()
    assert "f" * 64 not in editor_client.get(f"/review/{submission.pk}/").content.decode()


def test_detail_page_has_csrf_protected_forms_for_every_action(editor_client):
    submission = make_submission()
    page = parse(editor_client.get(f"/review/{submission.pk}/").content.decode())
    # Every form but the site header's language switch (which changes only a cookie).
    actions = [a["action"] for t, a in page.tags if t == "form" and a["action"] != "/i18n/setlang/"]
    assert actions == [
        f"/review/{submission.pk}/{verb}/" for verb in ("accept", "merge", "duplicate", "reject")
    ]
    tokens = [a for t, a in page.tags if t == "input" and a.get("name") == "csrfmiddlewaretoken"]
    assert len(tokens) == 4
    assert page.h1_texts == ["Test submission"]


def test_dead_source_links_are_listed_on_the_queue(editor_client):
    checks = pytest.importorskip("techmap.sourcecheck.models")
    source = Source.objects.create(title="Gone away source", url="https://gone.example/x")
    checks.SourceCheck.objects.create(
        source=source,
        checked_at=timezone.now(),
        url=source.url,
        status_code=404,
        ok=False,
    )
    html = editor_client.get("/review/").content.decode()
    assert "Dead source links" in html
    assert "Gone away source" in html and "https://gone.example/x" in html


# Duplicates -----------------------------------------------------------------------------


def test_same_company_country_and_near_identical_title_is_listed_first(acme):
    norway = Country.objects.get(iso2="NO")
    match = make_entry(
        "no-acme-oslo-lab",
        company=acme,
        country=norway,
        title="Acme research lab in Oslo",
        city="Oslo",
    )
    make_entry(
        "no-acme-bergen-office",
        company=acme,
        country=norway,
        title="Acme sales office opens in Bergen",
    )
    submission = make_submission(
        title="Acme Research Lab, Oslo", company=acme, country=norway, city="Oslo"
    )
    found = likely_duplicates(submission)
    entry, score, reasons = found[0]
    assert entry == match
    assert score >= 80
    assert {"same company", "same country", "same city"} <= set(reasons)
    assert any(r.startswith("similar title") for r in reasons)


def test_duplicate_found_by_nearby_point_in_a_neighbouring_country(acme):
    sweden = Country.objects.get(iso2="SE")
    near = make_entry(
        "se-acme-border-depot",
        company=acme,
        country=sweden,
        title="Acme logistics depot",
        latitude=59.30,
        longitude=11.70,
        precision="exact",
    )
    submission = make_submission(
        title="Acme logistics depot",
        company=acme,
        country=Country.objects.get(iso2="NO"),
        latitude=59.28,
        longitude=11.60,
    )
    entry, _score, reasons = likely_duplicates(submission)[0]
    assert entry == near
    assert any(r.endswith("km away") for r in reasons)


def test_unrelated_entries_and_other_countries_are_not_duplicates(acme):
    make_entry(
        "dk-acme-research-lab",
        company=acme,
        country=Country.objects.get(iso2="DK"),
        title="Acme research lab in Oslo",
    )
    make_entry(
        "no-acme-unrelated",
        company=acme,
        country=Country.objects.get(iso2="NO"),
        title="Undersea cable landing station",
    )
    submission = make_submission(title="Acme research lab in Oslo", company=acme)
    assert [d.entry.public_id for d in likely_duplicates(submission)] == []


def test_other_company_name_matches_the_catalog_company(acme):
    norway = Country.objects.get(iso2="NO")
    match = make_entry("no-acme-hub", company=acme, country=norway, title="Acme data hub")
    submission = make_submission(title="Acme data hub", other_company_name="test acme review")
    entry, _score, reasons = likely_duplicates(submission)[0]
    assert entry == match and "same company" in reasons


def test_retired_entries_are_not_duplicates(acme):
    norway = Country.objects.get(iso2="NO")
    make_entry("no-acme-old", company=acme, country=norway, title="Acme data hub", status="retired")
    assert likely_duplicates(make_submission(title="Acme data hub", company=acme)) == []


def test_duplicates_appear_on_the_queue_with_links_to_the_entry(editor_client, acme):
    norway = Country.objects.get(iso2="NO")
    make_entry("no-acme-oslo-lab", company=acme, country=norway, title="Acme research lab")
    make_submission(title="Acme research lab (Oslo)", company=acme)
    page = parse(editor_client.get("/review/").content.decode())
    assert ("a", {"href": "/entries/no-acme-oslo-lab/"}) in page.tags


def test_haversine_and_title_similarity_helpers():
    assert haversine_km(59.91, 10.75, 59.91, 10.75) == 0
    assert 295 < haversine_km(59.91, 10.75, 60.39, 5.32) < 315  # Oslo to Bergen
    assert haversine_km(0, 179.9, 0, -179.9) < 25
    assert title_similarity("Huawei lab in Nairobi", "Nairobi: Huawei Lab") == 100
    assert title_similarity("Huawei lab in Nairobi", "ZTE cable to Chile") < 50


# Hostile text ---------------------------------------------------------------------------


def test_hostile_text_is_escaped_on_the_review_pages(editor_client, acme):
    if assert_no_live_markup is None:
        pytest.skip("tests/xss_payloads.py is missing")
    norway = Country.objects.get(iso2="NO")
    make_entry("no-acme-hostile", company=acme, country=norway, title=PAYLOADS[0])
    # Four payloads per submission, one in each free-text field, keep the page count low.
    groups = [PAYLOADS[n : n + 4] for n in range(0, len(PAYLOADS), 4)]
    submissions = []
    for n, group in enumerate(groups):
        title, company, city, other = (group * 4)[:4]
        submissions.append(
            make_submission(
                title=title[:300],
                company=acme if n % 2 else None,
                other_company_name="" if n % 2 else company[:200],
                city=city[:200],
                description="\n\n".join(group),
                source_urls=["https://example.org/?q=" + other[:100], other[:100]],
            )
        )
    assert sum(len(g) for g in groups) >= 100
    pages = [editor_client.get(f"/review/?page={n}").content.decode() for n in (1, 2)]
    assert sum(html.count('name="ids"') for html in pages) == len(submissions)
    for html in pages:
        assert_no_live_markup(html)
    for submission, group in zip(submissions, groups, strict=True):
        html = editor_client.get(f"/review/{submission.pk}/").content.decode()
        assert_no_live_markup(html)
        for payload in group:
            assert_payload_escaped(html, payload)
