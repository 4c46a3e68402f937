"""The bundled dataset: readable YAML files in techmap/catalog/data/, validated and loaded.

Loading is idempotent: rows are matched by slug, key or public id and only written
when something differs, so loading twice changes nothing.
"""

from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path

import yaml
from django.db import transaction

from techmap.catalog import gazetteer, history
from techmap.catalog.geo import line_geometry_error
from techmap.catalog.models import (
    Category,
    Company,
    Country,
    Entry,
    EntrySource,
    Ownership,
    Source,
    Topic,
    public_id_validator,
)
from techmap.catalog.sanitize import sanitize_html

DATA_FILES = ("categories", "topics", "sources", "companies", "entries")
PRECISIONS = {p.value for p in Entry.Precision}
STATUSES = {s.value for s in Entry.Status}


class DatasetError(ValueError):
    """The dataset files are invalid; .problems lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the dataset:\n" + "\n".join(problems))


def default_data_dir() -> Path:
    return Path(str(resources.files("techmap.catalog").joinpath("data")))


def read_dataset(data_dir: Path | None = None) -> dict[str, list[dict]]:
    """Read every data file into {name: [records]}."""
    data_dir = Path(data_dir or default_data_dir())
    data = {}
    for name in DATA_FILES:
        with open(data_dir / f"{name}.yaml", encoding="utf-8") as fh:
            data[name] = yaml.safe_load(fh) or []
    return data


@dataclass
class _Checker:
    problems: list

    def need(self, ok: bool, where: str, message: str):
        if not ok:
            self.problems.append(f"{where}: {message}")
        return ok


def validate_dataset(data: dict[str, list[dict]]) -> list[str]:
    """Every problem in the dataset as readable lines; an empty list means valid."""
    check = _Checker([])
    countries = {c["iso2"] for c in gazetteer.all_countries()}
    keys = {}
    for name, id_field in (
        ("categories", "slug"),
        ("topics", "slug"),
        ("sources", "key"),
        ("companies", "slug"),
        ("entries", "id"),
    ):
        seen = set()
        for i, rec in enumerate(data.get(name, []), 1):
            where = f"{name}.yaml item {i}"
            if not check.need(
                isinstance(rec, dict) and rec.get(id_field), where, f"missing {id_field}"
            ):
                continue
            check.need(rec[id_field] not in seen, where, f"duplicate {id_field} {rec[id_field]!r}")
            seen.add(rec[id_field])
        keys[name] = seen

    for i, src in enumerate(data.get("sources", []), 1):
        where = f"sources.yaml {src.get('key', i)}"
        check.need(bool(src.get("title")), where, "a source needs a title")
        for f in ("url", "archived_url"):
            if src.get(f):
                check.need(
                    str(src[f]).startswith(("http://", "https://")), where, f"{f} must be http(s)"
                )

    for comp in data.get("companies", []):
        where = f"companies.yaml {comp.get('slug')}"
        check.need(bool(comp.get("name")), where, "a company needs a name")
        if comp.get("ownership"):
            check.need(comp["ownership"] in Ownership.values, where, "unknown ownership type")
        for key in [comp.get("party_source")] + list(comp.get("sources") or []):
            if key:
                check.need(key in keys["sources"], where, f"unknown source {key!r}")

    for entry in data.get("entries", []):
        where = f"entries.yaml {entry.get('id')}"
        try:
            public_id_validator(str(entry.get("id", "")))
        except Exception:
            check.need(False, where, "id must be lowercase letters, digits and hyphens")
        check.need(bool(entry.get("title")), where, "an entry needs a title")
        comps = entry.get("companies") or []
        check.need(bool(comps), where, "an entry needs at least one company")
        for slug in comps:
            check.need(slug in keys["companies"], where, f"unknown company {slug!r}")
        check.need(entry.get("category") in keys["categories"], where, "unknown category")
        if entry.get("secondary_category"):
            check.need(
                entry["secondary_category"] in keys["categories"],
                where,
                "unknown secondary category",
            )
        for slug in entry.get("topics") or []:
            check.need(slug in keys["topics"], where, f"unknown topic {slug!r}")
        sources = entry.get("sources") or []
        status = entry.get("status", "published")
        check.need(status in STATUSES, where, f"unknown status {status!r}")
        if status == "published":
            check.need(bool(sources), where, "a published entry needs at least one source")
        for key in sources:
            check.need(key in keys["sources"], where, f"unknown source {key!r}")
        iso2 = entry.get("country")
        check.need(iso2 in countries, where, f"unknown country {iso2!r}")
        precision = entry.get("precision", "country")
        check.need(precision in PRECISIONS, where, f"unknown precision {precision!r}")
        if precision == "city" and iso2 in countries:
            check.need(bool(entry.get("city")), where, "city precision needs a city")
            if entry.get("city"):
                check.need(
                    gazetteer.city_point(entry["city"], iso2) is not None,
                    where,
                    f"the gazetteer has no city {entry['city']!r} in {iso2}",
                )
        if precision == "exact":
            check.need(
                isinstance(entry.get("latitude"), (int, float))
                and isinstance(entry.get("longitude"), (int, float)),
                where,
                "exact precision needs latitude and longitude",
            )
        for f in ("year_started", "year_ended"):
            if entry.get(f) is not None:
                check.need(
                    isinstance(entry[f], int) and 1900 <= entry[f] <= 2100, where, f"bad {f}"
                )
        if entry.get("line_geometry") is not None:
            problem = line_geometry_error(entry["line_geometry"])
            check.need(problem is None, where, problem or "")
        refs = entry.get("external_refs") or {}
        check.need(isinstance(refs, dict), where, "external_refs must be a mapping")
    return check.problems


def _save_if_changed(obj, values: dict) -> bool:
    changed = obj.pk is None
    for field, value in values.items():
        if changed or getattr(obj, field) != value:
            setattr(obj, field, value)
            changed = True
    if changed:
        obj.save()
    return changed


def _upsert(model, lookup: dict, values: dict, update: bool = True):
    """Create the row, or (when update) bring an existing one in line with values."""
    obj = model.objects.filter(**lookup).first()
    if obj is not None and not update:
        return obj, False
    obj = obj or model(**lookup)
    return obj, _save_if_changed(obj, values)


def _set_m2m(manager, objs) -> bool:
    wanted = {o.pk for o in objs}
    if set(manager.values_list("pk", flat=True)) == wanted:
        return False
    manager.set(objs)
    return True


def load_countries() -> int:
    """Create or update every ISO 3166-1 country; returns how many changed."""
    existing = {c.iso2: c for c in Country.objects.all()}
    new, changed = [], 0
    for c in gazetteer.all_countries():
        values = {k: v for k, v in c.items() if k != "iso2"}
        if c["iso2"] in existing:
            changed += _save_if_changed(existing[c["iso2"]], values)
        else:
            new.append(Country(iso2=c["iso2"], **values))
    Country.objects.bulk_create(new)  # countries keep no history: nothing to record
    return changed + len(new)


def _entry_point(entry: dict, iso2: str):
    precision = entry.get("precision", "country")
    if precision == "exact":
        return float(entry["latitude"]), float(entry["longitude"])
    if precision == "city":
        return gazetteer.city_point(entry["city"], iso2)
    if precision == "country":
        return gazetteer.country_point(iso2)
    return None


@transaction.atomic
def load_dataset(
    data: dict | None = None, *, entries: bool = True, update: bool = False
) -> dict[str, int]:
    """Validate and load the dataset; return how many rows of each kind were written.

    Rows that already exist are left alone unless update is set, so curators' edits
    in the admin survive `techmap init`; `techmap init --update` re-applies the files.
    """
    data = read_dataset() if data is None else data
    problems = validate_dataset(data)
    if problems:
        raise DatasetError(problems)
    written = {"countries": load_countries()}

    cats, n = {}, 0
    for pos, rec in enumerate(data["categories"]):
        cats[rec["slug"]], did = _upsert(
            Category,
            {"slug": rec["slug"]},
            {
                "name": rec["name"],
                "plural": rec.get("plural", ""),
                "name_zh": rec.get("name_zh", ""),
                "plural_zh": rec.get("plural_zh", ""),
                "description": rec.get("description", ""),
                "color": rec.get("color", "#666666"),
                "position": pos,
            },
            update,
        )
        n += did
    written["categories"] = n

    topics, n = {}, 0
    for rec in data["topics"]:
        topics[rec["slug"]], did = _upsert(
            Topic,
            {"slug": rec["slug"]},
            {"name": rec["name"], "name_zh": rec.get("name_zh", "")},
            update,
        )
        n += did
    written["topics"] = n

    sources, n = {}, 0
    for rec in data["sources"]:
        sources[rec["key"]], did = _upsert(
            Source,
            {"key": rec["key"]},
            {
                f: str(rec.get(f) or "")
                for f in (
                    "url",
                    "title",
                    "publisher",
                    "author",
                    "publication_date",
                    "archived_url",
                    "language",
                    "note",
                )
            },
            update,
        )
        n += did
    written["sources"] = n

    companies, n = {}, 0
    for rec in data["companies"]:
        is_new = not Company.objects.filter(slug=rec["slug"]).exists()
        comp, did = _upsert(
            Company,
            {"slug": rec["slug"]},
            {
                "name": rec["name"],
                "name_zh": rec.get("name_zh", ""),
                "sectors": list(rec.get("sectors") or []),
                "headquarters": rec.get("headquarters", ""),
                "ownership": rec.get("ownership", ""),
                "profile": sanitize_html((rec.get("profile") or "").strip()),
                "party_branches": rec.get("party_branches"),
                "party_facts": sanitize_html((rec.get("party_facts") or "").strip()),
                "party_source": sources.get(rec.get("party_source")),
                "leadership": sanitize_html((rec.get("leadership") or "").strip()),
                "website": rec.get("website", ""),
            },
            update,
        )
        if is_new or update:
            did |= _set_m2m(comp.sources, [sources[k] for k in rec.get("sources") or []])
        companies[rec["slug"]] = comp
        n += did
    written["companies"] = n

    n = 0
    if entries:
        countries = {c.iso2: c for c in Country.objects.all()}
        for rec in data["entries"]:
            if update or not Entry.objects.filter(public_id=rec["id"]).exists():
                n += _load_entry(rec, cats, topics, sources, companies, countries)
    written["entries"] = n
    return written


def _load_entry(rec, cats, topics, sources, companies, countries) -> bool:
    iso2 = rec["country"]
    point = _entry_point(rec, iso2)
    financing = rec.get("financing") or {}
    amount = financing.get("amount")
    entry, changed = _upsert(
        Entry,
        {"public_id": rec["id"]},
        {
            "title": rec["title"],
            "category": cats[rec["category"]],
            "secondary_category": cats.get(rec.get("secondary_category")),
            "country": countries[iso2],
            "city": rec.get("city", ""),
            "address": rec.get("address", ""),
            "latitude": point[0] if point else None,
            "longitude": point[1] if point else None,
            "precision": rec.get("precision", "country") if point else Entry.Precision.NONE,
            "line_geometry": rec.get("line_geometry"),
            "partners": list(rec.get("partners") or []),
            "financing_lender": financing.get("lender", ""),
            "financing_amount": Decimal(str(amount)).quantize(Decimal("0.01"))
            if amount is not None
            else None,
            "financing_currency": financing.get("currency", ""),
            "year_started": rec.get("year_started"),
            "year_ended": rec.get("year_ended"),
            "description": sanitize_html((rec.get("description") or "").strip()),
            "status": rec.get("status", "published"),
            "highlight": bool(rec.get("highlight", False)),
            "external_refs": {k: str(v) for k, v in (rec.get("external_refs") or {}).items()},
        },
    )
    changed |= _set_m2m(entry.companies, [companies[s] for s in rec["companies"]])
    changed |= _set_m2m(entry.topics, [topics[s] for s in rec.get("topics") or []])
    wanted = [sources[k].pk for k in rec.get("sources") or []]
    current = list(entry.entry_sources.order_by("position").values_list("source_id", flat=True))
    if current != wanted:
        entry.entry_sources.all().delete()
        links = EntrySource.objects.bulk_create(
            EntrySource(entry=entry, source_id=sid, position=i) for i, sid in enumerate(wanted, 1)
        )
        history.bulk_record(EntrySource, links, "+")
        changed = True
    return changed
