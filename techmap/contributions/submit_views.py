"""The public submission form at /submit/: thin wrappers around forms, ratelimit and privacy.

An invalid form is re-rendered with status 200 and a message next to each field (the
usual Django pattern; the page is a normal result, not a protocol error). Order of the
checks on POST, cheapest and least trusting first: body size (before anything reads the
body, so before the CSRF check, which reads request.POST), CSRF, rate limit, honeypot,
validation.
"""

import re

from django.conf import settings
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from techmap.contributions import privacy, ratelimit
from techmap.contributions.forms import SubmissionForm
from techmap.contributions.models import Submission, new_reference_code

CODE_PATTERN = re.compile(r"^S-[A-Z0-9]{10}$")
SESSION_KEY = "submitted_codes"
# Codes this browser session may see the summary of; older ones drop off.
SESSION_CODES_KEPT = 10


def _declared_body_length(request) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


@csrf_exempt  # only so the size check runs first; `_submit` enforces CSRF itself
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def submit(request):
    """The size gate in front of the form: a body over MAX_SUBMISSION_BYTES is never read."""
    limit = settings.TECHMAP["MAX_SUBMISSION_BYTES"]
    if request.method == "POST" and _declared_body_length(request) > limit:
        response = render(
            request, "contributions/submit_too_large.html", {"limit": limit}, status=413
        )
        response["Connection"] = "close"
        return response
    return _submit(request)


@csrf_protect
def _submit(request):
    if request.method != "POST":
        return render(request, "contributions/submit.html", {"form": SubmissionForm()})

    address = privacy.client_address(request)
    window = ratelimit.current_window(privacy.hash_address(privacy.rate_limit_key(address)))
    if ratelimit.is_exhausted(window):
        return _rate_limited(request, window)

    form = SubmissionForm(request.POST)
    if form.is_spam:
        # Look like success so the bot learns nothing; store nothing but the rate-limit hit.
        if not ratelimit.take(window):
            return _rate_limited(request, window)
        return _redirect_to_thanks(new_reference_code())

    if not form.is_valid():
        return render(request, "contributions/submit.html", {"form": form})

    with transaction.atomic():
        if not ratelimit.take(window):
            return _rate_limited(request, window)
        submission = form.to_submission()
        submission.address_hash = privacy.hash_address(address)
        submission.address_hashed_at = timezone.now()
        submission.save()
    codes = [submission.code, *request.session.get(SESSION_KEY, [])][:SESSION_CODES_KEPT]
    request.session[SESSION_KEY] = codes
    return _redirect_to_thanks(submission.code)


def _redirect_to_thanks(code: str):
    return redirect(f"{reverse('contributions:submit-thanks')}?code={code}")


def _rate_limited(request, window):
    retry_after = window.retry_after(timezone.now())
    response = render(
        request,
        "contributions/submit_rate_limited.html",
        {"retry_minutes": max(1, round(retry_after / 60))},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


@never_cache
@require_GET
def submit_thanks(request):
    """The confirmation: the reference code, and a summary only for this browser's own codes."""
    code = request.GET.get("code", "")
    if not CODE_PATTERN.match(code):
        code = ""
    submission = None
    if code and code in request.session.get(SESSION_KEY, []):
        submission = (
            Submission.objects.select_related("company", "category", "country")
            .filter(code=code)
            .first()
        )
    return render(
        request, "contributions/submit_thanks.html", {"code": code, "submission": submission}
    )
