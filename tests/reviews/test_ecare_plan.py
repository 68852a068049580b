"""A completed review as a Pharmacist eCare Plan (reviews/interop.py): a FHIR document whose
Composition has the PhCP sections, the problems coded where the IG has a code, the interventions
and the prescribers' answers; scoped, audited, and only once the review is complete."""

import json

from django.urls import reverse
from fhir.resources.R4B import get_fhir_model_class
from rest_framework.test import APIClient

from mtm.audit import Actor
from mtm.models import AuditEvent
from patients.interop.fhir_read import LOINC, SNOMED
from reviews import services
from reviews.interop import PHCP, ecare_plan_bundle
from reviews.models import ProblemCategory, Response
from tests import factories
from tests.conftest import client_for
from tests.reviews.test_reports import completed_review


def test_the_document_has_the_sections_codes_and_answers(org, patient, pharmacist):
    prescriber = factories.make_prescriber(org)
    patient.plan_name, patient.member_id = "Blue Plan Part D", "M123"
    patient.save()
    review = completed_review(patient, pharmacist, problems=[ProblemCategory.DOSAGE_TOO_HIGH, ProblemCategory.INEFFECTIVE],
                              prescriber=prescriber, answer=Response.MODIFIED)  # fmt: skip
    bundle = ecare_plan_bundle(review)
    assert bundle["type"] == "document" and bundle["identifier"]["value"] == f"urn:uuid:{review.pk}"
    for entry in bundle["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(urls) == len(set(urls))  # each resource once
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition" and composition["status"] == "final"
    assert composition["type"]["coding"][0] == {
        "system": LOINC,
        "code": "18776-5",
        "display": "Plan of care note",
    }
    assert composition["meta"]["profile"] == [PHCP + "PhCP-Composition"]
    sections = {s["code"]["coding"][0]["code"]: s for s in composition["section"]}
    assert set(sections) == {"75310-3", "61146-7", "62387-6", "11383-7", "10160-0", "48768-6"}
    assert sections["61146-7"]["emptyReason"]["coding"][0]["code"] == "unavailable"  # no goals kept yet
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    [coverage] = [by_url[e["reference"]] for e in sections["48768-6"]["entry"]]
    assert coverage["payor"][0]["display"] == "Blue Plan Part D" and coverage["subscriberId"] == "M123"
    concerns = [by_url[e["reference"]] for e in sections["75310-3"]["entry"]]
    codes = {c["code"]["text"]: c["code"].get("coding") for c in concerns}
    assert codes[ProblemCategory.DOSAGE_TOO_HIGH] == [
        {"system": SNOMED, "code": "448089004", "display": "Dose of medication too high"}
    ]
    assert codes[ProblemCategory.INEFFECTIVE] is None  # no code in the IG's value set: the wording only
    interventions = [by_url[e["reference"]] for e in sections["62387-6"]["entry"]]
    review_procedure = interventions[0]
    assert (
        review_procedure["code"]["coding"][0]["code"] == "428911000124108"
    )  # comprehensive medication review
    communications = [r for r in interventions if r["resourceType"] == "Communication"]
    assert len(communications) == 2 and all(
        "Accepted with modification" in c["note"][0]["text"] for c in communications
    )
    assert all(c["recipient"][0]["reference"] in by_url for c in communications)


def test_only_a_completed_review_has_one_and_downloads_are_scoped_and_audited(
    org, patient, pharmacist, pharmacist_client, other_pharmacist
):
    by = Actor(pharmacist)
    open_review = services.review_create(patient=patient, data={"consent_noted": True}, by=by)
    response = pharmacist_client.get(reverse("review_ecare_plan", args=[open_review.pk]))
    assert response.status_code == 409 and "complete it first" in response.json()["detail"]
    review = completed_review(factories.make_patient(org), pharmacist)
    response = pharmacist_client.get(reverse("review_ecare_plan", args=[review.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/fhir+json"
    assert json.loads(response.content)["entry"][0]["resource"]["resourceType"] == "Composition"
    assert AuditEvent.objects.filter(
        object_id=str(review.pk), changes__document__1="Pharmacist eCare Plan (FHIR)"
    ).exists()
    assert client_for(other_pharmacist).get(reverse("review_ecare_plan", args=[review.pk])).status_code == 404
    api = APIClient()
    api.force_authenticate(pharmacist)
    assert api.get(f"/api/v1/reviews/{review.pk}/ecare-plan/").status_code == 200
    assert api.get(f"/api/v1/reviews/{open_review.pk}/ecare-plan/").status_code == 409
    workspace = pharmacist_client.get(reverse("review_workspace", args=[review.pk])).content.decode()
    assert reverse("review_ecare_plan", args=[review.pk]) in workspace
