"""The MTM program of a whole organisation for one year: eligibility, enrolment and quality measures.

A run (ProgramRun) is computed by the Celery worker in chunks of CHUNK patients, in primary-key
order. Each chunk reads its patients' fills, conditions and medications in a few set-based queries,
works out each patient's quality measures (reviews/measures.py) and, for each of the organisation's
programs that year, whether they meet its targeting criteria (reviews/eligibility.py), then writes
the results and the run's cursor in one transaction: a run that stopped (the worker restarted) goes on
from its cursor when it is queued again, and never leaves a chunk half written.

A patient whose data has not changed since their results were stored is skipped: PatientYear keeps a
signature of their record, fills, conditions and medications and of the rules and programs. Results
of the running year also count days up to today, so they are recomputed once a day as well (the
nightly run); a run after an import recomputes only the patients the import changed.

Patients who newly meet a program's criteria are enrolled (targeting reason 01), dated the day they
met them, not before the contract year starts; an enrolment is never undone by a later run (a patient
leaves a program by opting out).
"""

import contextlib
import datetime
import hashlib
import logging
import time
from collections import defaultdict
from decimal import Decimal

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery
from django.utils import timezone

from interactions.selectors import knowledge_base
from mtm.audit import Actor
from mtm.models import AuditAction, AuditEvent, Organisation
from mtm.outbox import enqueue
from mtm.records import record_create, record_update
from mtm.scoping import scope_to_organisation
from patients.interop.fills import ingredients_of
from patients.models import (
    Condition,
    ConditionStatus,
    MedicationEntry,
    MedicationSource,
    MedicationStatus,
    Patient,
    PharmacyFill,
)
from reviews import eligibility as targeting
from reviews import measures, value_sets
from reviews import services as review_services
from reviews.models import (
    CmrOffer,
    Enrollment,
    MtmProgram,
    PatientEligibility,
    PatientMeasure,
    PatientYear,
    ProgramRun,
    ProgramRunStatus,
    Review,
    ReviewKind,
    ReviewMethod,
    ReviewStatus,
    TargetingReason,
)

logger = logging.getLogger(__name__)

CHUNK = 500
TASK_SECONDS = 120  # one task computes chunks for this long, then queues the next (mtm/outbox.py
# re-runs a task still running after 15 minutes, taking its worker for dead)
RUN_BY = "MTM program run"  # the audit's actor for enrolments a run makes


def run_request(*, organisation: Organisation, year: int, user=None) -> ProgramRun:
    """Queue a run for the organisation and year, unless one is already waiting or running."""
    measures.measures_for_year(knowledge_base(), year)  # refuses a year without rules, here and now
    with transaction.atomic():
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()  # one at a time
        pending = ProgramRun.objects.filter(
            organisation=organisation,
            year=year,
            status__in=[ProgramRunStatus.QUEUED, ProgramRunStatus.RUNNING],
        ).first()
        if pending is not None:
            return pending
        run = ProgramRun.objects.create(organisation=organisation, year=year, requested_by=user)
        enqueue(compute_run, str(run.pk))
    return run


def latest_run(*, organisation, year: int, done: bool = False) -> ProgramRun | None:
    runs = ProgramRun.objects.filter(organisation=organisation, year=year)
    return (runs.filter(status=ProgramRunStatus.DONE) if done else runs).first()


@shared_task(name="reviews.program.compute_run")
def compute_run(run_id: str) -> None:
    run = ProgramRun.objects.select_related("organisation").filter(pk=run_id).first()
    if run is None or run.status == ProgramRunStatus.DONE:
        return
    try:
        run = run_compute(run, seconds=TASK_SECONDS)
    except Exception as error:
        logger.exception("Program run %s failed", run_id)
        ProgramRun.objects.filter(pk=run.pk).update(
            status=ProgramRunStatus.FAILED,
            error=f"Stopped on an unexpected error ({type(error).__name__}); run it again to go on.",
            finished_at=timezone.now(),
        )
        raise
    if run.status != ProgramRunStatus.DONE:  # its time is up: the next task goes on from the cursor
        with transaction.atomic():
            enqueue(compute_run, str(run.pk))


