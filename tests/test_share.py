"""Embedding and social cards: framing headers, the embed page, Open Graph metadata and the
card images, through Django's test client against the real database."""

import io

import pytest
from PIL import Image

from techmap.catalog.models import Company, Country, Entry
from techmap.share import cards, social, topology
from techmap.share.cards import HEIGHT, HIGHLIGHT, WIDTH, project
from tests.html_checks import parse
from tests.test_pages import make_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def located(bundled):
    """A published bundled entry with a point and a country."""
    return (
        Entry.objects.published()
        .exclude(latitude=None)
        .exclude(country=None)
        .select_related("category", "country")
        .order_by("public_id")
        .first()
    )


def csp(response) -> dict[str, list[str]]:
    words = (part.split() for part in response["Content-Security-Policy"].split(";"))
    return {w[0]: w[1:] for w in words if w}


def meta(response) -> dict[str, str]:
    """The <meta property|name=... content=...> of a page as a dict."""
    tags = parse(response).find_all("meta")
    return {t.get("property") or t.get("name"): t.get("content", "") for t in tags}


def png_image(response) -> Image.Image:
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


# --- Framing -------------------------------------------------------------------------------


def test_embed_page_may_be_framed_by_any_site_by_default(client, bundled):
    response = client.get("/embed/?company=huawei")
    assert response.status_code == 200
    assert csp(response)["frame-ancestors"] == ["*"]
    assert "X-Frame-Options" not in response
    # The rest of the strict policy is unchanged.
    assert csp(response)["script-src"] == ["'self'"]
    assert csp(response)["style-src"] == ["'self'"]


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/entries/",
        "/companies/huawei/",
        "/countries/zw/",
        "/about/",
        "/api/facets",
        "/cards/site.png",
        "/no-such-page/",
    ],
)
def test_every_other_url_refuses_framing(client, bundled, url):
    response = client.get(url, follow=False)
    assert response["X-Frame-Options"] == "DENY"
    assert csp(response)["frame-ancestors"] == ["'none'"]


def test_embed_ancestors_setting_names_the_sites_allowed_to_frame(client, bundled, settings):
    settings.TECHMAP = {
        **settings.TECHMAP,
        "EMBED_ANCESTORS": "https://news.example, https://*.example.org",
    }
    response = client.get("/embed/")
    assert csp(response)["frame-ancestors"] == ["https://news.example", "https://*.example.org"]
    assert "X-Frame-Options" not in response
    settings.TECHMAP = {**settings.TECHMAP, "EMBED_ANCESTORS": "none"}
    assert csp(client.get("/embed/"))["frame-ancestors"] == ["'none'"]


# --- The embed page ------------------------------------------------------------------------


def test_embed_page_has_the_map_without_site_chrome(client, bundled, located):
    company = located.companies.first()
    response = client.get(f"/embed/?company={company.slug}&entry={located.public_id}")
    page = parse(response)
    html = response.content.decode()
    assert 'class="site-header"' not in html and "site-footer" not in html
    assert 'class="site-nav"' not in html
    assert page.h1_texts  # the map's own heading
    # The same map: map.js, its data and the filter from the URL, already ticked.
    scripts = [s["src"] for s in page.find_all("script") if s.get("src")]
    assert any(src.endswith("/web/map.js") for src in scripts)
    assert any(src.endswith("/share/embed.js") for src in scripts)
    inputs = page.find_all("input")
    ticked = [i["value"] for i in inputs if "checked" in i and i.get("name") == "company"]
    assert ticked == [company.slug]
    # A visible way back to the full site, in a new tab, and the data's attribution.
    full = next(a for a in page.find_all("a") if a.get("id") == "embed-full-link")
    assert full["target"] == "_blank" and "noopener" in full["rel"]
    assert "techmap / full view" in html
    assert "CC BY-SA 4.0" in html and "Natural Earth" in html
    # Links inside the frame open a new tab; the share menu belongs to the full site.
    assert {"target": "_blank"} in page.find_all("base")
    assert 'id="share-menu"' not in html


def test_map_page_has_the_share_menu(client, bundled):
    page = parse(client.get("/"))
    ids = {attrs.get("id") for _, attrs in page.tags}
    assert {"share-menu", "share-link", "share-embed", "share-size"} <= ids
    assert any(s.get("src", "").endswith("/share/share.js") for s in page.find_all("script"))


# --- Social metadata -----------------------------------------------------------------------


