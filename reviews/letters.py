"""The prescriber letter: the recommendations of one review to one prescriber, SBAR-structured,
with a response section to tick and fax back. Context -> template -> PDF (shared/STYLE.md)."""

import datetime

from django.template.loader import render_to_string

from patients.models import Prescriber
from patients.selectors import patient_record, patient_screening
from reviews.models import Audience, Recommendation, Review


def prescriber_letter_context(*, review: Review, prescriber: Prescriber, today: datetime.date) -> dict:
    record = patient_record(patient=review.patient, history=False)
    screening = patient_screening(record, today=today)
    recommendations = list(
        Recommendation.objects.filter(
            problem__review=review, audience=Audience.PRESCRIBER, prescriber=prescriber
        )
        .select_related("problem")
        .prefetch_related("problem__medications")
        .order_by("created_at")
    )
    return {
        "organisation": review.organisation,
        "review": review,
        "patient": review.patient,
        "age": review.patient.age_on(today),
        "prescriber": prescriber,
        "pharmacist": review.pharmacist,
        "today": today,
        "medications": record.active_medications,
        "conditions": record.active_conditions,
        "allergies": record.active_allergies,
        "crcl": screening.context.get("crcl_ml_min"),
        "latest": record.latest_measurements,
        "recommendations": recommendations,
    }


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML  # imported here: loading it takes a moment and most requests never need it

    html = render_to_string(template, context)
    return HTML(string=html).write_pdf()


def prescriber_letter_pdf(*, review: Review, prescriber: Prescriber, today: datetime.date) -> bytes:
    context = prescriber_letter_context(review=review, prescriber=prescriber, today=today)
    return render_pdf("reviews/pdf/prescriber_letter.html", context)
