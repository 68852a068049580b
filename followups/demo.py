"""Demo follow-ups for Riverside Pharmacy's agenda and queue: one overdue, some today and this week,
one done last week, and a reminder that could not be sent. Times are relative to when the demo is
seeded, in the pharmacy's time zone. Fictional, like every demo record."""

import datetime
import zoneinfo

from django.utils import timezone

from followups import services
from followups.models import FollowUpKind, FollowUpStatus, Reminder, ReminderAttempt, ReminderStatus
from mtm.audit import Actor
from mtm.demo import DemoContext
from patients.models import Patient

# (patient, kind, days from today, hour, assigned to, notes)
BOOKINGS = [
    (
        "Harold Jensen",
        FollowUpKind.PHONE_CHECK_IN,
        -1,
        14,
        "demo-staff",
        "Ask how the new pill box is going.",
    ),
    (
        "Dolores Ramirez",
        FollowUpKind.PHONE_CHECK_IN,
        0,
        16,
        "demo-staff",
        "Check on dizziness after the dose change.",
    ),
    (
        "Walter Kowalski",
        FollowUpKind.LAB_CHECK,
        0,
        17,
        "demo-pharmacist",
        "Potassium and creatinine after the spironolactone start.",
    ),
    ("Evelyn Thornton", FollowUpKind.TARGETED_REVIEW, 2, 11, "demo-pharmacist", ""),
    ("Linda Park", FollowUpKind.PHONE_CHECK_IN, 3, 9, "demo-staff", "Inhaler technique: second check."),
    ("Betty Sorensen", FollowUpKind.ANNUAL_CMR, 8, 10, "demo-pharmacist", "Annual comprehensive review."),
    ("Thomas Whitaker", FollowUpKind.PHONE_CHECK_IN, -6, 15, "demo-staff", ""),
]


def seed(context: DemoContext) -> None:
    organisation = context.organisations["riverside"]
    zone = zoneinfo.ZoneInfo(organisation.time_zone)
    today = timezone.localtime(timezone.now(), zone).date()
    patients = {f"{p.first_name} {p.last_name}": p for p in Patient.objects.filter(organisation=organisation)}
    for name, kind, days, hour, username, notes in BOOKINGS:
        patient = patients.get(name)
        if patient is None:
            continue
        day = (
            services.next_weekday(today + datetime.timedelta(days=days))
            if days > 0
            else today + datetime.timedelta(days=days)
        )
        follow_up = services.follow_up_create(
            patient=patient,
            data={"kind": kind, "due_at": datetime.datetime.combine(day, datetime.time(hour), zone),
                  "assigned_to": context.users[username], "notes": notes},
            by=Actor(user=context.users["demo-staff"], via="cli"),
            trigger=f"demo:{name}:{kind}",  # seeded once, and past times allowed
        )  # fmt: skip
        if days < -3 and follow_up.status == FollowUpStatus.SCHEDULED:
            services.follow_up_close(
                follow_up=follow_up, status=FollowUpStatus.DONE, version=follow_up.version,
                note="Doing well; no changes.", by=Actor(user=context.users["demo-staff"], via="cli"),
            )  # fmt: skip
        if (
            name == "Walter Kowalski"
            and not follow_up.reminders.filter(status=ReminderStatus.FAILED).exists()
        ):
            _failed_reminder(follow_up)


def _failed_reminder(follow_up) -> None:
    """What staff see when a reminder could not go out: the mail server refused it five times."""
    send_at = follow_up.due_at - datetime.timedelta(days=1)
    reminder = Reminder.objects.create(
        organisation_id=follow_up.organisation_id, follow_up=follow_up, channel="email", send_at=send_at,
        next_attempt_at=send_at, status=ReminderStatus.FAILED, attempts=5,
        last_error="SMTPRecipientsRefused: 550 mailbox unavailable", key=f"demo:{follow_up.pk}:failed",
    )  # fmt: skip
    ReminderAttempt.objects.bulk_create(
        ReminderAttempt(reminder=reminder, number=n, started_at=send_at + datetime.timedelta(minutes=2**n - 1),
                        outcome="error", error=reminder.last_error)
        for n in range(1, 6)
    )  # fmt: skip
