"""Sending due reminders, each exactly once.

One pass, batch after batch:
1. Claim: in one transaction, lock due rows (FOR UPDATE SKIP LOCKED where the database has it) and
   move them from "pending" to "sending" with this pass's id. The conditional update is the guard:
   a second pass, a beat that fires twice or a retried task finds nothing left to claim.
2. Send each claimed reminder. A failure is caught per reminder, so one bad address does not stop
   the batch.
3. Record the batch in a constant number of queries: sent, retry later (backoff, up to
   MAX_ATTEMPTS) or failed, with one attempt row each.

If the process dies between sending and recording, its rows stay "sending". They are never sent
again automatically (that could send twice): after LEASE they become "failed" with a note, and
staff see them to check. Nothing is lost silently and nothing goes out twice.
"""

import datetime
import uuid
from dataclasses import dataclass, field

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from followups.messages import compose
from followups.models import Channel, Reminder, ReminderAttempt, ReminderStatus
from followups.services import digests_plan
from followups.sms import send_sms

BATCH_SIZE = 200
MAX_ATTEMPTS = 5
LEASE = datetime.timedelta(minutes=15)


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
        _send_batch(claimed, now, result)


def _fail_interrupted(now: datetime.datetime) -> int:
    stuck = list(
        Reminder.objects.filter(status=ReminderStatus.SENDING, claimed_at__lt=now - LEASE).values_list(
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


def _claim(now: datetime.datetime, batch_size: int, pass_id: uuid.UUID) -> list[Reminder]:
    with transaction.atomic():
        due = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=ReminderStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not due:
            return []
        Reminder.objects.filter(pk__in=due, status=ReminderStatus.PENDING).update(
            status=ReminderStatus.SENDING, claimed_by=pass_id, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(
        Reminder.objects.filter(claimed_by=pass_id, status=ReminderStatus.SENDING).select_related(
            "organisation", "staff", "follow_up__patient", "follow_up__assigned_to"
        )
    )


def _send_batch(claimed: list[Reminder], now: datetime.datetime, result: DispatchResult) -> None:
    messages = compose(claimed, now)
    attempts = []
    for reminder in claimed:
        message = messages.get(reminder.pk)
        if message is None:  # no longer wanted: follow-up closed, consent withdrawn, no address
            reminder.status = ReminderStatus.CANCELLED
            result.cancelled += 1
            continue
        try:
            if reminder.channel == Channel.SMS:
                send_sms(to=message.to, body=message.body, key=str(reminder.pk))
            else:
                email = EmailMessage(message.subject, message.body, to=[message.to])
                email.extra_headers["Message-ID"] = f"<reminder-{reminder.pk}@mtm>"  # the same on any retry
                email.send()
        except Exception as error:  # any failure of one message is recorded; the batch goes on
            reminder.last_error = f"{type(error).__name__}: {error}"[:300]
            if reminder.attempts >= MAX_ATTEMPTS:
                reminder.status = ReminderStatus.FAILED
                result.failed += 1
            else:
                reminder.status = ReminderStatus.PENDING
                reminder.next_attempt_at = now + backoff(reminder.attempts)
                result.retrying += 1
            result.errors.append(reminder.last_error)
            attempts.append(ReminderAttempt(reminder=reminder, number=reminder.attempts, started_at=now,
                                            outcome="error", error=reminder.last_error))  # fmt: skip
            continue
        reminder.status, reminder.sent_at = ReminderStatus.SENT, timezone.now()
        result.sent += 1
        attempts.append(
            ReminderAttempt(reminder=reminder, number=reminder.attempts, started_at=now, outcome="sent")
        )
    with transaction.atomic():
        Reminder.objects.bulk_update(
            claimed, ["status", "sent_at", "next_attempt_at", "last_error"], batch_size=len(claimed)
        )
        ReminderAttempt.objects.bulk_create(attempts)
