"""The prescriber picker's confirm step happens in the browser, without a round trip to the server."""

import pytest
from playwright.sync_api import expect

from mtm.audit import Actor
from mtm.permissions import Role
from patients.models import CareTeamMember
from reviews import services
from reviews.models import ProblemCategory, Recommendation
from tests import factories
from tests.e2e.conftest import htmx_settled

pytestmark = pytest.mark.browser


@pytest.fixture
def problem(transactional_db):
    org = factories.make_organisation("Picker Pharmacy")
    pharmacist = factories.make_user(org, Role.PHARMACIST, username="picker")
    patient = factories.make_patient(org, first_name="Walter", last_name="Brennan")
    kim = factories.make_prescriber(
        org, first_name="Rachel", last_name="Kim", npi=factories.valid_npi("100000001")
    )
    hartman = factories.make_prescriber(
        org, first_name="Alan", last_name="Hartman", npi=factories.valid_npi("100000002")
    )
    factories.make_prescriber(org, first_name="Uma", last_name="Zeller", npi=factories.valid_npi("100000003"))
    CareTeamMember.objects.create(
        patient=patient, prescriber=hartman, role="primary care", is_primary_care=True
    )
    by = Actor(pharmacist)
    review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    review = services.review_start(review=review, version=review.version, by=by)
    lisinopril = factories.make_medication(patient, "lisinopril", prescriber=kim)
    return services.problem_add(
        review=review, data={"title": "Cough on lisinopril", "category": ProblemCategory.ADVERSE_REACTION},
        medications=[lisinopril], by=by,
    )  # fmt: skip


def test_someone_outside_the_care_team_is_confirmed_in_the_browser(problem, live_server, page):
    page.goto(live_server.url + "/")
    page.get_by_label("User name").fill("picker")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/reviews/{problem.review_id}/")
    htmx_settled(page)
    article = page.locator("article.problem", has_text="Cough on lisinopril")
    article.get_by_text("Recommend to a prescriber").click()
    picker = article.get_by_label("Prescriber:", exact=True)
    expect(picker).to_have_value(str(problem.medications.get().prescriber_id))  # the one prescriber
    confirmation = article.get_by_label("Send to someone outside the care team")
    expect(confirmation).to_be_hidden()
    article.get_by_label("Recommendation:", exact=True).fill("Switch lisinopril to losartan 50 mg daily")
    picker.select_option(label="Uma Zeller, MD")
    expect(confirmation).to_be_visible()

    requests = []
    page.on("request", lambda request: requests.append(request) if request.method == "POST" else None)
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    article.get_by_role("button", name="Add the recommendation").click()
    expect(picker).to_be_focused()
    assert "Uma Zeller, MD neither prescribes" in dialogs[0]
    assert requests == [] and not Recommendation.objects.exists()

    page.once("dialog", lambda dialog: dialog.accept())
    article.get_by_role("button", name="Add the recommendation").click()
    expect(
        page.locator("article.problem", has_text="Cough on lisinopril").get_by_text("Awaiting an answer")
    ).to_be_visible()
    assert Recommendation.objects.get().prescriber.last_name == "Zeller"
