"""Every change to a patient's record goes through these functions: pages, API, CLI and tasks alike.

Each one validates the whole record (model validators and `clean()`), saves inside a transaction,
refuses a save based on an outdated version, and writes the change to the audit trail.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from interactions.selectors import knowledge_base, medication_resolve
from mtm.audit import Actor, audit_record, diff, snapshot
from mtm.errors import EditConflict
from mtm.models import AuditAction, Organisation
from mtm.records import audited_fields, record_create, record_update
from patients.models import (
    MEASUREMENT_UNITS,
    Allergy,
    AllergyStatus,
    CareTeamMember,
    Condition,
    ConditionStatus,
    FactorStatus,
    GeneResult,
    GeneResultStatus,
    Measurement,
    MeasurementKind,
    MedicationEntry,
    MedicationStatus,
    Patient,
    PatientFactor,
    PatientIdentifier,
    PharmacyFill,
    Prescriber,
    normalise_hla_allele,
)
from patients.signals import REMINDER_CONTACT_FIELDS, reminder_contact_changed
from patients.validators import icd10cm_description, normalise_icd10cm, validate_icd10cm

# --- Patients ---------------------------------------------------------------------------------


@transaction.atomic
def patient_create(*, organisation: Organisation, data: dict[str, Any], by: Actor) -> Patient:
    return record_create(Patient(organisation=organisation, **data), by=by)


@transaction.atomic
def patient_update(*, patient: Patient, data: dict[str, Any], version: int, by: Actor) -> Patient:
    if data.get("no_known_allergies") and patient.allergies.filter(status=AllergyStatus.ACTIVE).exists():
        raise ValidationError(
            {
                "no_known_allergies": "This patient has active allergies recorded; mark those as no longer applying first."
            }
        )
    before = [getattr(patient, name) for name in REMINDER_CONTACT_FIELDS]
    patient = record_update(patient, data=data, version=version, by=by)
    if [getattr(patient, name) for name in REMINDER_CONTACT_FIELDS] != before:
        reminder_contact_changed.send(sender=Patient, patient=patient, by=by)
    return patient


# --- Identifiers other systems give the patient ----------------------------------------------------


@transaction.atomic
def patient_identifier_add(*, patient: Patient, system: str, value: str, by: Actor) -> PatientIdentifier:
    """Record a number another system knows the patient by; one patient per system and value."""
    system, value = " ".join((system or "").split()), (value or "").strip()
    holder = (
        PatientIdentifier.objects.filter(organisation_id=patient.organisation_id, system=system, value=value)
        .values_list("patient_id", flat=True)
        .first()
    )
    if holder is not None:
        whose = "This patient" if holder == patient.pk else "Another patient"
        raise ValidationError({"value": f"{whose} already has {system} {value}."})
    return record_create(
        PatientIdentifier(
            organisation_id=patient.organisation_id, patient=patient, system=system, value=value
        ),
        by=by,
    )


@transaction.atomic
def patient_identifier_update(
    *, identifier: PatientIdentifier, data: dict[str, Any], version: int, by: Actor
) -> PatientIdentifier:
    data = {key: " ".join(str(value).split()) for key, value in data.items()}
    system, value = data.get("system", identifier.system), data.get("value", identifier.value)
    clash = PatientIdentifier.objects.filter(
        organisation_id=identifier.organisation_id, system=system, value=value
    )
    if clash.exclude(pk=identifier.pk).exists():
        raise ValidationError({"value": f"Another patient already has {system} {value}."})
    return record_update(identifier, data=data, version=version, by=by)


@transaction.atomic
def patient_identifier_remove(*, identifier: PatientIdentifier, version: int, by: Actor) -> None:
    if identifier.version != version:
        raise EditConflict("identifier")
    audit_record(
        actor=by, action=AuditAction.STOP, patient_id=identifier.patient_id, obj=identifier,
        changes=diff(snapshot(identifier, audited_fields(PatientIdentifier)), {}),
    )  # fmt: skip
    identifier.delete()


# --- Prescribers and care team ------------------------------------------------------------------


@transaction.atomic
def prescriber_create(*, organisation: Organisation, data: dict[str, Any], by: Actor) -> Prescriber:
    npi = data.get("npi", "")
    existing = Prescriber.objects.filter(organisation=organisation, npi=npi).first()
    if existing:
        raise ValidationError(
            {"npi": f"{existing} already has NPI {npi} in your directory; choose them instead."}
        )
    return record_create(Prescriber(organisation=organisation, **data), by=by)


@transaction.atomic
def prescriber_update(*, prescriber: Prescriber, data: dict[str, Any], version: int, by: Actor) -> Prescriber:
    npi = data.get("npi", prescriber.npi)
    clash = Prescriber.objects.filter(organisation_id=prescriber.organisation_id, npi=npi).exclude(
        pk=prescriber.pk
    )
    if clash.exists():
        raise ValidationError({"npi": f"Another prescriber in your directory already has NPI {npi}."})
    return record_update(prescriber, data=data, version=version, by=by)


@transaction.atomic
def care_team_add(
    *,
    patient: Patient,
    prescriber: Prescriber | None = None,
    new_prescriber: dict[str, Any] | None = None,
    role: str = "",
    is_primary_care: bool = False,
    by: Actor,
) -> CareTeamMember:
    """Put a prescriber on the patient's care team; `new_prescriber` adds them to the directory first."""
    if new_prescriber:
        prescriber = prescriber_create(organisation=patient.organisation, data=new_prescriber, by=by)
    if prescriber is None:
        raise ValidationError({"prescriber": "Choose a prescriber."})
    if patient.care_team.filter(prescriber=prescriber).exists():
        raise ValidationError({"prescriber": f"{prescriber} is already on this patient's care team."})
    if is_primary_care:
        _clear_primary_care(patient=patient, by=by)
    member = CareTeamMember(
        patient=patient, prescriber=prescriber, role=role, is_primary_care=is_primary_care
    )
    return record_create(member, by=by)


