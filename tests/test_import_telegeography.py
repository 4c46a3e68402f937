"""`techmap import --format telegeography`: a folder of TeleGeography cable JSON files.

The fixture folder tests/fixtures/telegeography holds made-up cables (see its README).
"""

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from techmap.catalog.models import Entry
from techmap.exchange.importers.telegeography import (
    DEFAULT_ALIASES,
    owner_matchers,
    parse_telegeography,
    split_owners,
)
from tests.test_import_aspi import count_rows, import_file, run_techmap, techmap_env

CABLES = Path(__file__).resolve().parent / "fixtures" / "telegeography"


@pytest.fixture
def empty_db(tmp_path):
    """A data folder whose database holds the taxonomy and companies but no entries."""
    env = techmap_env(tmp_path)
    assert run_techmap("init", "--empty", env=env).returncode == 0
    return tmp_path, env


def copy_cables(tmp_path: Path) -> Path:
    folder = tmp_path / "cables"
    shutil.copytree(CABLES, folder)
    return folder


def edit_cable(folder: Path, slug: str, **changes) -> None:
    path = folder / f"{slug}.json"
    cable = json.loads(path.read_text(encoding="utf-8"))
    cable.update(changes)
    path.write_text(json.dumps(cable), encoding="utf-8")


def matched_slugs(owners: str, aliases=None) -> list[str]:
    names = split_owners(owners)
    return [c.slug for c, p in owner_matchers(aliases) if any(p.search(n) for n in names)]


# --- owner matching --------------------------------------------------------------------------


def test_owners_match_company_names_and_aliases_as_whole_words(db):
    assert matched_slugs("China Telecom Global,  Test Telco A") == ["china-telecom"]
    assert matched_slugs("HMN Technologies, China Mobile International") == [
        "china-mobile",
        "huawei",
    ]
    assert matched_slugs("china unicom") == ["china-unicom"]
    assert matched_slugs("China Telecommunications Test Lab, Chinatelecom") == []
    assert matched_slugs("Test Telco B, Test Telco C") == []


def test_alias_file_replaces_a_companys_aliases(db):
    assert matched_slugs("Test Sea Networks") == []
    assert matched_slugs("Test Sea Networks", {"huawei": ["Test Sea Networks"]}) == ["huawei"]
    # Replaced, not merged: the default Huawei aliases no longer apply ...
    assert matched_slugs("HMN Technologies", {"huawei": ["Test Sea Networks"]}) == []
    # ... but the company's own name always does.
    assert matched_slugs("Huawei Marine", {"huawei": []}) == ["huawei"]
    assert "china-telecom" in DEFAULT_ALIASES


# --- importing the fixture -------------------------------------------------------------------


def test_import_creates_one_entry_per_cable_with_a_tracked_owner_and_skips_the_rest(db):
    out, err, failure = import_file(CABLES, "telegeography")
    assert failure is None, err
    assert out.strip() == "created 2, updated 0, unchanged 0, skipped 2, invalid 0"
    ids = sorted(
        Entry.objects.filter(public_id__startswith="tg-").values_list("public_id", flat=True)
    )
    assert ids == ["tg-test-cable-one", "tg-test-cable-three"]


def test_a_cable_entry_links_every_matching_company_and_keeps_the_cable_data(db):
    import_file(CABLES, "telegeography")
    cable = Entry.objects.get(public_id="tg-test-cable-three")
    assert cable.title == "Test Cable Three"
    assert cable.category.slug == "cable-undersea"
    assert sorted(c.slug for c in cable.companies.all()) == [
        "china-mobile",
        "china-unicom",
        "huawei",
    ]
    assert cable.partners == [
        "China Mobile International",
        "China Unicom",
        "Huawei Marine Networks",
        "Test Telco D",
    ]
    assert cable.year_started == 2021
    assert (cable.country, cable.precision, cable.has_point) == (None, "none", False)
    assert cable.external_refs["telegeography_cable"] == "test-cable-three"
    assert cable.external_refs["landing_points"] == [
        "Demo Bay, Djibouti",
        "Exampleburg, Egypt",
        "Placeholder, Fiji",
    ]
    assert "website" not in cable.external_refs  # its url is ftp://, not a web page
    assert cable.line_geometry["type"] == "MultiLineString"
    assert len(cable.line_geometry["coordinates"]) == 2
    # 180.0000001 in the file is wrapped to stay a valid longitude.
    assert cable.line_geometry["coordinates"][1][2] == [-179.9999999, -18.0]
    assert cable.status == "published"


def test_the_source_is_the_cables_page_on_telegeographys_map(db):
    import_file(CABLES, "telegeography")
    source = Entry.objects.get(public_id="tg-test-cable-one").sources.get()
    assert source.title == "Submarine Cable Map: Test Cable One"
    assert source.publisher == "TeleGeography"
    assert source.url == "https://www.submarinecablemap.com/submarine-cable/test-cable-one"
    one = Entry.objects.get(public_id="tg-test-cable-one")
    assert one.external_refs["website"] == "http://www.example.org/test-cable-one"
    assert one.year_started == 2016


def test_reimport_changes_nothing(db):
    import_file(CABLES, "telegeography")
    stamps = dict(Entry.objects.values_list("public_id", "updated"))
    out, _, failure = import_file(CABLES, "telegeography")
    assert failure is None
    assert out.strip() == "created 0, updated 0, unchanged 2, skipped 2, invalid 0"
    assert dict(Entry.objects.values_list("public_id", "updated")) == stamps


