import datetime
import threading
import time
import uuid
import zoneinfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from followups import dispatch
from followups.dispatch import send_due_reminders
from followups.models import FollowUp, FollowUpKind, FollowUpStatus, Reminder, ReminderAttempt, ReminderStatus
from followups.services import follow_up_close, follow_up_create, follow_up_reschedule, next_weekday
from followups.sms import MemoryBackend
from mtm.audit import Actor
from mtm.services import organisation_update
from patients.services import patient_update
from reviews import services as review_services
from reviews.models import Audience, PatientAction, ProblemCategory
from tests import factories

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist)


@pytest.fixture
def consenting(patient):
    patient.email, patient.mobile_phone = "walter@example.org", "+16085550100"
    patient.consent_email_reminders = patient.consent_sms_reminders = True
    patient.save()
    return patient


@pytest.fixture(autouse=True)
def sms_in_memory(settings):
    settings.SMS_BACKEND = "followups.sms.MemoryBackend"
    MemoryBackend.outbox = []


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), NEW_YORK)


def phone_check_in(patient, by, due_at, **data):
    """Booked by hand; several the same day are on purpose here (book_anyway)."""
    return follow_up_create(
        patient=patient, by=by, data={"kind": FollowUpKind.PHONE_CHECK_IN, "due_at": due_at, **data},
        book_anyway=True,
    )  # fmt: skip


# --- Automatic follow-ups --------------------------------------------------------------------------------


@pytest.fixture
def completed_cmr(patient, by, org):
    prescriber = factories.make_prescriber(org)
    review = review_services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    review = review_services.review_start(review=review, version=review.version, by=by)
    problem = review_services.problem_add(
        review=review, data={"title": "INR not checked", "category": ProblemCategory.NEEDS_ADDITIONAL}, medications=[], by=by
    )  # fmt: skip
    review_services.recommendation_add(
        problem=problem, by=by,
        data={"audience": Audience.PATIENT, "action": PatientAction.MONITORING, "text": "INR check in 2 weeks"},
    )  # fmt: skip
    letter = review_services.recommendation_add(
        problem=problem, by=by, prescriber_confirmed=True,  # not on the care team: confirmed
        data={"audience": Audience.PRESCRIBER, "action": "", "text": "Please order an INR", "prescriber": prescriber},
    )  # fmt: skip
    review = review_services.review_complete(review=review, version=review.version, minutes_spent=30, by=by)
    return review, letter


def test_completing_a_cmr_schedules_the_next_review_the_summary_deadline_and_the_lab_check(
    completed_cmr, org
):
    review, _ = completed_cmr
    follow_ups = {f.kind: f for f in FollowUp.objects.filter(review=review)}
    assert set(follow_ups) == {
        FollowUpKind.TARGETED_REVIEW,
        FollowUpKind.SUMMARY_DELIVERY,
        FollowUpKind.LAB_CHECK,
    }
    completed_on = timezone.localtime(review.completed_at, zoneinfo.ZoneInfo(org.time_zone)).date()
    local = {
        kind: timezone.localtime(f.due_at, zoneinfo.ZoneInfo(org.time_zone)) for kind, f in follow_ups.items()
    }
    # 90 and 14 days on, or the Monday after when that falls on a weekend (the test runs any day).
    assert local[FollowUpKind.TARGETED_REVIEW].date() == next_weekday(
        completed_on + datetime.timedelta(days=90)
    )
    assert local[FollowUpKind.SUMMARY_DELIVERY].date() == next_weekday(
        completed_on + datetime.timedelta(days=14)
    )
    assert local[FollowUpKind.SUMMARY_DELIVERY].weekday() < 5
    assert local[FollowUpKind.TARGETED_REVIEW].time() == datetime.time(10, 0)  # the organisation's 10 am
    assert follow_ups[FollowUpKind.LAB_CHECK].notes == "INR check in 2 weeks"
    assert all(f.assigned_to == review.pharmacist for f in follow_ups.values())


