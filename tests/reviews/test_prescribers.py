"""Who a recommendation to a prescriber goes to: the medication's prescribers, then the care team,
then everyone else in the directory, who needs a confirmation (service, page and API alike)."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from mtm.audit import Actor
from patients.models import CareTeamMember
from reviews import services
from reviews.models import Audience, ProblemCategory, Recommendation
from reviews.prescribers import prescriber_groups
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def by(pharmacist):
    return Actor(user=pharmacist)


@pytest.fixture
def people(org, patient):
    """Kim prescribes the lisinopril, Hartman is the primary care provider, Zeller is only in the
    directory, and Other belongs to another pharmacy."""
    kim = factories.make_prescriber(
        org, first_name="Rachel", last_name="Kim", npi=factories.valid_npi("100000001")
    )
    hartman = factories.make_prescriber(
        org, first_name="Alan", last_name="Hartman", npi=factories.valid_npi("100000002")
    )
    zeller = factories.make_prescriber(org, first_name="Uma", last_name="Zeller", specialty="dermatology",
                                       npi=factories.valid_npi("100000003"))  # fmt: skip
    other = factories.make_prescriber(factories.make_organisation("Elsewhere"), first_name="Otto", last_name="Other",
                                      npi=factories.valid_npi("100000004"))  # fmt: skip
    CareTeamMember.objects.create(
        patient=patient, prescriber=hartman, role="primary care", is_primary_care=True
    )
    return {"kim": kim, "hartman": hartman, "zeller": zeller, "other": other}


@pytest.fixture
def review(patient, by):
    review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    return services.review_start(review=review, version=review.version, by=by)


@pytest.fixture
def problem(review, patient, people, by):
    lisinopril = factories.make_medication(patient, "lisinopril", prescriber=people["kim"])
    return services.problem_add(
        review=review, data={"title": "Cough on lisinopril", "category": ProblemCategory.ADVERSE_REACTION},
        medications=[lisinopril], by=by,
    )  # fmt: skip


def to(prescriber, text="Switch lisinopril to losartan 50 mg daily"):
    return {"audience": Audience.PRESCRIBER, "prescriber": prescriber, "text": text}


# --- The rule, in the service ----------------------------------------------------------------------------


def test_the_groups_are_the_medications_prescriber_the_care_team_then_the_directory(problem, people, org):
    groups = prescriber_groups(problem=problem, directory=org.prescribers.all())
    assert [o.prescriber for o in groups.of_medications] == [people["kim"]]
    assert groups.of_medications[0].label == "Rachel Kim, MD — prescribes lisinopril 10 mg"
    assert [o.prescriber for o in groups.care_team] == [people["hartman"]]
    assert [o.prescriber for o in groups.others] == [people["zeller"]]  # never another pharmacy's
    assert groups.preselected == people["kim"]
    assert groups.needing_confirmation == {str(people["zeller"].pk)}


def test_the_medications_prescriber_and_the_care_team_need_no_confirmation(problem, people, by):
    for name in ("kim", "hartman"):
        recommendation = services.recommendation_add(problem=problem, data=to(people[name]), by=by)
        assert recommendation.prescriber == people[name]


def test_anyone_else_needs_a_confirmation_and_nothing_is_saved_without_it(problem, people, by):
    with pytest.raises(ValidationError) as error:
        services.recommendation_add(problem=problem, data=to(people["zeller"]), by=by)
    message = error.value.message_dict["prescriber_confirmed"][0]
    assert "Uma Zeller" in message and "Walter Brennan's care team" in message
    assert "Send to someone outside the care team" in message
    assert not Recommendation.objects.exists()
    confirmed = services.recommendation_add(
        problem=problem, data=to(people["zeller"]), prescriber_confirmed=True, by=by
    )
    assert confirmed.prescriber == people["zeller"]


def test_another_pharmacys_prescriber_is_refused_even_confirmed(problem, people, by):
    with pytest.raises(ValidationError) as error:
        services.recommendation_add(
            problem=problem, data=to(people["other"]), prescriber_confirmed=True, by=by
        )
    assert "directory" in error.value.message_dict["prescriber"][0]
    assert not Recommendation.objects.exists()


def test_changing_the_prescriber_of_a_recommendation_follows_the_same_rule(problem, people, by):
    recommendation = services.recommendation_add(problem=problem, data=to(people["kim"]), by=by)
    with pytest.raises(ValidationError) as error:
        services.recommendation_update(
            recommendation=recommendation,
            data={"prescriber": people["zeller"]},
            version=recommendation.version,
            by=by,
        )
    assert "prescriber_confirmed" in error.value.message_dict
    recommendation.refresh_from_db()
    assert recommendation.prescriber == people["kim"]


# --- The page ------------------------------------------------------------------------------------------------


def _form_url(review, problem):
    return reverse("problem_form", args=[review.pk, problem.pk, "recommendation"])


def _add_url(review, problem):
    return reverse("recommendation_add", args=[review.pk, problem.pk])


def _post(problem, prescriber, **extra):
    prefix = f"recommendation-{problem.pk}"
    data = {f"{prefix}-audience": "prescriber", f"{prefix}-action": "", f"{prefix}-text": "Switch to losartan",
            f"{prefix}-to_do": "", f"{prefix}-prescriber": str(prescriber.pk) if prescriber else ""}  # fmt: skip
    return {**data, **{f"{prefix}-{name}": value for name, value in extra.items()}}


def test_the_form_offers_the_groups_in_order_and_chooses_the_medications_prescriber(
    review, problem, people, pharmacist_client
):
    page = pharmacist_client.get(_form_url(review, problem), **HTMX).content.decode()
    groups = re.findall(r'<optgroup label="([^"]+)">', page)
    assert groups == [
        "Prescribes the problem&#x27;s medications",
        "The patient&#x27;s care team",
        "Everyone else in the directory (asks for confirmation)",
    ]
    assert page.index("Rachel Kim") < page.index("Alan Hartman") < page.index("Uma Zeller")
    assert re.search(rf'<option value="{people["kim"].pk}"[^>]*selected', page)
    assert re.search(rf'<option value="{people["zeller"].pk}"[^>]*data-needs-confirmation="true"', page)
    assert not re.search(rf'<option value="{people["hartman"].pk}"[^>]*data-needs-confirmation', page)
    assert "Otto Other" not in page
    assert "Send to someone outside the care team" in page  # shown without JavaScript
    workspace = pharmacist_client.get(reverse("review_workspace", args=[review.pk])).content.decode()
    assert "js/prescriber-picker.js" in workspace  # the page's script asks before sending


def test_with_two_prescribers_of_the_medications_none_is_chosen_for_the_pharmacist(
    review, problem, patient, people, pharmacist_client
):
    problem.medications.add(factories.make_medication(patient, "metformin", prescriber=people["hartman"]))
    page = pharmacist_client.get(_form_url(review, problem), **HTMX).content.decode()
    picker = page.split(f'name="recommendation-{problem.pk}-prescriber"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)"[^>]*selected', picker) == [""]  # the empty choice
    of_medications = page.split("Prescribes the problem&#x27;s medications")[1].split("</optgroup>")[0]
    assert "Rachel Kim" in of_medications and "Alan Hartman" in of_medications


def test_choosing_someone_else_without_confirming_names_the_field_and_saves_nothing(
    review, problem, people, pharmacist_client
):
    refused = pharmacist_client.post(_add_url(review, problem), _post(problem, people["zeller"]), **HTMX)
    assert refused.status_code == 422
    assert "Uma Zeller, MD neither prescribes this problem" in refused.content.decode()
    assert not Recommendation.objects.exists()
    saved = pharmacist_client.post(
        _add_url(review, problem), _post(problem, people["zeller"], prescriber_confirmed="on"), **HTMX
    )
    assert saved.status_code == 200
    assert Recommendation.objects.get().prescriber == people["zeller"]


def test_without_javascript_the_refusal_comes_back_as_a_page(review, problem, people, pharmacist_client):
    refused = pharmacist_client.post(_add_url(review, problem), _post(problem, people["zeller"]))
    assert refused.status_code == 422 and "<html" in refused.content.decode()
    assert "Send to someone outside the care team" in refused.content.decode()
    saved = pharmacist_client.post(_add_url(review, problem), _post(problem, people["kim"]))
    assert saved.status_code == 302 and Recommendation.objects.get().prescriber == people["kim"]


def test_another_pharmacys_prescriber_cannot_be_posted(review, problem, people, pharmacist_client):
    refused = pharmacist_client.post(
        _add_url(review, problem), _post(problem, people["other"], prescriber_confirmed="on"), **HTMX
    )
    assert refused.status_code == 422 and "Select a valid choice" in refused.content.decode()
    assert not Recommendation.objects.exists()


def test_a_patient_recommendation_ignores_the_prescriber_chosen_in_advance(
    review, problem, people, pharmacist_client
):
    data = _post(problem, people["kim"], audience="patient", action="education", to_do="Ask about the cough")
    assert pharmacist_client.post(_add_url(review, problem), data, **HTMX).status_code == 200
    recommendation = Recommendation.objects.get()
    assert recommendation.audience == "patient" and recommendation.prescriber is None


# --- The API ----------------------------------------------------------------------------------------------------


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_the_api_applies_the_same_rule(review, problem, people, pharmacist):
    target = f"/api/v1/reviews/{review.pk}/problems/{problem.pk}/recommendations/"
    body = {"audience": "prescriber", "text": "Switch to losartan"}
    refused = _api(pharmacist).post(target, {**body, "prescriber": str(people["zeller"].pk)}, format="json")
    assert refused.status_code == 400
    assert "Uma Zeller" in refused.json()["prescriber_confirmed"][0]
    assert not Recommendation.objects.exists()
    elsewhere = _api(pharmacist).post(
        target, {**body, "prescriber": str(people["other"].pk), "prescriber_confirmed": True}, format="json"
    )
    assert elsewhere.status_code == 400 and "prescriber" in elsewhere.json()
    assert not Recommendation.objects.exists()
    care_team = _api(pharmacist).post(
        target, {**body, "prescriber": str(people["hartman"].pk)}, format="json"
    )
    assert care_team.status_code == 201
    confirmed = _api(pharmacist).post(
        target, {**body, "prescriber": str(people["zeller"].pk), "prescriber_confirmed": True}, format="json"
    )
    assert confirmed.status_code == 201 and "prescriber_confirmed" not in confirmed.json()
    assert Recommendation.objects.count() == 2
