"""Importing FHIR into records (patients/interop/fhir_import.py): a preview first, lines accepted
all or some, one transaction per patient, idempotent, reconciling with a newer export, and a
patient never merged on a name alone."""

import copy
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from mtm.audit import Actor
from mtm.models import AuditEvent
from patients import services
from patients.interop.fhir_import import (
    fhir_import_request,
    import_lines_apply,
    import_lines_decline,
    import_patient_confirm,
    import_plan,
)
from patients.interop.fhir_read import ICD10CM, LOINC, NPI, RXNORM, SNOMED, files_in
from patients.models import (
    AllergyStatus,
    ConditionStatus,
    FhirImport,
    LineAction,
    LineDecision,
    MedicationStatus,
    Patient,
    PatientIdentifier,
    PatientMatch,
)
from tests import factories

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir-examples"
MRN = "http://clinic.example.org/mrn"


def record(
    *,
    directions="1 tablet once a day",
    with_metformin=True,
    allergy_status="active",
    family="Okafor",
    given="Ada",
    birth_date="1948-02-03",
):
    """A small record as a clinic's EHR would export it."""
    prescriber_npi = factories.valid_npi("123456789")
    resources = [
        {"resourceType": "Patient", "id": "p1", "identifier": [{"system": MRN, "value": "A-100"}],
         "name": [{"family": family, "given": [given]}], "birthDate": birth_date, "gender": "female",
         "telecom": [{"system": "email", "value": "ada@example.org"}]},
        {"resourceType": "Practitioner", "id": "dr", "identifier": [{"system": NPI, "value": prescriber_npi}],
         "name": [{"family": "Hale", "given": ["Nora"]}]},
        {"resourceType": "MedicationRequest", "id": "m-lisinopril", "status": "active", "intent": "order",
         "subject": {"reference": "Patient/p1"}, "requester": {"reference": "Practitioner/dr"},
         "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "314076", "display": "lisinopril 10 MG Oral Tablet"}]},
         "dosageInstruction": [{"text": directions}], "authoredOn": "2025-01-10"},
        {"resourceType": "AllergyIntolerance", "id": "a-pcn", "patient": {"reference": "Patient/p1"},
         "clinicalStatus": {"coding": [{"code": allergy_status}]},
         "code": {"text": "penicillin"}, "reaction": [{"manifestation": [{"text": "hives"}], "severity": "moderate"}]},
        {"resourceType": "Condition", "id": "c-htn", "subject": {"reference": "Patient/p1"},
         "clinicalStatus": {"coding": [{"code": "active"}]},
         "code": {"coding": [{"system": ICD10CM, "code": "I10", "display": "Essential hypertension"}]}},
        {"resourceType": "Condition", "id": "c-afib", "subject": {"reference": "Patient/p1"},
         "code": {"coding": [{"system": SNOMED, "code": "49436004", "display": "Atrial fibrillation"}]}},
        {"resourceType": "Observation", "id": "o-scr", "status": "final", "subject": {"reference": "Patient/p1"},
         "code": {"coding": [{"system": LOINC, "code": "2160-0"}]}, "effectiveDateTime": "2026-10-01",
         "valueQuantity": {"value": 1.3, "unit": "mg/dL", "code": "mg/dL"}},
    ]  # fmt: skip
    if with_metformin:
        resources.append(
            {"resourceType": "MedicationRequest", "id": "m-metformin", "status": "active", "intent": "order",
             "subject": {"reference": "Patient/p1"},
             "medicationCodeableConcept": {"text": "metformin 500 mg"}, "dosageInstruction": [{"text": "1 tablet twice a day"}]}
        )  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def record_of(patient, **changes):
    """The record above, written for this patient (their name and birth date)."""
    return record(family=patient.last_name, given=patient.first_name, birth_date=patient.date_of_birth.isoformat(),
                  **changes)  # fmt: skip


