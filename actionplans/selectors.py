"""Reads of action plans and issued documents, scoped to the user's organisation (staff) or to the
patient's own record (portal); and what stands between a draft plan and issuing it."""

import uuid
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404

from actionplans.models import ActionPlan, IssuedDocument, Topic
from actionplans.wording import is_clinical_title, medication_keys, stopped_in
from mtm.models import AuditAction, AuditEvent
from mtm.scoping import scope_to_organisation
from patients.models import MedicationEntry, MedicationStatus
from patients.selectors import portal_patient


def documents_visible_to(user) -> QuerySet[IssuedDocument]:
    return scope_to_organisation(IssuedDocument.objects.all(), user, path="patient__organisation")


def document_get(*, user, document_id) -> IssuedDocument:
    return get_object_or_404(documents_visible_to(user), pk=document_id)


def portal_documents(*, user) -> QuerySet[IssuedDocument]:
    """The patient user's own issued documents, newest first; nothing of anyone else's."""
    return IssuedDocument.objects.filter(patient=portal_patient(user=user)).defer("pdf", "snapshot")


def portal_document_get(*, user, document_id) -> IssuedDocument:
    return get_object_or_404(IssuedDocument.objects.filter(patient=portal_patient(user=user)), pk=document_id)


# --- Before issuing: the patient's words, and the plan against the medication list ---------------


@dataclass(frozen=True)
class Fix:
    """One click that resolves a contradiction: `action` is what the editor posts (resolve=...)."""

    label: str
    action: str


@dataclass(frozen=True)
class Blocker:
    """Something that keeps the summary from being issued, next to the topic field it concerns."""

    message: str
    topic_id: uuid.UUID | None = None
    field: str = ""  # talked_about, to_do, stops
    fixes: tuple[Fix, ...] = ()


@dataclass
class IssueCheck:
    wording: list[Blocker] = field(default_factory=list)  # missing text, or the clinical title
    contradictions: list[Blocker] = field(default_factory=list)  # the plan against the list

    @property
    def blockers(self) -> list[Blocker]:
        return self.wording + self.contradictions

    @property
    def messages(self) -> list[str]:
        return [blocker.message for blocker in self.blockers]

    def for_topic(self, topic_id, field_name: str = "") -> list[Blocker]:
        return [
            b for b in self.blockers if b.topic_id == topic_id and (not field_name or b.field == field_name)
        ]


@dataclass(frozen=True)
class PlanMedications:
    """The patient's medications as the plan sees them: which topics stop which, which the
    pharmacist marked "Stop as agreed with your doctor", and which the text names as stopped."""

    all: dict[uuid.UUID, MedicationEntry]
    stops_by_topic: dict[uuid.UUID, set[uuid.UUID]]
    agreed: set[uuid.UUID]

    @property
    def stopped_by_plan(self) -> set[uuid.UUID]:
        """Every medication the plan tells the patient to stop, whatever the list says."""
        return set().union(self.agreed, *self.stops_by_topic.values())

    def is_active(self, medication_id) -> bool:
        return self.all[medication_id].status == MedicationStatus.ACTIVE


def plan_topics(plan: ActionPlan) -> list[Topic]:
    """The topics in order, with their recommendation's problem and what each stops."""
    return list(plan.topics.select_related("recommendation__problem").prefetch_related("stops"))


def plan_medications(plan: ActionPlan, topics: list[Topic]) -> PlanMedications:
    medications = plan.patient.medications.select_related("prescriber").order_by("status", Lower("name"))
    return PlanMedications(
        all={m.pk: m for m in medications},
        stops_by_topic={t.pk: {m.pk for m in t.stops.all()} for t in topics},
        agreed=set(plan.stop_as_agreed.values_list("pk", flat=True)),
    )


def medication_keys_of(medications) -> dict[uuid.UUID, set[str]]:
    return {
        m.pk: medication_keys(
            name=m.name, recognised_as=m.recognised_as, ingredients=[i["name"] for i in m.ingredients]
        )
        for m in medications
    }


