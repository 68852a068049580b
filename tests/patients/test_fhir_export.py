"""A patient's record as FHIR R4 (patients/interop/fhir_write.py): valid resources with the US Core
elements we claim, the codes MTM knows, gene results and personal factors in the shapes the import
reads, scoped and audited downloads, and a round trip into another organisation that keeps
everything and duplicates nothing."""

import datetime
import json

import pytest
from django.urls import reverse
from fhir.resources.R4B import get_fhir_model_class
from rest_framework.test import APIClient

from interactions.engine.request import GENES
from mtm.audit import Actor
from mtm.models import AuditEvent
from patients import services
from patients.interop.fhir_import import fhir_import_request, import_lines_apply, import_plan
from patients.interop.fhir_read import FACTOR_ANSWERS, ICD10CM, LOINC, NPI, RXNORM, SNOMED, UCUM, fhir_read
from patients.interop.fhir_write import CODED_FACTORS, HGNC, HGNC_IDS, US_CORE, patient_bundle
from patients.models import FactorStatus, GeneResultStatus, MedicationStatus, Patient, PatientIdentifier
from tests import factories
from tests.conftest import client_for


@pytest.fixture
def full_record(org, patient, pharmacist):
    by = Actor(pharmacist)
    prescriber = factories.make_prescriber(org, npi=factories.valid_npi("123456789"))
    services.medication_add(patient=patient, data={"name": "lisinopril", "strength_dose": "10 mg",
                            "directions": "1 tablet daily", "prescriber": prescriber, "start_date": factories.today()}, by=by)  # fmt: skip
    services.medication_add(patient=patient, data={"name": "ibuprofen", "strength_dose": "200 mg", "source": "otc",
                            "directions": "2 tablets as needed"}, by=by)  # fmt: skip
    warfarin = services.medication_add(patient=patient, data={"name": "warfarin", "strength_dose": "5 mg",
                                       "start_date": factories.today() - datetime.timedelta(days=90)}, by=by)  # fmt: skip
    services.medication_stop(
        entry=warfarin, on=factories.today(), reason="bleeding risk", version=warfarin.version, by=by
    )
    services.allergy_add(
        patient=patient, data={"substance": "penicillin", "reaction": "hives", "severity": "severe"}, by=by
    )
    services.condition_add(patient=patient, data={"icd10_code": "I10"}, by=by)
    for kind, value, extra in (
        ("weight", "82.5", {}),
        ("serum_creatinine", "1.4", {}),
        ("blood_pressure", "142", {"diastolic": "88"}),
        ("a1c", "7.2", {}),
    ):
        services.measurement_record(patient=patient, data={"kind": kind, "value": value, "measured_on": factories.today(), **extra}, by=by)  # fmt: skip
    services.fill_record(patient=patient, data={"drug_name": "lisinopril 10 mg", "fill_date": factories.today(),
                         "days_supply": 30, "quantity": 30}, by=by)  # fmt: skip
    PatientIdentifier.objects.create(organisation=org, patient=patient, system="urn:clinic:mrn", value="M-1")
    return patient


def days_ago(days: int) -> datetime.date:
    return factories.today() - datetime.timedelta(days=days)


@pytest.fixture
def personal_record(full_record, pharmacist):
    """The record above with pharmacogenomic results (one entered in error), pregnancy and habits
    (two of them ended) and a QTc."""
    by = Actor(pharmacist)
    for data in (
        {"gene": "CYP2C19", "phenotype": "poor metabolizer", "tested_on": days_ago(40), "lab": "Four Lakes Genomics"},
        {"gene": "SLCO1B1", "phenotype": "decreased function"},
        {"gene": "HLA-B", "allele": "*57:01", "result": "positive", "tested_on": days_ago(40)},
        {"gene": "HLA-A", "allele": "*31:01", "result": "negative"},
    ):  # fmt: skip
        services.gene_result_add(patient=full_record, data=data, by=by)
    wrong = services.gene_result_add(patient=full_record, data={"gene": "CYP2D6", "phenotype": "ultrarapid metabolizer"}, by=by)  # fmt: skip
    services.gene_result_entered_in_error(result=wrong, reason="another patient's report", version=wrong.version, by=by)  # fmt: skip
    for factor, detail, noted in (
        ("pregnant", "due 03/2027", 20), ("grapefruit", "half a grapefruit with breakfast", 30),
        ("alcohol", "a beer or two most evenings", 30), ("caffeine", "", 10),
    ):  # fmt: skip
        services.factor_add(patient=full_record, data={"factor": factor, "detail": detail, "noted_on": days_ago(noted)}, by=by)  # fmt: skip
    for factor, noted, ended in (("smoking", 400, 100), ("licorice", 200, 50)):
        entry = services.factor_add(patient=full_record, data={"factor": factor, "detail": "daily", "noted_on": days_ago(noted)}, by=by)  # fmt: skip
        services.factor_end(factor=entry, on=days_ago(ended), version=entry.version, by=by)
    services.measurement_record(patient=full_record, data={"kind": "qtc", "value": "452", "measured_on": days_ago(5)}, by=by)  # fmt: skip
    return full_record


