import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q

from mtm.models import Organisation, User
from patients.models import MedicationEntry, Patient


def test_it_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.fixture
def seeded(db, settings):
    settings.DEBUG = True
    call_command("seed_demo")


def test_it_creates_the_demo_organisations_users_and_patients(seeded):
    riverside = Organisation.objects.get(name="Riverside Pharmacy")
    roles = dict(User.objects.filter(organisation=riverside).values_list("username", "role"))
    assert roles == {
        "demo-pharmacist": "pharmacist",
        "demo-staff": "staff",
        "demo-admin": "org_admin",
        "demo-patient": "patient",
    }
    for user in User.objects.all():
        assert user.check_password("demo-password")
    patients = Patient.objects.filter(organisation=riverside).annotate(
        meds=Count("medications"),
        otc=Count("medications", filter=Q(medications__source="otc")),
        supplements=Count("medications", filter=Q(medications__source__in=["supplement", "herbal"])),
        allergies_n=Count("allergies", distinct=True),
        conditions_n=Count("conditions", distinct=True),
        labs=Count("measurements", distinct=True),
        team=Count("care_team", distinct=True),
    )
    assert patients.count() >= 8
    assert patients.filter(meds__gte=10).count() >= 3
    assert all(p.conditions_n >= 2 and p.labs >= 1 and p.team >= 1 for p in patients)
    assert patients.filter(otc__gte=1, supplements__gte=1).count() >= 3
    assert patients.filter(allergies_n__gte=1).count() >= 5
    assert Patient.objects.get(portal_user__username="demo-patient").organisation == riverside
    other = User.objects.get(username="other-pharmacist").organisation
    assert other != riverside and Patient.objects.filter(organisation=other).exists()


def test_running_it_twice_duplicates_nothing(seeded):
    counts = (User.objects.count(), Patient.objects.count(), MedicationEntry.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Patient.objects.count(), MedicationEntry.objects.count()) == counts


def test_it_seeds_a_completed_cmr_for_the_demo_patient(seeded):
    from reviews.models import Review

    review = Review.objects.get(patient__portal_user__username="demo-patient")
    assert review.status == "completed" and review.kind == "cmr" and review.minutes_spent == 42
    assert review.problems.count() >= 3
    assert all(p.recommendations.exists() or p.no_recommendation_reason for p in review.problems.all())
    assert review.problems.filter(recommendations__response="accepted").exists()
