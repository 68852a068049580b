"""The staff screens (queue, agenda, one follow-up, booking), calendar files and feeds, the API,
and the reminder times an organisation sets."""

import datetime
import uuid
import zoneinfo

import icalendar
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from followups import selectors
from followups.models import (
    CalendarFeed,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Reminder,
    ReminderStatus,
)
from followups.services import follow_up_create, follow_up_update, next_weekday, reminders_schedule
from mtm.audit import Actor
from mtm.models import AuditEvent
from mtm.permissions import Role
from patients.services import patient_update
from tests import factories
from tests.conftest import client_for

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist)


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), NEW_YORK)


def book(patient, by, due_at, kind=FollowUpKind.PHONE_CHECK_IN, **data) -> FollowUp:
    """A follow-up at any time: past times go in as the system would book them (with a trigger)."""
    trigger = f"test:{uuid.uuid4()}" if due_at < timezone.now() else ""
    return follow_up_create(
        patient=patient, by=by, data={"kind": kind, "due_at": due_at, **data}, trigger=trigger,
        book_anyway=True,  # several the same day are on purpose in these tests
    )  # fmt: skip


def in_days(days: int, hour: int = 10) -> datetime.datetime:
    return at(factories.today() + datetime.timedelta(days=days), hour)


# --- The queue -------------------------------------------------------------------------------------


def test_the_queue_lists_overdue_and_failed_reminders_of_the_organisation_only(
    staff_client, patient, other_patient, by, staff, other_pharmacist
):
    overdue = book(
        patient,
        by,
        timezone.now() - datetime.timedelta(days=2),
        assigned_to=staff,
        notes="Ask about dizziness",
    )
    later = book(patient, by, in_days(3))
    elsewhere = book(other_patient, Actor(user=other_pharmacist), timezone.now() - datetime.timedelta(days=1))
    failed = Reminder.objects.create(
        organisation=patient.organisation, follow_up=overdue, channel="email", send_at=timezone.now(),
        next_attempt_at=timezone.now(), status=ReminderStatus.FAILED, attempts=5, last_error="550 mailbox unavailable",
        key="test:failed",
    )  # fmt: skip

    response = staff_client.get(reverse("follow_up_queue"))
    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="follow-up-{overdue.pk}"' in page and "Ask about dizziness" in page
    assert f'id="follow-up-{later.pk}"' not in page  # not due yet
    assert f'id="follow-up-{elsewhere.pk}"' not in page
    assert "550 mailbox unavailable" in page and reverse("reminder_handle", args=[failed.pk]) in page

    mine = staff_client.get(reverse("follow_up_queue"), {"staff": "me"}).content.decode()
    assert f'id="follow-up-{overdue.pk}"' in mine
    someone_else = staff_client.get(reverse("follow_up_queue"), {"staff": str(by.user.pk)}).content.decode()
    assert f'id="follow-up-{overdue.pk}"' not in someone_else
    elsewhere_staff = staff_client.get(reverse("follow_up_queue"), {"staff": str(other_pharmacist.pk)})
    assert (
        elsewhere_staff.status_code == 400
        and f"“{other_pharmacist.pk}” is neither" in elsewhere_staff.content.decode()
    )


def test_the_queue_splits_overdue_from_still_due_today_in_the_organisations_time(patient, by, staff):
    now = at(datetime.date(2030, 3, 12), 12)  # noon in New York
    FollowUp.objects.bulk_create(
        FollowUp(organisation=patient.organisation, patient=patient, kind="phone_check_in", due_at=due)
        for due in (at(datetime.date(2030, 3, 11), 16), at(datetime.date(2030, 3, 12), 9), at(datetime.date(2030, 3, 12), 23, 30),
                    at(datetime.date(2030, 3, 13), 0, 30))
    )  # fmt: skip
    queue = selectors.queue(user=staff, now=now)
    assert [timezone.localtime(f.due_at, NEW_YORK).strftime("%d %H:%M") for f in queue.overdue.rows] == [
        "11 16:00",
        "12 09:00",
    ]
    # 23:30 New York is 03:30 UTC the next day: still today here; 00:30 is tomorrow.
    assert [timezone.localtime(f.due_at, NEW_YORK).strftime("%d %H:%M") for f in queue.today.rows] == [
        "12 23:30"
    ]


