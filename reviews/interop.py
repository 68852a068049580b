"""A completed CMR or TMR as a Pharmacist eCare Plan: a FHIR R4 document Bundle following the HL7
Pharmacist Care Plan IG (PhCP STU1).

The Composition (LOINC 18776-5, plan of care note) comes first, then what it cites: the patient,
the pharmacist and the pharmacy, the drug-related problems as Conditions (SNOMED CT where the IG's
value set has a code for the problem, the pharmacist's wording always), the review itself and the
recommendations to the patient as Procedures (CMR 428911000124108, TMR 6021000124103), the
recommendations to prescribers as Communications with the answer recorded, and the medication list.
Sections: health concerns (75310-3), goals (61146-7), interventions (62387-6), health status
evaluations and outcomes (11383-7), medications (10160-0) and payers (48768-6: the health plan as a
Coverage, when recorded). Built with the fhir.resources R4B models.
"""

import json
import uuid
from html import escape

from django.http import HttpResponse, JsonResponse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.composition import Composition
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.procedure import Procedure

from mtm.audit import actor_from_request, audit_record
from mtm.models import AuditAction
from patients.interop import fhir_write
from patients.interop.fhir_read import LOINC, SNOMED
from reviews.models import (
    Audience,
    NonadherenceCause,
    ProblemCategory,
    ProblemStatus,
    Response,
    Review,
    ReviewKind,
)

PHCP = "http://hl7.org/fhir/us/phcp/StructureDefinition/"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"

REVIEW_CODES = {
    ReviewKind.CMR: ("428911000124108", "Comprehensive medication therapy review"),
    ReviewKind.TMR: ("6021000124103", "Targeted medication therapy review"),
}
# Drug therapy problems with a SNOMED CT code in the PhCP value set (../shared/INTEROP.md); the
# others keep the pharmacist's wording only.
PROBLEM_CODES = {
    ProblemCategory.DOSAGE_TOO_HIGH: ("448089004", "Dose of medication too high"),
    ProblemCategory.DOSAGE_TOO_LOW: ("448152000", "Dose of medication too low"),
    ProblemCategory.UNNECESSARY: ("429621000124102", "Medication therapy unnecessary"),
    ProblemCategory.NEEDS_ADDITIONAL: ("428981000124101", "Additional medication therapy required"),
}
CAUSE_CODES = {
    NonadherenceCause.FORGETS: ("408367005", "Forgets to take medication"),
    NonadherenceCause.NOT_AVAILABLE: ("429611000124105", "Unable to obtain medication"),
    NonadherenceCause.COST: ("429611000124105", "Unable to obtain medication"),
}
INTERACTION = ("448178009", "Drug interaction")
SECTIONS = {
    "concerns": ("75310-3", "Health concerns document", "Health Concerns"),
    "goals": ("61146-7", "Goals", "Goals"),
    "interventions": ("62387-6", "Interventions Provided", "Interventions"),
    "outcomes": ("11383-7", "Patient problem outcome", "Health Status Evaluations and Outcomes"),
    "medications": ("10160-0", "History of Medication use Narrative", "Medications"),
    "payers": ("48768-6", "Payment sources Document", "Payers"),
}


class NotCompleted(Exception):
    """Only a completed review has a care plan to send."""


def _problem_code(problem) -> tuple[str, str] | None:
    if problem.category == ProblemCategory.NONADHERENCE:
        return CAUSE_CODES.get(problem.nonadherence_cause)
    if (problem.finding or {}).get("kind") == "interaction":
        return INTERACTION
    return PROBLEM_CODES.get(problem.category)


def _div(rows: list[str]) -> dict:
    items = "".join(f"<li>{escape(row)}</li>" for row in rows) or "<li>None recorded.</li>"
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></div>'}


