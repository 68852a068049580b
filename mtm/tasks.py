"""Thin Celery tasks: take ids, load, call one service."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from mtm.exports import forget_old_exports, prepare_export  # noqa: F401  (registered here, where the worker looks)
from mtm.models import User
from mtm.outbox import relay, run_queued  # noqa: F401
from mtm.services import password_link_email_send
from mtm.submissions import submissions_forget_old


@shared_task
def send_password_link_email(user_id: str, base_url: str, purpose: str = "reset") -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None and user.email:
        password_link_email_send(user=user, base_url=base_url, purpose=purpose)


@shared_task
def clear_expired_sessions() -> int:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task
def forget_old_form_tokens() -> int:
    return submissions_forget_old()