def test_a_letter_sent_to_the_prescriber_schedules_a_response_check(completed_cmr, by, org):
    _, letter = completed_cmr
    sent_on = datetime.date(2026, 11, 2)
    review_services.recommendations_sent(recommendations=[letter], on=sent_on, by=by)
    review_services.recommendations_sent(
        recommendations=[letter], on=sent_on, by=by
    )  # twice: still one check
    check = FollowUp.objects.get(kind=FollowUpKind.RESPONSE_CHECK)
    assert check.recommendation == letter
    assert timezone.localtime(
        check.due_at, zoneinfo.ZoneInfo(org.time_zone)
    ).date() == sent_on + datetime.timedelta(days=org.prescriber_response_days)


def test_delivering_the_summary_closes_its_follow_up(completed_cmr, by):
    review, _ = completed_cmr
    review_services.summary_delivered(review=review, on=timezone.localdate(), version=review.version, by=by)
    assert FollowUp.objects.get(kind=FollowUpKind.SUMMARY_DELIVERY).status == FollowUpStatus.DONE


# --- Reminders: consent, language, time zones ---------------------------------------------------------------


def test_reminders_follow_the_patients_consent(patient, by):
    due = timezone.now() + datetime.timedelta(days=3)
    assert phone_check_in(patient, by, due).reminders.count() == 0  # no consent: no reminder
    patient.email, patient.consent_email_reminders = "walter@example.org", True
    patient.save()
    assert [
        r.channel for r in phone_check_in(patient, by, due + datetime.timedelta(hours=1)).reminders.all()
    ] == ["email"]
    # A prescriber response check is not an appointment with the patient: no reminder.
    check = follow_up_create(
        patient=patient, by=by, data={"kind": FollowUpKind.RESPONSE_CHECK, "due_at": due}
    )
    assert check.reminders.count() == 0


def test_consent_withdrawn_before_sending_cancels_the_reminder(consenting, by):
    follow_up = phone_check_in(consenting, by, timezone.now() + datetime.timedelta(days=2))
    consenting.consent_email_reminders = consenting.consent_sms_reminders = False
    consenting.save()
    result = send_due_reminders(now=follow_up.due_at)
    assert (result.sent, result.cancelled) == (0, 2) and not mail.outbox and not MemoryBackend.outbox


def test_the_reminder_is_in_the_patients_language_and_says_nothing_clinical(consenting, by, org):
    consenting.preferred_language = "es"
    consenting.save()
    follow_up = phone_check_in(consenting, by, at(datetime.date(2026, 12, 15), 14, 30))
    send_due_reminders(now=follow_up.due_at - datetime.timedelta(hours=23))
    [email] = mail.outbox
    assert email.subject == f"Recordatorio: su llamada de seguimiento con {org.name}"
    assert "el 15/12/2026 a las 14:30" in email.body and email.to == ["walter@example.org"]
    assert (
        "recordatorio de su llamada de seguimiento el 15/12/2026 a las 14:30"
        in MemoryBackend.outbox[0]["body"]
    )


def test_a_day_before_keeps_the_wall_clock_time_across_a_daylight_saving_change(consenting, by, org):
    org.time_zone = "America/New_York"
    org.save()
    # Clocks go forward at 2 am on Sunday 14 March 2027; the check-in is that Sunday at 10 am (EDT).
    follow_up = phone_check_in(consenting, by, at(datetime.date(2027, 3, 14)), duration_minutes=20)
    assert follow_up.due_at.astimezone(datetime.UTC).hour == 14  # 10 am EDT = 14:00 UTC
    reminder = follow_up.reminders.get(channel="email")
    # The day before at 10 am too: 10 am EST is 15:00 UTC, not the 14:00 UTC that "24 hours before" gives.
    assert timezone.localtime(reminder.send_at, NEW_YORK) == at(datetime.date(2027, 3, 13))
    assert reminder.send_at.astimezone(datetime.UTC).hour == 15
    assert send_due_reminders(now=reminder.send_at - datetime.timedelta(minutes=1)).sent == 0
    assert send_due_reminders(now=reminder.send_at).sent == 2
    assert "Sunday, March 14 at 10:00 AM" in mail.outbox[0].body