def coding(concept) -> tuple:
    return tuple((c["system"], c["code"]) for c in concept.get("coding", []))


def resources(bundle) -> dict[str, list[dict]]:
    by_type: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return by_type


def test_every_resource_validates_and_carries_the_us_core_elements_we_claim(full_record):
    bundle = patient_bundle(full_record)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    for entry in bundle["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(
            entry["resource"]
        )  # raises if invalid
    found = resources(bundle)
    [patient] = found["Patient"]
    assert patient["meta"]["profile"] == [US_CORE + "us-core-patient"]
    assert {"identifier", "name", "gender", "birthDate", "communication"} <= set(patient)
    assert {"system": "urn:clinic:mrn", "value": "M-1"} in patient["identifier"]
    requests = {r["medicationCodeableConcept"]["text"]: r for r in found["MedicationRequest"]}
    lisinopril = requests["lisinopril 10 mg"]
    assert {"status", "intent", "medicationCodeableConcept", "subject", "authoredOn", "requester"} <= set(
        lisinopril
    )
    assert lisinopril["intent"] == "order" and "reportedBoolean" not in lisinopril
    assert {"system": RXNORM, "code": "29046", "display": "lisinopril"} in lisinopril[
        "medicationCodeableConcept"
    ]["coding"]
    assert lisinopril["dosageInstruction"][0]["text"] == "1 tablet daily"
    ibuprofen = requests["ibuprofen 200 mg"]
    assert (ibuprofen["intent"], ibuprofen["reportedBoolean"]) == (
        "plan",
        True,
    )  # OTC: reported, not prescribed
    assert (
        requests["warfarin 5 mg"]["status"] == "stopped"
        and requests["warfarin 5 mg"]["statusReason"]["text"] == "bleeding risk"
    )
    [practitioner] = found["Practitioner"]
    assert practitioner["identifier"][0]["system"] == NPI and lisinopril["requester"]["reference"].endswith(
        practitioner["id"]
    )
    [allergy] = found["AllergyIntolerance"]
    assert {"clinicalStatus", "verificationStatus", "code", "patient"} <= set(allergy)
    assert allergy["criticality"] == "high" and allergy["reaction"][0]["manifestation"][0]["text"] == "hives"
    [condition] = found["Condition"]
    assert condition["code"]["coding"][0] == {
        "system": ICD10CM,
        "code": "I10",
        "display": condition["code"]["text"],
    }
    assert condition["category"][0]["coding"][0]["code"] == "problem-list-item"
    observations = {o["code"]["coding"][0]["code"]: o for o in found["Observation"]}
    assert observations["29463-7"]["valueQuantity"] == {
        "value": 82.5,
        "unit": "kg",
        "system": UCUM,
        "code": "kg",
    }
    assert observations["2160-0"]["category"][0]["coding"][0]["code"] == "laboratory"
    assert [c["code"]["coding"][0]["code"] for c in observations["85354-9"]["component"]] == [
        "8480-6",
        "8462-4",
    ]
    assert all(o["code"]["coding"][0]["system"] == LOINC for o in found["Observation"])
    [dispense] = found["MedicationDispense"]
    assert {
        "status",
        "medicationCodeableConcept",
        "subject",
        "whenHandedOver",
        "quantity",
        "daysSupply",
    } <= set(dispense)


