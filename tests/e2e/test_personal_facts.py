"""Recording what the screening personalises on, in the browser: a gene result on a patient taking
clopidogrel turns into a pharmacogenomic finding on the page, without a reload; a habit is added and
ended; a male patient is told why pregnancy cannot be recorded, with focus on the field to correct.

The finding comes from interactions/knowledge/pharmacogenomics.yaml (clopidogrel and a CYP2C19 poor
metabolizer, CPIC)."""

import pytest
from playwright.sync_api import expect

from mtm.permissions import Role
from patients.models import FactorStatus, GeneResult, PatientFactor
from tests import factories
from tests.e2e.conftest import htmx_settled
from tests.e2e.test_accessibility import violations, with_axe

pytestmark = pytest.mark.browser


@pytest.fixture
def walter(transactional_db):
    org = factories.make_organisation("Riverside Test Pharmacy")
    factories.make_user(org, Role.PHARMACIST, username="pharmacist")
    patient = factories.make_patient(org, first_name="Walter", last_name="Brennan", sex="male")
    factories.make_medication(patient, "Plavix 75 mg", strength_dose="75 mg", directions="1 tablet every day")
    factories.make_medication(patient, "Zocor 40 mg", strength_dose="40 mg", directions="1 tablet at bedtime")
    return patient


def sign_in_and_open(page, base_url, patient):
    page.goto(base_url + "/")
    page.get_by_label("User name").fill("pharmacist")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    page.goto(f"{base_url}/patients/{patient.pk}/")
    expect(page.get_by_role("heading", name=patient.full_name)).to_be_visible()


def test_a_cyp2c19_poor_metabolizer_result_shows_the_clopidogrel_finding(walter, live_server, page, tmp_path):
    sign_in_and_open(page, live_server.url, walter)
    page.evaluate("window.pageMarker = 'still here'")
    screening = page.locator("#screening")
    expect(screening).not_to_contain_text("CYP2C19 poor metabolizer")
    genomics = page.locator("#section-genomics")
    expect(genomics).to_contain_text("No pharmacogenomic results recorded")

    genomics.get_by_role("button", name="+ Add gene result").click()
    form = genomics.locator("form.inline-form")
    expect(form.get_by_label("Gene")).to_be_focused()
    form.get_by_label("Gene").select_option("CYP2C19")
    form.get_by_label("Phenotype").select_option(label="Poor metabolizer")
    form.get_by_label("Date tested").fill(factories.today().isoformat())
    form.get_by_label("Laboratory").fill("Four Lakes Genomics")
    form.get_by_role("button", name="Add").click()
    expect(genomics.get_by_text("Saved.")).to_be_visible()
    expect(genomics.get_by_role("cell", name="CYP2C19 poor metabolizer", exact=True)).to_be_visible()

    # The screening panel refreshes itself: the pharmacogenomic finding is there, no reload.
    expect(screening).to_contain_text("Clopidogrel in a CYP2C19 poor metabolizer")
    assert page.evaluate("window.pageMarker") == "still here"
    assert str(walter.gene_results.get()) == "CYP2C19 poor metabolizer"
    htmx_settled(page)
    genomics.screenshot(path=str(tmp_path / "section-genomics.png"))
    page.screenshot(path=str(tmp_path / "patient-page.png"), full_page=True)

    # An HLA result without its allele: the error is on the allele field, which has the focus.
    genomics.get_by_role("button", name="+ Add gene result").click()
    form = genomics.locator("form.inline-form")
    form.get_by_label("Gene").select_option("HLA-B")
    form.get_by_label("HLA result").select_option("positive")
    form.get_by_role("button", name="Add").click()
    allele = genomics.get_by_label("HLA allele")
    expect(allele).to_have_attribute("aria-invalid", "true")
    expect(allele).to_be_focused()
    expect(genomics.get_by_text("Enter the HLA-B allele tested, e.g. *57:01.")).to_be_visible()
    allele.fill("B*57:01")
    genomics.get_by_role("button", name="Add").click()
    expect(genomics.get_by_role("cell", name="HLA-B*57:01 positive (carrier)", exact=True)).to_be_visible()

    # Entered in error, with why: the finding leaves the screening.
    genomics.get_by_role("button", name="Entered in error: CYP2C19 poor metabolizer").click()
    expect(genomics.get_by_label("Why it was entered in error")).to_be_focused()
    genomics.get_by_label("Why it was entered in error").fill("another patient's report")
    genomics.get_by_role("button", name="Entered in error", exact=True).click()
    expect(genomics.get_by_text("Entered in error: another patient's report")).to_be_visible()
    expect(screening).not_to_contain_text("Clopidogrel in a CYP2C19 poor metabolizer")


def test_habits_are_recorded_and_a_male_patient_cannot_be_pregnant(walter, live_server, page, tmp_path):
    sign_in_and_open(page, live_server.url, walter)
    factors = page.locator("#section-factors")
    factors.get_by_role("button", name="+ Add pregnancy, diet or habit").click()
    form = factors.locator("form.inline-form")
    expect(form.get_by_label("Factor")).to_be_focused()
    form.get_by_label("Factor").select_option(label="Pregnant")
    form.get_by_role("button", name="Add").click()
    expect(factors.get_by_text("Pregnant cannot be recorded for a male patient")).to_be_visible()
    expect(factors.get_by_label("Factor")).to_be_focused()
    expect(factors.get_by_label("Factor")).to_have_attribute("aria-invalid", "true")

    factors.get_by_label("Factor").select_option(label="Eats grapefruit or drinks grapefruit juice")
    factors.get_by_label("Detail").fill("half a grapefruit with breakfast")
    factors.get_by_role("button", name="Add").click()
    expect(factors.get_by_text("Saved.")).to_be_visible()
    expect(factors).to_contain_text("half a grapefruit with breakfast")
    # Grapefruit with simvastatin (Zocor) is a lifestyle finding.
    screening = page.locator("#screening")
    expect(screening).to_contain_text("Grapefruit with simvastatin or lovastatin")
    htmx_settled(page)
    factors.screenshot(path=str(tmp_path / "section-factors.png"))

    factors.get_by_role(
        "button", name="No longer applies: Eats grapefruit or drinks grapefruit juice"
    ).click()
    expect(factors.get_by_label("No longer applies since")).to_be_focused()
    factors.get_by_role("button", name="No longer applies", exact=True).click()
    expect(factors.get_by_text("No longer applies since")).to_be_visible()
    expect(screening).not_to_contain_text("Grapefruit with simvastatin or lovastatin")
    assert walter.factors.get().status == FactorStatus.ENDED


def test_both_sections_and_their_forms_have_no_serious_accessibility_violation(walter, live_server, page):
    with_axe(page)
    GeneResult.objects.create(patient=walter, gene="HLA-B", allele="*57:01", result="positive")
    PatientFactor.objects.create(
        patient=walter, factor="alcohol", detail="2 beers a day", noted_on=factories.today()
    )
    sign_in_and_open(page, live_server.url, walter)
    page.locator("#section-genomics").get_by_role("button", name="+ Add gene result").click()
    page.locator("#section-factors").get_by_role("button", name="Edit Drinks alcohol").click()
    expect(page.locator("#section-factors form.inline-form")).to_be_visible()
    expect(page.locator("#section-genomics form.inline-form")).to_be_visible()
    htmx_settled(page)
    assert violations(page) == []
