"""Change history of the catalogue (django-simple-history): who, when, why, and what changed.

Saves record themselves (the request's user comes from HistoryRequestMiddleware). This
module adds what the library leaves to us: a change reason for work done outside a request
(`with change_reason("...")`, or the command line of a `techmap` command), history rows for
bulk writes (`bulk_record`), and the public change log of an entry, which names dates and
fields only, never people.
"""

import contextvars
import os
import sys
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.dispatch import receiver
from django.utils import timezone
from django.utils.text import capfirst
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from techmap.catalog.models import Entry, EntrySource

REASON_LENGTH = 100  # simple_history's history_change_reason column
# Bookkeeping fields: they change with every save and mean nothing to a reader.
NOT_PUBLIC_FIELDS = ("version", "created", "updated")
# History rows of one save (an entry, then its relations) are told as one change.
SAME_CHANGE_WITHIN = timedelta(seconds=60)

_reason = contextvars.ContextVar("techmap_change_reason", default="")


@contextmanager
def change_reason(text: str):
    """Record text as the reason of every history row written inside the block."""
    token = _reason.set(text[:REASON_LENGTH])
    try:
        yield
    finally:
        _reason.reset(token)


def _command_line() -> str:
    """'techmap import data.csv --format aspi' when running a command; '' otherwise."""
    if not sys.argv or Path(sys.argv[0]).name not in {"techmap", "manage.py", "django-admin"}:
        return ""
    # File names only: a reason should not keep a curator's home folder.
    words = [Path(a).name if os.sep in a else a for a in sys.argv[1:]]
    return " ".join(["techmap", *words])[:REASON_LENGTH]


def current_reason() -> str:
    """The reason for history rows written now: the enclosing change_reason, or the command."""
    return _reason.get() or _command_line()


@receiver(pre_create_historical_record)
def _fill_change_reason(sender, history_instance, **kwargs):
    if not history_instance.history_change_reason:
        history_instance.history_change_reason = current_reason() or None


def _request_user():
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _m2m_fields(model) -> list:
    return list(getattr(model.history.model, "_history_m2m_fields", []))


def tables(models) -> list[str]:
    """The history tables of models, each model's own first, then its links' snapshots."""
    names = []
    for model in models:
        names.append(model.history.model._meta.db_table)
        names += [HistoricalRecords.m2m_models[f]._meta.db_table for f in _m2m_fields(model)]
    return names


def snapshot_relations(history_rows: list, model) -> None:
    """Store the current many-to-many links of each history row's object with that row.

    simple_history does this on save(); rows written in bulk, or a save whose relations were
    set afterwards (the admin saves the entry before its form's relations), need it here.
    """
    if not history_rows:
        return
    by_pk = {row.id: row for row in history_rows}
    for field in _m2m_fields(model):
        m2m_history = HistoricalRecords.m2m_models[field]
        through = field.remote_field.through
        own = field.m2m_field_name()
        other = field.m2m_reverse_field_name()
        m2m_history.objects.filter(history__in=history_rows).delete()
        links = through.objects.filter(**{f"{own}__in": list(by_pk)}).values_list(
            "id", f"{own}_id", f"{other}_id"
        )
        m2m_history.objects.bulk_create(
            [
                m2m_history(
                    history=by_pk[pk], id=link_id, **{f"{own}_id": pk, f"{other}_id": other_pk}
                )
                for link_id, pk, other_pk in links
            ]
        )


def bulk_record(model, objs, history_type: str, *, user=None, reason: str = "") -> list:
    """Write one history row per object written by bulk_create/bulk_update or raw SQL.

    history_type is "+" (created) or "~" (changed); objs must hold their saved values and
    primary keys. Many-to-many links are snapshotted as they are in the database now, so
    call this after the links are written. Returns the history rows.
    """
    objs = [o for o in objs if o.pk is not None]
    if not objs:
        return []
    history = model.history
    date = timezone.now()
    rows = history.bulk_history_create(
        objs,
        update=history_type == "~",
        default_user=user or _request_user(),
        default_change_reason=reason or current_reason(),
        default_date=date,
    )
    if any(row.pk is None for row in rows):  # pragma: no cover - databases without RETURNING
        rows = list(history.filter(history_date=date, id__in=[o.pk for o in objs]))
    if _m2m_fields(model):
        snapshot_relations(rows, model)
    return rows


