"""Every techmap setting, declared once with its default and help text.

Each is read from the environment variable ``TECHMAP_<NAME>`` when Django loads
its settings module; nothing else in the code reads the environment.
"""

import os
from dataclasses import dataclass
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str

    @property
    def env_var(self) -> str:
        return f"TECHMAP_{self.name}"

    def read(self, environ=os.environ):
        raw = environ.get(self.env_var)
        if raw is None or raw == "":
            return self.default
        if isinstance(self.default, bool):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(self.default, int):
            return int(raw)
        return raw


SETTINGS = [
    Setting(
        "DATA_DIR",
        str(REPO_DIR / "data"),
        "Folder for the default SQLite database, the generated secret key and static files.",
    ),
    Setting(
        "DATABASE_URL",
        "",
        "Database as a URL: sqlite:///path or postgresql://user@host/name. "
        "Empty means a SQLite file in DATA_DIR.",
    ),
    Setting(
        "SECRET_KEY",
        "",
        "Django secret key. Empty means one is generated once and kept in DATA_DIR.",
    ),
    Setting("DEBUG", False, "Django debug mode. Never on in production."),
    Setting(
        "ALLOWED_HOSTS", "127.0.0.1,localhost", "Comma-separated host names the server answers to."
    ),
    Setting(
        "HTTPS", False, "Set when served over HTTPS: secure cookies, HSTS and redirect to https."
    ),
    Setting(
        "TILE_URL",
        "",
        "Optional raster tile URL template ({z}/{x}/{y}) drawn under the map. Empty means "
        "only the bundled country outlines, so pages request nothing from other hosts.",
    ),
    Setting("TILE_ATTRIBUTION", "", "Attribution text shown for TILE_URL tiles."),
    Setting(
        "GEOJSON_MAX_FEATURES",
        5000,
        "Most features one GeoJSON API response returns; the rest is paged with a next link.",
    ),
    Setting("API_PAGE_SIZE", 100, "Default page size of the JSON entry list."),
    Setting("API_MAX_PAGE_SIZE", 1000, "Largest page size a client may ask for."),
    Setting(
        "SUBMISSION_RATE_LIMIT",
        "5/3600",
        "Public submissions allowed per client address, as COUNT/SECONDS; the count is kept "
        "in the database so it holds across server processes.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        "",
        "Comma-separated addresses of reverse proxies whose X-Forwarded-For header is believed. "
        "Empty means the header is ignored and the connecting address is used.",
    ),
    Setting(
        "ADDRESS_RETENTION_DAYS",
        30,
        "Days a submitter's hashed address is kept before `techmap purge` deletes it.",
    ),
    Setting(
        "MAX_SUBMISSION_BYTES",
        65536,
        "Largest request body accepted by the public submission form.",
    ),
    Setting(
        "SOURCE_CHECK_TIMEOUT",
        10,
        "Seconds `techmap sources check` waits for one source before giving up.",
    ),
    Setting(
        "SOURCE_CHECK_MAX_BYTES",
        1048576,
        "Most bytes `techmap sources check` reads from one source.",
    ),
    Setting(
        "SOURCE_CHECK_ALLOW_PRIVATE",
        False,
        "Let `techmap sources check` connect to loopback and private addresses. "
        "Only for tests against a local server; never in production.",
    ),
    Setting(
        "ARCHIVE_LOOKUP",
        False,
        "Let `techmap sources check` look up a web-archive copy of each source "
        "(a request to a third-party host; off by default).",
    ),
    Setting(
        "EMBED_ANCESTORS",
        "*",
        "Sites allowed to show the embeddable map (/embed/) in an iframe, as CSP "
        "frame-ancestors sources separated by spaces or commas (e.g. https://news.example); "
        "'*' means any site, 'none' none. Every other page refuses framing.",
    ),
    Setting(
        "RESPONSE_CACHE_MB",
        32,
        "Megabytes of finished public answers (pages, API, map data) each server process "
        "keeps and reuses until the published data change; 0 turns this cache off.",
    ),
    Setting(
        "MAP_POINT_LIMIT",
        2000,
        "Below this many matching entries in view the map receives single points; "
        "above it the server clusters them by zoom.",
    ),
]


def read_settings(environ=os.environ) -> dict:
    """Return every declared setting as {NAME: value}, read from the environment."""
    return {s.name: s.read(environ) for s in SETTINGS}
