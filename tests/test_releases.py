"""Releases: frozen, immutable copies of the published dataset and their changelogs.

In-process tests write release files under a temporary DATA_DIR (releases_dir() reads the
setting at call time); the CLI tests run the real `techmap` entry point as subprocesses,
each with its own data directory and SQLite database.
"""

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source, Topic
from techmap.releases import release as release_module
from techmap.releases.changelog import changed_fields, diff_releases
from techmap.releases.models import Release, ReleaseEntry, ReleaseImmutable, releases_dir
from techmap.releases.release import ReleaseError, create_release, row_hash
from tests.html_checks import parse

TECHMAP = Path(sys.executable).parent / "techmap"
DOWNLOAD_NAMES = ["entries.csv", "entries.geojson", "datapackage.zip", "datapackage.json"]


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """Every in-process test writes its releases under its own temporary DATA_DIR."""
    settings.DATA_DIR = tmp_path
    return tmp_path


def make_entry(public_id, *, status=Entry.Status.PUBLISHED, **fields):
    """An entry of the first category and company, with one source."""
    fields.setdefault("title", f"Entry {public_id}")
    fields.setdefault("category", Category.objects.order_by("pk").first())
    entry = Entry.objects.create(public_id=public_id, status=status, **fields)
    entry.companies.set([Company.objects.order_by("pk").first()])
    source = Source.objects.create(title=f"Source for {public_id}", url="https://example.org/s")
    EntrySource.objects.create(entry=entry, source=source, position=0)
    return entry


def published_ids() -> set[str]:
    return set(Entry.objects.published().values_list("public_id", flat=True))


def csv_ids(data: bytes) -> list[str]:
    return [row["id"] for row in csv.DictReader(io.StringIO(data.decode("utf-8")))]


def geojson_ids(data: bytes) -> list[str]:
    return [feature["id"] for feature in json.loads(data)["features"]]


def all_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in all_files(folder)}


@pytest.fixture
def two_releases(bundled):
    """Release a; then one title changed, one entry added, one retired, a draft; release b."""
    a = create_release("a", "First release.")
    changed, retired = Entry.objects.published().order_by("public_id")[:2]
    changed.title = "A new title"
    changed.save()
    retired.status = Entry.Status.RETIRED
    retired.save()
    added = make_entry("zz-added")
    draft = make_entry("zz-draft", status=Entry.Status.DRAFT)
    b = create_release("b", "Second release.")
    return {"a": a, "b": b, "changed": changed, "retired": retired, "added": added, "draft": draft}


# --- creating a release ---------------------------------------------------------------------


def test_release_files_hold_exactly_the_published_entries(bundled, data_dir):
    make_entry("zz-draft", status=Entry.Status.DRAFT)
    make_entry("zz-retired", status=Entry.Status.RETIRED)
    expected = published_ids()

    release = create_release("v1", "Notes.")

    folder = data_dir / "releases" / "v1"
    assert release.folder == folder
    assert sorted(csv_ids((folder / "entries.csv").read_bytes())) == sorted(expected)
    assert sorted(geojson_ids((folder / "entries.geojson").read_bytes())) == sorted(expected)
    with zipfile.ZipFile(folder / "datapackage.zip") as zipped:
        assert sorted(zipped.namelist()) == ["datapackage.json", "entries.csv", "entries.geojson"]
        assert zipped.read("entries.csv") == (folder / "entries.csv").read_bytes()
    descriptor = json.loads((folder / "datapackage.json").read_text())
    assert [r["path"] for r in descriptor["resources"]] == ["entries.csv", "entries.geojson"]
    assert set(release.entries.values_list("public_id", flat=True)) == expected
    assert release.entry_count == len(expected)
    assert release.counts["entries"] == len(expected)
    for path in all_files(folder):
        assert b"zz-draft" not in path.read_bytes()
        assert b"zz-retired" not in path.read_bytes()


def test_release_info_file_describes_the_release(bundled):
    release = create_release("v1", "Dated notes.")
    info = json.loads((release.folder / "release.json").read_text())
    assert info["name"] == "v1"
    assert info["notes"] == "Dated notes."
    assert info["entry_count"] == release.entry_count
    assert info["counts"] == release.counts


