"""API shapes. Field rules come from the models; whole-record rules run in the services."""

from django.db import models
from rest_framework import serializers

from mtm.api.fields import RealDateField, VersionField
from patients.models import (
    Allergy,
    CareTeamMember,
    Condition,
    GeneResult,
    Measurement,
    MedicationEntry,
    Patient,
    PatientFactor,
    PharmacyFill,
    Prescriber,
)
from patients.selectors import prescribers_visible_to
from patients.services import UNIT_FACTORS


class VersionedSerializer(serializers.ModelSerializer):
    """`version` is read back on every record and must be sent back when changing one: a change
    based on an older version is refused with 409 instead of overwriting someone else's edit."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: RealDateField,
    }

    version = VersionField(required=False, help_text="Required when updating: the version you last read.")

    def validate(self, attrs):
        if self.instance is not None and "version" not in attrs:
            raise serializers.ValidationError(
                {"version": "Send the version you last read to change this record."}
            )
        return attrs


def _scope_prescriber_field(serializer: serializers.Serializer, name: str = "prescriber") -> None:
    request = serializer.context.get("request")
    field = serializer.fields.get(name)
    if field is not None and request is not None:
        field.queryset = prescribers_visible_to(request.user)


class PatientSerializer(VersionedSerializer):
    class Meta:
        model = Patient
        fields = [
            "id", "version", "first_name", "last_name", "date_of_birth", "sex", "preferred_language",
            "phone", "mobile_phone", "email", "address_line1", "address_line2", "city", "state", "postal_code",
            "representative_name", "representative_relationship", "representative_phone", "representative_email",
            "consent_email_reminders", "consent_sms_reminders", "plan_name", "member_id", "no_known_allergies", "hospice",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]


class PatientSearchSerializer(serializers.Serializer):
    query = serializers.CharField(
        max_length=200, help_text='Name words ("smi jo") or a birth date (MM/DD/YYYY)'
    )


class PrescriberSerializer(VersionedSerializer):
    class Meta:
        model = Prescriber
        fields = [
            "id", "version", "first_name", "last_name", "credentials", "specialty", "npi",
            "practice_name", "phone", "fax",
        ]  # fmt: skip
        read_only_fields = ["id"]
        validators = []  # NPI uniqueness per organisation is checked by the service


class CareTeamMemberSerializer(VersionedSerializer):
    prescriber_name = serializers.CharField(source="prescriber.__str__", read_only=True)

    class Meta:
        model = CareTeamMember
        fields = ["id", "version", "prescriber", "prescriber_name", "role", "is_primary_care"]
        read_only_fields = ["id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _scope_prescriber_field(self)
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            self.fields["prescriber"].read_only = True


class MedicationSerializer(VersionedSerializer):
    class Meta:
        model = MedicationEntry
        fields = [
            "id", "version", "name", "strength_dose", "directions", "indication", "prescriber", "source",
            "start_date", "stop_date", "stop_reason", "status", "notes", "ingredients", "recognised_as",
            "knowledge_base_version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "status", "ingredients", "recognised_as", "knowledge_base_version", "created_at", "updated_at",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _scope_prescriber_field(self)
        instance = self.instance
        if instance is None or getattr(instance, "status", None) != "stopped":
            # Stopping is its own action (POST .../stop/) with a required reason.
            self.fields["stop_date"].read_only = True
            self.fields["stop_reason"].read_only = True


class MedicationStopSerializer(serializers.Serializer):
    stop_date = RealDateField(label="date stopped")
    stop_reason = serializers.CharField(max_length=300)
    version = VersionField()


class AllergySerializer(VersionedSerializer):
    class Meta:
        model = Allergy
        fields = [
            "id", "version", "substance", "reaction", "severity", "kind", "noted_on", "status", "inactive_reason",
        ]  # fmt: skip
        read_only_fields = ["id", "status", "inactive_reason"]


class AllergyInactivateSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
    version = VersionField()


class ConditionSerializer(VersionedSerializer):
    class Meta:
        model = Condition
        fields = [
            "id",
            "version",
            "icd10_code",
            "snomed_code",
            "description",
            "onset_date",
            "status",
            "resolved_date",
            "notes",
            "source_system",
            "source_record",
        ]
        read_only_fields = ["id", "description", "status", "resolved_date"]
        # Required when a condition is added through the API (an imported one may have SNOMED only).
        extra_kwargs = {"icd10_code": {"required": True, "allow_blank": False}}


class ConditionResolveSerializer(serializers.Serializer):
    resolved_date = RealDateField(label="date resolved")
    version = VersionField()


class GeneResultSerializer(VersionedSerializer):
    """A phenotype (`{"gene": "CYP2C19", "phenotype": "poor metabolizer"}`) or, for HLA-A and HLA-B,
    an allele and a result (`{"gene": "HLA-B", "allele": "*57:01", "result": "positive"}`)."""

    class Meta:
        model = GeneResult
        fields = [
            "id", "version", "gene", "phenotype", "allele", "result", "tested_on", "lab", "notes", "status",
            "error_reason", "source_system", "source_record",
        ]  # fmt: skip
        read_only_fields = ["id", "status", "error_reason", "source_system", "source_record"]
        validators = []  # one active result per gene (and allele) is checked by the model, naming the field


class GeneResultErrorSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
    version = VersionField()


class PatientFactorSerializer(VersionedSerializer):
    """Pregnancy, breastfeeding or a lifestyle factor, in the screening's words (`alcohol`,
    `grapefruit`, `vitamin k rich diet`...)."""

    class Meta:
        model = PatientFactor
        fields = ["id", "version", "factor", "detail", "noted_on", "due_on", "status", "ended_on"]
        read_only_fields = ["id", "status", "ended_on"]
        validators = []  # one active entry per factor is checked by the model, naming the field


class PatientFactorEndSerializer(serializers.Serializer):
    ended_on = RealDateField(label="no longer applies since")
    version = VersionField()


UNIT_CHOICES = sorted({unit for units in UNIT_FACTORS.values() for unit in units})


class MeasurementSerializer(VersionedSerializer):
    unit = serializers.ChoiceField(
        choices=UNIT_CHOICES,
        required=False,
        help_text="Unit of `value` as sent; stored and returned in kg, cm, mg/dL, mmHg or %.",
    )

    class Meta:
        model = Measurement
        fields = ["id", "version", "kind", "value", "unit", "diastolic", "measured_on", "note"]
        read_only_fields = ["id"]


class FillSerializer(VersionedSerializer):
    class Meta:
        model = PharmacyFill
        fields = [
            "id",
            "version",
            "drug_name",
            "medication",
            "fill_date",
            "days_supply",
            "quantity",
            "rx_number",
            "total_cost",
        ]
        read_only_fields = ["id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        patient = self.context.get("patient")
        if patient is not None and "medication" in self.fields:
            self.fields["medication"].queryset = MedicationEntry.objects.filter(patient=patient)
