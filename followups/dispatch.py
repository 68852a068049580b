"""Sending due reminders, each exactly once.

One pass, batch after batch:
1. Claim: in one transaction, lock due rows (FOR UPDATE SKIP LOCKED where the database has it) and
   move them from "pending" to "sending" with this pass's id. The conditional update is the guard:
   a second pass, a beat that fires twice or a retried task finds nothing left to claim. Rows a
   pass claimed but never started (its process died) can be claimed again after RECLAIM.
2. Each claimed reminder in turn: mark it started (a conditional update on this pass's claim: a
   row another pass has taken over is left to it), send it, and record the outcome with its attempt
   row. Each step commits before the next message, so what is known survives a crash. A failure is
   caught per reminder, so one bad address does not stop the batch.

If the process dies, only the message it was sending is in doubt: its row is "sending" with a start
time. It is never sent again automatically (that could send twice): after LEASE it becomes "failed"
with a note, and staff see it to check. Everything claimed but not started goes out on a later pass.
Nothing is lost silently and nothing goes out twice.
"""

import datetime
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from followups.messages import compose
from followups.models import Channel, Reminder, ReminderAttempt, ReminderStatus
from followups.services import digests_plan
from followups.sms import send_sms

BATCH_SIZE = 200
MAX_ATTEMPTS = 5
LEASE = datetime.timedelta(minutes=15)  # a message started this long ago and not recorded: in doubt
# A claim not started this long after: its pass has died (a setting, so a test can wait seconds).
RECLAIM = datetime.timedelta(seconds=settings.REMINDER_RECLAIM_SECONDS)


def backoff(attempts: int) -> datetime.timedelta:
    """Wait before try number attempts + 1: 2, 4, 8, 16 minutes ..., at most 6 hours."""
    return min(datetime.timedelta(minutes=2**attempts), datetime.timedelta(hours=6))


@dataclass
class DispatchResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    interrupted: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)


def run_pass(now: datetime.datetime | None = None) -> "DispatchResult":
    """What beat runs every minute and `manage.py send_due_reminders` runs by hand: add today's staff
    digests once it is 7 am, then send everything due."""
    now = now or timezone.now()
    digests_plan(now)
    return send_due_reminders(now=now)


def send_due_reminders(
    *, now: datetime.datetime | None = None, batch_size: int = BATCH_SIZE
) -> DispatchResult:
    """One dispatch pass: everything due at `now`, in batches. Safe to run concurrently."""
    now = now or timezone.now()
    result = DispatchResult(interrupted=_fail_interrupted(now))
    pass_id = uuid.uuid4()
    while True:
        claimed = _claim(now, batch_size, pass_id)
        if not claimed:
            return result
        result.batches += 1
        _send_batch(claimed, now, pass_id, result)


def _fail_interrupted(now: datetime.datetime) -> int:
    """Messages started by a pass that died before recording them: in doubt, for staff to check."""
    stuck = list(
        Reminder.objects.filter(status=ReminderStatus.SENDING, started_at__lt=now - LEASE).values_list(
            "pk", "attempts"
        )
    )
    if not stuck:
        return 0
    with transaction.atomic():
        changed = Reminder.objects.filter(
            pk__in=[pk for pk, _ in stuck], status=ReminderStatus.SENDING
        ).update(
            status=ReminderStatus.FAILED,
            last_error="Sending was interrupted; it may or may not have gone out. Check before sending again.",
        )
        ReminderAttempt.objects.bulk_create(
            ReminderAttempt(reminder_id=pk, number=attempts, started_at=now, outcome="interrupted")
            for pk, attempts in stuck
        )
    return changed


def _claimable(now: datetime.datetime) -> Q:
    due = Q(status=ReminderStatus.PENDING, next_attempt_at__lte=now)
    abandoned = Q(status=ReminderStatus.SENDING, started_at=None, claimed_at__lt=now - RECLAIM)
    return due | abandoned


def _claim(now: datetime.datetime, batch_size: int, pass_id: uuid.UUID) -> list[Reminder]:
    with transaction.atomic():
        due = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(_claimable(now))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not due:
            return []
        Reminder.objects.filter(_claimable(now), pk__in=due).update(
            status=ReminderStatus.SENDING, claimed_by=pass_id, claimed_at=now
        )
    return list(
        Reminder.objects.filter(claimed_by=pass_id, status=ReminderStatus.SENDING).select_related(
            "organisation", "staff", "follow_up__patient", "follow_up__assigned_to"
        )
    )


def _send_batch(claimed: list[Reminder], now: datetime.datetime, pass_id: uuid.UUID, result) -> None:
    messages = compose(claimed, now)
    for reminder in claimed:
        ours = Reminder.objects.filter(
            pk=reminder.pk, claimed_by=pass_id, status=ReminderStatus.SENDING, started_at=None
        )
        message = messages.get(reminder.pk)
        if message is None:  # no longer wanted: follow-up closed, consent withdrawn, no address
            result.cancelled += ours.update(status=ReminderStatus.CANCELLED, claimed_by=None)
            continue
        if not ours.update(started_at=now, attempts=F("attempts") + 1):
            continue  # another pass took it over after this one stalled: it is theirs now
        reminder.attempts += 1
        try:
            if reminder.channel == Channel.SMS:
                send_sms(to=message.to, body=message.body, key=str(reminder.pk))
            else:
                email = EmailMessage(message.subject, message.body, to=[message.to])
                email.extra_headers["Message-ID"] = f"<reminder-{reminder.pk}@mtm>"  # the same on any retry
                email.send()
        except Exception as error:  # any failure of one message is recorded; the batch goes on
            error_text = f"{type(error).__name__}: {error}"[:300]
            if reminder.attempts >= MAX_ATTEMPTS:
                outcome = {"status": ReminderStatus.FAILED}
                result.failed += 1
            else:
                retry_at = now + backoff(reminder.attempts)
                outcome = {"status": ReminderStatus.PENDING, "next_attempt_at": retry_at, "claimed_by": None,
                           "started_at": None}  # fmt: skip
                result.retrying += 1
            result.errors.append(error_text)
            _record(reminder, now, {**outcome, "last_error": error_text}, outcome="error", error=error_text)
            continue
        _record(reminder, now, {"status": ReminderStatus.SENT, "sent_at": timezone.now()}, outcome="sent")
        result.sent += 1


def _record(reminder: Reminder, now: datetime.datetime, changes: dict, **attempt) -> None:
    """The outcome of one try and its attempt row, together."""
    with transaction.atomic():
        Reminder.objects.filter(pk=reminder.pk).update(**changes)
        ReminderAttempt.objects.create(reminder=reminder, number=reminder.attempts, started_at=now, **attempt)
    for name, value in changes.items():
        setattr(reminder, name, value)