def test_snapshot_rows_are_the_exported_geojson_properties(bundled):
    release = create_release("v1")
    features = json.loads((release.folder / "entries.geojson").read_bytes())["features"]
    snapshot = {e.public_id: e for e in release.entries.all()}
    for feature in features:
        row = snapshot[feature["id"]]
        assert row.row == feature["properties"]
        assert row.title == feature["properties"]["title"]
        assert row.row_hash == row_hash(feature["properties"])


def test_dry_run_counts_and_writes_nothing(bundled, data_dir):
    preview = create_release("v1", dry_run=True)
    assert preview.entry_count == len(published_ids())
    assert not Release.objects.exists()
    assert not (data_dir / "releases").exists() or not any((data_dir / "releases").iterdir())


@pytest.mark.parametrize("name", ["", "V1", "../x", "a/b", "-x", "x-", "a b", ".x", "x" * 65])
def test_a_bad_name_is_refused(bundled, name):
    with pytest.raises(ReleaseError, match="invalid release name"):
        create_release(name)
    assert not Release.objects.exists()


@pytest.mark.parametrize("name", ["v1", "2026-11", "v1.2", "x"])
def test_good_names_are_accepted(bundled, name):
    assert create_release(name).name == name


def test_a_used_name_is_refused_and_the_release_kept(bundled):
    first = create_release("v1")
    frozen = folder_bytes(first.folder)
    make_entry("zz-later")
    with pytest.raises(ReleaseError, match="already exists"):
        create_release("v1")
    assert Release.objects.count() == 1
    assert folder_bytes(first.folder) == frozen


def test_a_concurrent_release_of_the_same_name_fails_on_the_row(bundled, monkeypatch):
    first = create_release("v1")
    frozen = folder_bytes(first.folder)
    monkeypatch.setattr(release_module, "check_release_name", lambda name: None)
    with pytest.raises(ReleaseError, match="already exists"):
        create_release("v1")
    assert folder_bytes(first.folder) == frozen
    assert [p.name for p in releases_dir().iterdir()] == ["v1"]


def test_a_failed_file_write_leaves_no_release(bundled, monkeypatch):
    def broken_writer(entries, folder):
        (folder / "entries.csv").write_text("id\r\nhalf")
        raise OSError("disk full")

    monkeypatch.setattr(release_module, "write_package_files", broken_writer)
    with pytest.raises(OSError, match="disk full"):
        create_release("v1")
    assert not Release.objects.exists()
    assert not ReleaseEntry.objects.exists()
    assert list(releases_dir().iterdir()) == []


def test_a_failed_snapshot_insert_leaves_no_row_and_no_folder(bundled, monkeypatch):
    def broken_snapshot(release, path, expected):
        raise RuntimeError("database went away")

    monkeypatch.setattr(release_module, "_save_snapshot", broken_snapshot)
    with pytest.raises(RuntimeError):
        create_release("v1")
    assert not Release.objects.exists()
    assert list(releases_dir().iterdir()) == []


def test_a_failed_commit_removes_the_folder_again(bundled, monkeypatch):
    original = release_module._consistent_snapshot

    @contextmanager
    def failing_commit():
        with original():
            yield
        raise RuntimeError("commit failed")

    monkeypatch.setattr(release_module, "_consistent_snapshot", failing_commit)
    with pytest.raises(RuntimeError, match="commit failed"):
        create_release("v1")
    assert list(releases_dir().iterdir()) == []


def test_a_folder_left_by_a_crash_is_replaced(bundled):
    orphan = releases_dir() / "v1"
    orphan.mkdir(parents=True)
    (orphan / "entries.csv").write_text("half written")
    (orphan / "junk.txt").write_text("junk")
    release = create_release("v1")
    assert not (orphan / "junk.txt").exists()
    assert csv_ids((orphan / "entries.csv").read_bytes())
    assert [p.name for p in releases_dir().iterdir()] == ["v1"]
    assert release.entries.count() == release.entry_count


# --- immutability ---------------------------------------------------------------------------


