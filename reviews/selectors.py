"""Reads of reviews. Every query starts from `reviews_visible_to`, scoped to the user's organisation
through mtm.scoping; a review of another organisation is a 404."""

import datetime
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from django.db import models
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from interactions.selectors import knowledge_base
from mtm.exports import CsvExport, spreadsheet_safe
from mtm.models import AuditAction, AuditEvent
from mtm.scoping import scope_to_organisation
from patients.interop.fills import ingredients_of
from patients.models import MedicationEntry, MedicationStatus, Prescriber
from patients.selectors import (
    ClinicalContext,
    PatientRecord,
    Screening,
    clinical_context,
    patient_record,
    patient_screening,
)
from reviews.adherence import Coverage, Fill, coverage
from reviews.measures import MeasureFill, MeasurePatient, MeasureResult, measures_patient
from reviews.models import (
    Addendum,
    Audience,
    FindingDismissal,
    MedicationAssessment,
    MedicationChange,
    Problem,
    Recommendation,
    Response,
    Review,
    ReviewKind,
    ReviewStatus,
)
from reviews.services import SERIOUS_SEVERITIES, cpt_units
from reviews.value_sets import measures_for_organisation


def reviews_visible_to(user) -> QuerySet[Review]:
    return scope_to_organisation(Review.objects.select_related("patient", "pharmacist"), user)


def review_get(*, user, review_id) -> Review:
    return get_object_or_404(reviews_visible_to(user), pk=review_id)


def review_findings(review: Review, *, today: datetime.date) -> list[dict]:
    """The screening findings of the patient's list as it stands now."""
    return patient_screening(patient_record(patient=review.patient, history=False), today=today).findings


def review_finding(
    review: Review, finding_id: str, *, today: datetime.date, screening: Screening | None = None
) -> dict:
    """One finding of the current screening, by id: the workspace never trusts a finding sent back
    by the browser."""
    findings = screening.findings if screening else review_findings(review, today=today)
    for finding in findings:
        if finding["id"] == finding_id:
            return finding
    raise Http404("That finding is no longer on the screening (the list may have changed).")


def earlier_dismissals(review: Review) -> dict[str, FindingDismissal]:
    """The latest dismissal of each finding in this patient's other reviews, to show again."""
    return dismissals_of(review)[1]


def dismissals_of(review: Review) -> tuple[dict[str, FindingDismissal], dict[str, FindingDismissal]]:
    """This review's dismissals, and the latest of each finding in the patient's other reviews,
    by finding id: one query for both."""
    this_review: dict[str, FindingDismissal] = {}
    earlier: dict[str, FindingDismissal] = {}
    for dismissal in (
        FindingDismissal.objects.filter(patient_id=review.patient_id)
        .select_related("dismissed_by", "review")
        .order_by("-dismissed_at")
    ):
        (this_review if dismissal.review_id == review.pk else earlier).setdefault(
            dismissal.finding_id, dismissal
        )
    return this_review, earlier


# --- Adherence -------------------------------------------------------------------------------------


@dataclass
class AdherenceLine:
    label: str  # a medication as listed, or a therapeutic class
    coverage: Coverage
    medication: MedicationEntry | None = None


def adherence(
    patient, *, today: datetime.date, active: list[MedicationEntry] | None = None
) -> tuple[list[AdherenceLine], list[AdherenceLine]]:
    """PDC over the last 12 months per active medication with fills, and per therapeutic class
    (from the knowledge base) with fills of two or more of its drugs or medications. `active`: the
    active medications when the caller has them already."""
    fills_by_medication: dict[MedicationEntry, list[Fill]] = defaultdict(list)
    if active is None:
        active = list(patient.medications.filter(status=MedicationStatus.ACTIVE))
    medications = {m.pk: m for m in active}
    fills = patient.fills.filter(medication__isnull=False).values_list(
        "medication_id", "fill_date", "days_supply"
    )
    for medication_id, day, days_supply in fills.order_by("fill_date"):
        if medication_id in medications:
            fills_by_medication[medications[medication_id]].append(Fill(day, days_supply))
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


