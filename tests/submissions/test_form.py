"""The public submission form /submit/: storage, invisibility, validation, abuse control,
privacy and hostile input.

An invalid form is re-rendered with status 200 and a message next to each field.
"""

import hashlib
import json
import re
import sqlite3
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from techmap.catalog.models import Category, Country, Entry, EntrySource, Source
from techmap.contributions import privacy, ratelimit
from techmap.contributions.forms import OTHER_COMPANY, parse_source_urls
from techmap.contributions.models import RateLimitHit, Submission, new_reference_code
from tests.html_checks import parse
from tests.submissions.support import ADDRESS, EMAIL, SUBMIT, code_from, post
from tests.test_cli import run_techmap, techmap_env
from tests.xss_payloads import PAYLOADS, assert_no_live_markup, assert_payload_escaped

# --- the form page ---------------------------------------------------------------------------


def test_form_page_has_every_field_labelled_a_csrf_token_and_one_h1(client, bundled):
    response = client.get(SUBMIT)
    assert response.status_code == 200
    page = parse(response)
    assert len(page.h1_texts) == 1
    labels = {attrs.get("for") for attrs in page.find_all("label")}
    for name in (
        "company",
        "other_company_name",
        "category",
        "country",
        "city",
        "latitude",
        "longitude",
        "title",
        "description",
        "year_started",
        "year_ended",
        "source_urls",
        "contact_email",
        "website",
    ):
        assert f"id_{name}" in labels, name
    assert any(a.get("name") == "csrfmiddlewaretoken" for a in page.find_all("input"))
    options = [a.get("value") for a in page.find_all("option")]
    assert OTHER_COMPANY in options and "KE" in options


def test_form_inputs_have_size_limits(client, bundled):
    inputs = {a["name"]: a for a in parse(client.get(SUBMIT)).find_all("input") if "name" in a}
    textareas = {a["name"]: a for a in parse(client.get(SUBMIT)).find_all("textarea")}
    assert inputs["title"]["maxlength"] == "300"
    assert inputs["city"]["maxlength"] == "200"
    assert inputs["other_company_name"]["maxlength"] == "200"
    assert inputs["contact_email"]["maxlength"] == "254"
    assert textareas["description"]["maxlength"] == "5000"
    assert int(textareas["source_urls"]["maxlength"]) > 0


def test_honeypot_is_hidden_by_a_class_labelled_leave_empty_and_out_of_tab_order(client, bundled):
    html = client.get(SUBMIT).content.decode()
    field = parse(html).find_all("input")
    honeypot = next(a for a in field if a.get("name") == "website")
    assert honeypot["tabindex"] == "-1"
    assert honeypot["autocomplete"] == "off"
    assert re.search(
        r'class="[^"]*hp-field[^"]*"[^>]*>\s*<label for="id_website">Leave this empty', html
    )


def test_nav_links_to_the_submit_page(client, bundled):
    links = parse(client.get("/about/")).find_all("a")
    assert any(a.get("href") == SUBMIT for a in links)


# --- a valid submission ----------------------------------------------------------------------


def test_valid_submission_is_stored_pending_and_its_code_shown(client, form_data):
    response = post(client, form_data)
    code = code_from(response)
    assert re.fullmatch(r"S-[A-Z0-9]{10}", code)
    submission = Submission.objects.get(code=code)
    assert submission.status == Submission.Status.PENDING
    assert submission.title == "Unique test title qx7"
    assert submission.company.slug == form_data["company"]
    assert submission.country.iso2 == "KE"
    assert (submission.latitude, submission.longitude) == (-1.2921, 36.8219)
    assert submission.year_started == 2019 and submission.year_ended is None
    assert submission.source_urls == ["https://example.org/report", "http://example.com/news?id=1"]
    assert submission.contact_email == EMAIL
    # Plain text: markup typed by the submitter stays text.
    assert "<b>" not in submission.description
    assert "&lt;b&gt;state&lt;/b&gt;" in submission.description
    assert submission.description.startswith("<p>A data centre.</p>")

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert code in html
    assert "Unique test title qx7" in html
    assert "What happens next" in html
    assert EMAIL not in html


