"""Raw bulk statements for the import write path: one executemany per chunk of rows.

Django's bulk_create compiles every batch anew and prepares each value of each field
through the ORM; on a 100,000-row import that was over half the time. These helpers send
one parameterised statement with many parameter rows instead. They use Django's own cursor
(%s placeholders, the caller's transaction), so they work unchanged on SQLite and
PostgreSQL and an import still writes everything or nothing.
"""

import gc
import itertools
import json
from contextlib import contextmanager

import orjson
from django.db import connection

# Rows per executemany and values per IN (...): well below the parameter limits of SQLite
# (32,766) and PostgreSQL (65,535), large enough that per-statement overhead vanishes.
CHUNK = 1000
COPY_FROM = 100  # rows from which PostgreSQL gets them by COPY rather than INSERT
ROWS_PER_INSERT = 500  # rows per multi-row INSERT on SQLite
SQLITE_PARAMETERS = 32_766  # SQLite's limit on parameters per statement since 3.32


def chunks(items: list, size: int = CHUNK):
    """Consecutive slices of items of at most size elements."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _names(model, columns) -> tuple[str, list[str]]:
    quote = connection.ops.quote_name
    return quote(model._meta.db_table), [quote(c) for c in columns]


def insert_rows(model, columns: list[str], rows: list[tuple]) -> None:
    """INSERT rows (tuples of database-ready values, in the order of columns).

    Every other column gets its field's default, as the ORM would give it (so a field added
    to the model later, such as a version number, is never left NULL).
    """
    if not rows:
        return
    given = set(columns)
    rest = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.column not in given and f.attname not in given
    ]
    if rest:
        defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
        columns = [*columns, *(f.column for f in rest)]
        rows = [(*row, *defaults) for row in rows]
    table, names = _names(model, columns)
    if connection.vendor == "postgresql" and len(rows) >= COPY_FROM:
        # COPY streams the rows in one statement: several times faster than INSERTs.
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    if connection.vendor == "sqlite":
        _insert_many_per_statement(table, names, rows)
        return
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        for chunk in chunks(rows):
            cursor.executemany(sql, chunk)


def reserve_ids(model, n: int) -> int:
    """The first of n consecutive ids of model that no other row will get, for rows
    inserted with their ids: taken at once from the table's sequence on PostgreSQL; on
    SQLite the next after any the table has given (AUTOINCREMENT never reuses one), which
    stay free while this transaction holds the write lock, so call it once the transaction
    has written."""
    table, pk = model._meta.db_table, model._meta.pk.column
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(s, nextval(s) + %s - 1) FROM pg_get_serial_sequence(%s, %s) s",
                [n, quote(table), pk],
            )
            return cursor.fetchone()[0] - n + 1
        if connection.vendor != "sqlite":
            raise NotImplementedError(f"reserve_ids() on {connection.vendor}")
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        given = cursor.fetchone()
        cursor.execute(f"SELECT MAX({quote(pk)}) FROM {quote(table)}")
        return max(given[0] if given else 0, cursor.fetchone()[0] or 0) + 1


def _insert_many_per_statement(table: str, names: list[str], rows: list[tuple]) -> None:
    """SQLite: INSERT ... VALUES (...), (...), ... with up to ROWS_PER_INSERT rows each.

    An executemany() pays SQLite's per-statement work (binding, stepping, the AUTOINCREMENT
    counter) for every row; one statement of hundreds of rows pays it once. Four times
    faster for the link tables' two-column rows.
    """
    width = len(names)
    per_statement = max(1, min(ROWS_PER_INSERT, SQLITE_PARAMETERS // width))
    head = f"INSERT INTO {table} ({', '.join(names)}) VALUES "
    row = "(" + ", ".join(["?"] * width) + ")"  # qmarks: Django passes them on unchanged
    full = head + ", ".join([row] * per_statement)
    connection.ensure_connection()
    # The sqlite3 connection itself: Django's cursor would rewrite each statement's
    # thousands of placeholders with a regular expression first (a second per million rows).
    execute = connection.connection.execute
    for chunk in chunks(rows, per_statement):
        sql = full if len(chunk) == per_statement else head + ", ".join([row] * len(chunk))
        execute(sql, list(itertools.chain.from_iterable(chunk)))


def update_rows(model, columns: list[str], rows: list[tuple], increment: list[str] = ()) -> None:
    """UPDATE by primary key: each row holds the values of columns, then the id; the
    increment columns (e.g. a version number) are raised by one."""
    if not rows:
        return
    table, names = _names(model, columns)
    quote = connection.ops.quote_name
    assignments = ", ".join(
        [f"{name} = %s" for name in names] + [f"{quote(c)} = {quote(c)} + 1" for c in increment]
    )
    pk = connection.ops.quote_name(model._meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"
    with connection.cursor() as cursor:
        for chunk in chunks(rows):
            cursor.executemany(sql, chunk)


def select_in(model, columns: list[str], key: str, values: list, order: list[str] = ()):
    """Yield tuples of columns for rows whose key column is in values (chunked IN queries)."""
    table, names = _names(model, columns)
    key_name = connection.ops.quote_name(key)
    order_by = ""
    if order:
        order_by = " ORDER BY " + ", ".join(connection.ops.quote_name(c) for c in order)
    with connection.cursor() as cursor:
        for chunk in chunks(values):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {', '.join(names)} FROM {table} "
                f"WHERE {key_name} IN ({placeholders}){order_by}",
                chunk,
            )
            yield from cursor.fetchall()


def delete_in(model, key: str, values: list) -> None:
    """DELETE the rows whose key column is in values. Only for tables nothing refers to."""
    table, _ = _names(model, [])
    key_name = connection.ops.quote_name(key)
    with connection.cursor() as cursor:
        for chunk in chunks(values):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {table} WHERE {key_name} IN ({placeholders})", chunk)


def json_text(value) -> str:
    """value as JSON text: orjson (several times faster) unless it cannot encode it, e.g. a
    dict with other keys than strings, which json encodes as Django would."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def db_datetime(value, field):
    """The aware datetime value as the database value of field for rows written in bulk.

    On PostgreSQL, ISO 8601 text, which it reads as exactly the same time: psycopg formats
    a datetime anew for every row it is in (two seconds of a 1,000,000-row import, whose
    rows share one timestamp).
    """
    if connection.vendor == "postgresql" and value.tzinfo is not None:
        return value.isoformat()
    return field.get_db_prep_save(value, connection)


