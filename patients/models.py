"""The patient record a pharmacist needs before a medication review."""

import datetime
import re
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from interactions.engine.patient import age_on
from interactions.engine.request import GENES
from mtm.fields import PhoneNumberField
from mtm.models import Organisation, User, VersionedRecord
from patients.validators import (
    validate_days_supply,
    validate_dose_text,
    validate_fill_cost,
    validate_fill_quantity,
    validate_icd10cm,
    validate_not_future,
    validate_npi,
    validate_plausible_birth_date,
)


class SourcedRecord(models.Model):
    """Where an imported row came from (patients/interop/): the system that sent it, the record
    there (a FHIR Type/id) and when it last changed there. Empty for what was typed in MTM. A second
    import recognises its rows by these and changes them instead of adding them again."""

    source_system = models.CharField("imported from", max_length=200, blank=True, editable=False)
    source_record = models.CharField("record there", max_length=200, blank=True, editable=False)
    source_updated = models.DateTimeField("last changed there", null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other / not stated"


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    CHINESE = "zh", "Chinese"
    VIETNAMESE = "vi", "Vietnamese"
    TAGALOG = "tl", "Tagalog"
    ARABIC = "ar", "Arabic"
    FRENCH = "fr", "French"
    HAITIAN_CREOLE = "ht", "Haitian Creole"
    KOREAN = "ko", "Korean"
    PORTUGUESE = "pt", "Portuguese"
    RUSSIAN = "ru", "Russian"
    OTHER = "other", "Other"


class Patient(VersionedRecord):
    NOT_AUDITED = ("first_name_lower", "last_name_lower")  # generated

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="patients")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    # Generated lower-case copies make name search case-insensitive and indexable on every database.
    first_name_lower = models.GeneratedField(
        expression=Lower("first_name"), output_field=models.CharField(max_length=100), db_persist=True
    )
    last_name_lower = models.GeneratedField(
        expression=Lower("last_name"), output_field=models.CharField(max_length=100), db_persist=True
    )
    date_of_birth = models.DateField(validators=[validate_plausible_birth_date])
    sex = models.CharField(max_length=10, choices=Sex.choices)

    phone = PhoneNumberField(blank=True)
    mobile_phone = PhoneNumberField("mobile phone (for text reminders)", blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField("ZIP / postal code", max_length=20, blank=True)
    preferred_language = models.CharField(max_length=10, choices=Language.choices, default=Language.ENGLISH)

    representative_name = models.CharField("caregiver / representative", max_length=200, blank=True)
    representative_relationship = models.CharField("relationship", max_length=100, blank=True)
    representative_phone = PhoneNumberField("representative's phone", blank=True)
    representative_email = models.EmailField("representative's email", blank=True)

    consent_email_reminders = models.BooleanField("agrees to reminders by email", default=False)
    consent_sms_reminders = models.BooleanField("agrees to reminders by text message", default=False)

    plan_name = models.CharField("health plan", max_length=200, blank=True)
    member_id = models.CharField("plan member ID", max_length=64, blank=True)

    no_known_allergies = models.BooleanField("no known allergies (confirmed with the patient)", default=False)
    # Quality measures exclude people in hospice care (reviews/rules/measures.yaml).
    hospice = models.BooleanField("in hospice care", default=False)
    portal_user = models.OneToOneField(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="patient_record"
    )

    class Meta:
        ordering = ["last_name", "first_name", "date_of_birth"]
        indexes = [
            models.Index(fields=["organisation", "last_name_lower"], name="patient_org_last_name"),
            models.Index(fields=["organisation", "first_name_lower"], name="patient_org_first_name"),
            models.Index(fields=["organisation", "date_of_birth"], name="patient_org_birth_date"),
            # The MTM program's run walks an organisation's patients in primary-key order, a chunk
            # at a time from its cursor (reviews/program.py): an index range scan per chunk.
            models.Index(fields=["organisation", "id"], name="patient_org_id"),
        ]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def clean(self) -> None:
        errors = {}
        if self.portal_user_id and (
            self.portal_user.role != "patient" or self.portal_user.organisation_id != self.organisation_id
        ):
            errors["portal_user"] = "Only a patient account of this pharmacy can be linked to a patient."
        if self.consent_email_reminders and not (self.email or self.representative_email):
            errors["consent_email_reminders"] = (
                "Add an email address before recording consent to email reminders."
            )
        if self.consent_sms_reminders and not self.mobile_phone:
            errors["consent_sms_reminders"] = (
                "Add a mobile phone number before recording consent to text reminders."
            )
        if errors:
            raise ValidationError(errors)

    def age_on(self, day: datetime.date) -> int:
        return age_on(self.date_of_birth, day)


class PatientIdentifier(VersionedRecord):
    """A number another system knows the patient by (a pharmacy system's MRN, an EHR's id, a plan's
    member id): fill files and FHIR imports find patients by it. Unique per organisation, system
    and value; `system` is a URI or a short label."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="identifiers")
    system = models.CharField(max_length=200, help_text="e.g. “Main St Pharmacy”, or a URI")
    value = models.CharField(max_length=200)

    class Meta:
        ordering = ["system", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "system", "value"], name="patient_identifier_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.system}: {self.value}"


class Prescriber(VersionedRecord):
    """A prescriber in the organisation's directory; patients' care teams and medications point here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="prescribers")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    credentials = models.CharField(max_length=40, blank=True, help_text="e.g. MD, DO, NP, PA-C")
    specialty = models.CharField(max_length=100, blank=True)
    npi = models.CharField("NPI", max_length=10, validators=[validate_npi])
    practice_name = models.CharField(max_length=200, blank=True)
    phone = PhoneNumberField(blank=True)
    fax = PhoneNumberField(blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "npi"], name="prescriber_npi_unique_per_org")
        ]

    def __str__(self) -> str:
        suffix = f", {self.credentials}" if self.credentials else ""
        return f"{self.first_name} {self.last_name}{suffix}"


