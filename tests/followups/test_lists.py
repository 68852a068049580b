"""The follow-up lists at the size of a real pharmacy: the queue, the agenda, the API list and
Today show a page at a time with their count, cost the same queries with 10 or 200 follow-ups, and
one staff member's day weighs a few KB."""

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from followups import selectors
from followups.models import FollowUp, FollowUpStatus
from tests.conftest import client_for

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), NEW_YORK)


def add(patient, times, **fields) -> list[FollowUp]:
    """Follow-ups at these times, as the system would have booked them (no reminders)."""
    return FollowUp.objects.bulk_create(
        FollowUp(
            organisation=patient.organisation, patient=patient, kind="phone_check_in", due_at=due, **fields
        )
        for due in times
    )


def overdue_times(n: int) -> list[datetime.datetime]:
    """n times in the past, the oldest first, a minute apart."""
    start = timezone.now() - datetime.timedelta(days=3)
    return [start + datetime.timedelta(minutes=i) for i in range(n)]


def shown(page: str, follow_ups) -> list[FollowUp]:
    return [f for f in follow_ups if f'id="follow-up-{f.pk}"' in page]


def queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {})
        assert response.status_code == 200, response.content[:500]
    return len(captured)


MONDAY = datetime.date(2030, 3, 11)


# --- The queue -------------------------------------------------------------------------------------


def test_the_queue_shows_a_page_of_each_section_and_the_next_page_the_rest(staff_client, patient):
    backlog = add(patient, overdue_times(selectors.QUEUE_PAGE + 5))
    page = staff_client.get(reverse("follow_up_queue")).content.decode()
    assert f'Overdue <span class="count">({len(backlog)})</span>' in page
    assert shown(page, backlog) == backlog[: selectors.QUEUE_PAGE]  # the oldest first
    assert "?overdue_page=2#h-overdue" in page and f"1 to {selectors.QUEUE_PAGE} of {len(backlog)}" in page

    second = staff_client.get(reverse("follow_up_queue"), {"overdue_page": 2, "staff": ""}).content.decode()
    assert shown(second, backlog) == backlog[selectors.QUEUE_PAGE :]
    assert "overdue_page=2" in second and 'href="?staff=#h-overdue"' in second  # back, the filter kept
    # A click's next= brings the user back to the page they were on.
    assert "next=/follow-ups/%3Foverdue_page%3D2" in second


def test_pages_of_follow_ups_booked_at_the_same_time_neither_repeat_nor_skip_one(
    staff_client, staff, patient
):
    same_time = add(patient, [timezone.now() - datetime.timedelta(days=1)] * (selectors.QUEUE_PAGE + 5))
    pages = [
        staff_client.get(reverse("follow_up_queue"), {"overdue_page": n}).content.decode() for n in (1, 2)
    ]
    assert sorted(f.pk for page in pages for f in shown(page, same_time)) == sorted(f.pk for f in same_time)
    api = client_for(staff)
    add(patient, [at(MONDAY)] * 60)
    listed = [f["id"] for n in (1, 2) for f in api.get("/api/v1/follow-ups/", {"page": n}).json()["results"]]
    assert len(listed) == len(set(listed)) == 60 + len(same_time)


def test_a_backlog_past_the_cap_says_more_than_the_cap(staff_client, patient, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 10)
    add(patient, overdue_times(12))
    page = staff_client.get(reverse("follow_up_queue")).content.decode()
    assert 'Overdue <span class="count">(more than 10)</span>' in page


def test_the_queue_takes_the_same_queries_for_10_or_200_follow_ups(staff_client, patient, staff):
    today = timezone.localtime(timezone.now(), NEW_YORK)
    later_today = [
        min(today + datetime.timedelta(minutes=i + 1), today.replace(hour=23, minute=59)) for i in range(5)
    ]
    add(patient, overdue_times(10), assigned_to=staff)
    add(patient, later_today)
    few = (
        queries(staff_client, reverse("follow_up_queue")),
        queries(staff_client, reverse("follow_up_queue"), {"staff": "me"}),
    )
    add(patient, overdue_times(190), assigned_to=staff)
    add(patient, later_today * 10)
    many = (
        queries(staff_client, reverse("follow_up_queue")),
        queries(staff_client, reverse("follow_up_queue"), {"staff": "me"}),
    )
    assert many == few


def test_one_staff_members_queue_weighs_a_few_kb(staff_client, patient, staff):
    add(patient, overdue_times(10), assigned_to=staff, notes="Ask how the new inhaler is going")
    add(patient, overdue_times(300))  # everyone else's: not on this page
    response = staff_client.get(reverse("follow_up_queue"), {"staff": "me"})
    assert len(response.content) < 24_000, len(response.content)  # about 5 KB of page, 1.6 KB a row


# --- The agenda ------------------------------------------------------------------------------------


