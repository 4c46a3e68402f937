"""Horizontal bar charts drawn as server-rendered SVG: the geometry, computed in Python.

The template web/includes/bar_chart.html draws a BarChart with <rect> and <text> and
SVG presentation attributes only, so the page needs no script and no style attribute
(the site's Content-Security-Policy forbids both).
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

# The chart's coordinate system (viewBox units); the SVG scales to the page's width.
CHART_WIDTH = 720
LABEL_WIDTH = 270  # labels are right-aligned against the bars
VALUE_WIDTH = 160  # room after the longest bar for its figure
ROW_HEIGHT = 24
BAR_HEIGHT = 16
PADDING = 4
MAX_LABEL_CHARS = 34
DEFAULT_COLOR = "#0b5cad"


@dataclass(frozen=True)
class Bar:
    label: str  # as drawn, shortened when long
    full_label: str
    value: int
    value_text: str
    y: float
    width: float
    color: str

    @property
    def text_y(self) -> float:
        return self.y + BAR_HEIGHT / 2

    @property
    def value_x(self) -> float:
        return LABEL_WIDTH + self.width + 6


@dataclass(frozen=True)
class BarChart:
    """One chart: an id for its heading and table, a description for screen readers, bars."""

    slug: str
    title: str
    description: str
    bars: list[Bar] = field(default_factory=list)

    width = CHART_WIDTH
    label_x = LABEL_WIDTH - 8
    bar_x = LABEL_WIDTH

    @property
    def height(self) -> int:
        return len(self.bars) * ROW_HEIGHT + 2 * PADDING

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def shorten(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """text cut to at most limit characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bar_chart(slug: str, title: str, rows: list[dict], *, label, value_text,
              value_key: str = "entries", color=None) -> BarChart:
    """A horizontal bar chart of rows, each bar as long as its value relative to the largest.

    label(row) and value_text(row) give the texts drawn before and after each bar;
    color(row), when given, its fill (a #rrggbb colour).
    """
    largest = max((row[value_key] for row in rows), default=0)
    bar_area = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, row in enumerate(rows):
        value = row[value_key]
        width = round(bar_area * value / largest, 1) if largest else 0
        name = label(row)
        bars.append(Bar(
            label=shorten(name),
            full_label=name,
            value=value,
            value_text=value_text(row),
            y=PADDING + index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2,
            width=max(width, 1.0) if value else 0,
            color=(color(row) if color else "") or DEFAULT_COLOR,
        ))
    description = _("Bar chart: %(title)s. The table that follows gives the same figures.") % {
        "title": f"{title[0].lower()}{title[1:]}" if title else ""
    }
    return BarChart(slug=slug, title=title, description=description, bars=bars)
