"""Reads of patient data. Every query starts from `patients_visible_to` or `prescribers_visible_to`,
which scope to the user's organisation through mtm.scoping."""

import datetime
import re
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404

from interactions.engine.patient import ckd_stage, gfr_category
from interactions.selectors import screening_run
from mtm.models import AuditEvent
from mtm.scoping import scope_to_organisation
from patients.models import (
    Allergy,
    AllergyKind,
    AllergyStatus,
    CareTeamMember,
    Condition,
    ConditionStatus,
    Factor,
    FactorStatus,
    GeneResult,
    GeneResultStatus,
    Measurement,
    MeasurementKind,
    MedicationEntry,
    MedicationStatus,
    Patient,
    PatientFactor,
    PharmacyFill,
    Prescriber,
    Sex,
)

RECENT_FILLS_SHOWN = 60
RECENT_CHANGES_SHOWN = 8


def patients_visible_to(user) -> QuerySet[Patient]:
    return scope_to_organisation(Patient.objects.all(), user)


def prescribers_visible_to(user) -> QuerySet[Prescriber]:
    return scope_to_organisation(Prescriber.objects.all(), user)


def patient_get(*, user, patient_id) -> Patient:
    """The patient, or 404 when it does not exist or belongs to another organisation."""
    return get_object_or_404(patients_visible_to(user), pk=patient_id)


def prescriber_get(*, user, prescriber_id) -> Prescriber:
    return get_object_or_404(prescribers_visible_to(user), pk=prescriber_id)


def patient_registered(*, user, data: dict) -> Patient:
    """The patient of this name and birth date registered last in the user's organisation."""
    return (
        patients_visible_to(user)
        .filter(
            first_name=data["first_name"], last_name=data["last_name"], date_of_birth=data["date_of_birth"]
        )
        .latest("created_at")
    )


def record_get(*, patient: Patient, model, record_id):
    """An item of a (already scoped) patient's record, or 404."""
    return get_object_or_404(model.objects.filter(patient=patient), pk=record_id)


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")


def parse_search_date(text: str) -> datetime.date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def patient_search(*, user, query: str) -> QuerySet[Patient]:
    """Patients whose names start with every word typed, or who were born on the date typed.

    "smi jo" finds John Smith; "03/14/1948" or "1948-03-14" finds birth dates.
    """
    patients = patients_visible_to(user)
    for token in re.split(r"[\s,]+", query.strip()):
        if not token:
            continue
        born = parse_search_date(token)
        if born:
            patients = patients.filter(date_of_birth=born)
        else:
            word = token.lower()
            patients = patients.filter(
                Q(last_name_lower__startswith=word) | Q(first_name_lower__startswith=word)
            )
    return patients.order_by("last_name_lower", "first_name_lower", "date_of_birth")


@dataclass
class PatientRecord:
    """Everything the patient page shows, loaded with a fixed number of queries."""

    patient: Patient
    active_medications: list[MedicationEntry]
    stopped_medications: list[MedicationEntry]
    allergies: list[Allergy]
    conditions: list[Condition]
    care_team: list[CareTeamMember]
    measurements: list[Measurement]
    latest_measurements: dict[str, Measurement]
    fills: list[PharmacyFill]
    fill_count: int
    recent_changes: list[AuditEvent]
    gene_results: list[GeneResult]
    factors: list[PatientFactor]

    @property
    def active_allergies(self) -> list[Allergy]:
        return [a for a in self.allergies if a.status == AllergyStatus.ACTIVE]

    @property
    def active_conditions(self) -> list[Condition]:
        return [c for c in self.conditions if c.status == ConditionStatus.ACTIVE]

    @property
    def active_gene_results(self) -> list[GeneResult]:
        return [g for g in self.gene_results if g.status == GeneResultStatus.ACTIVE]

    @property
    def active_factors(self) -> list[PatientFactor]:
        return [f for f in self.factors if f.status == FactorStatus.ACTIVE]


def medications_of(patient: Patient) -> list[MedicationEntry]:
    return list(patient.medications.select_related("prescriber").order_by("status", Lower("name")))


def allergies_of(patient: Patient) -> list[Allergy]:
    return list(patient.allergies.order_by("status", Lower("substance")))


def conditions_of(patient: Patient) -> list[Condition]:
    return list(patient.conditions.order_by("status", "icd10_code"))


def gene_results_of(patient: Patient) -> list[GeneResult]:
    return list(patient.gene_results.order_by("status", "gene", "allele"))


def factors_of(patient: Patient) -> list[PatientFactor]:
    return list(patient.factors.order_by("status", "-noted_on", "factor"))


def care_team_of(patient: Patient) -> list[CareTeamMember]:
    return list(patient.care_team.select_related("prescriber"))


def measurements_of(patient: Patient) -> list[Measurement]:
    return list(patient.measurements.order_by("kind", "-measured_on", "-created_at"))