def test_the_queue_and_agenda_take_the_same_number_of_queries_for_5_or_50_follow_ups(
    staff_client, patient, by, org
):
    def queries(path, params):
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(path, params).status_code == 200
        return len(captured)

    monday = datetime.date(2030, 3, 11)
    week = {"view": "week", "day": monday.isoformat()}

    def add(n):
        others = [factories.make_patient(org) for _ in range(n)]
        FollowUp.objects.bulk_create(
            FollowUp(organisation=org, patient=p, kind="lab_check", due_at=at(monday + datetime.timedelta(days=i % 7)),
                     assigned_to=by.user)
            for i, p in enumerate(others)
        )  # fmt: skip
        FollowUp.objects.bulk_create(
            FollowUp(
                organisation=org,
                patient=p,
                kind="lab_check",
                due_at=timezone.now() - datetime.timedelta(hours=1),
            )
            for p in others
        )

    add(5)
    few = queries(reverse("follow_up_queue"), {}), queries(reverse("agenda"), week)
    add(45)
    many = queries(reverse("follow_up_queue"), {}), queries(reverse("agenda"), week)
    assert many == few


# --- One click: done, missed, cancelled, moved ---------------------------------------------------------


def test_done_in_one_click_returns_the_row_and_a_stale_click_is_refused(staff_client, patient, by):
    follow_up = book(patient, by, timezone.now() - datetime.timedelta(hours=3))
    url = reverse("follow_up_close", args=[follow_up.pk])

    response = staff_client.post(url, {"status": "done", "version": follow_up.version}, **HTMX)
    assert response.status_code == 200
    row = response.content.decode()
    assert row.startswith(f'<tbody id="follow-up-{follow_up.pk}"') and ">Done</span>" in row
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.DONE and follow_up.closed_at is not None

    again = staff_client.post(url, {"status": "cancelled", "version": follow_up.version - 1}, **HTMX)
    assert again.status_code == 422 and "already done" in again.content.decode()
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.DONE


def test_a_colleagues_change_first_makes_the_click_a_conflict(staff_client, patient, by):
    follow_up = book(patient, by, in_days(2))
    stale_version = follow_up.version
    follow_up_update(follow_up=follow_up, data={"notes": "Bring the pill box"}, version=stale_version, by=by)

    response = staff_client.post(
        reverse("follow_up_close", args=[follow_up.pk]),
        {"status": "cancelled", "version": stale_version},
        **HTMX,
    )
    assert response.status_code == 409 and "Someone else changed" in response.content.decode()
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.SCHEDULED


def test_reschedule_moves_the_follow_up_and_its_reminders(staff_client, patient, by, staff):
    patient.email, patient.consent_email_reminders = "walter@example.org", True
    patient.save()
    follow_up = book(patient, by, in_days(5))
    old_reminder = follow_up.reminders.get()
    url = reverse("follow_up_reschedule", args=[follow_up.pk])

    form = staff_client.get(url, **HTMX)
    assert form.status_code == 200 and 'name="due_at"' in form.content.decode()

    new_day = factories.today() + datetime.timedelta(days=8)
    response = staff_client.post(
        url,
        {"due_at": f"{new_day:%Y-%m-%d}T15:30", "assigned_to": staff.pk, "version": follow_up.version},
        **HTMX,
    )
    assert response.status_code == 200 and "Moved" in response.content.decode()
    follow_up.refresh_from_db()
    assert follow_up.due_at == at(new_day, 15, 30) and follow_up.assigned_to == staff
    old_reminder.refresh_from_db()
    assert old_reminder.status == ReminderStatus.CANCELLED
    assert follow_up.reminders.get(status=ReminderStatus.PENDING).send_at == at(
        new_day - datetime.timedelta(days=1), 15, 30
    )


