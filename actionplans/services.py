"""Preparing the patient's written summary from a completed review, editing it, and issuing it."""

import datetime
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from actionplans.documents import render_summary_pdf, summary_snapshot
from actionplans.models import ActionPlan, DownloadLink, Education, IssuedDocument, Topic
from actionplans.selectors import medication_keys_of, plan_issue_check
from actionplans.texts import language_for
from actionplans.wording import named_in, stopped_in
from interactions.engine.knowledge import EDUCATION_FIELDS, EDUCATION_PREGNANCY_FIELD
from interactions.selectors import knowledge_base
from mtm.audit import Actor, audit_record, diff, snapshot
from mtm.errors import EditConflict
from mtm.models import AuditAction
from mtm.outbox import enqueue
from mtm.records import audited_fields, record_create, record_update
from patients import services as patient_services
from patients.models import MedicationEntry, MedicationStatus, Patient, Sex
from reviews.models import Audience, ChangeKind, PatientAction, Review, ReviewKind
from reviews.services import summary_delivered

# Pregnancy, breastfeeding and birth-control text is drawn for patients of these ages who could
# become pregnant (women, and patients whose sex is not stated); never for men.
CHILDBEARING_AGES = range(12, 51)


def _completed_cmr(review: Review) -> None:
    if review.kind != ReviewKind.CMR or not review.is_locked:
        raise ValidationError("The written summary is prepared from a completed CMR.")


def could_become_pregnant(patient: Patient, *, on: datetime.date) -> bool:
    return patient.sex != Sex.MALE and patient.age_on(on) in CHILDBEARING_AGES


@transaction.atomic
def plan_prepare(*, review: Review, by: Actor) -> ActionPlan:
    """The draft action plan: one topic per recommendation to the patient, in the words written for
    the patient (the problem's patient wording, else the recommendation's "what we talked about");
    never the problem's clinical title: without patient words the box stays empty for the
    pharmacist to write. Each topic records the medications it tells the patient to stop."""
    _completed_cmr(review)
    Review.objects.select_for_update().filter(pk=review.pk).first()  # two "Prepare" clicks: one plan
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
        review.patient.recommendations.filter(problem__review=review, audience=Audience.PATIENT)
        .select_related("problem")
        .prefetch_related("problem__medications")
        .order_by("problem__created_at", "created_at")
    )
    medications = list(review.patient.medications.all())
    keys = medication_keys_of(medications)
    by_id = {m.pk: m for m in medications}
    for position, recommendation in enumerate(recommendations):
        problem = recommendation.problem
        topic = record_create(
            Topic(
                plan=plan, patient_id=review.patient_id, recommendation=recommendation, position=position,
                talked_about=problem.patient_wording.strip() or recommendation.talked_about.strip(),
                to_do=recommendation.to_do.strip() or recommendation.text.strip(),
            ),
            by=by,
        )  # fmt: skip
        stops = _stops_of(recommendation.action, list(problem.medications.all()), topic, keys)
        topic.stops.set([by_id[pk] for pk in stops])
    education_sync(plan=plan, by=by)
    return plan


def _stops_of(action: str, problem_medications: list[MedicationEntry], topic: Topic, keys) -> set[uuid.UUID]:
    """What a topic tells the patient to stop: the medications its words name after "stop", and for
    a recommendation to stop or replace a drug, the problem's medication it is about: the one the
    words name, or the problem's only one; stopping, all of the problem's. A replacement among
    several medications that the words do not tell apart is left to the pharmacist."""
    text = f"{topic.talked_about}\n{topic.to_do}"
    named = stopped_in(text, keys)
    if action not in (PatientAction.STOP_DRUG, PatientAction.REPLACE_DRUG):
        return named
    of_problem = {m.pk for m in problem_medications if m.pk in keys}
    if named & of_problem:
        return named
    mentioned = named_in(text, {pk: keys[pk] for pk in of_problem})
    if len(mentioned) == 1:
        return named | mentioned
    if len(of_problem) == 1:
        return named | of_problem
    if action == PatientAction.STOP_DRUG:
        return named | (mentioned or of_problem)
    return named


