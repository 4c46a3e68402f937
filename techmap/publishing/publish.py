"""Render the public site into static files: techmap publish-static OUTDIR.

Every page, API answer and download is produced by the application itself, through
Django's test client over the real URL patterns, so the static copy shows exactly what the
live site shows. Synthetic benchmark entries are hidden for the duration (in a transaction
that is rolled back). The copy is built in a folder next to OUTDIR and swapped in only when
complete, so a failure leaves the previous copy as it was.
"""

import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.template.loader import render_to_string
from django.test import Client, RequestFactory, override_settings

from techmap.catalog.geojson import round_coordinates
from techmap.catalog.models import Company, Country, Entry
from techmap.catalog.synth import synthetic_entries
from techmap.exchange.datapackage import write_datapackage
from techmap.exchange.export import export_entries
from techmap.publishing.links import LinkPlan, output_path
from techmap.releases.models import Release

MARKER = ".techmap-static"  # only a folder holding this file is ever replaced
STATIC_DATA_URL = "/api/static-data.json"
DATAPACKAGE_PATH = "download/datapackage.zip"
STATIC_DATA_META = "techmap.static_api_url"
LIST_PAGES = 10
SEED_PAGES = (
    "/",
    "/entries/",
    "/companies/",
    "/countries/",
    "/stats/",
    "/data/",
    "/about/",
    "/releases/",
)
SEED_FILES = (
    "/api/entries.geojson",
    "/api/facets",
    "/api/stats",
    "/api/companies",
    "/api/categories",
    "/api/topics",
    "/api/countries",
    "/api/openapi.json",
    "/download/entries.csv",
    "/download/entries.xlsx",
    "/download/entries.geojson",
)
MISSING_PAGE = "/entries/this-page-does-not-exist/"


class PublishError(Exception):
    """The static site cannot be written; the message says why."""


@dataclass(frozen=True)
class PublishResult:
    output: Path
    entries: int
    pages: int
    files: int
    bytes: int
    seconds: float


@contextmanager
def public_data_only() -> Iterator[None]:
    """Hide synthetic benchmark entries from every page while the block runs.

    They are marked draft inside a transaction that is always rolled back, so the pages,
    counts and downloads are rendered by the unchanged views without them. Without
    synthetic entries nothing is written (and SQLite's write lock is not taken).
    """
    if not synthetic_entries().exists():
        yield
        return
    with transaction.atomic():
        synthetic_entries().update(status=Entry.Status.DRAFT)
        yield
        transaction.set_rollback(True)


