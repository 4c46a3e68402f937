"""Fixtures of the submission tests."""

import pytest

from techmap.catalog.models import Category, Company
from tests.submissions.support import EMAIL


@pytest.fixture
def limit(settings):
    """Set the rate limit (and other TECHMAP settings) for one test."""

    def set_settings(**values):
        settings.TECHMAP = {**settings.TECHMAP, **values}

    return set_settings


@pytest.fixture
def form_data(bundled):
    company = Company.objects.order_by("slug").first()
    category = Category.objects.order_by("slug").first()
    return {
        "company": company.slug,
        "other_company_name": "",
        "category": category.slug,
        "country": "KE",
        "city": "Nairobi",
        "latitude": "-1.2921",
        "longitude": "36.8219",
        "title": "Unique test title qx7",
        "description": "A data centre.\n\nBuilt with <b>state</b> loans & grants.",
        "year_started": "2019",
        "year_ended": "",
        "source_urls": "https://example.org/report\nhttp://example.com/news?id=1\n",
        "contact_email": EMAIL,
        "website": "",
    }
