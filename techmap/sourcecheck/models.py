"""One row per check of a source URL: the history of each link's health."""

from django.db import models


class SourceCheckQuerySet(models.QuerySet):
    def latest_per_source(self):
        """Only the most recent check of each source."""
        newest = (
            SourceCheck.objects.filter(source=models.OuterRef("source"))
            .order_by("-checked_at", "-id")
            .values("id")[:1]
        )
        return self.filter(id=models.Subquery(newest))

    def dead(self):
        return self.filter(ok=False)


class SourceCheck(models.Model):
    """The result of fetching one source URL once."""

    source = models.ForeignKey("catalog.Source", on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField(db_index=True)
    url = models.URLField("URL checked", max_length=2000)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    final_url = models.URLField(
        "final URL", max_length=2000, blank=True, help_text="After following redirects."
    )
    ok = models.BooleanField(help_text="A 2xx or 3xx final answer.")
    refused = models.BooleanField(
        default=False,
        help_text="Not fetched: a scheme other than http(s), or an address that is not public.",
    )
    error = models.CharField(max_length=300, blank=True)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    archived_url_found = models.URLField(
        "archived URL found",
        max_length=2000,
        blank=True,
        help_text="A web-archive copy found by this check (ARCHIVE_LOOKUP).",
    )

    objects = SourceCheckQuerySet.as_manager()

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["source", "-checked_at"], name="sourcecheck_source_latest")]

    def __str__(self):
        state = "ok" if self.ok else ("refused" if self.refused else "dead")
        return f"{self.url} {self.status_code or '-'} {state}"

    @property
    def outcome(self) -> str:
        """ok, dead or refused, for summaries and pages."""
        return "ok" if self.ok else ("refused" if self.refused else "dead")
