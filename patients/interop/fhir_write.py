"""A patient's record as a FHIR R4 Bundle (type collection) following the US Core profiles.

Resources are built with the fhir.resources R4B models (validated as they are made) from the record
as MTM keeps it: Patient, the Practitioners the medications name, a MedicationRequest per
medication-list entry (what the patient reports taking, OTC products and supplements, as
`reportedBoolean` with intent "plan"; prescriptions with intent "order"), a MedicationDispense per
fill, AllergyIntolerance, Condition (problem list), Observation (vital signs, laboratory, QTc),
the active pharmacogenomic results (HL7 Genomics Reporting) and pregnancy, breastfeeding and habits
(US Core Pregnancy Status and Smoking Status, social-history Observations). Ids are MTM's;
references inside the bundle are `urn:uuid:` fullUrls. What this file exports,
patients/interop/fhir_read.py reads back: the round trip keeps every medication, allergy, condition,
observation, active gene result and active factor (tested).
"""

import datetime
import json
from decimal import Decimal

from django.utils import timezone
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition as FhirCondition
from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner

from patients.interop.fhir_read import (
    ALCOHOL_USE,
    BREASTFEEDING_STATUS,
    DRUG_METABOLISM,
    GENE_STUDIED,
    ICD10CM,
    LOINC,
    NDC,
    NPI,
    PHENOTYPE_ANSWERS,
    PREGNANCY_STATUS,
    RXNORM,
    SMOKING_STATUS,
    SNOMED,
    UCUM,
)
from patients.models import (
    HLA_GENES,
    AllergyKind,
    AllergySeverity,
    AllergyStatus,
    ConditionStatus,
    Factor,
    FactorStatus,
    GeneResultStatus,
    MeasurementKind,
    MedicationSource,
    MedicationStatus,
    Patient,
    Sex,
)

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
PROFILES = {
    "Patient": "us-core-patient", "Practitioner": "us-core-practitioner",
    "MedicationRequest": "us-core-medicationrequest", "MedicationDispense": "us-core-medicationdispense",
    "AllergyIntolerance": "us-core-allergyintolerance", "Condition": "us-core-condition-problems-health-concerns",
}  # fmt: skip
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"

# What each measurement is in LOINC and UCUM, and its US Core profile.
OBSERVATIONS = {
    MeasurementKind.WEIGHT: ("29463-7", "Body weight", "kg", "vital-signs", "us-core-body-weight"),
    MeasurementKind.HEIGHT: ("8302-2", "Body height", "cm", "vital-signs", "us-core-body-height"),
    MeasurementKind.BLOOD_PRESSURE: ("85354-9", "Blood pressure panel", "mm[Hg]", "vital-signs", "us-core-blood-pressure"),
    MeasurementKind.SERUM_CREATININE: ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", "laboratory", "us-core-observation-lab"),
    MeasurementKind.A1C: ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "laboratory", "us-core-observation-lab"),
    MeasurementKind.EGFR: ("98979-8", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)", "mL/min/{1.73_m2}", "laboratory", "us-core-observation-lab"),
    MeasurementKind.POTASSIUM: ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", "laboratory", "us-core-observation-lab"),
    MeasurementKind.INR: ("6301-6", "INR in Platelet poor plasma by Coagulation assay", "{INR}", "laboratory", "us-core-observation-lab"),
    MeasurementKind.QTC: ("8636-3", "Q-T interval corrected", "ms", "procedure", "us-core-observation-clinical-result"),
}  # fmt: skip


def identifier_system(patient: Patient) -> str:
    """MTM's own identifier of a patient, per organisation (a URN: no address is implied)."""
    return f"urn:mtm:{patient.organisation.slug}:patient"


