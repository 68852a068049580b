"""The prescriber letter: the recommendations of one review to one prescriber, ready to fax.

Page 1 is what a busy prescriber reads and faxes back: who it is from, the patient, the
question(s), numbered, with the boxes to tick, the signature and the date. The pharmacist's
assessment and the background (medications, conditions, allergies, results, kidney function) follow.
The fax-back number and the patient's name and date of birth head every page, so a loose page finds
its way back. Context -> template -> PDF (shared/STYLE.md): `prescriber_letter_context` is a pure
read, the template lays it out, `prescriber_letter_pdf` renders it.
"""

import datetime
import hashlib

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from mtm.fonts import pdf_fonts, pdf_url_fetcher
from patients.models import Prescriber
from patients.selectors import patient_record
from reviews.assessment import kidney_function_text, patient_kidney_function
from reviews.models import Audience, PrescriberLetter, Recommendation, Review

TEMPLATE = "reviews/pdf/prescriber_letter.html"
ANSWERS_END = "answers-end"  # the anchor after the signature line, which must stay on page 1


def css_string(text: str) -> SafeString:
    """Text as a CSS string, for the page's margin boxes (HTML escaping would print "&#x27;")."""
    escaped = " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    return mark_safe(f'"{escaped}"')  # noqa: S308 -- quoted and escaped for CSS; no "<" left to end the <style>


def prescriber_letter_context(*, review: Review, prescriber: Prescriber, today: datetime.date) -> dict:
    record = patient_record(patient=review.patient, history=False)
    kidney = patient_kidney_function(record, today=today)
    recommendations = list(
        Recommendation.objects.filter(
            problem__review=review, audience=Audience.PRESCRIBER, prescriber=prescriber
        )
        .select_related("problem")
        .prefetch_related("problem__medications")
        .order_by("created_at")
    )
    for recommendation in recommendations:  # named in the assessment already, or listed after it
        details = recommendation.problem.details
        recommendation.unmentioned_medications = [
            m.display_name for m in recommendation.problem.medications.all() if m.display_name not in details
        ]
    organisation = review.organisation
    patient = review.patient
    reply = (
        f"Fax back to {organisation.fax}" if organisation.fax else f"Reply by phone to {organisation.phone}"
    )
    return {
        "organisation": organisation,
        "fax_back": organisation.fax,
        "review": review,
        "patient": review.patient,
        "age": review.patient.age_on(today),
        "prescriber": prescriber,
        "pharmacist": review.pharmacist,
        "today": today,
        "medications": record.active_medications,
        "conditions": record.active_conditions,
        "allergies": record.active_allergies,
        "kidney_function": kidney_function_text(kidney, record.latest_measurements)
        if kidney.get("crcl_ml_min") is not None or kidney.get("egfr_ml_min_1_73m2") is not None
        else "",
        "latest": record.latest_measurements,
        "recommendations": recommendations,
        "margin": {
            "fax_back": css_string(f"{reply} · {organisation.name}"),
            "patient": css_string(
                f"{patient.first_name} {patient.last_name} · DOB {patient.date_of_birth:%m/%d/%Y}"
            ),
            "confidential": css_string("Confidential: protected health information"),
        },
        "compact": False,
        "fonts": pdf_fonts(),
        "answers_end": ANSWERS_END,
    }


def prescriber_letter_pdf(*, review: Review, prescriber: Prescriber, today: datetime.date) -> bytes:
    """The letter's PDF: the one kept for what the letter says today, or rendered now and kept.
    Checking costs the HTML (milliseconds); rendering it with WeasyPrint costs about half a second."""
    context = prescriber_letter_context(review=review, prescriber=prescriber, today=today)
    html = render_to_string(TEMPLATE, context)
    key = hashlib.sha256(html.encode()).hexdigest()
    kept = PrescriberLetter.objects.filter(review=review, prescriber=prescriber, content_sha256=key)
    pdf = kept.values_list("pdf", flat=True).first()
    if pdf is not None:
        return bytes(pdf)
    pdf = render_letter(html, context)
    try:
        with transaction.atomic():
            PrescriberLetter.objects.create(review=review, prescriber=prescriber, content_sha256=key, pdf=pdf)
    except IntegrityError:
        pass  # a colleague's download (or the worker) kept the same letter a moment ago
    return pdf


def render_letter(html: str, context: dict) -> bytes:
    """The letter with each question's assessment beside it when page 1 holds them all with the
    boxes to tick and the signature; otherwise page 1 lists the questions compactly and the
    assessments follow."""
    from weasyprint import HTML

    document = HTML(string=html, url_fetcher=pdf_url_fetcher()).render()
    if ANSWERS_END not in document.pages[0].anchors:
        document = HTML(
            string=render_to_string(TEMPLATE, {**context, "compact": True}), url_fetcher=pdf_url_fetcher()
        ).render()
    return document.write_pdf()


def prescribers_written_to(review: Review) -> list[Prescriber]:
    ids = Recommendation.objects.filter(
        problem__review=review, audience=Audience.PRESCRIBER, prescriber__isnull=False
    ).values("prescriber_id")
    return list(Prescriber.objects.filter(pk__in=ids))
