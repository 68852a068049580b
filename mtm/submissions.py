"""One-time form tokens. A form carries a fresh token when it is rendered ({% form_token %}); the
first request with that token runs its service, and a repeat of it (a double click, the form sent
again from the back button or a second tab showing the same page) runs nothing. The database decides
which request is first: the token is the primary key of mtm.FormSubmission, claimed in the same
transaction as the change it guards, so a change refused as invalid frees its token again."""

import datetime
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import format_html

from mtm.models import FormSubmission

FIELD = "form_token"
KEPT_DAYS = 2  # a page left open longer than this could run its form again


def form_token_input() -> str:
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, uuid.uuid4())


def submission_claim(request) -> bool:
    """Claim the token the request's form carries, inside the caller's transaction. False when it
    was claimed before: this form was already sent and handled. A request without a token (the
    API, a script) is always new."""
    try:
        token = uuid.UUID(request.POST.get(FIELD, ""))
    except ValueError:
        return True
    try:
        with transaction.atomic():  # a savepoint: a duplicate leaves the caller's transaction usable
            FormSubmission.objects.create(token=token, user=request.user)
    except IntegrityError:
        return False
    return True


def submissions_forget_old(*, now: datetime.datetime | None = None) -> int:
    """Tokens older than KEPT_DAYS are forgotten (run daily by Celery beat)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=KEPT_DAYS)
    deleted, _ = FormSubmission.objects.filter(at__lt=cutoff).delete()
    return deleted
