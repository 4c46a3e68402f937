"""What an import finds before it writes: taxonomy, sources and existing entries.

Each is read with a few queries up front (never one per row) and kept in dicts, so the
per-row work of write_records() is dictionary look-ups.
"""

import hashlib
from decimal import Decimal

import orjson
from django.db import connection
from django.utils.text import slugify

from techmap.catalog import history
from techmap.catalog.models import Category, Entry, Source
from techmap.exchange.importers import bulk
from techmap.exchange.importers.records import SOURCE_FIELDS


def _fallback_slug(name: str) -> str:
    return "x-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


class Taxonomy:
    """Companies, categories or topics by slug and by case-folded name; creates the missing."""

    def __init__(self, model, defaults=None):
        self.model = model
        self.defaults = defaults or (lambda name: {})
        self.by_slug = {}
        self.by_name = {}
        self.created = 0
        self.answers = {}
        for obj in model.objects.all():
            self._remember(obj)

    def _remember(self, obj):
        self.by_slug[obj.slug] = obj
        self.by_name[obj.name.casefold()] = obj

    def id_of(self, ref) -> int:
        """The id of the object a NamedRef names, created (with a unique slug) when missing."""
        # Files name the same few companies and topics on every row: remember the answer.
        key = (ref.slug, ref.name)
        found = self.answers.get(key)
        if found is None:
            self.add([ref])
            found = self.answers[key] = self._find(ref).pk
        return found

    def add(self, refs) -> None:
        """Create in bulk, with their history, the objects named by refs (an iterable of
        NamedRefs, repeats and None allowed) that do not exist, in the order first named.

        One create per new name cost a dozen statements (the row, its history, savepoints):
        0.2 s of the 1.5 s of a 4,000-row import naming 73 new companies, categories and
        topics, on PostgreSQL.
        """
        new = []
        for ref in refs:
            if ref is None or (ref.slug, ref.name) in self.answers or self._find(ref):
                continue
            obj = self._new(ref)
            self._remember(obj)  # a later ref may name it again, by its slug or its name
            new.append(obj)
        if not new:
            return
        self.model.objects.bulk_create(new)
        history.bulk_record(self.model, new, "+")
        self.created += len(new)

    def _find(self, ref):
        if ref.slug and ref.slug in self.by_slug:
            return self.by_slug[ref.slug]
        if ref.name and ref.name.casefold() in self.by_name:
            return self.by_name[ref.name.casefold()]
        return None

    def _new(self, ref):
        """An unsaved object for ref, with a slug no other object has."""
        name = ref.name or ref.slug
        base = (ref.slug or slugify(name) or _fallback_slug(name))[:80]
        slug, n = base, 1
        while slug in self.by_slug:
            n += 1
            slug = f"{base[:75]}-{n}"
        return self.model(slug=slug, name=name, **self.defaults(name))


def category_defaults():
    """Defaults for new categories: positions after the last existing one, in file order."""
    position = Category.objects.order_by("-position").values_list("position", flat=True)[:1]
    start = [(position[0] if position else 0)]

    def defaults(name):
        start[0] += 1
        return {"position": start[0]}

    return defaults


class Sources:
    """Finds or creates the Source of each SourceRecord, remembering what it found.

    Sources matched by URL (every link of an aspi file: tens of thousands) that do not
    exist yet are created in bulk when their records are added; keyed and field-matched
    sources are few and created one by one when first asked for. One Sources serves every
    part of a file written in parts: each part looks up only the sources it is the first
    to cite.
    """

    def __init__(self):
        self.by_url, self.by_key, self.by_fields = {}, {}, {}
        self.fields_read = False
        self.created = 0
        self.bulk_created_pks: list[int] = []  # written without save(): history is owed

    def add(self, records) -> None:
        """Look up the sources of records (an iterable of SourceRecords, repeats allowed) not
        met before, and create in bulk those matched by URL that do not exist."""
        by_url = self.by_url
        # Most citations of a large file repeat a URL met in an earlier part: dropped first,
        # in one pass. Parsers share one object per distinct citation: the rest are kept
        # once each, by identity (a dataclass's hash is computed in Python every time).
        records = list(
            {id(s): s for s in records if s.key or s.match != "url" or s.url not in by_url}.values()
        )
        keyed_urls = {s.url for s in records if s.key and s.url}
        urls = {s.url for s in records if s.url and s.match == "url" and s.url not in by_url}
        keys = {s.key for s in records if s.key and s.key not in self.by_key}
        for url, pk in bulk.select_in(Source, ["url", "id"], "url", sorted(urls), ["id"]):
            self.by_url.setdefault(url, pk)
        for key, pk in bulk.select_in(Source, ["key", "id"], "key", sorted(keys)):
            self.by_key[key] = pk
        if not self.fields_read and any(s.match == "fields" for s in records):
            self.fields_read = True
            for values in Source.objects.values("pk", *SOURCE_FIELDS):
                pk = values.pop("pk")
                self.by_fields.setdefault(tuple(values[f] for f in SOURCE_FIELDS), pk)
        # A URL also carried by a keyed record is left to get_id(), which creates the keyed
        # source first, exactly as a one-by-one import would.
        missing = {}
        for s in records:
            if s.match == "url" and s.url and not s.key and s.url not in keyed_urls:
                if s.url not in self.by_url:
                    missing.setdefault(s.url, s)
        self._create_by_url(list(missing.values()))

    def _create_by_url(self, records: list) -> None:
        rows = [tuple(getattr(s, f) for f in SOURCE_FIELDS) for s in records]
        bulk.insert_rows(Source, list(SOURCE_FIELDS), rows)
        urls = [s.url for s in records]
        for url, pk in bulk.select_in(Source, ["url", "id"], "url", urls, ["id"]):
            self.by_url.setdefault(url, pk)
        self.bulk_created_pks += sorted({self.by_url[url] for url in urls})
        for s, signature in zip(records, rows, strict=True):
            self.by_fields.setdefault(signature, self.by_url[s.url])
        self.created += len(records)

    def get_id(self, rec) -> int:
        """The id of the source rec describes, creating it if no existing source matches."""
        if rec.key and rec.key in self.by_key:
            return self.by_key[rec.key]
        if rec.match == "url" and rec.url and rec.url in self.by_url:
            return self.by_url[rec.url]
        signature = tuple(getattr(rec, f) for f in SOURCE_FIELDS)
        if rec.match == "fields" and signature in self.by_fields:
            return self.by_fields[signature]
        src = Source.objects.create(key=rec.key or None, **rec.values())
        self.created += 1
        if rec.key:
            self.by_key[rec.key] = src.pk
        if rec.url:
            self.by_url.setdefault(rec.url, src.pk)
        self.by_fields.setdefault(signature, src.pk)
        return src.pk


