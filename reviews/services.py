"""Every step of a medication review, for the workspace, the API and tests alike.

A completed review is locked: its content never changes again; corrections are addenda. Answers
from prescribers and the outcome of problems are recorded later and stay open after completion.
"""

import datetime
import enum
import math
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from mtm.audit import Actor, audit_record, diff, snapshot
from mtm.errors import EditConflict
from mtm.models import AuditAction
from mtm.outbox import enqueue
from mtm.records import audited_fields, record_create, record_update
from patients import services as patient_services
from patients.models import MedicationEntry, Patient
from patients.selectors import patient_record, patient_screening
from reviews import prescribers, signals, tasks
from reviews.assessment import finding_assessment
from reviews.models import (
    CATEGORY_FOR_FINDING_KIND,
    Addendum,
    Answer,
    Audience,
    ChangeKind,
    FindingDismissal,
    MedicationAssessment,
    MedicationChange,
    Priority,
    Problem,
    ProblemCategory,
    Recommendation,
    Response,
    Review,
    ReviewKind,
    ReviewStatus,
)

NEW_PATIENT_YEARS = 3  # CPT: no professional service from us in the past three years
SERIOUS_SEVERITIES = ("contraindicated", "major")  # completing leaves these undecided only knowingly


def _editable(review: Review) -> None:
    if review.is_locked:
        raise ValidationError("This review is completed and locked; add an addendum to correct or add to it.")


def _of_review(review: Review, medication: MedicationEntry) -> None:
    if medication.patient_id != review.patient_id:
        raise ValidationError({"medication": "That medication is not on this patient's list."})


# --- The review -----------------------------------------------------------------------------------


@transaction.atomic
def review_create(*, patient: Patient, data: dict[str, Any], by: Actor) -> Review:
    """One open review per patient at a time: a second would split the documentation."""
    open_review = patient.reviews.exclude(status=ReviewStatus.COMPLETED).first()
    if open_review is not None:
        raise ValidationError(
            f"{patient.full_name} already has an open {open_review.kind.upper()} "
            f"(opened {open_review.created_at:%m/%d/%Y}); continue or complete it first."
        )
    data = {"pharmacist": by.user, **data}
    return record_create(Review(organisation_id=patient.organisation_id, patient=patient, **data), by=by)


@transaction.atomic
def review_update(*, review: Review, data: dict[str, Any], version: int, by: Actor) -> Review:
    _editable(review)
    return record_update(review, data=data, version=version, by=by)


@transaction.atomic
def review_start(*, review: Review, version: int, by: Actor) -> Review:
    _editable(review)
    if review.status != ReviewStatus.PLANNED:
        raise ValidationError({"status": "This review has already started."})
    if review.kind == ReviewKind.CMR and not review.consent_noted:
        raise ValidationError({"consent_noted": "Note the patient's agreement before starting the CMR."})
    return record_update(
        review,
        data={"status": ReviewStatus.IN_PROGRESS, "started_at": timezone.now()},
        version=version,
        by=by,
    )


def review_problems_without_plan(review: Review) -> list[Problem]:
    """Confirmed problems with neither a recommendation nor a reason for none."""
    return [
        problem
        for problem in review.problems.prefetch_related("recommendations")
        if not problem.recommendations.all() and not problem.no_recommendation_reason.strip()
    ]


def undecided_serious_findings(review: Review, *, today: datetime.date) -> list[dict]:
    """Major and contraindicated findings of the list as it stands that this review has neither
    confirmed as a problem nor dismissed."""
    screening = patient_screening(patient_record(patient=review.patient, history=False), today=today)
    decided = set(review.problems.values_list("finding_id", flat=True)) | set(
        review.dismissals.values_list("finding_id", flat=True)
    )
    return [
        {"id": f["id"], "title": f["title"], "severity": f["severity"], "drugs": f.get("drugs", [])}
        for f in screening.findings
        if f["severity"] in SERIOUS_SEVERITIES and f["id"] not in decided
    ]


