"""Real workers, a broker that is down and a worker killed mid-pass: nothing is lost, nothing goes
out twice."""

import datetime
import os
import signal
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from followups import tasks as followup_tasks
from followups.models import FollowUpKind, Reminder, ReminderStatus
from followups.services import follow_up_create
from mtm.audit import Actor
from mtm.models import QueuedTask, QueuedTaskStatus
from tests import factories
from tests.integration.conftest import messages_in, wait_for_messages

pytestmark = pytest.mark.integration


def test_a_password_reset_asked_while_the_broker_is_down_is_sent_once_it_is_back(
    client, pharmacist, broker_down, celery_workers
):
    response = client.post(reverse("password_reset"), {"email": pharmacist.email})
    assert response.status_code == 302  # the user is told the email is on its way
    assert QueuedTask.objects.get().status == QueuedTaskStatus.PENDING

    # The broker is back (the workers use the one that is up), and beat relays what waited.
    celery_workers.start(beat=True, env={"OUTBOX_RELAY_SECONDS": "1"})
    assert wait_for_recipients(celery_workers.mail_dir, 1) == [f"To: {pharmacist.email}"], (
        celery_workers.logs()
    )
    time.sleep(3)  # more relay passes: nothing more goes out
    assert recipients_of(celery_workers.mail_dir) == [f"To: {pharmacist.email}"]
    assert QueuedTask.objects.get().status == QueuedTaskStatus.DONE


def test_a_worker_killed_mid_pass_leaves_at_most_the_message_in_flight_in_doubt(
    org, pharmacist, celery_workers
):
    by = Actor(user=pharmacist)
    for number in range(10):
        patient = factories.make_patient(org, first_name=f"P{number}", email=f"p{number}@example.org",
                                         consent_email_reminders=True)  # fmt: skip
        follow_up_create(patient=patient, by=by, data={"kind": FollowUpKind.PHONE_CHECK_IN,
                         "due_at": timezone.now() + datetime.timedelta(days=2)})  # fmt: skip
    due = timezone.now() - datetime.timedelta(minutes=1)
    Reminder.objects.update(send_at=due, next_attempt_at=due)
    settings = {
        "EMAIL_BACKEND": "tests.integration.slow_mail.SlowFileBackend",
        "REMINDER_RECLAIM_SECONDS": "2",
    }

    celery_workers.start(env=settings)
    followup_tasks.send_due_reminders.delay()
    wait_for_recipients(celery_workers.mail_dir, 3)
    killed, _ = celery_workers.processes[0]
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=10)
    sent_before = len(recipients_of(celery_workers.mail_dir))
    in_doubt = Reminder.objects.filter(status=ReminderStatus.SENDING, started_at__isnull=False).count()
    waiting = Reminder.objects.filter(status=ReminderStatus.SENDING, started_at=None).count()
    assert in_doubt <= 1 and waiting >= 1 and sent_before < 10

    time.sleep(2.5)  # the dead pass's claim is now stale
    celery_workers.start(env=settings)
    followup_tasks.send_due_reminders.delay()
    wait_for_recipients(celery_workers.mail_dir, 10 - in_doubt)
    time.sleep(1)
    recipients = recipients_of(celery_workers.mail_dir)
    assert len(recipients) == len(set(recipients)), "a reminder went out twice"
    assert len(recipients) >= 10 - in_doubt, celery_workers.logs()
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() >= 10 - in_doubt
    assert not Reminder.objects.filter(status=ReminderStatus.SENDING, started_at=None).exists()


def recipients_of(folder) -> list[str]:
    """The "To:" line of each complete message."""
    return [
        line for message in messages_in(folder) for line in message.splitlines() if line.startswith("To: ")
    ]


def wait_for_recipients(folder, count: int, seconds: float = 30) -> list[str]:
    wait_for_messages(folder, count, seconds)
    return recipients_of(folder)
