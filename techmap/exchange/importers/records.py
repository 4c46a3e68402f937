"""The normalised entry record every parser produces, and its idempotent write to the database.

Parsers turn a file into EntryRecord objects (already validated); write_records() resolves
companies, categories, topics, countries and sources, then creates or updates the entries
in bulk. Values are compared before writing, so importing the same records twice changes
nothing. The caller wraps the whole write in one transaction.
"""

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django.utils.text import slugify

from techmap.catalog.dataset import load_countries
from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source, Topic
from techmap.catalog.sanitize import sanitize_html

BATCH_SIZE = 500
# Fields of a Source an importer may set; compared as a whole to find an existing source.
SOURCE_FIELDS = (
    "title",
    "url",
    "publisher",
    "author",
    "publication_date",
    "archived_url",
    "language",
    "note",
)


@dataclass(frozen=True)
class NamedRef:
    """A company, category or topic named by slug, by name, or both."""

    name: str = ""
    slug: str = ""


@dataclass(frozen=True)
class SourceRecord:
    """A citation to attach. match 'url' reuses any source with the same URL; 'fields' reuses
    only a source with exactly the same fields; 'key' reuses the source with the same key."""

    title: str
    url: str = ""
    publisher: str = ""
    author: str = ""
    publication_date: str = ""
    archived_url: str = ""
    language: str = ""
    note: str = ""
    key: str = ""
    match: str = "url"

    def values(self) -> dict:
        return {name: getattr(self, name) for name in SOURCE_FIELDS}


@dataclass
class EntryRecord:
    """One entry as an importer read it, in the database's vocabulary."""

    public_id: str
    title: str
    category: NamedRef
    companies: list[NamedRef] = field(default_factory=list)
    secondary_category: NamedRef | None = None
    topics: list[NamedRef] = field(default_factory=list)
    country: str = ""  # ISO 3166-1 alpha-2, or "" for none
    city: str = ""
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    precision: str = Entry.Precision.NONE
    line_geometry: dict | None = None
    partners: list[str] = field(default_factory=list)
    financing_lender: str = ""
    financing_amount: Decimal | None = None
    financing_currency: str = ""
    year_started: int | None = None
    year_ended: int | None = None
    description: str = ""  # HTML; write_records() sanitises it
    highlight: bool = False
    external_refs: dict = field(default_factory=dict)
    sources: list[SourceRecord] = field(default_factory=list)
    # The external key that identifies the entry across re-imports, e.g.
    # ("chinatechmap_marker", "159"); an entry holding it is updated even if its
    # public id differs (public ids are never changed).
    external_key: tuple[str, str] | None = None


def _chunks(items: list, size: int = BATCH_SIZE):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _fallback_slug(name: str) -> str:
    return "x-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


class _Taxonomy:
    """Companies, categories or topics by slug and by case-folded name; creates the missing."""

    def __init__(self, model, defaults=None):
        self.model = model
        self.defaults = defaults or (lambda name: {})
        self.by_slug = {}
        self.by_name = {}
        self.created = 0
        for obj in model.objects.all():
            self._remember(obj)

    def _remember(self, obj):
        self.by_slug[obj.slug] = obj
        self.by_name[obj.name.casefold()] = obj

    def get(self, ref: NamedRef):
        if ref.slug and ref.slug in self.by_slug:
            return self.by_slug[ref.slug]
        if ref.name and ref.name.casefold() in self.by_name:
            return self.by_name[ref.name.casefold()]
        name = ref.name or ref.slug
        base = (ref.slug or slugify(name) or _fallback_slug(name))[:80]
        slug, n = base, 1
        while slug in self.by_slug:
            n += 1
            slug = f"{base[:75]}-{n}"
        obj = self.model.objects.create(slug=slug, name=name, **self.defaults(name))
        self.created += 1
        self._remember(obj)
        return obj