SUMMARY_DAYS = 14  # CMS: the written summary is given at the visit or sent within 14 days
SUMMARY_AT_RISK_DAYS = 3  # flagged when this few days are left


@dataclass
class SummaryDue:
    review: Review
    due: datetime.date
    days_left: int

    @property
    def late(self) -> bool:
        return self.days_left < 0


class SummariesDue:
    """Completed CMRs whose written summary has not been delivered, the earliest deadline first:
    sliced and counted in the database (a list of SummaryDue per slice), so a page of them costs
    the same whatever the organisation holds."""

    def __init__(self, reviews: QuerySet[Review], today: datetime.date):
        self.reviews = reviews.order_by("completed_at", "pk")
        self.today = today

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._due(review) for review in self.reviews[index]]
        return self._due(self.reviews[index])

    def _due(self, review: Review) -> SummaryDue:
        deadline = timezone.localdate(review.completed_at) + datetime.timedelta(days=SUMMARY_DAYS)
        return SummaryDue(review, deadline, (deadline - self.today).days)

    def count(self, at_most: int | None = None) -> int:
        return self.reviews.count() if at_most is None else self.reviews[:at_most].count()

    def late_and_due_soon(self) -> tuple[int, int]:
        """How many are late, and how many have at most SUMMARY_AT_RISK_DAYS left (one query)."""
        zone = timezone.get_current_timezone()

        def day_start(day: datetime.date) -> datetime.datetime:
            return datetime.datetime.combine(day, datetime.time(), tzinfo=zone)

        # Late: completed before (today - SUMMARY_DAYS); due soon: completed on one of the
        # SUMMARY_AT_RISK_DAYS + 1 days from then on.
        late_before = day_start(self.today - datetime.timedelta(days=SUMMARY_DAYS))
        soon_before = day_start(self.today - datetime.timedelta(days=SUMMARY_DAYS - SUMMARY_AT_RISK_DAYS - 1))
        counts = self.reviews.order_by().aggregate(
            late=Count("pk", filter=Q(completed_at__lt=late_before)),
            soon=Count("pk", filter=Q(completed_at__gte=late_before, completed_at__lt=soon_before)),
        )
        return counts["late"], counts["soon"]


def summaries_due(*, user, today: datetime.date, pharmacist=None) -> SummariesDue:
    """Completed CMRs whose written summary has not been delivered (of one pharmacist's reviews
    when given); the late and the nearly due come first."""
    reviews = reviews_visible_to(user).filter(
        kind=ReviewKind.CMR, status=ReviewStatus.COMPLETED, summary_delivered_on__isnull=True
    )
    if pharmacist is not None:
        reviews = reviews.filter(pharmacist=pharmacist)
    return SummariesDue(reviews, today)


def recommendations_visible_to(user) -> QuerySet[Recommendation]:
    return scope_to_organisation(
        Recommendation.objects.select_related("prescriber", "patient", "problem__review"),
        user,
        path="patient__organisation",
    )


@dataclass
class HistoryLine:
    event: AuditEvent
    changes: list[tuple[str, str, str]]  # (what, before, after), as a person reads them


def _readable(field, value) -> str:
    if value in (None, ""):
        return ""
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.DateField) and isinstance(value, str):
        return f"{datetime.date.fromisoformat(value[:10]):%m/%d/%Y}"
    return str(value)


def recommendation_history(recommendation: Recommendation) -> list[HistoryLine]:
    """Who recorded or corrected what on a recommendation (sent date, answer), newest first."""
    events = AuditEvent.objects.filter(
        patient_id=recommendation.patient_id,
        object_type=Recommendation._meta.label_lower,
        object_id=str(recommendation.pk),
    ).exclude(action=AuditAction.VIEW)
    lines = []
    for event in events:
        changes = []
        if event.action != AuditAction.CREATE:
            for name, (before, after) in event.changes.items():
                field = Recommendation._meta.get_field(name)
                changes.append((str(field.verbose_name), _readable(field, before), _readable(field, after)))
        lines.append(HistoryLine(event, changes))
    return lines


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