def test_moving_a_follow_up_moves_its_reminders_and_closing_it_cancels_them(consenting, by):
    first_due = timezone.now() + datetime.timedelta(days=3)
    follow_up = phone_check_in(consenting, by, first_due)
    moved = follow_up_reschedule(
        follow_up=follow_up, due_at=first_due + datetime.timedelta(days=2), version=follow_up.version, by=by
    )
    pending = moved.reminders.filter(status=ReminderStatus.PENDING)
    assert pending.count() == 2 and all(r.send_at > first_due for r in pending)
    assert moved.reminders.filter(status=ReminderStatus.CANCELLED).count() == 2
    closed = follow_up_close(follow_up=moved, status=FollowUpStatus.CANCELLED, version=moved.version, by=by)
    assert not closed.reminders.filter(status=ReminderStatus.PENDING).exists()
    with pytest.raises(ValidationError):
        follow_up_close(follow_up=closed, status=FollowUpStatus.DONE, version=closed.version, by=by)


# --- Dispatch: exactly once ---------------------------------------------------------------------------------


def test_each_reminder_is_sent_once_however_often_the_pass_runs(consenting, by):
    follow_up = phone_check_in(consenting, by, timezone.now() + datetime.timedelta(days=1, hours=1))
    now = follow_up.due_at
    assert send_due_reminders(now=now).sent == 2
    assert send_due_reminders(now=now).sent == 0  # beat fired twice
    call_command("send_due_reminders")  # by hand
    assert len(mail.outbox) == 1 and len(MemoryBackend.outbox) == 1
    assert (
        mail.outbox[0].extra_headers["Message-ID"]
        == f"<reminder-{follow_up.reminders.get(channel='email').pk}@mtm>"
    )


def test_a_failure_in_the_middle_of_a_batch_loses_nothing_and_duplicates_nothing(org, by, monkeypatch):
    patients = []
    for number in range(5):
        patient = factories.make_patient(org, first_name=f"P{number}", email=f"p{number}@example.org",
                                         consent_email_reminders=True)  # fmt: skip
        patients.append(patient)
        phone_check_in(patient, by, timezone.now() + datetime.timedelta(days=1, hours=1))
    original = dispatch.EmailMessage.send

    def flaky(self, *args, **kwargs):
        if self.to == ["p2@example.org"]:
            raise ConnectionError("SMTP server went away")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(dispatch.EmailMessage, "send", flaky)
    now = timezone.now() + datetime.timedelta(days=1)
    first = send_due_reminders(now=now)
    assert (first.sent, first.retrying) == (4, 1)
    failing = Reminder.objects.get(follow_up__patient=patients[2])
    assert failing.status == ReminderStatus.PENDING and "SMTP server went away" in failing.last_error
    assert failing.next_attempt_at == now + dispatch.backoff(1)
    assert send_due_reminders(now=now).sent == 0  # not yet: backing off
    monkeypatch.setattr(dispatch.EmailMessage, "send", original)
    assert send_due_reminders(now=failing.next_attempt_at).sent == 1
    assert sorted(m.to[0] for m in mail.outbox) == [f"p{n}@example.org" for n in range(5)]
    assert list(ReminderAttempt.objects.filter(reminder=failing).values_list("outcome", flat=True)) == [
        "error",
        "sent",
    ]


def test_a_reminder_that_keeps_failing_is_given_up_and_shown_as_failed(consenting, by, monkeypatch):
    consenting.consent_sms_reminders = False
    consenting.save()
    follow_up = phone_check_in(consenting, by, timezone.now() + datetime.timedelta(days=1, hours=1))
    monkeypatch.setattr(dispatch.EmailMessage, "send", lambda self: (_ for _ in ()).throw(OSError("refused")))
    now = follow_up.due_at
    for _ in range(dispatch.MAX_ATTEMPTS):
        send_due_reminders(now=now)
        now += datetime.timedelta(hours=7)
    reminder = follow_up.reminders.get()
    assert reminder.status == ReminderStatus.FAILED and reminder.attempts == dispatch.MAX_ATTEMPTS


