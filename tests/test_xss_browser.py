"""Hostile text never runs, checked in a real browser (issue 4, section 5 "Bad input").

Every payload of tests/xss_payloads.py is stored in a real `techmap serve` database, in two
armed forms: one keeps `alert(N)` (a dialog would fire) and one sets `top.__xss = N` instead,
N being the payload's number so that a failure names the payload. They sit in pending
submissions (the review queue), in published entries made from submissions by
`moderation.accept_as_new_entry` (entry pages, the entry list, the map's detail panel and
list view, company, country and statistics pages) and in a payload-named category, topic,
companies and sources (also the admin's lists, filters, forms and history pages).

Chromium then opens those pages twice over:

* with the page's Content-Security-Policy bypassed, so markup that escaped escaping would
  really run: no dialog may open and `window.__xss` must stay undefined;
* with the CSP enforced, where an injection shows up as a "Refused to execute inline
  script / event handler" console message: any such message fails the test, since it
  means only the CSP stood between the payload and the visitor.

On every page the live DOM is also searched for what an injection would add (event-handler
attributes, inline scripts, script URLs, frames, <base>, <meta http-equiv>), the raw HTML
must not hold a tag-opening payload verbatim, no request may go to a payload's URL, and the
payload text must be visible as text where the page shows it.

Run alone with: pytest -m browser tests/test_xss_browser.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from tests.servers import TECHMAP, chromium_browser, techmap_server
from tests.xss_payloads import HTTP_URL_PAYLOADS, PAYLOADS, assert_payload_escaped

playwright_sync = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

REPO_DIR = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 30_000
MIN_PAYLOADS = 100
ENTRY_PAGES_SAMPLED = 40  # of the payload entries' own pages (the list pages show them all)
REVIEW_PAGES_SAMPLED = 40  # of the pending submissions' review pages (the queue shows them all)
MAP_DETAILS_SAMPLED = 4
COMPANY_PAGES_SAMPLED = 20
ADMIN_FORMS_SAMPLED = 6  # per model
REJECTED = 8
PAYLOAD_SOURCES = 8
COUNTRIES = ["KE", "DE", "BR", "TH", "RS"]
CATEGORY_SLUG = "xss-probe"
EDITOR, PASSWORD = "xss-editor", "xss-probe-Password-42"  # a throwaway account on a temp database


# --- The armed corpus --------------------------------------------------------------------------


def dialog_variant(number: int, payload: str) -> str:
    """The payload as written, its alert numbered: if it ran, a dialog names it."""
    return payload.replace("alert(1)", f"alert({number})")


def flag_variant(number: int, payload: str) -> str:
    """The payload with every alert( turned into a silent `top.__xss = number` assignment."""
    return payload.replace("alert(", f"(top.__xss={number},")


def tag(number: int) -> str:
    return f"XSS{number:03d}"


def url_safe(text: str) -> str:
    """Payload text that survives as one URL (no whitespace), still hostile if unescaped."""
    return re.sub(r"\s+", "/", text)


def normalise(text: str) -> str:
    return " ".join(text.split())


def build_spec() -> dict:
    """Every string the seeding step stores, with the payload number it carries."""
    armed = [(n, dialog_variant(n, p), flag_variant(n, p)) for n, p in enumerate(PAYLOADS)]
    entries, pending = [], []
    for n, dialog, flag in armed:
        company = f"{tag(n)}c {flag}"[:200]
        entries.append(
            {
                "n": n,
                "title": f"{tag(n)}e {flag}",
                "description": dialog,
                "city": f"{tag(n)}t {dialog}"[:200],
                "company": company,
                "company_extra": {
                    "name_zh": f"{tag(n)}z {dialog}"[:200],
                    "headquarters": f"{tag(n)}h {flag}"[:200],
                    "sectors": [f"{tag(n)}s {dialog}"],
                    "profile": flag,
                    "party_facts": dialog,
                    "leadership": flag,
                },
                "partners": [f"{tag(n)}p {dialog}", f"{tag(n)}q {flag}"],
                "financing_lender": f"{tag(n)}f {flag}"[:200],
                "address": f"{tag(n)}a {dialog}"[:500],
                "source_url": f"https://example.org/xss/{n}?q={url_safe(flag)}"[:2000],
                "country": COUNTRIES[n % len(COUNTRIES)],
            }
        )
        pending.append(
            {
                "n": n,
                "title": f"{tag(n)}s {dialog}",
                "description": flag,
                "city": f"{tag(n)}t {flag}"[:200],
                # Even numbers name the published entry's company exactly, so the queue lists
                # that payload entry as a likely duplicate; odd numbers name a new company.
                "other_company_name": company if n % 2 == 0 else f"{tag(n)}o {dialog}"[:200],
                "source_urls": [
                    f"javascript:alert({n})",
                    f"https://example.org/s/{n}?q={url_safe(dialog)}",
                    dialog,
                ],
                "contact_email": f"xss{n}@example.org",
                "country": COUNTRIES[n % len(COUNTRIES)],
            }
        )
    first = armed[0]  # '<script>alert(1)</script>'
    image = next(a for a in armed if a[1].startswith("<img src=x onerror="))
    return {
        "editor": EDITOR,
        "password": PASSWORD,
        "countries": COUNTRIES,
        "category": {
            "slug": CATEGORY_SLUG,
            "name": f"XSS category {image[1]}"[:120],
            "plural": f"XSS categories {image[2]}"[:120],
            "description": first[1],
        },
        "topic": {"slug": "xss-probe", "name": f"XSS topic {first[2]}"[:120]},
        "entries": entries,
        "pending": pending,
        "rejected": [
            {"n": n, "title": f"{tag(n)}r {flag}", "reason": f"{tag(n)}y {dialog}"}
            for n, dialog, flag in armed[:REJECTED]
        ],
        "sources": [
            {
                "n": n,
                "title": f"{tag(n)}src {dialog}"[:500],
                "publisher": f"{tag(n)}pub {flag}"[:300],
                "author": f"{tag(n)}au {dialog}"[:500],
                "note": f"{tag(n)}no {flag}"[:500],
                "url": f"https://example.org/src/{n}?q={url_safe(dialog)}"[:2000],
                "href_url": (
                    flag_variant(n, HTTP_URL_PAYLOADS[k]) if k < len(HTTP_URL_PAYLOADS) else ""
                ),
                "error": f"{tag(n)}er {flag}"[:300],
            }
            for k, (n, dialog, flag) in enumerate(armed[-PAYLOAD_SOURCES:])
        ],
    }


# Run inside the server's environment (same database); prints nothing, writes ids as JSON.
SEED_SCRIPT = r"""
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from techmap.catalog.models import Category, Country, EntrySource, Source, Topic
from techmap.contributions import moderation
from techmap.contributions.models import Submission
from techmap.contributions.roles import assign_role
from techmap.sourcecheck.models import SourceCheck

spec = json.load(open(sys.argv[1]))
users = get_user_model().objects
editor = users.create_user(spec["editor"], password=spec["password"])
assign_role(editor, "editor")
curator = users.create_user("xss-curator", password=spec["password"])
assign_role(curator, "admin")  # may create the payload-named companies
category = Category.objects.create(color="#aa0000", position=99, **spec["category"])
topic = Topic.objects.create(**spec["topic"])
countries = {c.iso2: c for c in Country.objects.filter(iso2__in=spec["countries"])}
out = {"entries": [], "pending": [], "rejected": [], "sources": [], "category_id": category.pk}

def submission(item, **extra):
    s = Submission(category=category, country=countries[item["country"]], **extra)
    s.full_clean(exclude=["source_urls", "description", "other_company_name", "city"])
    s.save()
    return s

for item in spec["entries"]:
    url = item["source_url"]
    try:
        Source(url=url, title="probe").clean_fields(exclude=["key"])
    except ValidationError:
        url = "https://example.org/xss/%d" % item["n"]
    s = submission(
        item, title=item["title"], description=item["description"], city=item["city"],
        other_company_name=item["company"], source_urls=[url],
    )
    entry = moderation.accept_as_new_entry(s, curator)
    entry.partners = item["partners"]
    entry.financing_lender = item["financing_lender"]
    entry.address = item["address"]
    entry.save()
    entry.topics.add(topic)
    company = entry.companies.get()
    for name, value in item["company_extra"].items():
        setattr(company, name, value)
    company.website = "https://example.org/company/%d" % item["n"]
    company.save()
    out["entries"].append({
        "n": item["n"], "pk": entry.pk, "public_id": entry.public_id, "title": entry.title,
        "company_slug": company.slug, "company_pk": company.pk, "submission_pk": s.pk,
    })

for item in spec["rejected"]:
    s = submission(
        spec["pending"][item["n"]] | {"title": item["title"]},
        title=item["title"], source_urls=["https://example.org/r"],
        other_company_name="rejected",
    )
    moderation.reject(s, editor, item["reason"])
    out["rejected"].append({"n": item["n"], "pk": s.pk})

for item in spec["pending"]:
    s = submission(
        item, title=item["title"], description=item["description"], city=item["city"],
        other_company_name=item["other_company_name"], source_urls=item["source_urls"],
        contact_email=item["contact_email"], latitude=1.5, longitude=36.5,
    )
    out["pending"].append({"n": item["n"], "pk": s.pk, "title": s.title})

now = timezone.now()
for k, item in enumerate(spec["sources"]):
    fields = {f: item[f] for f in ("title", "publisher", "author", "note", "url")}
    source = Source(**fields)
    if item["href_url"]:
        source.url = item["href_url"]
    try:
        source.full_clean(exclude=["key"])
    except ValidationError:
        source.url = "https://example.org/src/%d" % item["n"]
    source.save()
    entry_pk = out["entries"][k]["pk"]
    EntrySource.objects.create(entry_id=entry_pk, source=source, position=90)
    SourceCheck.objects.create(
        source=source, checked_at=now, url=source.url, status_code=404, ok=False,
        error=item["error"],
    )
    out["sources"].append({"n": item["n"], "pk": source.pk, "entry_pk": entry_pk})

json.dump(out, open(sys.argv[2], "w"))
"""


# --- The server ------------------------------------------------------------------------------


@dataclass
class Site:
    url: str
    spec: dict
    seeded: dict


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A real `techmap serve` on a temporary SQLite database seeded with the armed corpus."""
    data_dir = tmp_path_factory.mktemp("xss-browser")
    env = {
        **os.environ,
        "TECHMAP_DATA_DIR": str(data_dir),
        "TECHMAP_DATABASE_URL": f"sqlite:///{data_dir / 'db.sqlite3'}",
        "TECHMAP_DEBUG": "false",
        "TECHMAP_SUBMISSION_RATE_LIMIT": "10000/3600",
        "DJANGO_SETTINGS_MODULE": "techmap.settings",
    }
    env.pop("TECHMAP_TILE_URL", None)  # no tile server: pages request nothing from other hosts
    subprocess.run([str(TECHMAP), "init"], env=env, check=True, capture_output=True, cwd=REPO_DIR)
    spec = build_spec()
    spec_path, seeded_path = data_dir / "spec.json", data_dir / "seeded.json"
    spec_path.write_text(json.dumps(spec))
    seeding = subprocess.run(
        [sys.executable, "-c", SEED_SCRIPT, str(spec_path), str(seeded_path)],
        env=env,
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
    )
    assert seeding.returncode == 0, seeding.stderr[-4000:]
    seeded = json.loads(seeded_path.read_text())
    with techmap_server(env, data_dir, cwd=REPO_DIR) as url:
        yield Site(url=url, spec=spec, seeded=seeded)


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def editor_state(chromium, site):
    """The cookies of an editor signed in through the admin login form."""
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{site.url}/admin/login/?next=/review/")
    page.fill("#id_username", EDITOR)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_selector("h1:has-text('Review queue')")
    state = context.storage_state()
    context.close()
    return state


# --- Watching pages ----------------------------------------------------------------------------

# What markup that escaped escaping would add to the live DOM.
DOM_PROBE = r"""() => {
  const bad = [];
  const urlAttributes = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data',
    'srcdoc', 'background', 'poster', 'to', 'from', 'values']);
  const forbidden = new Set(['iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base',
    'math', 'template', 'xss', 'isindex', 'keygen', 'marquee', 'set', 'animate', 'foreignobject']);
  const dataTypes = new Set(['application/json', 'application/ld+json', 'importmap']);
  for (const el of document.querySelectorAll('*')) {
    const name = el.localName.toLowerCase();
    if (forbidden.has(name)) bad.push(`<${name}>`);
    if (name === 'meta' && el.hasAttribute('http-equiv')) bad.push('<meta http-equiv>');
    const scriptType = (el.type || '').toLowerCase();
    if (name === 'script' && !el.hasAttribute('src') && !dataTypes.has(scriptType)
        && el.textContent.trim()) bad.push(`inline <script>${el.textContent.slice(0, 60)}`);
    for (const attr of el.attributes) {
      const a = attr.name.toLowerCase();
      if (a.startsWith('on')) bad.push(`<${name} ${a}=${attr.value.slice(0, 60)}>`);
      if (a === 'style' && /__xss|alert|expression\(|javascript:/i.test(attr.value)) {
        bad.push(`<${name} style=${attr.value.slice(0, 60)}>`);
      }
      const v = attr.value.replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
      if (urlAttributes.has(a) && /^(javascript|vbscript|data:text|data:image\/svg)/.test(v)) {
        bad.push(`<${name} ${a}=${attr.value.slice(0, 60)}>`);
      }
    }
  }
  return {xss: window.__xss === undefined ? null : String(window.__xss), bad,
          title: document.title};
}"""

# A CSP message about a script, handler, frame, plugin or load: only markup that reached the
# DOM can cause one. (django-simple-history's history page has one static inline style, so
# style refusals are noted, and styles a payload could add are caught in the DOM instead.)
CSP_REFUSAL = re.compile(
    r"Refused to (execute|run|evaluate|frame|load)|inline (script|event handler)", re.IGNORECASE
)
# A request only an injected <img src=x>, <script src=//evil...> or similar would make.
PAYLOAD_REQUEST = re.compile(r"evil\.example|/x(\.js)?$|/1$|x:alert|/%60x%60$", re.IGNORECASE)


@dataclass
class Watch:
    """One reused browser tab that records whatever a payload would leave behind."""

    site: Site
    page: object
    label: str
    failures: list = field(default_factory=list)
    visited: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    numbers_seen: set = field(default_factory=set)
    _events: list = field(default_factory=list)

    @classmethod
    def open(cls, chromium, site, label, *, bypass_csp, storage_state=None):
        context = chromium.new_context(
            bypass_csp=bypass_csp,
            storage_state=storage_state,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        watch = cls(site=site, page=context.new_page(), label=label)
        page = watch.page
        page.on("dialog", watch._on_dialog)
        page.on("console", watch._on_console)
        page.on("pageerror", watch._on_page_error)
        page.on("request", watch._on_request)
        return watch

    def _on_dialog(self, dialog):
        self._events.append(("dialog", f"{dialog.type}({dialog.message!r})"))
        dialog.dismiss()

    def _on_console(self, message):
        if message.type == "error" and CSP_REFUSAL.search(message.text):
            self._events.append(("CSP refusal", message.text[:300]))
        elif message.type == "error":
            self.console_errors.append(f"{self.page.url}: {message.text[:200]}")

    def _on_page_error(self, error):
        # An exception thrown by our own static scripts is an ordinary bug, reported apart;
        # one thrown by code from anywhere else can only be injected code.
        if "/static/" in (error.stack or ""):
            self.console_errors.append(f"{self.page.url}: uncaught {error.message[:200]}")
        else:
            self._events.append(("uncaught error outside our scripts", str(error)[:300]))

    def _on_request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and (
            parts.hostname != "127.0.0.1" or PAYLOAD_REQUEST.search(parts.path)
        ):
            self._events.append(("payload request", request.url[:200]))

    def close(self):
        self.page.context.close()

    def visit(self, path, *, ready=None, texts=(), payloads=(), numbers=()):
        """Open path and record every sign of a payload that ran or reached the DOM as markup.

        texts must be visible in the page's text; payloads (as stored) must not be in the raw
        HTML verbatim when they open a tag; numbers are the payloads this page shows.
        """
        self._events.clear()
        url = self.site.url + path
        response = self.page.goto(url, wait_until="load")
        where = f"[{self.label}] {path}"
        if response is None or response.status != 200:
            self.failures.append(f"{where}: status {response and response.status}")
            return ""
        html = response.text()
        if ready:
            self.page.wait_for_selector(ready, state="attached")
        probe = self.page.evaluate(DOM_PROBE)
        if probe["xss"] is not None:
            self.failures.append(f"{where}: window.__xss = {probe['xss']} (payload ran)")
        for problem in probe["bad"]:
            self.failures.append(f"{where}: live markup in the DOM: {problem}")
        if re.fullmatch(r"\d+", probe["title"].strip()):
            self.failures.append(f"{where}: document.title became {probe['title']!r}")
        if self.page.url.split("#")[0] != url.split("#")[0]:
            self.failures.append(f"{where}: navigated away to {self.page.url}")
        for kind, detail in self._events:
            self.failures.append(f"{where}: {kind}: {detail}")
        for payload in payloads:
            try:
                assert_payload_escaped(html, payload)
            except AssertionError as error:
                self.failures.append(f"{where}: {error}")
        text = normalise(self.page.inner_text("body"))
        for expected in texts:
            if normalise(expected) not in text:
                self.failures.append(f"{where}: text not shown: {normalise(expected)[:80]!r}")
        self.numbers_seen.update(numbers)
        self.visited.append(path)
        return text

    def check_current_page(self, where, texts=()):
        """The checks of visit() on the page as it is now (after clicks or form posts)."""
        probe = self.page.evaluate(DOM_PROBE)
        if probe["xss"] is not None:
            self.failures.append(f"{where}: window.__xss = {probe['xss']} (payload ran)")
        self.failures += [f"{where}: live markup in the DOM: {b}" for b in probe["bad"]]
        self.failures += [f"{where}: {kind}: {detail}" for kind, detail in self._events]
        self._events.clear()
        html = self.page.content()
        text = normalise(self.page.inner_text("body"))
        for expected in texts:
            if "<" in expected and expected in html:
                self.failures.append(f"{where}: payload raw in the DOM: {expected!r}")
            if normalise(expected) not in text:
                self.failures.append(f"{where}: text not shown: {normalise(expected)[:80]!r}")
        self.visited.append(where)

    def assert_clean(self):
        if self.console_errors:
            distinct = sorted({e.split(": ", 1)[-1] for e in self.console_errors})
            warnings.warn(
                f"[{self.label}] console errors not caused by payloads: "
                + " | ".join(distinct[:5]),
                stacklevel=2,
            )
        assert not self.failures, (
            f"{len(self.failures)} problem(s) on {len(self.visited)} pages:\n"
            + "\n".join(self.failures[:60])
        )


def spec_entry(site, n):
    return site.spec["entries"][n]


def entry_payloads(site, n):
    e = spec_entry(site, n)
    return [e["title"], e["city"], e["company"], *e["partners"], e["address"]]


# --- Tests -----------------------------------------------------------------------------------


def test_corpus_has_at_least_100_distinct_armed_payloads(site):
    assert len(set(PAYLOADS)) >= MIN_PAYLOADS
    armed = {e["title"] for e in site.spec["entries"]} | {p["title"] for p in site.spec["pending"]}
    assert len(armed) >= 2 * MIN_PAYLOADS
    assert len(site.seeded["entries"]) == len(PAYLOADS)
    assert len(site.seeded["pending"]) == len(PAYLOADS)


@pytest.mark.parametrize("bypass_csp", [True, False], ids=["csp-bypassed", "csp-enforced"])
def test_public_pages_show_every_payload_as_text_and_run_none(chromium, site, bypass_csp):
    watch = Watch.open(chromium, site, "public", bypass_csp=bypass_csp)
    seeded = {e["n"]: e for e in site.seeded["entries"]}
    numbers = sorted(seeded)
    try:
        # The entry list: every payload entry, 50 a page, title, company and city as text.
        page_number = 1
        while True:
            path = f"/entries/?category={CATEGORY_SLUG}&page={page_number}"
            shown = numbers[(page_number - 1) * 50 : page_number * 50]
            if not shown:
                break
            watch.visit(
                path,
                texts=[seeded[n]["title"] for n in shown]
                + [spec_entry(site, n)["company"] for n in shown],
                payloads=[p for n in shown for p in entry_payloads(site, n)[:4]],
                numbers=shown,
            )
            page_number += 1

        # The map: list view of all payload entries (built by map.js), then detail panels.
        watch.visit(
            f"/?category={CATEGORY_SLUG}&view=list",
            ready="#list-view[data-loaded]:not([data-loaded='0'])",
        )
        more = watch.page.locator("#list-more")
        while more.is_visible():
            loaded = watch.page.locator("#list-view").get_attribute("data-loaded")
            more.click()
            watch.page.wait_for_selector(f"#list-view:not([data-loaded='{loaded}'])")
        watch.check_current_page(
            "/?view=list (all rows loaded)", texts=[seeded[n]["title"] for n in numbers]
        )
        watch.numbers_seen.update(numbers)
        step = max(1, len(numbers) // MAP_DETAILS_SAMPLED)
        for n in numbers[::step][:MAP_DETAILS_SAMPLED]:
            watch.visit(
                f"/?entry={seeded[n]['public_id']}",
                ready="#detail-title",
                texts=[seeded[n]["title"], spec_entry(site, n)["company"]],
                numbers=[n],
            )

        sample = numbers if bypass_csp else numbers[:: max(1, len(numbers) // 15)]
        step = max(1, len(sample) // ENTRY_PAGES_SAMPLED)
        for n in sample[::step][:ENTRY_PAGES_SAMPLED]:
            e = spec_entry(site, n)
            watch.visit(
                f"/entries/{seeded[n]['public_id']}/",
                texts=[seeded[n]["title"], e["company"], *e["partners"], e["address"]],
                payloads=entry_payloads(site, n),
                numbers=[n],
            )

        # Entries citing the payload-named sources (titles, authors, notes, and http URLs
        # that would break out of an unescaped href), on the page and in the map's panel.
        for source in site.seeded["sources"][: len(HTTP_URL_PAYLOADS)]:
            entry = next(e for e in site.seeded["entries"] if e["pk"] == source["entry_pk"])
            s = next(x for x in site.spec["sources"] if x["n"] == source["n"])
            texts = [s["title"], s["publisher"], s["author"], s["href_url"]]
            watch.visit(
                f"/entries/{entry['public_id']}/",
                texts=texts,
                payloads=[*texts, s["note"]],
                numbers=[source["n"]],
            )
            watch.visit(
                f"/?entry={entry['public_id']}",
                ready="#detail .detail__sources li",
                texts=[s["href_url"]],
                numbers=[source["n"]],
            )

        # Companies: the list, and the payload-named companies' own pages.
        watch.visit(
            "/companies/",
            texts=[spec_entry(site, n)["company"] for n in numbers],
            payloads=[spec_entry(site, n)["company"] for n in numbers],
            numbers=numbers,
        )
        step = max(1, len(numbers) // COMPANY_PAGES_SAMPLED)
        for n in numbers[::step][:COMPANY_PAGES_SAMPLED]:
            e = spec_entry(site, n)
            watch.visit(
                f"/companies/{seeded[n]['company_slug']}/",
                texts=[e["company"], e["company_extra"]["headquarters"]],
                payloads=[e["company"], e["company_extra"]["headquarters"]],
                numbers=[n],
            )

        # Countries, statistics, and the map with every facet (payload category and companies).
        watch.visit("/countries/")
        for iso2 in COUNTRIES:
            shown = [n for n in numbers if spec_entry(site, n)["country"] == iso2]
            watch.visit(f"/countries/{iso2.lower()}/", numbers=shown)
        watch.visit("/stats/", texts=[site.spec["category"]["name"]])
        watch.visit("/", ready="#legend-list li", texts=[site.spec["category"]["name"]])

        # Reflected: payloads typed into the filters come back in the form, never as markup.
        for n in numbers[:: max(1, len(numbers) // 6)][:6]:
            q = quote(dialog_variant(n, PAYLOADS[n])[:200])
            watch.visit(f"/entries/?q={q}")
            watch.visit(f"/stats/?q={q}")
    finally:
        watch.close()
    watch.assert_clean()
    assert len(watch.numbers_seen) >= MIN_PAYLOADS, len(watch.numbers_seen)


@pytest.mark.parametrize("bypass_csp", [True, False], ids=["csp-bypassed", "csp-enforced"])
def test_review_queue_shows_every_payload_as_text_and_runs_none(
    chromium, site, editor_state, bypass_csp
):
    watch = Watch.open(chromium, site, "review", bypass_csp=bypass_csp, storage_state=editor_state)
    pending = site.seeded["pending"]
    by_number = {p["n"]: p for p in site.spec["pending"]}
    try:
        shown = []
        for page_number in range(1, len(pending) // 25 + 2):
            text = watch.visit(f"/review/?page={page_number}")
            shown += [p["n"] for p in pending if normalise(p["title"]) in text]
        watch.numbers_seen.update(shown)
        missing = sorted({p["n"] for p in pending} - set(shown))
        assert not missing, f"pending payload submissions not shown in the queue: {missing}"

        sample = pending if bypass_csp else pending[:: max(1, len(pending) // 10)]
        step = max(1, len(sample) // REVIEW_PAGES_SAMPLED)
        for p in sample[::step][:REVIEW_PAGES_SAMPLED]:
            spec = by_number[p["n"]]
            watch.visit(
                f"/review/{p['pk']}/",
                texts=[spec["title"], spec["city"], spec["other_company_name"]]
                + [u for u in spec["source_urls"][1:]],
                payloads=[spec["title"], spec["city"], spec["other_company_name"]],
                numbers=[p["n"]],
            )
        for r in site.seeded["rejected"]:
            watch.visit(f"/review/{r['pk']}/", numbers=[r["n"]])
        for e in site.seeded["entries"][:3]:
            watch.visit(f"/review/{e['submission_pk']}/", numbers=[e["n"]])

        # Accepting a submission that names a company not in the catalog is refused with a
        # message quoting the payload name: the message must be text too.
        odd = next(p for p in pending if p["n"] % 2 == 1)
        watch.visit(f"/review/{odd['pk']}/")
        watch.page.locator("form[action$='/accept/'] [type=submit]").click()
        watch.page.wait_for_load_state("load")
        probe = watch.page.evaluate(DOM_PROBE)
        assert probe["xss"] is None and not probe["bad"], probe
        assert "not in the catalog" in watch.page.inner_text("body")
    finally:
        watch.close()
    watch.assert_clean()
    assert len(watch.numbers_seen) >= MIN_PAYLOADS, len(watch.numbers_seen)


def test_admin_lists_forms_and_history_show_payloads_as_text_and_run_none(
    chromium, site, editor_state
):
    results = {}
    for bypass_csp in (True, False):
        watch = Watch.open(
            chromium, site, "admin", bypass_csp=bypass_csp, storage_state=editor_state
        )
        entries, pending = site.seeded["entries"], site.seeded["pending"]
        try:
            watch.visit("/admin/")
            shown = set()
            for page_index in range(len(entries) // 100 + 1):
                text = watch.visit(
                    f"/admin/catalog/entry/?category__id__exact={site.seeded['category_id']}"
                    f"&p={page_index + 1}"
                    if page_index
                    else f"/admin/catalog/entry/?category__id__exact={site.seeded['category_id']}"
                )
                shown |= {e["n"] for e in entries if normalise(e["title"]) in text}
            for page_index in range(3):
                text = watch.visit(
                    f"/admin/contributions/submission/?status__exact=pending&p={page_index + 1}"
                    if page_index
                    else "/admin/contributions/submission/?status__exact=pending"
                )
                shown |= {p["n"] for p in pending if normalise(p["title"]) in text}
                if page_index * 100 + 100 >= len(pending):
                    break
            watch.numbers_seen |= shown
            watch.visit("/admin/catalog/company/?q=XSS")
            watch.visit("/admin/catalog/source/?q=XSS")
            watch.visit("/admin/catalog/category/")
            watch.visit("/admin/catalog/topic/")

            count = ADMIN_FORMS_SAMPLED if bypass_csp else 2
            step = max(1, len(entries) // count)
            for e in entries[::step][:count]:
                watch.visit(f"/admin/catalog/entry/{e['pk']}/change/", numbers=[e["n"]])
                watch.visit(f"/admin/catalog/entry/{e['pk']}/history/", numbers=[e["n"]])
                watch.visit(f"/admin/catalog/company/{e['company_pk']}/change/")
            for p in pending[::step][:count]:
                watch.visit(f"/admin/contributions/submission/{p['pk']}/change/", numbers=[p["n"]])
            for s in site.seeded["sources"][:2]:
                watch.visit(f"/admin/catalog/source/{s['pk']}/change/", numbers=[s["n"]])
            watch.visit(f"/admin/catalog/category/{site.seeded['category_id']}/change/")
        finally:
            watch.close()
        results["bypassed" if bypass_csp else "enforced"] = watch
    for watch in results.values():
        watch.assert_clean()
    assert len(results["bypassed"].numbers_seen) >= MIN_PAYLOADS


def test_payloads_typed_into_the_submit_form_come_back_as_text(chromium, site):
    watch = Watch.open(chromium, site, "submit", bypass_csp=True)
    numbers = list(range(0, len(PAYLOADS), max(1, len(PAYLOADS) // 5)))[:5]
    try:
        for n in numbers:
            dialog, flag = dialog_variant(n, PAYLOADS[n]), flag_variant(n, PAYLOADS[n])
            title = f"{tag(n)}form {flag}"[:300]
            watch.visit("/submit/")
            page = watch.page
            page.select_option("#id_company", "__other__")
            page.fill("#id_other_company_name", f"{tag(n)}o {dialog}"[:200])
            page.select_option("#id_category", CATEGORY_SLUG)
            page.fill("#id_title", title)
            # (a one-line input drops line breaks as it is filled, by the HTML standard)
            title = page.input_value("#id_title")
            page.fill("#id_description", f"{dialog}\n\n{flag}")
            page.select_option("#id_country", "KE")
            page.fill("#id_city", f"{tag(n)} {dialog}"[:200])
            # First a refused source list: the error page echoes the input, never runs it.
            page.fill("#id_source_urls", f"javascript:alert({n})\n{dialog}")
            page.locator("form.submit-form [type=submit]").click()
            page.wait_for_selector("#error-summary")
            watch.check_current_page(f"/submit/ (errors, payload {n})", [])
            if page.input_value("#id_title") != title:
                watch.failures.append(f"/submit/ (errors, payload {n}): title not kept as typed")
            page.fill("#id_source_urls", f"https://example.org/form/{n}?q={url_safe(flag)}")
            page.locator("form.submit-form [type=submit]").click()
            page.wait_for_selector(".reference-code")
            watch.check_current_page(f"/submit/ (thanks, payload {n})", [title, dialog])
            watch.numbers_seen.add(n)
    finally:
        watch.close()
    watch.assert_clean()


@pytest.mark.parametrize("bypass_csp", [True, False], ids=["csp-bypassed", "csp-enforced"])
def test_the_checks_catch_payloads_a_page_renders_raw(chromium, site, bypass_csp):
    """The detectors are not blind: a page that prints payloads raw fails every check."""
    raw = [
        dialog_variant(0, "<script>alert(1)</script>"),
        flag_variant(1, "<img src=x onerror=alert(1)>"),
        flag_variant(2, "<svg/onload=alert(1)>"),
    ]
    assert all(p in PAYLOADS for p in ("<script>alert(1)</script>", "<svg/onload=alert(1)>"))
    body = "<!doctype html><html><head><title>t</title></head><body>" + "".join(raw)
    headers = {"Content-Type": "text/html", "Content-Security-Policy": "script-src 'self'"}
    watch = Watch.open(chromium, site, "self-test", bypass_csp=bypass_csp)
    try:
        watch.page.route(
            "**/xss-self-test/", lambda route: route.fulfill(status=200, headers=headers, body=body)
        )
        watch.visit("/xss-self-test/", payloads=raw)
    finally:
        watch.close()
    found = "\n".join(watch.failures)
    assert "live markup in the DOM" in found and "payload rendered raw" in found, found
    assert "payload request" in found, found  # the <img src=x>
    if bypass_csp:
        assert "dialog: alert('0')" in found and "window.__xss" in found, found
    else:
        assert "CSP refusal" in found and "window.__xss" not in found, found
