"""Releases: frozen, immutable copies of the published dataset with a row snapshot per entry.

A release is written once by techmap.releases.release.create_release() and never changed:
save() of an existing row, delete() and bulk update()/delete() all raise ReleaseImmutable.
"""

from pathlib import Path

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

release_name_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$",
    "Use lowercase letters, digits, '.', '_' and '-', starting and ending with a letter or "
    "digit (at most 64 characters), e.g. 2026-11 or v1.",
)


class ReleaseImmutable(Exception):
    """A release, or an entry of its snapshot, cannot be changed or deleted once created."""


def releases_dir() -> Path:
    """The folder holding one sub-folder of frozen files per release (read at call time)."""
    return Path(settings.DATA_DIR) / "releases"


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ReleaseImmutable(f"{self.model._meta.verbose_name_plural} cannot be changed")

    def delete(self):
        raise ReleaseImmutable(f"{self.model._meta.verbose_name_plural} cannot be deleted")


class ImmutableModel(models.Model):
    """A model whose rows are inserted once and then never saved again nor deleted."""

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ReleaseImmutable(f"{self._meta.verbose_name} {self} cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ReleaseImmutable(f"{self._meta.verbose_name} {self} cannot be deleted")


class Release(ImmutableModel):
    """A named, dated, frozen copy of the published entries (CSV, GeoJSON, Data Package)."""

    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[release_name_validator],
        help_text="Short unique name used in URLs and file names, e.g. 2026-11 or v1.",
    )
    notes = models.TextField(blank=True, help_text="What this release is, in plain words.")
    created = models.DateTimeField(help_text="When the dataset was frozen.")
    entry_count = models.PositiveIntegerField(help_text="Published entries in the release.")
    counts = models.JSONField(
        default=dict, blank=True, help_text="The headline statistics (compute_stats) at release."
    )

    class Meta:
        ordering = ["-created", "-pk"]
        get_latest_by = ["created", "pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return f"/releases/{self.name}/"

    @property
    def folder(self) -> Path:
        """Where the frozen files of this release live."""
        return releases_dir() / self.name

    def previous(self):
        """The release made just before this one, or None for the first."""
        earlier = Release.objects.filter(
            models.Q(created__lt=self.created) | models.Q(created=self.created, pk__lt=self.pk)
        )
        return earlier.order_by("-created", "-pk").first()


class ReleaseEntry(ImmutableModel):
    """One published entry as it was exported in a release: its row and the row's hash."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="entries")
    public_id = models.CharField(max_length=80)
    title = models.CharField(max_length=300)
    row = models.JSONField(help_text="The entry's export columns (as GeoJSON properties).")
    row_hash = models.CharField(
        max_length=64, help_text="SHA-256 of the compared columns, for fast diffs."
    )

    class Meta:
        ordering = ["release", "public_id"]
        verbose_name_plural = "release entries"
        constraints = [
            models.UniqueConstraint(fields=["release", "public_id"], name="release_entry_once"),
        ]

    def __str__(self):
        return f"{self.release_id}:{self.public_id}"
