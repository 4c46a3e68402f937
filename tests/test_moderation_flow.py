"""Accept, merge, reject, duplicate and bulk reject: through moderation.py and the queue's
forms, and the whole journey from the public form to the map."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from techmap.catalog.models import Company, Country, Entry, Source
from techmap.contributions import moderation
from techmap.contributions.models import Submission
from tests.test_review import SECRET_EMAIL, client_for, make_editor, make_entry, make_submission

pytestmark = pytest.mark.django_db

ALL_MAP = "/api/map?bbox=-180,-90,180,90&zoom=2"


@pytest.fixture
def editor(db):
    return make_editor()


@pytest.fixture
def editor_client(editor):
    return client_for(editor)


@pytest.fixture
def acme(db):
    return Company.objects.create(slug="t-acme-flow", name="Test Acme Flow")


def public_ids(client, url) -> set[str]:
    """The entry ids a public GeoJSON endpoint returns (points and clusters' single points)."""
    data = json.loads(client.get(url).content)
    return {f.get("id") or f["properties"].get("id") for f in data["features"]}


def public_snapshot(client) -> tuple:
    """What the public sees: entry counts and the GeoJSON of every published entry."""
    return (
        Entry.objects.published().count(),
        Source.objects.count(),
        client.get("/api/entries.geojson").content,
    )


# accept ---------------------------------------------------------------------------------


def test_accept_publishes_a_new_entry_with_its_sources_and_submission_link(editor, acme):
    submission = make_submission(
        title="Acme smart-city pilot in Oslo",
        company=acme,
        city="Oslo",
        description="First paragraph.\n\nSecond & last.",
        source_urls=["https://example.org/one", "https://news.example/two"],
        year_started=2018,
    )
    entry = moderation.accept_as_new_entry(submission, editor)

    entry.refresh_from_db()
    submission.refresh_from_db()
    assert entry.status == Entry.Status.PUBLISHED
    assert entry.public_id == "no-t-acme-flow-acme-smart-city-pilot-in-oslo"
    assert list(entry.companies.all()) == [acme]
    assert [s.url for s in entry.sources.order_by("entry_sources__position")] == [
        "https://example.org/one",
        "https://news.example/two",
    ]
    assert entry.precision == Entry.Precision.CITY and entry.has_point
    assert entry.year_started == 2018
    assert entry.description.startswith("<p>First paragraph.</p>")
    assert submission.status == Submission.Status.ACCEPTED
    assert submission.accepted_entry == entry
    assert list(entry.submissions.all()) == [submission]
    assert submission.reviewed_by == editor and submission.reviewed_at is not None


def test_accept_uses_the_submitted_point_exactly_or_falls_back_to_the_country(editor, acme):
    exact = moderation.accept_as_new_entry(
        make_submission(title="Exact one", company=acme, latitude=60.1, longitude=11.2), editor
    )
    country = moderation.accept_as_new_entry(
        make_submission(title="Country one", company=acme, city="Nowhere-in-particular"), editor
    )
    assert (exact.latitude, exact.longitude, exact.precision) == (60.1, 11.2, "exact")
    assert country.precision == "country" and country.has_point


def test_accept_with_overrides_places_the_entry_in_the_new_city(editor, acme):
    submission = make_submission(title="typo'd titel", company=acme, latitude=1.0, longitude=2.0)
    entry = moderation.accept_as_new_entry(
        submission, editor, title="Corrected title", city="Bergen", description="<p>Edited</p>"
    )
    assert entry.title == "Corrected title"
    assert entry.city == "Bergen" and entry.precision == "city"
    assert entry.description == "<p>Edited</p>"
    assert entry.public_id == "no-t-acme-flow-corrected-title"


def test_an_editor_cannot_create_a_company_but_an_admin_can(editor):
    submission = make_submission(title="New company thing", other_company_name="Brand New Co")
    with pytest.raises(moderation.ModerationError, match="not in the catalog"):
        moderation.accept_as_new_entry(submission, editor)
    assert not Company.objects.filter(name="Brand New Co").exists()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PENDING

    admin = make_editor("taxonomist", group_name="t-taxonomy")
    admin.user_permissions.add(
        Permission.objects.get(codename="add_company", content_type__app_label="catalog")
    )
    admin = type(admin).objects.get(pk=admin.pk)  # drop the cached permissions
    entry = moderation.accept_as_new_entry(submission, admin)
    assert [c.name for c in entry.companies.all()] == ["Brand New Co"]
    assert entry.public_id == "no-brand-new-co-new-company-thing"


def test_an_editor_can_accept_a_new_company_submission_by_choosing_a_company(editor, acme):
    submission = make_submission(title="Chosen instead", other_company_name="Acme Typo Ltd")
    entry = moderation.accept_as_new_entry(submission, editor, company=acme)
    assert list(entry.companies.all()) == [acme]


def test_public_ids_stay_unique(editor, acme):
    first = moderation.accept_as_new_entry(make_submission(title="Same", company=acme), editor)
    second = moderation.accept_as_new_entry(make_submission(title="Same", company=acme), editor)
    assert first.public_id == "no-t-acme-flow-same"
    assert second.public_id == "no-t-acme-flow-same-2"


def test_accepting_twice_creates_no_second_entry(editor, acme):
    submission = make_submission(company=acme)
    moderation.accept_as_new_entry(submission, editor)
    before = Entry.objects.count()
    with pytest.raises(moderation.AlreadyReviewed, match="already reviewed"):
        moderation.accept_as_new_entry(Submission.objects.get(pk=submission.pk), editor)
    assert Entry.objects.count() == before


@pytest.mark.parametrize("action", ["accept", "merge", "duplicate", "reject"])
def test_no_action_applies_to_an_already_reviewed_submission(editor, acme, action):
    entry = make_entry(
        "no-acme-target", company=acme, country=Country.objects.get(iso2="NO"), title="T"
    )
    submission = make_submission(company=acme, source_urls=["https://late.example/"])
    stale = Submission.objects.get(pk=submission.pk)
    moderation.reject(submission, editor, "Spam")
    entries, sources = Entry.objects.count(), entry.sources.count()
    run = {
        "accept": lambda: moderation.accept_as_new_entry(stale, editor),
        "merge": lambda: moderation.merge_into(stale, entry, editor),
        "duplicate": lambda: moderation.mark_duplicate(stale, entry, editor),
        "reject": lambda: moderation.reject(stale, editor, "Again"),
    }[action]
    with pytest.raises(moderation.AlreadyReviewed):
        run()
    submission.refresh_from_db()
    assert (submission.status, submission.review_reason) == ("rejected", "Spam")
    assert (Entry.objects.count(), entry.sources.count()) == (entries, sources)


def test_accept_form_sent_twice_shows_a_clear_message(editor_client, acme):
    submission = make_submission(title="Posted twice", company=acme)
    form = {
        "accept-title": "Posted twice",
        "accept-category": submission.category_id,
        "accept-country": submission.country_id,
        "accept-company": acme.pk,
        "accept-city": "",
        "accept-description": "",
    }
    first = editor_client.post(f"/review/{submission.pk}/accept/", form, follow=True)
    assert "Published" in first.content.decode()
    count = Entry.objects.count()
    second = editor_client.post(f"/review/{submission.pk}/accept/", form, follow=True)
    html = second.content.decode()
    assert "already reviewed" in html and "nothing was changed" in html
    assert Entry.objects.count() == count
    assert Entry.objects.filter(title="Posted twice").count() == 1


def test_accept_form_errors_are_shown_next_to_the_fields(editor_client):
    submission = make_submission()
    response = editor_client.post(
        f"/review/{submission.pk}/accept/", {"accept-title": "", "accept-category": "999999"}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PENDING


# merge, duplicate, reject, bulk reject ---------------------------------------------------


def test_merge_adds_the_submitted_urls_as_sources_of_the_existing_entry(editor_client, acme):
    entry = make_entry(
        "no-acme-merge-target", company=acme, country=Country.objects.get(iso2="NO"), title="T"
    )
    submission = make_submission(
        source_urls=["https://example.org/x", "https://new.example/evidence"]
    )
    response = editor_client.post(
        f"/review/{submission.pk}/merge/", {"merge-public_id": entry.public_id}
    )
    assert response.status_code == 302
    urls = [s.url for s in entry.sources.order_by("entry_sources__position")]
    assert urls == ["https://example.org/x", "https://new.example/evidence"]
    submission.refresh_from_db()
    assert submission.status == Submission.Status.ACCEPTED
    assert submission.accepted_entry == entry
    page = Client().get("/entries/no-acme-merge-target/").content.decode()
    assert "https://new.example/evidence" in page


def test_merge_by_choosing_a_likely_duplicate(editor_client, acme):
    norway = Country.objects.get(iso2="NO")
    entry = make_entry("no-acme-chosen", company=acme, country=norway, title="Acme chosen lab")
    submission = make_submission(title="Acme chosen lab", company=acme)
    detail = editor_client.get(f"/review/{submission.pk}/").content.decode()
    assert 'value="no-acme-chosen"' in detail
    editor_client.post(f"/review/{submission.pk}/merge/", {"merge-entry": "no-acme-chosen"})
    assert entry.sources.filter(url="https://example.org/report").exists()


def test_merge_into_an_unknown_entry_is_refused(editor_client):
    submission = make_submission()
    response = editor_client.post(
        f"/review/{submission.pk}/merge/", {"merge-public_id": "no-such-entry"}
    )
    assert response.status_code == 400
    assert "No live entry has the id" in response.content.decode()


def test_reject_needs_a_reason_and_changes_nothing_public(editor_client):
    anonymous = Client()
    before = public_snapshot(anonymous)
    submission = make_submission(title="Rejected item")
    response = editor_client.post(f"/review/{submission.pk}/reject/", {"reject-reason": " "})
    assert response.status_code == 400
    editor_client.post(f"/review/{submission.pk}/reject/", {"reject-reason": "Not sourced"})
    submission.refresh_from_db()
    assert submission.status == Submission.Status.REJECTED
    assert submission.review_reason == "Not sourced"
    assert "Rejected item" not in editor_client.get("/review/").content.decode()
    assert public_snapshot(anonymous) == before


def test_mark_duplicate_closes_the_submission_and_leaves_the_entry_alone(editor_client, acme):
    entry = make_entry(
        "no-acme-dup", company=acme, country=Country.objects.get(iso2="NO"), title="D"
    )
    anonymous = Client()
    before = public_snapshot(anonymous)
    submission = make_submission(title="Duplicate item", source_urls=["https://dup.example/"])
    editor_client.post(
        f"/review/{submission.pk}/duplicate/", {"duplicate-public_id": "no-acme-dup"}
    )
    submission.refresh_from_db()
    assert submission.status == Submission.Status.DUPLICATE
    assert submission.duplicate_of == entry
    assert not entry.sources.filter(url="https://dup.example/").exists()
    assert "Duplicate item" not in editor_client.get("/review/").content.decode()
    assert public_snapshot(anonymous) == before


def test_bulk_reject_closes_only_the_ticked_pending_submissions(editor_client, editor):
    spam = [make_submission(title=f"Buy pills {n}") for n in range(3)]
    keep = make_submission(title="Genuine report")
    accepted = make_submission(title="Already accepted", status="accepted")
    response = editor_client.post(
        "/review/bulk-reject/",
        {"ids": [s.pk for s in spam] + [accepted.pk, "junk"], "reason": "Spam"},
        follow=True,
    )
    assert "Rejected 3 submissions." in response.content.decode()
    assert set(Submission.objects.filter(status="rejected").values_list("pk", flat=True)) == {
        s.pk for s in spam
    }
    assert Submission.objects.get(pk=keep.pk).status == "pending"
    assert Submission.objects.get(pk=accepted.pk).status == "accepted"
    assert all(s.reviewed_by == editor for s in Submission.objects.filter(status="rejected"))


def test_bulk_reject_without_a_reason_or_ticks_does_nothing(editor_client):
    submission = make_submission()
    editor_client.post("/review/bulk-reject/", {"ids": [submission.pk], "reason": ""})
    editor_client.post("/review/bulk-reject/", {"reason": "Spam"})
    assert Submission.objects.get(pk=submission.pk).status == "pending"
    with pytest.raises(moderation.ModerationError):
        moderation.bulk_reject([submission.pk], None, "   ")


def test_reviewed_submission_detail_shows_the_outcome_and_no_forms(editor_client, acme):
    submission = make_submission(company=acme)
    editor_client.post(f"/review/{submission.pk}/reject/", {"reject-reason": "Off topic"})
    html = editor_client.get(f"/review/{submission.pk}/").content.decode()
    assert "Already reviewed: rejected" in html and "Off topic" in html
    # No review form is left: the only form is the site header's language switch.
    assert re.findall(r'<form[^>]*action="([^"]*)"', html) == ["/i18n/setlang/"]


# The whole journey -----------------------------------------------------------------------


class FormFields(HTMLParser):
    """Every form's action, named fields and their current values, as a browser would send."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select = self._textarea = None

    def _field(self, name, value, kind):
        form = self.forms[-1]
        form["fields"].setdefault(name, value)
        form["types"][name] = kind

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": {}, "types": {}})
        elif not self.forms:
            return
        elif tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind not in {"checkbox", "radio"} or "checked" in attrs:
                self._field(name, attrs.get("value") or "", kind)
        elif tag == "select" and name:
            self._select = name
            self._field(name, "", "select")
        elif tag == "option" and self._select and "selected" in attrs:
            self.forms[-1]["fields"][self._select] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self._field(name, "", "textarea")

    def handle_data(self, data):
        if self._textarea:
            self.forms[-1]["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea:  # browsers drop the newline right after <textarea>
                fields = self.forms[-1]["fields"]
                fields[self._textarea] = fields[self._textarea].removeprefix("\n")
            self._textarea = None


def _fill_form(html: str, values: dict, action_part: str = "") -> dict:
    """The first CSRF-protected form (whose action contains action_part), as a browser sends
    it, with the fields named in values (without any prefix) set to those values."""
    parser = FormFields()
    parser.feed(html)
    form = next(
        f
        for f in parser.forms
        if "csrfmiddlewaretoken" in f["fields"] and action_part in f["action"]
    )
    data = {}
    for name, default in form["fields"].items():
        if form["types"].get(name) in {"submit", "button"}:
            continue
        key = re.sub(r"^.*-", "", name)  # drop any form prefix
        data[name] = values.get(key, default)
    return data


def test_visitor_submits_editor_accepts_and_it_appears_on_the_map(acme):
    norway = Country.objects.get(iso2="NO")
    existing = make_entry(
        "no-acme-oslo-data-centre",
        company=acme,
        country=norway,
        title="Acme data centre in Oslo",
        city="Oslo",
    )
    visitor = Client(enforce_csrf_checks=True)
    form_page = visitor.get("/submit/")
    if form_page.status_code == 404:
        pytest.skip("the public /submit/ form is not wired up yet")
    category = existing.category
    data = _fill_form(
        form_page.content.decode(),
        {
            "company": acme.slug,
            "category": category.slug,
            "country": "NO",
            "city": "Oslo",
            "title": "Acme opens second data centre in Oslo",
            "description": "Reported in the local press.",
            "source_urls": "https://press.example/acme-oslo\nhttps://other.example/b",
            "year_started": "2021",
            "contact_email": SECRET_EMAIL,
        },
    )
    response = visitor.post("/submit/", data)
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    submission = Submission.objects.get(title="Acme opens second data centre in Oslo")
    assert submission.status == Submission.Status.PENDING

    # Invisible to the public: API, GeoJSON, map, list, search.
    public = Client()
    map_total = json.loads(public.get(ALL_MAP).content)["total"]
    assert "second data centre" not in public.get("/api/entries.geojson").content.decode()
    assert "second data centre" not in public.get(ALL_MAP).content.decode()
    assert "second data centre" not in public.get("/api/entries?q=second").content.decode()
    assert "second data centre" not in public.get("/entries/?q=second").content.decode()

    # The editor sees it with its likely duplicate.
    editor_client = client_for(make_editor())
    queue = editor_client.get("/review/").content.decode()
    assert "Acme opens second data centre in Oslo" in queue
    assert 'href="/entries/no-acme-oslo-data-centre/"' in queue

    detail = editor_client.get(f"/review/{submission.pk}/").content.decode()
    accept = _fill_form(detail, {}, action_part="/accept/")  # prefilled from the submission
    response = editor_client.post(f"/review/{submission.pk}/accept/", accept, follow=True)
    assert "Published" in response.content.decode()
    submission.refresh_from_db()
    entry = submission.accepted_entry
    assert entry is not None and entry.status == Entry.Status.PUBLISHED

    assert entry.precision == Entry.Precision.CITY and entry.city == "Oslo"

    # Now public: on the map (counted in the world view, a point when zoomed in), in the
    # GeoJSON, and on its page with both sources.
    assert json.loads(public.get(ALL_MAP).content)["total"] == map_total + 1
    lng, lat = entry.longitude, entry.latitude
    close_up = f"/api/map?bbox={lng - 0.1},{lat - 0.1},{lng + 0.1},{lat + 0.1}&zoom=14"
    assert entry.public_id in public_ids(public, close_up)
    assert entry.public_id in public_ids(public, "/api/entries.geojson?country=NO")
    page = public.get(f"/entries/{entry.public_id}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "https://press.example/acme-oslo" in html and "https://other.example/b" in html
    for url in ("/api/entries.geojson", ALL_MAP, f"/api/entries/{entry.public_id}"):
        body = public.get(url).content.decode()
        assert SECRET_EMAIL not in body and submission.code not in body
    assert SECRET_EMAIL not in html and submission.code not in html


# History --------------------------------------------------------------------------------


def test_accept_and_merge_are_recorded_in_the_history_as_the_editor(editor, acme):
    entry = moderation.accept_as_new_entry(make_submission(title="Tracked", company=acme), editor)
    rows = list(entry.history.order_by("history_date", "history_id"))
    assert rows[0].history_type == "+"
    assert {(r.history_user, r.history_change_reason) for r in rows} == {
        (editor, moderation.CHANGE_REASON_ACCEPTED)
    }
    assert [c.company for c in rows[-1].companies.all()] == [acme]

    version = Entry.objects.get(pk=entry.pk).version
    moderation.merge_into(
        make_submission(source_urls=["https://more.example/evidence"]), entry, editor
    )
    changed = entry.history.latest("history_date")
    assert changed.history_user == editor
    assert changed.history_change_reason == moderation.CHANGE_REASON_MERGED
    assert Entry.objects.get(pk=entry.pk).version == version + 1
    link = entry.entry_sources.get(source__url="https://more.example/evidence")
    assert link.history.get().history_user == editor


def test_merge_does_not_overwrite_a_change_saved_after_the_entry_was_loaded(editor, acme):
    norway = Country.objects.get(iso2="NO")
    make_entry("no-acme-stale", company=acme, country=norway, title="Original title")
    stale = Entry.objects.get(public_id="no-acme-stale")
    fresh = Entry.objects.get(pk=stale.pk)
    fresh.title = "Title fixed by another editor"
    fresh.save()
    moderation.merge_into(make_submission(source_urls=["https://late.example/"]), stale, editor)
    assert Entry.objects.get(pk=stale.pk).title == "Title fixed by another editor"
