"""Social-card images (Open Graph / Twitter): a 1200x630 PNG drawn with Pillow.

A card is a world map from the bundled Natural Earth outlines with the points that matter
marked (one entry, a company's presence, a country highlighted) and a title band below.
Rendering is a pure function of a Card, so the PNG bytes are cached by the Card itself:
the same data give the same bytes, and an edit (new title, moved point) is a new key.
"""

import io
import math
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageColor, ImageDraw, ImageFont

from techmap.share.topology import world_countries

WIDTH, HEIGHT = 1200, 630
SCALE = 2  # drawn at twice the size, then reduced: smooth coastlines without antialiasing
MAP_HEIGHT = 470
NORTH, SOUTH = 84.0, -58.0  # Antarctica and the high Arctic add nothing to these cards
SEA, LAND, BORDER = (207, 221, 232), (246, 244, 239), (169, 166, 157)
HIGHLIGHT, HIGHLIGHT_BORDER = (255, 214, 153), (196, 120, 20)
INK, INK_SOFT, ACCENT = (23, 28, 33), (81, 90, 100), (31, 78, 121)
DEFAULT_POINT = "#555555"
SITE_NAME = "techmap"
# DejaVu comes with Debian's Chromium (scripts/setup.sh installs fonts-dejavu-core); the others
# are common elsewhere. Pillow searches the system font folders for these file names.
BOLD_FONTS = (
    "DejaVuSans-Bold.ttf",
    "LiberationSans-Bold.ttf",
    "NotoSans-Bold.ttf",
    "Arial Bold.ttf",
)
REGULAR_FONTS = (
    "DejaVuSans.ttf",
    "LiberationSans-Regular.ttf",
    "NotoSans-Regular.ttf",
    "Arial.ttf",
)

# Chinese names need a CJK font (scripts/setup.sh installs Debian's fonts-wqy-microhei);
# without one the cards simply leave the Chinese name off.
CJK_FONTS = (
    "wqy-microhei.ttc",
    "NotoSansCJK-Regular.ttc",
    "wqy-zenhei.ttc",
)

Position = tuple[float, float]  # (lng, lat)


@dataclass(frozen=True)
class Point:
    lng: float
    lat: float
    color: str = DEFAULT_POINT


@dataclass(frozen=True)
class Card:
    """Everything one card shows; hashable, so it is also the cache key of its PNG."""

    title: str
    title_zh: str = ""  # the Chinese name, drawn beside the title when a CJK font is installed
    subtitle: str = ""
    points: tuple[Point, ...] = ()
    lines: tuple[tuple[Position, ...], ...] = ()
    highlight: str = ""  # ISO 3166-1 numeric code of a country to highlight
    focus: bool = False  # one point that should stand out (an entry)


# --- Fonts ----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def font(size: int, bold: bool = False) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A TrueType font of this size, or Pillow's built-in font when none is installed."""
    for name in BOLD_FONTS if bold else REGULAR_FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


@lru_cache(maxsize=4)
def cjk_font(size: int) -> ImageFont.FreeTypeFont | None:
    """A font with Chinese glyphs of this size, or None when none is installed."""
    for name in CJK_FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return None


def fit_lines(text: str, face, width: float, max_lines: int) -> list[str]:
    """Wrap text into at most max_lines lines of width pixels, ending with '…' if cut."""
    words, lines, current = text.split(), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if face.getlength(candidate) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] += "…"
    # A single word wider than the card (a long URL-like title) is cut character by character.
    return [_shorten(line, face, width) for line in lines]


def _shorten(line: str, face, width: float) -> str:
    if face.getlength(line) <= width:
        return line
    while line and face.getlength(line + "…") > width:
        line = line[:-1]
    return line.rstrip() + "…"


# --- Map ------------------------------------------------------------------------------------


def project(lng: float, lat: float) -> tuple[float, float]:
    """Equirectangular projection onto the (supersampled) map area."""
    x = (lng + 180) / 360 * WIDTH * SCALE
    y = (NORTH - lat) / (NORTH - SOUTH) * MAP_HEIGHT * SCALE
    return x, y


def unwrap(ring) -> list[Position]:
    """Keep a ring continuous across the antimeridian (Russia, Fiji), as outlines.js does."""
    out = [ring[0]] if ring else []
    for lng, lat in ring[1:]:
        previous = out[-1][0]
        while lng - previous > 180:
            lng -= 360
        while lng - previous < -180:
            lng += 360
        out.append((lng, lat))
    return out


def _draw_ring(draw, ring, fill, outline, width=1):
    ring = unwrap(ring)
    if len(ring) < 3:
        return
    lngs = [p[0] for p in ring]
    shifts = [0] + ([-360] if max(lngs) > 180 else []) + ([360] if min(lngs) < -180 else [])
    for shift in shifts:
        xy = [project(lng + shift, lat) for lng, lat in ring]
        draw.polygon(xy, fill=fill, outline=outline, width=width)


@lru_cache(maxsize=1)
def world_image() -> Image.Image:
    """Sea, land and borders, drawn once per process (most of a card's drawing time)."""
    canvas = Image.new("RGB", (WIDTH * SCALE, MAP_HEIGHT * SCALE), SEA)
    draw = ImageDraw.Draw(canvas)
    for shape in world_countries():
        for polygon in shape.polygons:
            _draw_ring(draw, polygon[0], LAND, BORDER, SCALE)
    return canvas