@transaction.atomic
def review_complete(
    *,
    review: Review,
    version: int,
    minutes_spent: int | None,
    by: Actor,
    acknowledge_undecided: bool = False,
) -> Review:
    """Check that the review is whole, then lock it. Major or contraindicated findings left
    undecided need `acknowledge_undecided`; the review keeps the list of them."""
    _editable(review)
    errors: dict[str, list[str]] = {}
    if review.status != ReviewStatus.IN_PROGRESS:
        errors.setdefault("status", []).append("Start the review before completing it.")
    minutes = minutes_spent or review.minutes_spent
    if not minutes:
        errors.setdefault("minutes_spent", []).append("Enter the minutes spent (for billing).")
    missing = review_problems_without_plan(review)
    if missing:
        errors.setdefault("problems", []).append(
            "Each problem needs a recommendation or a reason for none: " + "; ".join(p.title for p in missing)
        )
    undecided = undecided_serious_findings(review, today=timezone.localdate())
    if undecided and not acknowledge_undecided:
        count = len(undecided)
        errors.setdefault("acknowledge_undecided", []).append(
            f"{count} major or contraindicated finding{'s are' if count > 1 else ' is'} still undecided: "
            + "; ".join(f["title"] for f in undecided)
            + ". Decide them, or tick to complete the review leaving them undecided."
        )
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    earlier = Review.objects.filter(
        patient_id=review.patient_id,
        status=ReviewStatus.COMPLETED,
        completed_at__gte=now - datetime.timedelta(days=365 * NEW_PATIENT_YEARS),
    ).exclude(pk=review.pk)
    review = record_update(
        review,
        data={
            "status": ReviewStatus.COMPLETED,
            "completed_at": now,
            "minutes_spent": minutes,
            "new_patient": not earlier.exists(),
            "undecided_findings": undecided,
        },
        version=version,
        by=by,
    )
    signals.review_completed.send(sender=Review, review=review, by=by)
    if Recommendation.objects.filter(problem__review=review, audience=Audience.PRESCRIBER).exists():
        enqueue(tasks.prepare_prescriber_letters, str(review.pk))
    return review


@transaction.atomic
def addendum_add(*, review: Review, text: str, by: Actor) -> Addendum:
    if not review.is_locked:
        raise ValidationError({"text": "Edit the review itself until it is completed."})
    return record_create(Addendum(review=review, text=text.strip(), written_by=by.user), by=by)


@transaction.atomic
def summary_delivered(*, review: Review, on: datetime.date, version: int, by: Actor) -> Review:
    """The CMR summary was given or sent (allowed after completion: it usually follows it)."""
    if review.kind != ReviewKind.CMR or not review.is_locked:
        raise ValidationError({"summary_delivered_on": "Only a completed CMR has a summary to deliver."})
    if on < timezone.localdate(review.completed_at):  # the organisation's day, as typed
        raise ValidationError({"summary_delivered_on": "The summary cannot be delivered before the review."})
    review = record_update(review, data={"summary_delivered_on": on}, version=version, by=by)
    signals.summary_delivered.send(sender=Review, review=review, by=by)
    return review


# --- The CMR questions per medication --------------------------------------------------------------


@transaction.atomic
def assessment_save(
    *,
    review: Review,
    medication: MedicationEntry,
    data: dict[str, Any],
    version: int | None,
    by: Actor,
    usual_answers: bool = False,
) -> MedicationAssessment:
    """Answer the questions for one medication; `version` None for the first answers. Only the
    fields in `data` change. `usual_answers`: every question answered neither in `data` nor before
    is answered yes, so the pharmacist changes only the exceptions."""
    _editable(review)
    _of_review(review, medication)
    existing = MedicationAssessment.objects.filter(review=review, medication=medication).first()
    if usual_answers:
        answered = {q for q in MedicationAssessment.QUESTIONS if data.get(q) or getattr(existing, q, "")}
        data = {**data, **{q: Answer.YES for q in MedicationAssessment.QUESTIONS if q not in answered}}
    if existing is None:
        if version is not None:
            raise EditConflict("medication assessment")
        try:
            with transaction.atomic():  # a colleague's first answers may have just been saved
                return record_create(
                    MedicationAssessment(review=review, medication=medication, **data), by=by
                )
        except IntegrityError:
            raise EditConflict("medication assessment") from None
    if version is None:
        raise EditConflict("medication assessment")
    return record_update(existing, data=data, version=version, by=by)