def test_reschedule_refuses_a_past_time_or_a_stranger_and_changes_nothing(
    staff_client, patient, by, other_pharmacist
):
    follow_up = book(patient, by, in_days(5))
    url = reverse("follow_up_reschedule", args=[follow_up.pk])
    yesterday = factories.today() - datetime.timedelta(days=1)

    past = staff_client.post(
        url, {"due_at": f"{yesterday:%Y-%m-%d}T10:00", "version": follow_up.version}, **HTMX
    )
    assert past.status_code == 422 and "Choose a time from now on." in past.content.decode()
    stranger = staff_client.post(
        url, {"due_at": f"{yesterday:%Y-%m-%d}T10:00", "assigned_to": other_pharmacist.pk, "version": follow_up.version},
        **HTMX,
    )  # fmt: skip
    assert stranger.status_code == 422 and "Select a valid choice" in stranger.content.decode()
    empty = staff_client.post(url, {"due_at": "", "version": follow_up.version}, **HTMX)
    assert empty.status_code == 422 and "This field is required." in empty.content.decode()
    unchanged = FollowUp.objects.get(pk=follow_up.pk)
    assert (unchanged.due_at, unchanged.version) == (follow_up.due_at, follow_up.version)


def test_without_javascript_the_buttons_post_and_come_back(staff_client, patient, by):
    follow_up = book(patient, by, in_days(1))
    response = staff_client.post(
        reverse("follow_up_close", args=[follow_up.pk]),
        {"status": "missed", "version": follow_up.version, "next": "/follow-ups/agenda/?view=day"},
    )
    assert response.status_code == 302 and response["Location"] == "/follow-ups/agenda/?view=day"
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUpStatus.MISSED
    outside = staff_client.post(
        reverse("follow_up_close", args=[book(patient, by, in_days(2)).pk]),
        {"status": "done", "version": 1, "next": "https://evil.example/"},
    )
    assert outside["Location"] == reverse("follow_up_queue")

    later = book(patient, by, in_days(3))
    url = reverse("follow_up_reschedule", args=[later.pk])
    form = staff_client.get(url, {"next": "/follow-ups/"})
    assert form.status_code == 200 and 'name="due_at"' in form.content.decode()
    refused = staff_client.post(url, {"due_at": "soon", "version": later.version, "next": "/follow-ups/"})
    assert (
        refused.status_code == 422
        and "Enter a real date and time for “new time”." in refused.content.decode()
    )
    moved = staff_client.post(
        url, {"due_at": f"{factories.today() + datetime.timedelta(days=9):%Y-%m-%d}T10:00", "version": later.version,
              "next": "/follow-ups/"},
    )  # fmt: skip
    assert moved.status_code == 302 and moved["Location"] == "/follow-ups/"


def test_another_organisations_follow_up_is_a_404_everywhere(
    client, other_patient, other_pharmacist, pharmacist_client
):
    theirs = book(other_patient, Actor(user=other_pharmacist), in_days(3))
    for name in ("follow_up_detail", "follow_up_ics", "follow_up_reschedule", "follow_up_row"):
        assert pharmacist_client.get(reverse(name, args=[theirs.pk])).status_code == 404, name
    close = pharmacist_client.post(
        reverse("follow_up_close", args=[theirs.pk]), {"status": "done", "version": 1}
    )
    assert close.status_code == 404
    assert FollowUp.objects.get(pk=theirs.pk).status == FollowUpStatus.SCHEDULED


def test_an_organisation_admin_sees_the_agenda_but_cannot_change_it(admin_client_org, patient, by):
    follow_up = book(patient, by, in_days(1))
    page = admin_client_org.get(reverse("follow_up_detail", args=[follow_up.pk]))
    assert page.status_code == 200 and 'id="h-change"' not in page.content.decode()
    refused = admin_client_org.post(
        reverse("follow_up_close", args=[follow_up.pk]), {"status": "done", "version": 1}
    )
    assert refused.status_code == 403
    assert admin_client_org.get(reverse("follow_up_new", args=[patient.pk])).status_code == 403


def test_patient_users_get_no_staff_screens(patient_user, patient, by):
    follow_up = book(patient, by, in_days(1))
    client = client_for(patient_user)
    assert client.get(reverse("follow_up_queue")).status_code == 403
    assert client.get(reverse("follow_up_detail", args=[follow_up.pk])).status_code == 403