def test_a_changed_cable_updates_its_entry(db, tmp_path):
    folder = copy_cables(tmp_path)
    import_file(folder, "telegeography")
    edit_cable(folder, "test-cable-one", owners="China Telecom Global, China Unicom, Test Telco A")
    out, _, failure = import_file(folder, "telegeography")
    assert failure is None
    assert out.strip() == "created 0, updated 1, unchanged 1, skipped 2, invalid 0"
    cable = Entry.objects.get(public_id="tg-test-cable-one")
    assert sorted(c.slug for c in cable.companies.all()) == ["china-telecom", "china-unicom"]


def test_aliases_option_reads_a_json_file(db, tmp_path):
    aliases = tmp_path / "aliases.json"
    aliases.write_text(json.dumps({"zte": ["Test Telco B"]}), encoding="utf-8")
    out, _, failure = import_file(CABLES, "telegeography", aliases=str(aliases))
    assert failure is None
    assert out.strip() == "created 3, updated 0, unchanged 0, skipped 1, invalid 0"
    cable = Entry.objects.get(public_id="tg-test-cable-two")
    assert [c.slug for c in cable.companies.all()] == ["zte"]


def test_a_bad_aliases_file_is_a_clean_error(db, tmp_path):
    aliases = tmp_path / "aliases.json"
    aliases.write_text('["not", "a", "mapping"]', encoding="utf-8")
    with pytest.raises(CommandError, match="must be a JSON object"):
        import_file_raising(CABLES, aliases=str(aliases))


def import_file_raising(path, **options):
    call_command("import", str(path), format="telegeography", stdout=io.StringIO(), **options)


# --- bad input -------------------------------------------------------------------------------


def test_invalid_cables_are_reported_by_file_and_column_and_block_the_import(db, tmp_path):
    folder = copy_cables(tmp_path)
    edit_cable(folder, "test-cable-one", rfs="sometime soon")
    landing = json.loads((folder / "test-cable-three.json").read_text())["landing_points"]
    landing[0]["latlon"] = "95.0,43.1"
    edit_cable(folder, "test-cable-three", landing_points=landing)
    (folder / "broken.json").write_text('{"id": "broken", "name": ', encoding="utf-8")
    before = Entry.objects.count()
    out, err, failure = import_file(folder, "telegeography")
    assert failure is not None and "3 invalid row(s)" in str(failure)
    assert "test-cable-one.json, column rfs: 'sometime soon' does not start with a year" in err
    assert "test-cable-three.json, column landing_points: Demo Bay, Djibouti: latitude" in err
    assert "broken.json: not a cable JSON file" in err
    assert out.strip() == "Nothing written: created 0, updated 0, unchanged 0, skipped 2, invalid 3"
    assert Entry.objects.count() == before
    out, _, failure = import_file(folder, "telegeography", skip_invalid=True)
    assert failure is not None
    assert out.strip() == "created 0, updated 0, unchanged 0, skipped 2, invalid 3"


def test_an_invalid_route_is_reported(db, tmp_path):
    folder = copy_cables(tmp_path)
    geo = json.loads((folder / "cable-geo.json").read_text())
    geo["features"][0]["geometry"]["coordinates"] = [[[39.6, -4.0]]]
    (folder / "cable-geo.json").write_text(json.dumps(geo))
    result = parse_telegeography(folder)
    assert [(e.file, e.column) for e in result.errors] == [
        ("test-cable-one.json", "cable-geo.json")
    ]
    assert [r.public_id for r in result.records] == ["tg-test-cable-three"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: CABLES / "test-cable-one.json", "is not a folder"),
        (lambda tmp: tmp, "has no cable-geo.json"),
    ],
)
def test_a_path_that_is_not_a_cable_folder_is_one_clear_error(db, tmp_path, make, message):
    with pytest.raises(CommandError, match=message):
        import_file_raising(make(tmp_path))


def test_a_cable_geo_file_that_is_not_geojson_is_a_clear_error(db, tmp_path):
    folder = copy_cables(tmp_path)
    (folder / "cable-geo.json").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(CommandError, match="PNG image"):
        import_file_raising(folder)


# --- the real entry point --------------------------------------------------------------------


def test_cli_imports_cables_then_reimports_nothing(empty_db):
    data_dir, env = empty_db
    first = run_techmap("import", CABLES, "--format", "telegeography", env=env)
    assert first.returncode == 0, first.stderr
    assert "created 2, updated 0, unchanged 0, skipped 2, invalid 0" in first.stdout
    again = run_techmap("import", CABLES, "--format", "telegeography", env=env)
    assert "created 0, updated 0, unchanged 2, skipped 2, invalid 0" in again.stdout
    assert count_rows(data_dir) == 2
    stats = run_techmap("stats", env=env)
    assert "2 undersea cables across 0 countries." in stats.stdout


def test_cli_wrong_path_is_one_clean_error(empty_db):
    data_dir, env = empty_db
    result = run_techmap("import", CABLES / "all.json", "--format", "telegeography", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("CommandError:")
    assert count_rows(data_dir) == 0


def test_cli_dry_run_writes_nothing(empty_db):
    data_dir, env = empty_db
    result = run_techmap("import", CABLES, "--format", "telegeography", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert "would have created 2" in result.stdout
    assert count_rows(data_dir) == 0