# --- Drug-related problems -------------------------------------------------------------------------


def _medications_for_drugs(review: Review, drugs: list[str]) -> list[MedicationEntry]:
    wanted = set(drugs)
    return [
        entry
        for entry in review.patient.medications.filter(status="active")
        if wanted & {item["name"] for item in entry.ingredients}
    ]


def _finding_problem_fields(finding: dict) -> dict[str, Any]:
    severity_priority = {
        "contraindicated": Priority.HIGH,
        "major": Priority.HIGH,
        "moderate": Priority.MEDIUM,
    }
    fields = {
        "title": finding["title"],
        "category": CATEGORY_FOR_FINDING_KIND.get(finding["kind"], ""),
        "priority": severity_priority.get(finding["severity"], Priority.LOW),
    }
    if finding.get("advice"):  # food, drink and habits: the knowledge base's words for the patient
        fields["patient_wording"] = finding["advice"]
    return fields


@transaction.atomic
def finding_confirm(*, review: Review, finding: dict, data: dict[str, Any], by: Actor) -> Problem:
    """Make a screening finding a drug-related problem of this review. Its assessment starts as a
    draft from the finding's consequence and the patient's data (reviews.assessment)."""
    _editable(review)
    if review.problems.filter(finding_id=finding["id"]).exists():
        raise ValidationError({"finding": "This finding is already a problem of this review."})
    medications = _medications_for_drugs(review, finding.get("drugs", []))
    fields = {**_finding_problem_fields(finding), **{k: v for k, v in data.items() if v not in (None, "")}}
    if "details" not in fields:
        fields["details"] = finding_assessment(
            patient=review.patient, finding=finding, medications=medications, today=timezone.localdate()
        )
    problem = record_create(
        Problem(
            review=review, patient_id=review.patient_id, finding_id=finding["id"], finding=finding, **fields
        ),
        by=by,
    )
    problem.medications.set(medications)
    review.dismissals.filter(finding_id=finding["id"]).delete()  # changed their mind within the review
    return problem


@transaction.atomic
def finding_dismiss(*, review: Review, finding: dict, reason: str, by: Actor) -> FindingDismissal:
    _editable(review)
    if not reason.strip():
        raise ValidationError({"reason": "Say why this finding is not a problem for this patient."})
    if review.problems.filter(finding_id=finding["id"]).exists():
        raise ValidationError({"finding": "This finding is already a problem; remove the problem first."})
    FindingDismissal.objects.filter(review=review, finding_id=finding["id"]).delete()
    return record_create(
        FindingDismissal(
            review=review,
            patient_id=review.patient_id,
            finding_id=finding["id"],
            title=finding["title"],
            reason=reason.strip(),
            dismissed_by=by.user,
        ),
        by=by,
    )


@transaction.atomic
def problem_add(
    *, review: Review, data: dict[str, Any], medications: list[MedicationEntry], by: Actor
) -> Problem:
    _editable(review)
    for medication in medications:
        _of_review(review, medication)
    problem = record_create(Problem(review=review, patient_id=review.patient_id, **data), by=by)
    problem.medications.set(medications)
    return problem


@transaction.atomic
def problem_update(*, problem: Problem, data: dict[str, Any], version: int, by: Actor) -> Problem:
    """Before completion anything can change; afterwards only the status and outcome (follow-up)."""
    if problem.review.is_locked and set(data) - {"status", "outcome"}:
        _editable(problem.review)
    return record_update(problem, data=data, version=version, by=by)


@transaction.atomic
def problem_remove(*, problem: Problem, version: int, by: Actor) -> None:
    _editable(problem.review)
    if problem.version != version:
        raise EditConflict("problem")
    audit_record(
        actor=by,
        action=AuditAction.STOP,
        patient_id=problem.patient_id,
        obj=problem,
        changes=diff(snapshot(problem, audited_fields(Problem)), {}),
    )
    problem.delete()


# --- Recommendations and prescribers' answers ------------------------------------------------------


