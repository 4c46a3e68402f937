"""Drop the indexes that others already cover.

Every index is written on each insert and rebuilt after a large load (catalog.bulkload):
at 1,000,000 entries these five cost seconds of each import and `techmap synth` and
hundreds of megabytes, and answer nothing another index cannot.

- (status, category) is the start of catalog_entry_facets_idx.
- The link tables' single-column indexes, which Django creates for each foreign key of a
  many-to-many table: (entry_id) starts the unique (entry_id, company_id) index, and
  (company_id) starts (company_id, entry_id) from 0005; likewise for topics. Their names
  are Django's, the same on SQLite and PostgreSQL.
"""

from django.db import migrations

LINK_INDEXES = [
    ("catalog_entry_companies", "entry_id", "catalog_entry_companies_entry_id_68f83ce7"),
    ("catalog_entry_companies", "company_id", "catalog_entry_companies_company_id_b4a7de1f"),
    ("catalog_entry_topics", "entry_id", "catalog_entry_topics_entry_id_dbdb15fe"),
    ("catalog_entry_topics", "topic_id", "catalog_entry_topics_topic_id_eeb3ad7c"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_facet_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="entry", name="catalog_ent_status_50b395_idx"),
        *[
            migrations.RunSQL(
                f"DROP INDEX IF EXISTS {name}",
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})",
            )
            for table, column, name in LINK_INDEXES
        ],
    ]
