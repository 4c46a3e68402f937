"""Security baseline of the pages: escaping, sanitised HTML, CSP, and production settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source
from tests.html_checks import parse

REPO_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = REPO_DIR / "techmap" / "web" / "templates"
HOSTILE_HTML = (
    '<p>Fine text</p><script>alert(1)</script><img src=x onerror=alert(1)>'
    '<a href="javascript:alert(1)">click</a><iframe src="https://evil.example/"></iframe>'
    '<p style="color:red" onclick="alert(1)">styled</p>'
)
HOSTILE_TEXT = '<script>alert("t")</script><img src=x onerror=alert(2)>"\'&'
ESCAPED_TEXT = "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"


@pytest.fixture
def hostile(db):
    """A published entry, company and source whose every text field carries an attack."""
    category = Category.objects.create(slug="t-hostile", name=f"Category {HOSTILE_TEXT}")
    company = Company.objects.create(
        slug="t-evil", name=f"Evil {HOSTILE_TEXT}", name_zh=HOSTILE_TEXT,
        headquarters=HOSTILE_TEXT, sectors=[HOSTILE_TEXT], profile=HOSTILE_HTML,
        party_facts=HOSTILE_HTML, leadership=HOSTILE_HTML,
    )
    source = Source.objects.create(title=f"Source {HOSTILE_TEXT}", author=HOSTILE_TEXT,
                                   publisher=HOSTILE_TEXT, note=HOSTILE_TEXT)
    entry = Entry.objects.create(
        public_id="t-hostile", title=f"Title {HOSTILE_TEXT}", category=category,
        country=Country.objects.get(iso2="ZW"), city=f"City {HOSTILE_TEXT}",
        address=HOSTILE_TEXT, partners=[HOSTILE_TEXT], financing_lender=HOSTILE_TEXT,
        description=HOSTILE_HTML, status=Entry.Status.PUBLISHED,
        latitude=-18.0, longitude=31.0, precision=Entry.Precision.CITY,
        external_refs={"chinatechmap_marker": '"><script>alert(3)</script>',
                       HOSTILE_TEXT: HOSTILE_TEXT},
    )
    entry.companies.set([company])
    EntrySource.objects.create(entry=entry, source=source)
    return entry


def assert_no_attack_survives(html: str):
    """No executable script, event handler or javascript: URL made it into the page."""
    page = parse(html)
    assert page.inline_script_text == []
    for tag, attrs in page.tags:
        assert tag not in ("iframe", "object", "embed", "style"), tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            assert not value.strip().lower().startswith("javascript:"), (tag, name, value)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert 'src="x"' not in html


# --- Sanitised on save --------------------------------------------------------------------


def test_hostile_description_is_stored_sanitised(hostile):
    stored = Entry.objects.get(pk=hostile.pk).description
    assert "<p>Fine text</p>" in stored
    for attack in ("<script", "alert(1)</script", "onerror", "javascript:", "<iframe",
                   "onclick", "style="):
        assert attack not in stored, attack


def test_hostile_company_profile_fields_are_stored_sanitised(hostile):
    company = Company.objects.get(slug="t-evil")
    for field in (company.profile, company.party_facts, company.leadership):
        assert "<p>Fine text</p>" in field
        assert "<script" not in field and "onerror" not in field and "javascript:" not in field


# --- Escaped when rendered ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/entries/t-hostile/", "/entries/", "/entries/?company=t-evil",
            "/companies/", "/companies/t-evil/", "/countries/zw/", "/about/", "/data/",
            "/stats/", "/stats/?company=t-evil"],
)
def test_hostile_strings_are_rendered_escaped(client, hostile, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert ESCAPED_TEXT in html
    assert_no_attack_survives(html)


def test_entry_page_renders_the_sanitised_description_as_html(client, hostile):
    html = client.get("/entries/t-hostile/").content.decode()
    assert "<p>Fine text</p>" in html
    assert "<a>click</a>" in html or '<a rel="noopener noreferrer nofollow">click</a>' in html


def test_hostile_marker_id_is_not_turned_into_a_link(client, hostile):
    page = parse(client.get("/entries/t-hostile/"))
    hrefs = [a.get("href", "") for a in page.find_all("a")]
    assert not [h for h in hrefs if "chinatechmap" in h]


def test_hostile_filter_values_are_escaped_in_the_error_message(client, hostile):
    response = client.get("/entries/", {"company": "<script>alert(9)</script>",
                                        "q": '"><script>alert(8)</script>'})
    assert response.status_code == 400
    html = response.content.decode()
    assert "&lt;script&gt;alert(9)&lt;/script&gt;" in html
    assert_no_attack_survives(html)


def test_hostile_search_text_is_escaped_in_the_form(client, hostile):
    html = client.get("/entries/", {"q": '"><script>alert(8)</script>'}).content.decode()
    assert 'value="&quot;&gt;&lt;script&gt;alert(8)&lt;/script&gt;"' in html
    assert_no_attack_survives(html)


# --- Content-Security-Policy --------------------------------------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.parametrize(
    ("url", "status"),
    [("/", 200), ("/entries/", 200), ("/entries/t-hostile/", 200), ("/companies/", 200),
     ("/companies/t-evil/", 200), ("/countries/", 200), ("/countries/zw/", 200),
     ("/about/", 200), ("/data/", 200), ("/stats/", 200), ("/no-such-page/", 404),
     ("/entries/?year_to=x", 400), ("/stats/?year_to=x", 400)],
)
def test_every_page_sends_a_strict_csp(client, hostile, url, status):
    response = client.get(url)
    assert response.status_code == status
    directives = csp_directives(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "url", ["/", "/entries/", "/entries/t-hostile/", "/companies/t-evil/", "/countries/zw/",
            "/about/", "/data/", "/stats/", "/no-such-page/"],
)
def test_pages_only_load_scripts_and_styles_from_this_site(client, hostile, url):
    page = parse(client.get(url))
    for script in page.find_all("script"):
        if script.get("type") == "application/json":
            continue
        # Our static files, or the map's translations served by this site (JavaScriptCatalog).
        assert script.get("src", "").startswith(("/static/", "/jsi18n/")), script
    assert page.inline_script_text == []
    for link in page.find_all("link"):
        if link.get("rel") == "canonical":  # the page's own absolute address (social cards)
            assert link["href"].startswith("http://testserver/"), link
            continue
        assert link["href"].startswith(("/static/", "data:")), link
    for img in page.find_all("img"):
        assert img["src"].startswith("/"), img
    for tag, attrs in page.tags:
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], tag


def test_templates_contain_no_inline_script_style_or_event_handler():
    """CSP blocks them in the browser; this catches them before anyone ships one."""
    templates = sorted(TEMPLATES_DIR.rglob("*.html")) + sorted(
        (REPO_DIR / "techmap" / "share" / "templates").rglob("*.html")
    )
    assert len(templates) >= 12
    for path in templates:
        source = path.read_text()
        page = parse(source)
        assert page.inline_script_text == [], path
        assert "<style" not in source, path
        for tag, attrs in page.tags:
            assert "style" not in attrs, (path, tag)
            assert not [name for name in attrs if name.startswith("on")], (path, tag)


# --- Production settings ------------------------------------------------------------------


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("TECHMAP_")
    }
    env.update({
        "DJANGO_SETTINGS_MODULE": "techmap.settings",
        "TECHMAP_HTTPS": "true",
        "TECHMAP_SECRET_KEY": secrets.token_urlsafe(64),
        "TECHMAP_DEBUG": "false",
        "TECHMAP_ALLOWED_HOSTS": "example.org",
        "TECHMAP_DATA_DIR": str(tmp_path),
    })
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_debug_is_on(tmp_path):
    """The check above can fail: debug mode in production is reported."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TECHMAP_")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "techmap.settings", "TECHMAP_HTTPS": "true",
        "TECHMAP_SECRET_KEY": secrets.token_urlsafe(64), "TECHMAP_DEBUG": "true",
        "TECHMAP_ALLOWED_HOSTS": "example.org", "TECHMAP_DATA_DIR": str(tmp_path),
    })
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr
