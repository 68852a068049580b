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


def _token(data) -> uuid.UUID | None:
    try:
        return uuid.UUID(data.get(FIELD, ""))
    except (ValueError, TypeError, AttributeError):
        return None


def submission_seen(data) -> bool:
    """Was the form these data came from already sent and handled?"""
    token = _token(data)
    return token is not None and FormSubmission.objects.filter(token=token).exists()


def submission_claim(data) -> bool:
    """Claim the token a form's data carries, inside the caller's transaction. False when it was
    claimed before: this form was already sent and handled. Data without a token (the API, a
    script) is always new."""
    token = _token(data)
    if token is None:
        return True
    try:
        with transaction.atomic():  # a savepoint: a duplicate leaves the caller's transaction usable
            FormSubmission.objects.create(token=token)
    except IntegrityError:
        return False
    return True


def submissions_forget_old(*, now: datetime.datetime | None = None) -> int:
    """Tokens older than KEPT_DAYS are forgotten (run daily by Celery beat)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=KEPT_DAYS)
    deleted, _ = FormSubmission.objects.filter(at__lt=cutoff).delete()
    return deleted
