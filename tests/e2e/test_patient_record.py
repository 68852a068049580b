import re

import pytest
from playwright.sync_api import expect

from patients.models import MedicationEntry, Patient
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
    form = medications.locator("form")
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
    form = medications.locator("form")
    expect(form.get_by_label("Medication")).to_be_focused()
    form.get_by_label("Strength / dose").fill("10 mg")
    form.get_by_role("button", name="Add").click()
    name_field = medications.get_by_label("Medication")
    expect(name_field).to_have_attribute("aria-invalid", "true")
    expect(medications.get_by_text("This field is required.")).to_be_visible()
    assert MedicationEntry.objects.count() == count
    form.get_by_role("link", name="Cancel").click()
    expect(medications.locator("form")).to_have_count(0)

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
