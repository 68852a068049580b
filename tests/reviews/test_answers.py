"""Prescribers' answers: never dated in the future nor before the letter went out, and every wrong
entry (the answer, its date, the day the letter was sent) can be corrected, audited."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from mtm.audit import Actor
from mtm.models import AuditEvent
from reviews import selectors, services
from reviews.models import Audience, ProblemCategory, Response
from tests import factories

DAY = datetime.timedelta(days=1)


@pytest.fixture
def by(staff):
    return Actor(user=staff)


@pytest.fixture
def letter(org, patient, pharmacist):
    """A recommendation whose letter went out five days ago."""
    author = Actor(user=pharmacist)
    review = services.review_create(patient=patient, data={"consent_noted": True}, by=author)
    review = services.review_start(review=review, version=review.version, by=author)
    problem = services.problem_add(
        review=review, data={"title": "Ibuprofen with lisinopril", "category": ProblemCategory.ADVERSE_REACTION},
        medications=[], by=author,
    )  # fmt: skip
    recommendation = services.recommendation_add(
        problem=problem,
        data={"audience": Audience.PRESCRIBER, "prescriber": factories.make_prescriber(org), "text": "Stop ibuprofen"},
        prescriber_confirmed=True, by=author,
    )  # fmt: skip
    services.recommendations_sent(recommendations=[recommendation], on=factories.today() - 5 * DAY, by=author)
    recommendation.refresh_from_db()
    return recommendation


def record(recommendation, by, response=Response.ACCEPTED, on=None, note="", **corrections):
    return services.prescriber_response_record(
        recommendation=recommendation, response=response, on=on or factories.today(), note=note,
        version=recommendation.version, by=by, **corrections,
    )  # fmt: skip


# --- The service ---------------------------------------------------------------------------------------------


def test_an_answer_cannot_be_dated_in_the_future(letter, by):
    with pytest.raises(ValidationError) as error:
        record(letter, by, on=factories.today() + DAY)
    assert "“Answered on” cannot be in the future" in error.value.message_dict["response_on"][0]
    letter.refresh_from_db()
    assert letter.response == Response.PENDING and letter.version == 2


def test_an_answer_cannot_precede_the_letter(letter, by):
    with pytest.raises(ValidationError) as error:
        record(letter, by, on=letter.sent_on - DAY)
    message = error.value.message_dict["response_on"][0]
    assert "cannot precede the day the letter was sent" in message and "“Letter sent on”" in message
    letter.refresh_from_db()
    assert letter.response == Response.PENDING


def test_a_wrong_sent_date_is_corrected_with_the_answer(letter, by):
    """Marked as faxed on the wrong day: the answer came before it. Both are put right at once."""
    answered = factories.today() - 7 * DAY
    corrected = record(letter, by, on=answered, sent_on=answered - 2 * DAY)
    assert (corrected.sent_on, corrected.response_on, corrected.response) == (
        answered - 2 * DAY,
        answered,
        Response.ACCEPTED,
    )
    event = AuditEvent.objects.filter(object_id=str(letter.pk), action="update").first()
    assert set(event.changes) == {"sent_on", "response", "response_on"}


def test_the_letter_cannot_be_sent_in_the_future(letter, by, patient):
    with pytest.raises(ValidationError) as error:
        services.prescriber_response_record(
            recommendation=letter, response=Response.PENDING, on=None, note="", sent_on=factories.today() + DAY,
            version=letter.version, by=by,
        )  # fmt: skip
    assert "“Letter sent on” cannot be in the future" in error.value.message_dict["sent_on"][0]
    unsent = services.recommendation_add(
        problem=letter.problem, data={"audience": Audience.PRESCRIBER, "prescriber": letter.prescriber, "text": "x"},
        prescriber_confirmed=True, by=by,
    )  # fmt: skip
    with pytest.raises(ValidationError) as error:
        services.recommendations_sent(recommendations=[unsent], on=factories.today() + DAY, by=by)
    assert "sent_on" in error.value.message_dict
    unsent.refresh_from_db()
    assert unsent.sent_on is None


def test_an_answer_is_recorded_again_to_correct_it_and_both_are_audited(letter, by):
    accepted = record(letter, by)
    declined = record(accepted, by, response=Response.DECLINED, note="Knee pain too severe")
    assert declined.response == Response.DECLINED and declined.response_note == "Knee pain too severe"
    changes = [e.changes for e in AuditEvent.objects.filter(object_id=str(letter.pk), action="update")]
    assert changes[0]["response"] == ["accepted", "declined"]  # newest first
    assert changes[1]["response"] == ["pending", "accepted"]


def test_an_answer_recorded_by_mistake_is_withdrawn_and_awaited_again(letter, by, org, staff):
    answered = record(letter, by, response=Response.MODIFIED, note="200 mg only")
    with pytest.raises(ValidationError) as error:  # a date with "awaiting" is a slip: said, not dropped
        record(answered, by, response=Response.PENDING, on=factories.today())
    assert "response_on" in error.value.message_dict
    withdrawn = services.prescriber_response_record(
        recommendation=answered, response=Response.PENDING, on=None, note="", version=answered.version, by=by
    )
    assert (withdrawn.response, withdrawn.response_on, withdrawn.response_note) == (
        Response.PENDING,
        None,
        "",
    )
    assert withdrawn.sent_on == factories.today() - 5 * DAY
    later = factories.today() + datetime.timedelta(days=org.prescriber_response_days)
    assert list(selectors.awaiting_answer(user=staff, today=later)) == [withdrawn]


def test_a_letter_marked_sent_by_mistake_is_unmarked(letter, by):
    unmarked = services.prescriber_response_record(
        recommendation=letter,
        response=Response.PENDING,
        on=None,
        note="",
        sent_on=None,
        version=letter.version,
        by=by,
    )
    assert unmarked.sent_on is None and unmarked.response == Response.PENDING


def test_an_answer_to_a_letter_never_marked_sent_dates_the_letter_by_it(letter, by):
    unmarked = services.prescriber_response_record(
        recommendation=letter,
        response=Response.PENDING,
        on=None,
        note="",
        sent_on=None,
        version=letter.version,
        by=by,
    )
    answered = record(unmarked, by, on=factories.today() - DAY)
    assert answered.sent_on == factories.today() - DAY


def test_today_is_the_pharmacys_day(letter, by, org):
    org.time_zone = "Pacific/Kiritimati"  # UTC+14: often a day ahead of the server's default zone
    org.save()
    letter.refresh_from_db()
    their_today = timezone.localdate(timezone=zoneinfo.ZoneInfo("Pacific/Kiritimati"))
    assert record(letter, by, on=their_today).response_on == their_today
    with pytest.raises(ValidationError):
        record(letter, by, on=their_today + DAY)


# --- The page ---------------------------------------------------------------------------------------------------


def _form(recommendation, **values):
    data = {
        "version": recommendation.version,
        "sent_on": recommendation.sent_on.isoformat() if recommendation.sent_on else "",
        "response": "accepted",
        "response_on": factories.today().isoformat(),
        "response_note": "",
    }
    return {**data, **values}


def test_the_page_shows_what_is_recorded_and_offers_no_day_after_today(letter, staff_client):
    page = staff_client.get(reverse("response_record", args=[letter.pk])).content.decode()
    assert "Record the prescriber's answer" in page
    assert f'value="{letter.sent_on.isoformat()}"' in page  # the sent date, ready to correct
    assert page.count(f'max="{factories.today().isoformat()}"') == 2
    assert "Awaiting an answer (withdraws a recorded answer)" in page


def test_the_page_refuses_a_future_answer_naming_the_field(letter, staff_client):
    response = staff_client.post(
        reverse("response_record", args=[letter.pk]),
        _form(letter, response_on=(factories.today() + DAY).isoformat()),
    )
    assert response.status_code == 422
    assert "“Answered on” cannot be in the future" in response.content.decode()
    letter.refresh_from_db()
    assert letter.response == Response.PENDING


def test_the_page_refuses_an_answer_before_the_letter_naming_the_field(letter, staff_client):
    early = (letter.sent_on - DAY).isoformat()
    response = staff_client.post(
        reverse("response_record", args=[letter.pk]), _form(letter, response_on=early)
    )
    assert response.status_code == 422
    assert "cannot precede the day the letter was sent" in response.content.decode()
    letter.refresh_from_db()
    assert letter.response == Response.PENDING


def test_the_page_needs_the_answer_chosen(letter, staff_client):
    response = staff_client.post(reverse("response_record", args=[letter.pk]), _form(letter, response=""))
    assert response.status_code == 422 and "This field is required." in response.content.decode()


def test_the_page_corrects_the_sent_date_and_the_answer_and_shows_the_history(letter, staff_client):
    target = reverse("response_record", args=[letter.pk])
    sent = factories.today() - 9 * DAY
    answered = factories.today() - 8 * DAY
    data = _form(letter, sent_on=sent.isoformat(), response_on=answered.isoformat(), response="declined",
                 response_note="Patient prefers ibuprofen")  # fmt: skip
    response = staff_client.post(target, data)
    assert response.status_code == 302
    letter.refresh_from_db()
    assert (letter.sent_on, letter.response_on, letter.response) == (sent, answered, "declined")
    page = staff_client.get(target).content.decode()
    assert "Correct the prescriber's answer" in page
    assert f"answered on: {answered:%m/%d/%Y}" in page
    assert f"sent to the prescriber on: {factories.today() - 5 * DAY:%m/%d/%Y} → {sent:%m/%d/%Y}" in page
    assert "response: Awaiting an answer → Declined" in page


def test_another_organisations_answer_is_a_404(letter, other_pharmacist):
    from tests.conftest import client_for

    assert client_for(other_pharmacist).get(reverse("response_record", args=[letter.pk])).status_code == 404


# --- The API ------------------------------------------------------------------------------------------------------


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_the_api_applies_the_same_rules(letter, staff):
    target = f"/api/v1/recommendations/{letter.pk}/response/"
    body = {"version": letter.version, "response": "accepted", "response_note": ""}
    future = _api(staff).post(
        target, {**body, "response_on": (factories.today() + DAY).isoformat()}, format="json"
    )
    assert (
        future.status_code == 400
        and "“Answered on” cannot be in the future" in future.json()["response_on"][0]
    )
    early = _api(staff).post(
        target, {**body, "response_on": (letter.sent_on - DAY).isoformat()}, format="json"
    )
    assert early.status_code == 400 and "cannot precede" in early.json()["response_on"][0]
    sent_later = _api(staff).post(
        target, {**body, "response_on": factories.today().isoformat(), "sent_on": (factories.today() + DAY).isoformat()},
        format="json",
    )  # fmt: skip
    assert sent_later.status_code == 400 and "sent_on" in sent_later.json()
    letter.refresh_from_db()
    assert letter.response == Response.PENDING and letter.version == body["version"]

    corrected = _api(staff).post(
        target, {**body, "response_on": (letter.sent_on - DAY).isoformat(), "sent_on": (letter.sent_on - 2 * DAY).isoformat()},
        format="json",
    )  # fmt: skip
    assert (
        corrected.status_code == 200 and corrected.json()["sent_on"] == (letter.sent_on - 2 * DAY).isoformat()
    )
    withdrawn = _api(staff).post(
        target,
        {"version": corrected.json()["version"], "response": "pending", "response_on": None},
        format="json",
    )
    assert withdrawn.status_code == 200
    assert (
        withdrawn.json()["response"] == "pending"
        and withdrawn.json()["sent_on"] == corrected.json()["sent_on"]
    )
