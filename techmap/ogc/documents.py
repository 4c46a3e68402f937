"""The OGC API - Features documents as plain dicts: landing page, conformance, collections,
items and single features. Views render them as JSON or through the HTML templates.

`root` is the absolute address of the landing page (e.g. http://host/ogc/); every link is
absolute and names its format with ?f=, so a link works whatever the client's Accept header.
"""

from urllib.parse import urlencode, urlsplit

from django.db.models import QuerySet

from techmap.catalog.geojson import GEOJSON_MEDIA_TYPE, entry_feature, feature_collection
from techmap.catalog.representations import summary_relations
from techmap.exchange.columns import LIST_SEPARATOR
from techmap.ogc.collections import (
    COLLECTIONS,
    GREGORIAN,
    Collection,
    spatial_extent,
    temporal_extent,
)
from techmap.ogc.params import CRS84, HTML, JSON

OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA = "application/schema+json"
LICENCE_URL = "https://creativecommons.org/licenses/by-sa/4.0/"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


def href(root: str, path: str = "", **query) -> str:
    """The absolute address of path under root with query parameters."""
    url = root + path
    return f"{url}?{urlencode(query)}" if query else url


def link(rel: str, media_type: str, url: str, title: str) -> dict:
    return {"rel": rel, "type": media_type, "title": title, "href": url}


def self_links(root: str, path: str, what: str) -> list[dict]:
    """The self (JSON) and alternate (HTML) links of a document."""
    return [
        link("self", JSON, href(root, path, f="json"), f"{what} as JSON"),
        link("alternate", HTML, href(root, path, f="html"), f"{what} as HTML"),
    ]


def html_link(document: dict, rel: str) -> str | None:
    """The address of the document's first HTML link with relation rel."""
    return next(
        (x["href"] for x in document["links"] if x["rel"] == rel and x["type"] == HTML), None
    )


def landing_page(root: str) -> dict:
    return {
        "title": "techmap",
        "description": "Where technology companies operate abroad: the published entries "
        "of the techmap database as OGC API - Features collections. Data licence: "
        "CC BY-SA 4.0.",
        "links": [
            *self_links(root, "", "This document"),
            link("service-desc", OPENAPI, href(root, "openapi"), "The API definition"),
            link("conformance", JSON, href(root, "conformance", f="json"), "Conformance classes"),
            link("data", JSON, href(root, "collections", f="json"), "The feature collections"),
        ],
    }


def conformance() -> dict:
    return {"conformsTo": CONFORMANCE}


def collection_document(collection: Collection, root: str) -> dict:
    """A collection's metadata: extents, coordinate reference system and links."""
    path = f"collections/{collection.id}"
    items = f"{path}/items"
    extent = {}
    bbox = spatial_extent(collection)
    if bbox:
        extent["spatial"] = {"bbox": [bbox], "crs": CRS84}
    interval = temporal_extent(collection)
    if any(interval):
        extent["temporal"] = {"interval": [interval], "trs": GREGORIAN}
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": extent,
        "links": [
            *self_links(root, path, f"The {collection.id} collection"),
            link("items", GEOJSON_MEDIA_TYPE, href(root, items, f="json"), "The features"),
            link("items", HTML, href(root, items, f="html"), "The features as HTML"),
            # GDAL reads the schema only from a link spelled "describedBy" (relation types are
            # case-insensitive, RFC 8288, so this is the registered "describedby").
            link("describedBy", SCHEMA, href(root, f"{path}/schema"), "The features' schema"),
            link("license", HTML, LICENCE_URL, "CC BY-SA 4.0"),
        ],
    }


def collections_document(root: str) -> dict:
    return {
        "links": self_links(root, "collections", "The collections"),
        "collections": [collection_document(c, root) for c in COLLECTIONS.values()],
    }


