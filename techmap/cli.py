"""The `techmap` command: Django management commands with the schema kept up to date.

`techmap init`, `techmap serve`, `techmap stats` and every other Django command
(`techmap createsuperuser`, `techmap check --deploy`, ...) run through here.
"""

import os
import sys

# Commands that must not migrate first: they only print or inspect.
NO_MIGRATE = {"help", "--help", "-h", "version", "--version", "makemigrations", "check", "migrate"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "techmap.settings")
    import django

    django.setup()
    from django.core.management import call_command, execute_from_command_line

    command = argv[1] if len(argv) > 1 else "help"
    if command not in NO_MIGRATE and _unapplied_migrations():
        call_command("migrate", interactive=False, verbosity=0)
    execute_from_command_line(argv)


def _unapplied_migrations() -> bool:
    """Whether the database lacks a migration: asking costs a few milliseconds, a migrate
    with nothing to do over a tenth of a second of every command."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


if __name__ == "__main__":
    main()
