"""The curation back office: every admin page loads, edit conflicts, the map widget, import."""

from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source
from techmap.catalog.versioning import VersionedModelForm, conflict_message
from tests.admin_forms import change_form_data
from tests.html_checks import parse

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
DATA_CSV = FIXTURES / "aspi" / "data.csv"
IMPORT_URL = "/admin/catalog/entry/import/"


def make_editor(username: str, *, models=("entry", "entrysource", "source", "company")) -> User:
    """A staff user holding the view/add/change permissions of the catalogue models."""
    user = User.objects.create_user(username, f"{username}@example.org", "pw", is_staff=True)
    actions = ("view", "add", "change", "delete")
    codenames = [f"{action}_{m}" for m in models for action in actions]
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames)
    )
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def editable_entry(public_id="t-admin-entry", **fields) -> Entry:
    entry = Entry.objects.create(
        public_id=public_id,
        title=fields.pop("title", "Admin test entry"),
        category=Category.objects.get(slug="data-centre"),
        country=Country.objects.get(iso2="NZ"),
        status=fields.pop("status", Entry.Status.PUBLISHED),
        **fields,
    )
    entry.companies.add(Company.objects.create(slug=f"co-{public_id}", name=f"Co {public_id}"))
    source = Source.objects.create(title=f"Source for {public_id}")
    EntrySource.objects.create(entry=entry, source=source, position=1)
    return Entry.objects.get(pk=entry.pk)


def change_url(entry) -> str:
    return f"/admin/catalog/entry/{entry.pk}/change/"


# Every registered model ---------------------------------------------------------------------

CATALOG_MODELS = [m for m in admin.site._registry if m._meta.app_label == "catalog"]


@pytest.mark.parametrize("model", CATALOG_MODELS, ids=lambda m: m.__name__)
def test_every_catalog_admin_page_answers_200(admin_client, bundled, model):
    opts = model._meta
    base = f"/admin/{opts.app_label}/{opts.model_name}/"
    model_admin = admin.site._registry[model]
    assert model_admin.search_fields, f"{model.__name__} admin has no search"
    urls = [base, f"{base}?q=test", f"{base}add/"]
    obj = model.objects.first()
    assert obj is not None
    urls.append(f"{base}{obj.pk}/change/")
    if hasattr(model, "history"):
        urls.append(f"{base}{obj.pk}/history/")
    for url in urls:
        assert admin_client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "query",
    [
        "status__exact=published",
        "highlight__exact=1",
        "precision__exact=city",
        "country__region=Asia",
        f"category__id__exact={1}",
    ],
)
def test_entry_changelist_filters_answer_200(admin_client, bundled, query):
    assert admin_client.get(f"/admin/catalog/entry/?{query}").status_code == 200


def test_every_registered_model_of_every_app_has_a_working_changelist(admin_client, bundled):
    for model in admin.site._registry:
        opts = model._meta
        response = admin_client.get(f"/admin/{opts.app_label}/{opts.model_name}/")
        assert response.status_code == 200, model


def test_entry_search_finds_by_company_name(admin_client, bundled):
    entry = editable_entry("t-search-me")
    response = admin_client.get("/admin/catalog/entry/?q=Co+t-search-me")
    assert entry.public_id in response.content.decode()


# CSP: the admin pages run no inline script ------------------------------------------------


def test_admin_pages_have_no_inline_scripts_under_the_strict_csp(admin_client, bundled):
    entry = editable_entry()
    for url in [
        "/admin/",
        "/admin/catalog/entry/",
        change_url(entry),
        "/admin/catalog/entry/add/",
        "/admin/catalog/company/add/",
        IMPORT_URL,
        f"/admin/catalog/entry/{entry.pk}/history/",
    ]:
        response = admin_client.get(url)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert parse(response).inline_script_text == [], url


# The location widget ------------------------------------------------------------------------