def run_import(user, bundle, *, target=None, source="Clinic EHR"):
    job = fhir_import_request(
        user=user, files=[("record.json", json.dumps(bundle).encode())], source_system=source, by=Actor(user),
        target_patient=target, queue=False,
    )  # fmt: skip
    return import_plan(job)


def pending(job):
    return list(job.lines.filter(decision=LineDecision.PENDING).order_by("number"))


def test_a_new_patient_is_previewed_then_written_with_its_source(org, pharmacist):
    job = run_import(pharmacist, record())
    assert Patient.objects.filter(last_name="Okafor").count() == 0  # nothing written yet
    [import_patient] = job.patients.all()
    assert import_patient.match == PatientMatch.NEW
    summaries = [line.summary for line in pending(job)]
    assert summaries[0] == "New patient Okafor, Ada, born 02/03/1948"
    assert any(
        s.startswith("Add lisinopril 10 MG Oral Tablet — 1 tablet once a day (Nora Hale, NPI")
        for s in summaries
    )
    assert "Add condition SNOMED 49436004 Atrial fibrillation" in summaries
    result = import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))
    assert result["refused"] == 0
    ada = Patient.objects.get(last_name="Okafor", organisation=org)
    lisinopril = ada.medications.get(name="lisinopril 10 MG Oral Tablet")
    assert (lisinopril.source_system, lisinopril.source_record) == (
        "Clinic EHR",
        "MedicationRequest/m-lisinopril",
    )
    assert (
        lisinopril.prescriber.last_name == "Hale" and lisinopril.ingredients
    )  # recognised like a typed entry
    assert ada.conditions.get(snomed_code="49436004").icd10_code == ""
    assert ada.conditions.get(icd10_code="I10").description.startswith("Essential")
    assert ada.measurements.get(kind="serum_creatinine").display_value == "1.3 mg/dL"
    assert PatientIdentifier.objects.get(system=MRN, value="A-100").patient == ada
    assert AuditEvent.objects.filter(patient_id=ada.pk, object_type="patients.medicationentry").count() == 2


def test_the_same_data_twice_changes_nothing(org, pharmacist):
    import_lines_apply(job=run_import(pharmacist, record()), line_ids=None, by=Actor(pharmacist))
    before = AuditEvent.objects.count()
    again = run_import(pharmacist, record())
    assert again.patients.get().match == PatientMatch.IDENTIFIER
    assert pending(again) == []  # every line "already as recorded"
    assert {line.action for line in again.lines.all()} == {LineAction.SAME}
    assert import_lines_apply(job=again, line_ids=None, by=Actor(pharmacist))["applied"] == 0
    assert AuditEvent.objects.count() == before + 1  # the import itself, asked for


def test_a_newer_export_proposes_what_changed_and_what_is_gone(org, pharmacist):
    import_lines_apply(job=run_import(pharmacist, record()), line_ids=None, by=Actor(pharmacist))
    newer = run_import(
        pharmacist, record(directions="2 tablets once a day", with_metformin=False, allergy_status="inactive")
    )
    lines = {line.summary: line for line in pending(newer)}
    assert set(lines) == {
        "Change lisinopril 10 MG Oral Tablet: directions: 1 tablet once a day → 2 tablets once a day",
        "Stop metformin 500 mg: no longer on Clinic EHR's list",
        "penicillin: no longer applies at the source",
    }
    import_lines_apply(job=newer, line_ids=None, by=Actor(pharmacist))
    ada = Patient.objects.get(last_name="Okafor")
    assert ada.medications.get(name__startswith="lisinopril").directions == "2 tablets once a day"
    assert ada.medications.get(name="metformin 500 mg").status == MedicationStatus.STOPPED
    assert ada.allergies.get().status == AllergyStatus.INACTIVE


