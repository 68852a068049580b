"""bench/scale_build.py, the data bench/scale.py measures, at a tiny size: the counts it promises,
and rows the models accept as the services would have written them."""

import importlib.util
from pathlib import Path

import pytest

from followups.models import FollowUp, FollowUpStatus, Reminder
from mtm.models import AuditEvent
from patients.models import MedicationEntry, Patient, PharmacyFill, Prescriber
from reviews.models import Problem, Recommendation, Review, ReviewStatus

_spec = importlib.util.spec_from_file_location(
    "scale_build", Path(__file__).resolve().parents[1] / "bench" / "scale_build.py"
)
scale_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale_build)


@pytest.fixture
def built(db):
    return scale_build.organisation_build(slug="scale-tiny", patients=40)


def test_it_builds_the_promised_counts(built):
    assert (
        scale_build.actual_counts(built.organisation)
        == scale_build.expected_counts(40)
        == {
            "patients": 40,
            "medications": 360,
            "completed reviews": 10,
            "follow-ups": 60,
        }
    )
    assert scale_build.built("scale-tiny").review == built.review


def test_the_measured_patient_has_15_medications_and_an_open_review_with_letters(built):
    assert built.patient.medications.count() == 15
    assert built.review.status == ReviewStatus.IN_PROGRESS
    assert built.review.assessments.count() == 15
    assert Recommendation.objects.filter(
        problem__review=built.review, prescriber=built.letter_prescriber
    ).exists()


def test_every_row_is_valid(built):
    org = built.organisation
    for model, rows in [
        (Patient, Patient.objects.filter(organisation=org)),
        (Prescriber, Prescriber.objects.filter(organisation=org)),
        (MedicationEntry, MedicationEntry.objects.filter(patient__organisation=org)),
        (PharmacyFill, PharmacyFill.objects.filter(patient__organisation=org)),
        (Review, Review.objects.filter(organisation=org)),
        (Problem, Problem.objects.filter(patient__organisation=org)),
        (Recommendation, Recommendation.objects.filter(patient__organisation=org)),
        (FollowUp, FollowUp.objects.filter(organisation=org)),
        (Reminder, Reminder.objects.filter(organisation=org)),
    ]:
        assert rows.exists(), model
        for row in rows:
            row.full_clean()
    for review in Review.objects.filter(organisation=org, status=ReviewStatus.COMPLETED):
        assert review.completed_at and review.started_at and review.minutes_spent
        assert review.new_patient is not None
    assert FollowUp.objects.filter(organisation=org, status=FollowUpStatus.SCHEDULED, trigger="").exists()
    for follow_up in FollowUp.objects.filter(organisation=org).exclude(status=FollowUpStatus.SCHEDULED):
        assert follow_up.closed_at is not None
    assert AuditEvent.objects.filter(organisation=org).count() > 360


def test_the_same_seed_builds_the_same_patients(db):
    first = scale_build.organisation_build(slug="scale-a", patients=20)
    second = scale_build.organisation_build(slug="scale-b", patients=20)

    def names(built):
        return list(
            Patient.objects.filter(organisation=built.organisation)
            .order_by("date_of_birth", "last_name")
            .values_list("first_name", "last_name", "date_of_birth")
        )

    assert names(first) == names(second)