def bulk_record_rows(model, pks: list, history_type: str, *, by: str = "pk", user=None,
                     reason: str = "") -> None:
    """bulk_record() for the rows of model whose `by` column is in pks, entirely in SQL.

    One INSERT ... SELECT copies the rows into the history table and one more per
    many-to-many field snapshots their links: no model instances, so a million imported
    rows get their history in seconds rather than minutes. The rows are the same as
    bulk_record() writes.
    """
    if not pks:
        return
    from django.db import connection

    qn = connection.ops.quote_name
    history_model = model.history.model
    table, history_table = qn(model._meta.db_table), qn(history_model._meta.db_table)
    own_columns = {f.column for f in model._meta.concrete_fields}
    copied = [f.column for f in history_model._meta.concrete_fields
              if f.column in own_columns and not f.column.startswith("history_")]  # fmt: skip
    by_column = model._meta.pk.column if by == "pk" else model._meta.get_field(by).column
    date = connection.ops.adapt_datetimefield_value(timezone.now())  # as the ORM stores it
    user = user or _request_user()
    columns = ", ".join(qn(c) for c in copied)
    pk_column = qn(model._meta.pk.column)
    m2m_fields = _m2m_fields(model)
    # Consecutive rows copied in id order are numbered in that order: their links'
    # snapshots can find their history rows by arithmetic instead of a join.
    id_range = _id_range(pks)
    in_order = bool(m2m_fields) and by == "pk" and id_range is not None
    with (
        connection.cursor() as cursor,
        _selected_ids(cursor, pks, id_range) as (chosen, chosen_params),
    ):
        cursor.execute(
            f"INSERT INTO {history_table} ({columns}, {qn('history_date')}, "
            f"{qn('history_change_reason')}, {qn('history_type')}, {qn('history_user_id')}) "
            f"SELECT {columns}, %s, %s, %s, %s FROM {table} WHERE {qn(by_column)} {chosen}"
            + (f" ORDER BY {pk_column}" if in_order else ""),
            [date, reason or current_reason() or None, history_type,
             user.pk if user else None, *chosen_params],
        )  # fmt: skip
        offset = None
        if in_order:
            offset = _history_id_offset(cursor, history_table, pk_column, date, *id_range,
                                        cursor.rowcount)  # fmt: skip
        for field in m2m_fields:
            m2m_history = HistoricalRecords.m2m_models[field]
            through = field.remote_field.through
            own, other = field.m2m_field_name(), field.m2m_reverse_field_name()
            own_col = qn(through._meta.get_field(own).column)
            other_col = qn(through._meta.get_field(other).column)
            if offset is not None:
                history_id, join, join_params = f"l.{own_col} + %s", "", [offset]
            else:
                history_id, join_params = f"h.{qn('history_id')}", [date]
                join = (f"JOIN {history_table} h ON h.{pk_column} = l.{own_col} "
                        f"AND h.{qn('history_date')} = %s ")  # fmt: skip
            cursor.execute(
                f"INSERT INTO {qn(m2m_history._meta.db_table)} ({qn('id')}, {own_col}, "
                f"{other_col}, {qn('history_id')}) "
                f"SELECT l.{qn('id')}, l.{own_col}, l.{other_col}, {history_id} "
                f"FROM {qn(through._meta.db_table)} l {join}WHERE l.{own_col} {chosen}",
                [*join_params, *chosen_params],
            )


def _history_id_offset(cursor, history_table: str, pk_column: str, date, low: int, high: int,
                       copied: int) -> int | None:
    """history_id - id, the same for every history row just copied (at date) from the rows
    low..high, or None when it is not: the copy numbered them with no gap in id order, as
    SQLite and PostgreSQL do for one INSERT ... SELECT ... ORDER BY while no other writer
    takes numbers meanwhile. Checked, not assumed: one count over the new rows, several
    times cheaper than the join it replaces (1,000,000 entries and 2,700,000 links)."""
    if copied != high - low + 1:
        return None
    cursor.execute(f"SELECT MAX(history_id) FROM {history_table}")
    last = cursor.fetchone()[0]
    first = last - copied + 1
    offset = first - low
    cursor.execute(
        f"SELECT COUNT(*) FROM {history_table} WHERE history_id BETWEEN %s AND %s "
        f"AND history_id = {pk_column} + %s AND history_date = %s",
        [first, last, offset, date],
    )
    return offset if cursor.fetchone()[0] == copied else None


def _id_range(pks: list) -> tuple[int, int] | None:
    """(lowest, highest) of pks when they are every integer in between, else None."""
    low, high = min(pks), max(pks)
    if isinstance(low, int) and high - low == len(set(pks)) - 1:
        return low, high
    return None


# Up to this many ids go into the statement as parameters; more go into a temporary table,
# so that a million rows are still copied by one statement per table, not a thousand.
IDS_AS_PARAMETERS = 1000


