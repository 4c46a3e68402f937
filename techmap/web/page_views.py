"""Thin views of the server-rendered pages; the content is built in pages, profiles, reference.

Kept apart from views.py, where the map page lives, so two people can work on them at once.
"""

from django.shortcuts import redirect, render
from django.utils import timezone

from techmap.share import social
from techmap.web import pages, profiles, reference


def entry_list(request):
    """/entries/: the accessible table of the published entries, with the map's filters."""
    page = pages.entry_list_page(request.GET, request.GET.get("page"))
    return render(request, "web/entry_list.html", {"listing": page}, status=page.status)


def entry_detail(request, public_id):
    """/entries/<public_id>/: every field of one published entry, its sources and citation."""
    entry = pages.get_published_entry(public_id)
    absolute_url = request.build_absolute_uri(entry.get_absolute_url())
    context = pages.entry_detail_context(entry, absolute_url, timezone.localdate())
    context["social"] = social.entry_meta(request, entry)
    return render(request, "web/entry_detail.html", context)


def company_list(request):
    """/companies/: every company with its counts of published entries and countries."""
    return render(request, "web/company_list.html",
                  {"companies": profiles.companies_with_counts()})


def company_detail(request, slug):
    """/companies/<slug>/: a company's profile, map, counts and entries."""
    context = profiles.company_context(slug)
    context["social"] = social.company_meta(request, context["company"])
    return render(request, "web/company_detail.html", context)


def country_list(request):
    """/countries/: countries with published entries, grouped by UN region."""
    return render(request, "web/country_list.html", {"regions": profiles.countries_by_region()})


def country_detail(request, iso2):
    """/countries/<iso2>/: a country's entries by company and category (lowercase URL)."""
    country = profiles.find_country(iso2)
    if iso2 != iso2.lower():
        return redirect(country.get_absolute_url(), permanent=True)
    context = profiles.country_context(country)
    context["social"] = social.country_meta(request, country)
    return render(request, "web/country_detail.html", context)


def about(request):
    """/about/: what the database is and how it is made."""
    return render(request, "web/about.html", reference.about_context())


def data(request):
    """/data/: licence, citation, downloads and statistics."""
    site_url = request.build_absolute_uri("/")
    context = reference.data_context(site_url, timezone.localdate())
    context["ogc_url"] = request.build_absolute_uri("/ogc/")  # the address GIS software takes
    return render(request, "web/data.html", context)
