"""Reading follow-ups: every query starts from the user's organisation (mtm.scoping), so another
organisation's follow-up is a 404. Lists are fetched with their patients and staff in one query."""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.db.models import Count, F, QuerySet
from django.db.models import Window as WindowFunction
from django.db.models.functions import RowNumber, TruncDate
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
from mtm.paging import COUNT_CAP, count_at_most
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


QUEUE_PAGE = 15  # rows per section of the queue (as many as each list of the Today page)
AGENDA_WEEK_ROWS = 8  # per day in the week view; the rest are on the day's own page
AGENDA_DAY_ROWS = 50  # per page of the day view
# Cancelled follow-ups are left off the agenda; naming the statuses shown lets the index serve them.
AGENDA_STATUSES = [FollowUpStatus.SCHEDULED, FollowUpStatus.DONE, FollowUpStatus.MISSED]


def count_capped(rows: QuerySet) -> int:
    """How many rows there are, counting no further than COUNT_CAP + 1: "more than 1,000" serves as
    well as the exact figure and costs a bounded scan, whatever the organisation holds."""
    return count_at_most(rows.select_related(None).order_by(), COUNT_CAP + 1)


@dataclass(frozen=True)
class Window:
    """One page of a list: its rows, whether more follow, and how many there are in all (counted up
    to COUNT_CAP + 1: `capped` says the list holds more than COUNT_CAP)."""

    rows: list
    total: int
    number: int
    per_page: int
    has_next: bool

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def total_text(self) -> str:
        return f"more than {COUNT_CAP:,}" if self.capped else str(self.total)

    @property
    def more(self) -> int:
        """Rows after these ones."""
        return max(self.total - (self.number - 1) * self.per_page - len(self.rows), 0)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def first(self) -> int:
        return (self.number - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1


def window(rows: QuerySet, *, per_page: int, number: int = 1) -> Window:
    """Page `number` of `rows` (in their order) and the capped count: two queries, whatever the list holds."""
    start = (number - 1) * per_page
    fetched = list(rows[start : start + per_page + 1])  # one more: whether a next page exists
    return Window(fetched[:per_page], count_capped(rows), number, per_page, len(fetched) > per_page)


def _scheduled(user, assigned_to: User | None) -> QuerySet[FollowUp]:
    # The id after the time: pages of follow-ups booked at the same time neither repeat nor skip one.
    rows = follow_ups_visible_to(user).filter(status=FollowUpStatus.SCHEDULED).order_by("due_at", "pk")
    if assigned_to is not None:
        rows = rows.filter(assigned_to=assigned_to)
    return rows


def _tomorrow(user, now: datetime.datetime) -> datetime.datetime:
    return day_start(user, local_today(user, now) + datetime.timedelta(days=1))


@dataclass(frozen=True)
class Queue:
    overdue: Window
    today: Window
    failed_reminders: Window


def queue(
    *,
    user,
    assigned_to: User | None = None,
    now: datetime.datetime | None = None,
    overdue_page: int = 1,
    today_page: int = 1,
    failed_page: int = 1,
    per_page: int = QUEUE_PAGE,
) -> Queue:
    """Scheduled follow-ups past their time (oldest first), those still due today (organisation's
    time), and reminders that could not be sent and nobody has dealt with yet: a page of each,
    with its count. A fixed number of queries, whatever the backlog."""
    now = now or timezone.now()
    scheduled = _scheduled(user, assigned_to)
    failed = (
        scope_to_organisation(Reminder.objects.all(), user)
        .filter(status=ReminderStatus.FAILED, handled_at__isnull=True)
        .select_related("follow_up__patient", "staff")
        .order_by("send_at", "pk")
    )
    return Queue(
        overdue=window(scheduled.filter(due_at__lt=now), per_page=per_page, number=overdue_page),
        today=window(
            scheduled.filter(due_at__gte=now, due_at__lt=_tomorrow(user, now)),
            per_page=per_page,
            number=today_page,
        ),
        failed_reminders=window(failed, per_page=per_page, number=failed_page),
    )


def follow_ups_due(
    *, user, per_page: int, assigned_to: User | None = None, now: datetime.datetime | None = None
) -> Window:
    """The first of the follow-ups overdue or still due today, oldest first (the Today page)."""
    now = now or timezone.now()
    return window(_scheduled(user, assigned_to).filter(due_at__lt=_tomorrow(user, now)), per_page=per_page)


def reminders_failed_count(*, user) -> int:
    return count_capped(
        scope_to_organisation(Reminder.objects.all(), user).filter(
            status=ReminderStatus.FAILED, handled_at__isnull=True
        )
    )


@dataclass(frozen=True)
class AgendaDay:
    day: datetime.date
    follow_ups: list[FollowUp]  # the page shown: the first of the day in the week view
    total: int  # that day's follow-ups in all
    is_today: bool
    number: int = 1
    per_page: int = AGENDA_DAY_ROWS

    @property
    def more(self) -> int:
        """Follow-ups of the day after the ones shown."""
        return max(self.total - (self.number - 1) * self.per_page - len(self.follow_ups), 0)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.more > 0

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def first(self) -> int:
        return (self.number - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return self.first + len(self.follow_ups) - 1


def agenda(
    *,
    user,
    first_day: datetime.date,
    days: int,
    per_day: int,
    page: int = 1,
    assigned_to: User | None = None,
) -> list[AgendaDay]:
    """Follow-ups from `first_day` for `days` days, each day in the organisation's time zone,
    cancelled ones left out: page `page` of each day (`per_day` rows) and the day's count. Two
    queries whatever the number of follow-ups: which rows and the days' counts (no join), then
    those rows with their patients and staff."""
    zone = zone_of(user)
    rows = follow_ups_visible_to(user).filter(status__in=AGENDA_STATUSES)
    if assigned_to is not None:
        rows = rows.filter(assigned_to=assigned_to)
    local_day = TruncDate("due_at", tzinfo=zone)
    start = (page - 1) * per_day
    shown = (
        rows.filter(
            due_at__gte=day_start(user, first_day),
            due_at__lt=day_start(user, first_day + datetime.timedelta(days=days)),
        )
        .select_related(None)
        .annotate(
            day=local_day,
            position=WindowFunction(RowNumber(), partition_by=[local_day], order_by=[F("due_at"), F("pk")]),
            day_total=WindowFunction(Count("pk"), partition_by=[local_day]),
        )
        .filter(position__gt=start, position__lte=start + per_day)
        .values_list("pk", "day", "day_total")
    )
    totals: dict[datetime.date, int] = {}
    ids = []
    for pk, day, day_total in shown:
        ids.append(pk)
        totals[day] = day_total
    by_day: dict[datetime.date, list[FollowUp]] = {}
    for follow_up in follow_ups_visible_to(user).filter(pk__in=ids).order_by("due_at", "pk"):
        by_day.setdefault(timezone.localtime(follow_up.due_at, zone).date(), []).append(follow_up)
    today = local_today(user)
    return [
        AgendaDay(day, by_day.get(day, []), totals.get(day, 0), day == today, page, per_day)
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