def patient_bundle(patient: Patient) -> dict:
    """The whole record, as JSON ready to send (`application/fhir+json`)."""
    entries = []

    def add(resource) -> str:
        url = f"urn:uuid:{resource.id}"
        entries.append({"fullUrl": url, "resource": resource})
        return url

    subject = {"reference": add(patient_resource(patient)), "display": patient.full_name}
    medications = list(patient.medications.select_related("prescriber"))
    practitioners = {}
    for entry in medications:
        if entry.prescriber_id and entry.prescriber_id not in practitioners:
            practitioners[entry.prescriber_id] = add(practitioner_resource(entry.prescriber))
    for entry in medications:
        add(medication_request_resource(entry, subject, practitioners.get(entry.prescriber_id)))
    for fill in patient.fills.all():
        add(_dispense(fill, subject))
    allergies = list(patient.allergies.all())
    for allergy in allergies:
        add(_allergy(allergy, subject))
    if patient.no_known_allergies and not allergies:
        add(_no_known_allergies(patient, subject))
    for condition in patient.conditions.all():
        add(_condition(condition, subject))
    for measurement in patient.measurements.all():
        add(_observation(measurement, subject))
    for result in patient.gene_results.filter(status=GeneResultStatus.ACTIVE):
        add(_gene_result(result, subject))
    for factor in patient.factors.all():
        add(_factor(factor, subject))
    bundle = Bundle(
        id=f"{patient.pk}-record", type="collection", timestamp=timezone.now().isoformat(timespec="seconds"),
        entry=entries,
    )  # fmt: skip
    return json.loads(bundle.model_dump_json(exclude_none=True))


def _meta(kind: str, record=None) -> dict:
    meta = {"profile": [US_CORE + PROFILES[kind]]}
    if record is not None and getattr(record, "updated_at", None):
        meta["lastUpdated"] = record.updated_at.isoformat(timespec="seconds")
    return meta


def _concept(system: str, code: str, display: str = "", text: str = "") -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], **({"text": text} if text else {})}


def patient_resource(patient: Patient) -> FhirPatient:
    identifiers = [{"use": "usual", "system": identifier_system(patient), "value": str(patient.pk)}]
    identifiers += [{"system": i.system, "value": i.value} for i in patient.identifiers.all()]
    if patient.member_id:
        identifiers.append({
            "type": _concept(TERMINOLOGY + "v2-0203", "MB", "Member Number"),
            "system": f"urn:mtm:{patient.organisation.slug}:plan-member", "value": patient.member_id,
        })  # fmt: skip
    telecom = [
        {"system": "phone", "value": str(p), "use": use}
        for p, use in ((patient.phone, "home"), (patient.mobile_phone, "mobile"))
        if p
    ]
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    address = [line for line in (patient.address_line1, patient.address_line2) if line]
    addresses = []
    if address or patient.city or patient.postal_code:
        addresses.append({
            "line": address or None, "city": patient.city or None, "state": patient.state or None,
            "postalCode": patient.postal_code or None, "country": "US",
        })  # fmt: skip
    return FhirPatient(
        id=str(patient.pk), meta=_meta("Patient", patient), identifier=identifiers,
        name=[{"use": "official", "family": patient.last_name, "given": [patient.first_name]}],
        gender={Sex.FEMALE: "female", Sex.MALE: "male"}.get(patient.sex, "other"),
        birthDate=patient.date_of_birth, telecom=telecom or None, address=addresses or None,
        communication=[{"language": _concept("urn:ietf:bcp:47", patient.preferred_language), "preferred": True}],
    )  # fmt: skip


def practitioner_resource(prescriber) -> Practitioner:
    return Practitioner(
        id=str(prescriber.pk), meta=_meta("Practitioner", prescriber),
        identifier=[{"system": NPI, "value": prescriber.npi}],
        name=[{"family": prescriber.last_name, "given": [prescriber.first_name],
               **({"suffix": [prescriber.credentials]} if prescriber.credentials else {})}],
    )  # fmt: skip


def _drug(name: str, ingredients: list[dict], extra: list[dict] | None = None) -> dict:
    """The drug as typed (text, always) with the RxNorm ingredient codes MTM recognised in it."""
    codings = [
        {"system": RXNORM, "code": i["rxcui"], "display": i["name"]} for i in ingredients if i.get("rxcui")
    ]
    return {"coding": (codings + (extra or [])) or None, "text": name}


def medication_request_resource(entry, subject: dict, practitioner: str | None) -> MedicationRequest:
    reported = entry.source != MedicationSource.PRESCRIPTION
    resource = {
        "id": str(entry.pk), "meta": _meta("MedicationRequest", entry),
        "status": "stopped" if entry.status == MedicationStatus.STOPPED else "active",
        "intent": "plan" if reported else "order",
        "category": [_concept(TERMINOLOGY + "medicationrequest-category", "community", "Community")],
        "medicationCodeableConcept": _drug(entry.display_name, entry.ingredients),
        "subject": subject,
        "authoredOn": entry.start_date or entry.patient.organisation.local_date(entry.created_at),
    }  # fmt: skip
    if reported:
        resource["reportedBoolean"] = True
    if practitioner:
        resource["requester"] = {"reference": practitioner, "display": str(entry.prescriber)}
    if entry.status == MedicationStatus.STOPPED and entry.stop_reason:
        resource["statusReason"] = {"text": entry.stop_reason}
    dosage = {"text": entry.directions} if entry.directions else {}
    if entry.indication:
        resource["reasonCode"] = [{"text": entry.indication}]
    if entry.start_date or entry.stop_date:
        dosage["timing"] = {"repeat": {"boundsPeriod": {"start": entry.start_date, "end": entry.stop_date}}}
    if dosage:
        resource["dosageInstruction"] = [dosage]
    if entry.notes or entry.stop_reason:
        resource["note"] = [{"text": text} for text in (entry.notes, entry.stop_reason) if text]
    return MedicationRequest(**resource)


