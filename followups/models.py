"""Follow-ups (what staff will do for a patient, and when) and the reminders they send.

Times are stored in UTC and shown in the organisation's time zone. A reminder is an outbox row:
created with its follow-up, claimed by one dispatch pass, sent, and recorded, so that it goes out
exactly once (see followups/dispatch.py)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from mtm.models import Organisation, User, VersionedRecord
from mtm.permissions import Role
from patients.models import Patient
from reviews.models import Problem, Recommendation, Review


class FollowUpKind(models.TextChoices):
    TARGETED_REVIEW = "targeted_review", "Targeted review"
    PHONE_CHECK_IN = "phone_check_in", "Phone check-in"
    LAB_CHECK = "lab_check", "Lab or monitoring check"
    ANNUAL_CMR = "annual_cmr", "Annual CMR"
    RESPONSE_CHECK = "response_check", "Prescriber response check"
    SUMMARY_DELIVERY = "summary_delivery", "Summary delivery"


# Follow-ups the patient takes part in: they get a reminder the day before.
APPOINTMENT_KINDS = {
    FollowUpKind.TARGETED_REVIEW,
    FollowUpKind.PHONE_CHECK_IN,
    FollowUpKind.LAB_CHECK,
    FollowUpKind.ANNUAL_CMR,
}


# Who follow-ups can be assigned to (and who gets the morning digest).
ASSIGNABLE_ROLES = (Role.PHARMACIST, Role.STAFF)


class FollowUpStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DONE = "done", "Done"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"


class FollowUp(VersionedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="follow_ups")
    kind = models.CharField(max_length=30, choices=FollowUpKind.choices)
    due_at = models.DateTimeField("due")
    duration_minutes = models.PositiveSmallIntegerField("duration (minutes)", default=15)
    assigned_to = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name="assigned to",
    )
    status = models.CharField(max_length=20, choices=FollowUpStatus.choices, default=FollowUpStatus.SCHEDULED)
    review = models.ForeignKey(
        Review, on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups"
    )
    problem = models.ForeignKey(
        Problem, on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups"
    )
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups"
    )
    notes = models.TextField(blank=True)
    remind_patient = models.BooleanField(
        "remind the patient",
        default=True,
        help_text="By the channels the patient agreed to, at the times set for the organisation.",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set on the follow-ups the system creates ("review:<id>:targeted-review"), so that a trigger
    # that runs twice creates one follow-up.
    trigger = models.CharField(max_length=120, blank=True, editable=False)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            # The queue (scheduled, by time), and the agenda's days (its statuses, by time).
            models.Index(fields=["organisation", "status", "due_at"], name="followup_agenda"),
            # The API's list and any list in time order whatever the status.
            models.Index(fields=["organisation", "due_at"], name="followup_due"),
            # One staff member's queue, Today and agenda.
            models.Index(fields=["assigned_to", "status", "due_at"], name="followup_staff"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["trigger"], condition=~Q(trigger=""), name="followup_trigger_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.patient}"

    @property
    def is_overdue(self) -> bool:
        return self.status == FollowUpStatus.SCHEDULED and self.due_at < timezone.now()


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # gave up after the last retry, or sending was interrupted: staff check
    CANCELLED = "cancelled", "Cancelled"


class Reminder(models.Model):
    """One message to send once: to a patient about a follow-up, or a staff member's digest."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    follow_up = models.ForeignKey(
        FollowUp, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    staff = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    send_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_by = models.UUIDField(null=True, blank=True)  # the dispatch pass sending it
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set just before the message is handed to the mail or SMS backend: a "sending" row with it may
    # have gone out (in doubt, for staff to check); one without it was never tried (sent later).
    started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # A failed reminder stays on the staff queue until someone deals with it (resends or dismisses it).
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # What it is for, unique: "follow-up:<id>:day-before:email", "digest:<user>:<date>".
    key = models.CharField(max_length=150, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["send_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="reminder_due")]

    def __str__(self) -> str:
        return self.key


class ReminderAttempt(models.Model):
    """Each try at sending a reminder, with its outcome (what staff see when one fails)."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    outcome = models.CharField(max_length=20)  # sent, error, interrupted
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.reminder} try {self.number}: {self.outcome}"


class CalendarFeed(models.Model):
    """A staff member's follow-ups as an iCalendar feed. Calendar apps cannot sign in, so the address
    carries a secret token; resetting it makes the old address stop working."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"