@shared_task(name="reviews.program.nightly")
def nightly() -> int:
    """Each organisation's running year, recomputed overnight (days up to today move every day)."""
    count = 0
    for organisation in Organisation.objects.all():
        run_request(organisation=organisation, year=organisation.today().year)
        count += 1
    return count


def after_import(organisation_id) -> None:
    """Called when an import has written fills or a record: the running year's results are brought
    up to date for the patients it changed (the others are skipped by their signature)."""
    organisation = Organisation.objects.get(pk=organisation_id)
    try:
        run_request(organisation=organisation, year=organisation.today().year)
    except measures.MeasureRulesError as error:  # the import stands; the year's rules are missing
        logger.warning("No program run after an import: %s", error)


def run_compute(
    run: ProgramRun,
    *,
    chunk: int | None = None,
    seconds: float | None = None,
    stop_after: int | None = None,
    today: datetime.date | None = None,
) -> ProgramRun:
    """Compute the run from its cursor on, for at most about `seconds` (a chunk is never cut).
    `stop_after` (chunks) and `today` are for tests."""
    deadline = time.monotonic() + seconds if seconds is not None else None
    chunk = chunk or CHUNK
    organisation = run.organisation
    patients = Patient.objects.filter(organisation=organisation).order_by("pk")
    ProgramRun.objects.filter(pk=run.pk).update(
        status=ProgramRunStatus.RUNNING, patients_total=patients.count(), error=""
    )
    context = _Context(run, today=today or run.organisation.today())
    chunks = 0
    while True:
        ids = list(
            (patients.filter(pk__gt=run.cursor) if run.cursor else patients).values_list("pk", flat=True)[
                :chunk
            ]
        )
        if not ids:
            break
        with transaction.atomic():
            computed = _compute_chunk(context, ids)
            run.cursor = ids[-1]
            run.patients_done += len(ids)
            run.patients_computed += computed
            ProgramRun.objects.filter(pk=run.pk).update(
                cursor=run.cursor, patients_done=run.patients_done, patients_computed=run.patients_computed
            )
        chunks += 1
        if (stop_after is not None and chunks >= stop_after) or (deadline and time.monotonic() > deadline):
            return run
    run.status, run.finished_at = ProgramRunStatus.DONE, timezone.now()
    run.rates = _jsonable(_count_rates(organisation=organisation, year=run.year))
    ProgramRun.objects.filter(pk=run.pk).update(
        status=run.status, finished_at=run.finished_at, rates=run.rates
    )
    return run


def _jsonable(rates: list[dict]) -> list[dict]:
    return [{**r, "rate": str(r["rate"]) if r["rate"] is not None else None} for r in rates]


class _Context:
    """What every chunk of a run shares: the rules, the programs, the dates."""

    def __init__(self, run: ProgramRun, *, today: datetime.date):
        self.organisation = run.organisation
        self.year = run.year
        self.kb = knowledge_base()
        self.measure_set = value_sets.measures_for_organisation(self.kb, run.year, run.organisation_id)
        self.programs = list(MtmProgram.objects.filter(organisation=run.organisation, year=run.year))
        self.targeting = targeting.targeting_year(run.year, self.kb) if self.programs else None
        self.today = today
        self.first, self.last = datetime.date(run.year, 1, 1), datetime.date(run.year, 12, 31)
        self.running_year = self.first <= self.today <= self.last
        self.on = min(self.today, self.last)  # the day eligibility is decided
        rules = (
            b"".join(path.read_bytes() for path in (measures.RULES_FILE, targeting.RULES_FILE))
            + self.kb.version.encode()
        )
        programs = ";".join(f"{p.pk}:{p.version}" for p in self.programs)
        licensed = value_sets.value_sets_signature(run.organisation_id)
        self.rules_signature = hashlib.sha256(rules + licensed.encode()).hexdigest() + programs


def _stamps(model, ids) -> dict:
    rows = (
        model.objects.filter(patient_id__in=ids)
        .values("patient_id")
        .annotate(n=Count("pk"), at=Max("updated_at"))
    )
    return {row["patient_id"]: f"{row['n']}@{row['at'].isoformat()}" for row in rows}


