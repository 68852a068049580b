"""GET /api/v1/patients/{id}/measures/?year=YYYY: the measures of one patient from their fills."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from mtm.models import AuditEvent
from tests import factories

D = datetime.date


def api_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


FIRST_FILL = D(2025, 1, 6)


def statin_fills(patient, count: int, first=FIRST_FILL, drug="atorvastatin 20 mg tablet"):
    for n in range(count):
        factories.make_fill(patient, drug, fill_date=first + datetime.timedelta(days=30 * n), days_supply=30)


def test_it_returns_each_measure_with_its_denominator_figure_and_result(org, pharmacist):
    patient = factories.make_patient(org, first_name="Ada", last_name="Moss", date_of_birth=D(1955, 4, 2))
    statin_fills(patient, 12)  # 6 January - 31 December: 360 days covered of 360
    factories.make_fill(patient, "metformin 500 mg", fill_date=D(2025, 3, 1), days_supply=90)
    factories.make_fill(patient, "metformin 500 mg", fill_date=D(2025, 9, 1), days_supply=90)
    factories.make_condition(patient, "N18.6", "End stage renal disease")

    response = api_for(pharmacist).get(f"/api/v1/patients/{patient.pk}/measures/?year=2025")

    assert response.status_code == 200
    body = response.json()
    assert body["year"] == 2025
    by_code = {m["code"]: m for m in body["measures"]}
    assert set(by_code) == {"PDC-DR", "PDC-RASA", "PDC-STA", "SUPD", "POLY-ACH", "POLY-CNS", "COB"}
    # ESRD excludes the adherence measures and SUPD.
    assert by_code["PDC-STA"]["in_denominator"] is False
    assert by_code["PDC-STA"]["exclusion"] == "esrd"
    assert by_code["SUPD"]["exclusion"] == "esrd"
    assert by_code["COB"]["in_denominator"] is False and by_code["COB"]["exclusion"] == ""
    assert AuditEvent.objects.filter(patient_id=patient.pk, changes__section="measures").exists()


def test_pdc_figures_and_days_that_can_still_be_missed(org, pharmacist):
    patient = factories.make_patient(org, first_name="Ada", last_name="Moss", date_of_birth=D(1955, 4, 2))
    statin_fills(patient, 6)  # 6 January - 4 July covered, then nothing

    measure = next(
        m
        for m in api_for(pharmacist)
        .get(f"/api/v1/patients/{patient.pk}/measures/?year=2025")
        .json()["measures"]
        if m["code"] == "PDC-STA"
    )

    assert measure["in_denominator"] is True
    assert (measure["days_covered"], measure["days_in_period"]) == (180, 360)
    assert measure["pdc"] == 0.5 and measure["met"] is False
    assert (measure["index_date"], measure["period_end"]) == ("2025-01-06", "2025-12-31")
    assert measure["days_can_miss"] is None  # 2025 is over: nothing left to save


def test_the_year_is_required_and_must_have_rules(org, pharmacist, patient):
    api = api_for(pharmacist)
    missing = api.get(f"/api/v1/patients/{patient.pk}/measures/")
    assert missing.status_code == 400
    assert missing.json() == {"year": ["Give the measurement year, e.g. ?year=2026."]}
    no_rules = api.get(f"/api/v1/patients/{patient.pk}/measures/?year=2031")
    assert no_rules.status_code == 400
    assert "No measure rules for 2031" in no_rules.json()["year"][0]
    assert api.get(f"/api/v1/patients/{patient.pk}/measures/?year=twenty").status_code == 400


def test_another_organisations_patient_is_a_404(other_org, pharmacist):
    stranger = factories.make_patient(other_org, first_name="Other", last_name="Person")
    assert api_for(pharmacist).get(f"/api/v1/patients/{stranger.pk}/measures/?year=2025").status_code == 404


def test_queries_do_not_grow_with_the_fills(org, pharmacist):
    few = factories.make_patient(org, first_name="Few", last_name="Fills", date_of_birth=D(1950, 1, 1))
    many = factories.make_patient(org, first_name="Many", last_name="Fills", date_of_birth=D(1950, 1, 1))
    statin_fills(few, 2)
    statin_fills(many, 12)
    for n in range(12):
        factories.make_fill(
            many, "lisinopril 10 mg", fill_date=D(2025, 1, 1) + datetime.timedelta(days=30 * n)
        )
    api = api_for(pharmacist)
    counts = []
    for patient in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"/api/v1/patients/{patient.pk}/measures/?year=2025").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_patient_in_hospice_care_is_excluded(org, pharmacist):
    patient = factories.make_patient(
        org, first_name="Ada", last_name="Moss", date_of_birth=D(1955, 4, 2), hospice=True
    )
    statin_fills(patient, 6)
    response = api_for(pharmacist).get(f"/api/v1/patients/{patient.pk}/measures/?year=2025")
    statins = next(m for m in response.json()["measures"] if m["code"] == "PDC-STA")
    assert (statins["in_denominator"], statins["exclusion"]) == (False, "hospice")
