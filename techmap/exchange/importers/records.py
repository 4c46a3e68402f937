"""The normalised entry record every parser produces, in the database's vocabulary.

Parsers turn a file into EntryRecord objects (already validated); writer.write_records()
stores them.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from techmap.catalog.models import Entry

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
    # The description already sanitised, by a parser that does it (in parallel) while it
    # reads; None lets write_records() sanitise it.
    clean_description: str | None = None
    highlight: bool = False
    external_refs: dict = field(default_factory=dict)
    sources: list[SourceRecord] = field(default_factory=list)
    # The external key that identifies the entry across re-imports, e.g.
    # ("chinatechmap_marker", "159"); an entry holding it is updated even if its
    # public id differs (public ids are never changed).
    external_key: tuple[str, str] | None = None


class FirstLoadRecord(NamedTuple):
    """A new entry of a first load (into an empty entry table) of a file of markers: what
    an EntryRecord holds of it, made cheaply. Companies, categories and topics by name;
    sources by (title, URL) of each link of the text, in order, none meaning the imported
    file itself. Other fields get their defaults."""

    public_id: str
    title: str
    companies: tuple[str, ...]
    category: str
    secondary_category: str  # "" for none
    topics: tuple[str, ...]
    country: str  # ISO 3166-1 alpha-2, or "" for none
    city: str
    address: str
    latitude: float | None
    longitude: float | None
    precision: str
    year_started: int | None
    year_ended: int | None
    description: str  # already sanitised
    highlight: bool
    external_refs: dict
    links: tuple[tuple[str, str], ...]
