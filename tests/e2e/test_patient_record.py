import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from mtm.permissions import Role
from patients.models import CareTeamMember, MedicationEntry, Patient
from tests import factories
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.browser


def test_pharmacist_finds_a_patient_and_edits_the_medication_list_in_place(demo, live_server, page):
    sign_in(page, live_server.url)
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()

    page.get_by_label("Search patients").fill("okaf")
    results = page.locator("#results")
    expect(results.get_by_role("link")).to_have_count(1)
    results.get_by_role("link", name="Okafor, Margaret").click()
    expect(page.get_by_role("heading", name="Margaret Okafor")).to_be_visible()

    # Anything that survives in `window` proves the page was never reloaded.
    page.evaluate("window.pageMarker = 'still here'")
    medications = page.locator("#section-medications")

    medications.get_by_role("button", name="+ Add medication").click()
    form = medications.locator("form.inline-form")
    expect(form.get_by_label("Medication")).to_be_focused()
    form.get_by_label("Medication").fill("Eliquis")
    form.get_by_label("Strength / dose").fill("5 mg")
    form.get_by_label("How I use it").fill("1 tablet twice a day")
    form.get_by_label("Why I use it").fill("to prevent strokes")
    form.get_by_role("button", name="Add").click()
    expect(medications.get_by_text("Saved.")).to_be_visible()
    expect(medications.get_by_role("button", name="Edit Eliquis 5 mg")).to_be_visible()
    assert page.evaluate("window.pageMarker") == "still here"
    assert MedicationEntry.objects.filter(
        patient__last_name="Okafor", name="Eliquis", strength_dose="5 mg"
    ).exists()

    # A bad entry: no name. The error shows on the field, nothing is saved, still no reload.
    count = MedicationEntry.objects.count()
    medications.get_by_role("button", name="+ Add medication").click()
    form = medications.locator("form.inline-form")
    expect(form.get_by_label("Medication")).to_be_focused()
    form.get_by_label("Strength / dose").fill("10 mg")
    form.get_by_role("button", name="Add").click()
    name_field = medications.get_by_label("Medication")
    expect(name_field).to_have_attribute("aria-invalid", "true")
    expect(medications.get_by_text("This field is required.")).to_be_visible()
    assert MedicationEntry.objects.count() == count
    form.get_by_role("link", name="Cancel").click()
    expect(medications.locator("form.inline-form")).to_have_count(0)

    # A condition found by the words of its description, saved by its code.
    conditions = page.locator("#section-conditions")
    conditions.get_by_role("button", name="+ Add condition").click()
    expect(conditions.get_by_label("ICD-10-CM code")).to_be_focused()
    conditions.get_by_label("ICD-10-CM code").press_sequentially("chronic systolic heart failure", delay=20)
    expect(page.locator("#icd10-options option[value='I50.22']")).to_have_count(1)
    conditions.get_by_label("ICD-10-CM code").fill("I50.22")
    conditions.get_by_role("button", name="Add").click()
    expect(
        conditions.get_by_role("cell", name="Chronic systolic (congestive) heart failure", exact=True)
    ).to_be_visible()

    # Stop a medication with a reason; it moves to the stopped list.
    medications.get_by_role("button", name="Stop: Benadryl at night 25 mg").click()
    expect(medications.get_by_label("Date stopped")).to_be_focused()
    medications.get_by_label("Why stopped").fill("anticholinergic; switched to sleep hygiene")
    medications.get_by_role("button", name="Stop", exact=True).click()
    expect(medications.get_by_text("Saved.")).to_be_visible()
    medications.get_by_text(re.compile(r"Stopped medications \(\d+\)")).click()
    expect(medications.get_by_text("anticholinergic; switched to sleep hygiene")).to_be_visible()
    assert page.evaluate("window.pageMarker") == "still here"
    okafor = Patient.objects.get(last_name="Okafor")
    assert okafor.medications.get(name="Benadryl at night").status == "stopped"


# --- A small record, made with the ORM, for the tests below ---------------------------------------