def test_each_day_of_the_week_shows_its_first_follow_ups_and_says_how_many_more(staff_client, patient):
    monday = add(patient, [at(MONDAY, 8, i) for i in range(selectors.AGENDA_WEEK_ROWS + 3)])
    tuesday = add(patient, [at(MONDAY + datetime.timedelta(days=1), 9)])
    response = staff_client.get(reverse("agenda"), {"view": "week", "day": MONDAY.isoformat()})
    page = response.content.decode()
    listed = [f for f in monday + tuesday if reverse("follow_up_detail", args=[f.pk]) in page]
    assert listed == monday[: selectors.AGENDA_WEEK_ROWS] + tuesday
    assert f'Monday, March 11 <span class="count">({len(monday)})</span>' in page
    assert "3 more on Monday</a>" in page and "?view=day&amp;day=2030-03-11&amp;staff=" in page
    assert " more on Tuesday" not in page


def test_the_day_view_shows_a_page_at_a_time(staff_client, patient, staff):
    day = add(
        patient,
        [at(MONDAY, 7) + datetime.timedelta(minutes=5 * i) for i in range(selectors.AGENDA_DAY_ROWS + 4)],
    )
    cancelled = add(patient, [at(MONDAY, 7)], status=FollowUpStatus.CANCELLED)
    first = staff_client.get(reverse("agenda"), {"view": "day", "day": MONDAY.isoformat()}).content.decode()
    assert shown(first, day) == day[: selectors.AGENDA_DAY_ROWS] and not shown(first, cancelled)
    assert f'<span class="count">({len(day)})</span>' in first and "page=2" in first
    second = staff_client.get(reverse("agenda"), {"view": "day", "day": MONDAY.isoformat(), "page": 2})
    assert shown(second.content.decode(), day) == day[selectors.AGENDA_DAY_ROWS :]
    past_the_end = staff_client.get(reverse("agenda"), {"view": "day", "day": MONDAY.isoformat(), "page": 9})
    assert past_the_end.status_code == 200 and "No more on this day" in past_the_end.content.decode()


def test_the_agenda_takes_the_same_queries_for_10_or_200_follow_ups(staff_client, patient, staff):
    week = {"view": "week", "day": MONDAY.isoformat()}
    day = {"view": "day", "day": MONDAY.isoformat(), "staff": "me"}

    def spread(n):
        add(
            patient,
            [at(MONDAY + datetime.timedelta(days=i % 7), 8 + i % 10) for i in range(n)],
            assigned_to=staff,
        )

    spread(10)
    few = queries(staff_client, reverse("agenda"), week), queries(staff_client, reverse("agenda"), day)
    spread(190)
    many = queries(staff_client, reverse("agenda"), week), queries(staff_client, reverse("agenda"), day)
    assert many == few


def test_one_staff_members_day_weighs_a_few_kb(staff_client, patient, staff):
    add(patient, [at(MONDAY, 9 + i % 8, i) for i in range(10)], assigned_to=staff, notes="Bring the pill box")
    add(patient, [at(MONDAY, 9) + datetime.timedelta(minutes=i) for i in range(200)])  # everyone else's
    response = staff_client.get(reverse("agenda"), {"view": "day", "day": MONDAY.isoformat(), "staff": "me"})
    assert len(response.context["days"][0].follow_ups) == 10
    assert len(response.content) < 24_000, len(response.content)  # about 5 KB of page, 1.6 KB a row


# --- The API ---------------------------------------------------------------------------------------


def test_the_api_lists_a_page_at_a_time_with_the_same_queries_for_10_or_200(staff, patient):
    client = client_for(staff)
    add(patient, [at(MONDAY) + datetime.timedelta(minutes=i) for i in range(10)])
    few = queries(client, "/api/v1/follow-ups/")
    rows = add(
        patient, [at(MONDAY + datetime.timedelta(days=1)) + datetime.timedelta(minutes=i) for i in range(190)]
    )
    many = queries(client, "/api/v1/follow-ups/")
    assert many == few
    first = client.get("/api/v1/follow-ups/").json()
    assert first["count"] == 200 and len(first["results"]) == 50 and first["next"].endswith("page=2")
    last = client.get("/api/v1/follow-ups/", {"page": 4}).json()
    assert [f["id"] for f in last["results"]] == [str(f.pk) for f in rows[-50:]]
    narrowed = client.get(
        "/api/v1/follow-ups/", {"due_before": f"{MONDAY + datetime.timedelta(days=1)}T00:00"}
    ).json()
    assert narrowed["count"] == 10


# --- Today -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["pharmacist", "staff"])
def test_today_shows_the_first_follow_ups_due_with_a_link_to_the_rest(role, request, patient):
    user = request.getfixturevalue(role)
    due = add(patient, overdue_times(20), assigned_to=user)
    client = client_for(user)
    page = client.get(reverse("today")).content.decode()
    assert shown(page, due) == due[:15] and "and 5 more in" in page
    few = queries(client, reverse("today"))
    add(patient, overdue_times(190), assigned_to=user)
    assert queries(client, reverse("today")) == few
