"""The data model: companies, the taxonomy, countries, entries and their sources.

docs/data-dictionary.md describes every field for readers of the data.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from simple_history.models import HistoricalRecords

from techmap.catalog.sanitize import sanitize_html

public_id_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,79}$",
    "Use lowercase letters, digits and hyphens (at most 80 characters).",
)
year_validators = [MinValueValidator(1900), MaxValueValidator(2100)]


class VersionConflict(Exception):
    """The row was saved by someone else after the editor opened it; nothing was written."""


class Versioned(models.Model):
    """A version number raised by every save, so two editors cannot overwrite each other.

    Forms set `_expected_version` (see techmap.catalog.versioning); the save then writes only
    if the row still has that version, claimed with one UPDATE ... WHERE version = expected
    inside the save's transaction. Other saves (loaders, scripts) just raise the number.
    """

    version = models.PositiveIntegerField(
        default=1,
        db_default=1,  # so raw-SQL bulk inserts that predate the column still work
        editable=False,
        help_text="Raised by every save; an edit started from an older version is refused.",
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._state.adding or self.pk is None:
            return super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "version"}
        expected = getattr(self, "_expected_version", None)
        if expected is None:
            self.version = (self.version or 0) + 1
            return super().save(*args, **kwargs)
        using = kwargs.get("using") or type(self)._default_manager.db
        with transaction.atomic(using=using):
            claimed = (
                type(self)
                ._base_manager.using(using)
                .filter(pk=self.pk, version=expected)
                .update(version=expected + 1)
            )
            if not claimed:
                raise VersionConflict(
                    f"{self._meta.verbose_name} {self.pk} is no longer at version {expected}."
                )
            self.version = expected + 1
            super().save(*args, **kwargs)
        self._expected_version = None


class Source(Versioned):
    """A citation: a web page, report, article or print source that supports an entry."""

    key = models.SlugField(
        max_length=120,
        unique=True,
        null=True,
        blank=True,
        help_text="Stable identifier used by the bundled dataset and importers.",
    )
    url = models.URLField(
        max_length=2000,
        blank=True,
        help_text="Blank for print, paywalled or unlinked citations.",
    )
    title = models.CharField(max_length=500)
    publisher = models.CharField(max_length=300, blank=True)
    author = models.CharField(max_length=500, blank=True)
    publication_date = models.CharField(
        max_length=10,
        blank=True,
        validators=[
            RegexValidator(r"^\d{4}(-\d{2}(-\d{2})?)?$", "Use YYYY, YYYY-MM or YYYY-MM-DD.")
        ],
        help_text="As precise as the source says: YYYY, YYYY-MM or YYYY-MM-DD.",
    )
    access_date = models.DateField(null=True, blank=True)
    archived_url = models.URLField(max_length=2000, blank=True)
    language = models.CharField(max_length=12, blank=True, help_text="BCP 47 code, e.g. en, zh.")
    note = models.CharField(
        max_length=500,
        blank=True,
        help_text="Where in the source, e.g. 'p. 11, note 72'.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def clean(self):
        for field in ("url", "archived_url"):
            value = getattr(self, field)
            if value and not value.lower().startswith(("http://", "https://")):
                raise ValidationError({field: "Only http and https addresses are accepted."})

    def citation(self) -> str:
        """A one-line human citation: author, 'title', publisher, date, URL."""
        parts = [self.author, f"'{self.title}'", self.publisher, self.publication_date]
        text = ", ".join(p for p in parts if p)
        if self.note:
            text += f" ({self.note})"
        if self.url:
            text += f", {self.url}"
        return text


class Ownership(models.TextChoices):
    STATE_OWNED = "state-owned", "State-owned"
    PRIVATE = "private", "Private"
    PARTIALLY_STATE_OWNED = "partially-state-owned", "Partially state-owned"
    STATE_PROGRAMME = "state-programme", "State programme"


class Company(Versioned):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200, unique=True)
    name_zh = models.CharField("Chinese name", max_length=200, blank=True)
    sectors = models.JSONField(default=list, blank=True, help_text="List of sector names.")
    headquarters = models.CharField(max_length=200, blank=True)
    ownership = models.CharField(max_length=30, choices=Ownership.choices, blank=True)
    profile = models.TextField(blank=True, help_text="Short profile (sanitised HTML).")
    party_branches = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Number of party branches, as reported.",
    )
    party_facts = models.TextField(
        blank=True,
        help_text="Party-committee facts, in plain words (sanitised HTML).",
    )
    party_source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The citation for the party-committee facts.",
    )
    leadership = models.TextField(blank=True, help_text="Leadership notes (sanitised HTML).")
    website = models.URLField(blank=True)
    sources = models.ManyToManyField(Source, blank=True, related_name="companies")

    history = HistoricalRecords(m2m_fields=[sources])

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.profile = sanitize_html(self.profile)
        self.party_facts = sanitize_html(self.party_facts)
        self.leadership = sanitize_html(self.leadership)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return f"/companies/{self.slug}/"


class Category(models.Model):
    """A type of overseas presence. The taxonomy is data, editable in the admin."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120, unique=True)
    plural = models.CharField(
        max_length=120,
        blank=True,
        help_text="Used in sentences such as '52 5G initiatives across 34 countries'.",
    )
    # The Chinese interface's labels for the category; blank falls back to the English.
    name_zh = models.CharField("Chinese name", max_length=120, blank=True)
    plural_zh = models.CharField(
        "Chinese plural",
        max_length=120,
        blank=True,
        help_text="The Chinese name used in count sentences; blank uses the Chinese name.",
    )
    description = models.TextField(blank=True)
    color = models.CharField(
        max_length=7,
        default="#666666",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a #rrggbb colour.")],
    )
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Topic(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120, unique=True)
    name_zh = models.CharField("Chinese name", max_length=120, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Country(models.Model):
    iso2 = models.CharField("ISO 3166-1 alpha-2", max_length=2, unique=True)
    iso3 = models.CharField("ISO 3166-1 alpha-3", max_length=3, unique=True)
    numeric = models.CharField("ISO 3166-1 numeric", max_length=3, blank=True)
    name = models.CharField(max_length=120)
    region = models.CharField("UN region", max_length=60, blank=True)
    subregion = models.CharField("UN subregion", max_length=60, blank=True)
    capital = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "countries"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return f"/countries/{self.iso2.lower()}/"


class EntryQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Entry.Status.PUBLISHED)

    def with_relations(self):
        return self.select_related("category", "secondary_category", "country").prefetch_related(
            "companies", "topics"
        )