def test_gene_results_are_exported_as_genomics_observations(personal_record):
    observations = {o["id"]: o for o in resources(patient_bundle(personal_record))["Observation"]}
    results = {str(r): r for r in personal_record.gene_results.all()}
    assert str(results["CYP2D6 ultrarapid metabolizer"].pk) not in observations  # entered in error
    cyp2c19 = observations[str(results["CYP2C19 poor metabolizer"].pk)]
    assert coding(cyp2c19["code"]) == ((LOINC, "53040-2"),)
    assert cyp2c19["component"] == [{
        "code": {"coding": [{"system": LOINC, "code": "48018-6", "display": "Gene studied [ID]"}]},
        "valueCodeableConcept": {"coding": [{"system": HGNC, "code": "HGNC:2621", "display": "CYP2C19"}], "text": "CYP2C19"},
    }]  # fmt: skip
    assert cyp2c19["valueCodeableConcept"] == {"coding": [{"system": LOINC, "code": "LA9657-3"}], "text": "poor metabolizer"}  # fmt: skip
    assert cyp2c19["effectiveDateTime"] == days_ago(40).isoformat()
    assert cyp2c19["performer"] == [{"display": "Four Lakes Genomics"}]
    slco1b1 = observations[str(results["SLCO1B1 decreased function"].pk)]
    assert slco1b1["valueCodeableConcept"] == {"text": "decreased function"}  # no LOINC answer for it
    hla_b = observations[str(results["HLA-B*57:01 positive"].pk)]
    assert coding(hla_b["code"]) == ((LOINC, "69548-6"),) and hla_b["code"]["text"] == "HLA-B*57:01"
    assert coding(hla_b["valueCodeableConcept"]) == ((LOINC, "LA9633-4"),)  # Present
    assert hla_b["interpretation"][0]["coding"][0]["code"] == "POS"
    assert hla_b["component"][0]["valueCodeableConcept"]["coding"][0]["code"] == "HGNC:4932"
    hla_a = observations[str(results["HLA-A*31:01 negative"].pk)]
    assert coding(hla_a["valueCodeableConcept"]) == ((LOINC, "LA9634-2"),)  # Absent, in the value itself
    assert hla_a["interpretation"][0]["coding"][0]["code"] == "NEG"


def test_every_gene_the_screening_reads_has_its_hgnc_id():
    assert set(HGNC_IDS) == set(GENES)


def test_pregnancy_and_habits_are_exported_as_social_history_observations(personal_record):
    observations = {o["id"]: o for o in resources(patient_bundle(personal_record))["Observation"]}
    factors = {f.factor: f for f in personal_record.factors.all()}

    def exported(factor):
        observation = observations[str(factors[factor].pk)]
        assert observation["category"][0]["coding"][0]["code"] == "social-history"
        return observation

    pregnant = exported("pregnant")
    assert pregnant["meta"]["profile"] == [US_CORE + "us-core-observation-pregnancystatus"]
    assert coding(pregnant["code"]) == ((LOINC, "82810-3"),)
    assert coding(pregnant["valueCodeableConcept"]) == ((SNOMED, "77386006"),)
    assert pregnant["effectiveDateTime"] == days_ago(20).isoformat()
    assert pregnant["note"] == [{"text": "due 03/2027"}]
    alcohol = exported("alcohol")
    assert coding(alcohol["code"]) == ((LOINC, "11331-6"),)
    assert coding(alcohol["valueCodeableConcept"]) == ((SNOMED, "219006"),)  # current drinker
    assert alcohol["note"] == [{"text": "a beer or two most evenings"}]
    smoking = exported("smoking")  # ended: an ex-smoker since it ended, the US Core way
    assert smoking["meta"]["profile"] == [US_CORE + "us-core-smokingstatus"]
    assert coding(smoking["code"]) == ((LOINC, "72166-2"),)
    assert coding(smoking["valueCodeableConcept"]) == ((SNOMED, "8517006"),)
    assert smoking["effectiveDateTime"] == days_ago(100).isoformat() and "note" not in smoking
    grapefruit = exported("grapefruit")  # no standard code: the factor's words
    assert grapefruit["code"] == {"text": "Eats grapefruit or drinks grapefruit juice"}
    assert grapefruit["valueBoolean"] is True
    assert grapefruit["effectivePeriod"] == {"start": days_ago(30).isoformat()}
    licorice = exported("licorice")
    assert licorice["effectivePeriod"] == {
        "start": days_ago(200).isoformat(),
        "end": days_ago(50).isoformat(),
    }
    qtc = next(o for o in observations.values() if coding(o["code"]) == ((LOINC, "8636-3"),))
    assert qtc["valueQuantity"] == {"value": 452, "unit": "ms", "system": UCUM, "code": "ms"}


