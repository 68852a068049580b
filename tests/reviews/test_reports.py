import csv
import datetime
import io
import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mtm.audit import Actor
from mtm.permissions import Role
from patients.models import Patient
from reviews import services
from reviews.models import Audience, PatientAction, ProblemCategory, Response, Review, ReviewStatus
from tests import factories
from tests.conftest import client_for


def streamed(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def completed_review(patient, pharmacist, *, minutes=25, problems=(), prescriber=None, answer=None):
    by = Actor(pharmacist)
    review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    review = services.review_start(review=review, version=review.version, by=by)
    for category in problems:
        cause = "forgets" if category == ProblemCategory.NONADHERENCE else ""
        problem = services.problem_add(
            review=review,
            data={"title": category, "category": category, "nonadherence_cause": cause},
            medications=[],
            by=by,
        )
        if prescriber:
            recommendation = services.recommendation_add(
                problem=problem,
                data={"audience": Audience.PRESCRIBER, "prescriber": prescriber, "text": "x"},
                prescriber_confirmed=True,
                by=by,
            )
            if answer:
                services.prescriber_response_record(recommendation=recommendation, response=answer, on=factories.today(),
                                                    note="changed dose", version=recommendation.version, by=by)  # fmt: skip
        else:
            services.recommendation_add(problem=problem, data={"audience": Audience.PATIENT, "action": PatientAction.EDUCATION, "text": "x"}, by=by)  # fmt: skip
    return services.review_complete(review=review, version=review.version, minutes_spent=minutes, by=by)


@pytest.fixture
def second_pharmacist(org):
    return factories.make_user(org, Role.PHARMACIST, username="second", first_name="Sam", last_name="Second")


def period(days_back=0):
    today = factories.today()
    return {"start": (today - datetime.timedelta(days=days_back)).isoformat(), "end": today.isoformat()}


def test_outcomes_per_pharmacist_and_for_the_organisation(
    org, patient, pharmacist, second_pharmacist, pharmacist_client
):
    prescriber = factories.make_prescriber(org)
    completed_review(patient, pharmacist, problems=[ProblemCategory.ADVERSE_REACTION, ProblemCategory.NONADHERENCE],
                     prescriber=prescriber, answer=Response.MODIFIED)  # fmt: skip
    other = factories.make_patient(org, first_name="Ada", last_name="Other")
    completed_review(other, second_pharmacist, problems=[ProblemCategory.ADVERSE_REACTION], prescriber=prescriber,
                     answer=Response.DECLINED)  # fmt: skip
    page = pharmacist_client.get(reverse("outcomes_report"), period())
    body = page.content.decode()
    assert page.status_code == 200
    assert "Safety: adverse drug reaction</td><td>2</td>" in body
    assert "Adherence: nonadherence</td><td>1</td>" in body
    assert "2 of 2 (100%)" in body and "0 of 1 (0%)" in body  # modified counts as accepted
    assert ">67%<" in body  # the organisation: 2 accepted of 3 answered


def test_outcomes_refuse_a_backwards_period_naming_the_field(pharmacist_client):
    page = pharmacist_client.get(reverse("outcomes_report"), {"start": "2026-11-20", "end": "2026-11-01"})
    assert page.status_code == 400
    assert "The end of the period (“end”) is before its start (“start”)." in page.content.decode()
    bad = pharmacist_client.get(reverse("billing_export"), {"start": "nope", "end": "2026-11-01"})
    assert (
        bad.status_code == 400
        and "Enter a real date for “From” (“start”), as YYYY-MM-DD." in bad.content.decode()
    )


def test_outcomes_queries_do_not_grow_with_the_reviews(org, patient, pharmacist, pharmacist_client):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            pharmacist_client.get(reverse("outcomes_report"), period())
        return len(captured)

    completed_review(patient, pharmacist, problems=[ProblemCategory.UNNECESSARY])
    few = queries()
    for n in range(5):
        completed_review(factories.make_patient(org, first_name=f"N{n}", last_name="More"), pharmacist,
                         problems=[ProblemCategory.UNNECESSARY, ProblemCategory.DOSAGE_TOO_HIGH])  # fmt: skip
    assert queries() == few


@pytest.mark.parametrize(
    ("minutes", "lines"), [(14, [["99605", "1"]]), (31, [["99605", "1"], ["99607", "2"]])]
)
def test_billing_export_lists_cpt_units_per_review(patient, pharmacist, pharmacist_client, minutes, lines):
    patient.last_name = "=HYPERLINK(1)"  # a formula is never exported as one
    patient.save()
    completed_review(patient, pharmacist, minutes=minutes, problems=[ProblemCategory.UNNECESSARY])
    response = pharmacist_client.get(reverse("billing_export"), period())
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(streamed(response))))
    assert [[row["cpt_code"], row["units"]] for row in rows] == lines
    assert rows[0]["patient_last_name"] == "'=HYPERLINK(1)" and rows[0]["patient_status"] == "new"


def test_reports_are_for_pharmacists_and_admins_of_the_organisation(
    org, patient, pharmacist, staff_client, admin_client_org, other_pharmacist
):
    completed_review(patient, pharmacist, problems=[ProblemCategory.UNNECESSARY])
    assert staff_client.get(reverse("outcomes_report")).status_code == 403
    assert staff_client.get(reverse("billing_export")).status_code == 403
    assert admin_client_org.get(reverse("billing_export"), period()).status_code == 200
    other = client_for(other_pharmacist).get(reverse("billing_export"), period())
    assert other.status_code == 200 and streamed(other).count("\n") == 1  # the header only


def bulk_completed_reviews(org, pharmacist, n: int) -> None:
    """n completed reviews in the period, written straight to the database (thousands in a second)."""
    patients = Patient.objects.bulk_create(
        Patient(organisation=org, first_name=f"Bulk{i}", last_name="Export", date_of_birth=datetime.date(1950, 1, 1))
        for i in range(n)
    )  # fmt: skip
    completed_at = timezone.now() - datetime.timedelta(days=3)
    Review.objects.bulk_create(
        Review(organisation=org, patient=patient, pharmacist=pharmacist, status=ReviewStatus.COMPLETED,
               started_at=completed_at, completed_at=completed_at, minutes_spent=40, new_patient=True,
               consent_noted=True)
        for patient in patients
    )  # fmt: skip


def test_the_billing_export_streams_in_flat_memory(org, pharmacist, pharmacist_client):
    """The first line goes out before the reviews are read, and a period ten times as full takes
    about the same memory to export: rows are read a few hundred at a time and sent on."""

    def export_peak() -> tuple[int, int]:
        response = pharmacist_client.get(reverse("billing_export"), period(days_back=7))
        assert response.streaming and response["Content-Type"] == "text/csv"
        chunks = iter(response.streaming_content)
        with CaptureQueriesContext(connection) as before_first:
            first = next(chunks)
        assert first.startswith(b"date_of_service,") and len(before_first) == 0
        tracemalloc.start()
        lines = 1 + sum(chunk.count(b"\n") for chunk in chunks)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return lines, peak

    bulk_completed_reviews(org, pharmacist, 1000)  # two of the batches the rows are read in
    lines_few, peak_few = export_peak()
    bulk_completed_reviews(org, pharmacist, 4000)
    lines_many, peak_many = export_peak()
    assert (lines_few, lines_many) == (1 + 1000 * 2, 1 + 5000 * 2)  # 40 minutes: 99605, then 99607 x2
    assert peak_many < peak_few * 1.5, (peak_few, peak_many)
