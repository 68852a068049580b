"""What each role's Today page shows: the work waiting for them, gathered from reviews and
follow-ups with a fixed number of queries whatever the organisation holds (each list is capped and
says how many there are in all)."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from followups import selectors
from followups.models import FollowUpStatus, Reminder, ReminderStatus
from mtm.scoping import scope_to_organisation
from patients.selectors import patients_visible_to
from reviews import selectors as review_selectors
from reviews.models import Audience, Response, Review, ReviewStatus

SHOWN = 15  # rows per list on the page; the full lists are a click away


@dataclass(frozen=True)
class Capped:
    rows: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def _capped(items) -> Capped:
    """The first SHOWN of a list, or of a query (two queries: the rows and the count)."""
    if isinstance(items, list):
        return Capped(items[:SHOWN], len(items))
    return Capped(list(items[:SHOWN]), items.count())


@dataclass(frozen=True)
class PharmacistDay:
    open_reviews: Capped  # planned or in progress, the pharmacist's own
    summaries: Capped  # written summaries of their CMRs to deliver, the latest deadline last
    answers_overdue: Capped  # prescribers' answers awaited longer than the organisation allows
    follow_ups: selectors.Window  # assigned to them: overdue and still due today, the oldest first


def pharmacist_day(*, user, today: datetime.date) -> PharmacistDay:
    open_reviews = (
        review_selectors.reviews_visible_to(user)
        .filter(pharmacist=user)
        .exclude(status=ReviewStatus.COMPLETED)
        .order_by("status", "scheduled_for", "created_at")  # in progress, then planned
    )
    return PharmacistDay(
        open_reviews=_capped(open_reviews),
        summaries=_capped(review_selectors.summaries_due(user=user, today=today, pharmacist=user)),
        answers_overdue=_capped(
            review_selectors.awaiting_answer(user=user, today=today).filter(problem__review__pharmacist=user)
        ),
        follow_ups=selectors.follow_ups_due(user=user, assigned_to=user, per_page=SHOWN),
    )


@dataclass(frozen=True)
class LetterToSend:
    review: Review
    prescriber_name: str
    prescriber_fax: str
    recommendations: int


@dataclass(frozen=True)
class StaffDay:
    follow_ups: selectors.Window  # everyone's: overdue and still due today, the oldest first
    reminders_failed: int  # not sent and not dealt with (counted up to mtm.paging.COUNT_CAP + 1)
    letters_to_send: Capped  # prescriber letters not marked as faxed yet, one per review and prescriber
    answers_overdue: Capped  # answers to chase and record


def staff_day(*, user, today: datetime.date) -> StaffDay:
    unsent = (
        review_selectors.recommendations_visible_to(user)
        .filter(audience=Audience.PRESCRIBER, sent_on__isnull=True, response=Response.PENDING)
        .values("problem__review", "prescriber__first_name", "prescriber__last_name", "prescriber__fax")
        .annotate(count=Count("id"))
        .order_by("problem__review__completed_at", "prescriber__last_name")
    )
    letters = list(unsent[: SHOWN + 1])
    reviews = review_selectors.reviews_visible_to(user).in_bulk([row["problem__review"] for row in letters])
    return StaffDay(
        follow_ups=selectors.follow_ups_due(user=user, per_page=SHOWN),
        reminders_failed=selectors.reminders_failed_count(user=user),
        letters_to_send=Capped(
            [
                LetterToSend(
                    reviews[row["problem__review"]],
                    f"{row['prescriber__first_name']} {row['prescriber__last_name']}",
                    row["prescriber__fax"],
                    row["count"],
                )
                for row in letters[:SHOWN]
            ],
            unsent.count(),
        ),
        answers_overdue=_capped(review_selectors.awaiting_answer(user=user, today=today)),
    )


@dataclass(frozen=True)
class OrganisationFigures:
    month_start: datetime.date
    outcomes: review_selectors.Outcomes  # reviews completed this month, problems, answers
    open_reviews: int
    summaries_late: int
    summaries_due_soon: int  # within SUMMARY_AT_RISK_DAYS
    answers_overdue: int
    follow_ups_overdue: int
    reminders_failed: int
    patients: int


def organisation_figures(*, user, today: datetime.date) -> OrganisationFigures:
    month_start = today.replace(day=1)
    total, _ = review_selectors.outcomes(user=user, start=month_start, end=today)
    summaries_late, summaries_due_soon = review_selectors.summaries_due(
        user=user, today=today
    ).late_and_due_soon()
    return OrganisationFigures(
        month_start=month_start,
        outcomes=total,
        open_reviews=review_selectors.reviews_visible_to(user).exclude(status=ReviewStatus.COMPLETED).count(),
        summaries_late=summaries_late,
        summaries_due_soon=summaries_due_soon,
        answers_overdue=review_selectors.awaiting_answer(user=user, today=today).count(),
        follow_ups_overdue=selectors.follow_ups_visible_to(user)
        .filter(status=FollowUpStatus.SCHEDULED, due_at__lt=timezone.now())
        .count(),
        reminders_failed=scope_to_organisation(Reminder.objects.all(), user)
        .filter(Q(status=ReminderStatus.FAILED) & Q(handled_at__isnull=True))
        .count(),
        patients=patients_visible_to(user).count(),
    )
