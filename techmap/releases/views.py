"""Thin views of the release pages and downloads; the content comes from changelog/release."""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from techmap.releases.changelog import diff_releases, published_ids
from techmap.releases.models import Release
from techmap.releases.release import ReleaseError, release_file


def _linked(changes, published: set[str]) -> list[dict]:
    return [{**change.as_dict(), "published": change.id in published} for change in changes]


def release_context(release: Release) -> dict:
    """The release page's context: the release, its previous one and the changelog."""
    previous = release.previous()
    context = {"release": release, "previous": previous, "changelog": None}
    if previous is not None:
        diff = diff_releases(previous, release)
        published = published_ids(c.id for c in diff.added + diff.changed + diff.removed)
        context["changelog"] = {
            "added": _linked(diff.added, published),
            "changed": _linked(diff.changed, published),
            "removed": _linked(diff.removed, published),
            "is_empty": diff.is_empty,
        }
    return context


@require_GET
def release_list(request):
    """/releases/: every release, newest first, with its downloads."""
    return render(request, "releases/release_list.html", {"releases": Release.objects.all()})


@require_GET
def release_detail(request, name):
    """/releases/<name>/: counts, downloads and the changelog against the previous release."""
    release = get_object_or_404(Release, name=name)
    return render(request, "releases/release_detail.html", release_context(release))


@require_GET
def release_download(request, name, filename):
    """/releases/<name>/<file>: a frozen file of the release, as an attachment."""
    release = get_object_or_404(Release, name=name)
    try:
        path, media_type = release_file(release, filename)
    except ReleaseError as exc:
        raise Http404(str(exc)) from None
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=f"techmap-{release.name}-{filename}",
        content_type=media_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
