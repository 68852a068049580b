"""Demo: the written summary of Margaret Okafor's completed CMR, prepared and issued, so that
demo-patient finds it in the portal."""

from actionplans import services
from actionplans.models import IssuedDocument
from mtm.audit import Actor
from mtm.demo import DemoContext
from reviews.models import Review


def seed(context: DemoContext) -> None:
    review = Review.objects.filter(
        patient__portal_user__username="demo-patient", kind="cmr", status="completed"
    ).first()
    if review is None or IssuedDocument.objects.filter(review=review).exists():
        return
    by = Actor(user=context.users["demo-pharmacist"], via="cli")
    plan = services.plan_prepare(review=review, by=by)
    plan = services.plan_update(
        plan=plan,
        data={
            "follow_up": "We will call you in about 3 months for a follow-up review. Bring all your pill bottles.",
            "questions": "Ask Dr. Hartman about the knee: would physical therapy help?",
        },
        version=plan.version,
        by=by,
    )
    # The plan stops Advil (Dr. Hartman agreed) and Benadryl (she stopped it the day of the visit):
    # the medication list says so, as the pharmacist would have made it.
    medications = {m.name: m for m in review.patient.medications.all()}
    if "Advil" in medications:
        services.plan_stop_agree(plan=plan, medication=medications["Advil"], by=by)
    if "Benadryl at night" in medications:
        today = review.organisation.today()
        visit = review.organisation.local_date(review.completed_at) if review.completed_at else today
        services.plan_medication_stop(
            plan=plan, medication=medications["Benadryl at night"], on=min(visit, today), by=by
        )
    services.document_issue(plan=plan, by=by, today=review.organisation.today())
    context.count("issued summaries")