@pytest.fixture
def record(transactional_db):
    org = factories.make_organisation("Riverside Test Pharmacy")
    factories.make_user(org, Role.PHARMACIST, username="pharmacist")
    patient = factories.make_patient(org, first_name="Walter", last_name="Brennan")
    lisinopril = factories.make_medication(patient, "lisinopril", strength_dose="10 mg")
    factories.make_allergy(patient, "penicillin")
    factories.make_condition(patient)
    CareTeamMember.objects.create(
        patient=patient, prescriber=factories.make_prescriber(org, phone="(608) 555-0120")
    )
    factories.make_prescriber(
        org, npi=factories.valid_npi("123456781"), first_name="Alan", last_name="Hartman"
    )
    factories.make_measurement(patient, "weight", "80")
    factories.make_fill(patient, "lisinopril 10 mg", medication=lisinopril)
    return patient


def sign_in_with_password(page, base_url):
    page.goto(base_url + "/")
    page.get_by_label("User name").fill("pharmacist")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()


def posts_of(page) -> list[str]:
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    return sent


# --- Dates typed into a date picker that do not exist ---------------------------------------------


def test_a_date_that_does_not_exist_is_stopped_before_anything_is_sent(record, live_server, page):
    sign_in_with_password(page, live_server.url)
    page.goto(f"{live_server.url}/patients/{record.pk}/")
    sent = posts_of(page)

    # An htmx form: the new medication's start date typed as 02/31/2026.
    medications = page.locator("#section-medications")
    medications.get_by_role("button", name="+ Add medication").click()
    form = medications.locator("form.inline-form")
    form.get_by_label("Medication").fill("Eliquis")
    started = form.get_by_label("Date started")
    started.press_sequentially("02312026")
    assert started.evaluate("input => input.validity.badInput")  # Chromium would send an empty value
    form.get_by_role("button", name="Add").click()
    message = form.get_by_text(
        "Enter a real date for “Date started”: the date typed is incomplete or does not exist."
    )
    expect(message).to_be_visible()
    expect(started).to_be_focused()
    expect(started).to_have_attribute("aria-invalid", "true")
    page.wait_for_timeout(300)
    assert sent == [] and not MedicationEntry.objects.filter(name="Eliquis").exists()

    # Corrected, the message goes and the form is sent.
    started.fill("2026-02-03")
    expect(message).to_have_count(0)
    form.get_by_role("button", name="Add").click()
    expect(medications.get_by_text("Saved.")).to_be_visible()
    assert MedicationEntry.objects.get(name="Eliquis").start_date == datetime.date(2026, 2, 3)

    # A plain form (no htmx): registering a patient born on 31 February.
    sent.clear()
    page.goto(f"{live_server.url}/patients/new/")
    page.get_by_label("First name").fill("Nell")
    page.get_by_label("Last name").fill("Gwynn")
    page.get_by_label("Sex").select_option("female")
    born = page.get_by_label("Date of birth")
    born.press_sequentially("02311950")
    page.get_by_role("button", name="Register patient").click()
    expect(
        page.get_by_text(
            "Enter a real date for “Date of birth”: the date typed is incomplete or does not exist."
        )
    ).to_be_visible()
    expect(born).to_be_focused()
    page.wait_for_timeout(300)
    assert sent == [] and not Patient.objects.filter(last_name="Gwynn").exists()


def test_the_unit_select_offers_the_units_of_the_chosen_kind(record, live_server, page):
    sign_in_with_password(page, live_server.url)
    page.goto(f"{live_server.url}/patients/{record.pk}/")
    measurements = page.locator("#section-measurements")
    measurements.get_by_role("button", name="+ Record measurement").click()
    form = measurements.locator("form.inline-form")
    offered = form.locator("select[name=unit] option:not([hidden])")
    expect(offered).to_have_text(["Usual unit (kg, cm, mg/dL, mmHg, %)"])
    form.get_by_label("Kind").select_option("height")
    expect(offered).to_have_text(["cm", "in"])
    expect(form.get_by_label("Unit")).to_have_value("cm")
    form.get_by_label("Kind").select_option("serum_creatinine")
    expect(offered).to_have_text(["mg/dL", "umol/L"])
    form.get_by_label("Unit").select_option("umol/L")
    form.get_by_label("Kind").select_option("height")
    expect(form.get_by_label("Unit")).to_have_value("cm")  # never a unit of the kind left behind
    form.get_by_label("Unit").select_option("in")
    form.get_by_label("Value").fill("65")
    form.get_by_role("button", name="Add").click()
    expect(measurements.get_by_text("Saved.")).to_be_visible()
    assert record.measurements.get(kind="height").value == Decimal("165.10")