# --- The workspace ---------------------------------------------------------------------------------


@dataclass
class MedicationLine:
    medication: MedicationEntry
    assessment: MedicationAssessment | None
    adherence: Coverage | None


@dataclass
class FindingLine:
    finding: dict
    problem: Problem | None  # confirmed in this review
    dismissal: FindingDismissal | None  # dismissed in this review
    earlier: FindingDismissal | None  # dismissed in an earlier review of this patient

    @property
    def decided(self) -> bool:
        return bool(self.problem or self.dismissal)

    @property
    def starts_open(self) -> bool:
        """Undecided and not minor (or refused, to show why): open, its explanation on the page.
        Folded otherwise, the explanation sent when opened (patients/_finding_lazy.html)."""
        return (not self.decided and self.finding["severity"] != "minor") or bool(
            getattr(self, "errors", None)
        )

    @cached_property
    def dom_id(self) -> str:
        """A page id for the finding that stays the same while the list does (its id has colons)."""
        return "f-" + hashlib.sha1(self.finding["id"].encode(), usedforsecurity=False).hexdigest()[:12]


@dataclass
class Workspace:
    """Everything the review workspace shows, loaded with a fixed number of queries."""

    review: Review
    record: PatientRecord
    screening: Screening
    medications: list[MedicationLine]
    class_adherence: list[AdherenceLine]
    findings: list[FindingLine]
    problems: list[Problem]
    addenda: list[Addendum]
    changes: list[MedicationChange]
    clinical: ClinicalContext

    @property
    def low_adherence(self) -> list[MedicationLine]:
        return [line for line in self.medications if line.adherence and line.adherence.below_threshold]

    @property
    def open_findings(self) -> int:
        return sum(1 for line in self.findings if not line.decided)

    @property
    def undecided_serious(self) -> list[FindingLine]:
        """Major and contraindicated findings not decided: completing asks to acknowledge them."""
        return [
            line for line in self.findings
            if not line.decided and line.finding["severity"] in SERIOUS_SEVERITIES
        ]  # fmt: skip

    def next_undecided(self, after: FindingLine) -> FindingLine | None:
        """The first undecided finding after `after` in the list, wrapping round to the top."""
        position = self.findings.index(after)
        rest = self.findings[position + 1 :] + self.findings[:position]
        return next((line for line in rest if not line.decided), None)

    @property
    def prescriber_letters(self) -> list[tuple[Prescriber, list[Recommendation]]]:
        """Prescriber recommendations grouped per prescriber: one letter each."""
        letters: dict[Prescriber, list[Recommendation]] = {}
        for problem in self.problems:
            for recommendation in problem.recommendations.all():
                if recommendation.audience == Audience.PRESCRIBER:
                    letters.setdefault(recommendation.prescriber, []).append(recommendation)
        return sorted(letters.items(), key=lambda item: str(item[0]))

    @property
    def billing(self) -> list[tuple[str, int]]:
        review = self.review
        if not review.minutes_spent:
            return []
        new_patient = review.new_patient if review.new_patient is not None else True
        return cpt_units(minutes=review.minutes_spent, new_patient=new_patient)