def _education_from_knowledge(ingredients: list[dict], *, pregnancy: bool) -> dict[str, Any]:
    """The knowledge base's text for a medication (`ingredients` as resolved: [{name, rxcui}]): its
    ingredient's, or each ingredient's by name for a combination product. The pregnancy text only
    when `pregnancy` (the patient could become pregnant)."""
    kb = knowledge_base()
    entries = [kb.education[i["name"]] for i in ingredients if i["name"] in kb.education]
    fields = [*EDUCATION_FIELDS, EDUCATION_PREGNANCY_FIELD] if pregnancy else list(EDUCATION_FIELDS)
    if len(entries) == 1:
        texts = {name: getattr(entries[0], name) for name in fields}
    else:
        texts = {
            name: " ".join(
                f"{e.ingredient.capitalize()}: {getattr(e, name)}" for e in entries if getattr(e, name)
            )
            for name in fields
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
    pregnancy = could_become_pregnant(review.patient, on=timezone.localdate())
    for position, medication in enumerate(medications, start=len(have)):
        drawn = _education_from_knowledge(medication.ingredients, pregnancy=pregnancy)
        has_text = any(drawn[name] for name in EDUCATION_FIELDS)
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


# --- The editor's one Save -------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicEdit:
    topic_id: uuid.UUID
    version: int
    data: dict[str, Any]  # talked_about, to_do
    stops: list[MedicationEntry]
    remove: bool = False


@dataclass(frozen=True)
class EducationEdit:
    entry_id: uuid.UUID
    version: int
    data: dict[str, Any]


@dataclass(frozen=True)
class PlanEdits:
    """Everything the editor's form sent: the plan's own fields, every topic shown, a new topic,
    every "About my medicines" entry shown."""

    version: int
    data: dict[str, Any]
    topics: list[TopicEdit] = field(default_factory=list)
    education: list[EducationEdit] = field(default_factory=list)
    new_topic: dict[str, Any] | None = None


class PlanConflict(EditConflict):
    """Colleagues saved some of the records since the editor was opened: `records` maps ("plan" |
    "topic" | "education", id) to the record as it is now (None: removed)."""

    def __init__(self, records: dict[tuple[str, uuid.UUID], models.Model | None]):
        self.records = records
        Exception.__init__(
            self,
            "Someone else saved this written summary after you opened it. Nothing was saved: what you typed "
            "is still in the boxes, next to what they saved. Check it, then save again to keep yours.",
        )


@transaction.atomic
def plan_save(*, plan: ActionPlan, edits: PlanEdits, by: Actor) -> ActionPlan:
    """Save the whole editor at once: every record, or (when a colleague saved any of them since
    the editor was opened: PlanConflict) none."""
    plan = _locked(plan)
    topics = {t.pk: t for t in plan.topics.select_for_update()}
    education = {e.pk: e for e in plan.education.select_for_update()}
    conflicts: dict[tuple[str, uuid.UUID], models.Model | None] = {}
    if plan.version != edits.version:
        conflicts["plan", plan.pk] = plan
    for edit in edits.topics:
        topic = topics.get(edit.topic_id)
        if topic is None or topic.version != edit.version:
            conflicts["topic", edit.topic_id] = topic
    for edit in edits.education:
        entry = education.get(edit.entry_id)
        if entry is None or entry.version != edit.version:
            conflicts["education", edit.entry_id] = entry
    if conflicts:
        raise PlanConflict(conflicts)
    record_update(plan, data=edits.data, version=edits.version, by=by)
    for edit in edits.topics:
        topic = topics[edit.topic_id]
        if edit.remove:
            _topic_remove(topic, by=by)
            continue
        record_update(topic, data=edit.data, version=edit.version, by=by)
        _related_set(topic, "stops", edit.stops, by=by, bump=topic.version == edit.version)
    for edit in edits.education:
        record_update(education[edit.entry_id], data=edit.data, version=edit.version, by=by)
    if edits.new_topic and any(str(value).strip() for value in edits.new_topic.values()):
        topic_add(plan=plan, data=edits.new_topic, by=by)
    return plan


def _locked(plan: ActionPlan) -> ActionPlan:
    """The plan's row, locked until the transaction ends: saves, fixes and issuing of one plan
    happen one after the other, each seeing what the one before did."""
    return ActionPlan.objects.select_for_update().select_related("review", "patient").get(pk=plan.pk)


def _topic_remove(topic: Topic, *, by: Actor) -> None:
    audit_record(
        actor=by, action=AuditAction.STOP, patient_id=topic.patient_id, obj=topic,
        changes=diff(snapshot(topic, audited_fields(Topic)), {}),
    )  # fmt: skip
    topic.delete()


def _related_set(record, name: str, medications, *, by: Actor, bump: bool = True) -> bool:
    """Set a record's many-to-many medications, with its version and the audit trail, like
    record_update does for its own fields. Returns whether anything changed."""
    related = getattr(record, name)
    before = {m.pk: m.display_name for m in related.all()}
    after = {m.pk: m.display_name for m in medications}
    if set(before) == set(after):
        return False
    related.set(list(medications))
    if bump:
        type(record).objects.filter(pk=record.pk).update(version=F("version") + 1, updated_at=timezone.now())
        record.version += 1
    label = str(record._meta.get_field(name).verbose_name)
    audit_record(
        actor=by, action=AuditAction.UPDATE, patient_id=record.patient_id, obj=record,
        changes={label: [sorted(before.values()), sorted(after.values())]},
    )  # fmt: skip
    return True


# --- Resolving the contradictions between the plan and the medication list --------------------------


def _topic_of(plan: ActionPlan, topic_id) -> Topic | None:
    return plan.topics.select_for_update().filter(pk=topic_id).first() if topic_id else None


@transaction.atomic
def plan_stop_agree(
    *, plan: ActionPlan, medication: MedicationEntry, by: Actor, topic_id: uuid.UUID | None = None
) -> None:
    """Show the medication on the list as "Stop as agreed with your doctor" in this plan (and, from
    a topic whose words say to stop it, mark that topic as stopping it)."""
    plan = _locked(plan)
    topic = _topic_of(plan, topic_id)
    if topic is not None:
        _related_set(topic, "stops", [*topic.stops.all(), medication], by=by)
    _related_set(plan, "stop_as_agreed", [*plan.stop_as_agreed.all(), medication], by=by)


@transaction.atomic
def plan_stop_unagree(*, plan: ActionPlan, medication: MedicationEntry, by: Actor) -> None:
    plan = _locked(plan)
    _related_set(
        plan, "stop_as_agreed", [m for m in plan.stop_as_agreed.all() if m.pk != medication.pk], by=by
    )


@transaction.atomic
def topic_stop_remove(
    *, plan: ActionPlan, topic_id: uuid.UUID, medication: MedicationEntry, by: Actor
) -> None:
    """The topic does not (or no longer) tell the patient to stop the medication."""
    plan = _locked(plan)
    topic = _topic_of(plan, topic_id)
    if topic is None:
        raise ValidationError("That topic was removed.")
    _related_set(topic, "stops", [m for m in topic.stops.all() if m.pk != medication.pk], by=by)


@transaction.atomic
def plan_medication_stop(
    *,
    plan: ActionPlan,
    medication: MedicationEntry,
    on: datetime.date,
    by: Actor,
    topic_id: uuid.UUID | None = None,
) -> MedicationEntry:
    """Record the medication as stopped in the patient's record, as the plan says (the list then
    shows the date and the reason)."""
    plan = _locked(plan)
    topic = _topic_of(plan, topic_id)
    if topic is not None:
        _related_set(topic, "stops", [*topic.stops.all(), medication], by=by)
    service_day = timezone.localdate(plan.review.started_at) if plan.review.started_at else on
    return patient_services.medication_stop(
        entry=medication, on=on, reason=f"As agreed in the medication review of {service_day:%m/%d/%Y}",
        version=medication.version, by=by,
    )  # fmt: skip


# --- Issuing -------------------------------------------------------------------------------------------


@transaction.atomic
def document_issue(
    *, plan: ActionPlan, by: Actor, today: datetime.date, reason: str = "", large_print: bool = False
) -> IssuedDocument:
    """Freeze the summary as it is now: its content, its PDF and their checksum. An earlier version
    is kept, marked superseded; issuing again needs a reason (a correction, an updated list).

    Refused while a topic's patient text is missing or still the clinical title, or the plan and
    the medication list contradict each other. The plan's row is locked first, so two issues at
    once (a double click, two tabs) run one after the other: the second finds the first's version,
    and when nothing changed since, returns it instead of making another."""
    plan = _locked(plan)
    review = plan.review
    _completed_cmr(review)
    if not plan.topics.exists():
        raise ValidationError("Add at least one topic to the action plan before issuing it.")
    check = plan_issue_check(plan=plan)
    if check.blockers:
        raise ValidationError(check.messages)
    latest = IssuedDocument.objects.filter(review=review).order_by("-number").first()
    snapshot_now = json.loads(json.dumps(summary_snapshot(review=review, plan=plan, today=today)))
    if latest and latest.is_current and latest.large_print == large_print and latest.snapshot == snapshot_now:
        return latest
    if latest and not reason.strip():
        raise ValidationError({"reason": "Say why the summary is issued again (e.g. a correction)."})
    pdf = render_summary_pdf(snapshot_now, large_print=large_print)
    now = timezone.now()
    IssuedDocument.objects.filter(review=review, superseded_at__isnull=True).update(superseded_at=now)
    document = IssuedDocument.objects.create(
        patient_id=review.patient_id, review=review, number=(latest.number + 1) if latest else 1, issued_by=by.user,
        language=snapshot_now["language"], large_print=large_print, reason=reason.strip(), snapshot=snapshot_now,
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
    enqueue(send_download_link, str(link.pk), base_url)
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