def ecare_plan_bundle(review: Review) -> dict:
    if review.status != "completed":
        raise NotCompleted
    patient, pharmacist, organisation = review.patient, review.pharmacist, review.organisation
    entries = []

    def add(resource) -> dict:
        url = f"urn:uuid:{resource.id}"
        entries.append({"fullUrl": url, "resource": resource})
        return {"reference": url}

    patient_ref = add(fhir_write.patient_resource(patient))
    author = add(Practitioner(
        id=str(pharmacist.pk), name=[{"family": pharmacist.last_name or pharmacist.username,
                                      "given": [pharmacist.first_name] if pharmacist.first_name else None}],
        qualification=[{"code": {"text": "Pharmacist"}}],
    ))  # fmt: skip
    pharmacy = add(Organization(
        id=str(organisation.pk), name=organisation.name, active=True,
        telecom=[{"system": "phone", "value": str(organisation.phone)}] if getattr(organisation, "phone", "") else None,
    ))  # fmt: skip
    when = review.completed_at.isoformat(timespec="seconds")
    code, display = REVIEW_CODES[ReviewKind(review.kind)]
    review_ref = add(Procedure(
        id=str(review.pk), meta={"profile": [PHCP + "PhCP-Intervention-Procedure"]}, status="completed",
        code={"coding": [{"system": SNOMED, "code": code, "display": display}], "text": review.get_kind_display()},
        subject=patient_ref, performedDateTime=when, performer=[{"actor": author}],
        note=[{"text": f"Method: {review.get_method_display()}; {review.minutes_spent or 0} minutes."}],
    ))  # fmt: skip

    problems = list(review.problems.prefetch_related("recommendations__prescriber"))
    prescribers: dict = {}
    concerns, interventions, outcomes = [], [review_ref], []
    concern_rows, intervention_rows, outcome_rows = (
        [],
        [f"{review.get_kind_display()}, {review.completed_at:%m/%d/%Y}"],
        [],
    )
    for problem in problems:
        coded = _problem_code(problem)
        concept = {"text": problem.title}
        if coded:
            concept["coding"] = [{"system": SNOMED, "code": coded[0], "display": coded[1]}]
        resolved = problem.status == ProblemStatus.RESOLVED
        condition_ref = add(Condition(
            id=str(problem.pk),
            meta={"profile": [PHCP + "PhCP-Medication-Therapy-Condition"]},
            clinicalStatus={"coding": [{"system": TERMINOLOGY + "condition-clinical", "code": "resolved" if resolved else "active"}]},
            category=[{"coding": [{"system": SNOMED, "code": "55607006", "display": "Problem"},
                                  {"system": LOINC, "code": "75326-9", "display": "Problem"}]}],
            code=concept, subject=patient_ref, recordedDate=problem.created_at.isoformat(timespec="seconds"),
            asserter=author, note=[{"text": f"{problem.get_category_display()}. {problem.details}".strip()}],
        ))  # fmt: skip
        concerns.append(condition_ref)
        concern_rows.append(
            f"{problem.title} ({problem.get_category_display()}; {problem.get_status_display().lower()})"
        )
        outcomes.append(condition_ref)
        outcome_rows.append(
            f"{problem.title}: {problem.get_status_display().lower()}, outcome {problem.get_outcome_display().lower()}"
        )
        for recommendation in problem.recommendations.all():
            if recommendation.audience == Audience.PATIENT:
                interventions.append(add(Procedure(
                    id=str(recommendation.pk), meta={"profile": [PHCP + "PhCP-Intervention-Procedure"]},
                    status="completed", code={"text": f"{recommendation.get_action_display()}: {recommendation.text}"[:1000]},
                    subject=patient_ref, performedDateTime=when, performer=[{"actor": author}],
                    reasonReference=[condition_ref],
                )))  # fmt: skip
                intervention_rows.append(
                    f"To the patient — {recommendation.get_action_display()}: {recommendation.text}"
                )
                continue
            prescriber = recommendation.prescriber
            if prescriber and prescriber.pk not in prescribers:
                prescribers[prescriber.pk] = add(fhir_write.practitioner_resource(prescriber))
            recipient = prescribers.get(prescriber.pk) if prescriber else None
            answer = Response(recommendation.response).label if recommendation.response else "not sent yet"
            note = f"Answer: {answer}" + (
                f" ({recommendation.response_note})" if recommendation.response_note else ""
            )
            interventions.append(add(Communication(
                id=str(recommendation.pk),
                status="completed" if recommendation.sent_on else "preparation",
                subject=patient_ref, sender=author, recipient=[recipient] if recipient else None,
                sent=recommendation.sent_on.isoformat() if recommendation.sent_on else None,
                reasonReference=[condition_ref], payload=[{"contentString": recommendation.text}],
                note=[{"text": note}],
            )))  # fmt: skip
            intervention_rows.append(f"To {prescriber or 'a prescriber'}: {recommendation.text} — {note}")
    medications = [add(fhir_write.medication_request_resource(entry, patient_ref, None))
                   for entry in patient.medications.filter(status="active")]  # fmt: skip

    def section(key: str, refs: list[dict], rows: list[str], empty: str = "") -> dict:
        code, display, title = SECTIONS[key]
        result = {
            "title": title,
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
            "text": _div(rows),
        }
        if refs:
            result["entry"] = refs
        else:
            result["emptyReason"] = {
                "coding": [{"system": TERMINOLOGY + "list-empty-reason", "code": empty or "nilknown"}]
            }
        return result

    payers = []
    if patient.plan_name or patient.member_id:  # the health plan, when recorded
        payers.append(add(Coverage(
            id=str(uuid.uuid5(patient.pk, "coverage")), status="active", subscriberId=patient.member_id or None,
            beneficiary=patient_ref, payor=[{"display": patient.plan_name or "Health plan (name not recorded)"}],
        )))  # fmt: skip
    composition = Composition(
        id=str(uuid.uuid5(review.pk, "ecare-plan")), meta={"profile": [PHCP + "PhCP-Composition"]}, status="final",
        type={"coding": [{"system": LOINC, "code": "18776-5", "display": "Plan of care note"}]},
        subject=patient_ref, date=when, author=[author], title="Pharmacist eCare Plan", custodian=pharmacy,
        event=[{"code": [{"coding": [{"system": SNOMED, "code": code, "display": display}]}],
                "period": {"start": (review.started_at or review.completed_at).isoformat(timespec="seconds"), "end": when}}],
        section=[
            section("concerns", concerns, concern_rows),
            section("goals", [], ["No goals recorded in this review."], "unavailable"),
            section("interventions", interventions, intervention_rows),
            section("outcomes", outcomes, outcome_rows),
            section("medications", medications, [m["reference"] for m in medications] and
                    [e.display_name for e in patient.medications.filter(status="active")]),
            section("payers", payers, [f"{patient.plan_name} {patient.member_id}".strip()] if payers else ["No health plan recorded."]),
        ],
    )  # fmt: skip
    entries.insert(0, {"fullUrl": f"urn:uuid:{composition.id}", "resource": composition})
    bundle = Bundle(
        id=str(uuid.uuid5(review.pk, "ecare-plan-bundle")), type="document", timestamp=when,
        identifier={"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{review.pk}"}, entry=entries,
    )  # fmt: skip
    return json.loads(bundle.model_dump_json(exclude_none=True))


def ecare_plan_response(request, review, *, via: str = "web") -> HttpResponse:
    """The completed review as a Pharmacist eCare Plan (FHIR document Bundle); 409 before then."""
    try:
        bundle = ecare_plan_bundle(review)
    except NotCompleted:
        return JsonResponse(
            {"detail": "Only a completed review has an eCare Plan: complete it first."}, status=409
        )
    audit_record(
        actor=actor_from_request(request, via=via), action=AuditAction.VIEW, patient_id=review.patient_id, obj=review,
        changes={"document": ["", "Pharmacist eCare Plan (FHIR)"]},
    )  # fmt: skip
    response = HttpResponse(json.dumps(bundle, indent=1), content_type="application/fhir+json")
    response["Content-Disposition"] = (
        f'attachment; filename="ecare-plan-{review.completed_at:%Y%m%d}-{review.pk}.json"'
    )
    return response
