"""Scheduling follow-ups (by hand and automatically) and the reminders they send."""

import datetime
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from followups.models import (
    APPOINTMENT_KINDS,
    ASSIGNABLE_ROLES,
    Channel,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Reminder,
    ReminderStatus,
)
from mtm.audit import Actor, audit_record
from mtm.models import AuditAction, Organisation, User, reminder_leads_parse
from mtm.records import record_create, record_update
from patients.models import Patient
from reviews.models import Audience, PatientAction, Recommendation, Review, ReviewKind

NEXT_REVIEW_DAYS = 90
SUMMARY_DAYS = 14
LAB_CHECK_DAYS = 14
USUAL_HOUR = datetime.time(10, 0)  # automatic follow-ups are due at 10 am, the organisation's time
DIGEST_HOUR = datetime.time(7, 0)  # staff digests go out from 7 am, the organisation's time


def next_weekday(day: datetime.date) -> datetime.date:
    """Saturday and Sunday move to Monday: the system books follow-ups on working days."""
    if day.weekday() >= 5:
        return day + datetime.timedelta(days=7 - day.weekday())
    return day


def _local_day_at(organisation, day: datetime.date, at: datetime.time = USUAL_HOUR) -> datetime.datetime:
    """A wall-clock time in the organisation's time zone, as an aware datetime (stored in UTC)."""
    return datetime.datetime.combine(day, at, zoneinfo.ZoneInfo(organisation.time_zone))


MANUAL_FIELDS = {"kind", "due_at", "duration_minutes", "assigned_to", "notes", "remind_patient"}


def _check(organisation: Organisation, data: dict[str, Any], now: datetime.datetime) -> None:
    """The rules a follow-up booked or changed by hand must keep."""
    errors = {}
    assigned = data.get("assigned_to")
    if assigned is not None and (
        assigned.organisation_id != organisation.pk
        or not assigned.is_active
        or assigned.role not in ASSIGNABLE_ROLES
    ):
        errors["assigned_to"] = "Choose an active member of your organisation's staff."
    if "due_at" in data and data["due_at"] < now - datetime.timedelta(minutes=5):
        errors["due_at"] = "Choose a time from now on."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def follow_up_create(
    *, patient: Patient, data: dict[str, Any], by: Actor, trigger: str = "", book_anyway: bool = False
) -> FollowUp:
    """Book a follow-up; `trigger` marks one the system books, once per trigger. A booking by hand
    of what the patient already has booked that day (same kind) is refused unless `book_anyway`:
    two tabs, or two colleagues, booking the same call."""
    if trigger:
        existing = FollowUp.objects.filter(trigger=trigger).first()
        if existing:
            return existing
    else:
        data = {name: value for name, value in data.items() if name in MANUAL_FIELDS}
        _check(patient.organisation, data, timezone.now())
        same = _booked_that_day(patient, data)
        if same is not None and not book_anyway:
            when = timezone.localtime(same.due_at, zoneinfo.ZoneInfo(patient.organisation.time_zone))
            who = (
                f" with {same.assigned_to.get_full_name() or same.assigned_to.username}"
                if same.assigned_to
                else ""
            )
            raise ValidationError({
                "book_anyway": f"{patient.full_name} already has a {same.get_kind_display().lower()} booked on "
                f"{when:%m/%d/%Y at %I:%M %p}{who}. Tick “Book it anyway” to book a second one."
            })  # fmt: skip
    follow_up = record_create(
        FollowUp(organisation_id=patient.organisation_id, patient=patient, trigger=trigger, **data), by=by
    )
    reminders_schedule(follow_up)
    return follow_up


def _booked_that_day(patient: Patient, data: dict[str, Any]) -> FollowUp | None:
    """A scheduled follow-up of the same kind for the patient on the same day (organisation's time)."""
    if not data.get("due_at") or not data.get("kind"):
        return None
    zone = zoneinfo.ZoneInfo(patient.organisation.time_zone)
    day = timezone.localtime(data["due_at"], zone).date()
    start = datetime.datetime.combine(day, datetime.time(0), zone)
    return (
        patient.follow_ups.filter(
            kind=data["kind"], status=FollowUpStatus.SCHEDULED,
            due_at__gte=start, due_at__lt=start + datetime.timedelta(days=1),
        )
        .select_related("assigned_to")
        .first()
    )  # fmt: skip


