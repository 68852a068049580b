import pytest
from rest_framework.test import APIClient

from mtm.audit import Actor
from patients import services as patient_services
from reviews.models import Problem, Review
from tests import factories


def client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def api(pharmacist):
    return client(pharmacist)


@pytest.fixture
def medications(patient, pharmacist):
    by = Actor(pharmacist)
    return [
        patient_services.medication_add(patient=patient, data={"name": name}, by=by)
        for name in ("Coumadin 5 mg", "Diflucan 150 mg", "Advil 200 mg")
    ]


def test_a_whole_review_through_the_api(api, patient, medications, org):
    created = api.post(
        "/api/v1/reviews/", {"patient": str(patient.pk), "kind": "cmr", "consent_noted": True}, format="json"
    )
    assert created.status_code == 201, created.json()
    base = f"/api/v1/reviews/{created.json()['id']}"
    assert api.post(f"{base}/start/", {}, format="json").json()["status"] == "in_progress"

    answers = api.post(
        f"{base}/assessments/",
        {"medication": str(medications[0].pk), "still_needed": "yes", "safe": "no"},
        format="json",
    )
    assert answers.status_code == 200 and answers.json()["results"][0]["safe"] == "no"
    stale = api.post(
        f"{base}/assessments/", {"medication": str(medications[0].pk), "safe": "yes"}, format="json"
    )
    assert stale.status_code == 409  # changing earlier answers needs the version read

    findings = api.get(f"{base}/findings/").json()
    warfarin = next(f for f in findings if f["kind"] == "interaction")
    problem = api.post(f"{base}/findings/confirm/", {"finding_id": warfarin["id"]}, format="json")
    assert problem.status_code == 201 and problem.json()["category"] == "adverse_reaction"
    others = [f for f in findings if f["id"] != warfarin["id"]]
    dismissed = api.post(
        f"{base}/findings/dismiss/", {"finding_id": others[0]["id"], "reason": "Short course"}, format="json"
    )
    assert dismissed.status_code == 201
    after = {f["id"]: f for f in api.get(f"{base}/findings/").json()}
    assert after[warfarin["id"]]["problem"] == problem.json()["id"]
    assert after[others[0]["id"]]["dismissed"] == "Short course"

    manual = api.post(f"{base}/problems/", {"title": "Cannot afford Eliquis", "category": "nonadherence",
                                            "nonadherence_cause": "cost", "medications": [str(medications[0].pk)]}, format="json")  # fmt: skip
    assert manual.status_code == 201, manual.json()
    prescriber = factories.make_prescriber(org)
    to_prescriber = api.post(
        f"{base}/problems/{problem.json()['id']}/recommendations/",
        {"audience": "prescriber", "prescriber": str(prescriber.pk), "text": "Check INR in 3 days",
         "prescriber_confirmed": True}, format="json",
    )  # fmt: skip
    assert to_prescriber.status_code == 201 and to_prescriber.json()["response"] == "pending"
    refused = api.post(
        f"{base}/complete/", {"version": created.json()["version"] + 1, "minutes_spent": 31}, format="json"
    )
    assert refused.status_code == 400 and "Cannot afford Eliquis" in str(refused.json()["problems"])
    api.patch(
        f"{base}/problems/{manual.json()['id']}/",
        {"version": 1, "no_recommendation_reason": "Referred to plan"},
        format="json",
    )
    review = Review.objects.get()
    done = api.post(f"{base}/complete/", {"version": review.version, "minutes_spent": 31}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["billing"] == [{"code": "99605", "units": 1}, {"code": "99607", "units": 2}]
    locked = api.patch(base + "/", {"version": done.json()["version"], "notes": "late"}, format="json")
    assert locked.status_code == 400 and "locked" in str(locked.json())
    assert api.post(f"{base}/addenda/", {"text": "Patient called back"}, format="json").status_code == 201

    answer = api.post(f"/api/v1/recommendations/{to_prescriber.json()['id']}/response/",
                      {"version": 1, "response": "modified", "response_on": factories.today().isoformat(),
                       "response_note": "INR in 5 days"}, format="json")  # fmt: skip
    assert answer.status_code == 200 and answer.json()["response"] == "modified"


def test_bad_input_names_the_field_and_saves_nothing(api, patient):
    response = api.post("/api/v1/reviews/", {"patient": str(patient.pk), "method": "video"}, format="json")
    assert response.status_code == 400 and "video_link" in response.json()
    assert api.post("/api/v1/reviews/", {"kind": "cmr"}, format="json").json().keys() == {"patient"}
    assert not Review.objects.exists()


def test_another_organisation_gets_404_and_patients_403(
    api, patient, other_pharmacist, patient_user, other_patient
):
    review = api.post("/api/v1/reviews/", {"patient": str(patient.pk)}, format="json").json()
    other = client(other_pharmacist)
    assert other.get(f"/api/v1/reviews/{review['id']}/").status_code == 404
    assert other.get(f"/api/v1/reviews/{review['id']}/problems/").status_code == 404
    assert other.post(f"/api/v1/reviews/{review['id']}/start/", {}, format="json").status_code == 404
    assert client(patient_user).get("/api/v1/reviews/").status_code == 403
    # nor can a review be opened for another organisation's patient
    assert api.post("/api/v1/reviews/", {"patient": str(other_patient.pk)}, format="json").status_code == 400


def test_staff_read_reviews_and_record_answers_but_do_not_conduct(api, staff, patient):
    review = api.post("/api/v1/reviews/", {"patient": str(patient.pk)}, format="json").json()
    staff_api = client(staff)
    assert staff_api.get(f"/api/v1/reviews/{review['id']}/").status_code == 200
    assert staff_api.post(f"/api/v1/reviews/{review['id']}/start/", {}, format="json").status_code == 403
    assert staff_api.get("/api/v1/recommendations/overdue/").status_code == 200
    assert not Problem.objects.exists()


def test_the_schema_describes_the_review_endpoints(api):
    paths = api.get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in ["/api/v1/reviews/{id}/complete/", "/api/v1/reviews/{id}/findings/confirm/",
                 "/api/v1/reviews/{review_pk}/problems/{id}/recommendations/", "/api/v1/recommendations/{id}/response/"]:  # fmt: skip
        assert path in paths, path