class CareTeamMember(VersionedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team")
    prescriber = models.ForeignKey(Prescriber, on_delete=models.PROTECT, related_name="care_team_memberships")
    role = models.CharField(max_length=100, blank=True, help_text="e.g. primary care, cardiology")
    is_primary_care = models.BooleanField("primary care provider", default=False)

    class Meta:
        ordering = ["-is_primary_care", "prescriber__last_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "prescriber"], name="care_team_member_once_per_patient"
            )
        ]

    def __str__(self) -> str:
        return str(self.prescriber)

    def clean(self) -> None:
        if (
            self.prescriber_id
            and self.patient_id
            and self.prescriber.organisation_id != self.patient.organisation_id
        ):
            raise ValidationError({"prescriber": "Choose a prescriber from this pharmacy's directory."})


class MedicationSource(models.TextChoices):
    PRESCRIPTION = "prescription", "Prescription"
    OTC = "otc", "Over the counter"
    HERBAL = "herbal", "Herbal"
    SUPPLEMENT = "supplement", "Vitamin or supplement"


class MedicationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    STOPPED = "stopped", "Stopped"


class MedicationEntry(VersionedRecord, SourcedRecord):
    """One line of the medication list, as the patient told it."""

    NOT_AUDITED = ("ingredients", "recognised_as", "knowledge_base_version")  # derived from `name`

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="medications")
    name = models.CharField("medication", max_length=200, help_text="As the patient or the label says it")
    strength_dose = models.CharField(
        "strength / dose", max_length=100, blank=True, validators=[validate_dose_text]
    )
    directions = models.CharField("how I use it", max_length=300, blank=True)
    indication = models.CharField("why I use it", max_length=200, blank=True)
    prescriber = models.ForeignKey(
        Prescriber, on_delete=models.PROTECT, null=True, blank=True, related_name="medication_entries"
    )
    source = models.CharField(
        max_length=20, choices=MedicationSource.choices, default=MedicationSource.PRESCRIPTION
    )
    start_date = models.DateField("date started", null=True, blank=True, validators=[validate_not_future])
    stop_date = models.DateField("date stopped", null=True, blank=True, validators=[validate_not_future])
    stop_reason = models.CharField("why stopped", max_length=300, blank=True)
    status = models.CharField(
        max_length=10, choices=MedicationStatus.choices, default=MedicationStatus.ACTIVE
    )
    notes = models.TextField(blank=True)
    # What the drug knowledge base recognised in `name` when it was last saved (or re-linked after a
    # knowledge-base update): [{"rxcui": "11289", "name": "warfarin"}], empty when unrecognised.
    ingredients = models.JSONField(default=list, blank=True, editable=False)
    recognised_as = models.CharField(max_length=200, blank=True, editable=False)
    knowledge_base_version = models.CharField(max_length=20, blank=True, editable=False)

    class Meta:
        ordering = ["status", "name"]
        verbose_name = "medication"
        indexes = [models.Index(fields=["patient", "status"], name="medication_patient_status")]

    def __str__(self) -> str:
        return f"{self.name} {self.strength_dose}".strip()

    @property
    def is_ended(self) -> bool:
        return self.status == MedicationStatus.STOPPED

    @property
    def display_name(self) -> str:
        """'glipizide 5 mg', without repeating a strength the name already holds: "HCTZ 25" with
        "25 mg" is "HCTZ 25 mg"."""
        name, strength = self.name.strip(), self.strength_dose.strip()
        if not strength or strength.lower() in name.lower():
            return name
        number = re.match(r"\d[\d.,/-]*", strength)
        if number and re.search(rf"(?<![\w.]){re.escape(number[0])}$", name):
            return name + strength[len(number[0]) :]
        return f"{name} {strength}"

    @property
    def is_recognised(self) -> bool:
        return bool(self.ingredients)

    @property
    def ingredient_names(self) -> str:
        return " + ".join(item["name"] for item in self.ingredients)

    def clean(self) -> None:
        errors = {}
        if self.start_date and self.stop_date and self.stop_date < self.start_date:
            errors["stop_date"] = "The stop date is before the start date."
        if self.status == MedicationStatus.STOPPED:
            if not self.stop_date:
                errors["stop_date"] = "Enter the date the medication was stopped."
            if not self.stop_reason.strip():
                errors["stop_reason"] = "Say why the medication was stopped."
        if (
            self.prescriber_id
            and self.patient_id
            and self.prescriber.organisation_id != self.patient.organisation_id
        ):
            errors["prescriber"] = "Choose a prescriber from this pharmacy's directory."
        if errors:
            raise ValidationError(errors)