def test_a_pass_that_died_after_sending_is_never_sent_again(consenting, by):
    follow_up = phone_check_in(consenting, by, timezone.now() + datetime.timedelta(days=1, hours=1))
    now = follow_up.due_at
    # A pass claimed the reminders, started sending them, and died before recording it.
    follow_up.reminders.update(status=ReminderStatus.SENDING, claimed_at=now, started_at=now, attempts=1)
    assert send_due_reminders(now=now).sent == 0  # still within the lease: left alone
    later = send_due_reminders(now=now + dispatch.LEASE + datetime.timedelta(minutes=1))
    assert later.sent == 0 and later.interrupted == 2 and not mail.outbox
    assert set(follow_up.reminders.values_list("status", flat=True)) == {ReminderStatus.FAILED}


class Killed(BaseException):
    """What the process being killed looks like from inside: nothing after it runs."""


def test_a_pass_killed_mid_batch_leaves_only_the_message_in_flight_in_doubt(org, by, monkeypatch):
    for number in range(6):
        patient = factories.make_patient(org, first_name=f"P{number}", email=f"p{number}@example.org",
                                         consent_email_reminders=True)  # fmt: skip
        phone_check_in(patient, by, timezone.now() + datetime.timedelta(days=1, hours=1))
    original = dispatch.EmailMessage.send

    def killed_on_the_third(self, *args, **kwargs):
        if self.to == ["p2@example.org"]:
            raise Killed  # the worker is killed while this message is on its way
        return original(self, *args, **kwargs)

    monkeypatch.setattr(dispatch.EmailMessage, "send", killed_on_the_third)
    now = timezone.now() + datetime.timedelta(days=1)
    with pytest.raises(Killed):
        send_due_reminders(now=now)
    assert [m.to[0] for m in mail.outbox] == ["p0@example.org", "p1@example.org"]
    in_doubt = Reminder.objects.get(follow_up__patient__first_name="P2")
    assert in_doubt.status == ReminderStatus.SENDING and in_doubt.started_at is not None
    not_started = Reminder.objects.filter(status=ReminderStatus.SENDING, started_at=None)
    assert not_started.count() == 3

    monkeypatch.setattr(dispatch.EmailMessage, "send", original)
    assert send_due_reminders(now=now).sent == 0  # the claim is still fresh: its pass may be alive
    after = send_due_reminders(now=now + dispatch.RECLAIM + datetime.timedelta(minutes=1))
    assert after.sent == 3 and after.interrupted == 0
    assert sorted(m.to[0] for m in mail.outbox) == [f"p{n}@example.org" for n in (0, 1, 3, 4, 5)]
    in_doubt.refresh_from_db()
    assert in_doubt.status == ReminderStatus.SENDING  # never sent again automatically
    late = send_due_reminders(now=now + dispatch.LEASE + datetime.timedelta(minutes=1))
    assert late.interrupted == 1 and late.sent == 0
    in_doubt.refresh_from_db()
    assert in_doubt.status == ReminderStatus.FAILED and "may or may not have gone out" in in_doubt.last_error
    assert len(mail.outbox) == 5


def test_a_stalled_pass_loses_a_claim_taken_over_and_sends_nothing_twice(consenting, by):
    consenting.consent_sms_reminders = False
    consenting.save()
    follow_up = phone_check_in(consenting, by, timezone.now() + datetime.timedelta(days=1, hours=1))
    now = follow_up.due_at
    stalled = dispatch._claim(now, 10, uuid.uuid4())  # a pass claims, then stalls
    assert len(stalled) == 1
    assert send_due_reminders(now=now + dispatch.RECLAIM + datetime.timedelta(seconds=1)).sent == 1
    stalled_pass = dispatch.DispatchResult()
    dispatch._send_batch(stalled, now, stalled[0].claimed_by, stalled_pass)  # it wakes up
    assert stalled_pass.sent == 0 and len(mail.outbox) == 1


def test_moving_a_follow_up_and_moving_it_back_leaves_its_reminders_pending(consenting, by):
    due = timezone.now() + datetime.timedelta(days=5)
    follow_up = phone_check_in(consenting, by, due)
    moved = follow_up_reschedule(follow_up=follow_up, due_at=due + datetime.timedelta(days=2),
                                 version=follow_up.version, by=by)  # fmt: skip
    back = follow_up_reschedule(follow_up=moved, due_at=due, version=moved.version, by=by)
    pending = back.reminders.filter(status=ReminderStatus.PENDING)
    assert sorted(pending.values_list("channel", flat=True)) == ["email", "sms"]
    assert all(r.send_at == due - datetime.timedelta(days=1) for r in pending)
    assert send_due_reminders(now=due - datetime.timedelta(days=1)).sent == 2