def latest_by_kind(measurements: list[Measurement]) -> dict[str, Measurement]:
    latest: dict[str, Measurement] = {}
    for measurement in measurements:  # newest first within a kind
        latest.setdefault(measurement.kind, measurement)
    return {kind: latest[kind] for kind in MeasurementKind.values if kind in latest}


def recent_fills_of(patient: Patient, limit: int = RECENT_FILLS_SHOWN) -> list[PharmacyFill]:
    # Sixty rows showing what a fill says (their medications are not read): only those columns.
    fills = patient.fills.only("patient_id", "drug_name", "fill_date", "days_supply", "quantity", "rx_number")
    return list(fills.order_by("-fill_date", "drug_name")[:limit])


def patient_changes(*, patient: Patient, limit: int | None = None) -> QuerySet[AuditEvent]:
    # `at` is never null, so NULLS LAST changes no order; it keeps PostgreSQL from walking the whole
    # table's `at` index backwards past every other patient's events (slower the busier the pharmacy):
    # it reads this patient's events by patient_id and sorts those.
    events = (
        AuditEvent.objects.filter(patient_id=patient.pk)
        .exclude(action="view")
        .select_related("actor")
        .order_by(F("at").desc(nulls_last=True), "-id")
    )
    return events[:limit] if limit else events


def patient_record(*, patient: Patient, history: bool = True) -> PatientRecord:
    """`history=False` leaves out the fills and recent changes (for screening and reviews)."""
    medications = medications_of(patient)
    measurements = measurements_of(patient)
    return PatientRecord(
        patient=patient,
        active_medications=[m for m in medications if m.status == MedicationStatus.ACTIVE],
        stopped_medications=[m for m in medications if m.status == MedicationStatus.STOPPED],
        allergies=allergies_of(patient),
        conditions=conditions_of(patient),
        care_team=care_team_of(patient),
        measurements=measurements,
        latest_measurements=latest_by_kind(measurements),
        fills=recent_fills_of(patient) if history else [],
        fill_count=patient.fills.count() if history else 0,
        recent_changes=list(patient_changes(patient=patient, limit=RECENT_CHANGES_SHOWN)) if history else [],
        gene_results=gene_results_of(patient),
        factors=factors_of(patient),
    )


def portal_patient(*, user) -> Patient:
    """The one patient record a patient user is linked to, or 404."""
    return get_object_or_404(Patient.objects.select_related("organisation"), portal_user=user)


# --- Screening --------------------------------------------------------------------------------


# Measurements the screening reads, by request field: the latest of each kind.
SCREENING_MEASUREMENTS = {
    "weight_kg": MeasurementKind.WEIGHT,
    "height_cm": MeasurementKind.HEIGHT,
    "serum_creatinine_mg_dl": MeasurementKind.SERUM_CREATININE,
    "egfr_ml_min_1_73m2": MeasurementKind.EGFR,
    "potassium_mmol_l": MeasurementKind.POTASSIUM,
    "qtc_ms": MeasurementKind.QTC,
}


def screening_request(record: PatientRecord, *, today: datetime.date) -> dict:
    """The screening contract's request for this patient, from their record as it stands."""
    patient = record.patient
    latest = record.latest_measurements
    facts: dict = {
        "age": patient.age_on(today),
        "allergies": [
            {
                "substance": a.substance,
                "reaction": a.reaction,
                "type": "allergy" if a.kind == AllergyKind.ALLERGY else "intolerance",
            }
            for a in record.active_allergies
        ],
        "conditions": [c.icd10_code for c in record.active_conditions if c.icd10_code],
    }
    if patient.sex in (Sex.FEMALE, Sex.MALE):
        facts["sex"] = patient.sex
    for field, kind in SCREENING_MEASUREMENTS.items():
        if kind in latest:
            facts[field] = float(latest[kind].value)
    facts.update(_personal_facts(record, today))
    medications = [
        {"name": m.name, "dose": " ".join(part for part in (m.strength_dose, m.directions) if part)}
        for m in record.active_medications
    ]
    return {"patient": facts, "medications": medications}


def _personal_facts(record: PatientRecord, today: datetime.date) -> dict:
    """Pregnancy (with its week, from the due date), breastfeeding (never for a male patient,
    whatever an older entry says), the other active factors as the screening's lifestyle words, and
    the active gene results."""
    active = {f.factor: f for f in record.active_factors}
    facts: dict = {}
    if record.patient.sex != Sex.MALE:
        facts["pregnant"] = Factor.PREGNANT in active
        facts["lactating"] = Factor.BREASTFEEDING in active
        weeks = active[Factor.PREGNANT].weeks_on(today) if Factor.PREGNANT in active else None
        if weeks is not None:
            facts["gestational_weeks"] = weeks
    lifestyle = sorted(set(active) - {Factor.PREGNANT, Factor.BREASTFEEDING})
    if lifestyle:
        facts["lifestyle"] = lifestyle
    genes = [
        {"gene": g.gene, "allele": g.allele, "result": g.result}
        if g.allele
        else {"gene": g.gene, "phenotype": g.phenotype}
        for g in record.active_gene_results
    ]
    if genes:
        facts["pharmacogenomics"] = genes
    return facts


