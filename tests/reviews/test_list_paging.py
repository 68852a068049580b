"""The reviews page, the audit trail and the API's lists at the size of a pharmacy group: a page
at a time, with the same queries for 10 rows as for 200, and counts that stop at a cap."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from mtm.models import AuditAction, AuditEvent
from mtm.paging import CappedPaginator
from patients.models import Patient
from reviews.models import Review, ReviewKind, ReviewStatus
from tests.conftest import client_for

DASH = "\u2013"  # an en dash, as in "1-25 of 210" on the page


def bulk_reviews(org, pharmacist, n: int, *, status=ReviewStatus.COMPLETED, days_ago: int = 2) -> None:
    patients = Patient.objects.bulk_create(
        Patient(organisation=org, first_name=f"P{i}", last_name=f"List{n}", date_of_birth=datetime.date(1950, 1, 1))
        for i in range(n)
    )  # fmt: skip
    at = timezone.now() - datetime.timedelta(days=days_ago)
    completed = status == ReviewStatus.COMPLETED
    Review.objects.bulk_create(
        Review(organisation=org, patient=patient, pharmacist=pharmacist, status=status, kind=ReviewKind.CMR,
               completed_at=at if completed else None, minutes_spent=30 if completed else None)
        for patient in patients
    )  # fmt: skip


def measured(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_reviews_page_shows_a_page_of_each_list_whatever_the_organisation_holds(org, pharmacist):
    client = client_for(pharmacist)
    counts = []
    for n in (10, 200):
        bulk_reviews(org, pharmacist, n)  # completed two days ago: their summaries are due
        bulk_reviews(org, pharmacist, n, status=ReviewStatus.IN_PROGRESS)
        queries, page = measured(client, reverse("review_list"))
        counts.append(queries)
    assert counts[0] == counts[1]
    assert page.count("/plan/") == 10  # summaries to deliver: ten at a time
    assert f"1{DASH}10 of 210 summaries to deliver" in page
    assert f"1{DASH}25 of 210 open reviews" in page and f"1{DASH}25 of 210 completed reviews" in page
    assert len(page) < 60_000

    _, second = measured(client, reverse("review_list") + "?completed_page=9&summaries_page=2")
    assert (
        f"201{DASH}210 of 210 completed reviews" in second
        and f"11{DASH}20 of 210 summaries to deliver" in second
    )
    assert f"1{DASH}25 of 210 open reviews" in second  # the other lists stay on their first page


def test_the_audit_trail_pages_with_the_same_queries(org, org_admin):
    client = client_for(org_admin)
    counts = []
    for n in (10, 200):
        AuditEvent.objects.bulk_create(
            AuditEvent(organisation=org, actor_username="x", action=AuditAction.VIEW, object_type="patients.patient",
                       object_id=str(i), object_repr="x")
            for i in range(n)
        )  # fmt: skip
        queries, _ = measured(client, reverse("audit_log"))
        counts.append(queries)
    assert counts[0] == counts[1]


@pytest.mark.parametrize("url", ["/api/v1/reviews/", "/api/v1/patients/"])
def test_api_lists_page_with_the_same_queries(org, pharmacist, url):
    api = APIClient()
    api.force_authenticate(pharmacist)
    counts = []
    for n in (10, 200):
        bulk_reviews(org, pharmacist, n)
        with CaptureQueriesContext(connection) as queries:
            body = api.get(url).json()
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert len(body["results"]) == 50 and body["count"] == 210 and body["count_capped"] is False


def test_a_count_past_the_cap_is_not_counted_to_the_end(org):
    Patient.objects.bulk_create(
        Patient(organisation=org, first_name="C", last_name=str(i), date_of_birth=datetime.date(1950, 1, 1))
        for i in range(8)
    )
    paginator = CappedPaginator(Patient.objects.order_by("last_name"), 2, cap=5)
    with CaptureQueriesContext(connection) as queries:
        assert (paginator.count, paginator.more_than_cap, paginator.count_label) == (5, True, "5+")
    assert "LIMIT 6" in queries[0]["sql"] and paginator.num_pages == 3
    assert CappedPaginator(Patient.objects.order_by("last_name"), 2, cap=50).count_label == "8"