def test_the_pharmacist_accepts_some_lines_and_declines_others(org, pharmacist, patient):
    job = run_import(pharmacist, record_of(patient), target=patient)
    assert job.patients.get().match == PatientMatch.TARGET
    lines = pending(job)
    metformin = next(line for line in lines if "metformin" in line.summary)
    allergy = next(line for line in lines if line.category == "allergy")
    import_lines_apply(job=job, line_ids=[metformin.pk, allergy.pk], by=Actor(pharmacist))
    import_lines_decline(job=job, line_ids=[line.pk for line in pending(job)], by=Actor(pharmacist))
    assert [m.name for m in patient.medications.all()] == ["metformin 500 mg"]
    assert [a.substance for a in patient.allergies.all()] == ["penicillin"]
    assert pending(job) == [] and not patient.conditions.exists()


def test_a_typed_medication_of_the_same_drug_is_matched_not_added_twice(org, pharmacist, patient):
    services.medication_add(patient=patient, data={"name": "lisinopril", "directions": "1 tablet once a day"},
                            by=Actor(pharmacist))  # fmt: skip
    job = run_import(pharmacist, record_of(patient), target=patient)
    medication_lines = [line for line in job.lines.all() if line.category == "medication"]
    assert [
        (line.action, line.summary) for line in medication_lines if "lisinopril" in line.summary.lower()
    ] == [(LineAction.SAME, "lisinopril: as recorded")]


def test_a_name_and_birth_date_match_waits_for_a_confirmation(org, pharmacist):
    same = factories.make_patient(org, first_name="Ada", last_name="Okafor", date_of_birth="1948-02-03")
    job = run_import(pharmacist, record())
    import_patient = job.patients.get()
    assert (import_patient.match, import_patient.patient, import_patient.confirmed) == (
        PatientMatch.NAME_BIRTH_DATE, same, False)  # fmt: skip
    result = import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))
    assert result["applied"] == 0 and "confirm first" in result["reasons"]["Okafor, Ada"]
    assert not same.medications.exists()
    import_patient_confirm(import_patient=import_patient, same_person=False, by=Actor(pharmacist))
    import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))
    assert Patient.objects.filter(last_name="Okafor").count() == 2 and not same.medications.exists()


def test_a_file_about_someone_else_than_the_patient_waits_for_a_confirmation(org, pharmacist, patient):
    job = run_import(pharmacist, record(), target=patient)  # Ada Okafor's record, from Walter Brennan's page
    import_patient = job.patients.get()
    assert (import_patient.match, import_patient.confirmed) == (PatientMatch.TARGET, False)
    assert import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))["applied"] == 0
    assert not patient.medications.exists()
    import_patient_confirm(import_patient=import_patient, same_person=False, by=Actor(pharmacist))
    import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))
    assert (
        not patient.medications.exists() and Patient.objects.get(last_name="Okafor").medications.count() == 2
    )


def test_a_refused_line_writes_nothing_for_that_patient(org, pharmacist):
    bundle = record()
    bundle["entry"].append({"resource": {
        "resourceType": "AllergyIntolerance", "id": "a-long", "patient": {"reference": "Patient/p1"},
        "code": {"text": "x" * 200}, "recordedDate": "2026-01-01",
        "reaction": [{"manifestation": [{"text": "r"}], "severity": "mild"}]}})  # fmt: skip
    job = run_import(pharmacist, bundle)
    line = next(line for line in pending(job) if line.summary.startswith("Add allergy: xxx"))
    line.data["severity"] = "catastrophic"  # what a later change of the rules could make of a planned line
    line.save()
    result = import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))
    assert result["refused"] == 1 and "catastrophic" in result["reasons"]["Okafor, Ada"]
    assert not Patient.objects.filter(last_name="Okafor").exists()


def test_another_organisations_identifiers_are_not_matched(org, other_org, pharmacist, other_pharmacist):
    import_lines_apply(job=run_import(other_pharmacist, record()), line_ids=None, by=Actor(other_pharmacist))
    job = run_import(pharmacist, record())
    assert job.patients.get().match == PatientMatch.NEW


def test_bad_requests_name_the_field():
    with pytest.raises(ValidationError) as error:
        fhir_import_request(user=None, files=[], source_system=" ", by=None, queue=False)
    assert "source_system" in error.value.message_dict