@transaction.atomic
def care_team_update(
    *, member: CareTeamMember, data: dict[str, Any], version: int, by: Actor
) -> CareTeamMember:
    if data.get("is_primary_care") and not member.is_primary_care:
        _clear_primary_care(patient=member.patient, by=by)
    return record_update(member, data=data, version=version, by=by)


def _clear_primary_care(*, patient: Patient, by: Actor) -> None:
    for current in patient.care_team.filter(is_primary_care=True):
        record_update(current, data={"is_primary_care": False}, version=current.version, by=by)


@transaction.atomic
def care_team_remove(*, member: CareTeamMember, version: int, by: Actor) -> None:
    if member.version != version:
        raise EditConflict("care team member")
    audit_record(
        actor=by,
        action=AuditAction.STOP,
        patient_id=member.patient_id,
        obj=member,
        changes=diff(snapshot(member, audited_fields(CareTeamMember)), {}),
    )
    member.delete()


# --- Medication list ----------------------------------------------------------------------------


def _recognition(name: str) -> dict[str, Any]:
    """What the drug knowledge base makes of a medication name, as MedicationEntry fields."""
    resolution = medication_resolve(name)
    kb = knowledge_base()
    return {
        "ingredients": [{"rxcui": kb.ingredients[i].rxcui, "name": i} for i in resolution.ingredients],
        "recognised_as": resolution.matched if resolution.ingredients else "",
        "knowledge_base_version": kb.version,
    }


def medication_link(entry: MedicationEntry) -> bool:
    """Link the entry to the ingredients its name resolves to now. Derived data, not a change
    anyone made: neither versioned nor audited. Returns whether anything changed."""
    fields = _recognition(entry.name)
    if all(getattr(entry, key) == value for key, value in fields.items()):
        return False
    MedicationEntry.objects.filter(pk=entry.pk).update(**fields)
    for key, value in fields.items():
        setattr(entry, key, value)
    return True


@transaction.atomic
def medication_add(*, patient: Patient, data: dict[str, Any], by: Actor) -> MedicationEntry:
    entry = record_create(MedicationEntry(patient=patient, **data), by=by)
    medication_link(entry)
    return entry


@transaction.atomic
def medication_update(
    *, entry: MedicationEntry, data: dict[str, Any], version: int, by: Actor
) -> MedicationEntry:
    entry = record_update(entry, data=data, version=version, by=by)
    medication_link(entry)
    return entry


