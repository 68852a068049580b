"""Workspace forms. They check shape; the services check the rules of a review."""

from django import forms

from patients.forms import VersionedForm
from patients.models import MedicationSource
from reviews.models import (
    MedicationAssessment,
    NonadherenceCause,
    Problem,
    Recommendation,
    Response,
    Review,
)


class WorkspaceForm(VersionedForm):
    """Many small forms share the workspace: none of them takes the focus on load."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class ReviewForm(WorkspaceForm):
    class Meta:
        model = Review
        fields = ["kind", "method", "video_link", "participant", "scheduled_for", "consent_noted", "notes"]
        widgets = {"scheduled_for": DateTimeInput(), "notes": forms.Textarea(attrs={"rows": 2})}


class AssessmentForm(WorkspaceForm):
    class Meta:
        model = MedicationAssessment
        fields = [
            "purpose", "still_needed", "working", "safe", "taken_as_intended", "understands",
            "better_alternative", "notes",
        ]  # fmt: skip
        widgets = {"notes": forms.TextInput()}


class ProblemForm(WorkspaceForm):
    class Meta:
        model = Problem
        fields = [
            "title", "category", "nonadherence_cause", "pcne_code", "priority", "medications", "details",
            "patient_wording", "status", "outcome", "no_recommendation_reason",
        ]  # fmt: skip
        widgets = {
            "details": forms.Textarea(attrs={"rows": 2}),
            "patient_wording": forms.Textarea(attrs={"rows": 2}),
            "medications": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, medications=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["medications"].queryset = medications


class FindingConfirmForm(forms.ModelForm):
    finding_id = forms.CharField(widget=forms.HiddenInput)

    class Meta:
        model = Problem
        fields = ["category", "priority"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("category", "priority"):  # taken from the finding when left out
            self.fields[name].required = False


class FindingDismissForm(forms.Form):
    finding_id = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=500, label="Why it is not a problem for this patient", widget=forms.TextInput
    )


class AdherenceConfirmForm(forms.Form):
    nonadherence_cause = forms.ChoiceField(
        label="Cause", choices=[("", "Why? choose a cause"), *NonadherenceCause.choices]
    )


class RecommendationForm(WorkspaceForm):
    class Meta:
        model = Recommendation
        fields = ["audience", "action", "text", "to_do", "prescriber"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2}), "to_do": forms.Textarea(attrs={"rows": 2})}
        labels = {"to_do": "What I need to do (the patient's words, for the action plan)"}

    def __init__(self, *args, prescribers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prescriber"].queryset = prescribers


class CompleteForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    minutes_spent = forms.IntegerField(label="Minutes spent", min_value=1, max_value=600)


class AddendumForm(forms.Form):
    text = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 2}))


class ResponseForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    response = forms.ChoiceField(choices=[c for c in Response.choices if c[0] != Response.PENDING])
    response_on = forms.DateField(label="Answered on", widget=forms.DateInput(attrs={"type": "date"}))
    response_note = forms.CharField(
        label="Answer, modification or reason", max_length=500, required=False, widget=forms.TextInput
    )


class MedicationStartForm(forms.Form):
    name = forms.CharField(label="Medication", max_length=200)
    strength_dose = forms.CharField(label="Strength / dose", max_length=100, required=False)
    directions = forms.CharField(label="How to use it", max_length=300, required=False)
    indication = forms.CharField(label="What it is for", max_length=200, required=False)
    source = forms.ChoiceField(choices=MedicationSource.choices, initial=MedicationSource.PRESCRIPTION)
    reason = forms.CharField(label="Why it is started", max_length=300)


class MedicationChangeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    strength_dose = forms.CharField(label="New strength / dose", max_length=100, required=False)
    directions = forms.CharField(label="New directions", max_length=300, required=False)
    reason = forms.CharField(label="Why it changes", max_length=300)


class MedicationStopForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    stop_date = forms.DateField(label="Stopped on", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label="Why it is stopped", max_length=300)


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            if data["end"] < data["start"]:
                self.add_error("end", "The end of the period is before its start.")
            elif (data["end"] - data["start"]).days > 366 * 3:
                self.add_error("end", "Choose a period of at most three years.")
        return data


class SummaryDeliveredForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    summary_delivered_on = forms.DateField(
        label="CMR summary given or sent on", widget=forms.DateInput(attrs={"type": "date"})
    )
