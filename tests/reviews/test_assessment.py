"""The assessment of a confirmed finding starts as a draft from the finding's consequence and the
patient's own data, not the screening's generic "why"; the pharmacist edits it."""

import datetime

import pytest
from django.urls import reverse

from mtm.audit import Actor
from patients import services as patient_services
from reviews import selectors, services
from tests import factories


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist)


@pytest.fixture
def patient(org):
    born = factories.today().replace(year=factories.today().year - 80) - datetime.timedelta(days=10)
    return factories.make_patient(org, first_name="Edna", last_name="Voss", date_of_birth=born, sex="female")


@pytest.fixture
def review(patient, by):
    review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    return services.review_start(review=review, version=review.version, by=by)


def take(patient, by, name, strength="", directions=""):
    data = {"name": name, "strength_dose": strength, "directions": directions}
    return patient_services.medication_add(patient=patient, data=data, by=by)


def confirm(review, title_part):
    finding = next(
        f for f in selectors.review_findings(review, today=factories.today()) if title_part in f["title"]
    )
    return finding, services.finding_confirm(
        review=review, finding=finding, data={}, by=Actor(review.pharmacist)
    )


def test_a_kidney_finding_is_assessed_with_the_clearance_its_method_and_the_dose(review, patient, by):
    take(patient, by, "Advil", "200 mg", "2 tablets three times a day")
    factories.make_measurement(
        patient, "weight", "60", measured_on=factories.today() - datetime.timedelta(days=3)
    )
    factories.make_measurement(patient, "serum_creatinine", "1.4", measured_on=datetime.date(2026, 10, 2))
    finding, problem = confirm(review, "NSAID and reduced kidney function")
    details = problem.details
    assert details.startswith(finding["effect"])
    # (140 - 80) x 60 / (72 x 1.4) x 0.85 = 30.4
    assert "For Edna: 80-year-old woman; creatinine clearance 30 mL/min (Cockcroft-Gault with actual body weight " \
           "60 kg (height not recorded), serum creatinine 1.4 mg/dL on 10/02/2026); below the 60 mL/min threshold " \
           "for ibuprofen." in details  # fmt: skip
    assert "Takes Advil 200 mg, 2 tablets three times a day." in details
    assert finding["why"] not in details


def test_only_the_results_that_matter_for_the_finding_are_drafted(review, patient, by):
    take(patient, by, "Coumadin", "5 mg", "1 tablet every evening")
    take(patient, by, "Diflucan", "150 mg", "1 tablet once")
    factories.make_measurement(patient, "weight", "60")
    factories.make_measurement(patient, "serum_creatinine", "1.4")
    factories.make_measurement(patient, "blood_pressure", "150", diastolic="88")
    _, problem = confirm(review, "fluconazole")
    assert "For Edna: 80-year-old woman." in problem.details
    assert "creatinine" not in problem.details and "blood pressure" not in problem.details
    assert "Takes Coumadin 5 mg, 1 tablet every evening; Diflucan 150 mg, 1 tablet once." in problem.details


def test_missing_kidney_data_is_said_rather_than_guessed(review, patient, by):
    take(patient, by, "Advil", "200 mg")
    take(patient, by, "lisinopril", "10 mg")
    take(patient, by, "hydrochlorothiazide", "25 mg")
    factories.make_measurement(patient, "weight", "60")
    _, problem = confirm(review, "triple whammy")
    assert "creatinine clearance not estimated (needs a serum creatinine)" in problem.details


def test_a_drug_disease_finding_names_the_condition_and_its_result(review, patient, by):
    take(patient, by, "glipizide", "5 mg", "1 tablet before breakfast")
    factories.make_condition(patient, "E11.9", "Type 2 diabetes mellitus without complications")
    factories.make_measurement(patient, "a1c", "6.1", measured_on=datetime.date(2026, 9, 1))
    _, problem = confirm(review, "Sulfonylurea")
    assert "A1c 6.1% on 09/01/2026" in problem.details


def test_the_assessment_is_the_pharmacists_to_edit(review, patient, by, pharmacist_client):
    take(patient, by, "Advil", "200 mg")
    factories.make_measurement(patient, "weight", "60")
    factories.make_measurement(patient, "serum_creatinine", "1.4")
    _, problem = confirm(review, "NSAID and reduced kidney function")
    form = pharmacist_client.get(
        reverse("problem_form", args=[review.pk, problem.pk, "problem"])
    ).content.decode()
    assert "Your assessment (printed on the prescriber letter)" in form
    assert "creatinine clearance 30 mL/min" in form  # the draft, ready to edit
    mine = "Takes 6 Advil a day for knee pain; CrCl about 30. Stop it."
    edited = services.problem_update(problem=problem, data={"details": mine}, version=problem.version, by=by)
    assert edited.details == mine


def test_a_confirmed_lifestyle_finding_brings_the_advice_for_the_patient(review, patient, by):
    take(patient, by, "simvastatin", "40 mg", "1 tablet at bedtime")
    patient_services.factor_add(
        patient=patient, data={"factor": "grapefruit", "noted_on": factories.today()}, by=by
    )
    finding, problem = confirm(review, "Grapefruit")
    assert finding["kind"] == "lifestyle" and finding["advice"]
    assert problem.patient_wording == finding["advice"]  # what the written summary prints
    assert "the patient reports grapefruit" in problem.details