def draw_highlight(draw, highlight: str) -> None:
    """The highlighted country over the world, its holes (enclaves) left as they were."""
    for shape in world_countries():
        if highlight and shape.numeric == highlight:
            for polygon in shape.polygons:
                _draw_ring(draw, polygon[0], HIGHLIGHT, HIGHLIGHT_BORDER, 2 * SCALE)
                for hole in polygon[1:]:
                    _draw_ring(draw, hole, LAND, HIGHLIGHT_BORDER, SCALE)


def highlight_box(highlight: str) -> tuple[float, float, float, float] | None:
    """The projected bounds of the highlighted country (to ring it when it is tiny)."""
    xs, ys = [], []
    for shape in world_countries():
        if highlight and shape.numeric == highlight:
            for polygon in shape.polygons:
                for lng, lat in unwrap(polygon[0]):
                    x, y = project(lng, lat)
                    xs.append(x)
                    ys.append(y)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def _color(value: str):
    try:
        return ImageColor.getrgb(value)
    except ValueError:
        return ImageColor.getrgb(DEFAULT_POINT)


def draw_marks(draw, card: Card) -> None:
    """Lines, points and, for small highlighted countries, a ring around them."""
    if card.highlight:
        box = highlight_box(card.highlight)
        if box and max(box[2] - box[0], box[3] - box[1]) < 14 * SCALE:
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            r = 14 * SCALE
            draw.ellipse(
                [cx - r, cy - r, cx + r, cy + r], outline=HIGHLIGHT_BORDER, width=3 * SCALE
            )
    for line in card.lines:
        line = unwrap(list(line))
        lngs = [lng for lng, _ in line]
        shifts = [0] + ([-360] if max(lngs) > 180 else []) + ([360] if min(lngs) < -180 else [])
        for shift in shifts if len(line) > 1 else ():
            xy = [project(lng + shift, lat) for lng, lat in line]
            draw.line(xy, fill=ACCENT, width=3 * SCALE, joint="curve")
    radius = (11 if card.focus else 7) * SCALE
    for point in card.points:
        x, y = project(point.lng, point.lat)
        if card.focus:
            halo = radius + 8 * SCALE
            draw.ellipse([x - halo, y - halo, x + halo, y + halo], outline=INK, width=3 * SCALE)
        draw.ellipse(
            [x - radius, y - radius, x + radius, y + radius],
            fill=_color(point.color),
            outline=(255, 255, 255),
            width=2 * SCALE,
        )


# --- Card -----------------------------------------------------------------------------------


def draw_text(image: Image.Image, card: Card) -> None:
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, MAP_HEIGHT, WIDTH, HEIGHT], fill=(255, 255, 255))
    draw.line([0, MAP_HEIGHT, WIDTH, MAP_HEIGHT], fill=BORDER, width=2)
    brand = font(24, bold=True)
    draw.text((WIDTH - 40, MAP_HEIGHT + 22), SITE_NAME, font=brand, fill=ACCENT, anchor="ra")
    brand_width = brand.getlength(SITE_NAME) + 30
    title_face = font(46, bold=True)
    lines = fit_lines(card.title, title_face, WIDTH - 80 - brand_width, 2)
    size = 46 if len(lines) == 1 else 38
    title_face = font(size, bold=True)
    lines = fit_lines(card.title, title_face, WIDTH - 80 - brand_width, 2)
    y = MAP_HEIGHT + 18
    for line in lines:
        draw.text((40, y), line, font=title_face, fill=INK)
        y += size + 8
    draw_title_zh(draw, card.title_zh, title_face.getlength(lines[-1]) if lines else 0,
                  y - size - 8, size, WIDTH - 40 - brand_width)
    if card.subtitle:
        face = font(24)
        (subtitle,) = fit_lines(card.subtitle, face, WIDTH - 80, 1)[:1] or [""]
        draw.text((40, HEIGHT - 44), subtitle, font=face, fill=INK_SOFT)


def draw_title_zh(draw, text: str, after: float, y: float, size: int, right: float) -> None:
    """The Chinese name after the title's last line, if a CJK font is there and it fits."""
    face = cjk_font(size) if text else None
    if face is None:
        return
    x = 40 + after + (18 if after else 0)
    if x + face.getlength(text) <= right:
        draw.text((x, y), text, font=face, fill=INK_SOFT)


@lru_cache(maxsize=128)
def render_png(card: Card) -> bytes:
    """The card as PNG bytes (cached in this process by the Card's content)."""
    canvas = world_image().copy()
    draw = ImageDraw.Draw(canvas)
    draw_highlight(draw, card.highlight)
    draw_marks(draw, card)
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    image.paste(canvas.resize((WIDTH, MAP_HEIGHT), Image.Resampling.LANCZOS), (0, 0))
    draw_text(image, card)
    buffer = io.BytesIO()
    # No palette quantizing: it merges the few pixels of the category colours into the greys.
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def clamp_lat(lat: float) -> float:
    """Latitude held within the drawn band, so far-north or far-south points stay visible."""
    return max(SOUTH + 1, min(NORTH - 1, lat)) if math.isfinite(lat) else 0.0
