"""Reminders sent by Celery beat on real workers, each exactly once."""

import datetime
import time

import pytest
from django.utils import timezone

from followups.models import FollowUpKind, Reminder, ReminderAttempt, ReminderStatus
from followups.services import follow_up_create
from mtm.audit import Actor

pytestmark = pytest.mark.integration


def _messages(folder, marker: str) -> list[str]:
    """Every message written to the folder (the email file backend appends to one file per
    connection; the SMS file backend writes a file per message)."""
    text = "".join(path.read_text() for path in sorted(folder.iterdir()))
    return text.split(marker)[1:]


def test_two_workers_with_two_beats_send_a_reminder_due_in_seconds_exactly_once(
    celery_workers, org, patient, pharmacist
):
    patient.email, patient.mobile_phone = "walter@example.org", "+16085550100"
    patient.consent_email_reminders = patient.consent_sms_reminders = True
    patient.preferred_language = "es"
    patient.save()
    # Due a day and a few seconds from now: the day-before reminders are due in a few seconds.
    follow_up = follow_up_create(
        patient=patient,
        by=Actor(user=pharmacist),
        data={
            "kind": FollowUpKind.PHONE_CHECK_IN,
            "due_at": timezone.now() + datetime.timedelta(days=1, seconds=6),
        },
    )
    assert follow_up.reminders.count() == 2

    # Two workers, each with its own beat firing the dispatch every second: four times as many
    # chances to send twice as a single beat every minute.
    fast = {"REMINDER_DISPATCH_SECONDS": "1"}
    celery_workers.start(beat=True, env=fast)
    celery_workers.start(beat=True, env=fast)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Reminder.objects.filter(follow_up=follow_up, status=ReminderStatus.SENT).count() == 2:
            break
        time.sleep(0.5)
    time.sleep(5)  # ten more beats: nothing else may go out

    logs = celery_workers.logs()
    emails = _messages(celery_workers.mail_dir, "Message-ID: ")
    texts = _messages(celery_workers.sms_dir, "To: ")
    assert len(emails) == 1, logs
    assert len(texts) == 1, logs
    mail = "".join(path.read_text() for path in celery_workers.mail_dir.iterdir())
    assert "To: walter@example.org" in mail and "Subject: Recordatorio: su llamada de seguimiento" in mail
    assert texts[0].startswith("+16085550100")
    for reminder in Reminder.objects.filter(follow_up=follow_up):
        assert (reminder.status, reminder.attempts) == (ReminderStatus.SENT, 1)
        assert list(ReminderAttempt.objects.filter(reminder=reminder).values_list("outcome", flat=True)) == [
            "sent"
        ]
    # Both beats really fired, several times each.
    for n in (1, 2):
        log = (celery_workers.tmp_path / f"worker-{n}.log").read_text()
        assert log.count("Sending due task send-due-reminders") >= 3, log
