"""Indexes and statistics for the filter panel's counts (catalog.facets).

The link tables are created by their many-to-many fields, so their indexes are plain SQL:
(company_id, entry_id) lets a company's entries, or every link grouped by company, be read
from the index alone and in entry order. On PostgreSQL, statistics on how many distinct
(category, secondary category, country) groups exist let the planner see that grouping
the entries by them gives some thousands of rows, not a hundred thousand: it then hashes
them in memory instead of sorting every entry on disk.
"""

from django.db import migrations, models

LINK_INDEXES = [
    ("catalog_entry_companies", "company_id", "catalog_entry_companies_company_entry_idx"),
    ("catalog_entry_topics", "topic_id", "catalog_entry_topics_topic_entry_idx"),
]
STATISTICS = "catalog_entry_facet_groups_stats"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (ndistinct)"
            " ON category_id, secondary_category_id, country_id FROM catalog_entry"
        )
        schema_editor.execute("ANALYZE catalog_entry")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_category_topic_name_zh"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="entry",
            index=models.Index(
                fields=[
                    "status",
                    "category",
                    "secondary_category",
                    "country",
                    "year_started",
                    "year_ended",
                ],
                name="catalog_entry_facets_idx",
            ),
        ),
        *[
            migrations.RunSQL(
                f"CREATE INDEX {name} ON {table} ({column}, entry_id)",
                f"DROP INDEX {name}",
            )
            for table, column, name in LINK_INDEXES
        ],
        migrations.RunPython(create_statistics, drop_statistics),
    ]
