"""The idempotent write of EntryRecords: create new entries, update changed ones, leave the rest.

write_records() resolves companies, categories, topics, countries and sources with a few
queries up front, reads the existing entries' values with one query per chunk of ids, and
compares each record's values with them, so importing the same records twice changes
nothing. New and changed entries and their link rows are written with raw executemany
statements (see bulk.py): on large files the ORM's per-object work was most of the time.
The caller wraps the whole write in one transaction.

write_first_load() writes a large file of new entries into an empty entry table, part by
part, from lighter records: nothing to compare with, so nothing of the above but the
look-ups, the writes and the history.
"""

from decimal import Decimal
from itertools import chain
from operator import attrgetter

from django.db import connection
from django.utils import timezone

from techmap.catalog import bulkload, history
from techmap.catalog.dataset import load_countries
from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source, Topic
from techmap.catalog.sanitize import sanitize_html
from techmap.exchange.importers import bulk
from techmap.exchange.importers.lookups import (
    Sources,
    Taxonomy,
    category_defaults,
    current_links,
    find_existing,
    inserted_entry_ids,
    last_entry_id,
)
from techmap.exchange.importers.records import EntryRecord, NamedRef, SourceRecord

# The Entry fields an import sets and compares, besides public_id and the timestamps.
ENTRY_FIELDS = (
    "title",
    "category",
    "secondary_category",
    "country",
    "city",
    "address",
    "latitude",
    "longitude",
    "precision",
    "line_geometry",
    "partners",
    "financing_lender",
    "financing_amount",
    "financing_currency",
    "year_started",
    "year_ended",
    "description",
    "status",
    "highlight",
    "external_refs",
)
CENTS = Decimal("0.01")
LINK_MODELS = (Entry.companies.through, Entry.topics.through, EntrySource)
# The tables a large write fills with its indexes set aside: the entries and their links.
LOADED_TABLES = [m._meta.db_table for m in (Entry, *LINK_MODELS)]
# New entries from which, when they outnumber the existing ones, indexes are set aside.
# Low: on PostgreSQL even 4,000 rows load faster with one validating join per foreign key
# than with a deferred check per row at the commit (1.65 s against 1.77 s, whole command).
INDEXES_ASIDE_FROM = 1_000
# Records of an import among which new companies, categories and topics are created in
# bulk (Taxonomy.add); names first met after them are created one by one, as they come.
NAMES_IN_BULK = 20_000


def is_large_load(new_rows: int, table: str = Entry._meta.db_table) -> bool:
    """Whether a load of this many new rows into table (by default the entries) is large
    enough to write differently: more than the table holds, and at least
    INDEXES_ASIDE_FROM."""
    return new_rows >= INDEXES_ASIDE_FROM and new_rows >= _rows(table)


def _values(rec: EntryRecord, status: str, categories, countries) -> list:
    """The record's values of ENTRY_FIELDS, in that order (a list, not a dict: most records
    of a large import are new, and need no comparison by name)."""
    return [
        rec.title,
        categories.id_of(rec.category),
        categories.id_of(rec.secondary_category) if rec.secondary_category else None,
        countries[rec.country] if rec.country else None,
        rec.city,
        rec.address,
        rec.latitude,
        rec.longitude,
        rec.precision,
        rec.line_geometry,
        list(rec.partners),
        rec.financing_lender,
        rec.financing_amount.quantize(CENTS) if rec.financing_amount is not None else None,
        rec.financing_currency,
        rec.year_started,
        rec.year_ended,
        sanitize_html(rec.description)
        if rec.clean_description is None
        else rec.clean_description,
        status,
        rec.highlight,
        dict(rec.external_refs),
    ]


def _distinct(ids: list) -> list:
    """ids without repeats, in order."""
    return ids if len(ids) < 2 else list(dict.fromkeys(ids))


def _distinct_objects(groups) -> list:
    """The objects of groups (an iterable of tuples or lists), each once, in order: by
    identity, in loops that run in C (parsers share one NamedRef per name)."""
    objects = list(chain.from_iterable(groups))
    return list(dict(zip(map(id, objects), objects, strict=True)).values())


def _prepared(values: list, preparers: list) -> list:
    """values (in the order of ENTRY_FIELDS) as database values; preparers holds (position,
    function) of the fields whose database form differs (JSON, decimals)."""
    for i, prepare in preparers:
        values[i] = prepare(values[i])
    return values


