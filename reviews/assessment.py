"""The first draft of the pharmacist's assessment of a confirmed finding.

The screening says in general terms why a rule fired ("warfarin and ibuprofen are known to
interact"). The prescriber needs what it means for this patient: the consequence, then the facts of
the patient that bear on it (age, kidney function with how it was estimated, the latest results that
matter for the drugs involved, the doses taken). The draft is stored in the problem's `details`,
printed on the prescriber letter as the assessment, and the pharmacist edits it.
"""

import datetime
import re
from collections.abc import Iterable

from interactions.engine import KnowledgeBase
from interactions.selectors import knowledge_base, screening_run
from patients.models import Allergy, Condition, Measurement, MeasurementKind, MedicationEntry, Patient, Sex
from patients.selectors import PatientRecord, patient_record, screening_request

# Which results matter for a finding: those its own text is about (the rules are written in our
# words, reviewed, and name the consequence: "acute kidney injury", "higher blood pressure",
# "low blood sugar"), kidney function for every kidney-dosing finding, and the results that follow a
# condition a drug-disease finding names.
KIDNEY_WORDS = ("kidney", "renal", "creatinine", "egfr", "hyperkalemia", "potassium", "lactic acidosis")
BLOOD_PRESSURE_WORDS = ("blood pressure", "hypotension", "hypertension", "orthostatic", "faint")
GLUCOSE_WORDS = ("blood sugar", "blood glucose", "hypoglyc", "hyperglyc", "a1c", "diabet")
KIDNEY_DISEASE_CODES = ("N18", "N19", "I12", "I13", "E10.2", "E11.2")
HYPERTENSION_CODES = ("I10", "I11", "I12", "I13", "I15", "I16")
DIABETES_CODES = ("E08", "E09", "E10", "E11", "E13")


def _day(value: datetime.date) -> str:
    return value.strftime("%m/%d/%Y")


def _figure(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:g}"


def _person(patient: Patient, age: int) -> str:
    noun = {Sex.FEMALE: "woman", Sex.MALE: "man"}.get(patient.sex, "patient")
    return f"{age}-year-old {noun}"


def kidney_function_text(kidney: dict, latest: dict[str, Measurement]) -> str:
    """'creatinine clearance 52 mL/min (Cockcroft-Gault, actual body weight 77.9 kg, serum
    creatinine 1.2 mg/dL on 11/14/2026)', or what is missing to estimate it."""
    crcl = kidney.get("crcl_ml_min")
    creatinine = latest.get(MeasurementKind.SERUM_CREATININE)
    if crcl is None:
        missing = {"weight_kg": "a weight", "serum_creatinine_mg_dl": "a serum creatinine", "age": "a date of birth",
                   "sex": "the sex", "adult_age": "an adult (Cockcroft-Gault is for 18 and over)"}  # fmt: skip
        needed = [missing[item] for item in kidney.get("crcl_missing") or [] if item in missing]
        text = "creatinine clearance not estimated"
        if needed:
            text += " (needs " + " and ".join(needed) + ")"
        if kidney.get("egfr_ml_min_1_73m2") is not None:
            how = "measured" if kidney.get("egfr_method") == "measured" else "CKD-EPI 2021"
            text = f"eGFR {_figure(kidney['egfr_ml_min_1_73m2'])} mL/min/1.73 m² ({how}); {text}"
        elif kidney.get("ckd_stage"):
            text = f"{kidney['ckd_stage']}; {text}"
        if creatinine is not None:
            text += f"; serum creatinine {creatinine.display_value} on {_day(creatinine.measured_on)}"
        return text
    method = kidney.get("crcl_method") or ""
    method = {"cockcroft-gault": "Cockcroft-Gault"}.get(method, method)
    if kidney.get("crcl_weight"):  # "actual body weight 77.9 kg (height not recorded)"
        method += " with " + kidney["crcl_weight"]
    details = [method.strip()] if method.strip() else []
    if creatinine is not None:
        details.append(f"serum creatinine {creatinine.display_value} on {_day(creatinine.measured_on)}")
    text = f"creatinine clearance {_figure(crcl)} mL/min"
    return text + (f" ({', '.join(details)})" if details else "")


def _result(measurement: Measurement | None, name: str) -> str | None:
    if measurement is None:
        return None
    return f"{name} {measurement.display_value} on {_day(measurement.measured_on)}"