def test_a_release_cannot_be_changed_or_deleted(bundled):
    release = create_release("v1", "Original notes.")
    release.notes = "Rewritten history."
    with pytest.raises(ReleaseImmutable):
        release.save()
    with pytest.raises(ReleaseImmutable):
        release.delete()
    with pytest.raises(ReleaseImmutable):
        Release.objects.filter(pk=release.pk).update(notes="Rewritten history.")
    with pytest.raises(ReleaseImmutable):
        Release.objects.all().delete()
    assert Release.objects.get().notes == "Original notes."


def test_a_release_snapshot_cannot_be_changed_or_deleted(bundled):
    release = create_release("v1")
    row = release.entries.first()
    row.title = "Changed"
    with pytest.raises(ReleaseImmutable):
        row.save()
    with pytest.raises(ReleaseImmutable):
        row.delete()
    with pytest.raises(ReleaseImmutable):
        release.entries.update(title="Changed")
    with pytest.raises(ReleaseImmutable):
        ReleaseEntry.objects.all().delete()
    assert release.entries.count() == release.entry_count


def test_the_admin_shows_releases_read_only(admin_client, bundled):
    release = create_release("v1")
    assert admin_client.get("/admin/releases/release/").status_code == 200
    assert admin_client.get(f"/admin/releases/release/{release.pk}/change/").status_code == 200
    assert admin_client.get("/admin/releases/release/add/").status_code == 403
    assert admin_client.get(f"/admin/releases/release/{release.pk}/delete/").status_code == 403
    response = admin_client.post(
        f"/admin/releases/release/{release.pk}/change/", {"notes": "Rewritten"}
    )
    assert response.status_code == 403
    assert Release.objects.get().notes == ""


# --- changelogs -----------------------------------------------------------------------------


def test_diff_lists_exactly_the_added_removed_and_changed_entries(two_releases):
    r = two_releases
    diff = diff_releases(r["a"], r["b"])
    assert [c.id for c in diff.added] == ["zz-added"]
    assert [c.id for c in diff.removed] == [r["retired"].public_id]
    assert [(c.id, c.fields) for c in diff.changed] == [(r["changed"].public_id, ("title",))]
    assert diff.changed[0].title == "A new title"
    assert diff.removed[0].title == r["retired"].title


def test_diff_names_every_changed_field_in_column_order(bundled):
    entry = make_entry("zz-entry")
    a = create_release("a")
    entry.country = Country.objects.get(iso2="NO")
    entry.topics.add(Topic.objects.create(slug="t-new", name="New topic"))
    entry.year_started = 2019
    entry.save()
    source = Source.objects.create(title="Another source", url="https://example.org/two")
    EntrySource.objects.create(entry=entry, source=source, position=1)
    b = create_release("b")
    [change] = diff_releases(a, b).changed
    assert change.id == "zz-entry"
    assert change.fields == ("topics", "country", "country_name", "year_started", "sources")


def test_a_resave_without_changes_is_not_a_change(bundled):
    a = create_release("a")
    for entry in Entry.objects.published()[:3]:
        entry.save()  # moves the updated timestamp only
    b = create_release("b")
    assert diff_releases(a, b).is_empty


def test_diff_in_reverse_swaps_added_and_removed(two_releases):
    r = two_releases
    diff = diff_releases(r["b"], r["a"])
    assert [c.id for c in diff.added] == [r["retired"].public_id]
    assert [c.id for c in diff.removed] == ["zz-added"]


def test_changed_fields_ignores_the_updated_timestamp():
    old = {"id": "x", "title": "A", "updated": "2026-01-01", "extra": 1}
    new = {"id": "x", "title": "B", "updated": "2026-02-02", "added": 2}
    assert changed_fields(old, new) == ("title", "added", "extra")  # unknown ones last, sorted