# --- The agenda ---------------------------------------------------------------------------------------


def test_the_week_runs_monday_to_sunday_in_the_organisations_time_zone(staff_client, patient, by, staff):
    # The week of the 2030 change to daylight saving time (Sunday March 10) in New York.
    late_sunday = book(patient, by, at(datetime.date(2030, 3, 10), 22), assigned_to=staff)  # 02:00 UTC Monday
    monday = book(patient, by, at(datetime.date(2030, 3, 4), 8, 15))
    next_monday = book(patient, by, at(datetime.date(2030, 3, 11), 0, 30))
    cancelled = book(patient, by, at(datetime.date(2030, 3, 6), 9))
    FollowUp.objects.filter(pk=cancelled.pk).update(status=FollowUpStatus.CANCELLED)

    response = staff_client.get(reverse("agenda"), {"view": "week", "day": "2030-03-06"})
    days = response.context["days"]
    assert [d.day for d in days] == [datetime.date(2030, 3, 4) + datetime.timedelta(days=n) for n in range(7)]
    assert [f.pk for f in days[0].follow_ups] == [monday.pk]
    assert [f.pk for f in days[6].follow_ups] == [late_sunday.pk]
    assert all(next_monday.pk not in [f.pk for f in d.follow_ups] for d in days)
    page = response.content.decode()
    assert "Sunday, March 10" in page and "10:00 PM" in page and f"follow-up-{cancelled.pk}" not in page

    one_day = staff_client.get(reverse("agenda"), {"view": "day", "day": "2030-03-10", "staff": "me"})
    assert [f.pk for d in one_day.context["days"] for f in d.follow_ups] == [late_sunday.pk]
    nobody_mine = staff_client.get(reverse("agenda"), {"view": "day", "day": "2030-03-04", "staff": "me"})
    assert [f.pk for d in nobody_mine.context["days"] for f in d.follow_ups] == []
    bad_day = staff_client.get(reverse("agenda"), {"day": "not-a-date"})  # never this week instead
    assert (
        bad_day.status_code == 400
        and "Enter a real date for “day”, as YYYY-MM-DD." in bad_day.content.decode()
    )


# --- Booking by hand, and the patient's page ----------------------------------------------------------


def test_booking_a_follow_up_from_the_patient_page(staff_client, patient, staff):
    patient.mobile_phone, patient.consent_sms_reminders = "+16085550100", True
    patient.save()
    url = reverse("follow_up_new", args=[patient.pk])
    assert staff_client.get(url).status_code == 200
    day = factories.today() + datetime.timedelta(days=10)

    missing = staff_client.post(url, {"kind": "phone_check_in", "duration_minutes": 15})
    assert missing.status_code == 422 and "This field is required." in missing.content.decode()
    bad_kind = staff_client.post(
        url, {"kind": "coffee", "due_at": f"{day:%Y-%m-%d}T09:30", "duration_minutes": 15}
    )
    assert bad_kind.status_code == 422 and "Select a valid choice" in bad_kind.content.decode()
    assert not FollowUp.objects.exists()

    response = staff_client.post(
        url,
        {"kind": "phone_check_in", "due_at": f"{day:%Y-%m-%d}T09:30", "duration_minutes": 20, "assigned_to": staff.pk,
         "remind_patient": "on", "notes": "Check the new inhaler"},
    )  # fmt: skip
    assert response.status_code == 302
    follow_up = FollowUp.objects.get()
    assert (follow_up.due_at, follow_up.duration_minutes, follow_up.assigned_to) == (
        at(day, 9, 30),
        20,
        staff,
    )
    assert follow_up.reminders.get().channel == "sms"
    assert AuditEvent.objects.filter(object_id=str(follow_up.pk), action="create", actor=staff).exists()

    page = staff_client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert f'id="follow-up-{follow_up.pk}"' in page and "Check the new inhaler" in page
    assert "agreed to by text message" in page


