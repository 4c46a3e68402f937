"""The editors' review queue: thin views over contributions.moderation and .duplicates."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from techmap.catalog.models import Category, Company, Country, Entry
from techmap.catalog.sanitize import sanitize_html
from techmap.contributions import moderation
from techmap.contributions.duplicates import likely_duplicates
from techmap.contributions.models import Submission

REVIEW_PERMISSION = "contributions.review_submission"
PAGE_SIZE = 25
DEAD_SOURCES_SHOWN = 50
REASON_MAX = 2000


def editor_required(view):
    """Anonymous visitors go to the admin login; signed-in users without the permission get 403."""
    checked = permission_required(REVIEW_PERMISSION, raise_exception=True)(view)
    return login_required(checked, login_url="/admin/login/")


def entry_url(entry: Entry) -> str:
    """The public page of a published entry; the admin page of a draft."""
    if entry.status == Entry.Status.PUBLISHED:
        return entry.get_absolute_url()
    return reverse("admin:catalog_entry_change", args=[entry.pk])


def dead_source_rows(limit: int = DEAD_SOURCES_SHOWN):
    """(source, check) pairs of dead links, or None when source checking is not installed."""
    try:
        from techmap.sourcecheck.checks import dead_sources
    except ImportError:
        return None
    return dead_sources(limit=limit)


def description_html(submission: Submission) -> str:
    """The stored description, sanitised again as it is rendered (it is HTML paragraphs)."""
    return mark_safe(sanitize_html(submission.description))  # cleaned by the allowlist


def source_links(urls) -> list[dict]:
    """Submitted URLs for a template; only http(s) ones become links."""
    return [
        {"url": str(u), "linkable": str(u).lower().startswith(("http://", "https://"))}
        for u in (urls or [])
    ]


# Forms ---------------------------------------------------------------------------------


class AcceptForm(forms.Form):
    title = forms.CharField(max_length=300)
    category = forms.ModelChoiceField(queryset=Category.objects.all())
    company = forms.ModelChoiceField(
        queryset=Company.objects.all(),
        required=False,
        help_text="Empty: the submitted company; a new one is created only by an admin.",
    )
    country = forms.ModelChoiceField(queryset=Country.objects.all())
    city = forms.CharField(max_length=200, required=False)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=20000,
        required=False,
        help_text="HTML is sanitised on save.",
    )

    @classmethod
    def for_submission(cls, submission: Submission, data=None):
        return cls(
            data,
            prefix="accept",
            initial={
                "title": submission.title,
                "category": submission.category_id,
                "company": submission.company_id,
                "country": submission.country_id,
                "city": submission.city,
                "description": submission.description,
            },
        )


class EntryChoiceForm(forms.Form):
    """Pick one of the likely duplicates, or type any entry's public id."""

    entry = forms.ChoiceField(widget=forms.RadioSelect, required=False, label="Likely duplicate")
    public_id = forms.CharField(max_length=80, required=False, label="or entry id")

    def __init__(self, *args, duplicates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entry"].choices = [
            (d.entry.public_id, f"{d.entry.public_id}: {d.entry.title}") for d in duplicates
        ]

    def clean(self):
        data = super().clean()
        public_id = (data.get("public_id") or "").strip() or data.get("entry")
        if not public_id:
            raise forms.ValidationError("Choose an entry or type its id.")
        entry = (
            Entry.objects.exclude(status=Entry.Status.RETIRED).filter(public_id=public_id).first()
        )
        if entry is None:
            raise forms.ValidationError(f"No live entry has the id {public_id!r}.")
        data["target"] = entry
        return data


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2}), strip=True
    )


class BulkRejectForm(forms.Form):
    """The reason for the ticked submissions (checkboxes named ``ids`` on the list page)."""

    reason = forms.CharField(max_length=REASON_MAX, strip=True, initial="Spam")

    def selected_ids(self) -> list[int]:
        # Any id is accepted here; moderation.bulk_reject only touches pending submissions.
        return [int(v) for v in self.data.getlist("ids") if v.isdigit()][:1000]


# Views ---------------------------------------------------------------------------------


def _pending_page(request):
    submissions = Submission.objects.pending().newest_first()
    submissions = submissions.select_related("company", "category", "country")
    return Paginator(submissions, PAGE_SIZE).get_page(request.GET.get("page"))


@require_GET
@editor_required
def review_list(request):
    page = _pending_page(request)
    rows = [
        {
            "submission": s,
            "description": description_html(s),
            "sources": source_links(s.source_urls),
            "duplicates": [(d, entry_url(d.entry)) for d in likely_duplicates(s)],
        }
        for s in page
    ]
    return render(
        request,
        "contributions/review_list.html",
        {
            "page": page,
            "rows": rows,
            "bulk_form": BulkRejectForm(),
            "dead_sources": dead_source_rows(),
        },
    )


