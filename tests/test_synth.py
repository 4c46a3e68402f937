"""Synthetic benchmark entries: `techmap synth` and techmap.catalog.synth.

The in-process tests run on the suite's database (SQLite, or PostgreSQL when
TECHMAP_DATABASE_URL points at one); the CLI test runs the real entry point on its own
SQLite file. No test measures time: bench/ does that.
"""

import math
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from techmap.catalog import bulkload, synth
from techmap.catalog.geo import line_geometry_error
from techmap.catalog.models import Category, Company, Entry, EntrySource, Source
from techmap.releases.models import ReleaseEntry
from techmap.releases.release import create_release

TECHMAP = Path(sys.executable).parent / "techmap"
N = 2000


@pytest.fixture
def added(bundled):
    """2,000 synthetic entries with seed 7 next to the bundled data."""
    return synth.add_synthetic_entries(N, 7)


def _haversine_km(lat1, lng1, lat2, lng2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(a))


def _snapshot():
    """What a synthetic entry is, apart from its id: in insertion order."""
    entries = synth.synthetic_entries().order_by("pk")
    companies: dict[int, list[str]] = {}
    for entry_id, slug in (
        Entry.companies.through.objects.filter(entry__in=entries.values("pk"))
        .order_by("entry_id", "company__slug")
        .values_list("entry_id", "company__slug")
    ):
        companies.setdefault(entry_id, []).append(slug)
    return [
        (row[1:], companies[row[0]])
        for row in entries.values_list(
            "pk",
            "category__slug",
            "country__iso2",
            "city",
            "latitude",
            "longitude",
            "year_started",
            "line_geometry",
        )
    ]


# --- adding ---------------------------------------------------------------------------------


def test_synth_adds_the_number_asked_for_all_marked_synthetic(added):
    entries = Entry.objects.filter(public_id__startswith=synth.SYNTHETIC_PREFIX)
    assert added.entries == N
    assert entries.count() == N == synth.synthetic_entries().count()
    assert Entry.objects.exclude(public_id__startswith="synthetic-").count() == 32
    for entry in entries.only("pk", "public_id", "title", "external_refs", "status")[:200]:
        assert entry.public_id == f"synthetic-{entry.pk}"
        assert entry.title == f"Synthetic entry {entry.pk} (benchmark data)"
        assert entry.external_refs == {"synthetic": True}
        assert entry.status == Entry.Status.PUBLISHED


def test_every_synthetic_entry_cites_the_one_synthetic_source_and_has_companies(added):
    source = Source.objects.get(key=synth.SOURCE_KEY)
    assert source.title == "Synthetic benchmark data — not real"
    assert source.url == ""
    links = EntrySource.objects.filter(entry__in=synth.synthetic_entries().values("pk"))
    assert links.count() == N
    assert set(links.values_list("source_id", flat=True)) == {source.pk}
    without_company = synth.synthetic_entries().filter(companies__isnull=True)
    assert not without_company.exists()
    assert set(
        Company.objects.filter(entries__in=synth.synthetic_entries().values("pk")).values_list(
            "slug", flat=True
        )
    ) <= set(Company.objects.values_list("slug", flat=True))


def test_synthetic_entries_pass_model_validation(added):
    for entry in synth.synthetic_entries().order_by("?")[:50]:
        entry.full_clean()


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_rows(bundled):
    profile = synth.read_profile()
    first = list(synth.generate_rows(profile, 500, 11))
    assert first == list(synth.generate_rows(profile, 500, 11))
    assert first != list(synth.generate_rows(profile, 500, 12))


def test_rows_drawn_in_a_child_process_are_the_rows_of_the_generator(bundled, monkeypatch):
    profile = synth.read_profile()
    monkeypatch.setattr(synth, "CHUNK_SIZE", 400)  # 1,000 rows: drawn in a child process
    chunks = list(synth.generated_chunks(profile, 1000, 11))
    assert [len(c) for c in chunks] == [400, 400, 200]
    assert [row for chunk in chunks for row in chunk] == list(
        synth.generate_rows(profile, 1000, 11)
    )


def test_a_failure_while_drawing_rows_in_the_child_process_is_raised(bundled, monkeypatch):
    def broken(profile, count, seed):
        yield from ()
        raise ValueError("no cities")

    monkeypatch.setattr(synth, "CHUNK_SIZE", 100)
    monkeypatch.setattr(synth, "generate_rows", broken)
    with pytest.raises(synth.SynthError, match="no cities"):
        synth.add_synthetic_entries(1000, 3)
    assert synth.synthetic_entries().count() == 0