@pytest.mark.parametrize(
    "folder",
    ["us-core", "synthea", "other-inferno", "ndjson/smart-sample-bulk-fhir-datasets-10-patients",
     "phcp/json-converted-from-xml-current", "phcp/json-2020-05"],
)  # fmt: skip
def test_every_example_imports_with_only_explained_refusals(org, pharmacist, folder):
    files = list(files_in([EXAMPLES / folder]))
    job = fhir_import_request(
        user=pharmacist, files=files, source_system=folder, by=Actor(pharmacist), queue=False
    )
    job = import_plan(job)
    for problem in job.report["problems"]:
        assert problem["reason"].startswith(("phone left out", "email left out")), problem  # fake 555 numbers
    result = import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))
    assert result["refused"] == 0, result["reasons"]
    assert Patient.objects.filter(organisation=org).count() == job.patients.count() > 0


def test_the_cli_previews_with_dry_run_and_writes_without(org, pharmacist, tmp_path):
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record()))
    out = io.StringIO()
    call_command("import_fhir", str(path), organisation=org.slug, user=pharmacist.username, source="Clinic EHR",
                 dry_run=True, stdout=out)  # fmt: skip
    assert "New patient Okafor, Ada" in out.getvalue() and "Dry run: nothing was written." in out.getvalue()
    assert not Patient.objects.filter(last_name="Okafor").exists() and not FhirImport.objects.exists()
    out = io.StringIO()
    call_command(
        "import_fhir",
        str(path),
        organisation=org.slug,
        user=pharmacist.username,
        source="Clinic EHR",
        stdout=out,
    )
    assert "Written: " in out.getvalue() and Patient.objects.filter(last_name="Okafor").exists()
    with pytest.raises(CommandError, match="--organisation"):
        call_command("import_fhir", str(path), organisation="nope", user=pharmacist.username)
    with pytest.raises(CommandError, match="No such file"):
        call_command(
            "import_fhir", str(tmp_path / "missing.json"), organisation=org.slug, user=pharmacist.username
        )


def test_a_resolved_condition_at_the_source_resolves_ours(org, pharmacist):
    import_lines_apply(job=run_import(pharmacist, record()), line_ids=None, by=Actor(pharmacist))
    newer = record()
    htn = next(e["resource"] for e in newer["entry"] if e["resource"]["id"] == "c-htn")
    htn["clinicalStatus"] = {"coding": [{"code": "resolved"}]}
    htn["abatementDateTime"] = "2026-11-01"
    job = run_import(pharmacist, copy.deepcopy(newer))
    [line] = pending(job)
    assert line.summary.startswith("Condition I10") and line.action == LineAction.STOP
    import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))
    assert (
        Patient.objects.get(last_name="Okafor").conditions.get(icd10_code="I10").status
        == ConditionStatus.RESOLVED
    )


def test_a_file_without_its_patient_is_for_the_patient_it_was_imported_for(org, pharmacist, patient):
    files = list(files_in([EXAMPLES / "us-core" / "medicationrequest-self-tylenol.json"]))
    job = fhir_import_request(user=pharmacist, files=files, source_system="EHR", by=Actor(pharmacist),
                              target_patient=patient, queue=False)  # fmt: skip
    job = import_plan(job)
    assert job.report["problems"] == []
    import_patient = job.patients.get()
    assert (import_patient.match, import_patient.confirmed, import_patient.patient) == (
        PatientMatch.TARGET,
        True,
        patient,
    )
    import_lines_apply(job=job, line_ids=None, by=Actor(pharmacist))
    tylenol = patient.medications.get()
    assert (tylenol.name, tylenol.source) == (
        "Tylenol PM Pill",
        "otc",
    )  # reported by the patient: not a prescription
    # Without a patient to import for, the same file is refused with the reason.
    alone = import_plan(
        fhir_import_request(
            user=pharmacist, files=files, source_system="EHR", by=Actor(pharmacist), queue=False
        )
    )
    assert (
        alone.report["problems"][0]["reason"]
        == "it refers to Patient/example, which is not among the resources read"
    )
