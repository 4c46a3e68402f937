"""Drop indexes no query reads.

- catalog_entrysource (entry_id): the unique (entry_id, source_id) constraint starts with it.
- The history tables' indexes on the category, country, company, topic and source of each
  snapshot, and on the entry of the link snapshots: history is read by entry and by date
  (catalog.history), never by these. simple_history indexes every foreign key it copies;
  each index is written with every history row (5 of the 12 s of history a million-row
  import wrote).

The fields change in the migration state; in the database only the indexes go (an
AlterField would have SQLite copy each history table once per field). Django names an
index the same on SQLite and PostgreSQL.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = [
    ("catalog_entrysource", "entry_id", "catalog_entrysource_entry_id_cdc49713"),
    ("catalog_historicalentry", "category_id", "catalog_historicalentry_category_id_59b922ae"),
    ("catalog_historicalentry", "country_id", "catalog_historicalentry_country_id_ae593a88"),
    ("catalog_historicalentry", "secondary_category_id",
     "catalog_historicalentry_secondary_category_id_a160762a"),
    ("catalog_historicalentry_companies", "company_id",
     "catalog_historicalentry_companies_company_id_dae50688"),
    ("catalog_historicalentry_companies", "entry_id",
     "catalog_historicalentry_companies_entry_id_c42eba79"),
    ("catalog_historicalentry_topics", "entry_id", "catalog_historicalentry_topics_entry_id_6790c185"),
    ("catalog_historicalentry_topics", "topic_id", "catalog_historicalentry_topics_topic_id_2aad2fd8"),
    ("catalog_historicalentrysource", "source_id",
     "catalog_historicalentrysource_source_id_4094c72a"),
]  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_drop_redundant_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="entrysource",
                    name="entry",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="entry_sources",
                        to="catalog.entry",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalentry",
                    name="category",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="catalog.category",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalentry",
                    name="country",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="catalog.country",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalentry",
                    name="secondary_category",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="catalog.category",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalentry_companies",
                    name="company",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        db_tablespace="",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="catalog.company",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalentry_companies",
                    name="entry",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        db_tablespace="",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="catalog.entry",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalentry_topics",
                    name="entry",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        db_tablespace="",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="catalog.entry",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalentry_topics",
                    name="topic",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        db_tablespace="",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="catalog.topic",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalentrysource",
                    name="source",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="catalog.source",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}",
                    f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})",
                )
                for table, column, name in INDEXES
            ],
        ),
    ]