def test_submission_with_other_company_and_no_point_is_stored(client, form_data):
    form_data.update(
        company=OTHER_COMPANY,
        other_company_name="Acme Networks",
        latitude="",
        longitude="",
        city="",
    )
    submission = Submission.objects.get(code=code_from(post(client, form_data)))
    assert submission.company is None
    assert submission.other_company_name == "Acme Networks"
    assert submission.company_name == "Acme Networks"
    assert submission.latitude is None and submission.longitude is None


def test_reference_codes_are_random_and_distinct():
    codes = {new_reference_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(re.fullmatch(r"S-[A-HJ-KM-NP-Z2-9]{10}", c) for c in codes)


def test_thanks_page_shows_no_summary_of_someone_elses_code(client, form_data):
    code = code_from(post(client, form_data))
    stranger = Client()
    html = stranger.get(f"/submit/thanks/?code={code}").content.decode()
    assert "Unique test title qx7" not in html
    assert "What happens next" in html


def test_thanks_page_shows_only_well_formed_codes(client, bundled):
    html = client.get("/submit/thanks/?code=S-<b>pay-us</b>").content.decode()
    assert "pay-us" not in html


# --- nothing public until accepted -----------------------------------------------------------


PUBLIC_URLS = [
    "/",
    "/entries/",
    "/entries/?country=KE",
    "/api/entries?limit=1000",
    "/api/entries.geojson",
    "/api/map?bbox=-180,-90,180,90&zoom=2",
    "/api/stats",
    "/download/entries.csv",
    "/download/entries.geojson",
    "/stats/",
    "/countries/ke/",
]


def public_outputs(client) -> dict[str, str]:
    outputs = {}
    for url in PUBLIC_URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        outputs[url] = body.decode("utf-8")
    return outputs


def test_pending_submission_appears_in_no_public_page_api_or_download(client, form_data):
    before = public_outputs(client)
    form_data.update(company=OTHER_COMPANY, other_company_name="Zyxwv Holdings")
    code = code_from(post(client, form_data))
    after = public_outputs(client)
    for url, body in after.items():
        for secret in ("qx7", "Zyxwv", code, EMAIL):
            assert secret not in body, (url, secret)
    assert json.loads(after["/api/stats"]) == json.loads(before["/api/stats"])
    assert after["/download/entries.csv"] == before["/download/entries.csv"]


@pytest.mark.parametrize("status", [Submission.Status.PENDING, Submission.Status.REJECTED])
def test_a_submission_asked_for_by_id_or_code_is_404(client, form_data, status):
    submission = Submission.objects.get(code=code_from(post(client, form_data)))
    submission.status = status
    submission.save()
    for url in (
        f"/entries/{submission.code}/",
        f"/entries/{submission.pk}/",
        f"/api/entries/{submission.code}",
        f"/api/entries/{submission.pk}",
        f"/submit/{submission.pk}/",
        f"/submit/{submission.code}/",
        f"/review/{submission.pk}/public/",
    ):
        assert client.get(url).status_code == 404, url


# --- validation: a message next to each field ------------------------------------------------


INVALID = [
    ("source_urls", "", "This field is required"),
    ("source_urls", "\n  \n", "This field is required"),
    ("source_urls", "javascript:alert(1)", "http:// or https://"),
    ("source_urls", "https://ok.example/\nftp://files.example/report.pdf", "Line 2"),
    ("source_urls", "\n".join(f"https://e.example/{i}" for i in range(11)), "at most 10"),
    ("source_urls", "https://e.example/" + "a" * 2000, "longer than 2000"),
    ("contact_email", "not-an-email", "valid email"),
    ("year_started", "1850", "greater than or equal to 1900"),
    ("year_ended", "2200", "less than or equal to 2100"),
    ("year_started", "soon", "whole number"),
    ("latitude", "91", "less than or equal to 90"),
    ("longitude", "-181", "greater than or equal to -180"),
    ("title", "T" * 301, "at most 300 characters"),
    ("title", "   ", "This field is required"),
    ("city", "C" * 201, "at most 200 characters"),
    ("description", "D" * 5001, "at most 5000 characters"),
    ("other_company_name", "N" * 201, "at most 200 characters"),
    ("category", "no-such-category", "valid choice"),
    ("country", "XX", "valid choice"),
    ("company", "no-such-company", "valid choice"),
    ("company", "", "This field is required"),
]


@pytest.mark.parametrize("field, value, message", INVALID, ids=lambda v: str(v)[:30])
def test_each_invalid_field_gets_its_message_next_to_it(client, form_data, field, value, message):
    form_data[field] = value
    if field == "other_company_name":
        form_data["company"] = OTHER_COMPANY
    response = post(client, form_data)
    assert response.status_code == 200
    html = response.content.decode()
    error = re.search(rf'<div class="field-error" id="id_{field}-error">(.*?)</div>', html, re.S)
    assert error, f"no error next to {field}"
    assert message in error.group(1)
    control = re.search(rf'<(?:input|select|textarea)[^>]*\bname="{field}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control
    assert f"id_{field}-error" in re.search(r'aria-describedby="([^"]*)"', control).group(1)
    assert html.count('class="field-error"') == 1, "only the bad field has an error"
    assert "error-summary" in html
    assert not Submission.objects.exists()


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (
            {"company": OTHER_COMPANY, "other_company_name": ""},
            "other_company_name",
            "Give the company",
        ),
        ({"latitude": "", "longitude": "30"}, "latitude", "latitude too"),
        ({"latitude": "10", "longitude": ""}, "longitude", "longitude too"),
        ({"year_started": "2020", "year_ended": "2010"}, "year_ended", "before the start year"),
    ],
)
def test_fields_that_depend_on_each_other_are_checked(client, form_data, changes, field, message):
    form_data.update(changes)
    html = post(client, form_data).content.decode()
    error = re.search(rf'id="id_{field}-error">(.*?)</div>', html, re.S)
    assert error and message in error.group(1)
    assert not Submission.objects.exists()


