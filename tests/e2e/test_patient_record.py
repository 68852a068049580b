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
    expect(page.get_by_role("heading", name="Today")).to_be_visible()  # where a pharmacist lands

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
    medications.get_by_role("button", name="Stop: cinnamon capsules 500 mg").click()
    expect(medications.get_by_label("Date stopped")).to_be_focused()
    medications.get_by_label("Why stopped").fill("no evidence it lowers blood sugar")
    medications.get_by_role("button", name="Stop", exact=True).click()
    expect(medications.get_by_text("Saved.")).to_be_visible()
    medications.get_by_text(re.compile(r"Stopped medications \(\d+\)")).click()
    expect(medications.get_by_text("no evidence it lowers blood sugar")).to_be_visible()
    assert page.evaluate("window.pageMarker") == "still here"
    okafor = Patient.objects.get(last_name="Okafor")
    assert okafor.medications.get(name="cinnamon capsules").status == "stopped"


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
    expect(page.get_by_role("heading", name="Today")).to_be_visible()


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
    expect(offered).to_have_text(["Usual unit (kg, cm, mg/dL, mmHg, %, mL/min/1.73m², mmol/L)"])
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


# --- Without JavaScript ---------------------------------------------------------------------------


def test_without_javascript_every_section_adds_changes_and_ends_with_plain_forms(
    record, live_server, browser
):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in_with_password(page, live_server.url)
    patient_page = f"{live_server.url}/patients/{record.pk}/"
    page.goto(patient_page)

    def back_saved(slug):
        expect(page).to_have_url(f"{patient_page}#section-{slug}")
        expect(page.locator(f"#section-{slug}").get_by_text("Saved.")).to_be_visible()

    def form_page():
        form = page.locator("form.inline-form")
        expect(form).to_have_count(1)
        return form

    # Medications: add, change, stop, each on a page of its own that comes back to the patient.
    page.locator("#section-medications").get_by_role("button", name="+ Add medication").click()
    expect(page).to_have_url(re.compile(r"/medications/add/"))
    form = form_page()
    form.get_by_label("Medication").fill("Eliquis")
    form.get_by_label("Strength / dose").fill("-5 mg")
    form.get_by_role("button", name="Add").click()
    expect(
        page.get_by_text("The strength / dose cannot be negative (“-5 mg”)")
    ).to_be_visible()  # on its page
    form = form_page()
    form.get_by_label("Strength / dose").fill("5 mg")
    form.get_by_role("button", name="Add").click()
    back_saved("medications")
    page.locator("#section-medications").get_by_role("button", name="Edit Eliquis 5 mg").click()
    form = form_page()
    form.get_by_label("How I use it").fill("1 tablet twice a day")
    form.get_by_role("button", name="Save changes").click()
    back_saved("medications")
    page.locator("#section-medications").get_by_role("button", name="Stop: lisinopril 10 mg").click()
    form = form_page()
    form.get_by_label("Why stopped").fill("cough")
    form.get_by_role("button", name="Stop", exact=True).click()
    back_saved("medications")
    assert MedicationEntry.objects.get(name="Eliquis").directions == "1 tablet twice a day"
    assert MedicationEntry.objects.get(name="lisinopril").status == "stopped"

    # Without JavaScript the browser itself refuses a date that does not exist: nothing is sent.
    page.locator("#section-medications").get_by_role("button", name="+ Add medication").click()
    form = form_page()
    form.get_by_label("Medication").fill("Xarelto")
    form.get_by_label("Date started").press_sequentially("02312026")
    sent = posts_of(page)
    form.get_by_role("button", name="Add").click()
    page.wait_for_timeout(300)
    assert sent == [] and not MedicationEntry.objects.filter(name="Xarelto").exists()
    form.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"/patients/{record.pk}/#section-medications$"))

    # Allergies: add, then "no longer applies".
    page.locator("#section-allergies").get_by_role("button", name="+ Add allergy").click()
    form = form_page()
    form.get_by_label("Substance").fill("sulfamethoxazole")
    form.get_by_label("Reaction").fill("rash")
    form.get_by_role("button", name="Add").click()
    back_saved("allergies")
    page.locator("#section-allergies").get_by_role("button", name="No longer applies: penicillin").click()
    form = form_page()
    form.get_by_label("Why it no longer applies").fill("tolerated amoxicillin in 2025")
    form.get_by_role("button", name="No longer applies").click()
    back_saved("allergies")
    assert record.allergies.get(substance="penicillin").status == "inactive"

    # Conditions: words get the matching codes back (there are no suggestions as one types), then a code.
    page.locator("#section-conditions").get_by_role("button", name="+ Add condition").click()
    form = form_page()
    form.get_by_label("ICD-10-CM code").fill("chronic systolic heart failure")
    form.get_by_role("button", name="Add").click()
    expect(page.get_by_text(re.compile(r"Matching codes: .*I50\.22 Chronic systolic"))).to_be_visible()
    form = form_page()
    form.get_by_label("ICD-10-CM code").fill("I50.22")
    form.get_by_role("button", name="Add").click()
    back_saved("conditions")
    page.locator("#section-conditions").get_by_role(
        "button", name="Resolved: I10 Essential (primary) hypertension"
    ).click()
    form = form_page()
    form.get_by_role("button", name="Resolved").click()
    back_saved("conditions")
    assert sorted(record.conditions.values_list("icd10_code", "status")) == [
        ("I10", "resolved"),
        ("I50.22", "active"),
    ]

    # Care team: a prescriber from the directory, and removing one.
    page.locator("#section-care-team").get_by_role("button", name="+ Add prescriber").click()
    form = form_page()
    form.get_by_label("Prescriber from your directory").select_option(label="Alan Hartman, MD")
    form.get_by_role("button", name="Add").click()
    back_saved("care-team")
    page.locator("#section-care-team").get_by_role("button", name="Remove: Rita Moreno, MD").click()
    form_page().get_by_role("button", name="Remove").click()
    back_saved("care-team")
    assert [str(m.prescriber) for m in record.care_team.all()] == ["Alan Hartman, MD"]

    # Measurements: a weight in pounds (every unit is offered; the server converts), then a change.
    page.locator("#section-measurements").get_by_role("button", name="+ Record measurement").click()
    form = form_page()
    form.get_by_label("Kind").select_option("weight")
    form.get_by_label("Value").fill("154")
    form.get_by_label("Unit").select_option("lb")
    form.get_by_role("button", name="Add").click()
    back_saved("measurements")
    assert record.measurements.filter(kind="weight", value=Decimal("69.85")).exists()
    page.locator("#section-measurements summary").click()
    page.locator("#section-measurements").get_by_role("button", name="Edit Weight 69.85 kg").click()
    form = form_page()
    form.get_by_label("Note").fill("on the pharmacy scale")
    form.get_by_role("button", name="Save changes").click()
    back_saved("measurements")

    # Fills: record one, then correct it.
    page.locator("#section-fills").get_by_role("button", name="+ Record fill").click()
    form = form_page()
    form.get_by_label("Drug").fill("Eliquis 5 mg")
    form.get_by_label("Fill date").fill(factories.today().isoformat())
    form.get_by_label("Days' supply").fill("30")
    form.get_by_label("Quantity").fill("60")
    form.get_by_role("button", name="Add").click()
    back_saved("fills")
    fill = record.fills.get(drug_name="Eliquis 5 mg")
    page.locator("#section-fills").get_by_role("button", name=f"Edit Eliquis 5 mg {fill.fill_date}").click()
    form = form_page()
    form.get_by_label("Rx number").fill("RX-1001")
    form.get_by_role("button", name="Save changes").click()
    back_saved("fills")
    assert record.fills.get(drug_name="Eliquis 5 mg").rx_number == "RX-1001"

    # The patient's details.
    page.get_by_role("button", name="Edit details").click()
    page.get_by_label("Phone:", exact=True).fill("608.555.0177")
    page.get_by_role("button", name="Save details").click()
    back_saved("details")
    expect(page.locator("#section-details")).to_contain_text("(608) 555-0177")
    context.close()


def test_a_folded_finding_shows_its_explanation_when_opened(demo, live_server, page):
    patient = Patient.objects.get(last_name="Okafor")
    for name in ("atazanavir", "omeprazole"):
        factories.make_medication(patient, name=name)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    finding = page.locator("#screening li.finding:has(.finding-explanation)").first  # a folded one
    explanation = finding.locator(".finding-explanation")
    expect(explanation.get_by_text("Why:")).to_have_count(0)  # not on the page until opened
    finding.locator("summary").click()
    expect(explanation.get_by_text("What to do:")).to_be_visible()