def test_release_diff_command_prints_text_and_json(two_releases):
    r = two_releases
    out = io.StringIO()
    call_command("release", "diff", "a", "b", stdout=out)
    text = out.getvalue()
    assert "1 added, 1 changed, 1 removed" in text
    assert "+ zz-added" in text
    assert f"~ {r['changed'].public_id}  A new title [title]" in text
    assert f"- {r['retired'].public_id}" in text
    assert "zz-draft" not in text
    out = io.StringIO()
    call_command("release", "diff", "a", "b", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["summary"] == {"added": 1, "changed": 1, "removed": 1}
    assert data["changed"] == [
        {"id": r["changed"].public_id, "title": "A new title", "fields": ["title"]}
    ]
    assert [c["id"] for c in data["removed"]] == [r["retired"].public_id]


# --- pages and downloads --------------------------------------------------------------------


def test_release_pages_answer_200_with_one_h1(client, two_releases):
    for url in ("/releases/", "/releases/a/", "/releases/b/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(parse(response).h1_texts) == 1, url
        assert not parse(response).inline_script_text


def test_release_list_shows_every_release_with_notes_and_downloads(client, two_releases):
    response = client.get("/releases/")
    html = response.content.decode()
    for name, notes in (("a", "First release."), ("b", "Second release.")):
        release = two_releases[name]
        assert f'href="/releases/{name}/"' in html
        assert notes in html
        assert release.created.strftime("%Y-%m-%d") in html
        for filename in ("entries.csv", "entries.geojson", "datapackage.zip"):
            assert f'href="/releases/{name}/{filename}"' in html
    assert html.index('href="/releases/b/"') < html.index('href="/releases/a/"')


def test_release_list_queries_do_not_grow_with_releases(
    client, bundled, django_assert_max_num_queries
):
    for name in ("a", "b", "c"):
        create_release(name)
    with django_assert_max_num_queries(3):
        assert client.get("/releases/").status_code == 200


def test_release_page_shows_counts_downloads_and_changelog(client, two_releases):
    r = two_releases
    response = client.get("/releases/b/")
    page = parse(response)
    links = {a.get("href") for a in page.find_all("a")}
    assert "/entries/zz-added/" in links
    assert f"/entries/{r['changed'].public_id}/" in links
    # Retired entries are no longer published: listed, but not linked.
    assert f"/entries/{r['retired'].public_id}/" not in links
    html = response.content.decode()
    assert r["retired"].public_id in html
    assert "changed: title" in html
    assert "zz-draft" not in html
    assert 'href="/releases/a/"' in html
    assert f"{r['b'].entry_count} published entries" in html
    for filename in ("entries.csv", "entries.geojson", "datapackage.zip"):
        assert f"/releases/b/{filename}" in links


def test_first_release_page_says_it_is_the_first(client, bundled):
    create_release("v1")
    assert "This is the first release." in client.get("/releases/v1/").content.decode()


@pytest.mark.parametrize("filename", DOWNLOAD_NAMES)
def test_downloads_serve_the_frozen_files_after_the_live_data_changed(
    client, two_releases, filename
):
    a = two_releases["a"]
    frozen = (a.folder / filename).read_bytes()
    Entry.objects.published().update(title="Changed after the release")
    response = client.get(reverse("releases:download", args=["a", filename]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == frozen
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="techmap-a-{filename}"' in disposition


def test_a_release_csv_download_holds_the_entries_of_its_day(client, two_releases):
    r = two_releases
    data = b"".join(client.get("/releases/a/entries.csv").streaming_content)
    ids = csv_ids(data)
    assert r["retired"].public_id in ids
    assert "zz-added" not in ids and "zz-draft" not in ids
    assert b"A new title" not in data
    data = b"".join(client.get("/releases/b/entries.csv").streaming_content)
    assert sorted(csv_ids(data)) == sorted(published_ids())


@pytest.mark.parametrize(
    "url",
    [
        "/releases/nope/",
        "/releases/nope/entries.csv",
        "/releases/v1/secret_key",
        "/releases/v1/release.json.bak",
        "/releases/v1/..%2Fsecret_key",
    ],
)
def test_unknown_releases_and_files_are_404(client, bundled, url):
    create_release("v1")
    response = client.get(url)
    assert response.status_code == 404
    assert len(parse(response).h1_texts) == 1


def test_a_missing_frozen_file_is_404(client, bundled):
    release = create_release("v1")
    (release.folder / "entries.csv").unlink()
    assert client.get("/releases/v1/entries.csv").status_code == 404


def test_data_page_links_to_the_releases(client, bundled):
    links = {a.get("href") for a in parse(client.get("/data/")).find_all("a")}
    assert "/releases/" in links


# --- the techmap release command, through its real entry point ------------------------------


def techmap_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECHMAP_")}
    env["TECHMAP_DATA_DIR"] = str(data_dir)
    env["TECHMAP_DATABASE_URL"] = f"sqlite:///{data_dir / 'db.sqlite3'}"
    return env


def run_techmap(*args, env):
    return subprocess.run(
        [str(TECHMAP), *args], env=env, capture_output=True, text=True, timeout=180
    )


def sql(data_dir: Path, statement: str, *params):
    con = sqlite3.connect(data_dir / "db.sqlite3")
    try:
        with con:
            return con.execute(statement, params).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def cli_data(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("release-cli")
    env = techmap_env(data_dir)
    result = run_techmap("init", env=env)
    assert result.returncode == 0, result.stderr
    return data_dir, env


def published_in(data_dir: Path) -> set[str]:
    rows = sql(data_dir, "select public_id from catalog_entry where status='published'")
    return {row[0] for row in rows}


def test_techmap_release_create_list_and_diff(cli_data):
    data_dir, env = cli_data
    first_ids = published_in(data_dir)
    result = run_techmap("release", "create", "r1", "--notes", "First cut.", env=env)
    assert result.returncode == 0, result.stderr
    assert "r1" in result.stdout and str(len(first_ids)) in result.stdout
    folder = data_dir / "releases" / "r1"
    assert set(csv_ids((folder / "entries.csv").read_bytes())) == first_ids

    changed, retired = sorted(first_ids)[:2]
    sql(data_dir, "update catalog_entry set title='Retitled' where public_id=?", changed)
    sql(data_dir, "update catalog_entry set status='retired' where public_id=?", retired)
    result = run_techmap("release", "create", "r2", env=env)
    assert result.returncode == 0, result.stderr
    assert retired not in csv_ids((data_dir / "releases" / "r2" / "entries.csv").read_bytes())

    result = run_techmap("release", "list", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("r2\t") and lines[1].startswith("r1\t")
    assert "First cut." in lines[1]

    result = run_techmap("release", "diff", "r1", "r2", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["added"] == []
    assert data["changed"] == [{"id": changed, "title": "Retitled", "fields": ["title"]}]
    assert [c["id"] for c in data["removed"]] == [retired]

    result = run_techmap("release", "diff", "r1", "r2", env=env)
    assert result.returncode == 0, result.stderr
    assert "0 added, 1 changed, 1 removed" in result.stdout
    assert f"~ {changed}  Retitled [title]" in result.stdout


def test_techmap_release_create_with_a_used_name_fails(cli_data):
    data_dir, env = cli_data
    assert run_techmap("release", "create", "same", env=env).returncode == 0
    frozen = folder_bytes(data_dir / "releases" / "same")
    result = run_techmap("release", "create", "same", "--notes", "again", env=env)
    assert result.returncode != 0
    assert "already exists" in result.stderr
    assert "Traceback" not in result.stderr
    assert folder_bytes(data_dir / "releases" / "same") == frozen


def test_techmap_release_dry_run_writes_nothing(cli_data):
    data_dir, env = cli_data
    result = run_techmap("release", "create", "dry", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert f"Would freeze {len(published_in(data_dir))} published entries" in result.stdout
    assert not (data_dir / "releases" / "dry").exists()
    assert sql(data_dir, "select count(*) from releases_release where name='dry'") == [(0,)]


@pytest.mark.parametrize(
    "args,message",
    [
        (["diff", "missing", "other"], "no release named 'missing'"),
        (["create", "Bad Name"], "invalid release name"),
    ],
)
def test_techmap_release_errors_are_clear(cli_data, args, message):
    _, env = cli_data
    result = run_techmap("release", *args, env=env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_techmap_release_help_documents_every_action(cli_data):
    _, env = cli_data
    result = run_techmap("release", "--help", env=env)
    assert result.returncode == 0
    for action in ("create", "list", "diff"):
        assert action in result.stdout
