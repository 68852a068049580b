"""Writes on users and the emails that go with them."""

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from mtm.audit import Actor, audit_record, diff, snapshot
from mtm.models import AuditAction, Organisation, User
from mtm.outbox import enqueue
from mtm.permissions import Role
from mtm.records import record_update
from mtm.signals import reminder_settings_changed

PASSWORD_EMAILS = {
    # purpose: (subject template, body template)
    "reset": ("registration/password_reset_subject.txt", "registration/password_reset_email.txt"),
    "welcome": ("registration/welcome_subject.txt", "registration/welcome_email.txt"),
}
STAFF_ROLES = [Role.PHARMACIST, Role.STAFF, Role.ORG_ADMIN]
_USER_AUDITED = ["username", "first_name", "last_name", "email", "role", "is_active"]


def password_link_email_send(*, user: User, base_url: str, purpose: str = "reset") -> None:
    """Email the user a single-use link to choose a password: after "Forgotten your password?"
    (purpose "reset") or when an admin creates their account ("welcome")."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "user": user,
        "reset_url": base_url.rstrip("/") + path,
        "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        "organisation": user.organisation,
    }
    subject_template, body_template = PASSWORD_EMAILS[purpose]
    subject = render_to_string(subject_template, context).strip()
    body = render_to_string(body_template, context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


@transaction.atomic
def user_create(*, organisation: Organisation, data: dict[str, Any], by: Actor, base_url: str) -> User:
    """A staff account of the organisation. It has no password until the person follows the
    link in the welcome email sent once the account is saved."""
    from mtm.tasks import send_password_link_email

    if data.get("role") not in STAFF_ROLES:
        raise ValidationError({"role": "Choose pharmacist, clinic staff or organisation admin."})
    if not data.get("email"):
        raise ValidationError({"email": "An email address is needed to send the sign-in link."})
    if User.objects.filter(username__iexact=data.get("username", "")).exists():
        raise ValidationError({"username": "That user name is taken."})
    user = User(organisation=organisation, **data)
    user.set_unusable_password()
    user.full_clean()
    user.save()
    audit_record(
        actor=by, action=AuditAction.CREATE, obj=user, changes=diff({}, snapshot(user, _USER_AUDITED))
    )
    enqueue(send_password_link_email, str(user.pk), base_url, "welcome")
    return user


@transaction.atomic
def user_update(*, user: User, data: dict[str, Any], by: Actor) -> User:
    """Change a colleague's details, role or whether they can sign in."""
    if "role" in data and data["role"] not in STAFF_ROLES:
        raise ValidationError({"role": "Choose pharmacist, clinic staff or organisation admin."})
    if user.pk == by.user.pk and (
        data.get("is_active") is False or data.get("role", Role.ORG_ADMIN) != Role.ORG_ADMIN
    ):
        raise ValidationError("You can't remove your own admin access; ask another organisation admin.")
    before = snapshot(user, _USER_AUDITED)
    locked = User.objects.select_for_update(of=("self",)).get(pk=user.pk)  # serialise concurrent admin edits
    for name, value in data.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    admins_left = User.objects.filter(
        organisation_id=user.organisation_id, role=Role.ORG_ADMIN, is_active=True
    )
    if not admins_left.exists():
        raise ValidationError("An organisation needs at least one active organisation admin.")
    changes = diff(before, snapshot(locked, _USER_AUDITED))
    if changes:
        audit_record(actor=by, action=AuditAction.UPDATE, obj=locked, changes=changes)
    return locked


@transaction.atomic
def organisation_update(
    *, organisation: Organisation, data: dict[str, Any], version: int, by: Actor
) -> Organisation:
    """The pharmacy's details (they head letters and patient documents) and its settings."""
    before = (organisation.reminder_leads, organisation.time_zone)
    organisation = record_update(organisation, data=data, version=version, by=by)
    if (organisation.reminder_leads, organisation.time_zone) != before:
        reminder_settings_changed.send(sender=Organisation, organisation=organisation)
    return organisation