def _signatures(context: _Context, ids: list) -> dict:
    fills, conditions, medications = (_stamps(m, ids) for m in (PharmacyFill, Condition, MedicationEntry))
    signatures = {}
    for pk, born, hospice, updated in Patient.objects.filter(pk__in=ids).values_list(
        "pk", "date_of_birth", "hospice", "updated_at"
    ):
        text = "|".join(
            [context.rules_signature, str(born), str(hospice), updated.isoformat(),
             fills.get(pk, ""), conditions.get(pk, ""), medications.get(pk, "")]
        )  # fmt: skip
        signatures[pk] = hashlib.sha256(text.encode()).hexdigest()
    return signatures


def _compute_chunk(context: _Context, ids: list) -> int:
    """Results for the chunk's patients whose data changed; returns how many were computed."""
    signatures = _signatures(context, ids)
    stored = {
        pk: (signature, on)
        for pk, signature, on in PatientYear.objects.filter(
            patient_id__in=ids, year=context.year
        ).values_list("patient_id", "signature", "computed_on")
    }
    changed = [
        pk
        for pk in ids
        if pk in signatures
        and (
            stored.get(pk, (None, None))[0] != signatures[pk]
            or (context.running_year and stored[pk][1] != context.today)
        )
    ]
    if not changed:
        return 0
    facts = _facts(context, changed)
    measure_rows, eligibility_rows, met = [], [], []
    for pk in changed:
        patient = facts[pk]
        results = measures.measures_patient(
            context.measure_set,
            patient["measures"],
            year=context.year,
            today=context.today if context.running_year else None,
        )
        measure_rows += [_measure_row(context, pk, result) for result in results]
        for program in context.programs:
            decision = targeting.patient_eligibility(
                criteria=program.criteria(), rules=context.targeting, kb=context.kb,
                conditions=patient["conditions"], fills=patient["fills"], listed=patient["listed"], on=context.on,
            )  # fmt: skip
            eligibility_rows.append(_eligibility_row(context, program, pk, decision))
            if decision.met:
                met.append((program, pk, decision.date_met))
    PatientMeasure.objects.filter(patient_id__in=changed, year=context.year).delete()
    PatientMeasure.objects.bulk_create(measure_rows)
    PatientEligibility.objects.filter(program__in=context.programs, patient_id__in=changed).delete()
    PatientEligibility.objects.bulk_create(eligibility_rows)
    _enrol(context, met)
    PatientYear.objects.filter(patient_id__in=changed, year=context.year).delete()
    PatientYear.objects.bulk_create(
        [
            PatientYear(patient_id=pk, year=context.year, signature=signatures[pk], computed_on=context.today)
            for pk in changed
        ]
    )
    return len(changed)


def _facts(context: _Context, ids: list) -> dict:
    """Per patient: the facts the measures and the eligibility rules read, in four queries."""
    since = min(context.first - datetime.timedelta(days=365), context.on - datetime.timedelta(days=364))
    fills, drug_fills = defaultdict(list), defaultdict(list)
    rows = (
        PharmacyFill.objects.filter(patient_id__in=ids, fill_date__gte=since, fill_date__lte=context.last)
        .order_by("patient_id", "fill_date")
        .values_list(
            "patient_id", "fill_date", "days_supply", "drug_name", "ndc", "rxcui", "total_cost",
            "medication__ingredients",
        )
    )  # fmt: skip
    for pk, day, days_supply, name, ndc, rxcui, cost, listed in rows.iterator(chunk_size=5000):
        ingredients = frozenset(i["name"] for i in listed or ()) or ingredients_of(name, ndc, rxcui)
        if not ingredients:
            continue
        fills[pk].append(measures.MeasureFill(day, days_supply, ingredients))
        drug_fills[pk].append(targeting.DrugFill(day, days_supply, ingredients, cost))
    in_year, dated = defaultdict(list), defaultdict(list)
    for pk, code, onset, resolved, status, created in (
        Condition.objects.filter(patient_id__in=ids).exclude(icd10_code="")
        .values_list("patient_id", "icd10_code", "onset_date", "resolved_date", "status", "created_at")
    ):  # fmt: skip
        if (onset is None or onset <= context.last) and (resolved is None or resolved >= context.first):
            in_year[pk].append(code)
        gone = status == ConditionStatus.RESOLVED and (resolved is None or resolved <= context.on)
        if not gone:
            dated[pk].append(
                targeting.DatedCondition(code, onset or context.organisation.local_date(created))
            )
    listed = defaultdict(list)
    for pk, ingredients, started, created in MedicationEntry.objects.filter(
        patient_id__in=ids, status=MedicationStatus.ACTIVE, source=MedicationSource.PRESCRIPTION
    ).values_list("patient_id", "ingredients", "start_date", "created_at"):
        names = frozenset(i["name"] for i in ingredients or ())
        if names:
            listed[pk].append(
                targeting.ListedDrug(names, started or context.organisation.local_date(created))
            )
    facts = {}
    for pk, born, hospice in Patient.objects.filter(pk__in=ids).values_list("pk", "date_of_birth", "hospice"):
        facts[pk] = {
            "measures": measures.MeasurePatient(born, tuple(fills[pk]), tuple(in_year[pk]), hospice),
            "fills": drug_fills[pk],
            "conditions": dated[pk],
            "listed": listed[pk],
        }
    return facts


