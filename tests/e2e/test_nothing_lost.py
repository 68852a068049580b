"""Nothing typed is ever lost and nothing moves under the pharmacist's hands: autosave while typing
on, saves held in flight (route interception), keyboard-only selects, and a session that ends in
the middle of a review."""

import pytest
from playwright.sync_api import expect

from mtm.audit import Actor
from mtm.models import User
from patients.models import Patient
from reviews import services
from reviews.models import MedicationAssessment
from tests.e2e.conftest import htmx_settled, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def jensen_review(demo):
    """Harold Jensen's CMR, opened and started: 12 medications, 16 findings."""
    by = Actor(user=User.objects.get(username="demo-pharmacist"))
    patient = Patient.objects.get(last_name="Jensen")
    review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    return services.review_start(review=review, version=review.version, by=by)


def hold_saves(page) -> list:
    """Autosave requests are held here, in flight, until the test lets them through."""
    held = []
    page.route("**/assessment/", lambda route: held.append(route))
    return held


def wait_for_held(page, held: list, count: int) -> None:
    """Until `count` saves are held: on a loaded machine the browser may send the first a moment
    after the keys that follow it were typed."""
    for _ in range(100):
        if len(held) >= count:
            return
        page.wait_for_timeout(50)


def release(page, held: list) -> None:
    """Let every held save through, and those that follow them, until none is waiting."""
    page.wait_for_timeout(300)
    while held:
        held.pop(0).continue_()
        page.wait_for_timeout(300)


def focused_field(page) -> str:
    return page.evaluate("document.activeElement.name || document.activeElement.textContent")


def assessment(medication_name: str) -> MedicationAssessment:
    return MedicationAssessment.objects.get(
        medication__name__istartswith=medication_name, review__patient__last_name="Jensen"
    )


def test_typing_on_while_a_save_is_in_flight_keeps_every_character_and_the_focus(
    jensen_review, live_server, page
):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/reviews/{jensen_review.pk}/")
    advil = page.locator("form.assessment", has_text="Advil")
    held = hold_saves(page)

    purpose = advil.get_by_label("What it is for")
    purpose.click()
    purpose.press("Control+a")
    purpose.press_sequentially("back pain, a few times a week", delay=10)
    purpose.press("Tab")  # leaving the box saves it: the request is now held in flight
    expect(advil.get_by_label("Still needed?")).to_be_focused()
    page.keyboard.press("n")  # keyboard only: "No" (another save, queued behind the first)
    for _ in range(5):  # Working, Safe, As intended, Understands, Better alternative
        page.keyboard.press("Tab")
    expect(advil.get_by_label("Better alternative")).to_be_focused()
    page.keyboard.type("acetaminophen 500 mg", delay=15)
    wait_for_held(page, held, 1)
    page.wait_for_timeout(300)  # a second save, were one sent alongside, would be held by now too
    assert len(held) == 1  # one save at a time per medication

    page.wait_for_timeout(1000)  # the save is a second late
    held.pop(0).continue_()
    page.keyboard.type(" up to 3 g a day", delay=15)  # still typing as the answer lands
    release(page, held)
    page.keyboard.type(" for knee pain", delay=15)
    release(page, held)
    page.keyboard.press("Tab")
    release(page, held)

    expect(advil.get_by_label("What it is for")).to_have_value("back pain, a few times a week")
    expect(advil.get_by_label("Still needed?")).to_have_value("no")
    expect(advil.get_by_label("Better alternative")).to_have_value(
        "acetaminophen 500 mg up to 3 g a day for knee pain"
    )
    expect(advil.get_by_label("Notes")).to_be_focused()
    expect(advil.get_by_text("Saved", exact=True)).to_be_visible()
    saved = assessment("Advil")
    assert saved.purpose == "back pain, a few times a week" and saved.still_needed == "no"
    assert saved.better_alternative == "acetaminophen 500 mg up to 3 g a day for knee pain"

    # What the page shows is what a reload shows.
    page.unroute("**/assessment/")
    page.reload()
    advil = page.locator("form.assessment", has_text="Advil")
    expect(advil.get_by_label("Better alternative")).to_have_value(
        "acetaminophen 500 mg up to 3 g a day for knee pain"
    )


def test_all_fine_answers_the_usual_and_leaves_the_exceptions(jensen_review, live_server, page):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/reviews/{jensen_review.pk}/")
    valium = page.locator("form.assessment", has_text="Valium")
    valium.get_by_label("Safe?").select_option("no")
    expect(valium.get_by_text("Saved", exact=True)).to_be_visible()
    valium.get_by_role("button", name="All fine").click()
    expect(valium.get_by_text("6/6 answered")).to_be_visible()
    expect(valium.get_by_label("Still needed?")).to_have_value("yes")
    expect(valium.get_by_label("Safe?")).to_have_value("no")
    expect(valium.get_by_role("button", name="All fine")).to_be_focused()
    saved = assessment("Valium")
    assert (saved.still_needed, saved.safe, saved.understands) == ("yes", "no", "yes")
    assert saved.purpose == "nerves"  # what the list says it is for, as shown in the box


