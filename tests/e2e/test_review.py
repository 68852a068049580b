import io
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from reviews.models import FindingDismissal, MedicationAssessment, Problem, Recommendation, Review
from tests.e2e.conftest import htmx_settled, sign_in

pytestmark = pytest.mark.browser


def test_pharmacist_runs_a_cmr_from_findings_to_completion(demo, live_server, page):
    sign_in(page, live_server.url)
    page.get_by_label("Search patients").fill("okaf")
    page.locator("#results").get_by_role("link", name="Okafor, Margaret").click()
    page.get_by_role("link", name="Start a review").click()
    page.get_by_label("The patient agreed to the review").check()
    page.get_by_role("button", name="Open it for later").click()
    expect(page.get_by_role("heading", name="CMR for Margaret Okafor")).to_be_visible()
    page.evaluate("window.pageMarker = 'still here'")  # survives only if the page is never reloaded
    page.get_by_role("button", name="Start the review").click()
    expect(page.locator("#workspace .badge", has_text="In progress")).to_be_visible()
    htmx_settled(page)

    # The CMR questions for one medication save as they are answered.
    advil = page.locator("form.assessment", has_text="Advil")
    advil.get_by_label("Still needed?").select_option("no")
    expect(advil.get_by_text("Saved")).to_be_visible()
    advil.get_by_label("Safe?").select_option("no")
    # what the list says it is for counts as answered once saved
    expect(advil.get_by_text("3/6 answered")).to_be_visible()
    advil.get_by_label("Better alternative").fill("acetaminophen, or keep to Voltaren gel")
    advil.get_by_label("Better alternative").press("Tab")
    expect(advil.get_by_text("Saved", exact=True)).to_be_visible()
    # A medication with fills shows its proportion of days covered.
    expect(page.locator("form.assessment", has_text="glipizide").get_by_text("PDC")).to_contain_text("%")

    findings = page.locator("#workspace ol.findings > li")
    triple = findings.filter(has_text="triple whammy")
    triple.get_by_role("button", name="Confirm as a problem").click()
    expect(triple.get_by_text("Confirmed as a problem")).to_be_visible()
    ckd = findings.filter(has_text="NSAID in chronic kidney disease")
    ckd.get_by_role("button", name="Confirm as a problem").click()
    expect(ckd.get_by_text("Confirmed as a problem")).to_be_visible()
    # Her kidney function by ideal body weight (her height is recorded) is about 25 mL/min: metformin is
    # contraindicated and the NSAID is to be avoided.
    nsaid_kidney = findings.filter(has_text="NSAID and reduced kidney function")
    nsaid_kidney.get_by_placeholder("Another reason…").fill("Covered by the triple whammy recommendation")
    nsaid_kidney.get_by_role("button", name="Dismiss").click()
    expect(nsaid_kidney.get_by_text("Dismissed: Covered by the triple whammy")).to_be_visible()
    metformin = findings.filter(has_text="Metformin and reduced kidney function")
    metformin.get_by_role("button", name="Confirm as a problem").click()
    expect(metformin.get_by_text("Confirmed as a problem")).to_be_visible()
    vitamin_d = findings.filter(has_text="Cholecalciferol from more than one product")
    vitamin_d.locator("summary").click()
    vitamin_d.get_by_placeholder("Another reason…").fill("Total 2,800 units a day; fine")
    vitamin_d.get_by_role("button", name="Dismiss").click()
    expect(vitamin_d.get_by_text("Dismissed: Total 2,800 units a day; fine")).to_be_visible()

    new_problem = page.locator("details", has_text="Add a problem by hand")
    new_problem.get_by_text("Add a problem by hand").click()
    new_problem.get_by_label("Problem:", exact=True).fill("Takes Benadryl nightly for sleep")
    new_problem.get_by_label("Category").select_option("adverse_reaction")
    new_problem.get_by_role("button", name="Add the problem").click()
    manual = page.locator("article.problem", has_text="Takes Benadryl nightly for sleep")
    expect(manual).to_be_visible()

    # Completing is refused while problems have no recommendation.
    page.get_by_label("Minutes spent").fill("35")
    page.get_by_role("button", name="Complete and lock the review").click()
    expect(page.get_by_role("alert").filter(has_text="needs a recommendation")).to_be_visible()

    manual.get_by_text("Recommend to the patient").click()
    manual.get_by_label("Kind of action").select_option("replace_drug")
    manual.get_by_label("Recommendation:", exact=True).fill(
        "Stop Benadryl; try sleep hygiene, melatonin if needed"
    )
    manual.get_by_label("What I need to do").fill("Stop taking Benadryl at night.")
    manual.get_by_role("button", name="Add the recommendation").click()
    expect(manual.get_by_text("Stop Benadryl; try sleep hygiene")).to_be_visible()

    triple = page.locator("article.problem", has_text="triple whammy")
    triple.get_by_text("Recommend to a prescriber").click()
    triple.get_by_label("Prescriber").select_option(index=1)
    triple.get_by_label("Recommendation:", exact=True).fill("Stop ibuprofen; acetaminophen for knee pain")
    triple.get_by_role("button", name="Add the recommendation").click()
    expect(triple.get_by_text("Awaiting an answer")).to_be_visible()

    ckd = page.locator("article.problem", has_text="NSAID in chronic kidney disease")
    ckd.get_by_text("Edit the problem").click()
    ckd.get_by_label("Why no recommendation").fill("Covered by the triple whammy recommendation")
    ckd.get_by_role("button", name="Save the problem").click()
    expect(page.locator("article.problem", has_text="Covered by the triple whammy")).to_be_visible()

    kidney = page.locator("article.problem", has_text="Metformin and reduced kidney function")
    kidney.get_by_text("Edit the problem").click()
    kidney.get_by_label("Why no recommendation").fill("Stopping metformin is with the nephrologist this week")
    kidney.get_by_role("button", name="Save the problem").click()
    expect(
        page.locator("article.problem", has_text="Stopping metformin is with the nephrologist")
    ).to_be_visible()

    page.get_by_label("Minutes spent").fill("35")
    page.get_by_role("button", name="Complete and lock the review").click()
    expect(page.get_by_text("Corrections and later notes are added as addenda")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the letter (PDF)").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Margaret Okafor" in text and "Stop ibuprofen; acetaminophen for knee pain" in text
    # the seeded demo has a completed CMR for her 9 days ago: an established patient
    expect(page.get_by_text("99606 \u00d7 1, 99607 \u00d7 2")).to_be_visible()
    assert page.evaluate("window.pageMarker") == "still here"

    review = Review.objects.filter(patient__last_name="Okafor").latest("created_at")
    assert review.status == "completed" and review.minutes_spent == 35
    assert MedicationAssessment.objects.get(review=review, medication__name="Advil").safe == "no"
    assert Problem.objects.filter(review=review).count() == 4
    assert set(FindingDismissal.objects.filter(review=review).values_list("reason", flat=True)) == {
        "Total 2,800 units a day; fine",
        "Covered by the triple whammy recommendation",
    }
    assert set(Recommendation.objects.filter(problem__review=review).values_list("audience", flat=True)) == {
        "patient",
        "prescriber",
    }


def test_the_demo_patient_downloads_their_action_plan_from_the_portal(demo, live_server, page):
    sign_in(page, live_server.url, username="demo-patient")
    expect(page.get_by_role("heading", name="Hello, Margaret")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download (PDF)").first.click()
    pdf = Path(download.value.path()).read_bytes()
    text = " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert pdf.startswith(b"%PDF")
    assert (
        "Medication Action Plan for Margaret Okafor" in text
        and "Personal Medication List for Margaret Okafor" in text
    )


def test_pharmacist_explains_a_medicine_reissues_and_prints_at_the_counter(demo, live_server, page):
    review = Review.objects.get(patient__last_name="Okafor", status="completed")
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/reviews/{review.pk}/")
    page.get_by_role("link", name="Written summary: action plan and medication list").click()
    expect(page.get_by_role("heading", name="About my medicines")).to_be_visible()

    # One form for the page: an edit to a medicine and one to a topic, then one "Save and issue".
    metformin = page.locator("details.education", has_text="metformin 1000 mg")
    metformin.locator("summary").click()
    metformin.get_by_label("Print in the summary").check()
    metformin.get_by_label("How to take it").fill(
        "Take it with breakfast and supper. Keep your kidney tests."
    )
    sleep = page.locator("fieldset.topic", has_text="Topic 2")
    sleep.get_by_label("What I need to do").fill("Stop Benadryl. Go to bed at the same time every night.")
    page.get_by_label("Why it is issued again").fill("Added what to know about metformin")
    page.get_by_role("button", name="Save and issue the written summary").click()
    expect(page.get_by_text("Saved and issued: version 2.")).to_be_visible()
    expect(page.get_by_role("link", name="Version 2")).to_be_visible()
    expect(page.locator("details.education", has_text="metformin 1000 mg").locator(".badge")).to_have_text(
        "printed"
    )
    expect(
        page.locator("fieldset.topic", has_text="Topic 2").get_by_label("What I need to do")
    ).to_have_value("Stop Benadryl. Go to bed at the same time every night.")

    page.get_by_role("link", name="print view").first.click()
    expect(page.get_by_text("Written summary, version 2")).to_be_visible()
    expect(page.get_by_role("heading", name="About my medicines")).to_be_visible()
    expect(page.get_by_text("Take it with breakfast and supper. Keep your kidney tests.")).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.emulate_media(media="print")  # what the printer gets: the summary without the toolbar
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(
        page.get_by_role("heading", name="Personal Medication List for Margaret Okafor, DOB: 03/14/1952")
    ).to_be_visible()


def test_the_summary_editor_keeps_every_edit_without_javascript(demo, live_server, browser):
    """Typing in two topics and the follow-up plan, then one Save: nothing is reverted. With
    JavaScript off, as the editor must work without it."""
    review = Review.objects.get(patient__last_name="Okafor", status="completed")
    context = browser.new_context(viewport={"width": 1024, "height": 768}, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server.url)
        page.goto(f"{live_server.url}/reviews/{review.pk}/plan/")
        first = page.locator("fieldset.topic", has_text="Topic 1")
        second = page.locator("fieldset.topic", has_text="Topic 2")
        first.get_by_label("What we talked about").fill("Advil can hurt your kidneys.")
        second.get_by_label("What we talked about").fill("Benadryl can make you confused and fall.")
        page.get_by_label("My follow-up plan").fill("We will call you in 3 months.")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_text("Saved.", exact=True)).to_be_visible()
        page.reload()
        expect(
            page.locator("fieldset.topic", has_text="Topic 1").get_by_label("What we talked about")
        ).to_have_value("Advil can hurt your kidneys.")
        expect(
            page.locator("fieldset.topic", has_text="Topic 2").get_by_label("What we talked about")
        ).to_have_value("Benadryl can make you confused and fall.")
        expect(page.get_by_label("My follow-up plan")).to_have_value("We will call you in 3 months.")
    finally:
        context.close()
