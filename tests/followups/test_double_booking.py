"""Booking what the patient already has booked that day warns, and books only when asked to."""

import datetime

from django.urls import reverse
from rest_framework.test import APIClient

from followups.models import FollowUp
from tests import factories


def test_booking_the_same_follow_up_twice_warns_and_books_a_second_only_when_asked(
    staff_client, patient, staff
):
    url = reverse("follow_up_new", args=[patient.pk])
    day = factories.today() + datetime.timedelta(days=10)
    data = {"kind": "phone_check_in", "due_at": f"{day:%Y-%m-%d}T09:30", "duration_minutes": 15,
            "assigned_to": staff.pk}  # fmt: skip
    assert staff_client.post(url, data).status_code == 302
    again = staff_client.post(
        url, {**data, "due_at": f"{day:%Y-%m-%d}T14:00"}
    )  # a second tab, later that day
    html = again.content.decode()
    assert again.status_code == 422
    assert f"{patient.full_name} already has a phone check-in booked on {day:%m/%d/%Y} at 09:30 AM" in html
    assert 'type="checkbox" name="book_anyway"' in html  # offered only now
    assert FollowUp.objects.count() == 1
    other_kind = staff_client.post(url, {**data, "kind": "lab_check"})
    assert other_kind.status_code == 302  # another kind that day is not the same booking
    anyway = staff_client.post(url, {**data, "due_at": f"{day:%Y-%m-%d}T14:00", "book_anyway": "on"})
    assert anyway.status_code == 302 and FollowUp.objects.filter(kind="phone_check_in").count() == 2


def test_the_api_refuses_the_same_booking_unless_told_to_book_anyway(staff, patient):
    client = APIClient()
    client.force_authenticate(staff)
    due = f"{factories.today() + datetime.timedelta(days=5):%Y-%m-%d}T10:00:00-05:00"
    body = {"patient": str(patient.pk), "kind": "phone_check_in", "due_at": due}
    assert client.post("/api/v1/follow-ups/", body, format="json").status_code == 201
    refused = client.post("/api/v1/follow-ups/", body, format="json")
    assert refused.status_code == 400 and "already has a phone check-in" in str(refused.json()["book_anyway"])
    assert client.post("/api/v1/follow-ups/", {**body, "book_anyway": True}, format="json").status_code == 201
