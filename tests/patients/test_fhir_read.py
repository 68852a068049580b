"""Reading FHIR R4 (patients/interop/fhir_read.py): the examples others wrote read without a problem
(what MTM does not keep is skipped with its reason), codes and units are kept or converted, and
each bad resource is reported with where it is and why, the rest still read."""

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest

from patients.interop.fhir_read import ICD10CM, LOINC, RXNORM, SNOMED, fhir_read, files_in

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir-examples"
TODAY = datetime.date(2026, 12, 5)


def read(*documents, names=None):
    files = [
        (name, json.dumps(doc) if not isinstance(doc, str) else doc)
        for name, doc in zip(
            names or [f"file{i}.json" for i in range(len(documents))], documents, strict=True
        )
    ]
    return fhir_read(files, today=TODAY)


def patient(id_="p1", **extra):
    return {"resourceType": "Patient", "id": id_, "name": [{"family": "Okafor", "given": ["Ada"]}],
            "birthDate": "1950-03-04", "gender": "female", **extra}  # fmt: skip


def bundle(*resources):
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}  # fmt: skip


def subject(id_="p1"):
    return {"reference": f"Patient/{id_}"}


@pytest.mark.parametrize(
    "folder",
    ["us-core", "synthea", "other-inferno", "ndjson/smart-sample-bulk-fhir-datasets-10-patients",
     "phcp/json-converted-from-xml-current", "phcp/json-2020-05"],
)  # fmt: skip
def test_every_example_reads_without_a_problem_and_says_what_it_skipped(folder):
    data = fhir_read(files_in([EXAMPLES / folder]), today=TODAY)
    assert data.problems == []
    assert data.patients and data.items > 0
    assert all(why for (_, why) in data.skipped)


def test_the_us_core_examples_read_as_a_pharmacist_would_expect():
    data = fhir_read(files_in([EXAMPLES / "us-core"]), today=TODAY)
    amy = data.patients["Patient/example"]
    assert (amy.first_name, amy.last_name, amy.birth_date) == ("Amy V.", "Shaw", datetime.date(1987, 2, 20))
    assert amy.sex == "female"  # US Core 9 says it in the individual-sex extension, not gender
    assert amy.language == "es" and ("http://example.org/patient/identifiers", "1032702") in amy.identifiers
    by_origin = {m.origin.resource: m for m in amy.medications}
    # A coded drug, one in a contained Medication and one in a Medication resource of another file.
    assert by_origin["MedicationRequest/medicationrequest-coded-oral-axid"].rxcuis == ["476872"]
    assert by_origin["MedicationRequest/medicationrequest-contained-oral-axid"].rxcuis == ["582620"]
    assert by_origin["MedicationRequest/medicationrequest-referenced-oral-axid"].rxcuis == ["582620"]
    axid = by_origin["MedicationRequest/medicationrequest-coded-oral-axid"]
    assert (axid.directions, axid.prescriber_npi, axid.reported) == ("10 mL bid", "9941339100", False)
    tylenol = by_origin["MedicationRequest/self-tylenol"]
    assert tylenol.reported and tylenol.active and tylenol.name == "Tylenol PM Pill"
    conditions = {c.code: c for c in amy.conditions}
    assert conditions["T20.21"].system == ICD10CM and conditions["T20.21"].icd10_code == "T20.21"
    assert conditions["51868009"].system == SNOMED and conditions["51868009"].icd10_code == ""
    peanuts = next(a for a in amy.allergies if a.substance == "Peanuts")
    assert (peanuts.reaction, peanuts.severity, peanuts.active) == ("Hives", "severe", True)
    kinds = {o.kind: o for o in amy.observations}
    assert (kinds["blood_pressure"].value, kinds["blood_pressure"].diastolic) == (
        Decimal("109.00"),
        Decimal("44.00"),
    )
    assert kinds["serum_creatinine"].value == Decimal("1.00") and kinds["weight"].value == Decimal("20.09")


def test_a_synthea_patient_keeps_codes_and_older_loinc_codes():
    data = fhir_read(
        files_in([EXAMPLES / "synthea" / "Cleo_Friesen_59907280-53b1-4677-92b9-83c1332a08b3.json"]),
        today=TODAY,
    )
    [cleo] = {id(p): p for p in data.patients.values()}.values()
    warfarin = next(m for m in cleo.medications if "Warfarin" in m.name)
    assert warfarin.rxcuis == ["855332"] and warfarin.origin.resource.startswith("MedicationRequest/")
    assert {o.kind for o in cleo.observations} >= {"egfr", "serum_creatinine", "potassium", "blood_pressure"}
    assert all(o.loinc for o in cleo.observations)


