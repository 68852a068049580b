"""A pharmacist imports a clinic's FHIR record for a patient they already have: upload from the
patient's page, the preview, two lines accepted, the medication list as it then is."""

import json

import pytest
from playwright.sync_api import expect

from patients.models import Patient
from tests.e2e.conftest import htmx_settled, sign_in
from tests.patients.test_fhir_import import record_of

pytestmark = pytest.mark.browser


def test_import_a_bundle_for_a_demo_patient_and_accept_two_lines(demo, live_server, page, tmp_path):
    walter = Patient.objects.get(last_name="Kowalski", first_name="Walter")
    bundle = tmp_path / "clinic-record.json"
    bundle.write_text(json.dumps(record_of(walter)))
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/patients/{walter.pk}/")
    page.get_by_role("link", name="Import FHIR data").click()
    page.get_by_label("Where the data comes from").fill("Clinic EHR")
    page.get_by_label("FHIR files").set_input_files(str(bundle))
    page.get_by_role("button", name="Read the files").click()

    section = page.locator("section.import-patient")
    expect(section).to_contain_text("The patient the import was started from")
    htmx_settled(page)
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
    expect(section).to_contain_text("Change metformin 1000 mg: directions")  # he takes it already: a change
    section.get_by_label("Add lisinopril 10 MG Oral Tablet — 1 tablet once a day").check()
    section.get_by_label("Add allergy: penicillin (hives)").check()
    section.get_by_role("button", name="Accept the ticked lines").click()
    expect(page.get_by_text("2 lines written.")).to_be_visible()

    section.get_by_role("link", name="Open the record").click()
    expect(page.locator("#section-medications")).to_contain_text("lisinopril 10 MG Oral Tablet")
    expect(page.locator("#section-allergies")).to_contain_text("penicillin")
    metformin = walter.medications.get(name__startswith="metformin")
    assert metformin.directions != "1 tablet twice a day" and metformin.source_system == ""  # not accepted


def test_download_the_ecare_plan_of_the_completed_demo_review(demo, live_server, page):
    from reviews.models import Review

    review = Review.objects.get(patient__last_name="Okafor", status="completed")
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/reviews/{review.pk}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Pharmacist eCare Plan (FHIR)").click()
    with open(download.value.path(), encoding="utf-8") as file:
        bundle = json.load(file)
    composition = bundle["entry"][0]["resource"]
    assert bundle["type"] == "document" and composition["type"]["coding"][0]["code"] == "18776-5"
    assert composition["subject"]["reference"] in {entry["fullUrl"] for entry in bundle["entry"]}
    assert any(entry["resource"]["resourceType"] == "Condition" for entry in bundle["entry"])  # its problems
