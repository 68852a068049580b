"""Organisations, users with roles, and the append-only audit trail."""

import datetime
import re
import uuid
import zoneinfo

from django.apps import apps
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from mtm.fields import PhoneNumberField
from mtm.permissions import ROLE_CAPABILITIES, Capability, Role


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. America/Chicago).")


class VersionedRecord(models.Model):
    """A record people edit. `version` goes up by one on every saved change, so a save based on an
    older version is refused instead of silently overwriting a colleague's edit."""

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


REMINDER_LEAD = re.compile(r"^([1-9][0-9]?)([dh])$")


def reminder_leads_parse(value: str) -> list[str]:
    """ "3d, 1d, 2h" -> ["3d", "1d", "2h"]; days up to 30, hours up to 72."""
    leads = []
    if not (value or "").strip():
        return leads  # the organisation sends none
    for part in value.replace(" ", "").lower().split(","):
        match = REMINDER_LEAD.match(part)
        if not match or int(match[1]) > (30 if match[2] == "d" else 72):
            raise ValidationError(
                f"{part or 'An empty entry'!r} is not a reminder time: write days as 1d to 30d and hours as 1h to 72h, "
                "separated by commas."
            )
        if part not in leads:
            leads.append(part)
    return leads


def validate_reminder_leads(value: str) -> None:
    leads = reminder_leads_parse(value)
    if len(leads) > 4:
        raise ValidationError("At most four reminders per appointment.")


class Organisation(VersionedRecord):
    """A pharmacy or clinic. Every clinical record belongs to exactly one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    time_zone = models.CharField(max_length=64, default="America/New_York", validators=[validate_time_zone])
    phone = PhoneNumberField(blank=True)
    fax = PhoneNumberField(blank=True)
    tty = models.CharField("TTY", max_length=40, blank=True)
    email = models.EmailField(blank=True)
    hours = models.CharField("opening hours", max_length=200, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    prescriber_response_days = models.PositiveSmallIntegerField(
        "days to wait for a prescriber's answer",
        default=10,
        help_text="Recommendations sent to a prescriber without an answer after this many days are listed for follow-up.",
    )
    reminder_leads = models.CharField(
        "patient reminders before an appointment",
        max_length=60,
        default="1d",
        blank=True,
        validators=[validate_reminder_leads],
        help_text="When patients who agreed to reminders get one, separated by commas: 1d is a day before at the "
        "same time, 3d three days before, 2h two hours before. Leave empty to send none.",
    )
    require_second_factor = models.BooleanField(
        "pharmacists and admins sign in with a second factor",
        default=False,
        help_text="A code from an authenticator app after the password. Those without one set it up at their "
        "next sign-in.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def today(self) -> datetime.date:
        """The date on the organisation's wall calendar: what its pages, imports and exports call today."""
        return timezone.localdate(timezone=zoneinfo.ZoneInfo(self.time_zone))

    def local_date(self, moment: datetime.datetime) -> datetime.date:
        return timezone.localdate(moment, timezone=zoneinfo.ZoneInfo(self.time_zone))

    @property
    def reminder_leads_text(self) -> str:
        """ "3d, 2h" -> "3 days and 2 hours before"; "" when the organisation sends none."""
        parts = []
        for lead in reminder_leads_parse(self.reminder_leads):
            amount, unit = int(lead[:-1]), "day" if lead[-1] == "d" else "hour"
            parts.append(f"{'a' if amount == 1 else amount} {unit}{'s' if amount > 1 else ''}")
        if not parts:
            return ""
        return (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + " before"


class UserWithOrganisationManager(UserManager):
    def get_queryset(self):
        # Every request needs the user's organisation (scoping, time zone, page header).
        return super().get_queryset().select_related("organisation")


class User(AbstractUser):
    """A person who signs in. Staff roles work inside one organisation; a patient user sees only
    their own portal (the link to their record lives on patients.Patient.portal_user)."""

    objects = UserWithOrganisationManager()

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STAFF)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_superuser=True) | models.Q(organisation__isnull=False),
                name="user_has_organisation_unless_superuser",
            )
        ]

    def can(self, capability: Capability) -> bool:
        if not self.is_active or self.organisation_id is None:
            return False
        return capability in ROLE_CAPABILITIES[Role(self.role)]

    @property
    def is_patient_user(self) -> bool:
        return self.role == Role.PATIENT

    def set_password(self, raw_password) -> None:
        super().set_password(raw_password)
        self._password_changed = True

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        if getattr(self, "_password_changed", False) and not self._state.adding:
            # A new password ends every API token issued with the old one.
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user=self).delete()
        self._password_changed = False


