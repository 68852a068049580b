"""Preparing the patient's written summary from a completed review, and issuing it."""

import datetime
import hashlib
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from actionplans.documents import render_summary_pdf, summary_snapshot
from actionplans.models import ActionPlan, DownloadLink, Education, IssuedDocument, Topic
from actionplans.texts import language_for
from interactions.engine.knowledge import EDUCATION_FIELDS
from interactions.selectors import knowledge_base
from mtm.audit import Actor, audit_record
from mtm.models import AuditAction
from mtm.records import record_create, record_update
from patients.models import MedicationStatus
from reviews.models import Audience, ChangeKind, Review, ReviewKind
from reviews.services import summary_delivered


def _completed_cmr(review: Review) -> None:
    if review.kind != ReviewKind.CMR or not review.is_locked:
        raise ValidationError("The written summary is prepared from a completed CMR.")


@transaction.atomic
def plan_prepare(*, review: Review, by: Actor) -> ActionPlan:
    """The draft action plan: one topic per recommendation to the patient, in the words the
    pharmacist wrote for the patient (or the recommendation itself)."""
    _completed_cmr(review)
    existing = ActionPlan.objects.filter(review=review).first()
    if existing:
        return existing
    plan = record_create(
        ActionPlan(
            review=review,
            patient_id=review.patient_id,
            follow_up=f"Call {review.organisation.name} if you have questions before your next review.",
        ),
        by=by,
    )
    recommendations = (
        review.problems.filter(recommendations__audience=Audience.PATIENT)
        .values_list("recommendations__id", "title", "recommendations__talked_about",
                     "recommendations__to_do", "recommendations__text")
        .order_by("created_at", "recommendations__created_at")
    )  # fmt: skip
    for position, (recommendation_id, title, talked_about, to_do, text) in enumerate(recommendations):
        record_create(
            Topic(
                plan=plan, patient_id=review.patient_id, recommendation_id=recommendation_id, position=position,
                talked_about=talked_about or title, to_do=to_do or text,
            ),
            by=by,
        )  # fmt: skip
    education_sync(plan=plan, by=by)
    return plan


def _education_from_knowledge(ingredients: list[dict]) -> dict[str, Any]:
    """The knowledge base's text for a medication (`ingredients` as resolved: [{name, rxcui}]): its
    ingredient's, or each ingredient's by name for a combination product."""
    kb = knowledge_base()
    entries = [kb.education[i["name"]] for i in ingredients if i["name"] in kb.education]
    if len(entries) == 1:
        texts = {field: getattr(entries[0], field) for field in EDUCATION_FIELDS}
    else:
        texts = {
            field: " ".join(f"{e.ingredient.capitalize()}: {getattr(e, field)}" for e in entries)
            for field in EDUCATION_FIELDS
        }
    sources = dict.fromkeys(source for e in entries for source in kb.citations(e.sources))
    return {**texts, "sources": list(sources)}


@transaction.atomic
def education_sync(*, plan: ActionPlan, by: Actor) -> int:
    """Add "About my medicines" entries, from the knowledge base, for the active medications that
    have none yet; returns how many were added. Printed by default: what was started or changed in
    the review, and what a problem with a recommendation to the patient is about."""
    review = plan.review
    have = set(plan.education.values_list("medication_id", flat=True))
    medications = [
        m
        for m in review.patient.medications.filter(status=MedicationStatus.ACTIVE).order_by(Lower("name"))
        if m.pk not in have
    ]
    started_or_changed = set(
        review.medication_changes.filter(kind__in=[ChangeKind.START, ChangeKind.CHANGE]).values_list(
            "medication_id", flat=True
        )
    )
    discussed = set(
        review.problems.filter(recommendations__audience=Audience.PATIENT).values_list(
            "medications", flat=True
        )
    )
    for position, medication in enumerate(medications, start=len(have)):
        drawn = _education_from_knowledge(medication.ingredients)
        has_text = any(drawn[field] for field in EDUCATION_FIELDS)
        record_create(
            Education(
                plan=plan, patient_id=plan.patient_id, medication=medication, position=position,
                name=medication.display_name, included=has_text and medication.pk in started_or_changed | discussed,
                **drawn,
            ),
            by=by,
        )  # fmt: skip
    return len(medications)


@transaction.atomic
def education_update(*, entry: Education, data: dict[str, Any], version: int, by: Actor) -> Education:
    return record_update(entry, data=data, version=version, by=by)