class AllergyKind(models.TextChoices):
    ALLERGY = "allergy", "Allergy"
    INTOLERANCE = "intolerance", "Intolerance"
    SIDE_EFFECT = "side_effect", "Side effect"


class AllergySeverity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe (e.g. anaphylaxis)"
    UNKNOWN = "unknown", "Unknown"


class AllergyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "No longer applies"


class Allergy(VersionedRecord, SourcedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="allergies")
    substance = models.CharField(max_length=200, help_text="Drug, drug class or other substance")
    reaction = models.CharField(max_length=200, blank=True)
    severity = models.CharField(
        max_length=10, choices=AllergySeverity.choices, default=AllergySeverity.UNKNOWN
    )
    kind = models.CharField("type", max_length=20, choices=AllergyKind.choices, default=AllergyKind.ALLERGY)
    noted_on = models.DateField("date noted", null=True, blank=True, validators=[validate_not_future])
    status = models.CharField(max_length=10, choices=AllergyStatus.choices, default=AllergyStatus.ACTIVE)
    inactive_reason = models.CharField("why it no longer applies", max_length=200, blank=True)

    class Meta:
        ordering = ["status", "substance"]
        verbose_name_plural = "allergies"

    def __str__(self) -> str:
        return self.substance

    @property
    def is_ended(self) -> bool:
        return self.status == AllergyStatus.INACTIVE

    def clean(self) -> None:
        if self.status == AllergyStatus.INACTIVE and not self.inactive_reason.strip():
            raise ValidationError({"inactive_reason": "Say why this allergy no longer applies."})


class ConditionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RESOLVED = "resolved", "Resolved"


class Condition(VersionedRecord, SourcedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="conditions")
    # ICD-10-CM when known (what the screening rules read); a condition imported with a SNOMED CT
    # code only keeps that code and the sender's display.
    icd10_code = models.CharField("ICD-10-CM code", max_length=10, blank=True, validators=[validate_icd10cm])
    snomed_code = models.CharField("SNOMED CT code", max_length=20, blank=True, editable=False)
    description = models.CharField(max_length=300, editable=False)
    onset_date = models.DateField("onset", null=True, blank=True, validators=[validate_not_future])
    status = models.CharField(max_length=10, choices=ConditionStatus.choices, default=ConditionStatus.ACTIVE)
    resolved_date = models.DateField("date resolved", null=True, blank=True, validators=[validate_not_future])
    notes = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["status", "icd10_code"]

    def __str__(self) -> str:
        return f"{self.icd10_code or 'SNOMED ' + self.snomed_code} {self.description}"

    @property
    def is_ended(self) -> bool:
        return self.status == ConditionStatus.RESOLVED

    def clean(self) -> None:
        errors = {}
        if self.status == ConditionStatus.RESOLVED and not self.resolved_date:
            errors["resolved_date"] = "Enter the date the condition resolved."
        if self.onset_date and self.resolved_date and self.resolved_date < self.onset_date:
            errors["resolved_date"] = "The resolved date is before the onset date."
        if errors:
            raise ValidationError(errors)


class MeasurementKind(models.TextChoices):
    WEIGHT = "weight", "Weight"
    HEIGHT = "height", "Height"
    SERUM_CREATININE = "serum_creatinine", "Serum creatinine"
    BLOOD_PRESSURE = "blood_pressure", "Blood pressure"
    A1C = "a1c", "A1c"
    EGFR = "egfr", "eGFR"
    POTASSIUM = "potassium", "Potassium"
    INR = "inr", "INR"
    QTC = "qtc", "QTc"


# Canonical unit and the range a real measurement can fall in, per kind.
MEASUREMENT_UNITS = {
    MeasurementKind.WEIGHT: "kg",
    MeasurementKind.HEIGHT: "cm",
    MeasurementKind.SERUM_CREATININE: "mg/dL",
    MeasurementKind.BLOOD_PRESSURE: "mmHg",
    MeasurementKind.A1C: "%",
    MeasurementKind.EGFR: "mL/min/1.73m²",
    MeasurementKind.POTASSIUM: "mmol/L",
    MeasurementKind.INR: "ratio",  # shown without a unit: "2.4"
    MeasurementKind.QTC: "ms",
}
MEASUREMENT_RANGES = {
    MeasurementKind.WEIGHT: (Decimal("0.5"), Decimal("400")),
    MeasurementKind.HEIGHT: (Decimal("30"), Decimal("250")),
    MeasurementKind.SERUM_CREATININE: (Decimal("0.1"), Decimal("25")),
    MeasurementKind.BLOOD_PRESSURE: (Decimal("50"), Decimal("300")),
    MeasurementKind.A1C: (Decimal("3"), Decimal("20")),
    MeasurementKind.EGFR: (Decimal("1"), Decimal("200")),
    MeasurementKind.POTASSIUM: (Decimal("1"), Decimal("10")),
    MeasurementKind.INR: (Decimal("0.5"), Decimal("15")),
    MeasurementKind.QTC: (Decimal("250"), Decimal("700")),
}
DIASTOLIC_RANGE = (Decimal("20"), Decimal("200"))


