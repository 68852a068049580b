"""POST /api/v1/imports/: the same import as the pages, for a system or a script."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from patients.models import FhirImport, Patient
from tests.patients.test_fhir_import import record, record_of


@pytest.fixture
def api(pharmacist):
    client = APIClient()
    client.force_authenticate(pharmacist)
    return client


def send(api, capture, bundle, **extra):
    with capture(execute=True):
        return api.post(
            "/api/v1/imports/",
            {
                "source_system": "Clinic EHR",
                "files": [SimpleUploadedFile("record.json", json.dumps(bundle).encode())],
                **extra,
            },
            format="multipart",
        )


def test_import_read_then_lines_accepted_by_id(api, patient, django_capture_on_commit_callbacks):
    response = send(api, django_capture_on_commit_callbacks, record_of(patient), patient=str(patient.pk))
    assert response.status_code == 202 and response.json()["status"] == "queued"
    job = api.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert job["status"] == "ready" and job["report"]["read"]["MedicationRequest"] == 2
    [import_patient] = job["patients"]
    assert (import_patient["match"], import_patient["patient"]) == ("target", str(patient.pk))
    metformin = next(line for line in import_patient["lines"] if "metformin" in line["summary"])
    result = api.post(f"/api/v1/imports/{job['id']}/accept/", {"lines": [metformin["id"]]}, format="json")
    assert result.json() == {"applied": 1, "refused": 0, "reasons": {}}
    assert [m.name for m in patient.medications.all()] == ["metformin 500 mg"]
    declined = api.post(f"/api/v1/imports/{job['id']}/decline/", {"all": True}, format="json")
    assert declined.json()["declined"] == len(import_patient["lines"]) - 1
    assert (
        api.post(f"/api/v1/imports/{job['id']}/accept/", {"all": True}, format="json").json()["applied"] == 0
    )


def test_a_name_match_is_confirmed_through_the_api(api, org, django_capture_on_commit_callbacks):
    from tests import factories

    factories.make_patient(org, first_name="Ada", last_name="Okafor", date_of_birth="1948-02-03")
    job = api.get(
        f"/api/v1/imports/{send(api, django_capture_on_commit_callbacks, record()).json()['id']}/"
    ).json()
    [import_patient] = job["patients"]
    assert (import_patient["match"], import_patient["confirmed"]) == ("name_birth_date", False)
    refused = api.post(f"/api/v1/imports/{job['id']}/accept/", {"all": True}, format="json").json()
    assert refused["refused"] == 1 and "confirm first" in refused["reasons"]["Okafor, Ada"]
    confirmed = api.post(f"/api/v1/imports/{job['id']}/confirm/",
                         {"patient": import_patient["id"], "same_person": True}, format="json")  # fmt: skip
    assert confirmed.json()["confirmed"] is True
    assert (
        api.post(f"/api/v1/imports/{job['id']}/accept/", {"all": True}, format="json").json()["refused"] == 0
    )
    assert Patient.objects.filter(last_name="Okafor").count() == 1


def test_bad_requests_name_the_field(api):
    assert "files" in api.post("/api/v1/imports/", {"source_system": "EHR"}, format="multipart").json()
    response = api.post(
        "/api/v1/imports/", {"files": [SimpleUploadedFile("a.json", b"{}")]}, format="multipart"
    )
    assert response.status_code == 400 and "source_system" in response.json()
    response = api.post("/api/v1/imports/", {"source_system": "EHR", "files": [SimpleUploadedFile("a.csv", b"x")]},
                        format="multipart")  # fmt: skip
    assert response.status_code == 400 and "a.csv: only .json" in str(response.json()["files"])
    assert not FhirImport.objects.exists()


def test_another_organisations_import_is_a_404(api, other_pharmacist, django_capture_on_commit_callbacks):
    job_id = send(api, django_capture_on_commit_callbacks, record()).json()["id"]
    other = APIClient()
    other.force_authenticate(other_pharmacist)
    assert other.get(f"/api/v1/imports/{job_id}/").status_code == 404
    assert other.post(f"/api/v1/imports/{job_id}/accept/", {"all": True}, format="json").status_code == 404
    assert other.get("/api/v1/imports/").json()["count"] == 0
