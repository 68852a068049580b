"""Work queued for the Celery worker that survives the broker being down (a transactional outbox).

`enqueue(task, *args)` writes a row in the caller's transaction: the change and the work it asks for
are saved together or not at all. Once the transaction commits, the row is handed to the broker. If
the broker is down, the user's request still succeeds: the row waits, and the relay (beat, every
minute) runs what has waited once the broker, and with it beat and the worker, is back.

Each row runs once: whoever runs it (the worker, given it by the broker, or the relay) claims it
first with a conditional update, so a message delivered twice, or a row the relay reaches while its
message is still queued, does nothing the second time. A task that fails is tried again with a
growing wait, up to MAX_ATTEMPTS; one that was running when its worker died is tried again after
STALLED. Rows keep the task's name and ids only, never patient data, and so do the logs.
"""

import datetime
import logging

from celery import current_app, shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mtm.models import QueuedTask, QueuedTaskStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STALLED = datetime.timedelta(minutes=15)  # running this long: its worker died
RELAY_BATCH = 100
KEEP_DONE = datetime.timedelta(days=7)


def enqueue(task, *args) -> QueuedTask:
    """Queue `task(*args)` (a Celery task; args as JSON) with the current transaction."""
    row = QueuedTask.objects.create(task=task.name, args=list(args), next_attempt_at=timezone.now())
    transaction.on_commit(lambda: _hand_over(row))
    return row


def _hand_over(row: QueuedTask) -> None:
    try:
        run_queued.apply_async((str(row.pk),), retry=False)
    except Exception as error:  # the broker is down: the relay runs it later
        logger.warning(
            "Broker unavailable (%s); queued task %s %s will be relayed",
            type(error).__name__,
            row.task,
            row.pk,
        )


@shared_task(name="mtm.outbox.run_queued")
def run_queued(row_id: str) -> str:
    """The worker's side: claim the row, run its task, record the outcome."""
    return run(row_id, now=timezone.now())


def run(row_id, *, now: datetime.datetime) -> str:
    claimed = QueuedTask.objects.filter(_runnable(now), pk=row_id).update(
        status=QueuedTaskStatus.RUNNING, started_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "already run or running"
    row = QueuedTask.objects.get(pk=row_id)
    try:
        current_app.tasks[row.task].run(*row.args)
    except Exception as error:
        last_error = f"{type(error).__name__}: {error}"[:300]
        if row.attempts >= MAX_ATTEMPTS:
            QueuedTask.objects.filter(pk=row.pk).update(
                status=QueuedTaskStatus.FAILED, finished_at=timezone.now(), last_error=last_error
            )
            logger.error("Queued task %s %s failed for good: %s", row.task, row.pk, type(error).__name__)
            return "failed"
        retry_at = timezone.now() + min(
            datetime.timedelta(minutes=2**row.attempts), datetime.timedelta(hours=6)
        )
        QueuedTask.objects.filter(pk=row.pk).update(
            status=QueuedTaskStatus.PENDING, next_attempt_at=retry_at, last_error=last_error
        )
        logger.warning(
            "Queued task %s %s failed (%s); tried again later", row.task, row.pk, type(error).__name__
        )
        return "retrying"
    QueuedTask.objects.filter(pk=row.pk).update(status=QueuedTaskStatus.DONE, finished_at=timezone.now())
    return "done"


def _runnable(now: datetime.datetime) -> Q:
    waiting = Q(status=QueuedTaskStatus.PENDING, next_attempt_at__lte=now)
    stalled = Q(status=QueuedTaskStatus.RUNNING, started_at__lt=now - STALLED)
    return waiting | stalled


@shared_task(name="mtm.outbox.relay")
def relay() -> int:
    """Beat, every minute: run what has waited (its message was lost with the broker, or it is due
    again after a failure), and forget what was done a week ago. Returns how many rows it ran."""
    now = timezone.now()
    QueuedTask.objects.filter(status=QueuedTaskStatus.DONE, finished_at__lt=now - KEEP_DONE).delete()
    waited = datetime.timedelta(seconds=settings.OUTBOX_RELAY_SECONDS)  # younger rows: their message comes
    count = 0
    while True:
        due = list(
            QueuedTask.objects.filter(_runnable(now - waited))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:RELAY_BATCH]
        )
        for row_id in due:
            run(row_id, now=timezone.now())
        count += len(due)
        if len(due) < RELAY_BATCH:
            return count
