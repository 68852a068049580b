"""Scheduling follow-ups (by hand and automatically) and the reminders they send."""

import datetime
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from followups.models import (
    APPOINTMENT_KINDS,
    Channel,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Reminder,
    ReminderStatus,
)
from mtm.audit import Actor
from mtm.models import Organisation, User
from mtm.permissions import Role
from mtm.records import record_create, record_update
from patients.models import Patient
from reviews.models import Audience, PatientAction, Recommendation, Review, ReviewKind

NEXT_REVIEW_DAYS = 90
SUMMARY_DAYS = 14
LAB_CHECK_DAYS = 14
USUAL_HOUR = datetime.time(10, 0)  # automatic follow-ups are due at 10 am, the organisation's time
DIGEST_HOUR = datetime.time(7, 0)  # staff digests go out from 7 am, the organisation's time


def _local_day_at(organisation, day: datetime.date, at: datetime.time = USUAL_HOUR) -> datetime.datetime:
    """A wall-clock time in the organisation's time zone, as an aware datetime (stored in UTC)."""
    return datetime.datetime.combine(day, at, zoneinfo.ZoneInfo(organisation.time_zone))


@transaction.atomic
def follow_up_create(*, patient: Patient, data: dict[str, Any], by: Actor, trigger: str = "") -> FollowUp:
    if trigger:
        existing = FollowUp.objects.filter(trigger=trigger).first()
        if existing:
            return existing
    follow_up = record_create(
        FollowUp(organisation_id=patient.organisation_id, patient=patient, trigger=trigger, **data), by=by
    )
    reminders_schedule(follow_up)
    return follow_up


@transaction.atomic
def follow_up_reschedule(
    *, follow_up: FollowUp, due_at: datetime.datetime, version: int, by: Actor, assigned_to=None
) -> FollowUp:
    if follow_up.status != FollowUpStatus.SCHEDULED:
        raise ValidationError({"due_at": "Only a scheduled follow-up can be moved."})
    data = {"due_at": due_at} if assigned_to is None else {"due_at": due_at, "assigned_to": assigned_to}
    follow_up = record_update(follow_up, data=data, version=version, by=by)
    reminders_schedule(follow_up)
    return follow_up


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


def reminders_schedule(follow_up: FollowUp, now: datetime.datetime | None = None) -> list[Reminder]:
    """The patient's reminders for an appointment-type follow-up: a day before, by each channel the
    patient agreed to. Moving the follow-up replaces reminders not sent yet; one already sent for
    the old time does not stop the one for the new time."""
    now = now or timezone.now()
    stamp = f"{follow_up.due_at.astimezone(datetime.UTC):%Y%m%dT%H%MZ}"
    follow_up.reminders.filter(status=ReminderStatus.PENDING).exclude(key__contains=f":{stamp}:").update(
        status=ReminderStatus.CANCELLED
    )
    if follow_up.kind not in APPOINTMENT_KINDS or follow_up.status != FollowUpStatus.SCHEDULED:
        return []
    patient = follow_up.patient
    channels = []
    if patient.consent_email_reminders and (patient.email or patient.representative_email):
        channels.append(Channel.EMAIL)
    if patient.consent_sms_reminders and patient.mobile_phone:
        channels.append(Channel.SMS)
    # The day before at the same wall-clock time, whatever a daylight-saving change in between does.
    zone = zoneinfo.ZoneInfo(follow_up.organisation.time_zone)
    local = timezone.localtime(follow_up.due_at, zone)
    send_at = datetime.datetime.combine(local.date() - datetime.timedelta(days=1), local.time(), zone)
    if send_at < now:
        if follow_up.due_at - now < datetime.timedelta(hours=2):
            return []  # too late to be of use
        send_at = now  # booked less than a day ahead: remind now
    reminders = []
    for channel in channels:
        reminder, _ = Reminder.objects.get_or_create(
            key=f"follow-up:{follow_up.pk}:{stamp}:day-before:{channel}",
            defaults={"organisation_id": follow_up.organisation_id, "follow_up": follow_up, "channel": channel,
                      "send_at": send_at, "next_attempt_at": send_at},
        )  # fmt: skip
        reminders.append(reminder)
    return reminders


# --- Automatic follow-ups (receivers of reviews.signals) ----------------------------------------------


def _automatic(review: Review, trigger: str, kind: str, day: datetime.date, by: Actor, **data) -> FollowUp:
    """A follow-up the system schedules for the review's pharmacist, once per trigger."""
    data = {"kind": kind, "review": review, "assigned_to": review.pharmacist, **data}
    data["due_at"] = _local_day_at(review.organisation, day)
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
            organisation__in=list(days), is_active=True, role__in=[Role.PHARMACIST, Role.STAFF, Role.ORG_ADMIN],
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