class FormSubmission(models.Model):
    """A form already handled, recorded by the one-time token it was rendered with, so that a double
    click or the same form sent again from a second tab runs its service once (mtm.forms.run_service)."""

    token = models.UUIDField(primary_key=True)  # random, made by the server for each form it renders
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"form {self.token} ({self.at:%Y-%m-%d %H:%M})"


class AuditAction(models.TextChoices):
    VIEW = "view", "viewed"
    CREATE = "create", "created"
    UPDATE = "update", "changed"
    STOP = "stop", "stopped / ended"
    SIGN_IN = "sign_in", "signed in"
    SIGN_OUT = "sign_out", "signed out"
    SIGN_IN_FAILED = "sign_in_failed", "failed to sign in"


class AuditEvent(models.Model):
    """One row per thing someone saw or changed. Rows are never updated or deleted: the database
    refuses it (triggers added in the migration), and nothing in the app offers it.

    The patient is kept as an id rather than a foreign key so that the audit app depends on no
    clinical app; patients are never deleted, only archived.
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, related_name="+")
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    patient_id = models.UUIDField(null=True, db_index=True)
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True)
    via = models.CharField(max_length=10, blank=True)  # "web", "api", "cli", "task"

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organisation", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_type}"

    @property
    def object_kind(self) -> str:
        """'medication' for 'patients.medicationentry'."""
        if not self.object_type:
            return ""
        try:
            return str(apps.get_model(self.object_type)._meta.verbose_name)
        except LookupError:
            return self.object_type


class QueuedTaskStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class QueuedTask(models.Model):
    """Work for the Celery worker, written in the transaction of the change that asks for it and
    kept until it has run: the broker being down loses nothing (mtm/outbox.py)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.CharField(max_length=200)  # the Celery task's registered name
    args = models.JSONField(default=list)
    status = models.CharField(
        max_length=20, choices=QueuedTaskStatus.choices, default=QueuedTaskStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)  # the error's type and message, no data
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="queuedtask_due")]

    def __str__(self) -> str:
        return f"{self.task} ({self.status})"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Being prepared"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Export(models.Model):
    """A long export (a CSV of a long period, and later FHIR and reports) prepared by the Celery
    worker while the user does something else, then downloaded when ready (mtm/exports.py). Its file
    is kept in the database in parts, so that web and worker need share no disk and neither holds the
    whole file in memory; it is forgotten EXPORT_KEEP_DAYS after it was asked for."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)  # a key of mtm.exports.KINDS
    parameters = models.JSONField(default=dict)  # e.g. the period, as ISO dates
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    items_total = models.PositiveIntegerField(null=True)  # what it reads (reviews), once known
    items_done = models.PositiveIntegerField(default=0)
    filename = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)  # bytes
    error = models.CharField(max_length=300, blank=True)  # for the user; no patient data
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="export_by_user")]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    @property
    def percent(self) -> int | None:
        if not self.items_total:
            return None
        return min(99, 100 * self.items_done // self.items_total)

    @property
    def in_progress(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)


class ExportPart(models.Model):
    """One piece of an export's file, in order."""

    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["export", "number"], name="export_part_once")]

    def __str__(self) -> str:
        return f"part {self.number} of {self.export_id}"