@transaction.atomic
def medication_stop(
    *, entry: MedicationEntry, on: datetime.date, reason: str, version: int, by: Actor
) -> MedicationEntry:
    if entry.status == MedicationStatus.STOPPED:
        raise ValidationError({"status": "This medication is already stopped."})
    return record_update(
        entry,
        data={"status": MedicationStatus.STOPPED, "stop_date": on, "stop_reason": reason},
        version=version,
        by=by,
        action=AuditAction.STOP,
    )


# --- Allergies ----------------------------------------------------------------------------------


@transaction.atomic
def allergy_add(*, patient: Patient, data: dict[str, Any], by: Actor) -> Allergy:
    allergy = record_create(Allergy(patient=patient, **data), by=by)
    if patient.no_known_allergies:
        record_update(patient, data={"no_known_allergies": False}, version=patient.version, by=by)
    return allergy


@transaction.atomic
def allergy_update(*, allergy: Allergy, data: dict[str, Any], version: int, by: Actor) -> Allergy:
    return record_update(allergy, data=data, version=version, by=by)


@transaction.atomic
def allergy_inactivate(*, allergy: Allergy, reason: str, version: int, by: Actor) -> Allergy:
    if allergy.status == AllergyStatus.INACTIVE:
        raise ValidationError({"status": "This allergy is already marked as no longer applying."})
    return record_update(
        allergy,
        data={"status": AllergyStatus.INACTIVE, "inactive_reason": reason},
        version=version,
        by=by,
        action=AuditAction.STOP,
    )


# --- Conditions ---------------------------------------------------------------------------------


def _condition_code(data: dict[str, Any], condition: Condition) -> dict[str, Any]:
    """Normalise the code, fill the official description, refuse a second active entry of one code."""
    if "icd10_code" not in data or (not data["icd10_code"] and data.get("snomed_code")):
        return data  # unchanged, or an imported condition known by its SNOMED CT code only
    code = normalise_icd10cm(data["icd10_code"])
    if not code:
        raise ValidationError({"icd10_code": "Enter the ICD-10-CM code."})
    description = icd10cm_description(code)
    if description is None:
        try:
            validate_icd10cm(code)
        except ValidationError as error:
            raise ValidationError({"icd10_code": error.messages}) from None
    duplicate = Condition.objects.filter(
        patient_id=condition.patient_id, icd10_code=code, status=ConditionStatus.ACTIVE
    )
    if condition.pk:
        duplicate = duplicate.exclude(pk=condition.pk)
    if duplicate.exists():
        raise ValidationError({"icd10_code": f"{code} is already on this patient's active problem list."})
    return {**data, "icd10_code": code, "description": description}


@transaction.atomic
def condition_add(*, patient: Patient, data: dict[str, Any], by: Actor) -> Condition:
    condition = Condition(patient=patient)
    data = _condition_code(data, condition)
    for name, value in data.items():
        setattr(condition, name, value)
    return record_create(condition, by=by)


@transaction.atomic
def condition_update(*, condition: Condition, data: dict[str, Any], version: int, by: Actor) -> Condition:
    return record_update(condition, data=_condition_code(data, condition), version=version, by=by)


@transaction.atomic
def condition_resolve(*, condition: Condition, on: datetime.date, version: int, by: Actor) -> Condition:
    if condition.status == ConditionStatus.RESOLVED:
        raise ValidationError({"status": "This condition is already resolved."})
    return record_update(
        condition,
        data={"status": ConditionStatus.RESOLVED, "resolved_date": on},
        version=version,
        by=by,
        action=AuditAction.STOP,
    )


# --- Pharmacogenomic results -------------------------------------------------------------------


def _gene_fields(data: dict[str, Any]) -> dict[str, Any]:
    if "allele" not in data:
        return data
    return {**data, "allele": normalise_hla_allele(data["allele"])}


@transaction.atomic
def gene_result_add(*, patient: Patient, data: dict[str, Any], by: Actor) -> GeneResult:
    return record_create(GeneResult(patient=patient, **_gene_fields(data)), by=by)


@transaction.atomic
def gene_result_update(*, result: GeneResult, data: dict[str, Any], version: int, by: Actor) -> GeneResult:
    return record_update(result, data=_gene_fields(data), version=version, by=by)


@transaction.atomic
def gene_result_entered_in_error(*, result: GeneResult, reason: str, version: int, by: Actor) -> GeneResult:
    """A result recorded by mistake (another patient's, a misread report): kept, no longer screened."""
    if result.status == GeneResultStatus.ENTERED_IN_ERROR:
        raise ValidationError({"status": "This result is already marked as entered in error."})
    return record_update(
        result,
        data={"status": GeneResultStatus.ENTERED_IN_ERROR, "error_reason": reason},
        version=version,
        by=by,
        action=AuditAction.STOP,
    )