def _from_db(field):
    """A function turning a raw database value of field into what the ORM would give, or
    None where the raw value compares the same (strings, numbers, 0/1 for booleans)."""
    kind = field.get_internal_type()
    if kind == "JSONField":
        return lambda value: orjson.loads(value) if isinstance(value, (str, bytes)) else value
    if kind == "DecimalField":
        step = Decimal(1).scaleb(-field.decimal_places)
        return lambda value: field.to_python(value).quantize(step)
    if kind in ("DateTimeField", "DateField", "TimeField", "DurationField", "UUIDField"):
        raise ValueError(f"no raw reading of {kind} {field.name}")  # none is compared yet
    return None


def find_existing(records: list, columns: list[str]) -> dict[str, dict]:
    """Existing entries by record public id, as dicts of columns plus 'pk': matched by
    public id first, then by external key (an entry is claimed by one record at most)."""
    fields = ["pk", *columns]
    found: dict[str, dict] = {}
    if not Entry.objects.exists():  # a first load: a thousand queries that find nothing
        return found
    ids = [r.public_id for r in records]
    # Raw rows with the few conversions they need: the ORM's per-value converters were most
    # of the time of re-importing a large file.
    db_columns = ["id", *(Entry._meta.get_field(c).column for c in columns)]
    converters = [_from_db(Entry._meta.get_field(c)) for c in columns]
    for row in bulk.select_in(Entry, ["public_id", *db_columns], "public_id", ids):
        values = {"pk": row[1]}
        for name, convert, value in zip(columns, converters, row[2:], strict=True):
            values[name] = value if convert is None or value is None else convert(value)
        found[row[0]] = values
    missing = [r for r in records if r.public_id not in found and r.external_key]
    if not missing:
        return found
    ref_names = {r.external_key[0] for r in missing}
    index = {}
    for pk, refs in Entry.objects.exclude(external_refs={}).values_list("pk", "external_refs"):
        if isinstance(refs, dict):
            for name in ref_names:
                if name in refs:
                    index.setdefault((name, str(refs[name])), pk)
    if not index:
        return found
    wanted = {r.public_id: index.get(r.external_key) for r in missing}
    pks = [pk for pk in wanted.values() if pk is not None]
    by_pk = {}
    for chunk in bulk.chunks(pks):
        for row in Entry.objects.filter(pk__in=chunk).values_list(*fields):
            by_pk[row[0]] = dict(zip(fields, row, strict=True))
    claimed = {row["pk"] for row in found.values()}
    for public_id, pk in wanted.items():
        if pk is not None and pk in by_pk and pk not in claimed:
            found[public_id] = by_pk[pk]
            claimed.add(pk)
    return found


def entry_ids(public_ids: list[str]) -> dict[str, int]:
    """Ids of entries by public id."""
    column = Entry._meta.get_field("public_id").column
    return dict(bulk.select_in(Entry, [column, "id"], column, public_ids))


def last_entry_id() -> int:
    # Not MAX(id): without statistics PostgreSQL computed it by scanning the whole table.
    return Entry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def inserted_entry_ids(public_ids: list[str], after: int) -> dict[str, int]:
    """Ids of the entries just inserted with public_ids, when every id before was at most
    after: one scan of the new ids instead of a thousand look-ups per million rows. Ids
    not found so (a sequence reset below after) are looked up by public id."""
    wanted = set(public_ids)
    table = connection.ops.quote_name(Entry._meta.db_table)
    column = connection.ops.quote_name(Entry._meta.get_field("public_id").column)
    with connection.cursor() as cursor:
        # ORDER BY and LIMIT make PostgreSQL read the primary key index even before the
        # table has statistics (without them it scanned the whole table for each part of a
        # first load).
        cursor.execute(
            f"SELECT {column}, id FROM {table} WHERE id > %s ORDER BY id LIMIT %s",
            [after, len(wanted)],
        )
        found = {public_id: pk for public_id, pk in cursor.fetchall() if public_id in wanted}
    if len(found) < len(wanted):
        found.update(entry_ids([p for p in public_ids if p not in found]))
    return found


def current_links(through, fk: str, entry_pks: list[int], ordered: bool) -> dict:
    """Each entry's linked ids (in position order when ordered) from a link table."""
    current: dict[int, list[int]] = {pk: [] for pk in entry_pks}
    order = ["entry_id", "position", "id"] if ordered else ()
    for entry_id, other in bulk.select_in(through, ["entry_id", fk], "entry_id", entry_pks, order):
        current[entry_id].append(other)
    return current