def _measure_row(context: _Context, pk, result: measures.MeasureResult) -> PatientMeasure:
    return PatientMeasure(
        organisation=context.organisation, patient_id=pk, year=context.year, code=result.code,
        in_denominator=result.in_denominator, met=result.met, exclusion=result.exclusion,
        days_covered=result.days_covered, days_in_period=result.days_in_period,
        concurrent_days=result.concurrent_days, days_can_miss=result.days_can_miss, computed_on=context.today,
    )  # fmt: skip


def _eligibility_row(context: _Context, program: MtmProgram, pk, decision) -> PatientEligibility:
    return PatientEligibility(
        program=program, patient_id=pk, met=decision.met, met_on=decision.date_met,
        diseases=[label.split(" (")[0] for label in decision.diseases], drugs=len(decision.drugs), annual_cost=decision.annual_cost,
        cost_estimated=decision.cost_estimated, missing=list(decision.missing),
        missing_count=len(decision.missing), computed_on=context.today,
    )  # fmt: skip


def _enrol(context: _Context, met: list) -> None:
    """Enrol the patients who met a program's criteria and are not enrolled in it yet."""
    if not met:
        return
    enrolled = set(
        Enrollment.objects.filter(
            program__in=context.programs, patient_id__in={pk for _, pk, _ in met}
        ).values_list("program_id", "patient_id")
    )
    new = []
    for program, pk, date_met in met:
        if (program.pk, pk) in enrolled:
            continue
        day = max(date_met or context.on, context.first)
        new.append(Enrollment(organisation=context.organisation, program=program, patient_id=pk,
                              targeting_reason=TargetingReason.CRITERIA, met_on=day, enrolled_on=day))  # fmt: skip
    Enrollment.objects.bulk_create(new)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organisation_id=context.organisation.pk,
            actor_username=RUN_BY,
            action=AuditAction.CREATE,
            patient_id=e.patient_id,
            object_type=Enrollment._meta.label_lower,
            object_id=str(e.pk),
            object_repr=f"Enrolled in {e.program}"[:200],
            via="task",
            changes={"program": [None, str(e.program)], "met_on": [None, e.met_on.isoformat()]},
        )
        for e in new
    )


# --- What people do from the worklists -----------------------------------------------------------------


@transaction.atomic
def program_save(*, program: MtmProgram, data: dict, version: int | None, by: Actor) -> MtmProgram:
    """A program created or its criteria changed; its patients are then worked out again."""
    if not program._state.adding:
        saved = record_update(program, data=data, version=version, by=by)
    else:
        saved = record_create(MtmProgram(organisation=program.organisation, **data), by=by)
    with contextlib.suppress(measures.MeasureRulesError):  # a year without measure rules has no run
        run_request(organisation=saved.organisation, year=saved.year, user=by.user)
    return saved


