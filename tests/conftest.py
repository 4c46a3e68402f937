"""Shared fixtures: a real database (SQLite by default, PostgreSQL when
TECHMAP_DATABASE_URL points at one) holding the bundled dataset."""

import pytest
from django.core.management import call_command


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the bundled dataset once per test session, as `techmap init` does."""
    with django_db_blocker.unblock():
        call_command("init", verbosity=0)


@pytest.fixture
def bundled(db):
    """Use in tests that read the bundled dataset (each test runs in a rolled-back transaction)."""
    return None


@pytest.fixture(autouse=True)
def fresh_memos():
    """Each test starts without the per-process memos of whole-table answers (catalog.memo):
    rolled-back tests can repeat a data version with other contents, which real time cannot."""
    from techmap.catalog import memo

    memo.forget()


@pytest.fixture(autouse=True)
def _fresh_response_cache():
    """Each test starts with an empty per-process answer cache (techmap.web.response_cache):
    tests roll their data back, so a version seen in one test can come back in the next."""
    from techmap.web import response_cache

    response_cache.forget()