def test_the_follow_up_page_shows_its_reminders_and_is_audited(staff_client, patient, by, staff):
    patient.email, patient.consent_email_reminders = "walter@example.org", True
    patient.save()
    follow_up = book(patient, by, in_days(4))
    response = staff_client.get(reverse("follow_up_detail", args=[follow_up.pk]))
    page = response.content.decode()
    assert response.status_code == 200 and 'Reminders to the patient <span class="count">(1)' in page
    assert AuditEvent.objects.filter(object_id=str(follow_up.pk), action="view", actor=staff).exists()

    changed = staff_client.post(
        reverse("follow_up_detail", args=[follow_up.pk]),
        {"due_at": f"{follow_up.due_at.astimezone(NEW_YORK):%Y-%m-%dT%H:%M}", "duration_minutes": 30,
         "notes": "Daughter will join", "version": follow_up.version},
    )  # fmt: skip
    assert changed.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.notes == "Daughter will join" and not follow_up.remind_patient
    assert follow_up.reminders.get().status == ReminderStatus.CANCELLED  # reminders turned off


# --- Failed reminders ----------------------------------------------------------------------------------


def test_staff_send_a_failed_reminder_again_or_dismiss_it(staff_client, patient, by):
    follow_up = book(patient, by, in_days(2))

    def failed(key):
        return Reminder.objects.create(
            organisation=patient.organisation, follow_up=follow_up, channel="email", send_at=timezone.now(),
            next_attempt_at=timezone.now(), status=ReminderStatus.FAILED, attempts=5, key=key,
        )  # fmt: skip

    resend, dismiss = failed("test:a"), failed("test:b")
    staff_client.post(reverse("reminder_handle", args=[resend.pk]), {"action": "resend"})
    staff_client.post(reverse("reminder_handle", args=[dismiss.pk]), {"action": "dismiss"})
    again = staff_client.post(
        reverse("reminder_handle", args=[dismiss.pk]), {"action": "resend"}, follow=True
    )
    assert "already dealt with" in again.content.decode()

    assert Reminder.objects.filter(status=ReminderStatus.FAILED, handled_at__isnull=True).count() == 0
    new = Reminder.objects.get(status=ReminderStatus.PENDING)
    assert new.key.startswith("test:a:resent:") and new.next_attempt_at <= timezone.now()
    assert "could not be sent" not in staff_client.get(reverse("follow_up_queue")).content.decode()


# --- Calendars -----------------------------------------------------------------------------------------