@transaction.atomic
def follow_up_update(*, follow_up: FollowUp, data: dict[str, Any], version: int, by: Actor) -> FollowUp:
    """Move, reassign or change a scheduled follow-up; its patient reminders follow the new time."""
    if follow_up.status != FollowUpStatus.SCHEDULED:
        raise ValidationError(
            {"status": f"This follow-up is already {follow_up.get_status_display().lower()}; book a new one."}
        )
    data = {name: value for name, value in data.items() if name in MANUAL_FIELDS}
    if data.get("due_at") == follow_up.due_at:
        data.pop("due_at")  # unchanged: a time already past may stay as it is
    _check(follow_up.patient.organisation, data, timezone.now())
    follow_up = record_update(follow_up, data=data, version=version, by=by)
    reminders_schedule(follow_up)
    return follow_up


def follow_up_reschedule(
    *, follow_up: FollowUp, due_at: datetime.datetime, version: int, by: Actor, assigned_to=None
) -> FollowUp:
    data = {"due_at": due_at} if assigned_to is None else {"due_at": due_at, "assigned_to": assigned_to}
    return follow_up_update(follow_up=follow_up, data=data, version=version, by=by)


@transaction.atomic
def follow_up_close(*, follow_up: FollowUp, status: str, version: int, by: Actor, note: str = "") -> FollowUp:
    """Done, missed or cancelled; reminders not sent yet are cancelled."""
    if status not in {FollowUpStatus.DONE, FollowUpStatus.MISSED, FollowUpStatus.CANCELLED}:
        raise ValidationError({"status": "Choose done, missed or cancelled."})
    if follow_up.status != FollowUpStatus.SCHEDULED:
        raise ValidationError(
            {"status": f"This follow-up is already {follow_up.get_status_display().lower()}."}
        )
    notes = "\n".join(part for part in [follow_up.notes, note.strip()] if part)
    follow_up = record_update(
        follow_up,
        data={"status": status, "closed_at": timezone.now(), "notes": notes},
        version=version,
        by=by,
    )
    follow_up.reminders.filter(status=ReminderStatus.PENDING).update(status=ReminderStatus.CANCELLED)
    return follow_up


def _lead_before(local: datetime.datetime, lead: str) -> datetime.datetime:
    """ "2d": two days before at the same wall-clock time, whatever a daylight-saving change in
    between does; "2h": two hours before."""
    amount, unit = int(lead[:-1]), lead[-1]
    if unit == "h":
        return local - datetime.timedelta(hours=amount)
    return datetime.datetime.combine(
        local.date() - datetime.timedelta(days=amount), local.time(), local.tzinfo
    )