def assert_social_card(client, response, *, url: str, image_path: str):
    tags = meta(response)
    assert tags["og:url"] == f"http://testserver{url}"
    assert tags["og:image"] == f"http://testserver{image_path}"
    assert tags["twitter:image"] == tags["og:image"]
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["og:site_name"] == "techmap"
    assert tags["og:type"] in {"website", "article"}
    for key in ("og:title", "og:description", "og:image:alt", "twitter:title"):
        assert tags[key].strip(), key
    assert len(tags["og:description"]) <= social.DESCRIPTION_CHARS
    assert "<" not in tags["og:description"]
    canonical = [
        link for link in parse(response).find_all("link") if link.get("rel") == "canonical"
    ]
    assert canonical == [{"rel": "canonical", "href": f"http://testserver{url}"}]
    image = png_image(client.get(image_path))
    assert image.size == (1200, 630)
    return tags


def test_entry_page_has_social_card_metadata(client, located):
    url = located.get_absolute_url()
    tags = assert_social_card(
        client, client.get(url), url=url, image_path=f"/cards/entry/{located.public_id}.png"
    )
    assert tags["og:title"] == located.title
    assert tags["og:type"] == "article"


def test_company_country_and_map_pages_have_social_card_metadata(client, bundled):
    company = Company.objects.get(slug="huawei")
    tags = assert_social_card(
        client,
        client.get("/companies/huawei/"),
        url="/companies/huawei/",
        image_path="/cards/company/huawei.png",
    )
    assert company.name in tags["og:title"]
    tags = assert_social_card(
        client,
        client.get("/countries/zw/"),
        url="/countries/zw/",
        image_path="/cards/country/zw.png",
    )
    assert "Zimbabwe" in tags["og:title"]
    # The map's canonical address is the plain map, whatever the filters.
    tags = assert_social_card(
        client, client.get("/?company=huawei"), url="/", image_path="/cards/site.png"
    )
    assert tags["og:title"] == social.SITE_TITLE


def test_social_metadata_is_escaped_plain_text_cut_at_a_word(client, bundled):
    hostile = '"><script>alert(1)</script> & <b>bold</b>'
    category = Entry.objects.published().first().category
    make_entry(
        "t-social",
        title=f"Title {hostile}",
        companies=[],
        category=category,
        country=Country.objects.get(iso2="NO"),
        description="<p>" + "Words &amp; more words. " * 40 + "</p>",
    )
    response = client.get("/entries/t-social/")
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    tags = meta(response)
    assert tags["og:title"] == f"Title {hostile}"  # exact text once the entities are decoded
    description = tags["og:description"]
    assert description.endswith("…") and len(description) <= social.DESCRIPTION_CHARS
    full = ("Words & more words. " * 40).strip()
    cut = description.removesuffix("…")
    assert full.startswith(cut) and full[len(cut)] == " "  # cut between two words


def test_absolute_urls_come_only_from_allowed_hosts(client, located):
    ok = client.get(located.get_absolute_url(), HTTP_HOST="localhost")
    assert meta(ok)["og:url"] == f"http://localhost{located.get_absolute_url()}"
    refused = client.get(located.get_absolute_url(), HTTP_HOST="evil.example")
    assert refused.status_code == 400
    assert b"evil.example" not in refused.content


def test_summary_and_plain_text():
    assert social.plain_text("<p>A &amp; B</p>\n<p>C</p>") == "A & B C"
    assert social.summary("one two three", limit=9) == "one two…"
    assert social.summary("") == ""


# --- Card images ---------------------------------------------------------------------------


def pixel_at(image: Image.Image, lng: float, lat: float):
    x, y = project(lng, lat)
    return image.convert("RGB").getpixel((round(x / cards.SCALE), round(y / cards.SCALE)))


def test_country_card_highlights_the_country(client, bundled):
    image = png_image(client.get("/cards/country/br.png"))
    assert image.size == (WIDTH, HEIGHT)
    assert pixel_at(image, -55.0, -10.0) == HIGHLIGHT  # the middle of Brazil
    other = png_image(client.get("/cards/country/zw.png"))
    assert pixel_at(other, -55.0, -10.0) == cards.LAND


def test_entry_card_marks_the_entry_in_its_category_colour(client, located):
    image = png_image(client.get(f"/cards/entry/{located.public_id}.png"))
    expected = Image.new("RGB", (1, 1), located.category.color).getpixel((0, 0))
    assert pixel_at(image, located.longitude, cards.clamp_lat(located.latitude)) == expected