def measure_reason(row: PatientMeasure) -> str:
    """Why a targeted review is opened for a stored measure result, in plain words."""
    measure = measures.measures_for_year(knowledge_base(), row.year).measures.get(row.code)
    name = measure.name if measure else row.code
    if row.days_can_miss is not None and row.days_in_period:
        covered = f"{row.days_covered} of {row.days_in_period} days covered so far"
        if row.days_can_miss >= 0:
            return f"{name}: at most {row.days_can_miss} more days without medication keep 80% within reach ({covered})"
        return f"{name}: 80% can no longer be reached in {row.year} ({covered})"
    if row.concurrent_days:
        return f"{name}: {row.concurrent_days} days of concurrent use in {row.year}"
    return f"{name} ({row.year})"


@transaction.atomic
def offer_record(*, enrollment: Enrollment, data: dict, by: Actor) -> CmrOffer:
    """A CMR offered (date, how, to whom)."""
    offer = CmrOffer(enrollment=enrollment, offered_by=by.user, **data)
    if offer.offered_on and offer.offered_on < enrollment.enrolled_on:
        raise ValidationError(
            {"offered_on": f"The offer cannot be before the enrolment ({enrollment.enrolled_on:%m/%d/%Y})."}
        )
    return record_create(offer, by=by)


@transaction.atomic
def opt_out_record(*, enrollment: Enrollment, data: dict, version: int, by: Actor) -> Enrollment:
    return record_update(enrollment, data=data, version=version, by=by)


@transaction.atomic
def cmr_open(*, enrollment: Enrollment, by: Actor) -> Review:
    """The enrolled patient's CMR, opened (or the review already open for them)."""
    return _open(enrollment.patient, {"kind": ReviewKind.CMR}, by=by)


@transaction.atomic
def tmr_open(*, patient: Patient, reason: str, source: str, by: Actor) -> Review:
    """A targeted review opened with its reason (a measure at risk, a safety signal)."""
    return _open(
        patient, {"kind": ReviewKind.TMR, "method": ReviewMethod.PHONE, "reason": reason, "reason_source": source},
        by=by,
    )  # fmt: skip


def _open(patient: Patient, data: dict, *, by: Actor) -> Review:
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # two clicks open one review
    open_review = patient.reviews.exclude(status=ReviewStatus.COMPLETED).first()
    if open_review is not None:
        return open_review
    return review_services.review_create(patient=patient, data=data, by=by)


# --- What the pages and the API read ------------------------------------------------------------------


def _open_review() -> dict:
    """Annotations: the review (and its kind) open for each row's patient, if any."""
    open_review = Review.objects.filter(patient=OuterRef("patient")).exclude(status=ReviewStatus.COMPLETED)
    return {
        "open_review_id": Subquery(open_review.values("pk")[:1]),
        "open_review_kind": Subquery(open_review.values("kind")[:1]),
    }


def programs_of(user):
    return scope_to_organisation(MtmProgram.objects.all(), user)


def eligible_worklist(*, user, program: MtmProgram):
    """Enrolled patients still in the program without a CMR completed in the contract year, the
    earliest met first: their last offer and any review open for them on each row."""
    first = datetime.date(program.year, 1, 1)
    cmr_done = Review.objects.filter(
        patient=OuterRef("patient"), kind=ReviewKind.CMR, status=ReviewStatus.COMPLETED,
        completed_at__date__gte=first, completed_at__date__lte=datetime.date(program.year, 12, 31),
    )  # fmt: skip
    offers = CmrOffer.objects.filter(enrollment=OuterRef("pk"))
    return (
        scope_to_organisation(Enrollment.objects.filter(program=program, opted_out_on__isnull=True), user)
        .annotate(
            last_offer=Subquery(offers.order_by("-offered_on").values("offered_on")[:1]),
            offers_count=Subquery(offers.values("enrollment").annotate(n=Count("pk")).values("n")[:1]),
            **_open_review(),
        )
        .filter(~Exists(cmr_done))
        .select_related("patient")
        .order_by("met_on", "pk")  # an index walk (enrollment_worklist), however long the program
    )


def eligibility_of(program: MtmProgram, patient_ids) -> dict:
    """The stored eligibility of some patients (a page's), by patient."""
    return {
        e.patient_id: e
        for e in PatientEligibility.objects.filter(program=program, patient_id__in=patient_ids)
    }