class _Sources:
    """Finds or creates the Source of each SourceRecord, remembering what it found."""

    def __init__(self, records: list[SourceRecord]):
        urls = {s.url for s in records if s.url and s.match == "url"}
        keys = {s.key for s in records if s.key}
        self.by_url, self.by_key, self.by_fields = {}, {}, {}
        for chunk in _chunks(sorted(urls)):
            for src in Source.objects.filter(url__in=chunk).order_by("pk"):
                self.by_url.setdefault(src.url, src)
        for chunk in _chunks(sorted(keys)):
            for src in Source.objects.filter(key__in=chunk):
                self.by_key[src.key] = src
        if any(s.match == "fields" for s in records):
            for values in Source.objects.values("pk", *SOURCE_FIELDS):
                pk = values.pop("pk")
                self.by_fields.setdefault(tuple(values[f] for f in SOURCE_FIELDS), pk)
        self.created = 0

    def get_id(self, rec: SourceRecord) -> int:
        if rec.key and rec.key in self.by_key:
            return self.by_key[rec.key].pk
        if rec.match == "url" and rec.url and rec.url in self.by_url:
            return self.by_url[rec.url].pk
        signature = tuple(getattr(rec, f) for f in SOURCE_FIELDS)
        if rec.match == "fields" and signature in self.by_fields:
            return self.by_fields[signature]
        src = Source.objects.create(key=rec.key or None, **rec.values())
        self.created += 1
        if rec.key:
            self.by_key[rec.key] = src
        if rec.url:
            self.by_url.setdefault(rec.url, src)
        self.by_fields.setdefault(signature, src.pk)
        return src.pk


def _category_defaults():
    position = Category.objects.order_by("-position").values_list("position", flat=True)[:1]
    start = [(position[0] if position else 0)]

    def defaults(name):
        start[0] += 1
        return {"position": start[0]}

    return defaults


def _find_existing(records: list[EntryRecord]) -> dict[str, Entry]:
    """Existing entries by record public id: by public id first, then by external key."""
    found: dict[str, Entry] = {}
    ids = [r.public_id for r in records]
    for chunk in _chunks(ids):
        for entry in Entry.objects.filter(public_id__in=chunk):
            found[entry.public_id] = entry
    missing = [r for r in records if r.public_id not in found and r.external_key]
    if missing:
        ref_names = {r.external_key[0] for r in missing}
        index = {}
        for pk, refs in Entry.objects.exclude(external_refs={}).values_list("pk", "external_refs"):
            if isinstance(refs, dict):
                for name in ref_names:
                    if name in refs:
                        index.setdefault((name, str(refs[name])), pk)
        wanted = {r.public_id: index.get(r.external_key) for r in missing}
        pks = [pk for pk in wanted.values() if pk is not None]
        by_pk = {}
        for chunk in _chunks(pks):
            by_pk.update({e.pk: e for e in Entry.objects.filter(pk__in=chunk)})
        claimed = {e.pk for e in found.values()}
        for public_id, pk in wanted.items():
            if pk is not None and pk in by_pk and pk not in claimed:
                found[public_id] = by_pk[pk]
                claimed.add(pk)
    return found


def _links(through, fk: str, entry_ids: list[int], order: str | None = None) -> dict:
    current: dict[int, list[int]] = {pk: [] for pk in entry_ids}
    for chunk in _chunks(entry_ids):
        rows = through.objects.filter(entry_id__in=chunk)
        if order:
            rows = rows.order_by("entry_id", order, "id")
        for entry_id, other in rows.values_list("entry_id", fk):
            current[entry_id].append(other)
    return current


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