@transaction.atomic
def plan_update(*, plan: ActionPlan, data: dict[str, Any], version: int, by: Actor) -> ActionPlan:
    return record_update(plan, data=data, version=version, by=by)


@transaction.atomic
def topic_update(*, topic: Topic, data: dict[str, Any], version: int, by: Actor) -> Topic:
    return record_update(topic, data=data, version=version, by=by)


@transaction.atomic
def topic_add(*, plan: ActionPlan, data: dict[str, Any], by: Actor) -> Topic:
    position = (plan.topics.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    return record_create(Topic(plan=plan, patient_id=plan.patient_id, position=position, **data), by=by)


@transaction.atomic
def document_issue(
    *, plan: ActionPlan, by: Actor, today: datetime.date, reason: str = "", large_print: bool = False
) -> IssuedDocument:
    """Freeze the summary as it is now: its content, its PDF and their checksum. An earlier version
    is kept, marked superseded; issuing again needs a reason (a correction, an updated list)."""
    review = plan.review
    _completed_cmr(review)
    if not plan.topics.exists():
        raise ValidationError("Add at least one topic to the action plan before issuing it.")
    earlier = IssuedDocument.objects.select_for_update().filter(review=review).order_by("-number")
    latest = earlier.first()
    if latest and not reason.strip():
        raise ValidationError({"reason": "Say why the summary is issued again (e.g. a correction)."})
    snapshot = summary_snapshot(review=review, plan=plan, today=today)
    pdf = render_summary_pdf(snapshot, large_print=large_print)
    now = timezone.now()
    earlier.filter(superseded_at__isnull=True).update(superseded_at=now)
    document = IssuedDocument.objects.create(
        patient_id=review.patient_id, review=review, number=(latest.number + 1) if latest else 1, issued_by=by.user,
        language=snapshot["language"], large_print=large_print, reason=reason.strip(), snapshot=snapshot,
        pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
    )  # fmt: skip
    audit_record(
        actor=by, action=AuditAction.CREATE, patient_id=review.patient_id, obj=document,
        changes={"issued": [None, f"version {document.number}, sha256 {document.sha256[:12]}"]},
    )  # fmt: skip
    if review.summary_delivered_on is None:
        fresh = Review.objects.get(pk=review.pk)
        summary_delivered(review=fresh, on=today, version=fresh.version, by=by)
    return document


LINK_DAYS = 7


@transaction.atomic
def download_link_send(
    *, document: IssuedDocument, by: Actor, base_url: str, days: int = LINK_DAYS
) -> DownloadLink:
    """Email the patient (or their representative) a link to this document that stops working after
    `days`. The email goes out from a Celery task once this transaction has committed."""
    from actionplans.tasks import send_download_link  # the task module imports this one

    patient = document.patient
    email = patient.email or patient.representative_email
    if not email:
        raise ValidationError({"email": "Add the patient's (or representative's) email address first."})
    if not document.is_current:
        raise ValidationError("Send the current version: this one was replaced.")
    link = DownloadLink.objects.create(
        document=document, token=secrets.token_urlsafe(32), email=email, created_by=by.user,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )  # fmt: skip
    audit_record(
        actor=by, action=AuditAction.CREATE, patient_id=patient.pk, obj=link,
        changes={"download link": [None, f"to the patient's email, expires {link.expires_at:%Y-%m-%d}"]},
    )  # fmt: skip
    transaction.on_commit(lambda: send_download_link.delay(str(link.pk), base_url))
    return link


def download_link_email_send(*, link: DownloadLink, base_url: str) -> None:
    """The email itself: the link and its expiry, in the patient's language; nothing clinical."""
    language = language_for(link.document.patient.preferred_language)
    organisation = link.document.patient.organisation
    url = base_url.rstrip("/") + reverse("download_link", args=[link.token])
    context = {
        "link": link,
        "url": url,
        "organisation": organisation,
        "expires": timezone.localdate(link.expires_at),
    }
    subject = LINK_SUBJECT[language].format(organisation=organisation.name)
    body = render_to_string(f"actionplans/email/download_link_{language}.txt", context)
    send_mail(subject, body, None, [link.email])
    DownloadLink.objects.filter(pk=link.pk).update(sent_at=timezone.now())


LINK_SUBJECT = {
    "en": "Your medication review summary from {organisation}",
    "es": "El resumen de la revisión de sus medicamentos de {organisation}",
}
