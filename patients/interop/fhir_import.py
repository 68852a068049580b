"""Importing FHIR R4 data into patients' records, with a preview before anything is written.

1. `fhir_import_request` keeps the files and queues the reading (mtm/outbox.py): the worker reads
   them (patients/interop/fhir_read.py), finds each patient of the files in the organisation (the
   same identifier; else the same name and birth date, which the pharmacist confirms; else a new
   patient) and writes, per patient, the lines it proposes: medications to add, to change (name,
   sig, prescriber), no longer on the source's list; allergies and conditions new, changed or ended;
   measurements and fills not yet recorded; pharmacogenomic results new or changed (a phenotype in
   CPIC's words, an HLA allele positive or negative); pregnancy, breastfeeding and habits the source
   says apply, or no longer apply. Nothing in a record changes at this step.
2. The pharmacist accepts all lines or some (`import_lines_apply`), or declines them. Each
   patient's accepted lines are written in one transaction through the record's services (so they
   are validated and audited as typed ones are), with where they came from: the source named at
   the import and the resource (Type/id), which a later import of the same source recognises: the
   same data imported twice proposes nothing, a newer export proposes only what changed.

The CLI (`manage.py import_fhir`) and the API (`POST /api/v1/imports/`) use the same functions.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from interactions.selectors import medication_resolve, product_ingredients
from mtm.audit import Actor, audit_record
from mtm.models import AuditAction
from mtm.outbox import enqueue
from mtm.scoping import scope_to_organisation
from patients import services
from patients.interop import fhir_read as fhir
from patients.interop.fills import ingredients_of
from patients.models import (
    MEASUREMENT_RANGES,
    REPRODUCTIVE_FACTORS,
    AllergyStatus,
    ConditionStatus,
    Factor,
    FactorStatus,
    FhirImport,
    FhirImportFile,
    FhirImportLine,
    FhirImportPatient,
    GeneResultStatus,
    ImportStatus,
    LineAction,
    LineDecision,
    Measurement,
    MeasurementKind,
    MedicationSource,
    MedicationStatus,
    Patient,
    PatientIdentifier,
    PatientMatch,
    Prescriber,
    Sex,
)
from patients.signals import clinical_data_imported
from patients.validators import icd10cm_description, normalise_icd10cm, npi_check_digit_ok

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PROBLEMS_KEPT = 500  # in the report; their count is always exact


# --- Reading what there is -----------------------------------------------------------------------


def imports_visible_to(user):
    """The organisation's imports (they hold patients' data: scoped like the records)."""
    return scope_to_organisation(FhirImport.objects.select_related("requested_by", "target_patient"), user)


# --- Asking for an import -----------------------------------------------------------------------


def fhir_import_request(
    *,
    user,
    files: list[tuple[str, bytes]],
    source_system: str,
    by: Actor,
    target_patient: Patient | None = None,
    queue: bool = True,
) -> FhirImport:
    """Keep the files and queue their reading; the worker starts once the transaction commits
    (the CLI reads them itself: `queue=False`)."""
    source_system = source_system.strip()
    if not source_system:
        raise ValidationError({"source_system": "Name where the data comes from (e.g. the clinic's EHR)."})
    if not files:
        raise ValidationError({"files": "Choose at least one file (.json or .ndjson)."})
    for name, content in files:
        if not name.lower().endswith((".json", ".ndjson")):
            raise ValidationError(
                {"files": f"{name}: only .json (a Bundle or a resource) and .ndjson files are read."}
            )
        if len(content) > MAX_FILE_BYTES:
            raise ValidationError({"files": f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB."})
    with transaction.atomic():
        job = FhirImport.objects.create(
            organisation_id=user.organisation_id, requested_by=user, source_system=source_system[:200],
            target_patient=target_patient, file_names=[name for name, _ in files],
        )  # fmt: skip
        FhirImportFile.objects.bulk_create(FhirImportFile(job=job, name=n[:200], content=c) for n, c in files)
        audit_record(
            actor=by, action=AuditAction.CREATE, organisation_id=user.organisation_id, obj=job,
            patient_id=target_patient.pk if target_patient else None,
            changes={"import": ["", f"FHIR from {source_system}: {', '.join(n for n, _ in files)}"[:200]]},
        )  # fmt: skip
        if queue:
            enqueue(read_import, str(job.pk))
    return job


@shared_task(name="patients.interop.fhir_import.read_import")
def read_import(job_id: str) -> str:
    """The worker's side: read the files and write the lines to review."""
    job = FhirImport.objects.select_related("organisation").get(pk=job_id)
    if job.status not in (ImportStatus.QUEUED, ImportStatus.READING):
        return job.status
    FhirImport.objects.filter(pk=job.pk).update(status=ImportStatus.READING, files_read=0, resources_read=0)
    try:
        # Read outside the planning's transaction, so that the page polling sees how far it is.
        import_plan(job, data=_read(job, progress=True))
    except Exception:
        FhirImport.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, finished_at=timezone.now(),
            error="The files could not be read. Try again; if it fails again, tell your administrator.",
        )  # fmt: skip
        raise
    return ImportStatus.READY


# --- Reading and planning -----------------------------------------------------------------------------


