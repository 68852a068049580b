"""Every role's main pages pass axe-core (vendored, tests/e2e/vendor) with no serious or critical
violation: contrast, names of controls, table headers, landmarks, ARIA."""

from pathlib import Path

import pytest
from django.utils import timezone

from mtm.audit import Actor
from mtm.models import User
from patients.models import Patient
from patients.selectors import patient_record, patient_screening
from reviews import services
from reviews.models import MtmProgram, Recommendation, Review
from tests.e2e.conftest import htmx_settled, sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).with_name("vendor") / "axe-4.14.1.min.js"


def with_axe(page):
    """axe-core in every document the tab opens (an init script: the pages' Content-Security-Policy
    refuses inline scripts, rightly, and a script tag added by the test would be one)."""
    page.add_init_script(path=str(AXE))
    return page


def violations(page) -> list[dict]:
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            where: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
        }))"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.fixture
def pages(demo):
    """The demo, with Harold Jensen's CMR in progress and two of its findings already decided."""
    by = Actor(user=User.objects.get(username="demo-pharmacist"))
    jensen = Patient.objects.get(last_name="Jensen")
    review = services.review_create(patient=jensen, data={"consent_noted": True}, by=by)
    review = services.review_start(review=review, version=review.version, by=by)
    findings = patient_screening(
        patient_record(patient=jensen, history=False), today=timezone.localdate()
    ).findings
    services.finding_confirm(review=review, finding=findings[0], data={}, by=by)
    services.finding_dismiss(review=review, finding=findings[1], reason="Already monitored", by=by)
    okafor = Review.objects.get(patient__last_name="Okafor", status="completed")
    answer = Recommendation.objects.filter(problem__review=okafor, audience="prescriber").first()
    mtm_program = MtmProgram.objects.get(organisation=jensen.organisation)
    return {
        "demo-pharmacist": [
            "/today/", "/patients/", f"/patients/{jensen.pk}/", "/reviews/", f"/reviews/{review.pk}/",
            f"/reviews/{okafor.pk}/", f"/reviews/{okafor.pk}/plan/", "/follow-ups/", "/follow-ups/agenda/",
            "/prescribers/", "/reviews/outcomes/", f"/patients/{jensen.pk}/reviews/new/",
            "/program/", f"/program/programs/{mtm_program.pk}/eligible/", "/program/at-risk/",
            f"/program/programs/{mtm_program.pk}/report/",
        ],
        "demo-staff": [
            "/today/", f"/patients/{okafor.patient_id}/", "/follow-ups/",
            f"/recommendations/{answer.pk}/response/", f"/patients/{jensen.pk}/follow-ups/new/",
        ],
        "demo-admin": ["/today/", "/settings/", "/team/", "/audit/", "/reviews/outcomes/",
                       f"/program/programs/{mtm_program.pk}/"],
        "demo-patient": ["/portal/"],
    }  # fmt: skip


@pytest.mark.parametrize("username", ["demo-pharmacist", "demo-staff", "demo-admin", "demo-patient"])
def test_every_roles_main_pages_have_no_serious_accessibility_violation(pages, live_server, page, username):
    with_axe(page)
    sign_in(page, live_server.url, username=username)
    found = {}
    for path in pages[username]:
        page.goto(live_server.url + path)
        htmx_settled(page)
        if problems := violations(page):
            found[path] = problems
    assert not found, found


def test_the_sign_in_page_has_no_serious_accessibility_violation(live_server, page, db):
    with_axe(page).goto(live_server.url + "/account/login/")
    assert violations(page) == []