def _prescriber_confirmed(problem: Problem, prescriber, confirmed: bool) -> None:
    """Someone outside the medication's prescribers and the care team only when confirmed."""
    if prescriber is None or confirmed:
        return
    if prescriber.organisation_id != problem.patient.organisation_id:
        return  # the record's own validation names this one
    if prescribers.needs_confirmation(problem=problem, prescriber=prescriber):
        raise ValidationError(
            {
                prescribers.CONFIRMATION_FIELD: prescribers.confirmation_message(
                    problem=problem, prescriber=prescriber
                )
            }
        )


@transaction.atomic
def recommendation_add(
    *, problem: Problem, data: dict[str, Any], by: Actor, prescriber_confirmed: bool = False
) -> Recommendation:
    """`prescriber_confirmed`: the pharmacist confirmed a prescriber who neither prescribes the
    problem's medications nor is on the patient's care team (see reviews.prescribers)."""
    _editable(problem.review)
    if data.get("audience") == Audience.PRESCRIBER:
        data = {"response": Response.PENDING, **data}
        _prescriber_confirmed(problem, data.get("prescriber"), prescriber_confirmed)
    return record_create(Recommendation(problem=problem, patient_id=problem.patient_id, **data), by=by)


@transaction.atomic
def recommendation_update(
    *,
    recommendation: Recommendation,
    data: dict[str, Any],
    version: int,
    by: Actor,
    prescriber_confirmed: bool = False,
) -> Recommendation:
    _editable(recommendation.problem.review)
    if "prescriber" in data and data["prescriber"] != recommendation.prescriber:
        _prescriber_confirmed(recommendation.problem, data["prescriber"], prescriber_confirmed)
    return record_update(recommendation, data=data, version=version, by=by)


