"""The FHIR import as pages: upload, the progress while the worker reads, the preview accepted line
by line, and the same organisation's data only."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from patients.models import FhirImport, ImportStatus, LineDecision, Patient
from tests import factories
from tests.conftest import client_for
from tests.patients.test_fhir_import import record, record_of


def upload(client, capture, *, bundle=None, source="Clinic EHR", url=None, name="record.json"):
    content = json.dumps(bundle or record()).encode()
    with capture(execute=True):  # the worker reads the files once the upload's transaction commits
        return client.post(
            url or reverse("fhir_import_list"),
            {"source_system": source, "files": [SimpleUploadedFile(name, content, "application/fhir+json")]},
        )


def test_upload_preview_and_accept_two_lines(pharmacist_client, patient, django_capture_on_commit_callbacks):
    response = upload(pharmacist_client, django_capture_on_commit_callbacks, bundle=record_of(patient),
                      url=reverse("fhir_import_for_patient", args=[patient.pk]))  # fmt: skip
    job = FhirImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "fhir_import_detail", args=[job.pk]
    )
    assert job.status == ImportStatus.READY and job.target_patient == patient
    page = pharmacist_client.get(response["Location"]).content.decode()
    assert (
        "The patient the import was started from" in page
        and "Add metformin 500 mg — 1 tablet twice a day" in page
    )
    assert not patient.medications.exists()  # a preview: nothing written yet
    lines = {line.summary: line for line in job.lines.all()}
    chosen = [
        lines["Add metformin 500 mg — 1 tablet twice a day"].pk,
        lines["Add allergy: penicillin (hives)"].pk,
    ]
    decided = pharmacist_client.post(
        reverse("fhir_import_decide", args=[job.pk]), {"action": "accept", "line": chosen}
    )
    assert decided.status_code == 302
    assert [m.name for m in patient.medications.all()] == ["metformin 500 mg"]
    assert [a.substance for a in patient.allergies.all()] == ["penicillin"]
    page = pharmacist_client.get(decided["Location"]).content.decode()
    assert "2 lines written." in page
    pharmacist_client.post(reverse("fhir_import_decide", args=[job.pk]), {"action": "accept-all"})
    assert patient.conditions.count() == 2 and not job.lines.filter(decision=LineDecision.PENDING).exists()


def test_the_page_polls_while_the_worker_reads(pharmacist_client, pharmacist):
    job = FhirImport.objects.create(organisation=pharmacist.organisation, requested_by=pharmacist,
                                    source_system="EHR", status=ImportStatus.READING,
                                    file_names=["Patient.ndjson", "Condition.ndjson"], files_read=1,
                                    resources_read=1200)  # fmt: skip
    page = pharmacist_client.get(reverse("fhir_import_detail", args=[job.pk])).content.decode()
    assert "Being read…" in page and 'hx-trigger="every 1s"' in page
    assert "1 of 2 files read, 1200 resources so far." in page and 'max="2" value="1"' in page
    url = reverse("fhir_import_detail", args=[job.pk]) + "?status=1"
    assert "HX-Refresh" not in pharmacist_client.get(url, headers={"HX-Request": "true"})
    FhirImport.objects.filter(pk=job.pk).update(status=ImportStatus.READY)
    assert pharmacist_client.get(url, headers={"HX-Request": "true"})["HX-Refresh"] == "true"


def test_a_name_match_is_confirmed_on_the_page(org, pharmacist_client, django_capture_on_commit_callbacks):
    same = factories.make_patient(org, first_name="Ada", last_name="Okafor", date_of_birth="1948-02-03")
    upload(pharmacist_client, django_capture_on_commit_callbacks)
    job = FhirImport.objects.get()
    page = pharmacist_client.get(reverse("fhir_import_detail", args=[job.pk])).content.decode()
    assert "Is this the same person as the record found?" in page
    import_patient = job.patients.get()
    pharmacist_client.post(reverse("fhir_import_confirm", args=[job.pk, import_patient.pk]), {"same": "yes"})
    pharmacist_client.post(reverse("fhir_import_decide", args=[job.pk]), {"action": "accept-all"})
    assert Patient.objects.filter(last_name="Okafor").count() == 1 and same.medications.count() == 2


def test_bad_uploads_are_refused_naming_the_field(pharmacist_client):
    response = pharmacist_client.post(reverse("fhir_import_list"), {"source_system": "EHR"})
    assert response.status_code == 400 and 'id="id_files_error"' in response.content.decode()
    response = pharmacist_client.post(
        reverse("fhir_import_list"),
        {"source_system": "EHR", "files": [SimpleUploadedFile("record.xml", b"<Bundle/>")]},
    )
    assert response.status_code == 400 and "record.xml: only .json" in response.content.decode()
    assert not FhirImport.objects.exists()


def test_another_organisations_import_is_a_404_and_patients_cannot_import(
    pharmacist_client, other_pharmacist, patient_user, django_capture_on_commit_callbacks
):
    upload(pharmacist_client, django_capture_on_commit_callbacks)
    job = FhirImport.objects.get()
    other = client_for(other_pharmacist)
    assert other.get(reverse("fhir_import_detail", args=[job.pk])).status_code == 404
    assert (
        other.post(reverse("fhir_import_decide", args=[job.pk]), {"action": "accept-all"}).status_code == 404
    )
    assert "Clinic EHR" not in other.get(reverse("fhir_import_list")).content.decode()
    assert client_for(patient_user).get(reverse("fhir_import_list")).status_code == 403
    assert not Patient.objects.filter(last_name="Okafor").exists()
