"""Download views: the published entries matching the query-string filters, as files.

They take the same filters as the API and the map (company, category, country, topic,
year_from, year_to, q); a bad filter is answered 400 with the reason as plain text.
"""

import tempfile

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from techmap.catalog.queries import FilterError, parse_filters
from techmap.exchange.export import (
    CSV_MEDIA_TYPE,
    GEOJSON_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    csv_lines,
    download_filename,
    export_entries,
    geojson_chunks,
    iter_export_entries,
    write_xlsx,
)

XLSX_MEMORY_LIMIT = 16 * 1024 * 1024  # larger workbooks spill to a temporary file


def _entries_or_error(request):
    """(entries, None) for valid filters, else (None, a 400 response naming the problem)."""
    try:
        filters = parse_filters(request.GET)
    except FilterError as exc:
        response = HttpResponse(
            f"Bad filter: {exc}\n", status=400, content_type="text/plain; charset=utf-8"
        )
        return None, response
    return export_entries(filters), None


def _attachment(response, extension: str):
    filename = download_filename(extension, timezone.localdate())
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def download_csv(request):
    """The matching entries as CSV, streamed row by row."""
    entries, error = _entries_or_error(request)
    if error:
        return error
    rows = (line.encode("utf-8") for line in csv_lines(iter_export_entries(entries)))
    return _attachment(StreamingHttpResponse(rows, content_type=CSV_MEDIA_TYPE), "csv")


@require_GET
def download_geojson(request):
    """The matching entries as a GeoJSON FeatureCollection, streamed."""
    entries, error = _entries_or_error(request)
    if error:
        return error
    chunks = geojson_chunks(iter_export_entries(entries))
    return _attachment(StreamingHttpResponse(chunks, content_type=GEOJSON_MEDIA_TYPE), "geojson")


@require_GET
def download_xlsx(request):
    """The matching entries as an XLSX workbook (built whole: an XLSX is a zip file)."""
    entries, error = _entries_or_error(request)
    if error:
        return error
    file = tempfile.SpooledTemporaryFile(max_size=XLSX_MEMORY_LIMIT)
    write_xlsx(iter_export_entries(entries), file)
    file.seek(0)
    response = FileResponse(file, content_type=XLSX_MEDIA_TYPE)
    return _attachment(response, "xlsx")