def _dispense(fill, subject: dict) -> MedicationDispense:
    codings = []
    if getattr(fill, "rxcui", ""):
        codings.append({"system": RXNORM, "code": fill.rxcui})
    if getattr(fill, "ndc", ""):
        codings.append({"system": NDC, "code": fill.ndc})
    return MedicationDispense(
        id=str(fill.pk), meta=_meta("MedicationDispense", fill), status="completed",
        medicationCodeableConcept={"coding": codings or None, "text": fill.drug_name}, subject=subject,
        whenHandedOver=fill.fill_date.isoformat(), quantity={"value": fill.quantity},
        daysSupply={"value": fill.days_supply, "unit": "days", "system": UCUM, "code": "d"},
    )  # fmt: skip


SEVERITIES = {
    AllergySeverity.MILD: "mild",
    AllergySeverity.MODERATE: "moderate",
    AllergySeverity.SEVERE: "severe",
}


def _allergy(allergy, subject: dict) -> AllergyIntolerance:
    active = allergy.status == AllergyStatus.ACTIVE
    resource = {
        "id": str(allergy.pk), "meta": _meta("AllergyIntolerance", allergy),
        "clinicalStatus": _concept(TERMINOLOGY + "allergyintolerance-clinical", "active" if active else "inactive"),
        "verificationStatus": _concept(TERMINOLOGY + "allergyintolerance-verification", "confirmed"),
        "type": "intolerance" if allergy.kind != AllergyKind.ALLERGY else "allergy",
        "code": {"text": allergy.substance}, "patient": subject,
    }  # fmt: skip
    if allergy.noted_on:
        resource["recordedDate"] = allergy.noted_on.isoformat()
    if allergy.severity == AllergySeverity.SEVERE:
        resource["criticality"] = "high"
    if allergy.reaction:
        reaction = {"manifestation": [{"text": allergy.reaction}]}
        if allergy.severity in SEVERITIES:
            reaction["severity"] = SEVERITIES[allergy.severity]
        resource["reaction"] = [reaction]
    if not active and allergy.inactive_reason:
        resource["note"] = [{"text": allergy.inactive_reason}]
    return AllergyIntolerance(**resource)


def _no_known_allergies(patient: Patient, subject: dict) -> AllergyIntolerance:
    """US Core's way to say "no known allergies": a SNOMED CT code, confirmed."""
    return AllergyIntolerance(
        id=f"{patient.pk}-nka", meta=_meta("AllergyIntolerance"),
        clinicalStatus=_concept(TERMINOLOGY + "allergyintolerance-clinical", "active"),
        verificationStatus=_concept(TERMINOLOGY + "allergyintolerance-verification", "confirmed"),
        code=_concept(SNOMED, "716186003", "No known allergy (situation)"), patient=subject,
    )  # fmt: skip


def _condition(condition, subject: dict) -> FhirCondition:
    active = condition.status == ConditionStatus.ACTIVE
    codings = []
    if condition.icd10_code:
        codings.append({"system": ICD10CM, "code": condition.icd10_code, "display": condition.description})
    if condition.snomed_code:
        codings.append({"system": SNOMED, "code": condition.snomed_code, "display": condition.description})
    resource = {
        "id": str(condition.pk), "meta": _meta("Condition", condition),
        "clinicalStatus": _concept(TERMINOLOGY + "condition-clinical", "active" if active else "resolved"),
        "verificationStatus": _concept(TERMINOLOGY + "condition-ver-status", "confirmed"),
        "category": [_concept(TERMINOLOGY + "condition-category", "problem-list-item", "Problem List Item")],
        "code": {"coding": codings, "text": condition.description}, "subject": subject,
        "recordedDate": condition.created_at.isoformat(timespec="seconds"),
    }  # fmt: skip
    if condition.onset_date:
        resource["onsetDateTime"] = condition.onset_date.isoformat()
    if condition.resolved_date:
        resource["abatementDateTime"] = condition.resolved_date.isoformat()
    if condition.notes:
        resource["note"] = [{"text": condition.notes}]
    return FhirCondition(**resource)


