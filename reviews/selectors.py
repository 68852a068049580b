"""Reads of reviews. Every query starts from `reviews_visible_to`, scoped to the user's organisation
through mtm.scoping; a review of another organisation is a 404."""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from interactions.selectors import knowledge_base
from mtm.scoping import scope_to_organisation
from patients.models import MedicationEntry, MedicationStatus
from patients.selectors import patient_record, patient_screening
from reviews.adherence import Coverage, Fill, coverage
from reviews.models import Audience, FindingDismissal, Recommendation, Response, Review


def reviews_visible_to(user) -> QuerySet[Review]:
    return scope_to_organisation(Review.objects.select_related("patient", "pharmacist"), user)


def review_get(*, user, review_id) -> Review:
    return get_object_or_404(reviews_visible_to(user), pk=review_id)


def review_findings(review: Review, *, today: datetime.date) -> list[dict]:
    """The screening findings of the patient's list as it stands now."""
    return patient_screening(patient_record(patient=review.patient), today=today).findings


def review_finding(review: Review, finding_id: str, *, today: datetime.date) -> dict:
    """One finding of the current screening, by id: the workspace never trusts a finding sent back
    by the browser."""
    for finding in review_findings(review, today=today):
        if finding["id"] == finding_id:
            return finding
    raise Http404("That finding is no longer on the screening (the list may have changed).")


def earlier_dismissals(review: Review) -> dict[str, FindingDismissal]:
    """The latest dismissal of each finding in this patient's other reviews, to show again."""
    latest: dict[str, FindingDismissal] = {}
    for dismissal in (
        FindingDismissal.objects.filter(patient_id=review.patient_id)
        .exclude(review=review)
        .select_related("dismissed_by", "review")
        .order_by("-dismissed_at")
    ):
        latest.setdefault(dismissal.finding_id, dismissal)
    return latest


# --- Adherence -------------------------------------------------------------------------------------


@dataclass
class AdherenceLine:
    label: str  # a medication as listed, or a therapeutic class
    coverage: Coverage
    medication: MedicationEntry | None = None


def adherence(patient, *, today: datetime.date) -> tuple[list[AdherenceLine], list[AdherenceLine]]:
    """PDC over the last 12 months per active medication with fills, and per therapeutic class
    (from the knowledge base) with fills of two or more of its drugs or medications."""
    fills_by_medication: dict[MedicationEntry, list[Fill]] = defaultdict(list)
    medications = {
        m.pk: m for m in patient.medications.filter(status=MedicationStatus.ACTIVE).order_by("name")
    }
    for fill in patient.fills.filter(medication__isnull=False).order_by("fill_date"):
        if fill.medication_id in medications:
            fills_by_medication[medications[fill.medication_id]].append(
                Fill(fill.fill_date, fill.days_supply)
            )
    per_medication = []
    for medication, fills in sorted(fills_by_medication.items(), key=lambda item: item[0].name.lower()):
        found = coverage({medication.name: fills}, today=today)
        if found:
            per_medication.append(AdherenceLine(str(medication), found, medication))

    kb = knowledge_base()
    by_class: dict[str, dict[str, list[Fill]]] = defaultdict(dict)
    for medication, fills in fills_by_medication.items():
        for item in medication.ingredients:
            ingredient = kb.ingredients.get(item["name"])
            for class_id in ingredient.classes if ingredient else ():
                by_class[class_id][str(medication.pk)] = fills
    per_class = []
    for class_id, fills_by_drug in sorted(by_class.items()):
        found = coverage(fills_by_drug, today=today) if len(fills_by_drug) > 1 else None
        if found:
            per_class.append(AdherenceLine(kb.classes[class_id].label, found))
    return per_medication, per_class


# --- Prescribers' answers --------------------------------------------------------------------------


def awaiting_answer(*, user, today: datetime.date) -> QuerySet[Recommendation]:
    """Recommendations sent to a prescriber and not answered within the organisation's limit."""
    days = user.organisation.prescriber_response_days if user.organisation else 0
    return (
        scope_to_organisation(
            Recommendation.objects.select_related("prescriber", "patient", "problem__review"),
            user,
            path="patient__organisation",
        )
        .filter(
            audience=Audience.PRESCRIBER,
            response=Response.PENDING,
            sent_on__lte=today - datetime.timedelta(days=days),
        )
        .order_by("sent_on")
    )