def test_an_invalid_form_keeps_what_was_typed(client, form_data):
    form_data["contact_email"] = "nope"
    html = post(client, form_data).content.decode()
    assert 'value="Unique test title qx7"' in html
    assert "https://example.org/report" in html


def test_parse_source_urls_deduplicates_and_skips_blank_lines():
    text = " https://a.example/x \n\nhttps://a.example/x\nHTTP://B.example/"
    assert parse_source_urls(text) == ["https://a.example/x", "HTTP://B.example/"]


# --- honeypot, CSRF, body size ---------------------------------------------------------------


def test_filled_honeypot_pretends_success_but_stores_nothing(client, form_data):
    form_data["website"] = "http://spam.example/"
    response = post(client, form_data)
    code = code_from(response)
    assert re.fullmatch(r"S-[A-Z0-9]{10}", code)
    assert not Submission.objects.exists()
    page = client.get(response["Location"])
    assert page.status_code == 200 and code in page.content.decode()
    assert "Unique test title qx7" not in page.content.decode()


def test_filled_honeypot_on_an_invalid_form_still_pretends_success(client, form_data):
    form_data.update(website="x", source_urls="")
    assert post(client, form_data).status_code == 302
    assert not Submission.objects.exists()


def test_post_without_csrf_token_is_refused_with_403(form_data):
    client = Client(enforce_csrf_checks=True)
    response = post(client, form_data)
    assert response.status_code == 403
    assert not Submission.objects.exists()