def _letter_dates_check(
    *, sent_on: datetime.date | None, response_on: datetime.date | None, today: datetime.date
) -> None:
    """The one rule for a letter's dates: none in the future, and no answer before the letter."""
    errors = {}
    if sent_on and sent_on > today:
        errors["sent_on"] = (
            f"“Letter sent on” cannot be in the future: {sent_on:%m/%d/%Y} is after today ({today:%m/%d/%Y})."
        )
    if response_on and response_on > today:
        errors["response_on"] = (
            f"“Answered on” cannot be in the future: {response_on:%m/%d/%Y} is after today ({today:%m/%d/%Y})."
        )
    elif response_on and sent_on and response_on < sent_on:
        errors["response_on"] = (
            f"“Answered on” ({response_on:%m/%d/%Y}) cannot precede the day the letter was sent "
            f"({sent_on:%m/%d/%Y}). If the letter went out earlier, correct “Letter sent on” as well."
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def recommendations_sent(
    *, recommendations: list[Recommendation], on: datetime.date, by: Actor
) -> list[Recommendation]:
    """The prescriber letter went out: start waiting for the answers. Those already recorded as
    sent keep their date (correct one with `prescriber_response_record`)."""
    sent = []
    for recommendation in recommendations:
        if recommendation.audience == Audience.PRESCRIBER and not recommendation.sent_on:
            _letter_dates_check(
                sent_on=on, response_on=None, today=recommendation.patient.organisation.today()
            )
            sent.append(
                record_update(recommendation, data={"sent_on": on}, version=recommendation.version, by=by)
            )
    signals.recommendations_sent.send(sender=Recommendation, recommendations=sent, by=by)
    return recommendations


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


UNCHANGED = _Unchanged.UNCHANGED


@transaction.atomic
def prescriber_response_record(
    *,
    recommendation: Recommendation,
    response: str,
    on: datetime.date | None,
    note: str,
    version: int,
    by: Actor,
    sent_on: datetime.date | _Unchanged | None = UNCHANGED,
) -> Recommendation:
    """Staff record what the prescriber answered (also after the review is completed), and correct
    it: record again, or `Response.PENDING` to withdraw an answer recorded by mistake.

    `sent_on` corrects the day the letter was sent in the same change: a date, or None for "not
    sent" (with an answer: the answer's day, the letter having evidently gone out). Left out, the
    recorded day stays. Every change is a versioned, audited update of the recommendation."""
    if recommendation.audience != Audience.PRESCRIBER:
        raise ValidationError({"response": "Only a recommendation to a prescriber gets an answer."})
    if response not in Response.values:
        raise ValidationError({"response": "Choose the prescriber's answer."})
    if response == Response.PENDING:
        if on is not None:
            raise ValidationError(
                {
                    "response_on": "Leave “Answered on” empty while the answer is awaited, or choose the answer."
                }
            )
        data = {"response": Response.PENDING, "response_on": None, "response_note": ""}
    else:
        data = {"response": response, "response_on": on, "response_note": note.strip()}
    sent = recommendation.sent_on if sent_on is UNCHANGED else sent_on
    if sent is None and response != Response.PENDING:
        sent = on
    data["sent_on"] = sent
    _letter_dates_check(
        sent_on=sent, response_on=data["response_on"], today=recommendation.patient.organisation.today()
    )
    return record_update(recommendation, data=data, version=version, by=by)


# --- Changes to the medication list during the review ---------------------------------------------


def _change(review: Review, entry: MedicationEntry, kind: str, reason: str, changes: dict, by: Actor):
    if not reason.strip():
        raise ValidationError({"reason": "Say why the medication list changes."})
    MedicationChange.objects.create(
        review=review, medication=entry, kind=kind, reason=reason.strip(), changes=changes, made_by=by.user
    )


@transaction.atomic
def review_medication_start(
    *, review: Review, data: dict[str, Any], reason: str, by: Actor
) -> MedicationEntry:
    _editable(review)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the medication is started."})
    entry = patient_services.medication_add(patient=review.patient, data=data, by=by)
    _change(review, entry, ChangeKind.START, reason, {"name": [None, entry.name]}, by)
    return entry


@transaction.atomic
def review_medication_stop(
    *, review: Review, entry: MedicationEntry, on: datetime.date, reason: str, version: int, by: Actor
) -> MedicationEntry:
    _editable(review)
    _of_review(review, entry)
    entry = patient_services.medication_stop(entry=entry, on=on, reason=reason, version=version, by=by)
    _change(review, entry, ChangeKind.STOP, reason, {"status": ["active", "stopped"]}, by)
    return entry


@transaction.atomic
def review_medication_change(
    *, review: Review, entry: MedicationEntry, data: dict[str, Any], reason: str, version: int, by: Actor
) -> MedicationEntry:
    _editable(review)
    _of_review(review, entry)
    before = {name: getattr(entry, name) for name in data}
    entry = patient_services.medication_update(entry=entry, data=data, version=version, by=by)
    changes = {
        name: [str(before[name]), str(getattr(entry, name))]
        for name in data
        if before[name] != getattr(entry, name)
    }
    _change(review, entry, ChangeKind.CHANGE, reason, changes, by)
    return entry


# --- Billing ---------------------------------------------------------------------------------------


def cpt_units(*, minutes: int, new_patient: bool) -> list[tuple[str, int]]:
    """CPT codes for pharmacist MTM time: 99605 (new) or 99606 (established) for the first 15
    minutes, then 99607 for each further 15 minutes or part of them (14 and 15 minutes: one unit;
    16 and 30: two; 31: three)."""
    if minutes <= 0:
        return []
    first = "99605" if new_patient else "99606"
    additional = math.ceil(max(minutes - 15, 0) / 15)
    return [(first, 1)] + ([("99607", additional)] if additional else [])


@transaction.atomic
def adherence_problem_confirm(
    *, review: Review, medication: MedicationEntry, pdc: float, cause: str, by: Actor
) -> Problem:
    """A medication covered on under 80% of days becomes a nonadherence problem, with its cause."""
    _editable(review)
    _of_review(review, medication)
    finding_id = f"adherence:{medication.pk}"
    if review.problems.filter(finding_id=finding_id).exists():
        raise ValidationError({"finding": "This is already a problem of this review."})
    problem = record_create(
        Problem(
            review=review,
            patient_id=review.patient_id,
            finding_id=finding_id,
            finding={"kind": "adherence", "pdc": round(pdc, 3), "medication": medication.name},
            title=f"{medication.display_name}: {pdc:.0%} of days covered",
            category=ProblemCategory.NONADHERENCE,
            nonadherence_cause=cause,
            details=f"Proportion of days covered over the last 12 months is {pdc:.0%}, below 80%.",
        ),
        by=by,
    )
    problem.medications.set([medication])
    return problem
