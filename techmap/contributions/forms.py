"""The public submission form: every field validated, every field size-limited.

The form is a plain Form, not a ModelForm: the company choice ("Other…" plus a name)
and the source list (one URL per line) do not map one-to-one onto model fields, and
`to_submission` is the single place where cleaned input becomes a Submission.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.html import escape, linebreaks
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from techmap.catalog import names
from techmap.catalog.models import Category, Company, Country
from techmap.contributions.models import MAX_SOURCE_URLS, Submission

OTHER_COMPANY = "__other__"
MIN_YEAR, MAX_YEAR = 1900, 2100
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 5000
HONEYPOT_FIELD = "website"

_http_url = URLValidator(schemes=["http", "https"])


def parse_source_urls(text: str) -> list[str]:
    """One http(s) URL per line → a de-duplicated list; raise ValidationError naming bad lines."""
    urls, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        url = line.strip()
        if not url:
            continue
        if len(url) > MAX_URL_LENGTH:
            problems.append(_("Line %(number)s is longer than %(limit)s characters.")
                            % {"number": number, "limit": MAX_URL_LENGTH})
            continue
        try:
            _http_url(url)
        except ValidationError:
            problems.append(
                _("Line %(number)s is not a web address starting with http:// or https://.")
                % {"number": number}
            )
            continue
        if url not in urls:
            urls.append(url)
    if problems:
        raise ValidationError(problems)
    if not urls:
        raise ValidationError(_("Give at least one source: a web address where this can be read."))
    if len(urls) > MAX_SOURCE_URLS:
        raise ValidationError(_("Give at most %(n)s sources.") % {"n": MAX_SOURCE_URLS})
    return urls


def plain_text_to_html(text: str) -> str:
    """The submitter's plain text as escaped HTML paragraphs: markup they type stays text."""
    return linebreaks(escape(text.strip())) if text.strip() else ""


class SubmissionForm(forms.Form):
    company = forms.ChoiceField(
        label=gettext_lazy("Company"),
        help_text=gettext_lazy(
            "Choose “Other…” if the company is not in the list, and give its name below."
        ),
    )
    other_company_name = forms.CharField(
        label=gettext_lazy("Company name (if other)"), max_length=200, required=False
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), to_field_name="slug",
        label=gettext_lazy("Category"), empty_label=gettext_lazy("Choose a category…"),
    )
    country = forms.ModelChoiceField(
        queryset=Country.objects.all(), to_field_name="iso2",
        label=gettext_lazy("Country"), empty_label=gettext_lazy("Choose a country…"),
    )
    city = forms.CharField(label=gettext_lazy("City"), max_length=200, required=False)
    latitude = forms.FloatField(
        min_value=-90,
        max_value=90,
        required=False,
        label=gettext_lazy("Latitude"),
        help_text=gettext_lazy("Optional: click the map, or type decimal degrees (−90 to 90)."),
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    longitude = forms.FloatField(
        min_value=-180,
        max_value=180,
        required=False,
        label=gettext_lazy("Longitude"),
        help_text=gettext_lazy("Decimal degrees (−180 to 180)."),
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    title = forms.CharField(
        label=gettext_lazy("Title"), max_length=300,
        help_text=gettext_lazy("One line, e.g. “Huawei Safe City project in Nairobi”."),
    )
    description = forms.CharField(
        max_length=MAX_DESCRIPTION_LENGTH,
        required=False,
        label=gettext_lazy("Description"),
        help_text=format_lazy(gettext_lazy("Plain text, at most {} characters."),
                              f"{MAX_DESCRIPTION_LENGTH:,}"),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    year_started = forms.IntegerField(
        label=gettext_lazy("Year started"), min_value=MIN_YEAR, max_value=MAX_YEAR, required=False
    )
    year_ended = forms.IntegerField(
        label=gettext_lazy("Year ended"), min_value=MIN_YEAR, max_value=MAX_YEAR, required=False
    )
    source_urls = forms.CharField(
        label=gettext_lazy("Sources"),
        max_length=MAX_SOURCE_URLS * (MAX_URL_LENGTH + 2),
        help_text=format_lazy(
            gettext_lazy("One web address per line (http or https), at least one, at most {}."),
            MAX_SOURCE_URLS,
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    contact_email = forms.EmailField(
        label=gettext_lazy("Your e-mail (optional)"),
        max_length=254,
        required=False,
        help_text=gettext_lazy(
            "Only our editors see it, and only to ask about this submission. "
            "It is never published."
        ),
    )
    # The honeypot: hidden by CSS, skipped by keyboard and autofill; people leave it empty.
    website = forms.CharField(
        label=gettext_lazy("Leave this empty"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].choices = [
            ("", _("Choose a company…")),
            *(
                (slug, names.company_name(name, name_zh))
                for slug, name, name_zh in Company.objects.values_list("slug", "name", "name_zh")
            ),
            (OTHER_COMPANY, _("Other…")),
        ]
        # Names in the visitor's language (pycountry's translations, name_zh fields).
        self.fields["country"].label_from_instance = lambda c: names.country_name(c.iso2, c.name)
        self.fields["category"].label_from_instance = names.label_of
        for name in ("title", "city", "other_company_name"):
            self.fields[name].widget.attrs["maxlength"] = self.fields[name].max_length
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = self.hint_id(name)

    def hint_id(self, name: str) -> str:
        return f"{self[name].auto_id}-hint"

    def error_id(self, name: str) -> str:
        return f"{self[name].auto_id}-error"

    def full_clean(self):
        super().full_clean()
        # Point each invalid input at its message, so screen readers read it with the field.
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                described = [self.error_id(name)]
                if self.fields[name].help_text:
                    described.append(self.hint_id(name))
                attrs["aria-describedby"] = " ".join(described)
                attrs["aria-invalid"] = "true"

    @property
    def is_spam(self) -> bool:
        """True when the honeypot was filled in: a bot, not a person."""
        return bool(self.data.get(HONEYPOT_FIELD, "").strip())

    def clean_source_urls(self):
        return parse_source_urls(self.cleaned_data["source_urls"])

    def clean_description(self):
        return plain_text_to_html(self.cleaned_data["description"])

    def clean(self):
        data = super().clean()
        company = data.get("company")
        if company == OTHER_COMPANY and not data.get("other_company_name"):
            self.add_error("other_company_name", _("Give the company's name, or choose it above."))
        if company and company != OTHER_COMPANY:
            data["other_company_name"] = ""
        lat, lng = data.get("latitude"), data.get("longitude")
        if "latitude" not in self.errors and "longitude" not in self.errors:
            if lat is None and lng is not None:
                self.add_error("latitude", _("Give the latitude too, or neither."))
            elif lng is None and lat is not None:
                self.add_error("longitude", _("Give the longitude too, or neither."))
        started, ended = data.get("year_started"), data.get("year_ended")
        if started and ended and ended < started:
            self.add_error("year_ended", _("The end year is before the start year."))
        return data

    def to_submission(self) -> Submission:
        """An unsaved Submission holding the cleaned data."""
        data = self.cleaned_data
        company = None
        if data["company"] != OTHER_COMPANY:
            company = Company.objects.get(slug=data["company"])
        return Submission(
            company=company,
            other_company_name=data["other_company_name"],
            category=data["category"],
            country=data["country"],
            city=data["city"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            title=data["title"],
            description=data["description"],
            year_started=data["year_started"],
            year_ended=data["year_ended"],
            source_urls=data["source_urls"],
            contact_email=data["contact_email"],
        )