class Measurement(VersionedRecord, SourcedRecord):
    """A dated measurement in its canonical unit (kg, cm, mg/dL, mmHg, %, mL/min/1.73m², mmol/L,
    ms; an INR is a ratio)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="measurements")
    kind = models.CharField(max_length=20, choices=MeasurementKind.choices)
    value = models.DecimalField(max_digits=7, decimal_places=2, help_text="Systolic for blood pressure")
    diastolic = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    measured_on = models.DateField("date", validators=[validate_not_future])
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["kind", "-measured_on", "-created_at"]
        indexes = [models.Index(fields=["patient", "kind", "-measured_on"], name="measurement_latest")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.display_value}"

    @property
    def unit(self) -> str:
        return MEASUREMENT_UNITS[MeasurementKind(self.kind)]

    @property
    def display_value(self) -> str:
        """ "132/76 mmHg", "1.0 mg/dL", "6.1%", "86.2 kg"."""
        if self.kind == MeasurementKind.BLOOD_PRESSURE:
            return f"{self.value:.0f}/{self.diastolic:.0f} mmHg" if self.diastolic is not None else ""
        if self.kind in (
            MeasurementKind.SERUM_CREATININE,
            MeasurementKind.A1C,
            MeasurementKind.POTASSIUM,
            MeasurementKind.INR,
        ):
            text = f"{self.value.normalize():f}"
            text = text if "." in text else f"{text}.0"  # lab values keep their decimal: 1.0, not 1
        else:
            text = f"{self.value.normalize():f}"
        if self.kind == MeasurementKind.A1C:
            return f"{text}%"
        if self.kind == MeasurementKind.INR:
            return text
        return f"{text} {self.unit}"

    def clean(self) -> None:
        if not self.kind or self.value is None:
            return
        low, high = MEASUREMENT_RANGES[MeasurementKind(self.kind)]
        errors = {}
        if self.value <= 0:
            errors["value"] = f"{self.get_kind_display()} must be more than 0."
        elif not low <= self.value <= high:
            errors["value"] = (
                f"{self.get_kind_display()} of {self.value.normalize():f} {self.unit} is outside the possible range "
                f"({low.normalize():f} to {high.normalize():f} {self.unit}); check the value and unit."
            )
        if self.kind == MeasurementKind.BLOOD_PRESSURE:
            if self.diastolic is None:
                errors["diastolic"] = "Enter the diastolic pressure."
            elif not DIASTOLIC_RANGE[0] <= self.diastolic <= DIASTOLIC_RANGE[1]:
                errors["diastolic"] = "Diastolic pressure must be between 20 and 200 mmHg."
            elif self.value is not None and self.diastolic >= self.value:
                errors["diastolic"] = "Diastolic pressure must be lower than systolic."
        elif self.diastolic is not None:
            errors["diastolic"] = "Only blood pressure has a diastolic value."
        if errors:
            raise ValidationError(errors)


# --- Pharmacogenomic results and personal factors (what the screening personalises on) ------------

Gene = models.TextChoices("Gene", [(gene.replace("-", "_"), (gene, gene)) for gene in GENES])
HLA_GENES = ("HLA-A", "HLA-B")
HLA_ALLELE = re.compile(r"^\*\d{2}:\d{2}$")


def normalise_hla_allele(text: str) -> str:
    """An allele as reports write it, as the record keeps it: "B*57:01", "57:01", "*5701" and the
    higher resolution "*57:01:01" are all *57:01. Anything else comes back as typed (and is refused)."""
    text = (text or "").strip().upper().replace(" ", "")
    if not text:
        return ""
    fields = text.split("*")[-1]
    match = re.fullmatch(r"(\d{2}):?(\d{2})(:\d{2,3})*", fields)  # a suffix (N, L...) is another allele
    return f"*{match[1]}:{match[2]}" if match else text


class Phenotype(models.TextChoices):
    """CPIC's phenotype words, lower case as the screening rules read them
    (interactions/knowledge/pharmacogenomics.yaml)."""

    ULTRARAPID_METABOLIZER = "ultrarapid metabolizer", "Ultrarapid metabolizer"
    RAPID_METABOLIZER = "rapid metabolizer", "Rapid metabolizer"
    NORMAL_METABOLIZER = "normal metabolizer", "Normal metabolizer"
    LIKELY_INTERMEDIATE_METABOLIZER = "likely intermediate metabolizer", "Likely intermediate metabolizer"
    POSSIBLE_INTERMEDIATE_METABOLIZER = (
        "possible intermediate metabolizer",
        "Possible intermediate metabolizer",
    )
    INTERMEDIATE_METABOLIZER = "intermediate metabolizer", "Intermediate metabolizer"
    LIKELY_POOR_METABOLIZER = "likely poor metabolizer", "Likely poor metabolizer"
    POOR_METABOLIZER = "poor metabolizer", "Poor metabolizer"
    INCREASED_FUNCTION = "increased function", "Increased function"
    NORMAL_FUNCTION = "normal function", "Normal function"
    POSSIBLE_DECREASED_FUNCTION = "possible decreased function", "Possible decreased function"
    DECREASED_FUNCTION = "decreased function", "Decreased function"
    POOR_FUNCTION = "poor function", "Poor function"
    NORMAL = "normal", "Normal"
    DEFICIENT = "deficient", "Deficient"
    DEFICIENT_WITH_CNSHA = "deficient with cnsha", "Deficient with CNSHA"
    VARIABLE = "variable", "Variable"
    NORMAL_WARFARIN_SENSITIVITY = "normal warfarin sensitivity", "Normal warfarin sensitivity"
    INTERMEDIATE_WARFARIN_SENSITIVITY = (
        "intermediate warfarin sensitivity",
        "Intermediate warfarin sensitivity",
    )
    HIGH_WARFARIN_SENSITIVITY = "high warfarin sensitivity", "High warfarin sensitivity"
    FAVORABLE_RESPONSE = "favorable response genotype", "Favorable response genotype"
    UNFAVORABLE_RESPONSE = "unfavorable response genotype", "Unfavorable response genotype"
    MH_SUSCEPTIBLE = "malignant hyperthermia susceptible", "Malignant hyperthermia susceptible"
    UNCERTAIN_SUSCEPTIBILITY = "uncertain susceptibility", "Uncertain susceptibility"
    HEARING_LOSS_RISK_INCREASED = (
        "increased risk of aminoglycoside-induced hearing loss",
        "Increased risk of aminoglycoside-induced hearing loss",
    )
    HEARING_LOSS_RISK_NORMAL = (
        "normal risk of aminoglycoside-induced hearing loss",
        "Normal risk of aminoglycoside-induced hearing loss",
    )
    HEARING_LOSS_RISK_UNCERTAIN = (
        "uncertain risk of aminoglycoside-induced hearing loss",
        "Uncertain risk of aminoglycoside-induced hearing loss",
    )
    INDETERMINATE = "indeterminate", "Indeterminate"


_METABOLIZER = [p for p in Phenotype if p.value.endswith(" metabolizer")]
_FUNCTION = [p for p in Phenotype if p.value.endswith(" function")]
# The phenotypes CPIC gives each kind of gene (HLA genes have none: an allele is positive or negative),
# as (group shown in the form, genes, phenotypes).
PHENOTYPE_GROUPS = (
    ("Metabolizer status", ("CYP2B6", "CYP2C19", "CYP2C9", "CYP2D6", "CYP3A5", "TPMT", "NUDT15", "DPYD", "UGT1A1"),
     _METABOLIZER),
    ("Transporter or enzyme function", ("SLCO1B1", "ABCG2", "CYP4F2"), _FUNCTION),
    ("G6PD", ("G6PD",), [Phenotype.NORMAL, Phenotype.DEFICIENT, Phenotype.DEFICIENT_WITH_CNSHA, Phenotype.VARIABLE]),
    ("VKORC1", ("VKORC1",), [p for p in Phenotype if p.value.endswith("warfarin sensitivity")]),
    ("IFNL3", ("IFNL3",), [Phenotype.FAVORABLE_RESPONSE, Phenotype.UNFAVORABLE_RESPONSE]),
    ("RYR1, CACNA1S", ("RYR1", "CACNA1S"), [Phenotype.MH_SUSCEPTIBLE, Phenotype.UNCERTAIN_SUSCEPTIBILITY]),
    ("MT-RNR1", ("MT-RNR1",), [p for p in Phenotype if p.value.endswith("hearing loss")]),
    ("Any gene", (), [Phenotype.INDETERMINATE]),
)  # fmt: skip
PHENOTYPES_OF_GENE = {
    gene: {*(p.value for p in group), Phenotype.INDETERMINATE.value}
    for _, genes, group in PHENOTYPE_GROUPS
    for gene in genes
}


class HlaResult(models.TextChoices):
    POSITIVE = "positive", "Positive (carrier)"
    NEGATIVE = "negative", "Negative"


class GeneResultStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


class GeneResult(VersionedRecord, SourcedRecord):
    """A pharmacogenomic test result: a gene's phenotype in CPIC's words ("CYP2C19 poor metabolizer"),
    or for HLA-A and HLA-B whether an allele is carried ("HLA-B*57:01 positive"). A result does not
    end; one recorded by mistake is marked entered in error, with why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="gene_results")
    gene = models.CharField(max_length=10, choices=Gene.choices)
    phenotype = models.CharField(
        max_length=60, choices=Phenotype.choices, blank=True, help_text="As the report says; blank for HLA"
    )
    allele = models.CharField(
        "HLA allele", max_length=20, blank=True, help_text="HLA-A and HLA-B only, e.g. *57:01"
    )
    result = models.CharField("HLA result", max_length=10, choices=HlaResult.choices, blank=True)
    tested_on = models.DateField("date tested", null=True, blank=True, validators=[validate_not_future])
    lab = models.CharField("laboratory", max_length=200, blank=True)
    notes = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=20, choices=GeneResultStatus.choices, default=GeneResultStatus.ACTIVE
    )
    error_reason = models.CharField("why it was entered in error", max_length=200, blank=True)

    class Meta:
        ordering = ["status", "gene", "allele"]
        verbose_name = "pharmacogenomic result"
        constraints = [
            # One current result per gene (per allele for HLA): a second is an edit of the first.
            models.UniqueConstraint(
                fields=["patient", "gene", "allele"],
                condition=models.Q(status="active"),
                name="gene_result_active_once",
            )
        ]

    def __str__(self) -> str:
        if self.allele:
            return f"{self.gene}{self.allele} {self.result}".strip()
        return f"{self.gene} {self.phenotype}".strip()

    @property
    def is_ended(self) -> bool:
        return self.status == GeneResultStatus.ENTERED_IN_ERROR

    @property
    def is_hla(self) -> bool:
        return self.gene in HLA_GENES

    def clean(self) -> None:
        errors = {}
        if self.gene in HLA_GENES:
            if self.phenotype:
                errors["phenotype"] = f"{self.gene} is reported as an allele and a result, not a phenotype."
            if not self.allele:
                errors["allele"] = f"Enter the {self.gene} allele tested, e.g. *57:01."
            elif not HLA_ALLELE.match(self.allele):
                errors["allele"] = f"“{self.allele}” is not an HLA allele: write it as *57:01."
            if not self.result:
                errors["result"] = "Say whether the allele was found (positive) or not (negative)."
        elif self.gene:
            if self.allele:
                errors["allele"] = "Only HLA-A and HLA-B results name an allele."
            if self.result:
                errors["result"] = "Only HLA-A and HLA-B results are positive or negative."
            if not self.phenotype:
                errors["phenotype"] = (
                    f"Enter the {self.gene} phenotype the report gives, e.g. poor metabolizer."
                )
            elif self.phenotype not in PHENOTYPES_OF_GENE.get(self.gene, {self.phenotype}):
                errors["phenotype"] = f"“{self.get_phenotype_display()}” is not a phenotype of {self.gene}."
        if self.status == GeneResultStatus.ENTERED_IN_ERROR and not self.error_reason.strip():
            errors["error_reason"] = "Say why this result was entered in error."
        if not errors and self.status == GeneResultStatus.ACTIVE and self.patient_id:
            same = GeneResult.objects.filter(
                patient_id=self.patient_id, gene=self.gene, allele=self.allele, status=GeneResultStatus.ACTIVE
            ).exclude(pk=self.pk)
            earlier = same.first()
            if earlier is not None:
                tested = f", tested {earlier.tested_on:%m/%d/%Y}" if earlier.tested_on else ""
                errors["allele" if self.allele else "gene"] = (
                    f"This patient already has a {self.gene}{self.allele} result ({earlier}{tested}): "
                    "change that one, or mark it entered in error first."
                )
        if errors:
            raise ValidationError(errors)


