"""Follow-up forms. Times are entered in the organisation's time zone (the middleware activates it)."""

from django import forms

from followups import selectors
from followups.models import FollowUp, FollowUpStatus
from patients.forms import VersionedForm
from reviews.forms import DateTimeInput


class StaffChoiceMixin:
    """Only the organisation's active pharmacists and staff can be assigned."""

    def limit_staff(self, organisation_id) -> None:
        field = self.fields["assigned_to"]
        field.queryset = selectors.staff_of(organisation_id)
        field.label_from_instance = lambda user: user.get_full_name() or user.username
        field.empty_label = "Nobody yet"


class FollowUpForm(StaffChoiceMixin, VersionedForm):
    class Meta:
        model = FollowUp
        fields = ["kind", "due_at", "duration_minutes", "assigned_to", "remind_patient", "notes"]
        widgets = {"due_at": DateTimeInput(), "notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"due_at": "Due (date and time)"}

    def __init__(self, *args, organisation_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_staff(organisation_id)
        self.fields["remind_patient"].help_text = ""  # the page says what the patient agreed to
        self.fields["duration_minutes"].min_value = 5
        self.fields["duration_minutes"].widget.attrs.update(min=5, max=240, step=5)
        if not self.instance._state.adding:
            self.fields.pop("kind")  # a different kind of follow-up is a new one


class RescheduleForm(StaffChoiceMixin, forms.ModelForm):
    """The queue's one-step move: a new time and, if wanted, someone else."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = FollowUp
        fields = ["due_at", "assigned_to"]
        widgets = {"due_at": DateTimeInput()}
        labels = {"due_at": "New time"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_staff(self.instance.organisation_id)
        self.fields["version"].initial = self.instance.version


class CloseForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (s.value, s.label) for s in (FollowUpStatus.DONE, FollowUpStatus.MISSED, FollowUpStatus.CANCELLED)
        ]
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=500)
