"""Sign-in events go to the audit trail (Django reports them only through these signals), and the
signals mtm sends for other apps to act on."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import Signal, receiver

from mtm.audit import Actor, audit_record, client_ip
from mtm.models import AuditAction

# The organisation's reminder times or time zone changed (followups reschedules reminders to come).
# Sent inside the service's transaction.
reminder_settings_changed = Signal()  # organisation


@receiver(user_logged_in)
def audit_sign_in(sender, request, user, **kwargs):
    audit_record(
        actor=Actor(user=user, ip_address=client_ip(request) if request else None), action=AuditAction.SIGN_IN
    )


@receiver(user_logged_out)
def audit_sign_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=Actor(user=user, ip_address=client_ip(request)), action=AuditAction.SIGN_OUT)


@receiver(user_login_failed)
def audit_sign_in_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    known = (
        get_user_model().objects.filter(username=username).values_list("organisation_id", flat=True).first()
    )
    audit_record(
        actor=None,
        action=AuditAction.SIGN_IN_FAILED,
        organisation_id=known,
        username=username,
        ip_address=client_ip(request) if request is not None else None,
    )