class Factor(models.TextChoices):
    """Pregnancy, breastfeeding and how the patient lives. The lifestyle values are the screening's
    own words (interactions.engine.request.LIFESTYLE_FACTORS)."""

    PREGNANT = "pregnant", "Pregnant"
    BREASTFEEDING = "breastfeeding", "Breastfeeding"
    GRAPEFRUIT = "grapefruit", "Eats grapefruit or drinks grapefruit juice"
    ALCOHOL = "alcohol", "Drinks alcohol"
    SMOKING = "smoking", "Smokes"
    VITAMIN_K = "vitamin k rich diet", "Vitamin K-rich diet (leafy greens)"
    TYRAMINE = "tyramine rich food", "Tyramine-rich foods (aged cheese, cured meats)"
    DAIRY = "dairy", "Dairy with medicines"
    CAFFEINE = "caffeine", "Caffeine"
    HIGH_POTASSIUM = "high potassium diet", "High-potassium diet or salt substitute"
    LICORICE = "licorice", "Eats licorice"


REPRODUCTIVE_FACTORS = (Factor.PREGNANT, Factor.BREASTFEEDING)
# A factor in a word or two, where the full label would crowd the page (the review workspace's facts).
FACTOR_SHORT_LABELS = {
    Factor.PREGNANT: "Pregnant", Factor.BREASTFEEDING: "Breastfeeding", Factor.GRAPEFRUIT: "Grapefruit",
    Factor.ALCOHOL: "Alcohol", Factor.SMOKING: "Smoking", Factor.VITAMIN_K: "Vitamin K-rich diet",
    Factor.TYRAMINE: "Tyramine-rich foods", Factor.DAIRY: "Dairy", Factor.CAFFEINE: "Caffeine",
    Factor.HIGH_POTASSIUM: "High-potassium diet", Factor.LICORICE: "Licorice",
}  # fmt: skip


class FactorStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "No longer applies"


class PatientFactor(VersionedRecord, SourcedRecord):
    """Something about the patient that changes what their medicines do: pregnancy, breastfeeding, or
    a habit ("Drinks alcohol": "2 glasses of wine a day"). Ended, with the date, when it no longer applies."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="factors")
    factor = models.CharField(max_length=30, choices=Factor.choices)
    detail = models.CharField(
        max_length=200, blank=True, help_text="e.g. “2 glasses of wine a day”, “due 03/2027”"
    )
    noted_on = models.DateField("date noted", validators=[validate_not_future])
    # Pregnancy only: the week of pregnancy follows from it (40 weeks at the due date), and some
    # screening rules hold for part of pregnancy only (NSAIDs from 20 weeks).
    due_on = models.DateField("due date", null=True, blank=True, help_text="Pregnancy only")
    status = models.CharField(max_length=10, choices=FactorStatus.choices, default=FactorStatus.ACTIVE)
    ended_on = models.DateField(
        "no longer applies since", null=True, blank=True, validators=[validate_not_future]
    )

    class Meta:
        ordering = ["status", "factor"]
        verbose_name = "pregnancy or lifestyle factor"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "factor"],
                condition=models.Q(status="active"),
                name="patient_factor_active_once",
            )
        ]

    def __str__(self) -> str:
        return self.get_factor_display()

    @property
    def is_ended(self) -> bool:
        return self.status == FactorStatus.ENDED

    @property
    def short_label(self) -> str:
        return FACTOR_SHORT_LABELS.get(self.factor, self.get_factor_display())

    @property
    def is_reproductive(self) -> bool:
        return self.factor in REPRODUCTIVE_FACTORS

    def weeks_on(self, day: datetime.date) -> float | None:
        """Weeks of pregnancy on `day`, from the due date (40 weeks then); None without one."""
        if not self.due_on:
            return None
        return round(min(max(40 - (self.due_on - day).days / 7, 0), 44), 1)

    def clean(self) -> None:
        errors = {}
        if self.factor in REPRODUCTIVE_FACTORS and self.patient_id and self.patient.sex == Sex.MALE:
            errors["factor"] = (
                f"{self.get_factor_display()} cannot be recorded for a male patient. If the sex recorded is "
                "wrong, correct it in the patient's details first."
            )
        if self.due_on and self.factor != Factor.PREGNANT:
            errors["due_on"] = "A due date is recorded with a pregnancy only."
        elif self.due_on and self.noted_on and not 0 <= (self.due_on - self.noted_on).days <= 44 * 7:
            errors["due_on"] = "A due date is within 44 weeks after the date noted."
        if self.status == FactorStatus.ENDED and not self.ended_on:
            errors["ended_on"] = "Enter the date since when it no longer applies."
        if self.ended_on and self.noted_on and self.ended_on < self.noted_on:
            errors["ended_on"] = "This date is before the date noted."
        if "factor" not in errors and self.status == FactorStatus.ACTIVE and self.patient_id:
            same = PatientFactor.objects.filter(
                patient_id=self.patient_id, factor=self.factor, status=FactorStatus.ACTIVE
            ).exclude(pk=self.pk)
            if same.exists():
                errors["factor"] = (
                    f"“{self.get_factor_display()}” is already recorded for this patient: change that entry instead."
                )
        if errors:
            raise ValidationError(errors)


class PharmacyFill(VersionedRecord, SourcedRecord):
    """A dispensing from the pharmacy's records, used to compute adherence."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="fills")
    medication = models.ForeignKey(
        MedicationEntry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="fills",
        help_text="The medication-list entry this fill belongs to, when known",
    )
    drug_name = models.CharField("drug", max_length=200)
    fill_date = models.DateField(validators=[validate_not_future])
    # Plain numbers with one rule each (not Positive...Field or MinValueValidator, whose generic
    # "greater than or equal to 0" the forms and the API would otherwise say first).
    days_supply = models.SmallIntegerField("days' supply", validators=[validate_days_supply])
    quantity = models.DecimalField(max_digits=8, decimal_places=2, validators=[validate_fill_quantity])
    rx_number = models.CharField("Rx number", max_length=40, blank=True)
    # As a pharmacy's fill file gives them (patients/interop/fills.py); blank when typed in.
    ndc = models.CharField("NDC", max_length=11, blank=True)
    rxcui = models.CharField("RxCUI", max_length=20, blank=True)
    strength = models.CharField(max_length=100, blank=True)
    sig = models.CharField(max_length=300, blank=True)
    prescriber_npi = models.CharField("prescriber NPI", max_length=10, blank=True)
    pharmacy = models.CharField(max_length=200, blank=True)
    # What the fill cost (drug cost and dispensing fee), when the fill file says: the MTM program's
    # annual-cost criterion adds these up (reviews/eligibility.py) and estimates the rest.
    total_cost = models.DecimalField(
        "total cost ($)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[validate_fill_cost],
    )

    class Meta:
        ordering = ["-fill_date", "drug_name"]
        verbose_name = "pharmacy fill"
        indexes = [models.Index(fields=["patient", "-fill_date"], name="fill_patient_date")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(days_supply__gte=1, days_supply__lte=365), name="fill_days_supply_1_to_365"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="fill_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.drug_name} {self.fill_date}"

    def clean(self) -> None:
        if self.medication_id and self.patient_id and self.medication.patient_id != self.patient_id:
            raise ValidationError({"medication": "That medication is not on this patient's list."})


# --- Imports (patients/interop/) ---------------------------------------------------------------------


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    READING = "reading", "Being read"
    READY = "ready", "Ready for review"
    FAILED = "failed", "Failed"


class FhirImport(models.Model):
    """One FHIR import: the files a user gave, what the worker read in them (the report), and per
    patient the lines the pharmacist accepts before anything is written to a record."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    source_system = models.CharField("where the data comes from", max_length=200)
    target_patient = models.ForeignKey(
        "Patient", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        help_text="Imported from this patient's page: resources without a Patient of their own are theirs",
    )  # fmt: skip
    file_names = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    files_read = models.PositiveSmallIntegerField(default=0)  # while the worker reads: how far it is
    resources_read = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict)  # counts read and skipped, problems (where, reason)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "-created_at"], name="fhir_import_org_created")]

    def __str__(self) -> str:
        return f"FHIR import from {self.source_system} ({self.status})"


class FhirImportFile(models.Model):
    """A file of an import as uploaded, kept until the worker has read it."""

    job = models.ForeignKey(FhirImport, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=200)
    content = models.BinaryField()

    def __str__(self) -> str:
        return self.name


class PatientMatch(models.TextChoices):
    IDENTIFIER = "identifier", "Same identifier"
    NAME_BIRTH_DATE = "name_birth_date", "Same name and birth date: confirm it is the same person"
    TARGET = "target", "The patient the import was started from"
    NEW = "new", "New patient"


class FhirImportPatient(models.Model):
    """A patient of the files, and the MTM patient they are (matched, confirmed, or made new)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(FhirImport, on_delete=models.CASCADE, related_name="patients")
    key = models.CharField(max_length=200)  # Type/id in the files
    patient = models.ForeignKey("Patient", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    match = models.CharField(max_length=20, choices=PatientMatch.choices)
    confirmed = models.BooleanField(default=False)  # a name + birth date match, confirmed by the pharmacist
    name = models.CharField(max_length=200)  # as the files give it
    birth_date = models.DateField(null=True, blank=True)
    details = models.JSONField(default=dict)  # demographics and identifiers from the files

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LineAction(models.TextChoices):
    ADD = "add", "Add"
    CHANGE = "change", "Change"
    STOP = "stop", "No longer on the source's list"
    SAME = "same", "Already the same"


class LineDecision(models.TextChoices):
    PENDING = "pending", "To decide"
    APPLIED = "applied", "Accepted and written"
    DECLINED = "declined", "Declined"


class FhirImportLine(models.Model):
    """One change an import proposes for one patient: what it would write, shown before it is."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(FhirImport, on_delete=models.CASCADE, related_name="lines")
    import_patient = models.ForeignKey(FhirImportPatient, on_delete=models.CASCADE, related_name="lines")
    number = models.PositiveIntegerField()
    # details, medication, allergy, condition, measurement, gene, factor, fill
    category = models.CharField(max_length=20)
    action = models.CharField(max_length=10, choices=LineAction.choices)
    summary = models.CharField(max_length=500)
    changes = models.JSONField(default=list)  # [[field label, before, after], ...]
    target_id = models.CharField(max_length=64, blank=True)  # the existing row a change or stop is for
    data = models.JSONField(default=dict)  # what is written if accepted
    decision = models.CharField(max_length=10, choices=LineDecision.choices, default=LineDecision.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["import_patient", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="fhir_import_line_once")]

    def __str__(self) -> str:
        return self.summary


class FillImport(models.Model):
    """One pharmacy fill file: kept until the worker has read it, then its counts and the rows it
    refused (line, column, value, reason) as a CSV to download."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=200)
    identifier_system = models.CharField("patient identifier system", max_length=200)
    mapping = models.JSONField(default=dict, blank=True)  # the file's column -> ours
    content = models.BinaryField(null=True)  # the file, until read
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    rows_read = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    errors_csv = models.BinaryField(null=True)  # line, column, value, reason
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "-created_at"], name="fill_import_org_created")]

    def __str__(self) -> str:
        return f"Fill file {self.file_name} ({self.status})"
