"""Work queued for the worker survives the broker being down (mtm/outbox.py): the user's action
succeeds, nothing is lost, and each piece of work runs once when the relay reaches it."""

import datetime
import time

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from followups.models import FollowUpKind, ReminderStatus
from followups.services import follow_up_create
from mtm import outbox
from mtm.audit import Actor
from mtm.models import QueuedTask, QueuedTaskStatus, User
from mtm.tasks import send_password_link_email


def test_a_password_reset_with_the_broker_down_is_sent_once_the_relay_runs(
    client, pharmacist, broker_down, django_capture_on_commit_callbacks
):
    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": pharmacist.email})
    assert response.status_code == 302 and time.perf_counter() - started < 2  # no wait for the broker
    [row] = QueuedTask.objects.all()
    assert (row.task, row.status, mail.outbox) == ("mtm.tasks.send_password_link_email", "pending", [])
    assert outbox.relay() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [pharmacist.email]
    assert outbox.relay() == 0 and len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.status == QueuedTaskStatus.DONE


def test_a_colleague_added_with_the_broker_down_gets_the_welcome_email_later(
    admin_client_org, broker_down, django_capture_on_commit_callbacks
):
    data = {"username": "newpharm", "first_name": "Nia", "last_name": "Long", "email": "nia@example.org",
            "role": "pharmacist"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_org.post(reverse("team_add"), data)
    assert response.status_code == 302 and User.objects.filter(username="newpharm").exists()
    assert not mail.outbox
    outbox.relay()
    assert [m.to for m in mail.outbox] == [["nia@example.org"]]


def test_reminder_times_changed_with_the_broker_down_are_applied_later(
    org, pharmacist, patient, admin_client_org, broker_down, django_capture_on_commit_callbacks
):
    patient.email, patient.consent_email_reminders = "walter@example.org", True
    patient.save()
    due = timezone.now() + datetime.timedelta(days=6)
    follow_up = follow_up_create(
        patient=patient, by=Actor(user=pharmacist), data={"kind": FollowUpKind.PHONE_CHECK_IN, "due_at": due}
    )
    data = {"name": org.name, "time_zone": org.time_zone, "reminder_leads": "3d", "version": org.version,
            "prescriber_response_days": org.prescriber_response_days}  # fmt: skip
    for name in ("phone", "fax", "address_line", "city", "state", "postal_code"):
        data[name] = getattr(org, name, "") or ""
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_org.post(reverse("organisation_settings"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert follow_up.reminders.get(status=ReminderStatus.PENDING).send_at == due - datetime.timedelta(days=1)
    assert outbox.relay() == 1
    assert follow_up.reminders.get(status=ReminderStatus.PENDING).send_at == due - datetime.timedelta(days=3)


def test_work_that_fails_is_tried_again_later_and_runs_once(pharmacist, settings):
    settings.OUTBOX_RELAY_SECONDS = 0
    row = QueuedTask.objects.create(
        task=send_password_link_email.name, args=[str(pharmacist.pk), "https://mtm.example", "reset"],
        next_attempt_at=timezone.now(),
    )  # fmt: skip
    settings.EMAIL_BACKEND = "tests.mtm.test_outbox.DownBackend"
    assert outbox.run(row.pk, now=timezone.now()) == "retrying"
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1 and "SMTP server down" in row.last_error
    assert row.next_attempt_at > timezone.now()  # waits before the next try
    assert outbox.relay() == 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = row.next_attempt_at + datetime.timedelta(seconds=1)
    assert outbox.run(row.pk, now=later) == "done"
    assert outbox.run(row.pk, now=later) == "already run or running"  # its message delivered twice
    assert len(mail.outbox) == 1


def test_work_whose_worker_died_is_run_again_after_it_stalled(pharmacist, settings):
    row = QueuedTask.objects.create(
        task=send_password_link_email.name, args=[str(pharmacist.pk), "https://mtm.example", "reset"],
        next_attempt_at=timezone.now(), status=QueuedTaskStatus.RUNNING, started_at=timezone.now(),
    )  # fmt: skip
    assert outbox.run(row.pk, now=timezone.now()) == "already run or running"
    assert outbox.run(row.pk, now=timezone.now() + outbox.STALLED + datetime.timedelta(seconds=1)) == "done"
    assert len(mail.outbox) == 1


class DownBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


def test_the_relay_leaves_young_rows_to_their_own_message(pharmacist, settings):
    settings.OUTBOX_RELAY_SECONDS = 60
    QueuedTask.objects.create(
        task=send_password_link_email.name, args=[str(pharmacist.pk), "https://mtm.example", "reset"],
        next_attempt_at=timezone.now(),
    )  # fmt: skip
    assert outbox.relay() == 0 and not mail.outbox