class Entry(Versioned):
    """A point of overseas presence: a project, office, lab, partnership, cable..."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    class Precision(models.TextChoices):
        EXACT = "exact", "Exact"
        CITY = "city", "City"
        COUNTRY = "country", "Country"
        NONE = "none", "No location"

    public_id = models.CharField(
        max_length=80,
        unique=True,
        validators=[public_id_validator],
        help_text="Stable public identifier used in URLs and citations. Never reused.",
    )
    title = models.CharField(max_length=300)
    companies = models.ManyToManyField(Company, related_name="entries")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="entries")
    secondary_category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="secondary_entries",
    )
    topics = models.ManyToManyField(Topic, blank=True, related_name="entries")
    country = models.ForeignKey(
        Country,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    city = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=500, blank=True)
    latitude = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    precision = models.CharField(max_length=10, choices=Precision.choices, default=Precision.NONE)
    line_geometry = models.JSONField(
        null=True,
        blank=True,
        help_text="GeoJSON LineString or MultiLineString, e.g. a cable route.",
    )
    partners = models.JSONField(
        default=list,
        blank=True,
        help_text="Names of partners, e.g. the university or telco.",
    )
    financing_lender = models.CharField(max_length=200, blank=True)
    financing_amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    financing_currency = models.CharField(
        max_length=3,
        blank=True,
        help_text="ISO 4217 code, e.g. USD.",
    )
    year_started = models.PositiveSmallIntegerField(
        "year commenced",
        null=True,
        blank=True,
        validators=year_validators,
    )
    year_ended = models.PositiveSmallIntegerField(null=True, blank=True, validators=year_validators)
    description = models.TextField(blank=True, help_text="Sanitised HTML.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    highlight = models.BooleanField(default=False)
    external_refs = models.JSONField(
        default=dict,
        blank=True,
        help_text='External identifiers, e.g. {"chinatechmap_marker": "159"}.',
    )
    sources = models.ManyToManyField(Source, through="EntrySource", related_name="entries")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = EntryQuerySet.as_manager()
    # The history is read by entry and by date, never by these columns: their indexes
    # would only slow every write (seconds of each million-row import). public_id too: a
    # history row is found by the entry's id (PostgreSQL built its two indexes, one for
    # LIKE, in 1.2 s of every million-row import).
    history = HistoricalRecords(
        m2m_fields=[companies, topics],
        no_db_index=[
            "public_id", "category", "secondary_category", "country", "entry", "company", "topic"
        ],
    )

    class Meta:
        ordering = ["public_id"]
        verbose_name_plural = "entries"
        permissions = [("import_entries", "Can import entries from files in the admin")]
        indexes = [
            models.Index(fields=["status", "latitude", "longitude"]),
            # (status, category) is the start of catalog_entry_facets_idx below.
            models.Index(fields=["status", "country"]),
            # MAX(updated) tells HTTP caches and per-process memos when the data changed.
            models.Index(fields=["updated"], name="catalog_entry_updated_idx"),
            # The filter panel's counts group published entries by these columns: SQLite
            # reads them from this index alone, in order (catalog.facets).
            models.Index(
                fields=[
                    "status",
                    "category",
                    "secondary_category",
                    "country",
                    "year_started",
                    "year_ended",
                ],
                name="catalog_entry_facets_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(year_ended__isnull=True)
                | models.Q(year_started__isnull=True)
                | models.Q(year_ended__gte=models.F("year_started")),
                name="entry_years_in_order",
            ),
            models.CheckConstraint(
                condition=(models.Q(latitude__isnull=True) & models.Q(longitude__isnull=True))
                | (
                    models.Q(latitude__isnull=False)
                    & models.Q(longitude__isnull=False)
                    & models.Q(latitude__gte=-90)
                    & models.Q(latitude__lte=90)
                    & models.Q(longitude__gte=-180)
                    & models.Q(longitude__lte=180)
                ),
                name="entry_point_complete_and_in_range",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.description = sanitize_html(self.description)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return f"/entries/{self.public_id}/"

    def clean(self):
        errors = {}
        if (self.latitude is None) != (self.longitude is None):
            errors["latitude"] = "Give both latitude and longitude, or neither."
        if self.year_started and self.year_ended and self.year_ended < self.year_started:
            errors["year_ended"] = "The end year is before the start year."
        if self.line_geometry is not None:
            from techmap.catalog.geo import line_geometry_error

            problem = line_geometry_error(self.line_geometry)
            if problem:
                errors["line_geometry"] = problem
        if self.status == self.Status.PUBLISHED and self.pk and not self.sources.exists():
            errors["status"] = "An entry without a source cannot be published."
        if errors:
            raise ValidationError(errors)

    @property
    def has_point(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class EntrySource(models.Model):
    """Links an entry to a source, in citation order."""

    # No index of its own: the unique (entry, source) constraint starts with it.
    entry = models.ForeignKey(
        Entry, on_delete=models.CASCADE, related_name="entry_sources", db_index=False
    )
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="entry_sources")
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords(no_db_index=["source"])  # read by entry, never by source

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "source"], name="entry_source_once"),
        ]

    def __str__(self):
        return f"{self.entry.public_id} ← {self.source}"
