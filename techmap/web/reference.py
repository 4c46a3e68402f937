"""Plain functions that build the about/methodology and data pages."""

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from techmap.catalog.models import Category, Company
from techmap.catalog.stats import compute_stats
from techmap.web.pages import REPORT_CREDIT, long_date

DATA_LICENCE_NAME = "Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0)"
DATA_LICENCE_URL = "https://creativecommons.org/licenses/by-sa/4.0/"
REPORT_CITATION = (
    "Danielle Cave, Samantha Hoffman, Alex Joske, Fergus Ryan, Elise Thomas, "
    "Mapping China's technology giants, Australian Strategic Policy Institute, "
    "International Cyber Policy Centre, April 2019."
)


@dataclass(frozen=True)
class ReportFigure:
    """One headline figure the 2019 report states, and what this database counts against it."""

    report_value: str
    label: str
    category_slug: str = ""  # compared with this category's count; "" means all entries
    compare_countries: bool = False
    comparable: bool = True
    stat_key: str = ""  # compared with this top-level key of compute_stats() instead


# The figures as printed in the report's summary ("Our research maps and tracks").
REPORT_FIGURES = [
    ReportFigure("17,000+", gettext_lazy("data points"), stat_key="data_points"),
    ReportFigure("1,700+", gettext_lazy("points of overseas presence for the 12 companies")),
    ReportFigure(
        "404", gettext_lazy("university and research partnerships"), "research-partnership"
    ),
    ReportFigure(
        "195+",
        gettext_lazy("of them Huawei Seeds for the Future university partnerships"),
        comparable=False,
    ),
    ReportFigure(
        "75",
        gettext_lazy("'Smart City' or 'Public Security Solution' projects"),
        "smart-city-public-security",
    ),
    ReportFigure("52", gettext_lazy("5G initiatives"), "5g-relationship"),
    ReportFigure(
        "34",
        gettext_lazy("countries with 5G initiatives"),
        "5g-relationship",
        compare_countries=True,
    ),
    ReportFigure("119", gettext_lazy("R&D labs"), "rd-lab"),
    ReportFigure("56", gettext_lazy("undersea cables"), "cable-undersea"),
    ReportFigure("31", gettext_lazy("leased cables"), "leased-cable"),
    ReportFigure("17", gettext_lazy("terrestrial cables"), "cable-terrestrial"),
    ReportFigure("202", gettext_lazy("data centres"), "data-centre"),
    ReportFigure(
        "305", gettext_lazy("telecommunications & ICT projects"), "telecommunications-ict"
    ),
]


def report_comparison(stats: dict) -> list[dict]:
    """Each report figure beside this database's current count (None where not comparable)."""
    by_category = {row["slug"]: row for row in stats["by_category"]}
    rows = []
    for figure in REPORT_FIGURES:
        current = None
        if figure.stat_key:
            current = stats.get(figure.stat_key)
        elif figure.comparable and not figure.category_slug:
            current = stats["entries"]
        elif figure.comparable:
            row = by_category.get(figure.category_slug, {"entries": 0, "countries": 0})
            current = row["countries"] if figure.compare_countries else row["entries"]
        rows.append({"report": figure.report_value, "label": str(figure.label), "current": current})
    return rows


def about_context() -> dict:
    """The template context of the about and methodology page."""
    stats = compute_stats()
    return {
        "companies": list(Company.objects.only("slug", "name", "name_zh")),
        "categories": list(Category.objects.all()),
        "stats": stats,
        "comparison": report_comparison(stats),
        "report_citation": REPORT_CITATION,
    }


def dataset_citation(site_url: str, today: date) -> str:
    """A ready-to-copy citation of the whole dataset."""
    return _(
        "techmap: overseas presence of China's technology giants. %(url)s. "
        "Licensed CC BY-SA 4.0. %(credit)s Accessed %(date)s."
    ) % {"url": site_url, "credit": REPORT_CREDIT, "date": long_date(today)}


def data_context(site_url: str, today: date) -> dict:
    """The template context of the data page: licence, citation, downloads and statistics."""
    stats = compute_stats()
    return {
        "licence_name": DATA_LICENCE_NAME,
        "licence_url": DATA_LICENCE_URL,
        "stats": stats,
        "dataset_citation": dataset_citation(site_url, today),
        "report_citation": REPORT_CITATION,
    }