def test_a_follow_up_as_an_ics_file_carries_initials_not_the_name(staff_client, patient, by):
    follow_up = book(
        patient, by, at(datetime.date(2030, 3, 11), 9, 30), duration_minutes=20, notes="INR 3.4 last time"
    )
    response = staff_client.get(reverse("follow_up_ics", args=[follow_up.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "text/calendar"
    assert response["Content-Disposition"] == 'attachment; filename="follow-up-20300311-WB.ics"'
    event = icalendar.Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert event["UID"] == f"follow-up-{follow_up.pk}@mtm"
    assert event.decoded("DTSTART") == datetime.datetime(2030, 3, 11, 13, 30, tzinfo=datetime.UTC)  # EDT
    assert event.decoded("DTEND") - event.decoded("DTSTART") == datetime.timedelta(minutes=20)
    assert str(event["SUMMARY"]) == "Phone check-in, W. B."
    assert "Brennan" not in response.content.decode() and "INR" not in response.content.decode()
    assert str(event["URL"]).endswith(f"/follow-ups/{follow_up.pk}/")


def test_a_staff_members_feed_lists_their_follow_ups_by_a_secret_address(staff_client, patient, by, staff):
    mine = book(patient, by, in_days(3), assigned_to=staff)
    book(patient, by, in_days(4), assigned_to=by.user)  # a colleague's
    cancelled = book(patient, by, in_days(5), assigned_to=staff)
    FollowUp.objects.filter(pk=cancelled.pk).update(status=FollowUpStatus.CANCELLED)

    staff_client.post(reverse("calendar_feed_reset"))
    token = CalendarFeed.objects.get(user=staff).token
    assert token in staff_client.get(reverse("agenda")).content.decode()

    feed = Client().get(reverse("calendar_feed", args=[token]))  # a calendar app: no session
    assert feed.status_code == 200
    events = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"follow-up-{mine.pk}@mtm"]
    assert AuditEvent.objects.filter(
        actor_username=staff.username, changes__calendar_feed__1="fetched"
    ).exists()

    staff_client.post(reverse("calendar_feed_reset"))
    assert Client().get(reverse("calendar_feed", args=[token])).status_code == 404  # the old address
    new_token = CalendarFeed.objects.get(user=staff).token
    staff.is_active = False
    staff.save()
    assert Client().get(reverse("calendar_feed", args=[new_token])).status_code == 404
    assert Client().get(reverse("calendar_feed", args=["guess"])).status_code == 404


# --- The API -------------------------------------------------------------------------------------------


def test_the_api_books_lists_moves_and_closes_follow_ups(staff, patient, other_patient):
    client = client_for(staff)
    day = factories.today() + datetime.timedelta(days=6)
    created = client.post(
        "/api/v1/follow-ups/",
        {"patient": str(patient.pk), "kind": "lab_check", "due_at": f"{day:%Y-%m-%d}T08:00", "assigned_to": str(staff.pk)},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["due_at"] == f"{day:%Y-%m-%d}T08:00:00{at(day, 8).strftime('%z')[:3]}:00"
    assert body["status"] == "scheduled" and body["automatic"] is False

    listed = client.get(
        "/api/v1/follow-ups/", {"assigned_to": "me", "due_from": f"{day:%Y-%m-%d}T00:00"}
    ).json()
    assert [f["id"] for f in listed["results"]] == [body["id"]]
    assert client.get("/api/v1/follow-ups/", {"status": "later"}).json() == {
        "status": ["Choose one of scheduled, done, missed, cancelled."]
    }
    assert client.get("/api/v1/follow-ups/", {"due_from": "soon"}).json() == {
        "due_from": ["Not a date and time (ISO 8601, e.g. 2027-03-15T10:00)."]
    }

    url = f"/api/v1/follow-ups/{body['id']}/"
    no_version = client.patch(url, {"duration_minutes": 30}, content_type="application/json")
    assert no_version.status_code == 400 and "version" in no_version.json()
    moved = client.patch(
        url, {"due_at": f"{day:%Y-%m-%d}T09:00", "version": body["version"]}, content_type="application/json"
    )
    assert moved.status_code == 200 and moved.json()["version"] == body["version"] + 1
    stale = client.patch(url, {"notes": "x", "version": body["version"]}, content_type="application/json")
    assert stale.status_code == 409

    closed = client.post(
        url + "close/",
        {"status": "done", "version": moved.json()["version"], "note": "K 4.1"},
        content_type="application/json",
    )
    assert (
        closed.status_code == 200 and closed.json()["status"] == "done" and "K 4.1" in closed.json()["notes"]
    )

    theirs = client.post(
        "/api/v1/follow-ups/", {"patient": str(other_patient.pk), "kind": "lab_check", "due_at": f"{day:%Y-%m-%d}T08:00"},
        content_type="application/json",
    )  # fmt: skip
    assert theirs.status_code == 400 and "patient" in theirs.json()
    assert FollowUp.objects.count() == 1


# --- The organisation's reminder times -----------------------------------------------------------------


def test_reminder_times_follow_the_organisations_setting_across_a_dst_change(org, patient, by):
    org.reminder_leads = "3d, 2h"
    org.save()
    patient.email, patient.consent_email_reminders = "walter@example.org", True
    patient.save()
    # Tuesday March 12, 2030, 10:00 in New York (EDT); three days before is Saturday the 9th (EST).
    follow_up = book(patient, by, at(datetime.date(2030, 3, 12), 10))
    times = sorted(r.send_at for r in follow_up.reminders.all())
    assert times == [at(datetime.date(2030, 3, 9), 10), at(datetime.date(2030, 3, 12), 8)]
    assert times[0].astimezone(datetime.UTC).hour == 15 and times[1].astimezone(datetime.UTC).hour == 12

    # Booked too late for every reminder time: one reminder now, if the appointment is at least two
    # hours away.
    org.reminder_leads = "3d"
    org.save()
    soon = book(patient, by, timezone.now() + datetime.timedelta(hours=5))
    assert [r.send_at <= timezone.now() for r in soon.reminders.all()] == [True]
    very_soon = book(patient, by, timezone.now() + datetime.timedelta(minutes=90))
    assert not very_soon.reminders.exists()

    # Running the schedule again adds nothing.
    reminders_schedule(follow_up)
    assert follow_up.reminders.count() == 2


def test_the_settings_page_names_a_bad_reminder_time(admin_client_org, org):
    data = {
        "name": org.name, "time_zone": org.time_zone, "prescriber_response_days": 10, "version": org.version,
        "reminder_leads": "1d, tomorrow",
    }  # fmt: skip
    response = admin_client_org.post(reverse("organisation_settings"), data)
    assert response.status_code in (200, 422)
    assert "&#x27;tomorrow&#x27; is not a reminder time" in response.content.decode()
    org.refresh_from_db()
    assert org.reminder_leads == "1d"
    assert org.reminder_leads_text == "a day before"
    org.reminder_leads = "3d, 1d, 2h"
    assert org.reminder_leads_text == "3 days, a day and 2 hours before"


def test_automatic_follow_ups_land_on_working_days():
    assert next_weekday(datetime.date(2030, 3, 9)) == datetime.date(2030, 3, 11)  # Saturday -> Monday
    assert next_weekday(datetime.date(2030, 3, 10)) == datetime.date(2030, 3, 11)  # Sunday -> Monday
    assert next_weekday(datetime.date(2030, 3, 12)) == datetime.date(2030, 3, 12)


def test_staff_can_only_be_assigned_within_the_organisation(patient, by, other_pharmacist, org):
    retired = factories.make_user(org, Role.STAFF, is_active=False)
    for user in (other_pharmacist, retired):
        with pytest.raises(Exception) as error:
            follow_up_create(
                patient=patient, by=by, data={"kind": "lab_check", "due_at": in_days(2), "assigned_to": user}
            )
        assert "assigned_to" in str(error.value)
    assert not FollowUp.objects.exists()


def test_reminders_follow_the_patients_agreement_given_or_withdrawn_after_booking(patient, by):
    follow_up = book(patient, by, in_days(6))
    past = book(patient, by, timezone.now() - datetime.timedelta(days=1))
    assert not Reminder.objects.exists()

    patient = patient_update(
        patient=patient,
        data={"email": "walter@example.org", "consent_email_reminders": True},
        version=patient.version,
        by=by,
    )
    assert [(r.follow_up_id, r.channel, r.status) for r in Reminder.objects.all()] == [
        (follow_up.pk, "email", ReminderStatus.PENDING)
    ]  # none for the follow-up already past

    patient_update(patient=patient, data={"consent_email_reminders": False}, version=patient.version, by=by)
    assert Reminder.objects.get().status == ReminderStatus.CANCELLED
    assert not past.reminders.exists()


def test_new_reminder_times_apply_to_follow_ups_to_come(
    admin_client_org, org, patient, by, django_capture_on_commit_callbacks
):
    patient.email, patient.consent_email_reminders = "walter@example.org", True
    patient.save()
    follow_up = book(patient, by, in_days(10))
    assert follow_up.reminders.get().send_at == follow_up.due_at - datetime.timedelta(days=1)

    data = {
        "name": org.name,
        "time_zone": org.time_zone,
        "prescriber_response_days": 10,
        "version": org.version,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_org.post(
            reverse("organisation_settings"), {**data, "reminder_leads": "3d, 2h"}
        )
    assert response.status_code == 302
    pending = sorted(r.send_at for r in follow_up.reminders.filter(status=ReminderStatus.PENDING))
    local = follow_up.due_at.astimezone(NEW_YORK)
    assert pending == [
        datetime.datetime.combine(local.date() - datetime.timedelta(days=3), local.time(), NEW_YORK),
        follow_up.due_at - datetime.timedelta(hours=2),
    ]
    assert follow_up.reminders.filter(status=ReminderStatus.CANCELLED).count() == 1


def test_the_patient_sees_their_appointments_to_come_in_the_portal_and_adds_one_to_a_calendar(
    patient_user, patient, by, other_patient, other_pharmacist, org
):
    org.phone = "(608) 555-0142"
    org.save()
    check_in = book(patient, by, in_days(3, hour=14))
    book(patient, by, in_days(4), kind=FollowUpKind.RESPONSE_CHECK)  # the staff's own work
    book(patient, by, timezone.now() - datetime.timedelta(days=2))  # past
    theirs = book(other_patient, Actor(user=other_pharmacist), in_days(3))
    client = client_for(patient_user)

    page = client.get(reverse("portal")).content.decode()
    assert "My appointments" in page and "Phone check-in with your pharmacist" in page
    assert page.count(reverse("portal_appointment_ics", args=[check_in.pk])) == 1
    assert "Prescriber response check" not in page

    response = client.get(reverse("portal_appointment_ics", args=[check_in.pk]))
    event = icalendar.Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == f"Phone check-in with {org.name}"
    assert "Medication review with your pharmacist" not in page
    assert str(event["DESCRIPTION"]) == f"To change it, call {org.name} at (608) 555-0142."
    assert event.decoded("DTSTART") == check_in.due_at
    assert client.get(reverse("portal_appointment_ics", args=[theirs.pk])).status_code == 404


def test_an_overdue_follow_up_moves_to_the_same_time_tomorrow_in_one_click(staff_client, patient, by):
    overdue = book(patient, by, at(factories.today() - datetime.timedelta(days=3), 14, 15))
    response = staff_client.post(
        reverse("follow_up_reschedule", args=[overdue.pk]),
        {"shift": "1", "due_at": "", "version": overdue.version},
        **HTMX,
    )
    assert response.status_code == 200 and "Moved" in response.content.decode()
    overdue.refresh_from_db()
    assert overdue.due_at == at(factories.today() + datetime.timedelta(days=1), 14, 15)


# --- Addresses the queue and the agenda cannot show -----------------------------------------------


@pytest.mark.parametrize(
    ("page", "params", "message"),
    [
        ("agenda", {"day": "2030-02-31"}, "Enter a real date for “day”, as YYYY-MM-DD."),
        ("agenda", {"day": "03/04/2030"}, "Enter a real date for “day”, as YYYY-MM-DD."),
        ("agenda", {"view": "month"}, "“view” cannot be “month”: use day or week."),
        (
            "agenda",
            {"staff": "nobody"},
            "“staff” must be “me” or one of your pharmacy&#x27;s staff; “nobody” is neither.",
        ),
        ("follow_up_queue", {"staff": "nobody"}, "“nobody” is neither."),
        ("follow_up_queue", {"overdue_page": "0"}, "“overdue_page” must be a whole number from 1 to 1000."),
        ("agenda", {"view": "day", "page": "x"}, "“page” must be a whole number from 1 to 1000."),
        ("follow_up_queue", {"staff": str(uuid.UUID(int=1))}, f"“{uuid.UUID(int=1)}” is neither."),
    ],
)
def test_an_address_the_page_cannot_show_is_a_400_naming_the_parameter(staff_client, page, params, message):
    response = staff_client.get(reverse(page), params)
    body = response.content.decode()
    assert response.status_code == 400 and message in body
    assert 'role="alert"' in body and f'href="{reverse(page)}"' in body  # the page as usual, one click away
    assert "days" not in (response.context or {})  # nothing shown for another day or week instead


def test_the_usual_addresses_still_work(staff_client, staff):
    for page, params in [
        ("agenda", {}),
        ("agenda", {"view": "", "day": "", "staff": ""}),
        ("agenda", {"view": "day", "day": "2030-03-04", "staff": "me"}),
        ("agenda", {"view": "week", "staff": str(staff.pk)}),
        ("follow_up_queue", {"staff": "me"}),
        ("follow_up_queue", {"staff": ""}),
    ]:
        assert staff_client.get(reverse(page), params).status_code == 200, (page, params)
