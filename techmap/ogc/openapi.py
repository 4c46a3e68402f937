"""The OpenAPI 3.0 definition of the OGC API (the landing page's service-desc link).

GDAL reads it to learn which query parameters /collections/{collectionId}/items takes;
a condition on a feature property with a parameter of the same name (here `country`) is
then sent to the server instead of being evaluated by the client.
"""

from django.conf import settings

from techmap.api.params import BBOX_HELP, MAX_OFFSET, EntryFilterQuery
from techmap.ogc.collections import COLLECTIONS
from techmap.ogc.params import CRS84, GEOJSON, HTML, JSON

_FILTER_SCHEMAS = {
    "company": {"type": "array", "items": {"type": "string"}},
    "category": {"type": "array", "items": {"type": "string"}},
    "country": {"type": "array", "items": {"type": "string"}},
    "topic": {"type": "array", "items": {"type": "string"}},
    "year_from": {"type": "integer", "minimum": 1900, "maximum": 2100},
    "year_to": {"type": "integer", "minimum": 1900, "maximum": 2100},
    "q": {"type": "string", "maxLength": 200},
}


def _query(name: str, schema: dict, description: str, **extra) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }


def _parameters() -> dict:
    conf = settings.TECHMAP
    parameters = {
        "collectionId": {
            "name": "collectionId",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": list(COLLECTIONS)},
            "description": "The collection: entries (points) or cables (lines).",
        },
        "featureId": {
            "name": "featureId",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "The entry's public id.",
        },
        "f": _query(
            "f",
            {"type": "string", "enum": ["json", "html"]},
            "The format; without it the Accept header decides (JSON by default).",
        ),
        "bbox": _query(
            "bbox",
            {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
            f"Only features whose geometry lies in the box: {BBOX_HELP}",
            style="form",
            explode=False,
        ),
        "limit": _query(
            "limit",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": conf["API_MAX_PAGE_SIZE"],
                "default": conf["API_PAGE_SIZE"],
            },
            "Page size; larger values are lowered to the maximum.",
            style="form",
            explode=False,
        ),
        "offset": _query(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            "Number of features to skip.",
        ),
        "datetime": _query(
            "datetime",
            {"type": "string"},
            "An RFC 3339 instant or interval (start/end, .. for an open end): entries active "
            "in any year it touches (entries are dated by year; undated entries never match).",
            style="form",
            explode=False,
        ),
    }
    for name in ("crs", "bbox-crs"):
        parameters[name] = _query(
            name,
            {"type": "string", "format": "uri", "enum": [CRS84]},
            "The coordinate reference system; CRS84 (longitude, latitude) is the only one.",
        )
    for name, schema in _FILTER_SCHEMAS.items():
        description = EntryFilterQuery.model_fields[name].description
        extra = {"style": "form", "explode": False} if schema["type"] == "array" else {}
        parameters[name] = _query(name, schema, description, **extra)
    return parameters


def _get(summary: str, parameters: list[str], media_types: list[str], *, not_found=False):
    content = {t: {"schema": {"type": "object"}} for t in media_types}
    responses = {
        "200": {"description": summary, "content": content},
        "400": {"$ref": "#/components/responses/InvalidParameter"},
    }
    if not_found:
        responses["404"] = {"$ref": "#/components/responses/NotFound"}
    return {
        "get": {
            "summary": summary,
            "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in parameters],
            "responses": responses,
        }
    }


def openapi_document(root: str) -> dict:
    """The API definition; root is the landing page's absolute address."""
    exception = {"content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}}}
    filters = list(_FILTER_SCHEMAS)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "techmap OGC API - Features",
            "version": "1.0.0",
            "description": "The published entries (points) and cables (lines) of techmap.",
            "license": {
                "name": "Data: CC BY-SA 4.0",
                "url": "https://creativecommons.org/licenses/by-sa/4.0/",
            },
        },
        "servers": [{"url": root.rstrip("/")}],
        "paths": {
            "/": _get("Landing page", ["f"], [JSON, HTML]),
            "/conformance": _get("Conformance classes", ["f"], [JSON, HTML]),
            "/collections": _get("The feature collections", ["f"], [JSON, HTML]),
            "/collections/{collectionId}": _get(
                "One collection",
                ["collectionId", "f"],
                [JSON, HTML],
                not_found=True,
            ),
            "/collections/{collectionId}/schema": _get(
                "A JSON Schema of the collection's features",
                ["collectionId"],
                ["application/schema+json"],
                not_found=True,
            ),
            "/collections/{collectionId}/items": _get(
                "A page of the collection's features",
                [
                    "collectionId",
                    "f",
                    "bbox",
                    "bbox-crs",
                    "crs",
                    "limit",
                    "offset",
                    "datetime",
                    *filters,
                ],
                [GEOJSON, HTML],
                not_found=True,
            ),
            "/collections/{collectionId}/items/{featureId}": _get(
                "One feature",
                ["collectionId", "featureId", "f", "crs"],
                [GEOJSON, HTML],
                not_found=True,
            ),
        },
        "components": {
            "parameters": _parameters(),
            "schemas": {
                "exception": {
                    "type": "object",
                    "required": ["code"],
                    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
                }
            },
            "responses": {
                "InvalidParameter": {
                    "description": "A parameter is invalid or unknown.",
                    **exception,
                },
                "NotFound": {"description": "No such collection or feature.", **exception},
            },
        },
    }
