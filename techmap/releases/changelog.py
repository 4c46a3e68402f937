"""What changed between two releases: entries added, removed and changed (which fields).

Entries are matched by public id. Rows are compared by their hash first, so only the
entries whose hash differs are loaded in full to name the changed fields.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from techmap.catalog.models import Entry
from techmap.exchange.columns import COLUMN_NAMES
from techmap.releases.models import Release
from techmap.releases.release import IGNORED_FIELDS

CHUNK = 500  # ids per IN (...) query, well under every database's parameter limit


@dataclass(frozen=True)
class EntryChange:
    """One entry in a changelog; fields names the changed columns (empty if added/removed)."""

    id: str
    title: str
    fields: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        data = {"id": self.id, "title": self.title}
        if self.fields:
            data["fields"] = list(self.fields)
        return data


@dataclass
class ReleaseDiff:
    """The changes from release old to release new, each list sorted by id."""

    old: Release
    new: Release
    added: list[EntryChange] = field(default_factory=list)
    changed: list[EntryChange] = field(default_factory=list)
    removed: list[EntryChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def as_dict(self) -> dict:
        """The diff as JSON-ready data (for `techmap release diff --json`)."""
        return {
            "from": self.old.name,
            "to": self.new.name,
            "summary": {
                "added": len(self.added),
                "changed": len(self.changed),
                "removed": len(self.removed),
            },
            "added": [c.as_dict() for c in self.added],
            "changed": [c.as_dict() for c in self.changed],
            "removed": [c.as_dict() for c in self.removed],
        }

    def lines(self) -> Iterator[str]:
        """The diff as human-readable lines."""
        yield (
            f"From {self.old.name} ({self.old.entry_count} entries) to {self.new.name} "
            f"({self.new.entry_count} entries): {len(self.added)} added, "
            f"{len(self.changed)} changed, {len(self.removed)} removed."
        )
        for heading, mark, changes in (
            ("Added", "+", self.added),
            ("Changed", "~", self.changed),
            ("Removed", "-", self.removed),
        ):
            if not changes:
                continue
            yield ""
            yield f"{heading} ({len(changes)}):"
            for change in changes:
                suffix = f" [{', '.join(change.fields)}]" if change.fields else ""
                yield f"  {mark} {change.id}  {change.title}{suffix}"


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _rows(release: Release, ids: list[str]) -> dict[str, dict]:
    rows = {}
    for chunk in _chunks(ids):
        rows.update(release.entries.filter(public_id__in=chunk).values_list("public_id", "row"))
    return rows


def changed_fields(old_row: dict, new_row: dict) -> tuple[str, ...]:
    """Names of the columns whose values differ, in column order (IGNORED_FIELDS left out)."""
    # Column order, not the rows' key order: PostgreSQL's jsonb does not keep key order.
    extra = sorted((new_row.keys() | old_row.keys()) - set(COLUMN_NAMES))
    names = COLUMN_NAMES + extra
    return tuple(
        name
        for name in names
        if name not in IGNORED_FIELDS and old_row.get(name) != new_row.get(name)
    )


def diff_releases(old: Release, new: Release) -> ReleaseDiff:
    """Entries added, removed and changed (with the changed fields) from old to new."""
    old_index = {pid: (title, h) for pid, title, h in _index(old)}
    new_index = {pid: (title, h) for pid, title, h in _index(new)}
    diff = ReleaseDiff(old=old, new=new)
    diff.added = [
        EntryChange(pid, new_index[pid][0]) for pid in sorted(new_index.keys() - old_index.keys())
    ]
    diff.removed = [
        EntryChange(pid, old_index[pid][0]) for pid in sorted(old_index.keys() - new_index.keys())
    ]
    candidates = sorted(
        pid for pid in old_index.keys() & new_index.keys() if old_index[pid][1] != new_index[pid][1]
    )
    old_rows, new_rows = _rows(old, candidates), _rows(new, candidates)
    for pid in candidates:
        fields = changed_fields(old_rows[pid], new_rows[pid])
        if fields:
            diff.changed.append(EntryChange(pid, new_index[pid][0], fields))
    return diff


def _index(release: Release):
    return release.entries.order_by().values_list("public_id", "title", "row_hash").iterator()


def published_ids(ids: Iterable[str]) -> set[str]:
    """Those of ids that are published entries now (so a changelog can link to them)."""
    ids = list(ids)
    found: set[str] = set()
    for chunk in _chunks(ids):
        found.update(
            Entry.objects.published()
            .filter(public_id__in=chunk)
            .values_list("public_id", flat=True)
        )
    return found
