"""Times one GeoJSON export against its raw baseline, in this process, alternately.

Run by bench/import_export.py in a subprocess whose TECHMAP_DATA_DIR and TECHMAP_DATABASE_URL
point at a benchmark database, so Django's settings (read once, at set-up) never see
the real one. Prints one JSON object: the sorted timings of both sides.

- ours: techmap's export_to_path(export_entries(), "geojson", path): published entries,
  every export column, written atomically to a file.
- baseline: one raw query of the same rows and fields (category, country, companies,
  topics and sources joined in SQL, lists concatenated, sources as JSON text) with sqlite3,
  or psycopg on PostgreSQL, each row made a dict and the list dumped with orjson.dumps.
"""

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import orjson

RAW_QUERY = """
select e.public_id as id, e.title,
  (select group_concat(name, '; ') from (
     select co.name from catalog_entry_companies ec
     join catalog_company co on co.id = ec.company_id
     where ec.entry_id = e.id order by co.name) x) as companies,
  (select group_concat(slug, '; ') from (
     select co.slug from catalog_entry_companies ec
     join catalog_company co on co.id = ec.company_id
     where ec.entry_id = e.id order by co.name) x) as company_slugs,
  c.slug as category, c.name as category_name, sc.slug as secondary_category,
  (select group_concat(slug, '; ') from (
     select t.slug from catalog_entry_topics et join catalog_topic t on t.id = et.topic_id
     where et.entry_id = e.id order by t.name) x) as topics,
  n.iso2 as country, n.name as country_name, e.city, e.address, e.latitude, e.longitude,
  e.precision, e.partners, e.financing_lender, e.financing_amount, e.financing_currency,
  e.year_started, e.year_ended, e.description, e.highlight, e.external_refs,
  e.line_geometry,
  (select json_group_array(json_object('title', s.title, 'author', s.author,
     'publisher', s.publisher, 'publication_date', s.publication_date, 'url', s.url,
     'archived_url', s.archived_url, 'language', s.language, 'note', s.note))
   from (select s.* from catalog_entrysource es join catalog_source s on s.id = es.source_id
         where es.entry_id = e.id order by es.position, es.id) s) as sources,
  e.created, e.updated
from catalog_entry e
join catalog_category c on c.id = e.category_id
left join catalog_category sc on sc.id = e.secondary_category_id
left join catalog_country n on n.id = e.country_id
where e.status = 'published'
order by e.public_id
"""


# The same query in PostgreSQL's dialect.
PG_RAW_QUERY = (
    RAW_QUERY.replace("group_concat(name, '; ')", "string_agg(name, '; ')")
    .replace("group_concat(slug, '; ')", "string_agg(slug, '; ')")
    .replace("json_group_array(json_object(", "json_agg(json_build_object(")
)


def raw_export(database_url: str, output: Path) -> int:
    """The baseline: fetch the rows with the raw driver, dump them with orjson; the count."""
    if database_url.startswith("sqlite:///"):
        con = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        query = RAW_QUERY
    else:
        import psycopg

        con = psycopg.connect(database_url)
        query = PG_RAW_QUERY
    try:
        cursor = con.execute(query)
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
    output.write_bytes(orjson.dumps(rows, default=str))  # PostgreSQL gives Decimal, datetime
    return len(rows)


def techmap_export(output: Path) -> int:
    """techmap's own GeoJSON export of every published entry; return the count."""
    from techmap.exchange.export import export_entries, export_to_path

    return export_to_path(export_entries(), "geojson", output)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "techmap.settings")
    import django

    django.setup()
    timings = {"ours": [], "baseline": []}
    counts = {}
    for _ in range(args.repeat):
        # Alternate the two sides so that a burst of load elsewhere hits both alike.
        for side, run in (
            ("ours", lambda: techmap_export(args.output_dir / "ours.geojson")),
            ("baseline", lambda: raw_export(args.database_url, args.output_dir / "raw.json")),
        ):
            start = time.perf_counter()
            counts[side] = run()
            timings[side].append(time.perf_counter() - start)
    json.dump({"timings": timings, "counts": counts}, sys.stdout)


if __name__ == "__main__":
    main()