def db_preparer(field):
    """A function turning a Python value of field into its database value.

    Only fields whose database form differs from the Python value (JSON, decimals, dates)
    go through Django's get_db_prep_save; plain strings, numbers and ids pass as they are.
    """
    kind = field.get_internal_type()
    if kind == "JSONField":
        adapt, encoder = connection.ops.adapt_json_value, field.encoder
        if encoder is not None:  # the backend's own adapter, which get_db_prep_save ends in
            return lambda value: None if value is None else adapt(value, encoder)
        # JSON text, which both databases read into a JSON column: on PostgreSQL, psycopg
        # passes a string as of unknown type. Its Jsonb wrapper cost three times the encoding
        # itself (2.4 s of the main process in a 1,000,000-row import).
        return lambda value: None if value is None else json_text(value)
    if kind not in ("DecimalField", "DateTimeField", "DateField"):
        return None
    # None is NULL for all of these; skipping Django for it saves most calls (empty cells).
    return lambda value: None if value is None else field.get_db_prep_save(value, connection)


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector for the block.

    An import holds millions of objects (cells, records, rows) until it ends, and the
    collector walks them all again each time enough new ones have been allocated: at
    1,000,000 rows that was a third of the import, to find next to no garbage. Forked
    parsing workers inherit the pause.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


@contextmanager
def large_cache(mebibytes: int = 256):
    """Give SQLite a page cache of this size for the block (its default is 2 MiB): index
    updates at random keys of a large table otherwise re-read pages from disk all along."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-1024 * int(mebibytes)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")