def test_entry_form_loads_the_map_widget_from_static_files(admin_client, bundled):
    page = parse(admin_client.get(change_url(editable_entry())))
    scripts = [attrs.get("src", "") for attrs in page.find_all("script")]
    for name in (
        "vendor/maplibre-gl/maplibre-gl-csp.js",
        "vendor/topojson-client/topojson-client.min.js",
        "web/outlines.js",
        "catalog/location_widget.js",
    ):
        assert any(src.endswith(name) for src in scripts), name
    styles = [attrs.get("href", "") for attrs in page.find_all("link")]
    assert any(href.endswith("catalog/location_widget.css") for href in styles)
    config = [a for a in page.find_all("div") if a.get("id") == "location-widget-config"]
    assert config and config[0]["data-worker-url"].endswith("maplibre-gl-csp-worker.js")
    assert config[0]["data-atlas-url"].endswith("world-atlas/countries-110m.json")


def test_location_widget_sets_both_inputs_and_exact_precision():
    script = (
        Path(__file__).parents[1] / "techmap/catalog/static/catalog/location_widget.js"
    ).read_text()
    for needle in ("id_latitude", "id_longitude", "id_precision", '"exact"', "setWorkerUrl"):
        assert needle in script


# Edit conflicts -----------------------------------------------------------------------------


def test_change_form_carries_the_version_it_started_from(admin_client, bundled):
    entry = editable_entry()
    form = admin_client.get(change_url(entry)).context["adminform"].form
    assert form["base_version"].value() == entry.version
    assert form.fields["base_version"].widget.is_hidden


def test_admin_save_increments_the_version(bundled):
    entry = editable_entry()
    client = client_for(make_editor("t-version-editor"))
    data = change_form_data(client.get(change_url(entry)))
    data["title"] = "Renamed once"
    response = client.post(change_url(entry), data)
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.title, entry.version) == ("Renamed once", 2)


def test_second_of_two_editors_gets_a_conflict_and_the_first_change_stays(bundled):
    entry = editable_entry(title="Original title")
    first = client_for(make_editor("t-first-editor"))
    second = client_for(make_editor("t-second-editor"))
    # Both open the same entry at the same version.
    first_data = change_form_data(first.get(change_url(entry)))
    second_data = change_form_data(second.get(change_url(entry)))
    assert first_data["base_version"] == second_data["base_version"] == entry.version

    first_data["title"] = "First editor's title"
    assert first.post(change_url(entry), first_data).status_code == 302

    second_data["title"] = "Second editor's title"
    second_data["city"] = "Wellington"
    response = second.post(change_url(entry), second_data)
    assert response.status_code == 200  # the form again, not a redirect
    assert conflict_message(Entry) in response.content.decode()
    assert "reload to see their changes" in response.content.decode()

    entry.refresh_from_db()
    assert entry.title == "First editor's title"
    assert entry.city == ""
    assert entry.version == 2
    assert entry.history.filter(title="Second editor's title").count() == 0


def test_conflicts_are_detected_for_sources_and_companies_too(bundled):
    source = Source.objects.create(title="Shared source")
    client = client_for(make_editor("t-source-editor"))
    url = f"/admin/catalog/source/{source.pk}/change/"
    stale = change_form_data(client.get(url))
    Source.objects.get(pk=source.pk).save()  # someone else's save (a loader, a script)
    stale["title"] = "Stale edit"
    response = client.post(url, stale)
    assert conflict_message(Source) in response.content.decode()
    source.refresh_from_db()
    assert source.title == "Shared source"


def test_versioned_form_mixin_works_outside_the_admin(bundled):
    """The review queue can reuse the mixin; the save is a compare-and-set."""
    from django import forms

    class TitleForm(VersionedModelForm):
        class Meta:
            model = Entry
            fields = ["title"]

    entry = editable_entry()
    opened = entry.version
    first = TitleForm({"title": "One", "base_version": opened}, instance=entry)
    second = TitleForm(
        {"title": "Two", "base_version": opened}, instance=Entry.objects.get(pk=entry.pk)
    )
    assert first.is_valid() and second.is_valid()  # both validated before either saved
    first.save()
    from techmap.catalog.models import VersionConflict

    with pytest.raises(VersionConflict):
        second.save()
    assert Entry.objects.get(pk=entry.pk).title == "One"
    third = TitleForm(
        {"title": "Three", "base_version": opened}, instance=Entry.objects.get(pk=entry.pk)
    )
    assert not third.is_valid()
    assert conflict_message(Entry) in third.non_field_errors()
    assert isinstance(TitleForm.base_fields["base_version"].widget, forms.HiddenInput)