# Each feature property: its JSON type and meaning (null where the entry has no value).
PROPERTIES = {
    "title": ("string", "Title of the entry."),
    "url": ("string", "The entry's page, with its sources and citation."),
    "companies": ("string", "Names of the companies involved, separated by '; '."),
    "company_slugs": ("string", "Identifiers of the companies, in the same order."),
    "primary_category": ("string", "Category identifier (slug)."),
    "primary_category_name": ("string", "Category name."),
    "secondary_category": ("string", "Secondary category identifier (slug), if any."),
    "country": ("string", "ISO 3166-1 alpha-2 code of the host country."),
    "country_name": ("string", "Name of the host country."),
    "city": ("string", "City."),
    "precision": ("string", "How precise the point is: exact, city, country or none."),
    "year_started": ("integer", "Year commenced."),
    "year_ended": ("integer", "Year ended."),
    "highlight": ("boolean", "Highlighted by the editors."),
}


def feature_schema(collection: Collection, url: str) -> dict:
    """A JSON Schema of the collection's GeoJSON features, so clients type the attributes.

    Without it GDAL guesses each attribute's type from the first page, and a column that is
    empty there (e.g. year_ended) becomes text.
    """
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "title": collection.title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string", "description": "The entry's public id."},
            "geometry": {"type": "object", "description": f"A GeoJSON {collection.geometry_type}."},
            "properties": {
                "type": "object",
                "properties": {
                    name: {"type": kind, "description": text}
                    for name, (kind, text) in PROPERTIES.items()
                },
            },
        },
    }


def feature_properties(summary: dict, absolute) -> dict:
    """An entry's summary as flat values: GIS attribute tables hold no nested objects."""
    category = summary["category"] or {}
    secondary = summary["secondary_category"] or {}
    country = summary["country"] or {}
    return {
        "title": summary["title"],
        "url": absolute(summary["url"]),
        "companies": LIST_SEPARATOR.join(c["name"] for c in summary["companies"]),
        "company_slugs": LIST_SEPARATOR.join(c["slug"] for c in summary["companies"]),
        # Not named "category": the category filter also matches secondary categories,
        # and GDAL would send a `category = x` condition to it as ?category=x.
        "primary_category": category.get("slug"),
        "primary_category_name": category.get("name"),
        "secondary_category": secondary.get("slug"),
        "country": country.get("iso2"),
        "country_name": country.get("name"),
        "city": summary["city"],
        "precision": summary["precision"],
        "year_started": summary["year_started"],
        "year_ended": summary["year_ended"],
        "highlight": summary["highlight"],
    }


def feature(entry, collection: Collection, root: str, *, with_links: bool = False) -> dict:
    """An entry as a feature of collection (its geometry type), with flat properties."""
    built = entry_feature(entry)
    built["geometry"] = collection.geometry(entry)
    built["properties"] = feature_properties(built["properties"], _absolute(root))
    if with_links:
        path = f"collections/{collection.id}/items/{entry.public_id}"
        built["links"] = [
            *self_links(root, path, "This feature"),
            link(
                "collection",
                JSON,
                href(root, f"collections/{collection.id}", f="json"),
                f"The {collection.id} collection",
            ),
        ]
    return built


def _absolute(root: str):
    """A function making a site path (/entries/x/) absolute on root's scheme and host."""
    parts = urlsplit(root)
    return lambda path: f"{parts.scheme}://{parts.netloc}{path}"


def items_document(
    collection: Collection,
    entries: QuerySet,
    root: str,
    *,
    limit: int,
    offset: int,
    link_for,
) -> dict:
    """One page of the collection's features with self, alternate, next and prev links.

    link_for(offset, f) is the address of the page starting at offset in format f. The
    document has no timeStamp: it would change the body, and so the ETag, every second.
    """
    matched = entries.count()
    page = summary_relations(entries.order_by("public_id"))[offset : offset + limit]
    features = [feature(e, collection, root) for e in page]
    links = [
        link("self", GEOJSON_MEDIA_TYPE, link_for(offset, "json"), "This page"),
        link("alternate", HTML, link_for(offset, "html"), "This page as HTML"),
        link(
            "collection",
            JSON,
            href(root, f"collections/{collection.id}", f="json"),
            f"The {collection.id} collection",
        ),
    ]
    if offset + len(features) < matched:
        links.append(
            link("next", GEOJSON_MEDIA_TYPE, link_for(offset + limit, "json"), "Next page")
        )
    if offset > 0:
        previous = max(offset - limit, 0)
        links.append(link("prev", GEOJSON_MEDIA_TYPE, link_for(previous, "json"), "Previous page"))
    return feature_collection(features, number_matched=matched, links=links)