def _dose(medication: MedicationEntry) -> str:
    return medication.display_name + (f", {medication.directions}" if medication.directions else "")


def _codes(conditions: Iterable[Condition], prefixes: Iterable[str]) -> list[Condition]:
    """The conditions whose ICD-10-CM code starts with one of the prefixes (I50 finds I50.22)."""
    compact = tuple(prefix.replace(".", "") for prefix in prefixes)
    return [c for c in conditions if c.icd10_code.replace(".", "").startswith(compact)]


def assessment_draft(
    *,
    finding: dict,
    patient: Patient,
    today: datetime.date,
    kidney: dict,
    latest: dict[str, Measurement],
    medications: list[MedicationEntry],
    conditions: list[Condition],
    allergies: list[Allergy],
    kb: KnowledgeBase,
) -> str:
    """The consequence of the finding, then this patient's facts that matter for it. Pure: the
    caller loads the record (`kidney` is the screening's patient context)."""
    kind = finding.get("kind", "")
    rule = (
        next((r for r in kb.disease_rules if r.id == finding.get("rule")), None)
        if kind == "disease"
        else None
    )
    relevant_conditions = _codes(conditions, rule.conditions) if rule else []
    text = " ".join(finding.get(key) or "" for key in ("title", "effect", "management")).lower()

    def about(words: tuple[str, ...], codes: tuple[str, ...]) -> bool:
        return kind != "anticholinergic-burden" and (
            any(word in text for word in words) or bool(_codes(relevant_conditions, codes))
        )

    facts = [_person(patient, patient.age_on(today))]
    facts += [f"{c.description} ({c.icd10_code})" for c in relevant_conditions]
    if kind == "renal" or about(KIDNEY_WORDS, KIDNEY_DISEASE_CODES):
        facts.append(kidney_function_text(kidney, latest))
        threshold = (
            re.search(r"below ([\d.]+ mL/min(?:/1\.73 m²)?) for (.+)$", finding.get("why", ""))
            if kind == "renal"
            else None
        )
        if threshold:
            facts.append(f"below the {threshold[1]} threshold for {threshold[2]}")
    if about(BLOOD_PRESSURE_WORDS, HYPERTENSION_CODES):
        facts.append(_result(latest.get(MeasurementKind.BLOOD_PRESSURE), "blood pressure"))
    if about(GLUCOSE_WORDS, DIABETES_CODES):
        facts.append(_result(latest.get(MeasurementKind.A1C), "A1c"))
    if kind == "allergy":
        recorded = [f"{a.substance} ({a.reaction})" if a.reaction else a.substance for a in allergies]
        if recorded:
            facts.append("recorded allergies: " + ", ".join(recorded))
    if kind in (
        "anticholinergic-burden",
        "dose",
        "pharmacogenomic",
        "pregnancy",
        "lifestyle",
    ) and finding.get("why"):
        facts.append(finding["why"])  # the scores, the daily dose, the genotype, pregnancy, the habit

    lines = [finding.get("effect", "").strip()]
    lines.append(f"For {patient.first_name}: " + "; ".join(fact for fact in facts if fact) + ".")
    if medications:
        lines.append("Takes " + "; ".join(_dose(m) for m in medications) + ".")
    return "\n".join(line for line in lines if line)


def patient_kidney_function(record: PatientRecord, *, today: datetime.date) -> dict:
    """The screening's judgement of kidney function (`crcl_ml_min`, `crcl_method`, `crcl_weight`,
    or `crcl_missing`): the engine's own, so the letter and the findings never disagree. Screening
    the patient's facts without the list costs next to nothing."""
    request = screening_request(record, today=today)
    return screening_run({**request, "medications": []})["patient_context"]


def finding_assessment(*, patient: Patient, finding: dict, medications: list[MedicationEntry], today) -> str:
    """The draft for a finding confirmed today, from the patient's record as it stands."""
    record = patient_record(patient=patient, history=False)
    return assessment_draft(
        finding=finding,
        patient=patient,
        today=today,
        kidney=patient_kidney_function(record, today=today),
        latest=record.latest_measurements,
        medications=medications,
        conditions=record.active_conditions,
        allergies=record.active_allergies,
        kb=knowledge_base(),
    )
