"""API shapes for reviews. Field rules come from the models; the rules of a review run in the services."""

from rest_framework import serializers

from mtm.api.fields import VersionField
from patients.api.serializers import VersionedSerializer, _scope_prescriber_field
from patients.selectors import patients_visible_to
from reviews.models import MedicationAssessment, NonadherenceCause, Problem, Recommendation, Response, Review
from reviews.services import cpt_units


class RecommendationSerializer(VersionedSerializer):
    prescriber_confirmed = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Send true to confirm a prescriber who neither prescribes the problem's medications nor is "
        "on the patient's care team; without it such a prescriber is refused (400 naming this field).",
    )
    response = serializers.ChoiceField(
        choices=Response.choices,
        allow_blank=True,
        read_only=True,
        help_text="The prescriber's answer; empty for a recommendation to the patient.",
    )

    class Meta:
        model = Recommendation
        fields = [
            "id", "version", "problem", "audience", "action", "text", "talked_about", "to_do", "prescriber",
            "prescriber_confirmed", "sent_on", "response", "response_on", "response_note", "created_at",
        ]  # fmt: skip
        read_only_fields = [
            "id",
            "problem",
            "sent_on",
            "response_on",
            "response_note",
            "created_at",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _scope_prescriber_field(self)


class ProblemSerializer(VersionedSerializer):
    recommendations = RecommendationSerializer(many=True, read_only=True)

    class Meta:
        model = Problem
        fields = [
            "id", "version", "finding_id", "finding", "title", "category", "nonadherence_cause", "pcne_code",
            "priority", "details", "medications", "status", "outcome", "no_recommendation_reason",
            "recommendations", "created_at",
        ]  # fmt: skip
        read_only_fields = ["id", "finding_id", "finding", "recommendations", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        review = self.context.get("review")
        field = self.fields.get("medications")
        if review is not None and field is not None:
            field.child_relation.queryset = review.patient.medications.all()


class ReviewSerializer(VersionedSerializer):
    billing = serializers.SerializerMethodField(help_text="CPT codes and units from the minutes spent")

    class Meta:
        model = Review
        fields = [
            "id", "version", "patient", "kind", "method", "video_link", "participant", "scheduled_for",
            "consent_noted", "notes", "status", "pharmacist", "started_at", "completed_at", "minutes_spent",
            "new_patient", "summary_delivered_on", "billing", "created_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "status", "pharmacist", "started_at", "completed_at", "minutes_spent", "new_patient",
            "summary_delivered_on", "billing", "created_at",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "patient" in self.fields:
            self.fields["patient"].queryset = patients_visible_to(request.user)
        if self.instance is not None and not isinstance(self.instance, list):
            self.fields["patient"].read_only = True

    def get_billing(self, review: Review) -> list[dict]:
        if not review.minutes_spent:
            return []
        new_patient = review.new_patient if review.new_patient is not None else True
        return [
            {"code": code, "units": units}
            for code, units in cpt_units(minutes=review.minutes_spent, new_patient=new_patient)
        ]


class AssessmentSerializer(VersionedSerializer):
    usual_answers = serializers.BooleanField(
        write_only=True, default=False, help_text="Answer yes to every question not answered yet"
    )

    class Meta:
        model = MedicationAssessment
        fields = [
            "id", "version", "medication", "purpose", "still_needed", "working", "safe", "taken_as_intended",
            "understands", "better_alternative", "notes", "usual_answers",
        ]  # fmt: skip
        read_only_fields = ["id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        review = self.context.get("review")
        if review is not None:
            self.fields["medication"].queryset = review.patient.medications.all()


class FindingConfirmSerializer(serializers.Serializer):
    finding_id = serializers.CharField(
        max_length=300, help_text="The `id` of a finding of the current screening"
    )
    category = serializers.ChoiceField(choices=Problem._meta.get_field("category").choices, required=False)
    priority = serializers.ChoiceField(choices=Problem._meta.get_field("priority").choices, required=False)


class FindingDismissSerializer(serializers.Serializer):
    finding_id = serializers.CharField(max_length=300)
    reason = serializers.CharField(max_length=500)


class AdherenceConfirmSerializer(serializers.Serializer):
    medication = serializers.UUIDField()
    nonadherence_cause = serializers.ChoiceField(choices=NonadherenceCause.choices)


class CompleteSerializer(serializers.Serializer):
    version = VersionField()
    minutes_spent = serializers.IntegerField(min_value=1, max_value=600)
    acknowledge_undecided = serializers.BooleanField(
        default=False, help_text="Complete although major or contraindicated findings are undecided"
    )


class AddendumSerializer(serializers.Serializer):
    text = serializers.CharField()


class ResponseSerializer(serializers.Serializer):
    version = VersionField()
    response = serializers.ChoiceField(
        choices=Response.choices,
        help_text="The prescriber's answer; `pending` withdraws an answer recorded by mistake.",
    )
    response_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Required with an answer; never in the future",
    )
    response_note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    sent_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Corrects the day the letter was sent (null: not sent). Left out, the recorded day stays "
        "(the answer's day when none was recorded).",
    )


class SummaryDeliveredSerializer(serializers.Serializer):
    version = VersionField()
    on = serializers.DateField(help_text="The day the written summary was given or sent")


# --- Quality measures -----------------------------------------------------------------------------


class MeasureYearSerializer(serializers.Serializer):
    year = serializers.IntegerField(
        min_value=2000,
        max_value=2100,
        error_messages={
            "required": "Give the measurement year, e.g. ?year=2026.",
            "invalid": "The year must be a number such as 2026.",
        },
    )


class MeasureSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="PDC-DR, PDC-RASA, PDC-STA, SUPD, POLY-ACH, POLY-CNS or COB")
    name = serializers.CharField()
    in_denominator = serializers.BooleanField()
    exclusion = serializers.CharField(allow_blank=True, help_text="The exclusion that applied, if any")
    reason = serializers.CharField(allow_blank=True, help_text="Why the patient is outside the denominator")
    met = serializers.BooleanField(allow_null=True, help_text="The numerator; null outside the denominator")
    lower_is_better = serializers.BooleanField()
    drugs = serializers.ListField(child=serializers.CharField())
    pdc = serializers.FloatField(allow_null=True)
    days_covered = serializers.IntegerField(allow_null=True)
    days_in_period = serializers.IntegerField(allow_null=True)
    index_date = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    concurrent_days = serializers.IntegerField(allow_null=True, help_text="Days of concurrent use")
    days_can_miss = serializers.IntegerField(
        allow_null=True, help_text="PDC, during the year: uncovered days left before the measure is lost"
    )


class MeasuresResponseSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    measures = MeasureSerializer(many=True)


def measure_json(result) -> dict:
    return {
        "code": result.code,
        "name": result.name,
        "in_denominator": result.in_denominator,
        "exclusion": result.exclusion,
        "reason": result.reason,
        "met": result.met,
        "lower_is_better": result.lower_is_better,
        "drugs": list(result.drugs),
        "pdc": round(result.pdc, 4) if result.pdc is not None else None,
        "days_covered": result.days_covered,
        "days_in_period": result.days_in_period,
        "index_date": result.index_date.isoformat() if result.index_date else None,
        "period_end": result.period_end.isoformat() if result.period_end else None,
        "concurrent_days": result.concurrent_days,
        "days_can_miss": result.days_can_miss,
    }


class MeasureRateSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    lower_is_better = serializers.BooleanField(help_text="COB, POLY-ACH, POLY-CNS: a lower rate is better")
    denominator = serializers.IntegerField(help_text="Patients in the denominator")
    numerator = serializers.IntegerField(help_text="Of those, how many met the measure")
    rate = serializers.DecimalField(
        max_digits=5, decimal_places=4, allow_null=True, help_text="numerator / denominator"
    )
    excluded = serializers.IntegerField(help_text="Patients an exclusion took out")
    at_risk = serializers.IntegerField(help_text="PDC: not met, but can still be")
    lost = serializers.IntegerField(help_text="PDC: can no longer be met this year")


class MeasureRatesResponseSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    computed_at = serializers.DateTimeField(allow_null=True, help_text="When the last complete run finished")
    run_status = serializers.CharField(allow_null=True, help_text="queued, running, done or failed")
    measures = MeasureRateSerializer(many=True)