def test_units_are_converted_and_an_unknown_unit_is_refused_alone():
    def observation(id_, code, value, unit):
        return {"resourceType": "Observation", "id": id_, "status": "final", "subject": subject(),
                "code": {"coding": [{"system": LOINC, "code": code}]}, "effectiveDateTime": "2026-11-01",
                "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}  # fmt: skip

    data = read(bundle(
        patient(), observation("o1", "29463-7", 176, "[lb_av]"), observation("o2", "8302-2", 65, "[in_i]"),
        observation("o3", "14682-9", 97, "umol/L"), observation("o4", "2823-3", 4.2, "mmol/L"),
        observation("o5", "6301-6", 2.4, "{INR}"), observation("o6", "29463-7", 12, "stone"),
    ))  # fmt: skip
    values = {o.origin.resource: (o.kind, o.value) for o in data.patients["Patient/p1"].observations}
    assert values == {
        "Observation/o1": ("weight", Decimal("79.83")), "Observation/o2": ("height", Decimal("165.10")),
        "Observation/o3": ("serum_creatinine", Decimal("1.10")), "Observation/o4": ("potassium", Decimal("4.20")),
        "Observation/o5": ("inr", Decimal("2.40")),
    }  # fmt: skip
    [problem] = data.problems
    assert problem.where.startswith("Observation/o6") and "unit “stone”" in problem.reason


def test_each_bad_resource_is_reported_with_where_and_why_and_the_rest_reads():
    request = {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
               "subject": subject(), "medicationCodeableConcept": {"text": "lisinopril 10 mg"}}  # fmt: skip
    bad = [
        {**request, "id": "no-such-patient", "subject": subject("p9")},
        {**request, "id": "future", "authoredOn": "2027-01-01"},
        {**request, "id": "bad-model", "status": 42, "intent": None},
        {"resourceType": "Condition", "id": "c1", "subject": subject(),
         "code": {"coding": [{"system": "http://example.org/codes", "code": "X1"}]}},
        {**request, "id": "no-drug", "medicationCodeableConcept": {"coding": [{"system": "urn:local", "code": "7"}]}},
    ]  # fmt: skip
    data = read(bundle(patient(), request, *bad))
    reasons = {p.where.split(" ")[0]: p.reason for p in data.problems}
    assert (
        reasons["MedicationRequest/no-such-patient"]
        == "it refers to Patient/p9, which is not among the resources read"
    )
    assert reasons["MedicationRequest/future"] == "its date written (2027-01-01) is in the future"
    assert reasons["MedicationRequest/bad-model"].startswith("fails the FHIR R4 model at ")
    assert "systems given: http://example.org/codes" in reasons["Condition/c1"]
    assert "no name and no RxNorm or NDC code" in reasons["MedicationRequest/no-drug"]
    assert [m.name for m in data.patients["Patient/p1"].medications] == ["lisinopril 10 mg"]


def test_ndjson_problems_name_the_line_and_invalid_json_says_where():
    lines = "\n".join([json.dumps(patient()), "{not json", json.dumps({"resourceType": "Nope", "id": "x"}),
                       json.dumps({"no": "type"})])  # fmt: skip
    data = fhir_read(
        [("Patient.000.ndjson", lines), ("broken.json", '{"resourceType": "Bundle",')], today=TODAY
    )
    where = {p.where: p.reason for p in data.problems}
    assert where["line 2 of Patient.000.ndjson"].startswith("not valid JSON (")
    assert where["line 4 of Patient.000.ndjson"] == "not a FHIR resource (no resourceType)"
    assert where["broken.json"].startswith("not valid JSON (")
    assert data.skipped[("Nope", "MTM does not keep this type of resource")] == 1
    assert "Patient/p1" in data.patients


def test_a_sig_is_written_from_a_structured_dosage_and_statuses_map():
    def request(id_, status, dosage, **extra):
        return {"resourceType": "MedicationRequest", "id": id_, "status": status, "intent": "order",
                "subject": subject(), "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "314076",
                "display": "lisinopril 10 MG Oral Tablet"}]}, "dosageInstruction": [dosage], **extra}  # fmt: skip

    data = read(bundle(
        patient(),
        request("a", "active", {"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}),
        request("b", "stopped", {"timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}},
                                 "asNeededBoolean": True}),
        request("c", "entered-in-error", {"text": "x"}),
    ))  # fmt: skip
    medications = {m.origin.resource: m for m in data.patients["Patient/p1"].medications}
    assert medications["MedicationRequest/a"].directions == "1 tablet twice a day"
    assert medications["MedicationRequest/b"].directions == "every 8 hours as needed"
    assert medications["MedicationRequest/a"].active and not medications["MedicationRequest/b"].active
    assert "MedicationRequest/c" not in medications
    assert data.skipped[("MedicationRequest", "status entered-in-error")] == 1


def test_no_known_allergies_is_a_statement_not_an_allergy():
    nka = {"resourceType": "AllergyIntolerance", "id": "nka", "patient": subject(),
           "code": {"coding": [{"system": SNOMED, "code": "716186003", "display": "No known allergy"}]}}  # fmt: skip
    data = read(bundle(patient(), nka))
    assert data.patients["Patient/p1"].no_known_allergies and data.patients["Patient/p1"].allergies == []


def test_the_reader_says_how_far_it_is(monkeypatch):
    from patients.interop import fhir_read as module

    monkeypatch.setattr(module, "PROGRESS_EVERY", 2)
    told = []
    lines = "\n".join(json.dumps(patient(f"p{i}")) for i in range(5))
    fhir_read([("Patient.ndjson", lines), ("one.json", json.dumps(patient("p9")))], today=TODAY,
              progress=lambda files, resources: told.append((files, resources)))  # fmt: skip
    assert told == [(0, 2), (0, 4), (1, 5), (2, 6)]