def reminders_schedule(follow_up: FollowUp, now: datetime.datetime | None = None) -> list[Reminder]:
    """The patient's reminders for an appointment-type follow-up: at each of the organisation's lead
    times (a day before unless it set others), by each channel the patient agreed to. Changing the
    follow-up replaces reminders not sent yet; one already sent for the old time does not stop the
    ones for the new time. Booked too late for every lead time: one reminder now, if the appointment
    is at least two hours away."""
    now = now or timezone.now()
    organisation = follow_up.organisation
    patient = follow_up.patient
    channels = []
    if patient.consent_email_reminders and (patient.email or patient.representative_email):
        channels.append(Channel.EMAIL)
    if patient.consent_sms_reminders and patient.mobile_phone:
        channels.append(Channel.SMS)
    wanted = {}  # key -> send at
    if (
        follow_up.kind in APPOINTMENT_KINDS
        and follow_up.status == FollowUpStatus.SCHEDULED
        and follow_up.remind_patient
        and channels
    ):
        local = timezone.localtime(follow_up.due_at, zoneinfo.ZoneInfo(organisation.time_zone))
        stamp = f"{follow_up.due_at.astimezone(datetime.UTC):%Y%m%dT%H%MZ}"
        times = {
            lead: _lead_before(local, lead) for lead in reminder_leads_parse(organisation.reminder_leads)
        }
        future = {lead: at for lead, at in times.items() if at >= now}
        if not future and times and follow_up.due_at - now >= datetime.timedelta(hours=2):
            future = {min(times, key=times.get): now}  # booked late: remind now, once
        for lead, send_at in future.items():
            for channel in channels:
                wanted[f"follow-up:{follow_up.pk}:{stamp}:{lead}:{channel}"] = (channel, send_at)
    follow_up.reminders.filter(status=ReminderStatus.PENDING).exclude(key__in=list(wanted)).update(
        status=ReminderStatus.CANCELLED
    )
    reminders = []
    for key, (channel, send_at) in wanted.items():
        reminder, created = Reminder.objects.get_or_create(
            key=key,
            defaults={"organisation_id": follow_up.organisation_id, "follow_up": follow_up, "channel": channel,
                      "send_at": send_at, "next_attempt_at": send_at},
        )  # fmt: skip
        if not created and reminder.status == ReminderStatus.CANCELLED:
            # Wanted again (moved back, consent given again, the old lead times back): pending again.
            # One sent or failed stays as it is: it went out, or staff deal with it.
            revived = {"status": ReminderStatus.PENDING, "send_at": send_at, "next_attempt_at": send_at,
                       "attempts": 0, "claimed_by": None, "claimed_at": None, "started_at": None, "last_error": ""}  # fmt: skip
            Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.CANCELLED).update(**revived)
            for name, value in revived.items():
                setattr(reminder, name, value)
        reminders.append(reminder)
    return reminders


def reminders_resync(**scope) -> int:
    """Reschedule the reminders not yet sent of the scheduled follow-ups to come, after what decides
    them changed: the patient's agreement or address (`patient=`), or the organisation's reminder
    times or time zone (`organisation_id=`). Returns how many follow-ups were looked at."""
    upcoming = FollowUp.objects.filter(status=FollowUpStatus.SCHEDULED, due_at__gt=timezone.now(), **scope)
    count = 0
    for follow_up in upcoming.select_related("organisation", "patient").iterator(chunk_size=500):
        with transaction.atomic():
            reminders_schedule(follow_up)
        count += 1
    return count


@transaction.atomic
def reminder_handle(*, reminder: Reminder, resend: bool, by: Actor) -> Reminder:
    """A failed reminder dealt with by staff: sent again (once more, now) or dismissed."""
    reminder = Reminder.objects.select_for_update().get(pk=reminder.pk)
    if reminder.status != ReminderStatus.FAILED or reminder.handled_at:
        raise ValidationError("This reminder has already been dealt with.")
    now = timezone.now()
    if resend:
        # A new outbox row, so the failed one keeps its history and its key stays used.
        Reminder.objects.create(
            organisation_id=reminder.organisation_id, follow_up_id=reminder.follow_up_id,
            staff_id=reminder.staff_id, channel=reminder.channel, send_at=now, next_attempt_at=now,
            key=f"{reminder.key}:resent:{now:%Y%m%dT%H%M%S}",
        )  # fmt: skip
    reminder.handled_at, reminder.handled_by = now, by.user
    reminder.save(update_fields=["handled_at", "handled_by"])
    audit_record(
        actor=by, action=AuditAction.UPDATE, patient_id=reminder.follow_up.patient_id if reminder.follow_up else None,
        obj=reminder, changes={"handled": ["", "resent" if resend else "dismissed"]},
    )  # fmt: skip
    return reminder


# --- Automatic follow-ups (receivers of reviews.signals) ----------------------------------------------


def _automatic(review: Review, trigger: str, kind: str, day: datetime.date, by: Actor, **data) -> FollowUp:
    """A follow-up the system schedules for the review's pharmacist, once per trigger."""
    data = {"kind": kind, "review": review, "assigned_to": review.pharmacist, **data}
    data["due_at"] = _local_day_at(review.organisation, next_weekday(day))
    return follow_up_create(patient=review.patient, data=data, by=by, trigger=trigger)