# --- Pregnancy, breastfeeding and lifestyle -----------------------------------------------------


@transaction.atomic
def factor_add(*, patient: Patient, data: dict[str, Any], by: Actor) -> PatientFactor:
    return record_create(PatientFactor(patient=patient, **data), by=by)


@transaction.atomic
def factor_update(*, factor: PatientFactor, data: dict[str, Any], version: int, by: Actor) -> PatientFactor:
    return record_update(factor, data=data, version=version, by=by)


@transaction.atomic
def factor_end(*, factor: PatientFactor, on: datetime.date, version: int, by: Actor) -> PatientFactor:
    if factor.status == FactorStatus.ENDED:
        raise ValidationError({"status": "This is already marked as no longer applying."})
    return record_update(
        factor,
        data={"status": FactorStatus.ENDED, "ended_on": on},
        version=version,
        by=by,
        action=AuditAction.STOP,
    )


# --- Measurements -------------------------------------------------------------------------------

# Units accepted on entry, and the factor to the canonical unit.
UNIT_FACTORS: dict[str, dict[str, Decimal]] = {
    MeasurementKind.WEIGHT: {"kg": Decimal(1), "lb": Decimal("0.45359237")},
    MeasurementKind.HEIGHT: {"cm": Decimal(1), "in": Decimal("2.54")},
    MeasurementKind.SERUM_CREATININE: {"mg/dL": Decimal(1), "umol/L": Decimal(1) / Decimal("88.42")},
    MeasurementKind.BLOOD_PRESSURE: {"mmHg": Decimal(1)},
    MeasurementKind.A1C: {"%": Decimal(1)},
    MeasurementKind.EGFR: {"mL/min/1.73m²": Decimal(1)},
    MeasurementKind.POTASSIUM: {"mmol/L": Decimal(1), "mEq/L": Decimal(1)},
    MeasurementKind.INR: {"ratio": Decimal(1)},
    MeasurementKind.QTC: {"ms": Decimal(1)},
}


def measurement_unit_check(kind: str, unit: str | None) -> str:
    """The unit a value of this kind was entered in (its canonical unit when none is given);
    a unit of another kind ("lb" for a height) is refused."""
    factors = UNIT_FACTORS.get(kind)
    if factors is None:
        raise ValidationError({"kind": f"Unknown measurement {kind!r}."})
    unit = unit or MEASUREMENT_UNITS[MeasurementKind(kind)]
    if unit not in factors:
        raise ValidationError(
            {
                "unit": f"“{unit}” is not a unit of {MeasurementKind(kind).label.lower()}: "
                f"use {' or '.join(factors)}."
            }
        )
    return unit


def to_canonical_unit(kind: str, value: Decimal, unit: str | None) -> Decimal:
    unit = measurement_unit_check(kind, unit)
    return (Decimal(value) * UNIT_FACTORS[kind][unit]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@transaction.atomic
def measurement_record(
    *, patient: Patient, data: dict[str, Any], unit: str | None = None, by: Actor
) -> Measurement:
    data = dict(data)
    if data.get("value") is not None and data.get("kind"):
        data["value"] = to_canonical_unit(data["kind"], data["value"], unit)
    return record_create(Measurement(patient=patient, **data), by=by)


@transaction.atomic
def measurement_update(
    *, measurement: Measurement, data: dict[str, Any], version: int, unit: str | None = None, by: Actor
) -> Measurement:
    data = dict(data)
    if data.get("value") is not None:
        data["value"] = to_canonical_unit(data.get("kind", measurement.kind), data["value"], unit)
    return record_update(measurement, data=data, version=version, by=by)


# --- Pharmacy fills -----------------------------------------------------------------------------


@transaction.atomic
def fill_record(*, patient: Patient, data: dict[str, Any], by: Actor) -> PharmacyFill:
    return record_create(PharmacyFill(patient=patient, **data), by=by)


@transaction.atomic
def fill_update(*, fill: PharmacyFill, data: dict[str, Any], version: int, by: Actor) -> PharmacyFill:
    return record_update(fill, data=data, version=version, by=by)