class Lookups:
    """What the records of one write refer to, by id: countries, companies, categories,
    topics and sources, read once and created as they are first named. The parts of a file
    written in parts share one, so each part reads only what it is the first to name."""

    def __init__(self):
        if not Country.objects.exists():
            load_countries()
        self.countries = dict(Country.objects.values_list("iso2", "pk"))
        self.companies = Taxonomy(Company)
        self.categories = Taxonomy(Category, category_defaults())
        self.topics = Taxonomy(Topic)
        self.sources = Sources()
        self.source_ids_by_link = {}  # (title, url) -> id, for FirstLoadRecords

    def created(self) -> dict[str, int]:
        return {
            "companies_created": self.companies.created,
            "categories_created": self.categories.created,
            "topics_created": self.topics.created,
            "sources_created": self.sources.created,
        }


def write_records(records: list[EntryRecord], *, status: str) -> dict[str, int]:
    """Create or update the entries of records; return counts created/updated/unchanged.

    Call inside transaction.atomic(): it writes taxonomy, sources and entries in several
    statements that must stand or fall together.
    """
    lookups = Lookups()
    counts, created, updated = _write(records, status, lookups)
    _record_history(lookups.sources.bulk_created_pks, created, updated)
    return {**counts, **lookups.created()}


def write_first_load(parts, *, status: str, file_source: SourceRecord) -> dict[str, int]:
    """Write the FirstLoadRecords of each list parts yields, as it comes (a parser can read
    the next part meanwhile), into an empty entry table: the same entries, links, sources
    and history as write_records() would write for their EntryRecords, at a fraction of
    the work per row (an EntryRecord and its comparison cost more than the writes). Rows
    without links cite file_source. The tables' indexes (and on PostgreSQL the foreign
    keys) are set aside once for all the parts, and the history written once at the end.

    Call inside transaction.atomic(), as write_records().
    """
    created = set()
    lookups = Lookups()
    with bulkload.schema_set_aside(LOADED_TABLES):
        for records in parts:
            if records:
                created.update(_write_first_load_part(records, status, lookups, file_source))
    _record_history(lookups.sources.bulk_created_pks, created, set())
    return {"created": len(created), "updated": 0, "unchanged": 0, **lookups.created()}


# The Entry columns of a FirstLoadRecord's row; the others get their defaults.
FIRST_LOAD_COLUMNS = ["id", "public_id", "title", "category_id", "secondary_category_id",
                      "country_id", "city", "address", "latitude", "longitude", "precision",
                      "year_started", "year_ended", "description", "status", "highlight",
                      "external_refs", "created", "updated"]  # fmt: skip


def _write_first_load_part(records: list, status: str, lookups: Lookups, file_source) -> range:
    """Insert the new entries of records with their links; return their ids."""
    categories = _name_ids(lookups.categories, _each(records, "category", "secondary_category"))
    companies = _name_ids(lookups.companies, _each(records, "companies"))
    topics = _name_ids(lookups.topics, _each(records, "topics"))
    sources = _link_ids(lookups, records)
    if not all(map(attrgetter("links"), records)):
        sources[()] = lookups.sources.get_id(file_source)  # the citation of unlinked rows

    first = bulk.reserve_ids(Entry, len(records))
    pks = range(first, first + len(records))
    numbered = list(zip(pks, records, strict=True))
    now = bulk.db_datetime(timezone.now(), Entry._meta.get_field("updated"))
    refs = bulk.db_preparer(Entry._meta.get_field("external_refs"))
    countries = lookups.countries
    bulk.insert_rows(Entry, FIRST_LOAD_COLUMNS, [
        (pk, r.public_id, r.title, categories[r.category], categories.get(r.secondary_category),
         countries[r.country] if r.country else None, r.city, r.address, r.latitude,
         r.longitude, r.precision, r.year_started, r.year_ended, r.description, status,
         r.highlight, refs(r.external_refs), now, now)
        for pk, r in numbered
    ])  # fmt: skip
    for through, column, ids, names in (
        (Entry.companies.through, "company_id", companies, attrgetter("companies")),
        (Entry.topics.through, "topic_id", topics, attrgetter("topics")),
    ):
        rows = [(pk, i) for pk, r in numbered for i in _distinct([ids[n] for n in names(r)])]
        bulk.insert_rows(through, ["entry_id", column], rows)
    cited = [(pk, _distinct([sources[link] for link in r.links or [()]])) for pk, r in numbered]
    rows = [(pk, source, n) for pk, ids in cited for n, source in enumerate(ids, 1)]
    bulk.insert_rows(EntrySource, ["entry_id", "source_id", "position"], rows)
    return pks