def after_review_completed(*, review: Review, by: Actor) -> list[FollowUp]:
    """The next targeted review in about 90 days; after a CMR, the summary delivery deadline (14
    days); a lab check for each monitoring recommendation."""
    zone = zoneinfo.ZoneInfo(review.organisation.time_zone)
    completed_on = timezone.localtime(review.completed_at, zone).date()
    after = lambda days: completed_on + datetime.timedelta(days=days)  # noqa: E731
    created = [
        _automatic(
            review,
            f"review:{review.pk}:targeted-review",
            FollowUpKind.TARGETED_REVIEW,
            after(NEXT_REVIEW_DAYS),
            by,
            duration_minutes=20,
        )
    ]
    if review.kind == ReviewKind.CMR and review.summary_delivered_on is None:
        created.append(
            _automatic(
                review,
                f"review:{review.pk}:summary-delivery",
                FollowUpKind.SUMMARY_DELIVERY,
                after(SUMMARY_DAYS),
                by,
                duration_minutes=10,
            )
        )
    monitoring = Recommendation.objects.filter(problem__review=review, action=PatientAction.MONITORING)
    for recommendation in monitoring.select_related("problem"):
        created.append(
            _automatic(
                review,
                f"recommendation:{recommendation.pk}:lab-check",
                FollowUpKind.LAB_CHECK,
                after(LAB_CHECK_DAYS),
                by,
                problem=recommendation.problem,
                recommendation=recommendation,
                notes=recommendation.text,
            )
        )
    return created


def after_recommendations_sent(*, recommendations: list[Recommendation], by: Actor) -> list[FollowUp]:
    """A check for the prescriber's answer once the organisation's waiting time has passed."""
    created = []
    for recommendation in recommendations:
        if recommendation.audience != Audience.PRESCRIBER or not recommendation.sent_on:
            continue
        review = recommendation.problem.review
        due_on = recommendation.sent_on + datetime.timedelta(
            days=review.organisation.prescriber_response_days
        )
        created.append(
            _automatic(
                review,
                f"recommendation:{recommendation.pk}:response-check",
                FollowUpKind.RESPONSE_CHECK,
                due_on,
                by,
                duration_minutes=10,
                problem=recommendation.problem,
                recommendation=recommendation,
            )
        )
    return created


def after_summary_delivered(*, review: Review, by: Actor) -> None:
    """The summary went out: its delivery follow-up is done."""
    for follow_up in FollowUp.objects.filter(
        review=review, kind=FollowUpKind.SUMMARY_DELIVERY, status=FollowUpStatus.SCHEDULED
    ):
        follow_up_close(follow_up=follow_up, status=FollowUpStatus.DONE, version=follow_up.version, by=by)


def digests_plan(now: datetime.datetime | None = None) -> None:
    """Today's morning digest for each staff member with follow-ups assigned, once a day from 7 am in
    their organisation's time zone (later if beat was down at 7); the unique key keeps it to one."""
    now = now or timezone.now()
    days = {}
    for organisation in Organisation.objects.only("pk", "time_zone"):
        zone = zoneinfo.ZoneInfo(organisation.time_zone)
        local = timezone.localtime(now, zone)
        if local.time() >= DIGEST_HOUR:
            days[organisation.pk] = (local.date(), datetime.datetime.combine(local.date(), DIGEST_HOUR, zone))
    staff = (
        User.objects.filter(
            organisation__in=list(days), is_active=True, role__in=ASSIGNABLE_ROLES,
            follow_ups__status=FollowUpStatus.SCHEDULED, follow_ups__due_at__lt=now + datetime.timedelta(days=1),
        )
        .exclude(email="")
        .distinct()
        .values_list("pk", "organisation_id")
    )  # fmt: skip
    digests = [
        Reminder(organisation_id=org_id, staff_id=user_id, channel=Channel.EMAIL, send_at=days[org_id][1],
                 next_attempt_at=days[org_id][1], key=f"digest:{user_id}:{days[org_id][0]:%Y-%m-%d}")
        for user_id, org_id in staff
    ]  # fmt: skip
    Reminder.objects.bulk_create(digests, ignore_conflicts=True)
