"""What each reminder says, in the patient's language, with nothing clinical in it: the kind of
appointment, its date and time in the organisation's time zone, and how to reach the pharmacy.
Staff digests count what is due and overdue and link to the queue, without patient names."""

import datetime
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from followups.models import Channel, FollowUp, FollowUpStatus, Reminder, ReminderStatus

TEXTS = {
    "en": {
        "kinds": {
            "targeted_review": "medication review",
            "phone_check_in": "phone check-in",
            "lab_check": "lab check",
            "annual_cmr": "yearly medication review",
        },
        "subject": "Reminder: your {kind} with {organisation}",
        "body": "Hello {first_name},\n\nThis is a reminder of your {kind} with {organisation} on {date} at {time}."
        "\n\nTo change it, please call {phone}.\n\n{organisation}",
        "sms": "{organisation}: reminder of your {kind} on {date} at {time}. To change it, call {phone}.",
        "date": "%A, %B %-d",
    },
    "es": {
        "kinds": {
            "targeted_review": "revisión de medicamentos",
            "phone_check_in": "llamada de seguimiento",
            "lab_check": "control de laboratorio",
            "annual_cmr": "revisión anual de medicamentos",
        },
        "subject": "Recordatorio: su {kind} con {organisation}",
        "body": "Hola, {first_name}:\n\nLe recordamos su {kind} con {organisation} el {date} a las {time}."
        "\n\nPara cambiarla, llame al {phone}.\n\n{organisation}",
        "sms": "{organisation}: recordatorio de su {kind} el {date} a las {time}. Para cambiarla, llame al {phone}.",
        "date": "%d/%m/%Y",
    },
}


def kind_for_patient(kind: str, language: str = "en") -> str:
    """How a patient would name the appointment: "medication review", "revisión de medicamentos"."""
    kinds = TEXTS.get(language, TEXTS["en"])["kinds"]
    return kinds.get(kind, kinds["phone_check_in"])


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str


def compose(reminders: list[Reminder], now: datetime.datetime) -> dict:
    """reminder id -> Message, for those still to send (the rest are no longer wanted)."""
    staff_reminders = [r for r in reminders if r.staff_id]
    digests = _due_for_staff(staff_reminders, now)
    failed = _failed_per_organisation(staff_reminders)
    messages = {}
    for reminder in reminders:
        message = _staff_digest(reminder, digests, failed) if reminder.staff_id else _to_patient(reminder)
        if message is not None:
            messages[reminder.pk] = message
    return messages


def _to_patient(reminder: Reminder) -> Message | None:
    follow_up = reminder.follow_up
    patient = follow_up.patient if follow_up else None
    if patient is None or follow_up.status != FollowUpStatus.SCHEDULED:
        return None
    if reminder.channel == Channel.SMS:
        to = patient.mobile_phone if patient.consent_sms_reminders else ""
    else:
        to = (patient.email or patient.representative_email) if patient.consent_email_reminders else ""
    if not to:
        return None
    language = patient.preferred_language if patient.preferred_language in TEXTS else "en"
    text = TEXTS[language]
    organisation = reminder.organisation
    local = timezone.localtime(follow_up.due_at, zoneinfo.ZoneInfo(organisation.time_zone))
    values = {
        "first_name": patient.first_name,
        "kind": kind_for_patient(follow_up.kind, language),
        "organisation": organisation.name,
        "date": local.strftime(text["date"]),
        "time": local.strftime("%-I:%M %p") if language == "en" else local.strftime("%H:%M"),
        "phone": organisation.phone or organisation.name,
    }
    if reminder.channel == Channel.SMS:
        return Message(to, "", text["sms"].format(**values))
    return Message(to, text["subject"].format(**values), text["body"].format(**values))


def _due_for_staff(reminders: list[Reminder], now: datetime.datetime) -> dict:
    """staff id -> their scheduled follow-ups due by the end of their organisation's today (one query)."""
    if not reminders:
        return {}
    ends = {}
    for reminder in reminders:
        zone = zoneinfo.ZoneInfo(reminder.organisation.time_zone)
        local_today = timezone.localtime(now, zone).date()
        ends[reminder.staff_id] = datetime.datetime.combine(
            local_today + datetime.timedelta(days=1), datetime.time(), zone
        )
    due = defaultdict(list)
    rows = FollowUp.objects.filter(
        assigned_to__in=list(ends), status=FollowUpStatus.SCHEDULED, due_at__lt=max(ends.values())
    ).values_list("assigned_to", "kind", "due_at")
    for staff_id, kind, due_at in rows:
        if due_at < ends[staff_id]:
            due[staff_id].append((kind, due_at))
    return due


def _failed_per_organisation(reminders: list[Reminder]) -> dict:
    """organisation id -> reminders that could not be sent and nobody has dealt with (one query)."""
    if not reminders:
        return {}
    rows = (
        Reminder.objects.filter(
            organisation__in={r.organisation_id for r in reminders}, status=ReminderStatus.FAILED,
            handled_at__isnull=True,
        )
        .values("organisation")
        .annotate(count=Count("pk"))
        .values_list("organisation", "count")
    )  # fmt: skip
    return dict(rows)


def _staff_digest(reminder: Reminder, digests: dict, failed: dict) -> Message | None:
    staff = reminder.staff
    if not staff.is_active or not staff.email:
        return None
    zone = zoneinfo.ZoneInfo(reminder.organisation.time_zone)
    today = timezone.localtime(reminder.send_at, zone).date()
    items = sorted(digests.get(staff.pk, []), key=lambda item: item[1])
    overdue = [item for item in items if timezone.localtime(item[1], zone).date() < today]
    due_today = [item for item in items if timezone.localtime(item[1], zone).date() == today]
    if not overdue and not due_today:
        return None  # nothing today: no email
    labels = dict(FollowUp._meta.get_field("kind").choices)
    lines = [f"Good morning {staff.first_name or staff.get_username()},", ""]
    lines.append(f"Due today: {len(due_today)}. Overdue: {len(overdue)}.")
    for kind, due_at in due_today:
        lines.append(f"  {timezone.localtime(due_at, zone):%H:%M}  {labels.get(kind, kind)}")
    if failed.get(reminder.organisation_id):
        count = failed[reminder.organisation_id]
        lines += ["", f"Reminders to patients that could not be sent: {count}. They are listed on the queue."]
    lines += [
        "",
        f"Open the queue: {settings.SITE_URL.rstrip('/')}/follow-ups/?staff=me",
        "",
        reminder.organisation.name,
    ]
    return Message(staff.email, f"Your follow-ups for {today:%m/%d/%Y}", "\n".join(lines))
