"""Reading follow-ups: every query starts from the user's organisation (mtm.scoping), so another
organisation's follow-up is a 404. Lists are fetched with their patients and staff in one query."""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from followups.messages import kind_for_patient
from followups.models import (
    APPOINTMENT_KINDS,
    ASSIGNABLE_ROLES,
    FollowUp,
    FollowUpStatus,
    Reminder,
    ReminderStatus,
)
from mtm.models import User
from mtm.scoping import scope_to_organisation


def follow_ups_visible_to(user) -> QuerySet[FollowUp]:
    return scope_to_organisation(FollowUp.objects.all(), user).select_related("patient", "assigned_to")


def follow_up_get(*, user, follow_up_id) -> FollowUp:
    return get_object_or_404(
        follow_ups_visible_to(user).select_related("organisation", "review", "problem", "recommendation"),
        pk=follow_up_id,
    )


def staff_of(organisation_id) -> QuerySet[User]:
    """Who follow-ups can be assigned to."""
    return User.objects.filter(
        organisation_id=organisation_id, is_active=True, role__in=ASSIGNABLE_ROLES
    ).order_by("first_name", "last_name", "username")


def zone_of(user) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(user.organisation.time_zone)


def local_today(user, now: datetime.datetime | None = None) -> datetime.date:
    return timezone.localtime(now or timezone.now(), zone_of(user)).date()


def day_start(user, day: datetime.date) -> datetime.datetime:
    """Midnight of `day` in the organisation's time zone."""
    return datetime.datetime.combine(day, datetime.time(0), zone_of(user))


QUEUE_LIMIT = 200  # rows per section: a long backlog is narrowed by staff member or worked through


@dataclass(frozen=True)
class Queue:
    overdue: list[FollowUp]
    overdue_total: int
    today: list[FollowUp]
    today_total: int
    failed_reminders: list[Reminder]

    @property
    def due(self) -> list[FollowUp]:
        """Overdue first, then the rest of today."""
        return self.overdue + self.today

    @property
    def due_total(self) -> int:
        return self.overdue_total + self.today_total


def queue(*, user, assigned_to: User | None = None, now: datetime.datetime | None = None) -> Queue:
    """Scheduled follow-ups past their time (oldest first), and those still due today (organisation's
    time), each list at most QUEUE_LIMIT long with its full count, and reminders that could not be
    sent and nobody has dealt with yet."""
    now = now or timezone.now()
    tomorrow = day_start(user, local_today(user, now) + datetime.timedelta(days=1))
    scheduled = follow_ups_visible_to(user).filter(status=FollowUpStatus.SCHEDULED).order_by("due_at")
    if assigned_to is not None:
        scheduled = scheduled.filter(assigned_to=assigned_to)
    overdue = scheduled.filter(due_at__lt=now)
    today = scheduled.filter(due_at__gte=now, due_at__lt=tomorrow)
    failed = (
        scope_to_organisation(Reminder.objects.all(), user)
        .filter(status=ReminderStatus.FAILED, handled_at__isnull=True)
        .select_related("follow_up__patient", "staff")
        .order_by("send_at")
    )
    return Queue(
        overdue=list(overdue[:QUEUE_LIMIT]),
        overdue_total=overdue.count(),
        today=list(today[:QUEUE_LIMIT]),
        today_total=today.count(),
        failed_reminders=list(failed[:QUEUE_LIMIT]),
    )


@dataclass(frozen=True)
class AgendaDay:
    day: datetime.date
    follow_ups: list[FollowUp]
    is_today: bool


def agenda(*, user, first_day: datetime.date, days: int, assigned_to: User | None = None) -> list[AgendaDay]:
    """Follow-ups from `first_day` for `days` days, each day in the organisation's time zone, cancelled
    ones left out. One query, whatever the number of follow-ups."""
    zone = zone_of(user)
    rows = follow_ups_visible_to(user).filter(
        due_at__gte=day_start(user, first_day),
        due_at__lt=day_start(user, first_day + datetime.timedelta(days=days)),
    )
    rows = rows.exclude(status=FollowUpStatus.CANCELLED).order_by("due_at")
    if assigned_to is not None:
        rows = rows.filter(assigned_to=assigned_to)
    by_day: dict[datetime.date, list[FollowUp]] = {}
    for follow_up in rows:
        by_day.setdefault(timezone.localtime(follow_up.due_at, zone).date(), []).append(follow_up)
    today = local_today(user)
    return [
        AgendaDay(day, by_day.get(day, []), day == today)
        for day in (first_day + datetime.timedelta(days=n) for n in range(days))
    ]


def reminders_of(follow_up: FollowUp) -> list[Reminder]:
    return list(follow_up.reminders.prefetch_related("attempt_log").order_by("send_at", "channel"))


def patient_appointments(patient) -> list[FollowUp]:
    """What the patient takes part in and is still to come (the portal): not the staff's own work
    such as checking for a prescriber's answer."""
    appointments = list(
        patient.follow_ups.filter(
            status=FollowUpStatus.SCHEDULED, kind__in=list(APPOINTMENT_KINDS), due_at__gte=timezone.now()
        ).order_by("due_at")
    )
    for appointment in appointments:
        appointment.label_for_patient = kind_for_patient(appointment.kind)
    return appointments