def test_the_same_seed_writes_the_same_entries_again_after_delete(bundled):
    synth.add_synthetic_entries(N, 5)
    before = _snapshot()
    synth.delete_synthetic_entries()
    synth.add_synthetic_entries(N, 5)
    assert _snapshot() == before


def test_points_are_in_range_and_within_200_km_of_a_real_city_of_their_country(added):
    cities = synth._cities()
    points = synth.synthetic_entries().filter(latitude__isnull=False)
    assert points.count() > N * 0.9
    for iso2, city, lat, lng in points.values_list(
        "country__iso2", "city", "latitude", "longitude"
    ):
        assert -90 <= lat <= 90 and -180 <= lng <= 180
        names, lats, lngs, _ = cities[iso2]
        nearest = min(
            _haversine_km(lat, lng, lats[k], lngs[k])
            for k, name in enumerate(names)
            if name == city
        )
        assert nearest < 200, (iso2, city, lat, lng)


def test_points_cluster_around_cities_rather_than_spread_evenly(added):
    cities = synth._cities()
    close = 0
    rows = synth.synthetic_entries().filter(latitude__isnull=False)
    for iso2, city, lat, lng in rows.values_list("country__iso2", "city", "latitude", "longitude"):
        names, lats, lngs, _ = cities[iso2]
        k = names.index(city)
        close += _haversine_km(lat, lng, lats[k], lngs[k]) < 15
    assert close > rows.count() * 0.8


def test_some_synthetic_entries_are_cables_with_a_valid_line(added):
    cables = synth.synthetic_entries().filter(line_geometry__isnull=False)
    assert added.cables == cables.count() > 0
    for cable in cables:
        assert cable.category.slug == "cable-undersea"
        assert cable.line_geometry["type"] == "LineString"
        assert line_geometry_error(cable.line_geometry) is None
        # Like imported TeleGeography cables: no country and no point.
        assert cable.country_id is None and cable.latitude is None
        assert cable.precision == Entry.Precision.NONE


def test_categories_follow_the_published_entries(added):
    real = Counter(
        Entry.objects.published()
        .exclude(public_id__startswith="synthetic-")
        .values_list("category__slug", flat=True)
    )
    fake = Counter(
        synth.synthetic_entries()
        .exclude(category__slug="cable-undersea")
        .values_list("category__slug", flat=True)
    )
    assert set(fake) == set(real)
    for slug in real:
        real_share = real[slug] / sum(real.values())
        fake_share = fake[slug] / sum(fake.values())
        assert abs(real_share - fake_share) < 0.05, slug


def test_years_fall_between_2005_and_2023_and_later_years_weigh_more(added):
    years = Counter(synth.synthetic_entries().values_list("year_started", flat=True))
    dated = {y: n for y, n in years.items() if y is not None}
    assert set(dated) <= set(range(2005, 2024))
    assert 0.7 < sum(dated.values()) / N < 0.9
    early = sum(n for y, n in dated.items() if y < 2010)
    late = sum(n for y, n in dated.items() if y >= 2018)
    assert late > early


def test_dry_run_writes_nothing_and_counts_by_category(bundled):
    result = synth.add_synthetic_entries(300, 1, dry_run=True)
    assert not synth.synthetic_entries().exists()
    assert not Source.objects.filter(key=synth.SOURCE_KEY).exists()
    assert sum(result.by_category.values()) == 300


def test_without_entries_to_imitate_synth_refuses(db):
    Entry.objects.all().delete()
    with pytest.raises(synth.SynthError, match="techmap init"):
        synth.add_synthetic_entries(10, 1)


def test_a_large_batch_restores_the_indexes_and_foreign_keys_it_dropped(bundled, monkeypatch):
    def schema():
        with connection.cursor() as cursor:
            return sorted(bulkload.schema_objects(cursor, synth._written_tables()))

    before = schema()
    assert len(before) >= 9  # the plain indexes (and foreign keys) of three tables
    monkeypatch.setattr(synth, "CHUNK_SIZE", 300)  # 1,000 rows now count as a large batch
    set_aside, real = [], bulkload.schema_set_aside

    def spy(tables, *, enabled=True):
        with real(tables, enabled=enabled):
            set_aside.append(schema())  # what is left inside the block
            yield

    monkeypatch.setattr(bulkload, "schema_set_aside", contextmanager(spy))
    synth.add_synthetic_entries(1000, 2)
    assert set_aside == [[]]
    assert schema() == before
    assert synth.synthetic_entries().count() == 1000
    with connection.cursor() as cursor:
        table = connection.introspection.get_table_description
        names = {c.name for c in table(cursor, Entry._meta.db_table)}
    assert "public_id" in names