@dataclass
class Screening:
    """Screening results for the patient page, grouped the way a pharmacist reads them."""

    response: dict
    weight: Measurement | None
    creatinine: Measurement | None

    @property
    def findings(self) -> list[dict]:
        return self.response["findings"]

    @property
    def counts(self) -> dict[str, int]:
        counts = {severity: 0 for severity in ("contraindicated", "major", "moderate", "minor")}
        for finding in self.findings:
            counts[finding["severity"]] += 1
        return counts

    @property
    def context(self) -> dict:
        return self.response["patient_context"]

    @property
    def unresolved(self) -> list[str]:
        return self.response["unresolved"]

    @property
    def partly_recognised(self) -> list[dict]:
        """[{input, ingredients: "acetaminophen", ignored_words}] for entries screened only in part."""
        return [
            {
                "input": entry["input"],
                "ingredients": " + ".join(i["name"] for i in entry["ingredients"]),
                "ignored_words": entry.get("ignored_words", ""),
            }
            for entry in self.response["resolved"]
            if entry.get("partly_recognised")
        ]

    @property
    def crcl_missing_text(self) -> str:
        """'a weight and a serum creatinine'"""
        words = {"age": "a date of birth", "sex": "the sex (female or male)", "weight_kg": "a weight",
                 "serum_creatinine_mg_dl": "a serum creatinine",
                 "adult_age": "an adult patient (Cockcroft-Gault is for 18 and over)"}  # fmt: skip
        missing = [words[item] for item in self.context.get("crcl_missing") or []]
        return " and ".join([", ".join(missing[:-1]), missing[-1]]) if len(missing) > 1 else "".join(missing)


def patient_screening(record: PatientRecord, *, today: datetime.date) -> Screening:
    latest = record.latest_measurements
    return Screening(
        response=screening_run(screening_request(record, today=today)),
        weight=latest.get(MeasurementKind.WEIGHT),
        creatinine=latest.get(MeasurementKind.SERUM_CREATININE),
    )


# --- The patient's clinical context, as a pharmacist glances at it during a review ------------------


@dataclass
class ClinicalContext:
    age: int
    sex: str
    weight: Measurement | None
    crcl_ml_min: float | None
    crcl_method: str  # e.g. "Cockcroft-Gault, actual body weight, 78 kg"
    crcl_missing: str  # what is missing to compute it: "a weight and a serum creatinine"
    egfr: int | None  # calculated from the latest serum creatinine (CKD-EPI 2021)
    gfr_category: str
    ckd_stage: str  # from a coded chronic kidney disease condition
    allergies: list[Allergy]
    conditions: list[Condition]
    labs: list[Measurement]  # latest of each kind other than weight and height
    gene_results: list[GeneResult]  # active: "CYP2C19 poor metabolizer", "HLA-B*57:01 positive"
    factors: list[PatientFactor]  # active: pregnancy and breastfeeding first, then habits


def clinical_context(record: PatientRecord, screening: Screening, *, today: datetime.date) -> ClinicalContext:
    """Age, sex, weight, kidney function (CrCl; eGFR and CKD stage when known), allergies with their
    reactions, conditions, the latest results, pharmacogenomic results and pregnancy, diet and habits:
    from what the page has loaded, no query."""
    patient = record.patient
    age = patient.age_on(today)
    context = screening.context
    latest = record.latest_measurements
    egfr = context.get("egfr_ml_min_1_73m2")  # measured, else CKD-EPI 2021 from the latest creatinine
    staged = ckd_stage([c.icd10_code.replace(".", "") for c in record.active_conditions])
    stage = staged[1][2] if staged else ""  # the most advanced coded stage: "stage 4 (eGFR 15 to 29)"
    method = ""
    if context.get("crcl_ml_min") is not None:
        method = "Cockcroft-Gault" + (f", {context['crcl_weight']}" if context.get("crcl_weight") else "")
    return ClinicalContext(
        age=age,
        sex=patient.get_sex_display(),
        weight=latest.get(MeasurementKind.WEIGHT),
        crcl_ml_min=context.get("crcl_ml_min"),
        crcl_method=method,
        crcl_missing=screening.crcl_missing_text,
        egfr=round(egfr) if egfr is not None else None,
        gfr_category=gfr_category(egfr) if egfr is not None else "",
        ckd_stage=stage,
        allergies=record.active_allergies,
        conditions=record.active_conditions,
        labs=[
            m for kind, m in latest.items() if kind not in (MeasurementKind.WEIGHT, MeasurementKind.HEIGHT)
        ],
        gene_results=record.active_gene_results,
        # As the screening weighs them: pregnancy and breastfeeding never for a male patient.
        factors=sorted(
            (f for f in record.active_factors if not (f.is_reproductive and patient.sex == Sex.MALE)),
            key=lambda f: (not f.is_reproductive, f.short_label),
        ),
    )
