"""The MTM program in a browser: the eligibility worklist to an offer and an opened CMR, and the
at-risk list to a targeted review."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from mtm.models import Organisation
from reviews import program
from reviews.models import CmrOffer, ProgramRun, Review, ReviewKind
from tests import factories
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.browser


def test_from_the_worklist_an_offer_then_the_cmr(demo, live_server, page):
    sign_in(page, live_server.url)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Program").click()
    page.get_by_role("link", name="Eligible patients").click()
    row = page.locator("tr", has_text="Jensen, Harold")
    expect(row.get_by_text("not offered")).to_be_visible()

    row.get_by_text("Record an offer").click()
    row.get_by_label("How").select_option("phone")
    row.get_by_role("button", name="Record the offer").click()
    expect(page.get_by_text("CMR offer recorded for Harold Jensen.")).to_be_visible()
    row = page.locator("tr", has_text="Jensen, Harold")
    expect(row).to_contain_text("1, last")
    offer = CmrOffer.objects.get(enrollment__patient__last_name="Jensen")
    assert offer.method == "phone" and offer.offered_by.username == "demo-pharmacist"

    row.get_by_role("button", name="Open the CMR").click()
    expect(page.get_by_role("heading", name="CMR for Harold Jensen")).to_be_visible()
    assert Review.objects.get(patient__last_name="Jensen").kind == ReviewKind.CMR


def test_from_the_at_risk_list_a_targeted_review_with_its_reason(demo, live_server, page):
    organisation = Organisation.objects.get(slug="riverside")
    patient = factories.make_patient(organisation, first_name="Nora", last_name="Quill")
    for n in range(6):  # a statin covered 1 March - 27 August 2025, nothing since
        factories.make_fill(patient, "atorvastatin 20 mg",
                            fill_date=datetime.date(2025, 3, 1) + datetime.timedelta(days=30 * n))  # fmt: skip
    program.run_compute(
        ProgramRun.objects.create(organisation=organisation, year=2025), today=datetime.date(2025, 9, 1)
    )

    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/program/at-risk/?year=2025")
    row = page.locator("tr", has_text="Quill, Nora")
    expect(row).to_contain_text("56 days can still be missed")
    row.get_by_role("button", name="Open a TMR").click()
    expect(page.get_by_role("heading", name="TMR for Nora Quill")).to_be_visible()
    expect(page.locator(".tmr-reason")).to_contain_text(
        re.compile(r"Adherence to statins: at most 56 more days without medication")
    )
    review = Review.objects.get(patient=patient)
    assert review.kind == ReviewKind.TMR and review.reason_source == "measure:PDC-STA"
