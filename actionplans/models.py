"""The patient's written summary after a CMR (CMS Part D MTM Standardized Format): a Medication
Action Plan built from the review's patient recommendations, the Personal Medication List, and
the versions issued to the patient, frozen."""

import uuid

from django.db import models

from mtm.models import User, VersionedRecord
from patients.models import MedicationEntry, Patient
from reviews.models import Recommendation, Review


class ActionPlan(VersionedRecord):
    """The draft the pharmacist edits before issuing: topics, follow-up plan, questions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="action_plan")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="action_plans")
    follow_up = models.TextField("my follow-up plan", blank=True)
    questions = models.TextField("questions I want to ask", blank=True)
    other_information = models.TextField("other information (medication list)", blank=True)
    # Medications the pharmacist marked, for this plan, to show on the medication list as "Stop as
    # agreed with your doctor" (the plan tells the patient to stop them; the record still lists them).
    stop_as_agreed = models.ManyToManyField(MedicationEntry, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"Action plan for {self.patient}"


class Topic(VersionedRecord):
    """One box of the Medication Action Plan."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="topics")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.SET_NULL, null=True, blank=True, related_name="topics"
    )
    position = models.PositiveSmallIntegerField(default=0)
    # Written for the patient; left empty when nothing was written for the patient yet (issuing
    # refuses an empty one, or one that is still the problem's clinical title).
    talked_about = models.TextField("what we talked about", blank=True)
    to_do = models.TextField("what I need to do", blank=True)
    stops = models.ManyToManyField(
        MedicationEntry, blank=True, related_name="+", verbose_name="this topic tells the patient to stop"
    )

    class Meta:
        ordering = ["position", "created_at"]

    def __str__(self) -> str:
        return self.talked_about[:80] or f"Topic {self.position + 1}"


class Education(VersionedRecord):
    """What the patient should know about one medication ("About my medicines"): drawn from the
    knowledge base when the plan is prepared, edited by the pharmacist, printed when included."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="education")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    medication = models.ForeignKey(MedicationEntry, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    included = models.BooleanField("print in the summary", default=False)
    name = models.CharField("medicine", max_length=200)
    purpose = models.TextField("what it is for", blank=True)
    how_to_take = models.TextField("how to take it", blank=True)
    side_effects = models.TextField("side effects to watch for", blank=True)
    get_help = models.TextField("get medical help if", blank=True)
    # Drawn from the knowledge base only for a woman of child-bearing age (CHILDBEARING_AGES).
    pregnancy = models.TextField("pregnancy, breastfeeding and birth control", blank=True)
    sources = models.JSONField(default=list, blank=True, editable=False)  # citations of the text drawn

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "medication"], name="education_once_per_medication")
        ]

    def __str__(self) -> str:
        return f"About {self.name}"


class IssuedDocument(models.Model):
    """A version of the written summary as the patient received it: the content it was made from
    (snapshot) and its PDF, never edited afterwards. A correction is a new version; the older ones
    stay available, marked superseded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="issued_documents")
    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="issued_documents")
    number = models.PositiveSmallIntegerField("version")
    issued_at = models.DateTimeField(auto_now_add=True)
    issued_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    language = models.CharField(max_length=10, default="en")
    large_print = models.BooleanField(default=False)
    reason = models.CharField("why it was issued again", max_length=300, blank=True)
    snapshot = models.JSONField()
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [models.UniqueConstraint(fields=["review", "number"], name="issued_version_once")]

    def __str__(self) -> str:
        return f"Written summary for {self.patient}, version {self.number}"

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None


class DownloadLink(models.Model):
    """An expiring link to one issued document, emailed to the patient: no sign-in needed, good for
    that document only, until it expires. Each download is audited."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(IssuedDocument, on_delete=models.CASCADE, related_name="links")
    token = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Link to {self.document} (expires {self.expires_at:%Y-%m-%d})"