def _quantity(value: Decimal, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _observation(measurement, subject: dict) -> Observation:
    loinc, display, unit, category, profile = OBSERVATIONS[MeasurementKind(measurement.kind)]
    resource = {
        "id": str(measurement.pk), "meta": {"profile": [US_CORE + profile]}, "status": "final",
        "category": [_concept(TERMINOLOGY + "observation-category", category)],
        "code": _concept(LOINC, loinc, display), "subject": subject,
        "effectiveDateTime": measurement.measured_on.isoformat(),
    }  # fmt: skip
    if measurement.kind == MeasurementKind.BLOOD_PRESSURE:
        resource["component"] = [
            {"code": _concept(LOINC, "8480-6", "Systolic blood pressure"), "valueQuantity": _quantity(measurement.value, unit)},
            {"code": _concept(LOINC, "8462-4", "Diastolic blood pressure"), "valueQuantity": _quantity(measurement.diastolic, unit)},
        ]  # fmt: skip
    else:
        resource["valueQuantity"] = _quantity(measurement.value, unit)
    if measurement.note:
        resource["note"] = [{"text": measurement.note}]
    return Observation(**resource)


# --- Pharmacogenomic results: the shapes patients/interop/fhir_read.py reads -----------------------

HGNC = "http://www.genenames.org/geneId"
# HGNC ids of the genes the screening reads (from CPIC's own gene table, cpicpgx/cpic-data).
HGNC_IDS = {
    "CYP2B6": "HGNC:2615", "CYP2C19": "HGNC:2621", "CYP2C9": "HGNC:2623", "CYP2D6": "HGNC:2625",
    "CYP3A5": "HGNC:2638", "CYP4F2": "HGNC:2645", "VKORC1": "HGNC:23663", "SLCO1B1": "HGNC:10959",
    "TPMT": "HGNC:12014", "NUDT15": "HGNC:23063", "DPYD": "HGNC:1806", "UGT1A1": "HGNC:12530",
    "HLA-A": "HGNC:4931", "HLA-B": "HGNC:4932", "G6PD": "HGNC:4057", "IFNL3": "HGNC:18365",
    "RYR1": "HGNC:10483", "CACNA1S": "HGNC:1397", "ABCG2": "HGNC:74", "MT-RNR1": "HGNC:7470",
}  # fmt: skip
# The LOINC answer of a phenotype, where there is one (the metabolizer statuses).
PHENOTYPE_CODES = {words: code for code, words in PHENOTYPE_ANSWERS.items()}
VARIANT_ASSESSMENT = "69548-6"  # Genetic variant assessment: present or absent
PRESENT, ABSENT = (LOINC, "LA9633-4", "Present"), (LOINC, "LA9634-2", "Absent")
INTERPRETATION = TERMINOLOGY + "v3-ObservationInterpretation"
POSITIVE, NEGATIVE = (INTERPRETATION, "POS", "Positive"), (INTERPRETATION, "NEG", "Negative")


def _gene_result(result, subject: dict) -> Observation:
    """A phenotype: LOINC 53040-2 (the genetic variation's effect on drug metabolism) whose value is
    CPIC's words, with the gene studied (48018-6) as a component. An HLA allele: a genetic variant
    assessment (69548-6) of "HLA-B*57:01" whose value is Present or Absent, the same as an
    interpretation (POS, NEG), with the gene studied; the value itself says whether it is carried,
    so that a reader ignoring the interpretation cannot take a negative for a carrier."""
    gene = {"code": _concept(LOINC, GENE_STUDIED, "Gene studied [ID]"),
            "valueCodeableConcept": {**_concept(HGNC, HGNC_IDS[result.gene], result.gene), "text": result.gene}}  # fmt: skip
    resource = {
        "id": str(result.pk), "meta": {"lastUpdated": result.updated_at.isoformat(timespec="seconds")},
        "status": "final", "category": [_concept(TERMINOLOGY + "observation-category", "laboratory")],
        "subject": subject, "component": [gene],
    }  # fmt: skip
    if result.gene in HLA_GENES:
        carried = result.result == "positive"
        value = PRESENT if carried else ABSENT
        resource["code"] = {**_concept(LOINC, VARIANT_ASSESSMENT, "Genetic variant assessment"),
                            "text": f"{result.gene}{result.allele}"}  # fmt: skip
        resource["valueCodeableConcept"] = _concept(*value, text=value[2])
        resource["interpretation"] = [_concept(*(POSITIVE if carried else NEGATIVE))]
    else:
        resource["code"] = _concept(LOINC, DRUG_METABOLISM, "Genetic variation's effect on drug metabolism")
        answer = PHENOTYPE_CODES.get(result.phenotype)
        resource["valueCodeableConcept"] = (
            _concept(LOINC, answer, text=result.phenotype) if answer else {"text": result.phenotype}
        )
    if result.tested_on:
        resource["effectiveDateTime"] = result.tested_on.isoformat()
    if result.lab:
        resource["performer"] = [{"display": result.lab}]
    if result.notes:
        resource["note"] = [{"text": result.notes}]
    return Observation(**resource)


# --- Pregnancy, breastfeeding and habits ---------------------------------------------------------

SOCIAL_HISTORY = _concept(TERMINOLOGY + "observation-category", "social-history", "Social History")
# The factors with a standard code: (LOINC code, display, US Core profile, the answer while it
# applies, the answer once it no longer does).
CODED_FACTORS = {
    Factor.PREGNANT: (PREGNANCY_STATUS, "Pregnancy status", "us-core-observation-pregnancystatus",
                      (SNOMED, "77386006", "Pregnant"), (SNOMED, "60001007", "Not pregnant")),
    Factor.BREASTFEEDING: (BREASTFEEDING_STATUS, "Breastfeeding status", "us-core-simple-observation",
                           (LOINC, "LA29252-6", "Currently breastfeeding"),
                           (LOINC, "LA29253-4", "Not currently breastfeeding")),
    Factor.SMOKING: (SMOKING_STATUS, "Tobacco smoking status", "us-core-smokingstatus",
                     (SNOMED, "77176002", "Smoker"), (SNOMED, "8517006", "Ex-smoker")),
    Factor.ALCOHOL: (ALCOHOL_USE, "History of alcohol use", "us-core-simple-observation",
                     (SNOMED, "219006", "Current drinker of alcohol"), (SNOMED, "82581004", "Former drinker")),
}  # fmt: skip


def _factor(factor, subject: dict) -> Observation:
    """Pregnancy, breastfeeding, smoking and alcohol as a coded status on a date: "Pregnant" (a
    smoker, a drinker) since it was noted or, once ended, "Not pregnant" (an ex-smoker, a former
    drinker) since it ended. The detail ("a beer or two most evenings") is the note."""
    ended = factor.status == FactorStatus.ENDED
    resource = {
        "id": str(factor.pk), "meta": {"lastUpdated": factor.updated_at.isoformat(timespec="seconds")},
        "status": "final", "category": [SOCIAL_HISTORY], "subject": subject,
    }  # fmt: skip
    if factor.factor in CODED_FACTORS:
        code, display, profile, applies, no_longer = CODED_FACTORS[factor.factor]
        system, answer, answer_display = no_longer if ended else applies
        resource["meta"]["profile"] = [US_CORE + profile]
        resource["code"] = _concept(LOINC, code, display, text=display)
        resource["effectiveDateTime"] = (factor.ended_on if ended else factor.noted_on).isoformat()
        resource["valueCodeableConcept"] = _concept(system, answer, answer_display, text=answer_display)
    else:
        # Diet (grapefruit, vitamin K, tyramine, dairy, caffeine, potassium, licorice): no LOINC or
        # SNOMED CT code says "eats grapefruit", so the code is the factor's words alone (which
        # patients/interop/fhir_read.py reads back) and the period is from noted to ended.
        resource["meta"]["profile"] = [US_CORE + "us-core-simple-observation"]
        resource["code"] = {"text": factor.get_factor_display()}
        resource["effectivePeriod"] = {"start": factor.noted_on.isoformat()}
        if ended:
            resource["effectivePeriod"]["end"] = factor.ended_on.isoformat()
        resource["valueBoolean"] = True
    if factor.detail and not (ended and factor.factor in CODED_FACTORS):  # not a note on "Ex-smoker"
        resource["note"] = [{"text": factor.detail}]
    return Observation(**resource)


def bundle_filename(patient: Patient, day: datetime.date) -> str:
    return f"fhir-record-{patient.last_name.lower()}-{patient.first_name.lower()}-{day:%Y%m%d}.json".replace(
        " ", "-"
    )
