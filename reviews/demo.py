"""Demo reviews: Margaret Okafor's completed CMR (for the action plan and the outcomes page), as a
pharmacist would have documented it. Fictional, like every demo record."""

import datetime

from django.utils import timezone

from mtm.audit import Actor
from mtm.demo import DemoContext
from patients.models import Patient
from reviews import program, services
from reviews.eligibility import TargetingRulesError, targeting_year
from reviews.models import Audience, MtmProgram, PatientAction, ProblemCategory, Response, Review
from reviews.selectors import review_findings

DAYS_AGO = 9  # completed 9 days ago: the written summary is still due within 14 days


def seed(context: DemoContext) -> None:
    _okafor_cmr(context)
    _program(context)


def _program(context: DemoContext) -> None:
    """Riverside's MTM program for the running year, worked out once (the nightly run keeps it)."""
    organisation = context.organisations["riverside"]
    year = organisation.today().year
    try:
        targeting_year(year)
    except TargetingRulesError:
        return  # no criteria for this year in reviews/rules/targeting.yaml: nothing to show
    if MtmProgram.objects.filter(organisation=organisation, year=year).exists():
        return
    by = Actor(user=context.users["demo-admin"], via="cli")
    program.program_save(
        program=MtmProgram(organisation=organisation),
        data={"contract_number": "H1234", "year": year, "name": "Riverside Health Plan (demo)",
              "min_diseases": 2, "min_drugs": 4, "cost_threshold": 1000},
        version=None, by=by,
    )  # fmt: skip
    run = program.latest_run(organisation=organisation, year=year)
    if run is not None and run.status != "done":
        program.run_compute(run)  # here and now, so that the demo opens with its worklists filled
    context.count("MTM programs")


def _okafor_cmr(context: DemoContext) -> None:
    patient = Patient.objects.filter(
        organisation=context.organisations["riverside"], first_name="Margaret", last_name="Okafor"
    ).first()
    if patient is None or Review.objects.filter(patient=patient).exists():
        return
    by = Actor(user=context.users["demo-pharmacist"], via="cli")
    today = patient.organisation.today()
    review = services.review_create(
        patient=patient,
        data={
            "kind": "cmr",
            "method": "in_person",
            "consent_noted": True,
            "notes": "Daughter joined by phone.",
            "long_term_care": "N",
            "cognitive_impairment": "N",
        },
        by=by,
    )
    review = services.review_start(review=review, version=review.version, by=by)
    medications = {m.name: m for m in patient.medications.filter(status="active")}
    for name, answers in {
        "Advil": {"purpose": "knee pain", "still_needed": "no", "safe": "no", "better_alternative": "acetaminophen; Voltaren gel"},
        "Benadryl at night": {"purpose": "sleep", "still_needed": "unsure", "safe": "no", "understands": "no"},
        "metformin 1000 mg": {"purpose": "diabetes", "still_needed": "yes", "working": "yes", "safe": "unsure"},
        "lisinopril 40 mg": {"purpose": "blood pressure and kidneys", "still_needed": "yes", "working": "yes", "safe": "yes"},
    }.items():  # fmt: skip
        if name in medications:
            services.assessment_save(
                review=review, medication=medications[name], data=answers, version=None, by=by
            )

    findings = {f["rule"]: f for f in review_findings(review, today=today)}
    prescriber = next(
        (m.prescriber for m in medications.values() if m.prescriber and "lisinopril" in m.name), None
    )
    if "triple-whammy" in findings:
        problem = services.finding_confirm(review=review, finding=findings["triple-whammy"], data={}, by=by)
        services.recommendation_add(
            problem=problem,
            data={
                "audience": Audience.PATIENT, "action": PatientAction.REPLACE_DRUG,
                "text": "Stop Advil; use Tylenol (up to 3 g a day in all) and Voltaren gel for the knee.",
                "talked_about": "Advil with your blood pressure pills can hurt your kidneys, which already work at about a third.",
                "to_do": "Stop taking Advil. For knee pain, take Tylenol 500 mg, 1 to 2 tablets up to 3 times a day, and rub Voltaren gel on the knee.",
            },
            by=by,
        )  # fmt: skip
        if prescriber:
            to_prescriber = services.recommendation_add(
                problem=problem,
                data={"audience": Audience.PRESCRIBER, "prescriber": prescriber,
                      "text": "Advise against ibuprofen (CKD stage 4 with lisinopril and HCTZ); acetaminophen and topical diclofenac for knee OA."},
                by=by,
            )  # fmt: skip
    for rule in ("ckd-stage4-nsaid", "renal-nsaid", "renal-metformin"):
        if rule in findings:
            problem = services.finding_confirm(review=review, finding=findings[rule], data={}, by=by)
            services.problem_update(
                problem=problem, data={"no_recommendation_reason": "Covered by the Advil recommendation" if "nsaid" in rule
                                       else "Kidney function about 25 mL/min: stopping metformin is with the nephrologist this week"},
                version=problem.version, by=by,
            )  # fmt: skip
    sleep = services.problem_add(
        review=review,
        data={"title": "Takes Benadryl nightly for sleep", "category": ProblemCategory.ADVERSE_REACTION,
              "details": "Strongly anticholinergic at 74: confusion, falls, constipation."},
        medications=[m for n, m in medications.items() if n.startswith("Benadryl")], by=by,
    )  # fmt: skip
    services.recommendation_add(
        problem=sleep,
        data={"audience": Audience.PATIENT, "action": PatientAction.LIFESTYLE, "text": "Stop Benadryl; sleep habits first.",
              "talked_about": "Benadryl can cause confusion and falls in people over 65.",
              "to_do": "Stop Benadryl. Go to bed and get up at the same time; no caffeine after noon. Call us if sleep does not improve in 2 weeks."},
        by=by,
    )  # fmt: skip
    for rule in ("same-ingredient",):
        duplicate = next((f for f in findings.values() if f["rule"] == rule), None)
        if duplicate:
            services.finding_dismiss(
                review=review, finding=duplicate, reason="Total vitamin D 2,800 units a day: fine", by=by
            )
    review = services.review_complete(review=review, version=review.version, minutes_spent=42, by=by)
    if prescriber:
        sent = today - datetime.timedelta(days=DAYS_AGO)
        services.recommendations_sent(recommendations=[to_prescriber], on=sent, by=by)
        to_prescriber.refresh_from_db()
        services.prescriber_response_record(
            recommendation=to_prescriber, response=Response.ACCEPTED, on=sent + datetime.timedelta(days=3),
            note="Agreed; will see her in January.", version=to_prescriber.version, by=Actor(context.users["demo-staff"], via="cli"),
        )  # fmt: skip
    # Demo history: the visit took place DAYS_AGO days ago.
    visit = timezone.now() - datetime.timedelta(days=DAYS_AGO)
    Review.objects.filter(pk=review.pk).update(
        created_at=visit - datetime.timedelta(minutes=50),
        started_at=visit - datetime.timedelta(minutes=45),
        completed_at=visit,
    )
    context.count("reviews")
