"""Change history: every write path records who, when and what; the public change log."""

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from techmap.catalog import history
from techmap.catalog.dataset import load_dataset, read_dataset
from techmap.catalog.models import Category, Company, Entry, EntrySource, Source, Topic
from tests.admin_forms import change_form_data
from tests.test_admin import change_url, client_for, editable_entry, make_editor

pytestmark = pytest.mark.django_db

SECRET_USERNAME = "zq-curator-7731"
SECRET_EMAIL = "zq-curator-7731@private.example"


def latest(obj):
    return obj.history.order_by("-history_date", "-history_id").first()


def backdate(entry, days=3):
    """Move the entry's history so far into the past that new saves are separate changes."""
    old = timezone.now() - timedelta(days=days)
    entry.history.update(history_date=old)
    EntrySource.history.filter(entry_id=entry.pk).update(history_date=old)


# Admin edits --------------------------------------------------------------------------------


def test_an_admin_edit_records_one_row_with_the_editor_and_the_changed_fields(bundled):
    entry = editable_entry()
    editor = make_editor("t-history-editor")
    client = client_for(editor)
    rows_before = entry.history.count()
    new_company = Company.objects.create(slug="t-second-co", name="Second Co")
    data = change_form_data(client.get(change_url(entry)))
    data.update(title="Renamed by the admin", city="Auckland")
    data["companies"] = [*data["companies"], str(new_company.pk)]
    assert client.post(change_url(entry), data).status_code == 302

    assert entry.history.count() == rows_before + 1  # one save, one row
    row = latest(entry)
    assert row.history_type == "~"
    assert row.history_user == editor
    assert row.title == "Renamed by the admin"
    changed = history.diff_fields(row, row.prev_record)
    assert set(changed) == {"title", "city", "companies"}
    assert {c.company_id for c in row.companies.all()} == set(
        entry.companies.values_list("pk", flat=True)
    )


