"""The import and export commands in the admin: the same code as `techmap import`/`export`.

The import page uploads one file, runs techmap.exchange.importers.run_import on it (dry run
by default) and shows the report with every row error. Only superusers and users holding
the catalog.import_entries permission (the admin role) may use it.
"""

import tempfile
from pathlib import Path

from django import forms
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.template.response import TemplateResponse
from django.urls import reverse_lazy
from django.utils.text import get_valid_filename

from techmap.catalog.history import change_reason
from techmap.catalog.models import Entry

IMPORT_PERMISSION = "catalog.import_entries"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_ERRORS_SHOWN = 500
# TeleGeography data is a folder of files: it is imported with the command.
UPLOAD_FORMATS = [
    ("aspi", "China Tech Map data.csv (ASPI)"),
    ("csv", "techmap CSV export"),
    ("xlsx", "techmap Excel export"),
    ("geojson", "techmap GeoJSON export"),
]
SUFFIXES = {"aspi": ".csv", "csv": ".csv", "xlsx": ".xlsx", "geojson": ".geojson"}
EXPORT_LINKS = [
    ("CSV", reverse_lazy("exchange:csv")),
    ("Excel", reverse_lazy("exchange:xlsx")),
    ("GeoJSON", reverse_lazy("exchange:geojson")),
]


def can_import(user) -> bool:
    """Whether user may import files from the admin."""
    return bool(user.is_active and user.is_staff and user.has_perm(IMPORT_PERMISSION))


class ImportForm(forms.Form):
    file = forms.FileField(help_text="At most 50 MB.")
    format = forms.ChoiceField(choices=UPLOAD_FORMATS)
    status = forms.ChoiceField(
        choices=[(Entry.Status.PUBLISHED, "Published"), (Entry.Status.DRAFT, "Draft")],
        initial=Entry.Status.PUBLISHED,
        help_text="Status of the imported entries. Retired entries stay retired.",
    )
    dry_run = forms.BooleanField(
        required=False,
        initial=True,
        label="Dry run",
        help_text="Validate and report what would change; write nothing.",
    )
    skip_invalid = forms.BooleanField(
        required=False,
        label="Skip invalid rows",
        help_text="Write the valid rows and list the invalid ones. "
        "Otherwise one invalid row means nothing is written.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 50 MB: use `techmap import`.")
        return upload


def run_uploaded_import(upload, fmt: str, *, dry_run: bool, skip_invalid: bool, status: str):
    """Import an uploaded file exactly as `techmap import` would; return its ImportReport."""
    from techmap.exchange.importers import run_import

    name = get_valid_filename(Path(upload.name).name) or "upload"
    if not name.lower().endswith(SUFFIXES[fmt]):
        name += SUFFIXES[fmt]
    with tempfile.TemporaryDirectory(prefix="techmap-import-") as folder:
        path = Path(folder) / name
        with open(path, "wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        with change_reason(f"admin import {name} ({fmt})"):
            return run_import(path, fmt, dry_run=dry_run, skip_invalid=skip_invalid, status=status)


def import_entries(request, admin_site):
    """/admin/catalog/entry/import/: upload a file, import it (or dry-run), show the report."""
    from techmap.exchange.importers import ImportFormatError

    if not can_import(request.user):
        raise PermissionDenied
    report = None
    failure = ""
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = run_uploaded_import(
                    data["file"],
                    data["format"],
                    dry_run=data["dry_run"],
                    skip_invalid=data["skip_invalid"],
                    status=data["status"],
                )
            except ImportFormatError as exc:
                form.add_error("file", str(exc))
            except DatabaseError as exc:
                failure = f"The database refused the import, nothing was written: {exc}"
    else:
        form = ImportForm()
    context = {
        **admin_site.each_context(request),
        "title": "Import data",
        "opts": Entry._meta,
        "form": form,
        "report": report,
        "blocked": bool(report and report.invalid and not form.cleaned_data["skip_invalid"]),
        "errors_shown": report.errors[:MAX_ERRORS_SHOWN] if report else [],
        "failure": failure,
        "export_links": EXPORT_LINKS,
    }
    return TemplateResponse(request, "admin/catalog/entry/import.html", context)