def test_later_ordinary_inserts_get_fresh_ids(added):
    # On PostgreSQL the sequence must have been moved past the explicit ids.
    entry = Entry.objects.create(
        public_id="after-synth", title="After", category=Category.objects.first()
    )
    assert entry.pk > synth.synthetic_entries().order_by("-pk").values_list("pk", flat=True)[0]


# --- deleting and releases ------------------------------------------------------------------


def test_delete_removes_exactly_the_synthetic_entries_and_their_links(added):
    # A real entry may carry the prefix; without the mark in external_refs it stays.
    decoy = Entry.objects.create(
        public_id="synthetic-biology-lab",
        title="Synthetic biology lab",
        category=Category.objects.first(),
        status=Entry.Status.PUBLISHED,
    )
    real = set(
        Entry.objects.exclude(public_id__startswith="synthetic-").values_list("pk", flat=True)
    )
    assert synth.delete_synthetic_entries() == N
    assert set(Entry.objects.values_list("pk", flat=True)) == real | {decoy.pk}
    assert EntrySource.objects.filter(source__key=synth.SOURCE_KEY).count() == 0
    assert not Source.objects.filter(key=synth.SOURCE_KEY).exists()
    assert synth.delete_synthetic_entries() == 0


def test_delete_leaves_no_link_rows_behind(added):
    ids = list(synth.synthetic_entries().values_list("pk", flat=True))
    synth.delete_synthetic_entries()
    assert not Entry.companies.through.objects.filter(entry_id__in=ids).exists()
    assert not EntrySource.objects.filter(entry_id__in=ids).exists()


def test_a_release_made_with_synthetic_entries_present_holds_none_of_them(
    settings, tmp_path, bundled
):
    settings.DATA_DIR = tmp_path
    decoy = Entry.objects.create(
        public_id="synthetic-biology-lab",
        title="Synthetic biology lab",
        category=Category.objects.first(),
        status=Entry.Status.PUBLISHED,
    )
    decoy.companies.add(Company.objects.first())
    synth.add_synthetic_entries(300, 3)
    release = create_release("with-synthetic-around")
    ids = set(ReleaseEntry.objects.filter(release=release).values_list("public_id", flat=True))
    assert release.entry_count == len(ids) == 33  # 32 bundled + the decoy
    assert "synthetic-biology-lab" in ids
    assert not any(i.startswith("synthetic-") and i[10:].isdigit() for i in ids)
    csv_text = (release.folder / "entries.csv").read_text(encoding="utf-8")
    assert "benchmark data" not in csv_text
    assert release.counts["entries"] == 33
    preview = create_release("preview", dry_run=True)
    assert preview.entry_count == 33


# --- the command ----------------------------------------------------------------------------


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECHMAP_")}
    env["TECHMAP_DATA_DIR"] = str(tmp_path)
    env["TECHMAP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    return env


def _run(tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(TECHMAP), *args],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=check,
    )


def _count_synthetic(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        return db.execute(
            "SELECT COUNT(*) FROM catalog_entry WHERE public_id LIKE 'synthetic-%'"
        ).fetchone()[0]


def test_techmap_synth_adds_and_deletes_through_the_real_entry_point(tmp_path):
    _run(tmp_path, "init")
    out = _run(tmp_path, "synth", "--entries", "400", "--seed", "3", "--dry-run").stdout
    assert "Would add 400 synthetic entries" in out and "seed 3" in out
    assert _count_synthetic(tmp_path) == 0
    out = _run(tmp_path, "synth", "--entries", "400", "--seed", "3").stdout
    assert "Added 400 synthetic entries" in out
    assert _count_synthetic(tmp_path) == 400
    assert "Would remove 400" in _run(tmp_path, "synth", "--delete", "--dry-run").stdout
    assert "Removed 400 synthetic entries" in _run(tmp_path, "synth", "--delete").stdout
    assert _count_synthetic(tmp_path) == 0
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM catalog_entry").fetchone()[0] == 32


def test_techmap_synth_needs_entries_or_delete(tmp_path):
    result = _run(tmp_path, "synth", check=False)
    assert result.returncode != 0
    assert "--entries N or --delete" in result.stderr
    assert "--seed" in _run(tmp_path, "synth", "--help").stdout