def review_workspace(
    review: Review,
    *,
    today: datetime.date,
    record: PatientRecord | None = None,
    screening: Screening | None = None,
) -> Workspace:
    """`record` and `screening`: the patient's, when the caller has just read them (and nothing
    in the request has changed the record since)."""
    record = record or patient_record(patient=review.patient, history=False)
    screening = screening or patient_screening(record, today=today)
    assessments = {a.medication_id: a for a in review.assessments.all()}
    per_medication, per_class = adherence(review.patient, today=today, active=record.active_medications)
    adherence_of = {line.medication.pk: line.coverage for line in per_medication}
    problems = list(
        review.problems.prefetch_related(
            "medications",
            Prefetch("recommendations", queryset=Recommendation.objects.select_related("prescriber")),
        )
    )
    confirmed = {p.finding_id: p for p in problems if p.finding_id}
    dismissed, earlier = dismissals_of(review)
    return Workspace(
        review=review,
        record=record,
        screening=screening,
        medications=[
            MedicationLine(m, assessments.get(m.pk), adherence_of.get(m.pk))
            for m in record.active_medications
        ],
        class_adherence=per_class,
        findings=[
            FindingLine(f, confirmed.get(f["id"]), dismissed.get(f["id"]), earlier.get(f["id"]))
            for f in screening.findings
        ],
        problems=problems,
        addenda=list(review.addenda.select_related("written_by"))
        if review.is_locked
        else [],  # shown once locked
        changes=list(review.medication_changes.select_related("medication", "made_by")),
        clinical=clinical_context(record, screening, today=today),
    )


# --- Reports ---------------------------------------------------------------------------------------


def completed_in_period(*, user, start: datetime.date, end: datetime.date) -> QuerySet[Review]:
    """Completed reviews whose completion falls on `start`..`end` in the organisation's time zone."""
    zone = timezone.get_current_timezone()
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return reviews_visible_to(user).filter(
        status="completed", completed_at__gte=since, completed_at__lt=until
    )


BILLING_HEADER = [
    "date_of_service", "patient_last_name", "patient_first_name", "date_of_birth", "health_plan", "member_id",
    "review", "method", "pharmacist", "minutes", "patient_status", "cpt_code", "units", "review_id",
]  # fmt: skip


def billing_csv(user, parameters: dict) -> CsvExport:
    """The billing export of a period (`start` and `end`, ISO dates): one line per CPT code of each
    completed review, read from the database a few hundred reviews at a time as the lines are
    written (an export of any period, in flat memory). Streamed by the outcomes page, or prepared by
    the worker for a long period (mtm/exports.py). Dates in the organisation's time zone, the one
    active when this is called."""
    start, end = (datetime.date.fromisoformat(parameters[name]) for name in ("start", "end"))
    reviews = completed_in_period(user=user, start=start, end=end).order_by("completed_at", "pk")
    zone = timezone.get_current_timezone()  # the rows are written later, perhaps after the view returned

    def lines(review: Review) -> list[list]:
        patient, pharmacist = review.patient, review.pharmacist
        values = [
            review.completed_at.astimezone(zone).date().isoformat(), patient.last_name, patient.first_name,
            patient.date_of_birth.isoformat(), patient.plan_name, patient.member_id, review.kind.upper(),
            review.get_method_display(), pharmacist.get_full_name() or pharmacist.username, review.minutes_spent,
            "new" if review.new_patient else "established",
        ]  # fmt: skip
        units = cpt_units(minutes=review.minutes_spent or 0, new_patient=bool(review.new_patient))
        return [
            [spreadsheet_safe(value) for value in [*values, code, count, review.pk]] for code, count in units
        ]

    return CsvExport(
        filename=f"mtm-billing-{start:%Y%m%d}-{end:%Y%m%d}.csv",
        header=BILLING_HEADER,
        items=(lines(review) for review in reviews.iterator(chunk_size=500)),
        count=reviews.count,
    )


@dataclass
class Outcomes:
    label: str
    reviews: int = 0
    cmrs: int = 0
    tmrs: int = 0
    minutes: int = 0
    problems: int = 0
    resolved: int = 0
    by_category: dict[str, int] | None = None
    to_prescribers: int = 0
    answered: int = 0
    accepted: int = 0

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.answered if self.answered else None