def _each(records: list, *fields: str):
    """The names in fields of every record, in order: one field holding a tuple of names,
    or several holding a name each."""
    return chain.from_iterable(map(attrgetter(*fields), records))


def _name_ids(taxonomy: Taxonomy, names) -> dict[str, int]:
    """{name: id} of the distinct non-empty names, creating those not found together first,
    in the order first named."""
    distinct = [name for name in dict.fromkeys(names) if name]
    refs = [NamedRef(name=name) for name in distinct]
    taxonomy.add(refs)
    return {name: taxonomy.id_of(ref) for name, ref in zip(distinct, refs, strict=True)}


def _link_ids(lookups: Lookups, records: list) -> dict:
    """{(title, url): source id} of every link of records, the sources of links not met
    before found or created (in bulk) first, in the order first met."""
    known = lookups.source_ids_by_link
    links = chain.from_iterable(map(attrgetter("links"), records))
    new = [link for link in dict.fromkeys(links) if link not in known]
    cited = [SourceRecord(title=title, url=url) for title, url in new]
    lookups.sources.add(cited)
    for link, source in zip(new, cited, strict=True):
        known[link] = lookups.sources.get_id(source)
    return known


def _write(records: list, status: str, lookups: Lookups) -> tuple[dict, set, set]:
    """write_records() without the history: (its counts, created entry ids, updated entry
    ids; their history, and that of the sources lookups created, is owed)."""
    countries, categories = lookups.countries, lookups.categories
    companies, topics, sources = lookups.companies, lookups.topics, lookups.sources
    sources.add(s for r in records for s in r.sources)
    # New names among the first records of an import are created together; scanning every
    # record of a large file for them would cost more than it saves (1 s per million).
    head = records[:NAMES_IN_BULK]
    categories.add(_distinct_objects(map(attrgetter("category", "secondary_category"), head)))
    companies.add(_distinct_objects(map(attrgetter("companies"), head)))
    topics.add(_distinct_objects(map(attrgetter("topics"), head)))
    fields = [Entry._meta.get_field(name) for name in ENTRY_FIELDS]
    attnames = [f.attname for f in fields]
    preparers = [(i, prepare) for i, f in enumerate(fields) if (prepare := bulk.db_preparer(f))]
    existing = find_existing(records, attnames)

    now = timezone.now()
    db_now = bulk.db_datetime(now, Entry._meta.get_field("updated"))
    new_rows, changed_rows = [], []
    pk_of: dict[str, int] = {}
    # Each record's public id, then its company, topic and source ids, in record order.
    links = ([], [], [], [])
    for rec in records:
        old = existing.get(rec.public_id)
        values = _values(rec, status, categories, countries)
        if old is None:
            new_rows.append((rec.public_id, *_prepared(values, preparers), db_now, db_now))
        else:
            pk_of[rec.public_id] = old["pk"]
            values = dict(zip(attnames, values, strict=True))
            # An editor's retirement stands; other keys of external_refs are kept.
            if old["status"] == Entry.Status.RETIRED:
                values["status"] = old["status"]
            values["external_refs"] = {**(old["external_refs"] or {}), **values["external_refs"]}
            if any(old[name] != value for name, value in values.items()):
                row = _prepared(list(values.values()), preparers)
                changed_rows.append((*row, db_now, old["pk"]))
        links[0].append(rec.public_id)
        links[1].append(_distinct([companies.id_of(c) for c in rec.companies]))
        links[2].append(_distinct([topics.id_of(t) for t in rec.topics]))
        links[3].append(_distinct([sources.get_id(s) for s in rec.sources]))

    columns = [f.column for f in fields]
    # A load much larger than the table goes faster without its indexes (see
    # catalog.bulkload); they are built again before the history is written.
    set_aside = is_large_load(len(new_rows))
    with bulkload.schema_set_aside(LOADED_TABLES, enabled=set_aside):
        touched, created_pks, changed_pks, pk_of = _write_entries(
            new_rows, changed_rows, links, existing, pk_of, columns
        )

    # An entry whose only change is a relation counts as updated and gets a new timestamp.
    relation_only = touched - created_pks - changed_pks
    for chunk in bulk.chunks(sorted(relation_only)):
        Entry.objects.filter(pk__in=chunk).update(updated=now)
    updated = changed_pks | relation_only
    counts = {
        "created": len(created_pks),
        "updated": len(updated),
        "unchanged": len(records) - len(created_pks) - len(updated),
    }
    return counts, created_pks, updated