def test_adding_an_entry_in_the_admin_records_its_relations(bundled):
    editor = make_editor("t-adding-editor")
    client = client_for(editor)
    company = Company.objects.create(slug="t-add-co", name="Add Co")
    data = change_form_data(client.get("/admin/catalog/entry/add/"))
    data.update(
        public_id="t-added",
        title="Added in the admin",
        status="draft",
        category=str(Category.objects.get(slug="data-centre").pk),
        companies=[str(company.pk)],
        precision="none",
    )
    response = client.post("/admin/catalog/entry/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = Entry.objects.get(public_id="t-added")
    rows = list(entry.history.all())
    assert len(rows) == 1
    assert rows[0].history_type == "+" and rows[0].history_user == editor
    assert [c.company_id for c in rows[0].companies.all()] == [company.pk]


def test_sources_edited_in_the_inline_are_recorded(bundled):
    entry = editable_entry()
    editor = make_editor("t-inline-editor")
    client = client_for(editor)
    extra = Source.objects.create(title="An added source")
    data = change_form_data(client.get(change_url(entry)))
    data.update(
        {
            "entry_sources-1-source": str(extra.pk),
            "entry_sources-1-position": "2",
            "entry_sources-1-entry": str(entry.pk),
        }
    )
    assert client.post(change_url(entry), data).status_code == 302
    link = EntrySource.objects.get(entry=entry, source=extra)
    row = latest(link)
    assert row.history_type == "+" and row.history_user == editor


def test_taxonomy_edits_in_the_admin_are_recorded(admin_client, admin_user, bundled):
    category = Category.objects.get(slug="data-centre")
    url = f"/admin/catalog/category/{category.pk}/change/"
    data = change_form_data(admin_client.get(url))
    data["description"] = "Edited description"
    assert admin_client.post(url, data).status_code == 302
    row = latest(category)
    assert row.history_user == admin_user
    assert history.diff_fields(row, row.prev_record) == ["description"]

    topic = Topic.objects.first()
    url = f"/admin/catalog/topic/{topic.pk}/change/"
    data = change_form_data(admin_client.get(url))
    data["name"] = "Renamed topic"
    assert admin_client.post(url, data).status_code == 302
    assert latest(topic).history_user == admin_user


def test_the_admin_history_page_lists_the_changes(admin_client, bundled):
    entry = editable_entry()
    entry.title = "Changed title"
    entry.save()
    response = admin_client.get(f"/admin/catalog/entry/{entry.pk}/history/")
    assert response.status_code == 200
    assert "Changed title" in response.content.decode()


# Other write paths ----------------------------------------------------------------------------


def test_the_bundled_dataset_load_recorded_every_row(bundled):
    for model in (Entry, Source, Company, Category, Topic):
        created = set(
            model.history.filter(history_type="+").values_list("id", flat=True).distinct()
        )
        assert set(model.objects.values_list("pk", flat=True)) <= created, model


def test_reloading_a_changed_dataset_records_what_changed(bundled):
    data = read_dataset()
    record = data["entries"][0]
    record["title"] = "A title changed in the YAML"
    record["year_ended"] = 2099
    with history.change_reason("techmap init --update"):
        load_dataset(data, update=True)
    entry = Entry.objects.get(public_id=record["id"])
    row = latest(entry)
    assert row.history_type == "~"
    assert row.history_change_reason == "techmap init --update"
    assert row.history_user is None
    assert set(history.diff_fields(row, row.prev_record)) == {"title", "year_ended"}


def test_plain_saves_raise_the_version_and_record(bundled):
    entry = editable_entry()
    version, rows = entry.version, entry.history.count()
    entry.city = "Dunedin"
    entry.save()
    assert Entry.objects.get(pk=entry.pk).version == version + 1
    assert entry.history.count() == rows + 1


def test_a_command_line_becomes_the_change_reason(bundled, monkeypatch):
    monkeypatch.setattr(
        sys, "argv", ["/usr/local/bin/techmap", "import", "/home/me/secret/data.csv", "--dry-run"]
    )
    source = Source.objects.create(title="From a command")
    assert latest(source).history_change_reason == "techmap import data.csv --dry-run"


def test_no_reason_is_invented_outside_commands(bundled):
    source = Source.objects.create(title="From a test")
    assert not latest(source).history_change_reason


def bulk_entries(name: str, count: int):
    """(count entries of one company, written in bulk with no history, that company)."""
    category = Category.objects.get(slug="data-centre")
    company = Company.objects.create(slug=f"t-{name}-co", name=f"{name.title()} Co")
    entries = Entry.objects.bulk_create(
        [Entry(public_id=f"t-{name}-{i}", title=f"{name} {i}", category=category)
         for i in range(count)]  # fmt: skip
    )
    Entry.companies.through.objects.bulk_create(
        [Entry.companies.through(entry_id=e.pk, company_id=company.pk) for e in entries]
    )
    return entries, company


def test_bulk_writes_are_recorded_with_bulk_record(bundled):
    entries, company = bulk_entries("bulk", 3)
    rows = history.bulk_record(Entry, entries, "+", reason="techmap import bulk.csv")
    assert len(rows) == 3
    for entry in entries:
        row = latest(entry)
        assert row.history_type == "+"
        assert row.history_change_reason == "techmap import bulk.csv"
        assert [c.company_id for c in row.companies.all()] == [company.pk]

    for entry in entries:
        entry.title += " (updated)"
        entry.version += 1
    Entry.objects.bulk_update(entries, ["title", "version"])
    history.bulk_record(Entry, entries, "~", reason="techmap import bulk.csv")
    row = latest(entries[0])
    assert row.history_type == "~"
    assert history.diff_fields(row, row.prev_record) == ["title"]


@pytest.mark.parametrize(
    "chosen, ids_as_parameters",
    [
        ([1, 2, 3], 1000),  # consecutive ids: a range
        ([0, 2, 4, 5], 1000),  # a gap: ids as parameters
        ([0, 2, 4, 5], 2),  # a gap and more ids than parameters: a temporary table
    ],
)
def test_bulk_record_rows_records_exactly_the_chosen_rows(bundled, monkeypatch, chosen,
                                                        ids_as_parameters):  # fmt: skip
    monkeypatch.setattr(history, "IDS_AS_PARAMETERS", ids_as_parameters)
    entries, company = bulk_entries("rows", 7)
    pks = [entries[i].pk for i in chosen]
    history.bulk_record_rows(Entry, pks, "+", reason="techmap import rows.csv")
    recorded = Entry.history.filter(history_change_reason="techmap import rows.csv")
    assert sorted(recorded.values_list("id", flat=True)) == sorted(pks)
    for row in recorded:
        assert [c.company_id for c in row.companies.all()] == [company.pk]


def test_entry_source_bulk_rows_are_recorded_with_bulk_record(bundled):
    entry = editable_entry()
    source = Source.objects.create(title="Bulk linked")
    links = EntrySource.objects.bulk_create([EntrySource(entry=entry, source=source, position=2)])
    history.bulk_record(EntrySource, links, "+")
    assert latest(links[0]).history_type == "+"


# The public change log ------------------------------------------------------------------------


def test_public_change_log_lists_dates_kinds_and_field_labels(bundled):
    entry = editable_entry()
    backdate(entry)
    entry.title = "New title"
    entry.year_started = 2015
    entry.save()
    log = history.public_change_log(entry)
    assert log[0]["kind"] == "changed"
    assert set(log[0]["changes"]) == {"Title", "Year commenced"}
    assert log[-1]["kind"] == "created"
    assert set(log[0]) == {"date", "kind", "changes"}
    assert log[0]["date"] >= log[-1]["date"]


def test_public_change_log_hides_bookkeeping_only_saves(bundled):
    entry = editable_entry()
    before = history.public_change_log(entry)
    entry.save()  # raises the version and the timestamp, changes nothing a reader sees
    assert history.public_change_log(entry) == before


def test_public_change_log_tells_one_save_with_its_relations_as_one_change(bundled):
    entry = editable_entry()
    backdate(entry)
    entry.title = "Retitled"
    entry.save()
    entry.topics.add(Topic.objects.first())
    log = history.public_change_log(entry)
    assert len(log) == 2
    assert set(log[0]["changes"]) == {"Title", "Topics"}


def test_entry_page_shows_the_change_log_without_staff_names(bundled):
    entry = editable_entry()
    curator = make_editor(SECRET_USERNAME)
    curator.email = SECRET_EMAIL
    curator.first_name, curator.last_name = "Zoltan", "Quarrington"
    curator.save()
    client = client_for(curator)
    data = change_form_data(client.get(change_url(entry)))
    data["title"] = "Title edited by the curator"
    data["financing_lender"] = "A bank"
    assert client.post(change_url(entry), data).status_code == 302
    with history.change_reason("private note: phoned the source"):
        entry.refresh_from_db()
        entry.city = "Hamilton"
        entry.save()

    page = client_for(make_editor("t-reader")).get(entry.get_absolute_url())
    html = page.content.decode()
    assert page.status_code == 200
    assert "Change log" in html
    assert "changed title, financing lender" in html
    assert "changed city" in html
    assert timezone.localdate().strftime("%Y") in html
    for private in (SECRET_USERNAME, SECRET_EMAIL, "Zoltan", "Quarrington", "phoned the source"):
        assert private not in html


def test_public_change_log_never_names_anyone(bundled):
    entry = editable_entry()
    log = history.public_change_log(entry)
    for event in log:
        assert set(event) == {"date", "kind", "changes"}


# The importer ---------------------------------------------------------------------------------
# New companies, categories and topics are saved one at a time; entries, their source links
# and new sources are written in bulk by the importer, which records them with
# history.bulk_record().

DATA_CSV = Path(__file__).parent / "fixtures" / "aspi" / "data.csv"


def test_an_import_records_the_taxonomy_it_creates(bundled):
    from techmap.exchange.importers import run_import

    before = {m: set(m.objects.values_list("pk", flat=True)) for m in (Company, Category, Topic)}
    with history.change_reason("techmap import data.csv --format aspi"):
        report = run_import(DATA_CSV, "aspi")
    assert report.created > 0
    for model, old in before.items():
        for obj in model.objects.exclude(pk__in=old):
            row = latest(obj)
            assert row is not None and row.history_type == "+", obj
            assert row.history_change_reason == "techmap import data.csv --format aspi"


def test_an_import_records_the_entries_and_sources_it_writes_in_bulk(bundled):
    from techmap.exchange.importers import run_import

    old_sources = set(Source.objects.values_list("pk", flat=True))
    run_import(DATA_CSV, "aspi")
    imported = Entry.objects.filter(external_refs__has_key="chinatechmap_marker")
    assert imported.exists()
    for entry in imported:
        assert entry.history.filter(history_type="+").exists(), entry.public_id
        for link in entry.entry_sources.all():
            assert link.history.exists()
    for source in Source.objects.exclude(pk__in=old_sources):
        assert source.history.exists()


def test_link_snapshots_of_consecutive_rows_belong_to_their_own_history_rows(bundled):
    entries, company = bulk_entries("range", 6)
    pks = [e.pk for e in entries]
    assert max(pks) - min(pks) == len(pks) - 1  # a range: the snapshots are found by offset
    history.bulk_record_rows(Entry, pks, "+", reason="techmap import range.csv")
    rows = Entry.history.filter(history_change_reason="techmap import range.csv")
    assert sorted(r.id for r in rows) == pks
    for row in rows:
        assert [(c.entry_id, c.company_id) for c in row.companies.all()] == [(row.id, company.pk)]


def test_history_id_offset_is_none_unless_every_copied_row_has_it(bundled):
    from django.db import connection

    entries, _ = bulk_entries("offset", 4)
    pks = [e.pk for e in entries]
    history.bulk_record_rows(Entry, pks, "+", reason="techmap import offset.csv")
    rows = list(Entry.history.filter(history_change_reason="techmap import offset.csv"))
    date = connection.ops.adapt_datetimefield_value(rows[0].history_date)
    offset = rows[0].history_id - rows[0].id
    table = connection.ops.quote_name(Entry.history.model._meta.db_table)
    pk = connection.ops.quote_name("id")
    with connection.cursor() as cursor:
        found = history._history_id_offset(cursor, table, pk, date, min(pks), max(pks), 4)
        assert found == offset
        # A row fewer than the range holds, another date, a range not the one copied: None.
        assert history._history_id_offset(cursor, table, pk, date, min(pks), max(pks), 3) is None
        other = connection.ops.adapt_datetimefield_value(timezone.now())
        assert history._history_id_offset(cursor, table, pk, other, min(pks), max(pks), 4) is None
        shifted = (min(pks) + 1, max(pks) + 1)
        assert history._history_id_offset(cursor, table, pk, date, *shifted, 4) is None


def test_the_entry_history_is_indexed_only_by_what_reads_it():
    """The history is read by entry id and by date (and the user, whose deletion looks it
    up): an index on any other column only slows every import."""
    from django.db import connection

    table = Entry.history.model._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"] or c["primary_key"]}
    assert indexed == {("history_id",), ("id",), ("history_date",), ("history_user_id",)}