def outcomes(*, user, start: datetime.date, end: datetime.date) -> tuple[Outcomes, list[Outcomes]]:
    """For the organisation and per pharmacist: reviews done, problems found by category and
    resolved, and how many prescriber recommendations were accepted (as given or modified) of those
    answered. A fixed number of aggregate queries whatever the period holds."""
    reviews = completed_in_period(user=user, start=start, end=end)
    per_pharmacist: dict = {}
    for row in reviews.values(
        "pharmacist", "pharmacist__first_name", "pharmacist__last_name", "pharmacist__username"
    ).annotate(count=Count("id"), cmrs=Count("id", filter=Q(kind="cmr")), minutes=Sum("minutes_spent")):
        name = (
            f"{row['pharmacist__first_name']} {row['pharmacist__last_name']}".strip()
            or row["pharmacist__username"]
        )
        per_pharmacist[row["pharmacist"]] = Outcomes(
            name, reviews=row["count"], cmrs=row["cmrs"], tmrs=row["count"] - row["cmrs"],
            minutes=row["minutes"] or 0, by_category={},
        )  # fmt: skip
    problems = Problem.objects.filter(review__in=reviews)
    for row in problems.values("review__pharmacist", "category").annotate(
        count=Count("id"), resolved=Count("id", filter=Q(status="resolved"))
    ):
        line = per_pharmacist[row["review__pharmacist"]]
        line.problems += row["count"]
        line.resolved += row["resolved"]
        line.by_category[row["category"]] = line.by_category.get(row["category"], 0) + row["count"]
    answered = [Response.ACCEPTED, Response.MODIFIED, Response.DECLINED, Response.NO_RESPONSE]
    for row in (
        Recommendation.objects.filter(problem__review__in=reviews, audience=Audience.PRESCRIBER)
        .values("problem__review__pharmacist")
        .annotate(
            count=Count("id"),
            answered=Count("id", filter=Q(response__in=answered)),
            accepted=Count("id", filter=Q(response__in=[Response.ACCEPTED, Response.MODIFIED])),
        )
    ):
        line = per_pharmacist[row["problem__review__pharmacist"]]
        line.to_prescribers, line.answered, line.accepted = row["count"], row["answered"], row["accepted"]

    total = Outcomes(user.organisation.name if user.organisation else "", by_category={})
    for line in per_pharmacist.values():
        for name in (
            "reviews",
            "cmrs",
            "tmrs",
            "minutes",
            "problems",
            "resolved",
            "to_prescribers",
            "answered",
            "accepted",
        ):
            setattr(total, name, getattr(total, name) + getattr(line, name))
        for category, count in line.by_category.items():
            total.by_category[category] = total.by_category.get(category, 0) + count
    return total, sorted(per_pharmacist.values(), key=lambda line: line.label)


# --- Quality measures from fills (reviews/measures.py) ------------------------------------------


def patient_measures(patient, *, year: int, today: datetime.date) -> list[MeasureResult]:
    """Every quality measure of the measurement year for one patient, from their fills (those of
    the year before too, for the supply they carry into it), their conditions present in the year
    and their age. Raises MeasureRulesError for a year without rules."""
    kb = knowledge_base()
    measure_set = measures_for_organisation(kb, year, patient.organisation_id)
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    fills = []
    rows = patient.fills.filter(fill_date__gte=first - datetime.timedelta(days=365), fill_date__lte=last)
    for day, days_supply, name, ndc, rxcui, listed in rows.values_list(
        "fill_date", "days_supply", "drug_name", "ndc", "rxcui", "medication__ingredients"
    ).order_by("fill_date"):
        ingredients = frozenset(i["name"] for i in listed or ()) or ingredients_of(name, ndc, rxcui)
        if ingredients:
            fills.append(MeasureFill(day, days_supply, ingredients))
    conditions = patient.conditions.exclude(icd10_code="").filter(
        Q(onset_date__isnull=True) | Q(onset_date__lte=last),
        Q(resolved_date__isnull=True) | Q(resolved_date__gte=first),
    )
    facts = MeasurePatient(
        date_of_birth=patient.date_of_birth,
        fills=tuple(fills),
        conditions=tuple(conditions.values_list("icd10_code", flat=True)),
        hospice=patient.hospice,
    )
    return measures_patient(measure_set, facts, year=year, today=today if first <= today <= last else None)