def plan_issue_check(
    *, plan: ActionPlan, topics: list[Topic] | None = None, meds: PlanMedications | None = None
) -> IssueCheck:
    """Everything that keeps the plan from being issued, each with where it is and, for a
    contradiction, the one-click ways to resolve it. Empty: ready to issue."""
    topics = plan_topics(plan) if topics is None else topics
    meds = plan_medications(plan, topics) if meds is None else meds
    check = IssueCheck()
    for number, topic in enumerate(topics, start=1):
        title = topic.recommendation.problem.title if topic.recommendation else ""
        for name, label in [("talked_about", "What we talked about"), ("to_do", "What I need to do")]:
            text = getattr(topic, name)
            if not text.strip():
                check.wording.append(
                    Blocker(f"Topic {number}: write “{label}” for the patient.", topic.pk, name)
                )
            elif is_clinical_title(text, title):
                check.wording.append(
                    Blocker(
                        f"Topic {number}: “{label}” is still the problem's clinical title (“{title}”): "
                        "write it in plain words for the patient.",
                        topic.pk,
                        name,
                    )
                )
    active_keys = medication_keys_of(m for m in meds.all.values() if m.status == MedicationStatus.ACTIVE)
    stopped_by_a_topic = set().union(*meds.stops_by_topic.values())
    for number, topic in enumerate(topics, start=1):
        for medication_id in sorted(meds.stops_by_topic[topic.pk], key=lambda pk: meds.all[pk].name.lower()):
            if meds.is_active(medication_id) and medication_id not in meds.agreed:
                check.contradictions.append(_unconfirmed_stop(number, topic, meds.all[medication_id]))
        named = stopped_in(f"{topic.talked_about}\n{topic.to_do}", active_keys)
        for medication_id in sorted(
            named - stopped_by_a_topic - meds.agreed, key=lambda pk: meds.all[pk].name.lower()
        ):
            check.contradictions.append(_stop_in_words_only(number, topic, meds.all[medication_id]))
    for medication_id in sorted(meds.agreed - stopped_by_a_topic, key=lambda pk: meds.all[pk].name.lower()):
        medication = meds.all[medication_id]
        if medication.status == MedicationStatus.ACTIVE:
            check.contradictions.append(
                Blocker(
                    f"The medication list shows {medication.display_name} as “Stop as agreed with your doctor”, "
                    "but no topic of the action plan tells the patient to stop it.",
                    fixes=(Fix("Take the mark off the list", f"unagree:{medication.pk}"),),
                )
            )
    return check


def _unconfirmed_stop(number: int, topic: Topic, medication: MedicationEntry) -> Blocker:
    name = medication.display_name
    return Blocker(
        f"Topic {number} tells the patient to stop {name}, but the medication list still shows it as taken.",
        topic.pk,
        "stops",
        fixes=(
            Fix("Show “Stop as agreed with your doctor” on the list", f"agree:{medication.pk}"),
            Fix(f"Record {name} as stopped today", f"record-stop:{medication.pk}"),
            Fix(f"Topic {number} does not stop {name}", f"unstop:{medication.pk}:{topic.pk}"),
        ),
    )


def _stop_in_words_only(number: int, topic: Topic, medication: MedicationEntry) -> Blocker:
    name = medication.display_name
    return Blocker(
        f"Topic {number} says to stop {name}, but the medication list still shows it as taken.",
        topic.pk,
        "to_do",
        fixes=(
            Fix("Show “Stop as agreed with your doctor” on the list", f"agree:{medication.pk}:{topic.pk}"),
            Fix(f"Record {name} as stopped today", f"record-stop:{medication.pk}:{topic.pk}"),
        ),
    )


def last_saved_by(record) -> str:
    """Who saved `record` last, as the audit trail says ("Dana Whitfield"), for a conflict message."""
    event = (
        AuditEvent.objects.filter(
            patient_id=record.patient_id,
            object_type=record._meta.label_lower,
            object_id=str(record.pk),
            action__in=[AuditAction.CREATE, AuditAction.UPDATE],
        )
        .select_related("actor")
        .first()
    )
    if event is None:
        return "A colleague"
    return (event.actor.get_full_name() if event.actor else "") or event.actor_username or "A colleague"