def test_consent_withdrawn_and_given_again_leaves_the_reminders_pending(consenting, by):
    follow_up = phone_check_in(consenting, by, timezone.now() + datetime.timedelta(days=4))
    for agreed in (False, True):
        consenting = patient_update(
            patient=consenting, data={"consent_email_reminders": agreed, "consent_sms_reminders": agreed},
            version=consenting.version, by=by,
        )  # fmt: skip
        assert follow_up.reminders.filter(status=ReminderStatus.PENDING).count() == (2 if agreed else 0)
    assert send_due_reminders(now=follow_up.due_at - datetime.timedelta(days=1)).sent == 2


def test_reminder_times_changed_and_changed_back_leave_every_appointment_its_reminders(
    consenting, by, org, django_capture_on_commit_callbacks
):
    consenting.consent_sms_reminders = False
    consenting.save()
    start = timezone.now() + datetime.timedelta(days=5)
    follow_ups = [phone_check_in(consenting, by, start + datetime.timedelta(days=n)) for n in range(8)]
    for leads in ("3d", "1d"):
        with django_capture_on_commit_callbacks(execute=True):
            organisation_update(organisation=org, data={"reminder_leads": leads}, version=org.version, by=by)
        org.refresh_from_db()
    for follow_up in follow_ups:
        [reminder] = follow_up.reminders.filter(status=ReminderStatus.PENDING)
        assert reminder.send_at == follow_up.due_at - datetime.timedelta(days=1)


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_send_each_reminder_once(org, pharmacist, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("two database connections at once: run against PostgreSQL (CI does)")
    original = dispatch.EmailMessage.send
    monkeypatch.setattr(dispatch.EmailMessage, "send", lambda self: time.sleep(0.005) or original(self))
    by = Actor(user=pharmacist)
    for number in range(60):
        patient = factories.make_patient(org, first_name=f"P{number}", email=f"p{number}@example.org",
                                         consent_email_reminders=True)  # fmt: skip
        phone_check_in(patient, by, timezone.now() + datetime.timedelta(days=1, hours=1))
    now = timezone.now() + datetime.timedelta(days=1)
    results, start = [], threading.Barrier(2)

    def one_pass():
        try:
            start.wait()
            results.append(send_due_reminders(now=now, batch_size=7))
        finally:
            connection.close()

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in results) == 60 and all(r.sent for r in results)  # both passes took a share
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"p{n}@example.org" for n in range(60))
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == 60


def test_staff_get_one_morning_digest_without_patient_names(patient, pharmacist, by, org):
    org.time_zone = "America/New_York"
    org.save()
    pharmacist.email = "dana@example.org"
    pharmacist.save()
    day = datetime.date(2027, 1, 12)
    phone_check_in(patient, by, at(day, 14, 30), assigned_to=pharmacist)
    phone_check_in(patient, by, at(day - datetime.timedelta(days=2)), assigned_to=pharmacist)  # overdue
    phone_check_in(patient, by, at(day + datetime.timedelta(days=5)), assigned_to=pharmacist)  # not yet
    Reminder.objects.create(
        organisation=org, channel="sms", send_at=at(day, 6), next_attempt_at=at(day, 6), status=ReminderStatus.FAILED,
        key="failed-before",
    )  # fmt: skip
    assert dispatch.run_pass(now=at(day, 6, 59)).sent == 0  # before 7 am: nothing
    assert dispatch.run_pass(now=at(day, 7, 1)).sent == 1
    assert dispatch.run_pass(now=at(day, 9, 0)).sent == 0  # once a day
    [digest] = [m for m in mail.outbox if m.to == ["dana@example.org"]]
    assert "Due today: 1. Overdue: 1." in digest.body and "14:30  Phone check-in" in digest.body
    assert "Reminders to patients that could not be sent: 1." in digest.body
    assert patient.last_name not in digest.body and patient.first_name not in digest.body
    assert "/follow-ups/" in digest.body
