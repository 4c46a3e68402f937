"""Large loads: set the plain indexes of the tables being filled (and, on PostgreSQL, the
foreign keys from or to them) aside while the rows go in, and create them again after.

Sorting once is far cheaper than growing a dozen indexes at random places row by row, and
one validating join per foreign key far cheaper than PostgreSQL's per-row foreign key
triggers (over half the time of a million-row load). It pays when the rows added outnumber
those present. Unique indexes stay: they check the rows. DDL is transactional in both
databases, so call this inside a transaction and a failure restores everything; on
PostgreSQL the tables are locked for reading and writing until the commit, which is why
only a load larger than the tables should do it. Used by `techmap synth` and by imports.
"""

import os
from contextlib import contextmanager

from django.db import OperationalError, connection


def analyze(tables: list[str]) -> None:
    """Renew the planner's statistics of tables (SQLite has none until ANALYZE)."""
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _run_queued_checks(cursor) -> None:
    """Run PostgreSQL's deferred foreign key checks now: it alters no table, and builds no
    index, that has checks still queued."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def schema_objects(cursor, tables: list[str], primary_keys: bool = False) -> list[tuple[str, str]]:
    """(drop statement, create statement) of the plain indexes of tables and, on PostgreSQL,
    of the foreign keys from or to them and, if primary_keys, of their primary keys."""
    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(tables))
    if connection.vendor == "sqlite":
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({marks}) ORDER BY name",
            tables,
        )
        return [
            (f"DROP INDEX {qn(name)}", sql)
            for name, sql in cursor.fetchall()
            if not sql.lstrip().upper().startswith("CREATE UNIQUE")
        ]
    if connection.vendor != "postgresql":
        return []
    # Foreign keys first, then primary keys (the keys that refer to them must go first).
    objects = _constraints(
        cursor, f"c.contype = 'f' AND (t.relname IN ({marks}) OR r.relname IN ({marks}))",
        tables + tables,
    )  # fmt: skip
    if primary_keys:
        objects += _constraints(cursor, f"c.contype = 'p' AND t.relname IN ({marks})", tables)
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid"
        f" WHERE t.relnamespace = current_schema()::regnamespace AND t.relname IN ({marks})"
        " AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion"
        " ORDER BY c.relname",
        tables,
    )
    return objects + [(f"DROP INDEX {qn(name)}", create) for name, create in cursor.fetchall()]


def _constraints(cursor, condition: str, params: list) -> list[tuple[str, str]]:
    """(drop, create) of the PostgreSQL constraints c of tables t (referring to tables r)
    that meet condition, in this schema."""
    qn = connection.ops.quote_name
    cursor.execute(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
        " JOIN pg_class t ON t.oid = c.conrelid LEFT JOIN pg_class r ON r.oid = c.confrelid"
        f" WHERE t.relnamespace = current_schema()::regnamespace AND {condition}"
        " ORDER BY t.relname, c.conname",
        params,
    )
    return [
        (
            f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}",
            f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}",
        )
        for table, name, definition in cursor.fetchall()
    ]


@contextmanager
def schema_set_aside(tables: list[str], *, enabled: bool = True, primary_keys: bool = False):
    """Run the block without the plain indexes (and PostgreSQL's foreign keys) of tables;
    create them again after it, indexes first (the foreign key checks use them).

    primary_keys: on PostgreSQL, set their primary keys aside too, for rows whose keys
    are unique by construction (numbered by their sequence): a primary key built once is
    cheaper than one grown row by row. Adding it back still checks the rows."""
    objects = []
    if enabled:
        with connection.cursor() as cursor:
            objects = schema_objects(cursor, tables, primary_keys)
            if objects and connection.vendor == "postgresql":
                _run_queued_checks(cursor)
                # The load's large statements (validating joins, INSERT ... SELECT) are
                # costly enough for PostgreSQL to compile them with JIT, which takes longer
                # than it saves (1-2 s of a 1,000,000-row import). Until the commit.
                cursor.execute("SET LOCAL jit = off")
            for drop, _ in objects:
                cursor.execute(drop)
    yield
    if not objects:
        return
    with connection.cursor() as cursor, _sorting_in_small_runs(cursor):
        if connection.vendor == "postgresql":
            _run_queued_checks(cursor)
            # Fresh statistics, or the planner validates a foreign key with a nested loop
            # of sequential scans (200 s for 100,000 rows instead of a fraction of a second).
            analyze(tables)
        for _, create in reversed(objects):
            cursor.execute(create)


def renews_statistics() -> bool:
    """Whether schema_set_aside() leaves the planner's statistics of its tables fresh: on
    PostgreSQL it renews them once the rows are in, before validating the foreign keys."""
    return connection.vendor == "postgresql"


def cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


# SQLite's default page cache; its sorter writes a sorted run each time this much is read.
SORT_RUN_KIB = 2000


@contextmanager
def _sorting_in_small_runs(cursor):
    """On SQLite, build indexes from small sorted runs, sorted and merged by helper threads
    on every core: a 2 MB page cache and `PRAGMA threads`, restored after.

    SQLite sorts the rows of a new index in runs the size of its page cache. A large cache
    (an import asks for 256 MB) makes one run that a single thread sorts out of the CPU's
    caches; small runs sorted by helper threads built the indexes of 1,000,000 entries in
    5.9 s instead of 11.4 s.
    """
    if connection.vendor != "sqlite":
        yield
        return
    cursor.execute("PRAGMA cache_size")
    cache = cursor.fetchone()[0]
    cursor.execute("PRAGMA threads")
    threads = cursor.fetchone()[0]
    cursor.execute(f"PRAGMA cache_size = {-SORT_RUN_KIB}")
    cursor.execute(f"PRAGMA threads = {cores()}")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(cache)}")
        cursor.execute(f"PRAGMA threads = {int(threads)}")


@contextmanager
def rollback_journal_when_alone(*, enabled: bool = True):
    """Run the block (a large load, outside any transaction) with SQLite's rollback journal
    instead of its write-ahead log, if no other connection has the database open.

    In WAL mode every page of a load is written twice: into the log, then into the database
    by the checkpoint after the commit. A rollback journal saves only the pages the load
    changes that existed before, so a load into a small database writes its pages once (a
    sixth of a 1,000,000-row import). The price is that readers who connect during the load
    wait for its commit (timing out after the connection's timeout), as they wait on
    PostgreSQL while schema_set_aside() holds the tables. SQLite changes the mode only when
    it is alone with the database, so a server holding connections open keeps the log and
    its readers; the next connection to open the database sets WAL again in any case.
    """
    if not enabled or connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        before = cursor.fetchone()[0]
        switched = before.lower() == "wal" and _journal_mode(cursor, "delete")
    try:
        yield
    finally:
        if switched:
            with connection.cursor() as cursor:
                _journal_mode(cursor, before)


def _journal_mode(cursor, mode: str) -> bool:
    """Set SQLite's journal mode without waiting for other connections; whether it changed."""
    cursor.execute("PRAGMA busy_timeout")
    timeout = cursor.fetchone()[0]
    cursor.execute("PRAGMA busy_timeout = 0")  # another connection open: give up at once
    try:
        cursor.execute(f"PRAGMA journal_mode = {mode}")
        return cursor.fetchone()[0].lower() == mode.lower()
    except OperationalError:  # "database is locked": another connection has it open
        return False
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout)}")