def test_what_is_exported_is_what_the_import_reads(personal_record):
    for factor, (_, _, _, applies, no_longer) in CODED_FACTORS.items():
        assert FACTOR_ANSWERS[factor][applies[:2]] is True and FACTOR_ANSWERS[factor][no_longer[:2]] is False
    bundle = json.dumps(patient_bundle(personal_record))
    data = fhir_read([("record.json", bundle)], today=factories.today())
    assert data.problems == []
    [read] = {id(p): p for p in data.patients.values()}.values()
    assert sorted((g.gene, g.phenotype, g.allele, g.result) for g in read.gene_results) == [
        ("CYP2C19", "poor metabolizer", "", ""), ("HLA-A", "", "*31:01", "negative"),
        ("HLA-B", "", "*57:01", "positive"), ("SLCO1B1", "decreased function", "", ""),
    ]  # fmt: skip
    assert sorted((f.factor, f.applies, f.on, f.detail) for f in read.factors) == [
        ("alcohol", True, days_ago(30), "a beer or two most evenings"), ("caffeine", True, days_ago(10), ""),
        ("grapefruit", True, days_ago(30), "half a grapefruit with breakfast"), ("licorice", False, days_ago(50), ""),
        ("pregnant", True, days_ago(20), "due 03/2027"), ("smoking", False, days_ago(100), ""),
    ]  # fmt: skip


def test_no_known_allergies_is_said_the_us_core_way(org, pharmacist):
    patient = factories.make_patient(org, no_known_allergies=True)
    [allergy] = resources(patient_bundle(patient))["AllergyIntolerance"]
    assert allergy["code"]["coding"][0] == {
        "system": SNOMED,
        "code": "716186003",
        "display": "No known allergy (situation)",
    }


def test_round_trip_into_another_organisation_keeps_everything_once(
    personal_record, other_org, other_pharmacist
):
    full_record = personal_record
    bundle = json.dumps(patient_bundle(full_record)).encode()

    def import_once():
        job = fhir_import_request(user=other_pharmacist, files=[("record.json", bundle)], source_system="Riverside",
                                  by=Actor(other_pharmacist), queue=False)  # fmt: skip
        job = import_plan(job)
        assert job.report["problems"] == []
        return import_lines_apply(job=job, line_ids=None, by=Actor(other_pharmacist))

    assert import_once()["refused"] == 0
    assert import_once()["applied"] == 0  # the same export again: nothing to write
    copy = Patient.objects.get(organisation=other_org)
    assert (copy.first_name, copy.last_name, copy.date_of_birth) == (
        full_record.first_name, full_record.last_name, full_record.date_of_birth)  # fmt: skip

    def meds(patient):
        return sorted((m.display_name, m.directions, m.status, m.source) for m in patient.medications.all())

    assert meds(copy) == meds(full_record)
    assert copy.medications.get(status=MedicationStatus.STOPPED).stop_reason == "bleeding risk"
    assert [(a.substance, a.reaction, a.severity) for a in copy.allergies.all()] == [
        ("penicillin", "hives", "severe")
    ]
    assert [c.icd10_code for c in copy.conditions.all()] == ["I10"]
    assert sorted((m.kind, m.value, m.diastolic) for m in copy.measurements.all()) == sorted(
        (m.kind, m.value, m.diastolic) for m in full_record.measurements.all())  # fmt: skip
    assert [(f.drug_name, f.days_supply) for f in copy.fills.all()] == [("lisinopril 10 mg", 30)]
    assert (
        copy.medications.get(name="lisinopril 10 mg").prescriber.organisation == other_org
    )  # added to their directory
    assert active_gene_results(copy) == active_gene_results(full_record) == [
        "CYP2C19 poor metabolizer", "HLA-A*31:01 negative", "HLA-B*57:01 positive", "SLCO1B1 decreased function",
    ]  # fmt: skip
    assert active_factors(copy) == active_factors(full_record)
    assert [f for f, _, _ in active_factors(copy)] == ["alcohol", "caffeine", "grapefruit", "pregnant"]
    pregnant = copy.factors.get(factor="pregnant")
    assert (pregnant.source_system, pregnant.source_record) == (
        "Riverside", f"Observation/{full_record.factors.get(factor='pregnant').pk}")  # fmt: skip
    assert not copy.factors.filter(status=FactorStatus.ENDED).exists()  # what ended is not history to import