def test_a_session_that_ends_mid_review_keeps_what_was_typed_and_signs_in_again_in_place(
    jensen_review, live_server, page
):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/reviews/{jensen_review.pk}/")
    page.evaluate("window.pageMarker = 'still here'")
    zocor = page.locator("form.assessment", has_text="Zocor")
    page.context.clear_cookies(name="sessionid")  # the idle timeout, as the server sees it

    zocor.get_by_label("Notes").fill("takes it in the morning")
    zocor.get_by_label("Notes").press("Tab")
    banner = page.get_by_role("alert").filter(has_text="You were signed out")
    expect(banner).to_be_visible()
    assert focused_field(page) != "password"  # the banner never takes the focus from the work
    zocor.get_by_label("What it is for").fill("cholesterol")  # typing goes on meanwhile
    zocor.get_by_label("What it is for").press("Tab")

    page.get_by_label("Password for demo-pharmacist").fill("wrong-password")
    page.get_by_role("button", name="Sign in again").click()
    expect(page.get_by_text("That password did not match")).to_be_visible()
    page.get_by_label("Password for demo-pharmacist").fill("demo-password")
    page.get_by_role("button", name="Sign in again").click()
    expect(banner).to_be_hidden()
    expect(zocor.get_by_text("Saved", exact=True)).to_be_visible()
    assert page.evaluate("window.pageMarker") == "still here"
    saved = assessment("Zocor 40 mg")
    assert (saved.notes, saved.purpose) == ("takes it in the morning", "cholesterol")

    # htmx actions work again with the new session and its new CSRF token.
    findings = page.locator("ol.findings > li")
    findings.first.get_by_role("button", name="Confirm as a problem").click()
    expect(findings.first.get_by_text("Confirmed as a problem")).to_be_visible()


def test_signed_out_then_reloaded_comes_back_to_the_review_and_saves_what_was_typed(
    jensen_review, live_server, page
):
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page with changes not saved?"
    sign_in(page, live_server.url)
    review_url = f"{live_server.url}/reviews/{jensen_review.pk}/"
    page.goto(review_url)
    held = hold_saves(page)
    lasix = page.locator("form.assessment", has_text="fish oil")
    lasix.get_by_label("Notes").fill("only on weekdays")
    page.context.clear_cookies(name="sessionid")
    page.unroute("**/assessment/")
    for route in held:
        route.abort()  # the save never arrived
    page.reload()  # the pharmacist reloads instead of signing in on the page
    expect(page).to_have_url(f"{live_server.url}/account/login/?next=/reviews/{jensen_review.pk}/")
    page.get_by_label("User name").fill("demo-pharmacist")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(review_url)  # back to the same review, never a 404
    htmx_settled(page)
    lasix = page.locator("form.assessment", has_text="fish oil")
    expect(lasix.get_by_label("Notes")).to_have_value("only on weekdays")
    expect(lasix.get_by_text("Saved", exact=True)).to_be_visible()
    assert assessment("fish oil").notes == "only on weekdays"


def test_deciding_findings_keeps_the_page_still_and_moves_focus_to_the_next_one(
    jensen_review, live_server, page
):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/reviews/{jensen_review.pk}/")
    page.evaluate("window.pageMarker = 'still here'")
    findings = page.locator("ol.findings > li")
    second = findings.nth(1)
    second.locator("summary").scroll_into_view_if_needed()
    page.mouse.wheel(0, 200)
    page.wait_for_timeout(200)
    on_screen = second.locator("summary").bounding_box()["y"]

    # One click dismisses with a common reason; the finding folds, the page does not move.
    first = findings.nth(0)
    first.get_by_role("button", name="Benefit outweighs risk, prescriber aware").click()
    expect(first.get_by_text("Dismissed: Benefit outweighs risk, prescriber aware")).to_be_visible()
    expect(page.locator("#announcer")).to_contain_text("Dismissed: ")
    expect(second.locator("summary")).to_be_focused()
    assert abs(second.locator("summary").bounding_box()["y"] - on_screen) < 5  # what was in view stays put
    expect(page.locator("#workspace-nav")).to_contain_text("Findings (20 to decide)")

    # Confirming adds the problem below without moving anything; focus goes on to the next finding.
    second.get_by_role("button", name="Confirm as a problem").click()
    expect(second.get_by_text("Confirmed as a problem")).to_be_visible()
    expect(page.locator("#announcer")).to_contain_text("Confirmed as a problem: ")
    expect(findings.nth(2).locator("summary")).to_be_focused()
    expect(page.locator("#problem-list article.problem")).to_have_count(1)
    expect(page.locator("#workspace-nav")).to_contain_text("Problems (1)")

    # A reason of one's own, by keyboard.
    third = findings.nth(2)
    third.get_by_label("Another reason it is not a problem for this patient").fill("INR stable for years")
    page.keyboard.press("Enter")
    expect(third.get_by_text("Dismissed: INR stable for years")).to_be_visible()
    expect(findings.nth(3).locator("summary")).to_be_focused()
    assert page.evaluate("window.pageMarker") == "still here"


def test_completing_with_major_findings_undecided_needs_an_acknowledgement(jensen_review, live_server, page):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/reviews/{jensen_review.pk}/")
    page.get_by_label("Minutes spent").fill("30")
    page.get_by_role("button", name="Complete and lock the review").click()
    expect(page.get_by_text("4 major or contraindicated findings are still undecided:")).to_be_visible()
    jensen_review.refresh_from_db()
    assert jensen_review.status == "in_progress"
    page.get_by_label("Complete leaving the major or contraindicated findings above undecided").check()
    page.get_by_role("button", name="Complete and lock the review").click()
    expect(page.get_by_text("Left undecided when the review was completed")).to_be_visible()
    jensen_review.refresh_from_db()
    assert jensen_review.status == "completed" and len(jensen_review.undecided_findings) == 4