def _rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
        return cursor.fetchone()[0]


def _write_entries(new_rows, changed_rows, links, existing, pk_of, columns):
    """Insert the new entries, update the changed ones and make every entry's links what
    the records say; return (entries whose links changed, created pks, changed pks, pk_of)."""
    last_before = last_entry_id()
    bulk.insert_rows(Entry, ["public_id", *columns, "created", "updated"], new_rows)
    created_ids = inserted_entry_ids([row[0] for row in new_rows], last_before)
    pk_of.update(created_ids)
    created_pks = set(created_ids.values())
    # A changed entry gets a new version, as a save() would, so an editor who opened it
    # before the import cannot overwrite the imported values unawares.
    versioned = ["version"] if any(f.name == "version" for f in Entry._meta.fields) else []
    bulk.update_rows(Entry, [*columns, "updated"], changed_rows, increment=versioned)
    changed_pks = {row[-1] for row in changed_rows}

    existing_pks = [old["pk"] for old in existing.values()]
    pks = [pk_of[public_id] for public_id in links[0]]
    touched = set()
    for through, fk, index, ordered in (
        (Entry.companies.through, "company_id", 1, False),
        (Entry.topics.through, "topic_id", 2, False),
        (EntrySource, "source_id", 3, True),
    ):
        wanted = dict(zip(pks, links[index], strict=True))
        touched |= _sync_links(through, fk, wanted, existing_pks, ordered)
    return touched, created_pks, changed_pks, pk_of


def _record_history(new_source_pks: list, created_pks: set, updated_pks: set) -> None:
    """One history row per source, entry and source link written in bulk, as save() would.

    On PostgreSQL a large history load goes faster with the history tables' foreign keys
    and indexes aside, and their primary keys too: every history row is numbered by its
    table's sequence, and building the keys once after took 1.1 s where growing them row
    by row took about 4 s at 1,000,000 entries (the four INSERT ... SELECTs took 5.1 s
    instead of 9.1 s). SQLite checks no keys row by row, and its history rows arrive in id
    order: it keeps the indexes up faster than it rebuilds them (8.2 s against 5.0 s + 4.5 s
    at 1,000,000 entries).
    """
    history_tables = history.tables([Entry, EntrySource, Source])
    large = connection.vendor == "postgresql" and is_large_load(
        len(created_pks), history_tables[0]
    )
    with bulkload.schema_set_aside(history_tables, enabled=large, primary_keys=True):
        for model, pks, kind in (
            (Source, new_source_pks, "+"),
            (Entry, created_pks, "+"),
            (Entry, updated_pks, "~"),
        ):
            history.bulk_record_rows(model, sorted(pks), kind)
        history.bulk_record_rows(EntrySource, sorted(created_pks | updated_pks), "+", by="entry")


def _sync_links(through, fk: str, wanted: dict, existing_pks: list, ordered: bool) -> set[int]:
    """Make each entry's links equal the wanted ids; return the ids of entries that changed.

    Only existing entries can have links to compare with; a new entry's links are all new.
    """
    current = current_links(through, fk, existing_pks, ordered)
    changed = {pk: ids for pk, ids in wanted.items() if ids and pk not in current}
    for pk, have in current.items():
        ids = wanted.get(pk, have)
        if (have != ids) if ordered else (set(have) != set(ids)):
            changed[pk] = ids
    if not changed:
        return set()
    # Link tables are referred to by nothing, so a plain DELETE is what the ORM would do.
    bulk.delete_in(through, "entry_id", [pk for pk in sorted(changed) if pk in current])
    if ordered:
        rows = [(pk, other, n) for pk, ids in changed.items() for n, other in enumerate(ids, 1)]
        bulk.insert_rows(through, ["entry_id", fk, "position"], rows)
    else:
        rows = [(pk, other) for pk, ids in changed.items() for other in ids]
        bulk.insert_rows(through, ["entry_id", fk], rows)
    return set(changed)
