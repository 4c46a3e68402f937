"""Thin views: check parameters, build the document, answer in JSON or HTML.

Errors are OGC exception documents ({"code", "description"}) with status 400 or 404.
Answers vary with the Accept header, so caches keep the JSON and HTML apart.
"""

import orjson
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from techmap.api.responses import is_lookup_key, page_url
from techmap.catalog.models import Entry
from techmap.catalog.representations import summary_relations
from techmap.ogc import documents
from techmap.ogc.collections import COLLECTIONS, collection_entries
from techmap.ogc.openapi import openapi_document
from techmap.ogc.params import (
    GEOJSON,
    ITEM_PARAMS,
    JSON,
    OGCError,
    check_crs,
    check_known,
    not_found,
    parse_items_query,
    wants_html,
)


def _root(request) -> str:
    return request.build_absolute_uri(reverse("ogc:landing"))


def _json(data, media_type=JSON, status=200) -> HttpResponse:
    return HttpResponse(orjson.dumps(data), status=status, content_type=media_type)


def ogc_view(template: str, media_type: str = JSON):
    """Wrap a function (request, root, **kwargs) -> (document, extra context) as a view."""

    def decorate(build):
        def view(request, **kwargs):
            try:
                html = wants_html(request)
                document, context = build(request, _root(request), **kwargs)
            except OGCError as exc:
                return _error(exc)
            if html:
                response = render(request, template, {"doc": document, **context})
            else:
                response = _json(document, media_type)
            patch_vary_headers(response, ["Accept"])
            return response

        view.__name__ = build.__name__
        view.__doc__ = build.__doc__
        return view

    return decorate


def _collection(collection_id: str):
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise not_found(
            f"no collection {collection_id[:80]!r}: try {', '.join(COLLECTIONS)}"
        ) from None


@ogc_view("ogc/landing.html")
def landing(request, root):
    """The landing page: links to the API definition, conformance and collections."""
    check_known(request.GET)
    return documents.landing_page(root), {}


@ogc_view("ogc/conformance.html")
def conformance(request, root):
    check_known(request.GET)
    return documents.conformance(), {}


@ogc_view("ogc/collections.html")
def collections(request, root):
    check_known(request.GET)
    document = documents.collections_document(root)
    rows = [
        {
            "doc": c,
            "url": documents.html_link(c, "alternate"),
            "items": documents.html_link(c, "items"),
        }
        for c in document["collections"]
    ]
    return document, {"rows": rows}


@ogc_view("ogc/collection.html")
def collection(request, root, collection_id):
    check_known(request.GET)
    document = documents.collection_document(_collection(collection_id), root)
    return document, {"items": documents.html_link(document, "items")}


@ogc_view("ogc/items.html", media_type=GEOJSON)
def items(request, root, collection_id):
    """A page of features: bbox, datetime and the site's filters, limit and offset."""
    found = _collection(collection_id)
    query = parse_items_query(request.GET)
    entries = Entry.objects.none() if query.empty else collection_entries(found, query.filters)
    document = documents.items_document(
        found,
        entries,
        root,
        limit=query.limit,
        offset=query.offset,
        link_for=lambda offset, f: page_url(request, limit=query.limit, offset=offset, f=f),
    )
    rels = {item["rel"] for item in document["links"]}

    def html_page(offset):
        return page_url(request, limit=query.limit, offset=offset, f="html")

    return document, {
        "collection": found,
        "rows": [
            {"feature": f, "url": _item_html(root, found, f["id"])} for f in document["features"]
        ],
        "first": query.offset + 1,
        "last": query.offset + document["numberReturned"],
        "next_page": html_page(query.offset + query.limit) if "next" in rels else None,
        "prev_page": html_page(max(query.offset - query.limit, 0)) if "prev" in rels else None,
    }


def _item_html(root, found, feature_id) -> str:
    return documents.href(root, f"collections/{found.id}/items/{feature_id}", f="html")


@ogc_view("ogc/item.html", media_type=GEOJSON)
def item(request, root, collection_id, feature_id):
    found = _collection(collection_id)
    check_known(request.GET, ITEM_PARAMS)
    check_crs(request.GET)
    entry = None
    if is_lookup_key(feature_id):
        entry = summary_relations(found.published()).filter(public_id=feature_id).first()
    if entry is None:
        raise not_found(f"no feature {feature_id[:80]!r} in the {found.id} collection")
    document = documents.feature(entry, found, root, with_links=True)
    items_url = documents.href(root, f"collections/{found.id}/items", f="html")
    return document, {"collection": found, "items": items_url}


def schema(request, collection_id):
    """The JSON Schema of a collection's features (JSON only)."""
    try:
        check_known(request.GET)
        found = _collection(collection_id)
    except OGCError as exc:
        return _error(exc)
    url = request.build_absolute_uri(request.path)
    return _json(documents.feature_schema(found, url), documents.SCHEMA)


def _error(exc: OGCError) -> HttpResponse:
    return _json({"code": exc.code, "description": exc.description}, status=exc.status)


def openapi(request):
    """The OpenAPI 3.0 definition (JSON only)."""
    try:
        check_known(request.GET)
    except OGCError as exc:
        return _error(exc)
    return _json(openapi_document(_root(request)), documents.OPENAPI)