def write_records(records: list[EntryRecord], *, status: str) -> dict[str, int]:
    """Create or update the entries of records; return counts created/updated/unchanged.

    Call inside transaction.atomic(): it writes taxonomy, sources and entries in several
    statements that must stand or fall together.
    """
    if not Country.objects.exists():
        load_countries()
    countries = {c.iso2: c for c in Country.objects.all()}
    companies = _Taxonomy(Company)
    categories = _Taxonomy(Category, _category_defaults())
    topics = _Taxonomy(Topic)
    sources = _Sources([s for r in records for s in r.sources])
    existing = _find_existing(records)

    now = timezone.now()
    new_entries, changed_entries = [], []
    wanted_companies, wanted_topics, wanted_sources = {}, {}, {}
    for rec in records:
        entry = existing.get(rec.public_id)
        values = {
            "title": rec.title,
            "category_id": categories.get(rec.category).pk,
            "secondary_category_id": categories.get(rec.secondary_category).pk
            if rec.secondary_category
            else None,
            "country_id": countries[rec.country].pk if rec.country else None,
            "city": rec.city,
            "address": rec.address,
            "latitude": rec.latitude,
            "longitude": rec.longitude,
            "precision": rec.precision,
            "line_geometry": rec.line_geometry,
            "partners": list(rec.partners),
            "financing_lender": rec.financing_lender,
            "financing_amount": rec.financing_amount.quantize(Decimal("0.01"))
            if rec.financing_amount is not None
            else None,
            "financing_currency": rec.financing_currency,
            "year_started": rec.year_started,
            "year_ended": rec.year_ended,
            "description": sanitize_html(rec.description),
            "status": status,
            "highlight": rec.highlight,
            "external_refs": dict(rec.external_refs),
        }
        if entry is not None:
            # An editor's retirement stands; other keys of external_refs are kept.
            if entry.status == Entry.Status.RETIRED:
                values["status"] = entry.status
            values["external_refs"] = {**(entry.external_refs or {}), **values["external_refs"]}
        company_ids = list(dict.fromkeys(companies.get(c).pk for c in rec.companies))
        topic_ids = list(dict.fromkeys(topics.get(t).pk for t in rec.topics))
        source_ids = list(dict.fromkeys(sources.get_id(s) for s in rec.sources))
        if entry is None:
            entry = Entry(public_id=rec.public_id, **values)
            new_entries.append(entry)
        elif any(getattr(entry, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(entry, f, v)
            entry.updated = now
            changed_entries.append(entry)
        wanted_companies[rec.public_id] = (entry, company_ids)
        wanted_topics[rec.public_id] = (entry, topic_ids)
        wanted_sources[rec.public_id] = (entry, source_ids)

    for chunk in _chunks(new_entries):
        Entry.objects.bulk_create(chunk)
        if not connection.features.can_return_rows_from_bulk_insert:  # pragma: no cover
            pks = dict(
                Entry.objects.filter(public_id__in=[e.public_id for e in chunk]).values_list(
                    "public_id", "pk"
                )
            )
            for e in chunk:
                e.pk = e.id = pks[e.public_id]
    for chunk in _chunks(changed_entries):
        Entry.objects.bulk_update(chunk, [*ENTRY_FIELDS, "updated"])

    touched = set()
    touched |= _sync_links(Entry.companies.through, "company_id", wanted_companies, False)
    touched |= _sync_links(Entry.topics.through, "topic_id", wanted_topics, False)
    touched |= _sync_links(EntrySource, "source_id", wanted_sources, True)

    created_ids = {e.pk for e in new_entries}
    changed_ids = {e.pk for e in changed_entries}
    # An entry whose only change is a relation counts as updated and gets a new timestamp.
    relation_only = touched - created_ids - changed_ids
    if relation_only:
        for chunk in _chunks(sorted(relation_only)):
            Entry.objects.filter(pk__in=chunk).update(updated=now)
    updated = len(changed_ids | relation_only)
    return {
        "created": len(created_ids),
        "updated": updated,
        "unchanged": len(records) - len(created_ids) - updated,
        "companies_created": companies.created,
        "categories_created": categories.created,
        "topics_created": topics.created,
        "sources_created": sources.created,
    }


def _sync_links(through, fk: str, wanted: dict, ordered: bool) -> set[int]:
    """Make each entry's links equal the wanted ids; return the ids of entries that changed."""
    pairs = [(entry.pk, ids) for entry, ids in wanted.values()]
    current = _links(through, fk, [pk for pk, _ in pairs], "position" if ordered else None)
    changed = {}
    for pk, ids in pairs:
        have = current.get(pk, [])
        if (have != ids) if ordered else (set(have) != set(ids)):
            changed[pk] = ids
    if not changed:
        return set()
    for chunk in _chunks(sorted(changed)):
        through.objects.filter(entry_id__in=chunk).delete()
    rows = []
    for pk, ids in changed.items():
        for position, other in enumerate(ids, 1):
            row = through(entry_id=pk, **{fk: other})
            if ordered:
                row.position = position
            rows.append(row)
    for chunk in _chunks(rows):
        through.objects.bulk_create(chunk)
    return set(changed)