@contextmanager
def _selected_ids(cursor, pks: list, id_range: tuple[int, int] | None):
    """(SQL condition on a column that holds for the pks and no other value, its
    parameters), valid for the block; id_range is _id_range(pks)."""
    if id_range is not None:
        # Consecutive ids, as a bulk load creates them: a range scan instead of a join.
        yield "BETWEEN %s AND %s", list(id_range)
        return
    distinct = sorted(set(pks))
    if len(distinct) <= IDS_AS_PARAMETERS:
        yield "IN (" + ", ".join(["%s"] * len(distinct)) + ")", distinct
        return
    cursor.execute("CREATE TEMPORARY TABLE techmap_history_ids (id bigint PRIMARY KEY)")
    try:
        for start in range(0, len(distinct), IDS_AS_PARAMETERS):
            chunk = distinct[start : start + IDS_AS_PARAMETERS]
            cursor.execute(
                "INSERT INTO techmap_history_ids (id) VALUES " + ", ".join(["(%s)"] * len(chunk)),
                chunk,
            )
        yield "IN (SELECT id FROM techmap_history_ids)", []
    finally:
        cursor.execute("DROP TABLE techmap_history_ids")


def refresh_latest_snapshot(instance) -> None:
    """Make the newest history row of instance hold its current many-to-many links."""
    latest = instance.history.order_by("-history_date", "-history_id").first()
    if latest is not None:
        snapshot_relations([latest], type(instance))


# The public change log --------------------------------------------------------------------


def field_label(model, name: str) -> str:
    """A field's human label, e.g. 'year_started' -> 'Year commenced'."""
    return capfirst(str(model._meta.get_field(name).verbose_name))


def _in_field_order(names) -> list[str]:
    order = {field.name: i for i, field in enumerate(Entry._meta.get_fields())}
    return sorted(names, key=lambda name: order.get(name, len(order)))


def _entry_events(entry) -> list[dict]:
    records = list(entry.history.order_by("history_date", "history_id"))
    events, previous = [], None
    for record in records:
        if record.history_type == "+":
            kind, changes = "created", []
        elif record.history_type == "-":
            kind, changes = "deleted", []
        else:
            kind = "changed"
            changes = []
            if previous is not None:
                delta = record.diff_against(previous, excluded_fields=NOT_PUBLIC_FIELDS)
                changes = [
                    field_label(Entry, name) for name in _in_field_order(delta.changed_fields)
                ]
        events.append(
            {
                "date": record.history_date,
                "kind": kind,
                "changes": changes,
                "who": (record.history_user_id, record.history_change_reason),
            }
        )
        previous = record
    return events


def _source_events(entry) -> list[dict]:
    label = capfirst(str(Entry._meta.get_field("sources").verbose_name))
    rows = EntrySource.history.filter(entry_id=entry.pk).order_by("history_date", "history_id")
    return [
        {
            "date": row.history_date,
            "kind": "changed",
            "changes": [label],
            "who": (row.history_user_id, row.history_change_reason),
        }
        for row in rows
    ]


def _merge(events: list[dict]) -> list[dict]:
    merged: list[dict] = []
    for event in sorted(events, key=lambda e: e["date"]):
        last = merged[-1] if merged else None
        if (
            last is not None
            and last["who"] == event["who"]
            and event["date"] - last["end"] <= SAME_CHANGE_WITHIN
            and "deleted" not in (last["kind"], event["kind"])
        ):
            if last["kind"] != "created":
                for label in event["changes"]:
                    if label not in last["changes"]:
                        last["changes"].append(label)
            last["end"] = event["date"]
            continue
        merged.append({**event, "changes": list(event["changes"]), "end": event["date"]})
    return merged


def public_change_log(entry) -> list[dict]:
    """The entry's changes, newest first: [{"date", "kind": created/changed, "changes": [labels]}].

    Only dates and the human labels of changed fields: never who made a change, their
    reason or the values, so nothing about staff or unpublished text reaches the page.
    """
    log = []
    for event in _merge(_entry_events(entry) + _source_events(entry)):
        if event["kind"] == "deleted" or (event["kind"] == "changed" and not event["changes"]):
            continue
        log.append({"date": event["date"], "kind": event["kind"], "changes": event["changes"]})
    log.reverse()
    return log


def diff_fields(newer, older) -> list[str]:
    """Names of the fields that differ between two history rows (bookkeeping left out)."""
    return newer.diff_against(older, excluded_fields=NOT_PUBLIC_FIELDS).changed_fields