def test_company_card_shows_each_country_of_presence(client, bundled):
    image = png_image(client.get("/cards/company/huawei.png"))
    for entry in Entry.objects.published().filter(companies__slug="huawei").exclude(latitude=None):
        cell = social.CELL_DEGREES
        lng = (entry.longitude // cell + 0.5) * cell
        lat = cards.clamp_lat((entry.latitude // cell + 0.5) * cell)
        assert pixel_at(image, lng, lat) not in (cards.LAND, cards.SEA, cards.BORDER), entry


@pytest.mark.parametrize(
    "url",
    [
        "/cards/entry/no-such-entry.png",
        "/cards/company/no-such-company.png",
        "/cards/country/zz.png",
        "/cards/country/zwe.png",
        "/cards/entry/t-draft.png",
    ],
)
def test_unknown_or_unpublished_cards_are_404(client, bundled, url):
    make_entry(
        "t-draft",
        companies=[],
        category=Entry.objects.first().category,
        country=None,
        status=Entry.Status.DRAFT,
    )
    assert client.get(url).status_code == 404


def test_cards_are_cached_by_http_and_in_process(client, located):
    url = f"/cards/entry/{located.public_id}.png"
    cards.render_png.cache_clear()
    first = client.get(url)
    assert "public" in first["Cache-Control"] and first["ETag"] and first["Last-Modified"]
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    # Drawn once: the second answer came from the answer cache or the drawing memo.
    assert cards.render_png.cache_info().misses == 1


def test_cards_render_with_pillows_own_font_when_no_font_is_installed(monkeypatch):
    monkeypatch.setattr(cards, "BOLD_FONTS", ("no-such-font.ttf",))
    monkeypatch.setattr(cards, "REGULAR_FONTS", ("no-such-font.ttf",))
    cards.font.cache_clear()
    try:
        card = cards.Card(title="A title " * 30, subtitle="A subtitle")
        image = Image.open(io.BytesIO(cards.render_png.__wrapped__(card)))
        assert image.size == (WIDTH, HEIGHT)
    finally:
        cards.font.cache_clear()


def test_long_titles_are_cut_to_two_lines_with_an_ellipsis():
    face = cards.font(40, bold=True)
    lines = cards.fit_lines("word " * 100, face, 600, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(face.getlength(line) <= 600 for line in lines)


# --- TopoJSON ------------------------------------------------------------------------------


def test_topojson_arcs_are_decoded_and_joined():
    topo = {
        "type": "Topology",
        "transform": {"scale": [0.5, 2.0], "translate": [10, 20]},
        "arcs": [[[0, 0], [2, 0], [0, 1]], [[0, 0], [2, 1]]],
        "objects": {
            "countries": {
                "type": "GeometryCollection",
                "geometries": [
                    {
                        "type": "Polygon",
                        "id": "001",
                        "properties": {"name": "A"},
                        "arcs": [[0, ~1]],
                    },
                    {"type": "LineString", "arcs": [0]},
                ],
            }
        },
    }
    assert topology.decode_arcs(topo)[0] == [(10, 20), (11, 20), (11, 22)]
    (shape,) = topology.country_shapes(topo)
    assert (shape.numeric, shape.name) == ("001", "A")
    # Arc 1 reversed ((11, 22) -> (10, 20)), its first point shared with arc 0's last.
    ring = ((10, 20), (11, 20), (11, 22), (10, 20))
    assert shape.polygons == ((ring,),)


def test_world_atlas_outlines_are_the_installed_natural_earth_countries():
    shapes = topology.world_countries()
    names = {s.numeric: s.name for s in shapes}
    assert names["716"] == "Zimbabwe" and names["076"] == "Brazil"
    assert len(shapes) > 200


def _title_band(card: cards.Card) -> Image.Image:
    image = Image.open(io.BytesIO(cards.render_png.__wrapped__(card)))
    return image.convert("RGB").crop((0, cards.MAP_HEIGHT + 2, WIDTH, HEIGHT))


def test_company_and_country_cards_carry_the_chinese_name(bundled):
    assert social.company_card(Company.objects.get(slug="huawei")).title_zh == "华为"
    assert social.country_card(Country.objects.get(iso2="ZW")).title_zh == "津巴布韦"


def test_the_chinese_name_is_drawn_beside_the_title_with_a_cjk_font():
    if cards.cjk_font(40) is None:
        pytest.skip("no CJK font installed (scripts/setup.sh installs fonts-wqy-microhei)")
    plain = _title_band(cards.Card(title="Huawei", subtitle="1 entry"))
    named = _title_band(cards.Card(title="Huawei", title_zh="华为", subtitle="1 entry"))
    assert plain.tobytes() != named.tobytes()
    # The name is drawn right of the title, in ink, not as empty boxes in the title's place.
    left = cards.font(46, bold=True).getlength("Huawei") + 40 + 10
    box = Image.eval(named.crop((round(left), 0, WIDTH - 250, 70)), lambda v: 255 - v).getbbox()
    assert box is not None and box[2] - box[0] > 40


def test_without_a_cjk_font_the_card_leaves_the_chinese_name_off(monkeypatch):
    monkeypatch.setattr(cards, "CJK_FONTS", ("no-such-font.ttc",))
    cards.cjk_font.cache_clear()
    try:
        plain = _title_band(cards.Card(title="Huawei", subtitle="1 entry"))
        named = _title_band(cards.Card(title="Huawei", title_zh="华为", subtitle="1 entry"))
        assert plain.tobytes() == named.tobytes()
    finally:
        cards.cjk_font.cache_clear()