def close_to_qualifying(*, user, program: MtmProgram):
    """Patients missing one criterion of the program, not enrolled in it."""
    return (
        scope_to_organisation(PatientEligibility.objects.filter(program=program, met=False, missing_count=1), user,
                              path="program__organisation")
        .select_related("patient")
        .order_by("patient__last_name", "patient__first_name", "pk")
    )  # fmt: skip


def at_risk_worklist(*, user, year: int, lost: bool = False):
    """PDC measures that will be failed unless something changes: the fewest days left to miss
    first (`lost`: those that can no longer be met this year)."""
    rows = PatientMeasure.objects.filter(year=year, met=False, days_can_miss__isnull=False)
    rows = rows.filter(days_can_miss__lt=0) if lost else rows.filter(days_can_miss__gte=0)
    return (
        scope_to_organisation(rows, user)
        .annotate(**_open_review())
        .select_related("patient")
        .order_by("-days_can_miss" if lost else "days_can_miss", "pk")  # an index walk (measure_at_risk)
    )


def safety_signals(*, user, year: int, codes: list[str]):
    """Measures where meeting the criterion is the problem (concurrent opioid and benzodiazepine
    use, several anticholinergic or CNS-active drugs together)."""
    return (
        scope_to_organisation(PatientMeasure.objects.filter(year=year, met=True, code__in=codes), user)
        .annotate(**_open_review())
        .select_related("patient")
        .order_by("-concurrent_days", "pk")
    )


def targeted_reviews(*, user, year: int) -> dict:
    """Targeted reviews opened in the year: how many, by what raised them, and how they ended."""
    rows = scope_to_organisation(Review.objects.filter(kind=ReviewKind.TMR, created_at__year=year), user)
    by_source = rows.values("reason_source").annotate(n=Count("pk")).order_by("reason_source")
    by_result = rows.values("result").annotate(n=Count("pk")).order_by("result")
    sources: dict[str, int] = defaultdict(int)
    for row in by_source:  # each screening finding has its own id: counted together
        source = row["reason_source"] or "other"
        sources["screening finding" if source.startswith("finding:") else source] += row["n"]
    return {
        "total": sum(sources.values()),
        "by_source": sorted(sources.items()),
        "by_result": [(row["result"], row["n"]) for row in by_result],
    }


def organisation_rates(*, organisation, year: int) -> list[dict]:
    """Per measure: denominator, numerator (met), rate, excluded, at risk, lost — as the last run
    that finished left them (counted again only when none did)."""
    done = latest_run(organisation=organisation, year=year, done=True)
    if done is not None and done.rates is not None:
        return [{**r, "rate": Decimal(r["rate"]) if r["rate"] is not None else None} for r in done.rates]
    return _count_rates(organisation=organisation, year=year)


def _count_rates(*, organisation, year: int) -> list[dict]:
    """The rates counted from the stored results: one grouped query."""
    rows = (
        PatientMeasure.objects.filter(organisation=organisation, year=year)
        .values("code")
        .annotate(
            n_denominator=Count("pk", filter=Q(in_denominator=True)),
            n_met=Count("pk", filter=Q(met=True)),
            n_excluded=Count("pk", filter=~Q(exclusion="")),
            n_at_risk=Count("pk", filter=Q(met=False, days_can_miss__gte=0)),
            n_lost=Count("pk", filter=Q(met=False, days_can_miss__lt=0)),
        )
    )
    by_code = {row["code"]: row for row in rows}
    rates = []
    measure_set = measures.measures_for_year(knowledge_base(), year)
    for code, measure in measure_set.measures.items():
        row = by_code.get(code, {})
        denominator, met = row.get("n_denominator", 0), row.get("n_met", 0)
        rates.append(
            {
                "code": code, "name": measure.name, "lower_is_better": measure.lower_is_better,
                "denominator": denominator, "numerator": met,
                "rate": (Decimal(met) / denominator).quantize(Decimal("0.0001")) if denominator else None,
                "excluded": row.get("n_excluded", 0), "at_risk": row.get("n_at_risk", 0), "lost": row.get("n_lost", 0),
            }
        )  # fmt: skip
    return rates
