"""API shapes for follow-ups. Times are ISO 8601; without an offset they are read in the
organisation's time zone. The scheduling rules run in the services."""

from rest_framework import serializers

from followups import selectors
from followups.models import FollowUp, FollowUpStatus, Reminder
from mtm.api.fields import VersionField
from patients.api.serializers import VersionedSerializer
from patients.selectors import patients_visible_to


class ReminderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reminder
        fields = ["id", "channel", "send_at", "status", "attempts", "sent_at", "last_error", "handled_at"]
        read_only_fields = fields


class FollowUpSerializer(VersionedSerializer):
    reminders = ReminderSerializer(many=True, read_only=True)

    class Meta:
        model = FollowUp
        fields = [
            "id", "version", "patient", "kind", "due_at", "duration_minutes", "assigned_to", "status",
            "remind_patient", "notes", "review", "problem", "recommendation", "closed_at", "automatic",
            "reminders", "created_at", "book_anyway",
        ]  # fmt: skip
        read_only_fields = ["id", "status", "review", "problem", "recommendation", "closed_at", "created_at"]

    automatic = serializers.SerializerMethodField(help_text="Booked by the system from a review")
    book_anyway = serializers.BooleanField(
        write_only=True, default=False,
        help_text="Book although the patient has one of the same kind that day (refused otherwise)",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["patient"].queryset = patients_visible_to(request.user)
            self.fields["assigned_to"].queryset = selectors.staff_of(request.user.organisation_id)
        if self.instance is not None and not isinstance(self.instance, list):
            self.fields["patient"].read_only = True
            self.fields["kind"].read_only = True  # a different kind of follow-up is a new one

    def get_automatic(self, follow_up: FollowUp) -> bool:
        return bool(follow_up.trigger)


class CloseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[
            (s.value, s.label) for s in (FollowUpStatus.DONE, FollowUpStatus.MISSED, FollowUpStatus.CANCELLED)
        ]
    )
    version = VersionField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