@transaction.atomic
def import_plan(job: FhirImport, data: fhir.FhirData | None = None) -> FhirImport:
    """Read the job's files (unless `data` is what they hold), match their patients and write the
    lines to review (replacing any written by an earlier run of the same job)."""
    data = data or _read(job)
    job.patients.all().delete()
    problems = [{"where": p.where, "reason": p.reason} for p in data.problems]
    plans = _plans(job, data, problems)
    number = 0
    for plan in plans:
        import_patient = FhirImportPatient.objects.create(
            job=job, key=plan.data.key, patient=plan.patient, match=plan.match,
            confirmed=not _to_confirm(plan), name=_name(plan.data)[:200],
            birth_date=plan.data.birth_date, details=_details(plan.data),
        )  # fmt: skip
        lines = []
        for line in plan.lines:
            number += 1
            lines.append(
                FhirImportLine(job=job, import_patient=import_patient, number=number, **line.fields())
            )
        FhirImportLine.objects.bulk_create(lines)
    skipped = {}
    for (kind, why), count in data.skipped.items():
        skipped.setdefault(kind, []).append({"why": why, "count": count})
    job.report = {
        "read": dict(data.read), "skipped": skipped, "problems": problems[:MAX_PROBLEMS_KEPT],
        "problem_count": len(problems), "patients": len(plans), "lines": number,
    }  # fmt: skip
    job.status, job.finished_at, job.error = ImportStatus.READY, timezone.now(), ""
    job.save(update_fields=["report", "status", "finished_at", "error"])
    return job


def _read(job: FhirImport, *, progress: bool = False) -> fhir.FhirData:
    files = [(f.name, bytes(f.content)) for f in job.files.all()]

    def report(files_read: int, resources_read: int) -> None:
        FhirImport.objects.filter(pk=job.pk).update(files_read=files_read, resources_read=resources_read)

    return fhir.fhir_read(
        files, today=job.organisation.today(), for_one_patient=job.target_patient_id is not None,
        progress=report if progress else None,
    )  # fmt: skip


@dataclass
class Line:
    category: str
    action: str
    summary: str
    data: dict = field(default_factory=dict)
    changes: list = field(default_factory=list)
    target_id: str = ""

    def fields(self) -> dict:
        return {
            "category": self.category, "action": self.action, "summary": self.summary[:500],
            "data": self.data, "changes": self.changes, "target_id": self.target_id,
            "decision": LineDecision.APPLIED if self.action == LineAction.SAME else LineDecision.PENDING,
        }  # fmt: skip


@dataclass
class Plan:
    data: fhir.PatientData
    patient: Patient | None
    match: str
    lines: list[Line]


def _plans(job: FhirImport, data: fhir.FhirData, problems: list[dict]) -> list[Plan]:
    patients = list({id(p): p for p in data.patients.values()}.values())
    plans = []
    for patient_data in patients:
        patient, match = _match(job, patient_data, alone=len(patients) == 1)
        if patient is None and patient_data.birth_date is None:
            problems.append(
                {"where": patient_data.key, "reason": "a new patient needs a birth date; the file has none"}
            )
            continue
        lines = _lines(job, patient_data, patient, problems)
        plans.append(Plan(patient_data, patient, match, lines))
    return plans


def _to_confirm(plan: "Plan") -> bool:
    """A match on name and birth date alone, or a file whose patient is not the one the import was
    started from (another name or birth date): the pharmacist says whether it is the same person."""
    if plan.match == PatientMatch.NAME_BIRTH_DATE:
        return True
    if plan.match == PatientMatch.TARGET and plan.data.origin is not None:
        target = plan.patient
        return (plan.data.last_name.lower(), plan.data.birth_date) != (
            target.last_name.lower(),
            target.date_of_birth,
        )
    return False


def _match(job: FhirImport, data: fhir.PatientData, *, alone: bool) -> tuple[Patient | None, str]:
    """The patient these data are about: the one the import was started from; else the one with
    one of the same identifiers; else one with the same name and birth date (to confirm); else none."""
    patients = Patient.objects.filter(organisation_id=job.organisation_id)
    if job.target_patient_id and (alone or data.origin is None):
        return job.target_patient, PatientMatch.TARGET
    wanted = Q()
    for system, value in data.identifiers:
        wanted |= Q(system=system, value=value)
    if data.identifiers:
        found = (
            PatientIdentifier.objects.filter(wanted, organisation_id=job.organisation_id)
            .select_related("patient")
            .first()
        )
        if found is not None:
            return found.patient, PatientMatch.IDENTIFIER
    if data.last_name and data.birth_date:
        same = patients.filter(
            last_name_lower=data.last_name.lower(),
            first_name_lower=data.first_name.split(" ")[0].lower() if data.first_name else "",
            date_of_birth=data.birth_date,
        )[:2]
        if len(same) == 1:
            return same[0], PatientMatch.NAME_BIRTH_DATE
    return None, PatientMatch.NEW


def _name(data: fhir.PatientData) -> str:
    return f"{data.last_name}, {data.first_name}".strip(", ") or data.key


DETAIL_FIELDS = ("phone", "email", "address_line1", "address_line2", "city", "state", "postal_code")


