"""Public submissions awaiting review, and the per-address rate-limit counter.

Nothing public reads these tables: a submission becomes visible only as the
catalog Entry an editor creates from it (``accepted_entry``). ``contact_email``
and ``address_hash`` are private and must never be rendered outside the admin
and the review queue.
"""

import secrets
import string

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from techmap.catalog.models import Category, Company, Country, Entry, year_validators
from techmap.catalog.sanitize import sanitize_html

# No 0/O, 1/I/L: codes are read aloud and typed from e-mails.
CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1IL")
CODE_LENGTH = 10
MAX_SOURCE_URLS = 10


def new_reference_code() -> str:
    """Return a random, unguessable reference code such as 'S-7KQ2M9XHTB'."""
    return "S-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class SubmissionQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=Submission.Status.PENDING)

    def newest_first(self):
        return self.order_by("-created", "-id")


class Submission(models.Model):
    """One proposal from the public form. Never shown publicly in any state."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        DUPLICATE = "duplicate", "Duplicate"

    code = models.CharField(
        "reference code",
        max_length=16,
        unique=True,
        default=new_reference_code,
        editable=False,
        help_text="Shown to the submitter; random so it reveals nothing about other submissions.",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    other_company_name = models.CharField(
        max_length=200, blank=True, help_text="When the company is not in the catalog yet."
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="submissions")
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="submissions")
    city = models.CharField(max_length=200, blank=True)
    latitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    title = models.CharField(max_length=300)
    description = models.TextField(
        blank=True, help_text="The submitter's plain text as paragraphs of sanitised HTML."
    )
    year_started = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=year_validators
    )
    year_ended = models.PositiveSmallIntegerField(null=True, blank=True, validators=year_validators)
    source_urls = models.JSONField(
        default=list, help_text=f"http/https URLs, at least one, at most {MAX_SOURCE_URLS}."
    )

    # PRIVATE: never rendered publicly, never exported.
    contact_email = models.EmailField(
        max_length=254, blank=True, help_text="Private. Only for questions about this submission."
    )
    address_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text="Private. Keyed HMAC-SHA256 of the submitter's address; blanked by "
        "`techmap purge` after ADDRESS_RETENTION_DAYS.",
    )
    address_hashed_at = models.DateTimeField(null=True, blank=True)

    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviewed_submissions",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)
    accepted_entry = models.ForeignKey(
        Entry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submissions",
        help_text="The entry created from, or merged with, this submission.",
    )
    duplicate_of = models.ForeignKey(
        Entry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicate_submissions",
    )

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        permissions = [("review_submission", "Can review public submissions")]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(latitude__isnull=True) & models.Q(longitude__isnull=True))
                | (models.Q(latitude__isnull=False) & models.Q(longitude__isnull=False)),
                name="submission_point_complete",
            ),
        ]

    def __str__(self):
        return f"{self.code}: {self.title}"

    def save(self, *args, **kwargs):
        self.description = sanitize_html(self.description)
        super().save(*args, **kwargs)

    @property
    def company_name(self) -> str:
        return self.company.name if self.company_id else self.other_company_name

    @property
    def has_point(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class RateLimitHit(models.Model):
    """How many submissions one hashed address made in one fixed time window.

    Kept in the database so every server process sees the same count.
    """

    key_hash = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key_hash", "window_start"], name="ratelimit_window"),
        ]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self):
        return f"{self.key_hash[:8]}… {self.window_start:%Y-%m-%d %H:%M} ×{self.count}"
