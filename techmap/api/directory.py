"""Endpoints over companies, categories, topics and countries."""

from ninja import Router
from ninja.errors import HttpError

from techmap.api.responses import is_lookup_key, json_response
from techmap.catalog import directory
from techmap.catalog.models import Company, Country

router = Router()


@router.get(
    "/companies", tags=["companies"], summary="All companies",
    description="Every company with its number of published entries and of countries.",
)
def list_companies(request):
    return json_response(directory.company_list())


@router.get(
    "/companies/{slug}", tags=["companies"], summary="One company's profile",
    description="Every profile field of a company, with its published entries counted by "
    "category and by country. 404 for an unknown slug.",
)
def get_company(request, slug: str):
    companies = Company.objects.select_related("party_source")
    company = companies.filter(slug=slug).first() if is_lookup_key(slug) else None
    if company is None:
        raise HttpError(404, f"No company has the slug {slug[:80]!r}.")
    return json_response(directory.company_profile(company))


@router.get(
    "/categories", tags=["taxonomy"], summary="All categories",
    description="The categories in legend order, with colours and numbers of published "
    "entries (by primary category).",
)
def list_categories(request):
    return json_response(directory.category_list())


@router.get(
    "/topics", tags=["taxonomy"], summary="All topics",
    description="Every topic with its number of published entries.",
)
def list_topics(request):
    return json_response(directory.topic_list())


@router.get(
    "/countries", tags=["countries"], summary="All countries",
    description="Every ISO 3166-1 country with its UN region and number of published "
    "entries; with_entries=true keeps only countries that have entries.",
)
def list_countries(request, with_entries: bool = False):
    return json_response(directory.country_list(with_entries=with_entries))


@router.get(
    "/countries/{iso2}", tags=["countries"], summary="One country",
    description="A country (ISO 3166-1 alpha-2, any case) with its published entries counted "
    "by company and by category. 404 for an unknown code.",
)
def get_country(request, iso2: str):
    country = Country.objects.filter(iso2=iso2.upper()).first() if is_lookup_key(iso2) else None
    if country is None:
        raise HttpError(404, f"No country has the code {iso2[:10]!r}.")
    return json_response(directory.country_profile(country))