def _details(data: fhir.PatientData) -> dict:
    return {
        "first_name": data.first_name, "last_name": data.last_name,
        "birth_date": data.birth_date.isoformat() if data.birth_date else None, "sex": data.sex,
        "language": data.language, "identifiers": [list(pair) for pair in data.identifiers],
        **{name: getattr(data, name) for name in DETAIL_FIELDS},
    }  # fmt: skip


def _valid_details(data: fhir.PatientData, problems: list[dict]) -> None:
    """Contact details the record would refuse are left out (and reported), not the patient."""
    for name in DETAIL_FIELDS:
        value = getattr(data, name)
        if not value:
            continue
        model_field = Patient._meta.get_field(name)
        try:
            setattr(data, name, str(model_field.clean(value[: model_field.max_length], None)))
        except ValidationError as error:
            reason = f"{model_field.verbose_name} left out: {' '.join(error.messages)}"
            problems.append({"where": data.key, "reason": reason})
            setattr(data, name, "")


def _lines(
    job: FhirImport, data: fhir.PatientData, patient: Patient | None, problems: list[dict]
) -> list[Line]:
    source = job.source_system
    _valid_details(data, problems)
    lines = [*_detail_lines(data, patient)]
    lines += _medication_lines(source, data, patient, job.organisation_id)
    lines += _allergy_lines(source, data, patient)
    lines += _condition_lines(source, data, patient, problems, job.organisation.today())
    lines += _measurement_lines(source, data, patient, problems)
    lines += _gene_lines(source, data, patient, problems)
    lines += _factor_lines(source, data, patient, problems)
    lines += _fill_lines(source, data, patient)
    return lines


def _origin(source: str, origin: fhir.Origin) -> dict:
    return {
        "source_system": source, "source_record": origin.resource[:200],
        "source_updated": origin.updated.isoformat() if origin.updated else None,
    }  # fmt: skip


