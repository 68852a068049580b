"""Comprehensive and targeted medication reviews: the session, the pharmacist's answers per
medication, drug-related problems, recommendations and prescribers' answers to them."""

import re
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from mtm.models import Organisation, User, VersionedRecord
from patients.models import MedicationEntry, Patient, Prescriber
from patients.validators import validate_not_future


class ReviewKind(models.TextChoices):
    CMR = "cmr", "Comprehensive medication review (CMR)"
    TMR = "tmr", "Targeted medication review (TMR)"


class ReviewMethod(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    VIDEO = "video", "Video"


class Participant(models.TextChoices):
    PATIENT = "patient", "The patient"
    REPRESENTATIVE = "representative", "The patient's representative"


class YesNoUnknown(models.TextChoices):
    YES = "Y", "Yes"
    NO = "N", "No"
    UNKNOWN = "U", "Unknown"


class CmrRecipient(models.TextChoices):
    """Who received the CMR, as the CMS report counts it."""

    MEMBER = "member", "The patient"
    PRESCRIBER = "prescriber", "A prescriber"
    CAREGIVER = "caregiver", "A caregiver"
    OTHER_AUTHORISED = "other_authorised", "Another person the patient authorised"


class ProviderType(models.TextChoices):
    """The qualified provider who performed the CMR (the CMS report's list)."""

    LOCAL_PHARMACIST = "local_pharmacist", "Local pharmacist"
    LTC_PHARMACIST = "ltc_pharmacist", "Long-term care consultant pharmacist"
    PLAN_PHARMACIST = "plan_pharmacist", "Plan sponsor pharmacist"
    PBM_PHARMACIST = "pbm_pharmacist", "PBM pharmacist"
    VENDOR_LOCAL = "vendor_local", "MTM vendor pharmacist (local)"
    VENDOR_IN_HOUSE = "vendor_in_house", "MTM vendor pharmacist (in house)"
    HOSPITAL_PHARMACIST = "hospital_pharmacist", "Hospital pharmacist"
    OTHER_PHARMACIST = "other_pharmacist", "Other pharmacist"
    INTERN = "intern", "Pharmacist intern under supervision"
    PHYSICIAN = "physician", "Physician"
    NURSE_PRACTITIONER = "nurse_practitioner", "Nurse practitioner"
    PHYSICIAN_ASSISTANT = "physician_assistant", "Physician assistant"
    REGISTERED_NURSE = "registered_nurse", "Registered nurse"
    OTHER = "other", "Other"


class InterventionResult(models.TextChoices):
    """How a targeted intervention ended."""

    RESOLVED = "resolved", "Resolved: the problem is gone"
    IMPROVED = "improved", "Improved"
    UNCHANGED = "unchanged", "Unchanged"
    NOT_REACHED = "not_reached", "Could not reach the patient or prescriber"


class ReviewStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class Review(VersionedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="reviews")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="reviews")
    kind = models.CharField(max_length=10, choices=ReviewKind.choices, default=ReviewKind.CMR)
    method = models.CharField(max_length=20, choices=ReviewMethod.choices, default=ReviewMethod.IN_PERSON)
    video_link = models.URLField("video link", blank=True)
    pharmacist = models.ForeignKey(User, on_delete=models.PROTECT, related_name="reviews")
    participant = models.CharField(
        "who took part", max_length=20, choices=Participant.choices, default=Participant.PATIENT
    )
    scheduled_for = models.DateTimeField("scheduled for", null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.PLANNED)
    consent_noted = models.BooleanField("the patient agreed to the review", default=False)
    minutes_spent = models.PositiveSmallIntegerField(
        "minutes spent", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    new_patient = models.BooleanField(
        "new patient (billing)",
        null=True,
        blank=True,
        help_text="Set when the review is completed: no completed review of this patient in the 3 years before.",
    )
    summary_delivered_on = models.DateField("CMR summary delivered on", null=True, blank=True)
    notes = models.TextField("notes", blank=True)
    # For the CMS MTM report (a CMR's facts at the time of the review)
    recipient = models.CharField(
        "who received the CMR", max_length=20, choices=CmrRecipient.choices, default=CmrRecipient.MEMBER
    )
    provider_type = models.CharField(
        "performed by", max_length=30, choices=ProviderType.choices, default=ProviderType.LOCAL_PHARMACIST
    )
    long_term_care = models.CharField(
        "lives in long-term care", max_length=1, choices=YesNoUnknown.choices, blank=True
    )
    cognitive_impairment = models.CharField(
        "cognitively impaired", max_length=1, choices=YesNoUnknown.choices, blank=True
    )
    # A targeted intervention (TMR): why it was opened, what was done, how it ended
    reason = models.CharField("reason", max_length=300, blank=True)
    reason_source = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text='What raised it: "measure:PDC-STA", "finding:<id>"',
    )
    action_taken = models.CharField("action taken", max_length=300, blank=True)
    result = models.CharField("result", max_length=20, choices=InterventionResult.choices, blank=True)
    # Major or contraindicated findings still undecided when the pharmacist completed the review,
    # acknowledged then: [{"id", "title", "severity", "drugs"}]. Shown on the completed review.
    undecided_findings = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The reviews page's open and completed lists, summaries to deliver, billing and the
            # outcomes report (a status, then newest first or a period); the API's list.
            models.Index(fields=["organisation", "status", "created_at"], name="review_org_status_created"),
            models.Index(
                fields=["organisation", "status", "completed_at"], name="review_org_status_completed"
            ),
            models.Index(fields=["organisation", "created_at"], name="review_org_created"),
            models.Index(fields=["patient", "-created_at"], name="review_patient_created"),
            # The CMS report and the program's worklists: a patient's reviews of a kind in a year
            models.Index(fields=["organisation", "kind", "completed_at"], name="review_org_kind_completed"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.patient}"

    @property
    def is_locked(self) -> bool:
        return self.status == ReviewStatus.COMPLETED

    def clean(self) -> None:
        errors = {}
        if self.method == ReviewMethod.VIDEO and not self.video_link:
            errors["video_link"] = "Add the link for a video review."
        if self.patient_id and self.organisation_id and self.patient.organisation_id != self.organisation_id:
            errors["patient"] = "That patient is not one of this pharmacy's."
        if self.pharmacist_id and (
            self.pharmacist.organisation_id != self.organisation_id or self.pharmacist.role != "pharmacist"
        ):
            errors["pharmacist"] = "Choose a pharmacist of this pharmacy."
        if errors:
            raise ValidationError(errors)