def active_gene_results(patient) -> list[str]:
    return sorted(str(r) for r in patient.gene_results.filter(status=GeneResultStatus.ACTIVE))


def active_factors(patient) -> list[tuple]:
    return sorted(
        (f.factor, f.detail, f.noted_on) for f in patient.factors.filter(status=FactorStatus.ACTIVE)
    )


def test_downloads_are_scoped_and_audited(
    full_record, pharmacist_client, other_pharmacist, patient_user, org
):
    url = reverse("patient_record_fhir", args=[full_record.pk])
    response = pharmacist_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/fhir+json"
    assert response["Content-Disposition"].startswith('attachment; filename="fhir-record-')
    assert json.loads(response.content)["type"] == "collection"
    assert AuditEvent.objects.filter(
        patient_id=full_record.pk, changes__export__1__startswith="FHIR record"
    ).exists()
    assert client_for(other_pharmacist).get(url).status_code == 404
    api = APIClient()
    api.force_authenticate(other_pharmacist)
    assert api.get(f"/api/v1/patients/{full_record.pk}/fhir/").status_code == 404
    # The patient's own right of access: their record only, from the portal.
    portal = client_for(patient_user)
    own = portal.get(reverse("portal_record_fhir"))
    assert own.status_code == 200 and resources(json.loads(own.content))["Patient"][0]["id"] == str(
        patient_user.patient_record.pk
    )
    assert portal.get(url).status_code == 403


def test_the_api_answers_the_bundle(full_record, pharmacist):
    api = APIClient()
    api.force_authenticate(pharmacist)
    response = api.get(f"/api/v1/patients/{full_record.pk}/fhir/")
    assert response.status_code == 200 and response["Content-Type"] == "application/fhir+json"
    assert len(json.loads(response.content)["entry"]) == len(patient_bundle(full_record)["entry"])


@pytest.mark.django_db
def test_every_demo_patient_round_trips_into_the_other_demo_organisation(demo_data):
    from mtm.models import User

    importer = User.objects.get(username="other-pharmacist")
    for original in Patient.objects.filter(organisation__slug="riverside"):
        bundle = json.dumps(patient_bundle(original)).encode()
        job = import_plan(fhir_import_request(user=importer, files=[("record.json", bundle)],
                                              source_system="Riverside", by=Actor(importer), queue=False))  # fmt: skip
        assert job.report["problems"] == [], (original, job.report["problems"])
        result = import_lines_apply(job=job, line_ids=None, by=Actor(importer))
        assert result["refused"] == 0, result["reasons"]
        copy = job.patients.get().patient
        assert copy.organisation == importer.organisation
        for related in ("medications", "allergies", "conditions", "measurements", "fills"):
            assert getattr(copy, related).count() == getattr(original, related).count(), (original, related)
        assert active_gene_results(copy) == active_gene_results(original), original
        assert active_factors(copy) == active_factors(original), original
        if original.last_name == "Kowalski":
            assert active_gene_results(copy) == ["CYP2C19 poor metabolizer"]
        if original.last_name == "Jensen":
            assert [(f, d) for f, d, _ in active_factors(copy)] == [
                ("alcohol", "a beer or two most evenings"), ("grapefruit", "half a grapefruit with breakfast most days")]  # fmt: skip
        assert sorted(m.display_name for m in copy.medications.all()) == sorted(
            m.display_name for m in original.medications.all()
        )
