"""Times the map's bbox answer and the facet counts in this process, against raw baselines.

Run by bench/api_latency.py in a subprocess whose TECHMAP_* environment points at a
benchmark data set. Prints one JSON object.

- bbox, ours: GET /api/map?bbox=...&zoom=... through Django's whole request handling
  (middleware, view, orjson) with django.test.Client, no network.
- bbox, baseline: one raw query (sqlite3, or psycopg on PostgreSQL) of the same rows and map
  properties (id, title, category slug and colour, companies, precision, point) ordered by
  public id, made into the same GeoJSON features and dumped with orjson.dumps.
- facets: GET /api/facets without and with a filter, through the same client.
"""

import argparse
import json
import os

import orjson

POINTS_QUERY = """
select e.public_id, e.title, c.slug, c.color,
  (select {concat} from (
     select co.name from catalog_entry_companies ec
     join catalog_company co on co.id = ec.company_id
     where ec.entry_id = e.id order by co.name) x),
  e.precision, e.longitude, e.latitude
from catalog_entry e join catalog_category c on c.id = e.category_id
where e.status = 'published' and e.latitude between {p} and {p} and e.longitude between {p} and {p}
order by e.public_id
"""


def raw_bbox(database_url: str, bbox) -> tuple[int, int]:
    """The baseline: the rows in bbox by a raw query, as GeoJSON by orjson; (rows, bytes)."""
    west, south, east, north = bbox
    if database_url.startswith("sqlite:///"):
        import sqlite3

        con = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        query = POINTS_QUERY.format(concat="group_concat(name, ', ')", p="?")
    else:
        import psycopg

        con = psycopg.connect(database_url)
        query = POINTS_QUERY.format(concat="string_agg(name, ', ')", p="%s")
    try:
        rows = con.execute(query, (south, north, west, east)).fetchall()
    finally:
        con.close()
    features = [
        {"type": "Feature", "id": pid,
         "geometry": {"type": "Point", "coordinates": [round(lng, 6), round(lat, 6)]},
         "properties": {"id": pid, "title": title, "category": slug, "color": color,
                        "companies": companies or "", "precision": precision}}
        for pid, title, slug, color, companies, precision, lng, lat in rows
    ]  # fmt: skip
    body = orjson.dumps({"type": "FeatureCollection", "features": features})
    return len(rows), len(body)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--bbox", required=True, help="west,south,east,north")
    parser.add_argument("--zoom", type=int, required=True)
    parser.add_argument("--facet-filter", default="", help="a query string, e.g. company=x")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "techmap.settings")
    import django

    django.setup()
    from django.test import Client

    from bench.common import alternate

    client = Client(HTTP_HOST="127.0.0.1")
    bbox = tuple(float(v) for v in args.bbox.split(","))
    map_url = f"/api/map?bbox={args.bbox}&zoom={args.zoom}"
    answers = {}

    def ours():
        response = client.get(map_url)
        assert response.status_code == 200, response.content[:300]
        answers["ours"] = response.json()

    def baseline():
        answers["baseline"] = raw_bbox(args.database_url, bbox)

    def facets(query=""):
        response = client.get(f"/api/facets{'?' + query if query else ''}")
        assert response.status_code == 200, response.content[:300]

    # The first request of each kind also pays for connections and cold caches: timed apart.
    first = alternate({"map": ours, "facets": facets,
                       "facets_filtered": lambda: facets(args.facet_filter)}, 1)  # fmt: skip
    bbox_timings = alternate({"ours": ours, "baseline": baseline}, args.repeat)
    facet_timings = alternate(
        {"all": facets, "filtered": lambda: facets(args.facet_filter)}, args.repeat
    )
    collection = answers["ours"]
    points = [f for f in collection["features"] if not f["properties"].get("line")]
    rows, baseline_bytes = answers["baseline"]
    print(json.dumps({
        "bbox": {**bbox_timings, "first": first["map"]},
        "facets": {**facet_timings, "first_all": first["facets"],
                   "first_filtered": first["facets_filtered"]},
        "map_answer": {"total": collection["total"], "clustered": collection["clustered"],
                       "points": len(points), "lines": len(collection["features"]) - len(points),
                       "bytes": len(orjson.dumps(collection))},
        "baseline_answer": {"rows": rows, "bytes": baseline_bytes},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