def _check_output(output: Path) -> None:
    if not output.parent.is_dir():
        raise PublishError(f"folder {output.parent} does not exist")
    if output.exists() and not output.is_dir():
        raise PublishError(f"{output} is a file, not a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).is_file():
        raise PublishError(
            f"{output} is a folder that does not hold a static site; give a new or empty folder"
        )


def _swap_in(built: Path, output: Path) -> None:
    """Put the finished folder at output, removing the previous copy afterwards."""
    built.chmod(0o777 & ~_umask())
    if output.exists():
        old = output.parent / f".{output.name}.old-{secrets.token_hex(4)}"
        os.replace(output, old)
        os.replace(built, output)
        shutil.rmtree(old)
    else:
        os.replace(built, output)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class SiteWriter:
    """Renders addresses through the test client and writes them under root."""

    def __init__(self, root: Path, base_url: str, plan: LinkPlan):
        parts = urlsplit(base_url)
        self.root = root
        self.plan = plan
        self.secure = parts.scheme == "https"
        self.client = Client(HTTP_HOST=parts.netloc)
        self.done: dict[str, Path] = {}
        self.pages = 0

    def get(self, url: str, **extra):
        response = self.client.get(url, secure=self.secure, **extra)
        if response.status_code != 200:
            raise PublishError(f"{url} answered {response.status_code}, not 200")
        return response

    def write(self, url: str, **extra) -> bytes | None:
        """Render url once; return its body unless it was streamed straight to disk."""
        if url in self.done:
            return None
        path = self.root / output_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        response = self.get(url, **extra)
        self.done[url] = path
        if response.streaming:
            with open(path, "wb") as file:
                for chunk in response.streaming_content:
                    file.write(chunk)
            return None
        body = response.content
        if response["Content-Type"].startswith("text/html"):
            self.pages += 1
            body = self.plan.rewrite(url, body.decode("utf-8")).encode("utf-8")
        path.write_bytes(body)
        return body

    def write_wanted(self) -> None:
        """Render every page the rewritten links point to (following their links too)."""
        while self.plan.wanted:
            url = self.plan.wanted.pop()
            if url == "/":
                self.write(url, **{STATIC_DATA_META: STATIC_DATA_URL})
            else:
                self.write(url)

    def write_not_found(self) -> None:
        """404.html, which static hosts send for unknown addresses."""
        request_log = logging.getLogger("django.request")
        level = request_log.level
        request_log.setLevel(logging.ERROR)  # this 404 is asked for, not worth a warning
        try:
            response = self.client.get(MISSING_PAGE, secure=self.secure)
        finally:
            request_log.setLevel(level)
        html = self.plan.rewrite("/", response.content.decode("utf-8"))
        (self.root / "404.html").write_text(html, encoding="utf-8")

    def write_submit_page(self, live_url: str) -> None:
        """The submission form needs a server: a short page says where to send data."""
        request = RequestFactory().get("/submit/")
        text = render_to_string("publishing/submit.html", {"live_url": live_url}, request)
        path = self.root / output_path("/submit/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.plan.rewrite("/submit/", text), encoding="utf-8")
        self.pages += 1


STATIC_REFERENCE = re.compile(r"/static/[^\s\"'()<>]+")
CSS_URL = re.compile(r"url\(\s*[\"']?([^\"')]+)")


def prune_static(root: Path) -> None:
    """Keep only the static files the pages use (and what their CSS loads).

    collectstatic copies whole npm packages (development builds, source maps, every
    resolution of the outlines) and each file twice, under its plain and hashed names; the
    pages only ask for the hashed names of a few of them.
    """
    static = root / "static"
    keep = set()
    for page in root.rglob("*.html"):
        keep.update(STATIC_REFERENCE.findall(page.read_text(encoding="utf-8")))
    keep = {static / url.removeprefix("/static/") for url in keep}
    for css in [p for p in keep if p.suffix == ".css" and p.is_file()]:
        for url in CSS_URL.findall(css.read_text(encoding="utf-8")):
            if not urlsplit(url).scheme and not url.startswith("/"):
                keep.add((css.parent / urlsplit(url).path).resolve())
    for path in sorted(static.rglob("*"), reverse=True):
        if path.is_file() and path.resolve() not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _entry_record(detail: dict) -> dict:
    """One entry of static-data.json: what static-api.js filters, counts and draws."""
    partners = detail.get("partners") or []
    companies = detail.get("companies") or []
    country = detail.get("country") or {}
    text = [
        detail["title"],
        detail.get("description") or "",
        detail.get("city") or "",
        " ".join(partners) if isinstance(partners, list) else str(partners),
        country.get("name") or "",
        country.get("name_zh") or "",  # so a Chinese search finds it, as on the live site
        *(c["name"] for c in companies),
        *(c.get("name_zh") or "" for c in companies),
    ]
    line = detail.get("line_geometry")
    return {
        "id": detail["id"],
        "title": detail["title"],
        "url": detail["url"],
        "companies": [c["slug"] for c in companies],
        "category": (detail.get("category") or {}).get("slug"),
        "secondary_category": (detail.get("secondary_category") or {}).get("slug"),
        "country": country.get("iso2"),
        "city": detail.get("city") or "",
        "precision": detail.get("precision"),
        "latitude": detail.get("latitude"),
        "longitude": detail.get("longitude"),
        "year_started": detail.get("year_started"),
        "year_ended": detail.get("year_ended"),
        "highlight": detail.get("highlight"),
        "topics": [t["slug"] for t in detail.get("topics") or []],
        "line": {"type": line["type"], "coordinates": round_coordinates(line["coordinates"])}
        if line
        else None,
        "text": "\n".join(text).lower(),
    }


def _pick(rows: list[dict], *fields: str) -> list[dict]:
    return [{f: row.get(f) for f in fields} for row in rows]


def write_static_data(writer: SiteWriter, details: list[dict]) -> None:
    """static-data.json: every published entry and the names the map's filters show."""
    api = {
        name: orjson.loads(writer.get(f"/api/{name}").content)
        for name in ("companies", "categories", "topics", "countries")
    }
    conf = settings.TECHMAP
    data = {
        "point_limit": conf["MAP_POINT_LIMIT"],
        "page_size": conf["API_PAGE_SIZE"],
        "max_page_size": conf["API_MAX_PAGE_SIZE"],
        "companies": _pick(api["companies"], "slug", "name", "name_zh"),
        "categories": _pick(api["categories"], "slug", "name", "name_zh", "color"),
        "topics": _pick(api["topics"], "slug", "name", "name_zh"),
        "countries": _pick(api["countries"], "iso2", "name", "name_zh"),
        "entries": [_entry_record(d) for d in details],
    }
    (writer.root / output_path(STATIC_DATA_URL)).write_bytes(orjson.dumps(data))


def _write_site(root: Path, *, base_url: str, live_url: str, list_pages: int) -> SiteWriter:
    plan = LinkPlan(list_pages=list_pages, live_url=live_url)
    writer = SiteWriter(root, base_url, plan)
    ids = list(Entry.objects.published().order_by("public_id").values_list("public_id", flat=True))
    details = [orjson.loads(writer.write(f"/api/entries/{public_id}")) for public_id in ids]
    write_static_data(writer, details)
    for url in SEED_FILES:
        writer.write(url)
    write_datapackage(export_entries(), root / DATAPACKAGE_PATH)
    plan.wanted += SEED_PAGES
    plan.wanted += [f"/entries/{public_id}/" for public_id in ids]
    plan.wanted += [c.get_absolute_url() for c in Company.objects.order_by("slug")]
    countries = Country.objects.filter(entries__in=Entry.objects.published()).distinct()
    plan.wanted += [c.get_absolute_url() for c in countries.order_by("iso2")]
    plan.wanted += [r.get_absolute_url() for r in Release.objects.all()]
    writer.write_submit_page(live_url)
    writer.write_wanted()
    writer.write_not_found()
    prune_static(root)
    return writer


def publish_static(
    output: Path,
    *,
    base_url: str,
    live_url: str = "",
    list_pages: int = LIST_PAGES,
    dry_run: bool = False,
) -> PublishResult:
    """Write the public site as static files to output, replacing an earlier copy whole."""
    started = time.monotonic()
    output = Path(output).absolute()
    _check_output(output)
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
        raise PublishError("--base-url must be an address such as https://techmap.example.org")
    build = Path(tempfile.mkdtemp(prefix=f".{output.name}.build-", dir=output.parent))
    try:
        static_settings = {
            "STATIC_ROOT": build / "static",
            # Hashed file names: a CDN may then cache them for a year (docs/deployment.md).
            "STORAGES": {
                **settings.STORAGES,
                "staticfiles": {
                    "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
                },
            },
            "ALLOWED_HOSTS": [parts.hostname],
        }
        with override_settings(**static_settings), public_data_only():
            call_command("collectstatic", interactive=False, verbosity=0)
            writer = _write_site(
                build, base_url=base_url, live_url=live_url.rstrip("/"), list_pages=list_pages
            )
            entries = Entry.objects.published().count()
        (build / MARKER).write_text("Written by techmap publish-static; replaced whole.\n")
        files = [p for p in build.rglob("*") if p.is_file()]
        result = PublishResult(
            output=output,
            entries=entries,
            pages=writer.pages,
            files=len(files),
            bytes=sum(p.stat().st_size for p in files),
            seconds=0.0,
        )
        if dry_run:
            shutil.rmtree(build)
        else:
            _swap_in(build, output)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return PublishResult(**{**result.__dict__, "seconds": time.monotonic() - started})