def _date(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def _shown(value: datetime.date | None) -> str:
    return f"{value:%m/%d/%Y}" if value else "—"


def _detail_lines(data: fhir.PatientData, patient: Patient | None) -> list[Line]:
    if patient is None:
        return [Line("details", LineAction.ADD, f"New patient {_name(data)}, born {_shown(data.birth_date)}")]
    changes, values = [], {}
    for name in DETAIL_FIELDS:
        new, old = getattr(data, name), str(getattr(patient, name) or "")
        if new and new != old:
            changes.append([Patient._meta.get_field(name).verbose_name, old, new])
            values[name] = new
    if (
        data.no_known_allergies
        and not patient.no_known_allergies
        and not patient.allergies.filter(status=AllergyStatus.ACTIVE).exists()
    ):
        changes.append(["no known allergies", "not recorded", "confirmed by the source"])
        values["no_known_allergies"] = True
    if not changes:
        return []
    summary = "Change contact details: " + "; ".join(f"{label} {new}" for label, _, new in changes)
    return [Line("details", LineAction.CHANGE, summary, values, changes, str(patient.pk))]


def _ingredients(name: str, rxcuis: list[str], ndcs: list[str]) -> frozenset[str]:
    """What an imported drug is: its name as a typed medication resolves, else its codes through
    a local RxNorm release (none without one)."""
    return frozenset(medication_resolve(name).ingredients or product_ingredients(ndcs=ndcs, rxcuis=rxcuis))


def _medication_lines(
    source: str, data: fhir.PatientData, patient: Patient | None, organisation_id
) -> list[Line]:
    existing = list(patient.medications.all()) if patient else []
    by_source = {(e.source_system, e.source_record): e for e in existing if e.source_system}
    matched: set = set()
    lines, past = [], []
    prescribers = {p.npi: p for p in Prescriber.objects.filter(
        organisation_id=organisation_id, npi__in={m.prescriber_npi for m in data.medications if m.prescriber_npi}
    )}  # fmt: skip
    for item in data.medications:
        entry = by_source.get((source, item.origin.resource))
        if entry is None:
            wanted = _ingredients(item.name, item.rxcuis, item.ndcs)
            status = MedicationStatus.ACTIVE if item.active else MedicationStatus.STOPPED
            entry = next(
                (e for e in existing if e.pk not in matched and e.status == status and wanted
                 and frozenset(i["name"] for i in e.ingredients) == wanted),
                None,
            )  # fmt: skip
        prescriber = prescribers.get(item.prescriber_npi)
        values = {
            "name": item.name, "directions": item.directions[:300],
            "source": MedicationSource.OTC if item.reported else MedicationSource.PRESCRIPTION,
            "start_date": _date(item.start_date), "indication": item.indication, **_origin(source, item.origin),
        }  # fmt: skip
        who = ""
        if prescriber is not None:
            values["prescriber"] = str(prescriber.pk)
            who = f" ({prescriber})"
        elif item.prescriber_npi and npi_check_digit_ok(item.prescriber_npi):
            values["new_prescriber"] = {"npi": item.prescriber_npi, "name": item.prescriber_name}
            who = f" ({item.prescriber_name or 'prescriber'}, NPI {item.prescriber_npi}, added to the prescribers)"
        sig = f" — {item.directions}" if item.directions else ""
        if entry is None:
            if item.active:
                lines.append(Line("medication", LineAction.ADD, f"Add {item.name}{sig}{who}", values))
            else:
                stopped_on = (
                    item.stop_date
                    or (item.origin.updated.date() if item.origin.updated else None)
                    or item.start_date
                )
                reason = item.stop_reason or f"Stopped at {source}" + (
                    "" if item.stop_date else " (date not given: the last date known)"
                )
                past.append({**values, "status": MedicationStatus.STOPPED, "stop_date": _date(stopped_on),
                             "stop_reason": reason[:300]})  # fmt: skip
            continue
        matched.add(entry.pk)
        if entry.status == MedicationStatus.STOPPED and not item.active:
            lines.append(
                Line(
                    "medication",
                    LineAction.SAME,
                    f"{entry.display_name}: stopped, as recorded",
                    target_id=str(entry.pk),
                )
            )
            continue
        if not item.active:
            if entry.status == MedicationStatus.ACTIVE:
                stop = item.stop_date or None
                lines.append(Line(
                    "medication", LineAction.STOP, f"Stop {entry.display_name}: stopped at the source",
                    {"stop_date": _date(stop), **_origin(source, item.origin)}, target_id=str(entry.pk),
                ))  # fmt: skip
            continue
        changes = []
        if item.directions and item.directions != entry.directions:
            changes.append(["directions", entry.directions or "—", item.directions])
        if prescriber is not None and entry.prescriber_id != prescriber.pk:
            changes.append(["prescriber", str(entry.prescriber or "—"), str(prescriber)])
        if item.name != entry.name and entry.source_system == source:
            changes.append(["medication", entry.name, item.name])
        if changes:
            change = {"directions": item.directions[:300]} if item.directions else {}
            if prescriber is not None:
                change["prescriber"] = str(prescriber.pk)
            if entry.source_system == source:
                change["name"] = item.name
            described = "; ".join(f"{label}: {old} → {new}" for label, old, new in changes)
            lines.append(Line(
                "medication", LineAction.CHANGE, f"Change {entry.display_name}: {described}",
                {**change, **_origin(source, item.origin)}, changes, str(entry.pk),
            ))  # fmt: skip
        else:
            lines.append(
                Line(
                    "medication",
                    LineAction.SAME,
                    f"{entry.display_name}: as recorded",
                    target_id=str(entry.pk),
                )
            )
    if past:
        names = ", ".join(item["name"] for item in past[:5]) + (
            f" and {len(past) - 5} more" if len(past) > 5 else ""
        )
        lines.append(Line("medication", LineAction.ADD, f"Add {len(past)} past medication{'s' if len(past) > 1 else ''} (stopped at the source): {names}",
                          {"items": past}))  # fmt: skip
    for entry in existing:
        if (
            entry.source_system == source
            and entry.status == MedicationStatus.ACTIVE
            and entry.pk not in matched
        ):
            lines.append(Line(
                "medication", LineAction.STOP, f"Stop {entry.display_name}: no longer on {source}'s list",
                {"stop_date": None}, target_id=str(entry.pk),
            ))  # fmt: skip
    return lines


def _allergy_lines(source: str, data: fhir.PatientData, patient: Patient | None) -> list[Line]:
    existing = list(patient.allergies.all()) if patient else []
    by_source = {(a.source_system, a.source_record): a for a in existing if a.source_system}
    lines = []
    for item in data.allergies:
        allergy = by_source.get((source, item.origin.resource)) or next(
            (a for a in existing if a.substance.strip().lower() == item.substance.strip().lower()), None
        )
        values = {
            "substance": item.substance, "reaction": item.reaction, "severity": item.severity, "kind": item.kind,
            "noted_on": _date(item.noted_on), **_origin(source, item.origin),
        }  # fmt: skip
        if allergy is None:
            reaction = f" ({item.reaction})" if item.reaction else ""
            if item.active:
                summary = f"Add allergy: {item.substance}{reaction}"
            else:
                values.update(status=AllergyStatus.INACTIVE, inactive_reason=f"Inactive at {source}"[:200])
                summary = f"Add past allergy (inactive at the source): {item.substance}{reaction}"
            lines.append(Line("allergy", LineAction.ADD, summary, values))
            continue
        if not item.active:
            if allergy.status == AllergyStatus.ACTIVE:
                lines.append(Line("allergy", LineAction.STOP, f"{allergy.substance}: no longer applies at the source",
                                  _origin(source, item.origin), target_id=str(allergy.pk)))  # fmt: skip
            continue
        changes = [
            [label, getattr(allergy, name) or "—", value]
            for name, label, value in (
                ("reaction", "reaction", item.reaction),
                ("severity", "severity", item.severity),
            )
            if value and value != "unknown" and value != getattr(allergy, name)
        ]
        if changes:
            change = {
                name: values[name] for name in ("reaction", "severity") if any(c[0] == name for c in changes)
            }
            described = "; ".join(f"{label}: {old} → {new}" for label, old, new in changes)
            lines.append(Line("allergy", LineAction.CHANGE, f"Change allergy {allergy.substance}: {described}",
                              {**change, **_origin(source, item.origin)}, changes, str(allergy.pk)))  # fmt: skip
        else:
            lines.append(
                Line(
                    "allergy",
                    LineAction.SAME,
                    f"Allergy {allergy.substance}: as recorded",
                    target_id=str(allergy.pk),
                )
            )
    return lines


def _condition_lines(
    source: str, data: fhir.PatientData, patient: Patient | None, problems: list[dict], today: datetime.date
) -> list[Line]:
    existing = list(patient.conditions.all()) if patient else []
    by_source = {(c.source_system, c.source_record): c for c in existing if c.source_system}
    lines, seen, past = [], set(), []
    for item in data.conditions:
        icd = normalise_icd10cm(item.icd10_code) if item.icd10_code else ""
        if icd and icd10cm_description(icd) is None:
            problems.append(
                {
                    "where": item.origin.resource,
                    "reason": f"{item.icd10_code} is not an ICD-10-CM diagnosis code",
                }
            )
            continue
        snomed = item.code if item.system == fhir.SNOMED else ""
        key = icd or f"SNOMED {snomed}"
        condition = by_source.get((source, item.origin.resource)) or next(
            (c for c in existing if (icd and c.icd10_code == icd) or (snomed and c.snomed_code == snomed)),
            None,
        )
        label = f"{key} {icd10cm_description(icd) if icd else item.display}".strip()
        if condition is None:
            values = {
                "icd10_code": icd, "snomed_code": snomed, "description": item.display if not icd else "",
                "onset_date": _date(item.onset_date), **_origin(source, item.origin),
            }  # fmt: skip
            if key in seen:
                continue  # the same condition twice in the files (a recurrence): kept once
            seen.add(key)
            if item.active:
                lines.append(Line("condition", LineAction.ADD, f"Add condition {label}", values))
            else:
                updated = item.origin.updated.date() if item.origin.updated else None
                resolved = item.resolved_date or updated or item.onset_date or today
                past.append(
                    (label, {**values, "status": ConditionStatus.RESOLVED, "resolved_date": _date(resolved)})
                )
            continue
        if not item.active and condition.status == ConditionStatus.ACTIVE:
            lines.append(Line("condition", LineAction.STOP, f"Condition {label}: resolved at the source",
                              {"resolved_date": _date(item.resolved_date)}, target_id=str(condition.pk)))  # fmt: skip
        elif item.active or condition.status == ConditionStatus.RESOLVED:
            summary = f"Condition {label}: as recorded"
            lines.append(Line("condition", LineAction.SAME, summary, target_id=str(condition.pk)))
    if past:
        names = ", ".join(label for label, _ in past)
        summary = (
            f"Add {len(past)} past condition{'s' if len(past) > 1 else ''} (resolved at the source): {names}"
        )
        lines.append(Line("condition", LineAction.ADD, summary, {"items": [values for _, values in past]}))
    return lines


def _measurement_lines(
    source: str, data: fhir.PatientData, patient: Patient | None, problems: list[dict]
) -> list[Line]:
    existing = list(patient.measurements.all()) if patient else []
    recorded = {(m.kind, m.measured_on, m.value) for m in existing} | {
        (m.source_system, m.source_record) for m in existing
    }
    groups: dict[str, list[fhir.Observation]] = {}
    for item in data.observations:
        if (source, item.origin.resource) in recorded or (
            item.kind,
            item.measured_on,
            item.value,
        ) in recorded:
            continue
        low, high = MEASUREMENT_RANGES[MeasurementKind(item.kind)]
        if not low <= item.value <= high:
            problems.append(
                {
                    "where": item.origin.resource,
                    "reason": f"{item.value} is outside the possible range of {MeasurementKind(item.kind).label} ({low} to {high})",
                }
            )
            continue
        groups.setdefault(item.kind, []).append(item)
    lines = []
    for kind, items in groups.items():
        items.sort(key=lambda i: i.measured_on)
        latest = Measurement(kind=kind, value=items[-1].value, diastolic=items[-1].diastolic)
        label = MeasurementKind(kind).label
        count = f"{len(items)} {label} results" if len(items) > 1 else f"{label}"
        values = {"items": [
            {"value": str(i.value), "diastolic": str(i.diastolic) if i.diastolic is not None else None,
             "measured_on": i.measured_on.isoformat(), **_origin(source, i.origin)} for i in items
        ]}  # fmt: skip
        summary = f"Add {count}, the latest {latest.display_value} on {_shown(items[-1].measured_on)}"
        lines.append(Line("measurement", LineAction.ADD, summary, {"kind": kind, **values}))
    return lines


def _gene_lines(
    source: str, data: fhir.PatientData, patient: Patient | None, problems: list[dict]
) -> list[Line]:
    """One line per gene (per allele for HLA): new, changed (a newer result of the same test) or as
    recorded. Results the files give several times (a lab's implication per drug) count once; results
    that disagree with each other are reported, and none of them is proposed."""
    existing = list(patient.gene_results.filter(status=GeneResultStatus.ACTIVE)) if patient else []
    by_test: dict[tuple[str, str], list[fhir.GeneResult]] = {}
    for item in data.gene_results:
        by_test.setdefault((item.gene, item.allele), []).append(item)
    lines = []
    for (gene, allele), items in by_test.items():
        values = {(i.phenotype, i.result) for i in items}
        if len(values) > 1:
            said = ", ".join(sorted(p or r for p, r in values))
            problems.append({"where": ", ".join(i.origin.resource for i in items),
                             "reason": f"{gene}{allele}: the files disagree ({said}); none imported"})  # fmt: skip
            continue
        item = max(items, key=lambda i: i.tested_on or datetime.date.min)
        label = f"{gene}{allele} {item.result}" if allele else f"{gene} {item.phenotype}"
        tested = (
            f" (tested {_shown(item.tested_on)}{', ' + item.lab if item.lab else ''})"
            if item.tested_on
            else ""
        )
        fields = {"phenotype": item.phenotype, "result": item.result, "tested_on": _date(item.tested_on),
                  "lab": item.lab, **_origin(source, item.origin)}  # fmt: skip
        current = next((r for r in existing if (r.gene, r.allele) == (gene, allele)), None)
        if current is None:
            summary = f"Add pharmacogenomic result {label}{tested}"
            lines.append(Line("gene", LineAction.ADD, summary, {"gene": gene, "allele": allele, **fields}))
        elif (current.phenotype, current.result) == (item.phenotype, item.result):
            lines.append(Line("gene", LineAction.SAME, f"{current}: as recorded", target_id=str(current.pk)))
        else:
            before = current.phenotype or current.result
            after = item.phenotype or item.result
            lines.append(Line(
                "gene", LineAction.CHANGE, f"Change {gene}{allele}: {before} → {after}{tested}", fields,
                [["phenotype" if item.phenotype else "result", before, after]], str(current.pk),
            ))  # fmt: skip
    return lines


def _factor_lines(
    source: str, data: fhir.PatientData, patient: Patient | None, problems: list[dict]
) -> list[Line]:
    """Pregnancy, breastfeeding and habits: per factor, what the files say last (on the same day,
    that it applies). One that applies and is not recorded is added, noted on the date the source
    saw it; one the source says no longer applies (an ex-smoker, not pregnant, a period that ended)
    ends the same factor here if it was noted before. "Never smoked" proposes nothing."""
    existing = list(patient.factors.all()) if patient else []
    male = (patient.sex if patient else data.sex) == Sex.MALE
    latest: dict[str, fhir.PatientFactor] = {}
    for item in data.factors:
        if male and item.factor in REPRODUCTIVE_FACTORS:
            reason = f"{Factor(item.factor).label} for a patient recorded as male: not imported"
            problems.append({"where": item.origin.resource, "reason": reason})
            continue
        current = latest.get(item.factor)
        if current is None or (item.on, item.applies) > (current.on, current.applies):
            latest[item.factor] = item
    lines = []
    for factor, item in latest.items():
        label = Factor(factor).label
        active = next((f for f in existing if f.factor == factor and f.status == FactorStatus.ACTIVE), None)
        if not item.applies:
            if active is not None and active.noted_on <= item.on:
                lines.append(Line(
                    "factor", LineAction.STOP, f"{label}: no longer applies at the source (since {_shown(item.on)})",
                    {"ended_on": _date(item.on)}, target_id=str(active.pk),
                ))  # fmt: skip
            continue
        if active is not None:
            if item.detail and item.detail != active.detail and active.source_system == source:
                lines.append(Line(
                    "factor", LineAction.CHANGE, f"Change {label}: {active.detail or '—'} → {item.detail}",
                    {"detail": item.detail, **_origin(source, item.origin)},
                    [["detail", active.detail or "—", item.detail]], str(active.pk),
                ))  # fmt: skip
            else:
                lines.append(
                    Line("factor", LineAction.SAME, f"{label}: as recorded", target_id=str(active.pk))
                )
            continue
        ended = next(
            (f for f in existing if f.factor == factor and f.ended_on and f.ended_on >= item.on), None
        )
        if ended is not None:  # ended here after the source saw it: the record here is the newer
            summary = f"{label}: ended here on {_shown(ended.ended_on)}, after the source's {_shown(item.on)}"
            lines.append(Line("factor", LineAction.SAME, summary, target_id=str(ended.pk)))
            continue
        detail = f": {item.detail}" if item.detail else ""
        lines.append(Line(
            "factor", LineAction.ADD, f"Add to pregnancy, diet and habits: {label}{detail} (noted {_shown(item.on)})",
            {"factor": factor, "detail": item.detail, "noted_on": _date(item.on), **_origin(source, item.origin)},
        ))  # fmt: skip
    return lines


def _fill_lines(source: str, data: fhir.PatientData, patient: Patient | None) -> list[Line]:
    existing = list(patient.fills.all()) if patient else []
    recorded = {(f.drug_name.lower(), f.fill_date, f.quantity) for f in existing} | {
        (f.source_system, f.source_record) for f in existing
    }
    groups: dict[str, list[fhir.Fill]] = {}
    for item in data.fills:
        if (source, item.origin.resource) in recorded or (
            item.name.lower(),
            item.fill_date,
            item.quantity,
        ) in recorded:
            continue
        groups.setdefault(item.name, []).append(item)
    lines = []
    for name, items in groups.items():
        items.sort(key=lambda i: i.fill_date)
        values = {"drug_name": name, "items": [
            {"fill_date": i.fill_date.isoformat(), "days_supply": i.days_supply, "quantity": str(i.quantity),
             **_origin(source, i.origin)} for i in items
        ]}  # fmt: skip
        count = f"{len(items)} fills" if len(items) > 1 else "a fill"
        last = items[-1]
        lines.append(
            Line(
                "fill",
                LineAction.ADD,
                f"Add {count} of {name}, the latest {_shown(last.fill_date)} ({last.days_supply} days)",
                values,
            )
        )
    return lines


# --- Deciding -------------------------------------------------------------------------------------


def import_patient_confirm(
    *, import_patient: FhirImportPatient, same_person: bool, by: Actor
) -> FhirImportPatient:
    """A name and birth date match confirmed (the same person), or refused: then the lines are
    planned again for a new patient."""
    if import_patient.confirmed:
        raise ValidationError("This patient needs no confirmation.")
    if same_person:
        import_patient.confirmed = True
        import_patient.save(update_fields=["confirmed"])
        return import_patient
    job = import_patient.job
    data = _read(job).patients.get(import_patient.key)
    if data is None or data.birth_date is None:
        raise ValidationError(
            "The files give no name and birth date to make a new patient of: decline the lines instead."
        )
    with transaction.atomic():
        import_patient.lines.all().delete()
        import_patient.patient, import_patient.match, import_patient.confirmed = None, PatientMatch.NEW, True
        import_patient.save(update_fields=["patient", "match", "confirmed"])
        number = job.lines.order_by("-number").values_list("number", flat=True).first() or 0
        problems: list[dict] = []
        FhirImportLine.objects.bulk_create(
            FhirImportLine(job=job, import_patient=import_patient, number=number + i, **line.fields())
            for i, line in enumerate(_lines(job, data, None, problems), start=1)
        )
    return import_patient


def import_lines_decline(*, job: FhirImport, line_ids: list, by: Actor) -> int:
    return job.lines.filter(pk__in=line_ids, decision=LineDecision.PENDING).update(
        decision=LineDecision.DECLINED, decided_at=timezone.now()
    )


def import_lines_apply(*, job: FhirImport, line_ids: list | None, by: Actor) -> dict[str, int]:
    """Write the accepted lines (all pending ones when `line_ids` is None), one transaction per
    patient: a patient's lines are all written or, if one is refused, none of them (the refusal is
    returned per patient, naming the line and why). Returns {"applied": n, "refused": n}."""
    pending = job.lines.filter(decision=LineDecision.PENDING).select_related("import_patient")
    if line_ids is not None:
        pending = pending.filter(pk__in=line_ids)
    by_patient: dict = {}
    for line in pending.order_by("number"):
        by_patient.setdefault(line.import_patient, []).append(line)
    applied, refused = 0, {}
    for import_patient, lines in by_patient.items():
        if not import_patient.confirmed:
            refused[import_patient.name] = "confirm first that this is the same person"
            continue
        try:
            with transaction.atomic():
                patient = import_patient.patient or _patient_create(job, import_patient, by)
                for line in lines:
                    try:
                        _apply(job, patient, line, by)
                    except ValidationError as error:
                        raise ValidationError(f"{line.summary}: {'; '.join(error.messages)}") from error
                    line.decision, line.decided_at = LineDecision.APPLIED, timezone.now()
                    line.save(update_fields=["decision", "decided_at"])
                _identifiers_keep(job, import_patient, patient)
        except ValidationError as error:
            refused[import_patient.name] = "; ".join(error.messages)
            continue
        applied += len(lines)
    if applied:
        transaction.on_commit(
            lambda: clinical_data_imported.send(sender=FhirImport, organisation_id=job.organisation_id)
        )
    return {"applied": applied, "refused": len(refused), "reasons": refused}


def _patient_create(job: FhirImport, import_patient: FhirImportPatient, by: Actor) -> Patient:
    details = import_patient.details
    language = details.get("language") or "en"
    data = {
        "first_name": details["first_name"] or "—", "last_name": details["last_name"] or "—",
        "date_of_birth": datetime.date.fromisoformat(details["birth_date"]), "sex": details["sex"] or "other",
        **{name: details.get(name, "") for name in DETAIL_FIELDS},
    }  # fmt: skip
    if language in {value for value, _ in Patient._meta.get_field("preferred_language").choices}:
        data["preferred_language"] = language
    patient = services.patient_create(organisation=job.organisation, data=data, by=by)
    import_patient.patient = patient
    import_patient.save(update_fields=["patient"])
    return patient


def _identifiers_keep(job: FhirImport, import_patient: FhirImportPatient, patient: Patient) -> None:
    """The files' identifiers for the patient, so that the next import finds them without asking."""
    for system, value in import_patient.details.get("identifiers", []):
        PatientIdentifier.objects.get_or_create(
            organisation_id=job.organisation_id,
            system=system[:200],
            value=value[:200],
            defaults={"patient": patient},
        )


def _apply(job: FhirImport, patient: Patient, line: FhirImportLine, by: Actor) -> None:
    data = dict(line.data)
    if line.category == "details":
        if line.action == LineAction.CHANGE:
            services.patient_update(patient=patient, data=data, version=patient.version, by=by)
            patient.refresh_from_db()
        return
    if line.category == "medication" and "items" in data:  # past medications, added as stopped
        for item in data["items"]:
            _apply(job, patient, FhirImportLine(category="medication", action=LineAction.ADD, data=item), by)
        return
    if line.category == "medication":
        if "new_prescriber" in data:
            data["prescriber"] = _prescriber(job, data.pop("new_prescriber"), by)
        elif data.get("prescriber"):
            data["prescriber"] = Prescriber.objects.get(
                organisation_id=job.organisation_id, pk=data["prescriber"]
            )
        _dates(data, "start_date", "stop_date", "source_updated")
        if line.action == LineAction.ADD:
            services.medication_add(patient=patient, data=data, by=by)
            return
        entry = patient.medications.get(pk=line.target_id)
        if line.action == LineAction.STOP:
            services.medication_stop(
                entry=entry, on=data.get("stop_date") or job.organisation.today(),
                reason=f"No longer on {job.source_system}'s list", version=entry.version, by=by,
            )  # fmt: skip
        else:
            services.medication_update(entry=entry, data=data, version=entry.version, by=by)
        return
    if line.category == "allergy":
        _dates(data, "noted_on", "source_updated")
        if line.action == LineAction.ADD:
            services.allergy_add(patient=patient, data=data, by=by)
            return
        allergy = patient.allergies.get(pk=line.target_id)
        if line.action == LineAction.STOP:
            services.allergy_inactivate(allergy=allergy, reason=f"Inactive at {job.source_system}"[:200],
                                        version=allergy.version, by=by)  # fmt: skip
        else:
            services.allergy_update(allergy=allergy, data=data, version=allergy.version, by=by)
        return
    if line.category == "condition" and "items" in data:  # past conditions, added as resolved
        for item in data["items"]:
            _apply(job, patient, FhirImportLine(category="condition", action=LineAction.ADD, data=item), by)
        return
    if line.category == "condition":
        _dates(data, "onset_date", "resolved_date", "source_updated")
        if line.action == LineAction.ADD:
            services.condition_add(patient=patient, data=data, by=by)
            return
        condition = patient.conditions.get(pk=line.target_id)
        services.condition_resolve(condition=condition, on=data.get("resolved_date") or job.organisation.today(),
                                   version=condition.version, by=by)  # fmt: skip
        return
    if line.category == "measurement":
        for item in data["items"]:
            values = {"kind": data["kind"], "value": Decimal(item["value"]), "measured_on": item["measured_on"],
                      "diastolic": Decimal(item["diastolic"]) if item["diastolic"] else None,
                      **{k: item[k] for k in ("source_system", "source_record", "source_updated")}}  # fmt: skip
            _dates(values, "measured_on", "source_updated")
            services.measurement_record(patient=patient, data=values, by=by)
        return
    if line.category == "gene":
        _dates(data, "tested_on", "source_updated")
        if line.action == LineAction.ADD:
            services.gene_result_add(patient=patient, data=data, by=by)
            return
        result = patient.gene_results.get(pk=line.target_id)
        services.gene_result_update(result=result, data=data, version=result.version, by=by)
        return
    if line.category == "factor":
        _dates(data, "noted_on", "ended_on", "source_updated")
        if line.action == LineAction.ADD:
            services.factor_add(patient=patient, data=data, by=by)
            return
        factor = patient.factors.get(pk=line.target_id)
        if line.action == LineAction.STOP:
            services.factor_end(factor=factor, on=data["ended_on"], version=factor.version, by=by)
        else:
            services.factor_update(factor=factor, data=data, version=factor.version, by=by)
        return
    if line.category == "fill":
        wanted = ingredients_of(data["drug_name"])
        same = [e for e in patient.medications.filter(status=MedicationStatus.ACTIVE)
                if wanted and frozenset(i["name"] for i in e.ingredients) == wanted]  # fmt: skip
        for item in data["items"]:
            values = {"drug_name": data["drug_name"], "days_supply": item["days_supply"],
                      "quantity": Decimal(item["quantity"]), "fill_date": item["fill_date"],
                      **{k: item[k] for k in ("source_system", "source_record", "source_updated")}}  # fmt: skip
            _dates(values, "fill_date", "source_updated")
            values["medication"] = same[0] if len(same) == 1 else None  # so that adherence counts it
            services.fill_record(patient=patient, data=values, by=by)
        return
    raise ValueError(line.category)


def _dates(data: dict, *names: str) -> None:
    for name in names:
        value = data.get(name)
        if isinstance(value, str):
            parse = datetime.datetime.fromisoformat if "T" in value else datetime.date.fromisoformat
            data[name] = parse(value)


def _prescriber(job: FhirImport, new: dict, by: Actor) -> Prescriber:
    existing = Prescriber.objects.filter(organisation_id=job.organisation_id, npi=new["npi"]).first()
    if existing is not None:
        return existing
    *given, family = (new.get("name") or "Unknown prescriber").replace("Dr. ", "").split() or ["Unknown"]
    return services.prescriber_create(
        organisation=job.organisation,
        data={"first_name": " ".join(given)[:100] or "—", "last_name": family[:100], "npi": new["npi"]},
        by=by,
    )


KEEP_FILES = datetime.timedelta(days=30)


@shared_task(name="patients.interop.fhir_import.forget_old_files")
def forget_old_files() -> int:
    """Beat, daily: uploaded FHIR files are kept 30 days (a confirmation may re-read them), then
    deleted; the import's report and decided lines stay."""
    deleted, _ = FhirImportFile.objects.filter(job__created_at__lt=timezone.now() - KEEP_FILES).delete()
    return deleted