class Answer(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNSURE = "unsure", "Not sure"


class MedicationAssessment(VersionedRecord):
    """The CMR questions for one medication, answered during one review."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="assessments")
    medication = models.ForeignKey(MedicationEntry, on_delete=models.PROTECT, related_name="assessments")
    purpose = models.CharField("what it is for", max_length=200, blank=True)
    still_needed = models.CharField("still needed?", max_length=10, choices=Answer.choices, blank=True)
    working = models.CharField("working?", max_length=10, choices=Answer.choices, blank=True)
    safe = models.CharField("safe?", max_length=10, choices=Answer.choices, blank=True)
    taken_as_intended = models.CharField(
        "taken as intended?", max_length=10, choices=Answer.choices, blank=True
    )
    understands = models.CharField(
        "patient understands it?", max_length=10, choices=Answer.choices, blank=True
    )
    better_alternative = models.CharField("better alternative", max_length=300, blank=True)
    notes = models.TextField(blank=True)

    QUESTIONS = ("still_needed", "working", "safe", "taken_as_intended", "understands")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "medication"], name="assessment_once_per_review")
        ]

    def __str__(self) -> str:
        return f"{self.medication} in {self.review}"

    @property
    def patient_id(self):
        return self.review.patient_id

    @property
    def answered(self) -> int:
        return sum(1 for question in self.QUESTIONS if getattr(self, question)) + bool(self.purpose)


class ProblemCategory(models.TextChoices):
    """The seven drug therapy problems (Cipolle, Strand, Morley), under the four needs."""

    UNNECESSARY = "unnecessary", "Indication: unnecessary drug therapy"
    NEEDS_ADDITIONAL = "needs_additional", "Indication: needs additional drug therapy"
    INEFFECTIVE = "ineffective", "Effectiveness: ineffective drug"
    DOSAGE_TOO_LOW = "dosage_too_low", "Effectiveness: dosage too low"
    ADVERSE_REACTION = "adverse_reaction", "Safety: adverse drug reaction"
    DOSAGE_TOO_HIGH = "dosage_too_high", "Safety: dosage too high"
    NONADHERENCE = "nonadherence", "Adherence: nonadherence"


class NonadherenceCause(models.TextChoices):
    DOES_NOT_UNDERSTAND = "does_not_understand", "Does not understand the instructions"
    COST = "cost", "Cannot afford it"
    PREFERS_NOT = "prefers_not", "Prefers not to take it"
    FORGETS = "forgets", "Forgets to take it"
    CANNOT_ADMINISTER = "cannot_administer", "Cannot swallow or administer it"
    NOT_AVAILABLE = "not_available", "Product not available"


class Priority(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class ProblemStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    UNRESOLVED = "unresolved", "Unresolved"


class Outcome(models.TextChoices):
    """PCNE V9.1 outcome of the intervention (O0-O3)."""

    UNKNOWN = "unknown", "Unknown"
    SOLVED = "solved", "Solved"
    PARTIALLY_SOLVED = "partially_solved", "Partially solved"
    NOT_SOLVED = "not_solved", "Not solved"


# Screening kinds a finding may be confirmed as, and the category a pharmacist most often chooses.
CATEGORY_FOR_FINDING_KIND = {
    "interaction": ProblemCategory.ADVERSE_REACTION,
    "allergy": ProblemCategory.ADVERSE_REACTION,
    "duplication": ProblemCategory.UNNECESSARY,
    "elderly": ProblemCategory.ADVERSE_REACTION,
    "disease": ProblemCategory.ADVERSE_REACTION,
    "renal": ProblemCategory.DOSAGE_TOO_HIGH,
    "anticholinergic-burden": ProblemCategory.ADVERSE_REACTION,
    "adherence": ProblemCategory.NONADHERENCE,
    "dose": ProblemCategory.DOSAGE_TOO_HIGH,
    "pharmacogenomic": ProblemCategory.ADVERSE_REACTION,
    "pregnancy": ProblemCategory.ADVERSE_REACTION,
    "lifestyle": ProblemCategory.ADVERSE_REACTION,
}


class Problem(VersionedRecord):
    """A drug-related problem: a confirmed screening finding or one the pharmacist found."""

    NOT_AUDITED = ("finding",)  # a copy of the screening finding, kept for the record

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="problems")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="problems")
    finding_id = models.CharField(max_length=300, blank=True, help_text="The screening finding it came from")
    finding = models.JSONField(default=dict, blank=True)
    title = models.CharField("problem", max_length=300)
    category = models.CharField(max_length=30, choices=ProblemCategory.choices)
    nonadherence_cause = models.CharField(
        "cause of nonadherence", max_length=30, choices=NonadherenceCause.choices, blank=True
    )
    pcne_code = models.CharField("PCNE code", max_length=10, blank=True, help_text="e.g. P2.1, C1.3")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    details = models.TextField("assessment", blank=True)
    patient_wording = models.TextField(
        "for the patient: what we talked about",
        blank=True,
        help_text="In plain words for the patient; the action plan prints this, never the title above.",
    )
    medications = models.ManyToManyField(MedicationEntry, blank=True, related_name="problems")
    status = models.CharField(max_length=20, choices=ProblemStatus.choices, default=ProblemStatus.OPEN)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.UNKNOWN)
    no_recommendation_reason = models.CharField(
        "why no recommendation",
        max_length=300,
        blank=True,
        help_text="Required to complete a review without one",
    )

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "finding_id"],
                condition=~models.Q(finding_id=""),
                name="finding_confirmed_once_per_review",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors = {}
        if self.category == ProblemCategory.NONADHERENCE and not self.nonadherence_cause:
            errors["nonadherence_cause"] = "Say why the medication is not taken as intended."
        if self.category != ProblemCategory.NONADHERENCE and self.nonadherence_cause:
            errors["nonadherence_cause"] = "A cause applies only to nonadherence."
        if errors:
            raise ValidationError(errors)


# Reasons pharmacists give most often for a finding that is not a problem for this patient: one
# click each on the workspace; any other reason is typed.
DISMISSAL_PRESETS = [
    "Benefit outweighs risk, prescriber aware",
    "Already monitored",
    "Patient no longer takes it",
]


class FindingDismissal(models.Model):
    """A screening finding the pharmacist judged not to be a problem for this patient, and why.
    Kept, and shown next to the same finding in later reviews."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="dismissals")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="finding_dismissals")
    finding_id = models.CharField(max_length=300)
    title = models.CharField(max_length=300)
    reason = models.CharField(max_length=500)
    dismissed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-dismissed_at"]
        constraints = [
            models.UniqueConstraint(fields=["review", "finding_id"], name="finding_dismissed_once_per_review")
        ]
        indexes = [models.Index(fields=["patient", "finding_id"], name="dismissal_patient_finding")]

    def __str__(self) -> str:
        return f"{self.title}: {self.reason}"


class Audience(models.TextChoices):
    PATIENT = "patient", "To the patient"
    PRESCRIBER = "prescriber", "To a prescriber"


class PatientAction(models.TextChoices):
    """What a patient recommendation asks; each becomes a topic of the action plan."""

    ADJUST_DOSE = "adjust_dose", "Adjust a dose"
    REPLACE_DRUG = "replace_drug", "Replace a drug"
    STOP_DRUG = "stop_drug", "Stop a drug"
    CHANGE_TIMING = "change_timing", "Change when it is taken"
    SUPPORTIVE_THERAPY = "supportive_therapy", "Add a supportive therapy (e.g. a vitamin, a dietary change)"
    LIFESTYLE = "lifestyle", "Lifestyle"
    MONITORING = "monitoring", "Monitoring (e.g. blood pressure, blood sugar)"
    EDUCATION = "education", "Education"


class Response(models.TextChoices):
    PENDING = "pending", "Awaiting an answer"
    ACCEPTED = "accepted", "Accepted"
    MODIFIED = "modified", "Accepted with modification"
    DECLINED = "declined", "Declined"
    NO_RESPONSE = "no_response", "No response"


class Recommendation(VersionedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="recommendations")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="recommendations")
    audience = models.CharField(max_length=20, choices=Audience.choices)
    action = models.CharField(
        "kind of action", max_length=30, choices=PatientAction.choices, blank=True
    )  # patient recommendations
    text = models.TextField("recommendation")
    # The action plan's wording (patient): "What we talked about" / "What I need to do".
    talked_about = models.TextField("what we talked about", blank=True)
    to_do = models.TextField("what I need to do", blank=True)
    prescriber = models.ForeignKey(
        Prescriber, on_delete=models.PROTECT, null=True, blank=True, related_name="recommendations"
    )
    sent_on = models.DateField("sent to the prescriber on", null=True, blank=True)
    response = models.CharField(max_length=20, choices=Response.choices, blank=True)
    response_on = models.DateField("answered on", null=True, blank=True)
    response_note = models.CharField("answer or modification", max_length=500, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["audience", "response"], name="recommendation_response"),
            # Answers awaited: the few sent and pending, by the day they were sent.
            models.Index(
                fields=["sent_on"],
                condition=models.Q(audience="prescriber", response="pending"),
                name="recommendation_awaiting",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    def clean(self) -> None:
        errors = {}
        if self.audience == Audience.PATIENT:
            if not self.action:
                errors["action"] = "Choose the kind of action for the patient."
            if self.prescriber_id:
                errors["prescriber"] = "A recommendation to the patient goes to no prescriber."
            if self.response:
                errors["response"] = "Only a prescriber answers a recommendation."
        if self.audience == Audience.PRESCRIBER:
            if not self.prescriber_id:
                errors["prescriber"] = "Choose the prescriber this recommendation goes to."
            elif self.patient_id and self.prescriber.organisation_id != self.patient.organisation_id:
                errors["prescriber"] = "Choose a prescriber from this pharmacy's directory."
            if self.response == Response.DECLINED and not self.response_note.strip():
                errors["response_note"] = "Record the prescriber's reason for declining."
            if self.response == Response.MODIFIED and not self.response_note.strip():
                errors["response_note"] = "Record what the prescriber changed."
            if self.response and self.response != Response.PENDING and not self.response_on:
                errors["response_on"] = "Enter the date of the answer."
        if errors:
            raise ValidationError(errors)


class Addendum(models.Model):
    """A correction or note added to a completed review; the review itself never changes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="addenda")
    text = models.TextField()
    written_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["written_at"]
        verbose_name_plural = "addenda"

    def __str__(self) -> str:
        return self.text[:80]


class ChangeKind(models.TextChoices):
    START = "start", "Started"
    STOP = "stop", "Stopped"
    CHANGE = "change", "Changed"


class MedicationChange(models.Model):
    """A change to the medication list made during a review, with why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="medication_changes")
    medication = models.ForeignKey(MedicationEntry, on_delete=models.PROTECT, related_name="review_changes")
    kind = models.CharField(max_length=10, choices=ChangeKind.choices)
    reason = models.CharField(max_length=300)
    changes = models.JSONField(default=dict, blank=True)  # {field: [old, new]}
    made_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["made_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.medication}"


class PrescriberLetter(models.Model):
    """A prescriber letter as rendered (reviews/letters.py): its PDF, kept for the exact content it
    was made from (the SHA-256 of its HTML), so that downloading it again costs no rendering. A
    change to anything the letter says, its date included, makes a new one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="prescriber_letters")
    prescriber = models.ForeignKey(Prescriber, on_delete=models.PROTECT, related_name="+")
    content_sha256 = models.CharField(max_length=64)
    pdf = models.BinaryField()
    rendered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["review", "prescriber", "content_sha256"], name="prescriber_letter_once_per_content"
            )
        ]

    def __str__(self) -> str:
        return f"Letter to {self.prescriber} for {self.review}"


# --- The MTM program: enrolment, CMR offers, stored measure and eligibility results ------------------


def validate_contract_number(value: str) -> None:
    if not re.fullmatch(r"[HSRE]\d{4}", value or ""):
        raise ValidationError("A contract number is a letter (H, S, R or E) and 4 digits, e.g. H1234.")


class MtmProgram(VersionedRecord):
    """An organisation's MTM program for one plan contract and contract year: the targeting criteria
    it chose, within the year's limits (reviews/rules/targeting.yaml)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="mtm_programs")
    contract_number = models.CharField(max_length=5, validators=[validate_contract_number])
    year = models.PositiveSmallIntegerField("contract year")
    name = models.CharField(max_length=200, blank=True, help_text="e.g. the plan's name")
    min_diseases = models.PositiveSmallIntegerField("chronic diseases required", default=3)
    min_drugs = models.PositiveSmallIntegerField("drugs required", default=8)
    cost_threshold = models.DecimalField("annual drug cost threshold ($)", max_digits=10, decimal_places=2)
    count_all_drugs = models.BooleanField(
        "count every Part D drug", default=False, help_text="Otherwise only maintenance drugs count."
    )

    class Meta:
        ordering = ["-year", "contract_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "contract_number", "year"], name="mtm_program_once_per_contract_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract_number} {self.year}" + (f" ({self.name})" if self.name else "")

    def criteria(self):
        from reviews.eligibility import ProgramCriteria

        return ProgramCriteria(self.min_diseases, self.min_drugs, self.cost_threshold, self.count_all_drugs)

    def clean(self) -> None:
        from reviews.eligibility import TargetingRulesError, targeting_year

        if not self.year or self.cost_threshold is None:
            return
        try:
            rules = targeting_year(self.year)
        except TargetingRulesError as error:
            raise ValidationError({"year": str(error)}) from None
        errors = self.criteria().errors(rules)
        if errors:
            raise ValidationError(errors)


class TargetingReason(models.TextChoices):
    CRITERIA = "01", "01 Met the chronic disease, drug and cost criteria"
    DRUG_MANAGEMENT = "02", "02 At risk in the plan's drug management program"
    BOTH = "03", "03 Both"
    OTHER = "04", "04 Other (expanded eligibility)"


class OptOutReason(models.TextChoices):
    DEATH = "01", "01 Death"
    DISENROLLED = "02", "02 Left the plan"
    REQUEST = "03", "03 The patient asked"
    OTHER = "99", "99 Other"


class Enrollment(VersionedRecord):
    """A patient enrolled in a program: when they met the criteria and were enrolled, and whether
    and why they left it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey(MtmProgram, on_delete=models.PROTECT, related_name="enrollments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="enrollments")
    targeting_reason = models.CharField(
        "targeting reason", max_length=2, choices=TargetingReason.choices, default=TargetingReason.CRITERIA
    )
    met_on = models.DateField("met the criteria on")
    enrolled_on = models.DateField("enrolled on")
    opted_out_on = models.DateField("opted out on", null=True, blank=True, validators=[validate_not_future])
    opt_out_reason = models.CharField(
        "opt-out reason", max_length=2, choices=OptOutReason.choices, blank=True
    )

    class Meta:
        ordering = ["enrolled_on"]
        constraints = [
            models.UniqueConstraint(fields=["program", "patient"], name="enrollment_once_per_program")
        ]
        indexes = [  # the eligibility worklist: a program's members still in it, the earliest met first
            models.Index(
                fields=["program", "met_on", "id"],
                name="enrollment_worklist",
                condition=models.Q(opted_out_on=None),
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient} in {self.program}"

    def clean(self) -> None:
        errors = {}
        if self.met_on and self.enrolled_on and self.enrolled_on < self.met_on:
            errors["enrolled_on"] = "A patient is enrolled on or after the day they met the criteria."
        if self.opted_out_on and not self.opt_out_reason:
            errors["opt_out_reason"] = "Give the reason for the opt-out."
        if self.opt_out_reason and not self.opted_out_on:
            errors["opted_out_on"] = "Give the date of the opt-out."
        if self.opted_out_on and self.enrolled_on and self.opted_out_on < self.enrolled_on:
            errors["opted_out_on"] = "The opt-out cannot be before the enrolment."
        if errors:
            raise ValidationError(errors)


class OfferMethod(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    MAIL = "mail", "Letter"
    PORTAL = "portal", "Portal or e-mail"


class CmrOffer(models.Model):
    """A CMR offered to an enrolled patient."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="offers")
    offered_on = models.DateField("offered on", validators=[validate_not_future])
    method = models.CharField("how", max_length=20, choices=OfferMethod.choices)
    recipient = models.CharField("offered to", max_length=20, choices=CmrRecipient.choices)
    offered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["offered_on", "created_at"]

    def __str__(self) -> str:
        return f"CMR offered on {self.offered_on}"

    @property
    def patient_id(self):  # whom the audit trail files it under
        return self.enrollment.patient_id


class ProgramRunStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ProgramRun(models.Model):
    """Eligibility and quality measures computed for a whole organisation and year by the Celery
    worker (reviews/program.py), in chunks of patients: `cursor` is the last patient done, so a run
    that stopped goes on from there."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    requested_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    status = models.CharField(
        max_length=20, choices=ProgramRunStatus.choices, default=ProgramRunStatus.QUEUED
    )
    patients_total = models.PositiveIntegerField(null=True)
    patients_done = models.PositiveIntegerField(default=0)
    patients_computed = models.PositiveIntegerField(default=0)  # the others had not changed
    cursor = models.UUIDField(null=True, blank=True)
    # The organisation's rates as the run left them (reviews/program.organisation_rates), so that
    # the program page and the API need not group every stored result again.
    rates = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)  # for the user; no patient data
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "year", "-created_at"], name="program_run_org_year")]

    def __str__(self) -> str:
        return f"{self.year} ({self.status})"

    @property
    def percent(self) -> int | None:
        return int(100 * self.patients_done / self.patients_total) if self.patients_total else None


class PatientYear(models.Model):
    """What a patient's stored results for a year were computed from: a signature of their data
    (record, fills, conditions, medications) and of the rules, so that a run recomputes only the
    patients whose signature changed."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    signature = models.CharField(max_length=64)
    computed_on = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient", "year"], name="patient_year_once")]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.year}"


class PatientMeasure(models.Model):
    """One quality measure's result for a patient and measurement year, as last computed."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="measure_results")
    year = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=20)
    in_denominator = models.BooleanField()
    met = models.BooleanField(null=True)
    exclusion = models.CharField(max_length=60, blank=True)
    days_covered = models.PositiveSmallIntegerField(null=True)
    days_in_period = models.PositiveSmallIntegerField(null=True)
    concurrent_days = models.PositiveSmallIntegerField(null=True)
    days_can_miss = models.SmallIntegerField(null=True)  # PDC in the running year; < 0: already lost
    computed_on = models.DateField()  # the day days_can_miss counts to

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "year", "code"], name="patient_measure_once")
        ]
        indexes = [
            # the organisation's rates; the at-risk worklist (fewest days left to miss first)
            models.Index(fields=["organisation", "year", "code", "met"], name="measure_org_year_code"),
            models.Index(
                fields=["organisation", "year", "days_can_miss"],
                name="measure_at_risk",
                condition=models.Q(met=False, days_can_miss__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.year}"

    @property
    def pdc(self) -> float | None:
        return self.days_covered / self.days_in_period if self.days_in_period else None


class PatientEligibility(models.Model):
    """Whether a patient met a program's targeting criteria, as last computed."""

    program = models.ForeignKey(MtmProgram, on_delete=models.CASCADE, related_name="eligibility")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    met = models.BooleanField()
    met_on = models.DateField(null=True)
    diseases = models.JSONField(default=list)  # labels of the core diseases found
    drugs = models.PositiveSmallIntegerField()
    annual_cost = models.DecimalField(max_digits=12, decimal_places=2)
    cost_estimated = models.BooleanField()
    missing = models.JSONField(default=list)  # what is missing, in plain words
    missing_count = models.PositiveSmallIntegerField()
    computed_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "patient"], name="patient_eligibility_once")
        ]
        indexes = [models.Index(fields=["program", "met", "missing_count"], name="eligibility_worklist")]

    def __str__(self) -> str:
        return f"{self.patient_id} {'met' if self.met else 'not met'}"


class ValueSetRole(models.TextChoices):
    DRUGS = "drugs", "The measure's drugs (its denominator)"
    NUMERATOR_DRUGS = (
        "numerator_drugs",
        "The drugs its numerator looks for (SUPD: statins; COB: benzodiazepines)",
    )


class MeasureValueSet(models.Model):
    """An organisation's licensed value set for one measure (e.g. PQA's NDC lists), loaded from a
    CSV (reviews/value_sets.py) and resolved to RxNorm ingredients: it replaces the knowledge base's
    drug list for that measure and role in the organisation's results."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    measure_code = models.CharField(max_length=20)
    role = models.CharField(max_length=20, choices=ValueSetRole.choices)
    ingredients = models.JSONField(default=list)
    rows = models.PositiveIntegerField()
    source_file = models.CharField(max_length=200)
    loaded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "measure_code", "role"], name="value_set_once")
        ]

    def __str__(self) -> str:
        return f"{self.measure_code} {self.role} ({self.source_file})"