def test_post_with_the_csrf_token_from_the_form_is_accepted(form_data):
    client = Client(enforce_csrf_checks=True)
    html = client.get(SUBMIT).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = post(client, {**form_data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Submission.objects.count() == 1


def test_body_over_max_submission_bytes_is_refused_with_413(client, form_data, limit):
    limit(MAX_SUBMISSION_BYTES=2000)
    form_data["description"] = "x" * 3000
    response = post(client, form_data)
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert len(parse(response).h1_texts) == 1
    assert not Submission.objects.exists()


def test_default_limit_refuses_a_large_body_before_the_csrf_check_reads_it(form_data):
    client = Client(enforce_csrf_checks=True)
    form_data["description"] = "x" * 70_000
    assert post(client, form_data).status_code == 413


def test_body_under_the_limit_passes_the_size_gate(client, form_data, limit):
    limit(MAX_SUBMISSION_BYTES=5000)
    assert post(client, form_data).status_code == 302


# --- privacy ---------------------------------------------------------------------------------


def test_the_address_is_stored_only_as_a_keyed_hash(client, form_data, settings):
    submission = Submission.objects.get(code=code_from(post(client, form_data)))
    assert re.fullmatch(r"[0-9a-f]{64}", submission.address_hash)
    assert submission.address_hashed_at is not None
    assert submission.address_hash != hashlib.sha256(ADDRESS.encode()).hexdigest()
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert privacy.hash_address(ADDRESS) != submission.address_hash
    for field in Submission._meta.get_fields():
        value = getattr(submission, field.name, None) if field.concrete else None
        assert ADDRESS not in str(value), field.name


def accept(submission) -> Entry:
    """What an editor's acceptance does, as far as the public side sees it."""
    entry = Entry.objects.create(
        public_id="zz-accepted-from-submission",
        title=submission.title,
        category=submission.category,
        country=submission.country,
        city=submission.city,
        latitude=submission.latitude,
        longitude=submission.longitude,
        precision=Entry.Precision.EXACT,
        description=submission.description,
        year_started=submission.year_started,
        status=Entry.Status.PUBLISHED,
    )
    if submission.company:
        entry.companies.set([submission.company])
    for position, url in enumerate(submission.source_urls):
        source = Source.objects.create(url=url, title=f"Source {position}")
        EntrySource.objects.create(entry=entry, source=source, position=position)
    submission.status = Submission.Status.ACCEPTED
    submission.accepted_entry = entry
    submission.save()
    return entry


def test_no_contact_email_or_address_leaks_into_public_outputs_after_acceptance(
    client, form_data, settings, tmp_path
):
    submission = Submission.objects.get(code=code_from(post(client, form_data)))
    entry = accept(submission)
    assert list(entry.submissions.all()) == [submission]
    outputs = public_outputs(client)
    for url in (entry.get_absolute_url(), f"/api/entries/{entry.public_id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        outputs[url] = response.content.decode()
    assert "qx7" in outputs[entry.get_absolute_url()], "the accepted entry is public"
    assert "qx7" in outputs["/download/entries.csv"]
    secrets = (EMAIL, "private.person", submission.address_hash, ADDRESS, submission.code)
    for url, body in outputs.items():
        for secret in secrets:
            assert secret not in body, (url, secret)

    from techmap.releases.release import create_release

    settings.DATA_DIR = tmp_path
    release = create_release("privacy-check")
    files = [p for p in release.folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zipped:
                data = b"".join(zipped.read(name) for name in zipped.namelist())
        for secret in secrets:
            assert secret.encode() not in data, (path.name, secret)


# --- purge -----------------------------------------------------------------------------------


def make_submission(category, country, hashed_days_ago: int | None) -> Submission:
    hashed_at = None if hashed_days_ago is None else timezone.now() - timedelta(hashed_days_ago)
    return Submission.objects.create(
        category=category,
        country=country,
        title="t",
        source_urls=["https://e.example/"],
        address_hash="a" * 64,
        address_hashed_at=hashed_at,
    )


def test_purge_blanks_old_hashes_and_deletes_finished_windows(bundled, limit, capsys):
    limit(ADDRESS_RETENTION_DAYS=30, SUBMISSION_RATE_LIMIT="5/3600")
    category, country = Category.objects.first(), Country.objects.get(iso2="KE")
    old = make_submission(category, country, 31)
    recent = make_submission(category, country, 29)
    now = timezone.now()
    RateLimitHit.objects.create(key_hash="old", window_start=now - timedelta(hours=2), count=5)
    current = ratelimit.current_window("current")
    ratelimit.take(current)

    call_command("purge", "--dry-run")
    assert "Would blank 1 hashed address(es); would delete 1 rate-limit counter(s)." in (
        capsys.readouterr().out
    )
    assert Submission.objects.get(pk=old.pk).address_hash == "a" * 64
    assert RateLimitHit.objects.count() == 2

    call_command("purge")
    assert "Blanked 1 hashed address(es); deleted 1 rate-limit counter(s)." in (
        capsys.readouterr().out
    )
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.address_hash == "" and old.address_hashed_at is None
    assert recent.address_hash == "a" * 64
    assert list(RateLimitHit.objects.values_list("key_hash", flat=True)) == ["current"]
    call_command("purge")
    assert "Blanked 0 hashed address(es); deleted 0" in capsys.readouterr().out


def test_techmap_purge_through_the_entry_point(tmp_path):
    env = techmap_env(tmp_path, TECHMAP_ADDRESS_RETENTION_DAYS="7")
    run_techmap("init", "--empty", env=env)
    db = sqlite3.connect(tmp_path / "techmap.sqlite3")
    try:
        category = db.execute("SELECT id FROM catalog_category LIMIT 1").fetchone()[0]
        country = db.execute("SELECT id FROM catalog_country WHERE iso2='KE'").fetchone()[0]
        for code, days in (("S-OLD", 8), ("S-NEW", 1)):
            db.execute(
                "INSERT INTO contributions_submission (code, status, created, other_company_name,"
                " category_id, country_id, city, title, description, source_urls, contact_email,"
                " address_hash, address_hashed_at, review_reason)"
                " VALUES (?, 'pending', datetime('now'), '', ?, ?, '', 't', '', '[]', '', ?,"
                " datetime('now', ?), '')",
                (code, category, country, "b" * 64, f"-{days} days"),
            )
        db.commit()
    finally:
        db.close()

    dry = run_techmap("purge", "--dry-run", env=env).stdout
    assert "Would blank 1 hashed address(es)" in dry
    assert "Blanked 1 hashed address(es)" in run_techmap("purge", env=env).stdout
    db = sqlite3.connect(tmp_path / "techmap.sqlite3")
    try:
        rows = dict(db.execute("SELECT code, address_hash FROM contributions_submission"))
    finally:
        db.close()
    assert rows == {"S-OLD": "", "S-NEW": "b" * 64}
    assert "--dry-run" in run_techmap("purge", "--help", env=env).stdout


# --- hostile text ----------------------------------------------------------------------------


def test_the_corpus_has_at_least_100_distinct_payloads():
    assert len(set(PAYLOADS)) >= 100


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_hostile_text_is_stored_harmlessly_and_rendered_escaped(client, form_data, payload):
    form_data.update(
        company=OTHER_COMPANY,
        other_company_name=payload[:200],
        title=payload[:300],
        description=payload,
        city=payload[:200],
    )
    response = post(client, form_data)
    submission = Submission.objects.get(code=code_from(response))
    # Stored as escaped text in paragraphs: the only tags left are the ones we made.
    assert "<" not in re.sub(r"</?p>|<br>", "", submission.description)
    assert_no_live_markup(submission.description)
    html = client.get(response["Location"]).content.decode()
    assert submission.code in html
    assert_no_live_markup(html)
    assert "<svg" not in html.lower() and "<math" not in html.lower()
    assert_payload_escaped(html, payload)


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_hostile_text_in_a_rejected_form_is_redisplayed_escaped(client, form_data, payload):
    form_data.update(
        company=OTHER_COMPANY,
        other_company_name=payload,
        title=payload,
        city=payload,
        description=payload,
        source_urls=f"{payload}\nhttps://ok.example/?q={payload}",
        contact_email=payload,
        year_started=payload,
    )
    response = post(client, form_data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_source_urls-error"' in html
    assert_no_live_markup(html)
    assert "<svg" not in html.lower() and "<math" not in html.lower()
    assert_payload_escaped(html, payload)
    assert not Submission.objects.exists()


def test_hostile_submissions_render_escaped_in_the_admin(client, bundled, django_user_model):
    category, country = Category.objects.first(), Country.objects.get(iso2="KE")
    submissions = [
        Submission.objects.create(
            category=category,
            country=country,
            title=p[:300],
            city=p[:200],
            other_company_name=p[:200],
            description=p,
            source_urls=[p],
            contact_email="a@example.org",
        )
        for p in PAYLOADS
    ]
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)
    listing = client.get("/admin/contributions/submission/?all=")
    assert listing.status_code == 200
    assert_no_live_markup(listing.content.decode())
    for submission, payload in zip(submissions, PAYLOADS, strict=True):
        page = client.get(f"/admin/contributions/submission/{submission.pk}/change/")
        assert page.status_code == 200
        html = page.content.decode()
        assert_payload_escaped(html, payload)
        assert_no_live_markup(html)
        assert "address_hash" not in html