def test_the_publication_rule_still_keeps_a_sourceless_entry_as_draft(bundled):
    entry = editable_entry()
    client = client_for(make_editor("t-rule-editor"))
    data = change_form_data(client.get(change_url(entry)))
    data["entry_sources-0-DELETE"] = "on"
    response = client.post(change_url(entry), data, follow=True)
    assert "kept as a draft" in response.content.decode()
    entry.refresh_from_db()
    assert entry.status == Entry.Status.DRAFT
    assert entry.history.first().status == Entry.Status.DRAFT


# Import and export --------------------------------------------------------------------------


def upload(name="data.csv"):
    return SimpleUploadedFile(name, DATA_CSV.read_bytes(), content_type="text/csv")


def test_changelist_offers_import_and_export_to_admins(admin_client, bundled):
    content = admin_client.get("/admin/catalog/entry/").content.decode()
    assert IMPORT_URL in content
    for url in ("/download/entries.csv", "/download/entries.xlsx", "/download/entries.geojson"):
        assert url in content


def test_import_dry_run_shows_the_report_and_writes_nothing(admin_client, bundled):
    before = Entry.objects.count()
    response = admin_client.post(
        IMPORT_URL,
        {"file": upload(), "format": "aspi", "status": "published", "dry_run": "on"},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Dry run, nothing written: would have created" in content
    assert response.context["report"].created > 0
    assert Entry.objects.count() == before


def test_import_without_dry_run_creates_the_entries(admin_client, bundled):
    before = Entry.objects.count()
    response = admin_client.post(
        IMPORT_URL, {"file": upload(), "format": "aspi", "status": "draft"}
    )
    assert response.status_code == 200
    report = response.context["report"]
    assert report.written and report.created > 0
    assert Entry.objects.count() == before + report.created
    assert "created" in response.content.decode()


def test_import_shows_row_errors(admin_client, bundled):
    bad = DATA_CSV.read_text(encoding="utf-8-sig").replace("48.1351", "480.1351")
    response = admin_client.post(
        IMPORT_URL,
        {
            "file": SimpleUploadedFile("bad.csv", bad.encode()),
            "format": "aspi",
            "status": "published",
        },
    )
    content = response.content.decode()
    assert "Nothing written" in content
    assert "line 2" in content
    assert not response.context["report"].written


def test_import_refuses_a_file_in_the_wrong_format(admin_client, bundled):
    response = admin_client.post(
        IMPORT_URL,
        {
            "file": SimpleUploadedFile("x.csv", b"\x89PNG\r\n"),
            "format": "aspi",
            "status": "published",
        },
    )
    assert response.status_code == 200
    assert "PNG" in response.content.decode()
    assert response.context["report"] is None


def test_staff_without_the_import_permission_cannot_reach_the_import_view(bundled):
    client = client_for(make_editor("t-plain-editor"))
    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(IMPORT_URL, {"file": upload(), "format": "aspi"}).status_code == 403
    assert IMPORT_URL not in client.get("/admin/catalog/entry/").content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(client, bundled):
    response = client.get(IMPORT_URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_import_permission_opens_the_view_to_the_admin_role(bundled):
    user = make_editor("t-admin-role")
    user.user_permissions.add(Permission.objects.get(codename="import_entries"))
    assert client_for(user).get(IMPORT_URL).status_code == 200


def test_reverting_to_a_past_version_in_the_admin_is_not_a_conflict(admin_client, bundled):
    entry = editable_entry(title="First title")
    first = entry.history.order_by("history_date", "history_id").last()
    entry.title = "Second title"
    entry.save()
    url = f"/admin/catalog/entry/{entry.pk}/history/{first.history_id}/"
    response = admin_client.get(url)
    assert response.status_code == 200
    data = change_form_data(response)
    assert data["base_version"] == Entry.objects.get(pk=entry.pk).version
    assert admin_client.post(url, data).status_code == 302
    entry.refresh_from_db()
    assert entry.title == "First title"