@require_POST
@editor_required
def review_bulk_reject(request):
    form = BulkRejectForm(request.POST)
    ids = form.selected_ids()
    if not form.is_valid() or not ids:
        messages.error(request, "Tick at least one submission and give a reason.")
        return redirect("contributions:review-list")
    count = moderation.bulk_reject(ids, request.user, form.cleaned_data["reason"])
    messages.success(request, f"Rejected {count} submission{'s' if count != 1 else ''}.")
    return redirect("contributions:review-list")


def _detail(request, submission, status=200, **forms_given):
    pending = submission.status == Submission.Status.PENDING
    duplicates = likely_duplicates(submission) if pending else []
    context = {
        "submission": submission,
        "description": description_html(submission),
        "pending": pending,
        "sources": source_links(submission.source_urls),
        "duplicates": [(d, entry_url(d.entry)) for d in duplicates],
        "accept_form": AcceptForm.for_submission(submission),
        "merge_form": EntryChoiceForm(prefix="merge", duplicates=duplicates),
        "duplicate_form": EntryChoiceForm(prefix="duplicate", duplicates=duplicates),
        "reject_form": RejectForm(prefix="reject"),
        "result_entry": submission.accepted_entry or submission.duplicate_of,
    }
    context.update(forms_given)
    if context["result_entry"]:
        context["result_url"] = entry_url(context["result_entry"])
    return render(request, "contributions/review_detail.html", context, status=status)


def _submission(pk):
    queryset = Submission.objects.select_related(
        "company", "category", "country", "reviewed_by", "accepted_entry", "duplicate_of"
    )
    return get_object_or_404(queryset, pk=pk)


@require_GET
@editor_required
def review_detail(request, pk):
    return _detail(request, _submission(pk))


def _already_reviewed(request, error):
    messages.warning(request, str(error))
    return redirect("contributions:review-detail", pk=error.submission.pk)


def _act(request, submission, action, success_message):
    """Run a moderation action; on success back to the queue, on refusal a clear message."""
    try:
        result = action()
    except moderation.AlreadyReviewed as error:
        return _already_reviewed(request, error)
    except moderation.ModerationError as error:
        messages.error(request, str(error))
        return redirect("contributions:review-detail", pk=submission.pk)
    messages.success(request, success_message(result))
    return redirect("contributions:review-list")


def _invalid(request, submission, **forms_given):
    if submission.status != Submission.Status.PENDING:
        return _already_reviewed(request, moderation.AlreadyReviewed(submission))
    return _detail(request, submission, status=400, **forms_given)


@require_POST
@editor_required
def review_accept(request, pk):
    submission = _submission(pk)
    form = AcceptForm.for_submission(submission, request.POST)
    if not form.is_valid():
        return _invalid(request, submission, accept_form=form)
    overrides = {k: v for k, v in form.cleaned_data.items() if v is not None}
    if overrides.get("company") is None:
        overrides.pop("company", None)
    return _act(
        request,
        submission,
        lambda: moderation.accept_as_new_entry(submission, request.user, **overrides),
        lambda entry: f"Published {submission.code} as entry {entry.public_id}.",
    )


def _entry_action(request, pk, prefix, run, success_message):
    submission = _submission(pk)
    duplicates = (
        likely_duplicates(submission) if submission.status == Submission.Status.PENDING else []
    )
    form = EntryChoiceForm(request.POST, prefix=prefix, duplicates=duplicates)
    if not form.is_valid():
        return _invalid(request, submission, **{f"{prefix}_form": form})
    entry = form.cleaned_data["target"]
    return _act(
        request,
        submission,
        lambda: run(submission, entry, request.user),
        lambda _result: success_message(submission, entry),
    )


@require_POST
@editor_required
def review_merge(request, pk):
    return _entry_action(
        request,
        pk,
        "merge",
        moderation.merge_into,
        lambda s, e: f"Added the sources of {s.code} to entry {e.public_id}.",
    )


@require_POST
@editor_required
def review_duplicate(request, pk):
    return _entry_action(
        request,
        pk,
        "duplicate",
        moderation.mark_duplicate,
        lambda s, e: f"Closed {s.code} as a duplicate of {e.public_id}.",
    )


@require_POST
@editor_required
def review_reject(request, pk):
    submission = _submission(pk)
    form = RejectForm(request.POST, prefix="reject")
    if not form.is_valid():
        return _invalid(request, submission, reject_form=form)
    return _act(
        request,
        submission,
        lambda: moderation.reject(submission, request.user, form.cleaned_data["reason"]),
        lambda _result: f"Rejected {submission.code}.",
    )
