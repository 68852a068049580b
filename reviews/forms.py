"""Workspace forms. They check shape; the services check the rules of a review."""

from django import forms

from mtm.forms import QueryForm
from patients.forms import DateInput, VersionedForm
from patients.models import MedicationSource
from reviews import prescribers as prescriber_rule
from reviews.models import (
    Audience,
    CmrOffer,
    Enrollment,
    MedicationAssessment,
    MtmProgram,
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
        fields = [
            "kind", "method", "video_link", "participant", "scheduled_for", "consent_noted", "notes",
            "recipient", "provider_type", "long_term_care", "cognitive_impairment",
            "reason", "action_taken", "result",
        ]  # fmt: skip
        widgets = {"scheduled_for": DateTimeInput(), "notes": forms.Textarea(attrs={"rows": 2})}
        labels = {
            "long_term_care": "Lives in long-term care (CMR, for the CMS report)",
            "cognitive_impairment": "Cognitively impaired (CMR, for the CMS report)",
            "reason": "Reason for a targeted review",
            "action_taken": "Action taken (targeted review)",
            "result": "Result (targeted review)",
        }

    DEFAULTED = ("recipient", "provider_type")  # left out of a form, they keep the review's value

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.DEFAULTED:
            self.fields[name].required = False

    def clean(self):
        cleaned = super().clean()
        for name in self.DEFAULTED:
            if not cleaned.get(name):
                cleaned[name] = getattr(self.instance, name) or Review._meta.get_field(name).default
        return cleaned


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
            "details": forms.Textarea(attrs={"rows": 4}),
            "patient_wording": forms.Textarea(attrs={"rows": 2}),
            "medications": forms.CheckboxSelectMultiple,
        }
        labels = {"details": "Your assessment (printed on the prescriber letter)"}
        help_texts = {
            "details": "What the problem means for this patient, in your words. A confirmed finding starts "
            "with a draft from its consequence and the patient's data; change it as you judge."
        }

    def __init__(self, *args, medications=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["medications"].queryset = medications
        self.fields["medications"].label_from_instance = lambda entry: entry.display_name


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
    """A reason chosen among the presets (`reason`, the button clicked) or typed (`reason_text`)."""

    finding_id = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, required=False)
    reason_text = forms.CharField(
        max_length=500,
        required=False,
        label="Why it is not a problem for this patient",
        widget=forms.TextInput,
    )

    def clean(self):
        data = super().clean()
        data["reason"] = (data.get("reason") or data.get("reason_text") or "").strip()
        if not data["reason"]:
            self.add_error("reason_text", "Say why this finding is not a problem for this patient.")
        return data


class AdherenceConfirmForm(forms.Form):
    nonadherence_cause = forms.ChoiceField(
        label="Cause", choices=[("", "Why? choose a cause"), *NonadherenceCause.choices]
    )


class PrescriberSelect(forms.Select):
    """Marks the options outside the medication's prescribers and the care team, for the page's
    confirm step (static/js/prescriber-picker.js); the service asks again without JavaScript."""

    def __init__(self, attrs=None, choices=()):
        super().__init__(attrs, choices)
        self.needing_confirmation: set[str] = set()

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if str(value) in self.needing_confirmation:
            option["attrs"]["data-needs-confirmation"] = "true"
        return option


class RecommendationForm(WorkspaceForm):
    prescriber_confirmed = forms.BooleanField(label=prescriber_rule.CONFIRMATION_LABEL, required=False)

    class Meta:
        model = Recommendation
        fields = ["audience", "action", "text", "talked_about", "to_do", "prescriber"]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 2}),
            "talked_about": forms.Textarea(attrs={"rows": 2}),
            "to_do": forms.Textarea(attrs={"rows": 2}),
            "prescriber": PrescriberSelect,
        }
        labels = {
            "talked_about": "What we talked about (the patient's words, for the action plan)",
            "to_do": "What I need to do (the patient's words, for the action plan)",
        }

    def __init__(self, *args, prescribers=None, problem=None, audience=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.audience_preset = audience  # (not `audience`: templates would find the field of that name)
        if audience in Audience.values:  # opened as "To the patient" or "To a prescriber": no choice to make
            self.initial["audience"] = audience
            self.fields["audience"].widget = forms.HiddenInput()
            unused = (
                ("prescriber", "prescriber_confirmed")
                if audience == Audience.PATIENT
                else ("action", "talked_about", "to_do")
            )
            for name in unused:
                del self.fields[name]
            if audience == Audience.PATIENT:
                return
        field = self.fields["prescriber"]
        field.queryset = prescribers
        if problem is not None:
            self._offer_prescribers(
                field, prescriber_rule.prescriber_groups(problem=problem, directory=prescribers)
            )
            field.widget.attrs["data-confirm-message"] = (
                f"This prescriber neither prescribes this problem's medications nor is on "
                f"{problem.patient.full_name}'s care team. Send the recommendation to them?"
            )

    def _offer_prescribers(self, field, groups) -> None:
        """The medication's prescribers first, then the care team, then everyone else; the
        medication's prescriber chosen when there is exactly one."""
        sections = [
            ("Prescribes the problem's medications", groups.of_medications),
            ("The patient's care team", groups.care_team),
            ("Everyone else in the directory (asks for confirmation)", groups.others),
        ]
        field.choices = [("", "---------")] + [
            (title, [(str(option.prescriber.pk), option.label) for option in options])
            for title, options in sections
            if options
        ]
        field.widget.needing_confirmation = groups.needing_confirmation
        field.widget.attrs["data-prescriber-picker"] = "true"
        self.fields["prescriber_confirmed"].widget.attrs["data-prescriber-confirmation"] = "true"
        if groups.preselected is not None and not self.is_bound and not self.instance.prescriber_id:
            self.initial["prescriber"] = groups.preselected.pk

    def clean(self):
        data = super().clean()
        data.setdefault(prescriber_rule.CONFIRMATION_FIELD, False)
        if data.get("audience") == Audience.PATIENT:  # the prescriber chosen in advance goes unused
            data["prescriber"] = None
            data[prescriber_rule.CONFIRMATION_FIELD] = False
        return data

    def data_for_service(self) -> dict:
        return {
            name: value
            for name, value in super().data_for_service().items()
            if name != prescriber_rule.CONFIRMATION_FIELD
        }


class CompleteForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    minutes_spent = forms.IntegerField(label="Minutes spent", min_value=1, max_value=600)
    acknowledge_undecided = forms.BooleanField(
        label="Complete leaving the major or contraindicated findings above undecided", required=False
    )


class AddendumForm(forms.Form):
    text = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 2}))


class ResponseForm(forms.Form):
    """The prescriber's answer to one recommendation and the day the letter went out: recorded,
    or corrected when recorded wrongly. The rules of the dates are the service's."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    sent_on = forms.DateField(
        label="Letter sent on",
        required=False,
        widget=DateInput(),
        help_text="Empty: not sent yet (with an answer: the answer's day).",
    )
    response = forms.ChoiceField(
        label="Answer",
        choices=[
            ("", "Choose the answer"),
            *[c for c in Response.choices if c[0] != Response.PENDING],
            (Response.PENDING, "Awaiting an answer (withdraws a recorded answer)"),
        ],
    )
    response_on = forms.DateField(label="Answered on", required=False, widget=DateInput())
    response_note = forms.CharField(
        label="Modification, or reason for declining", max_length=500, required=False, widget=forms.TextInput
    )

    def __init__(self, *args, recommendation: Recommendation, today, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "version": recommendation.version,
                "sent_on": recommendation.sent_on,
                "response": "" if recommendation.response == Response.PENDING else recommendation.response,
                "response_on": recommendation.response_on,
                "response_note": recommendation.response_note,
            },
        )
        super().__init__(*args, **kwargs)
        for name in ("sent_on", "response_on"):  # the date picker offers no day after today
            self.fields[name].widget.attrs["max"] = today.isoformat()


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
    stop_date = forms.DateField(label="Stopped on", widget=DateInput())
    reason = forms.CharField(label="Why it is stopped", max_length=300)


class PeriodForm(QueryForm):
    """The reports' period, from the address (?start=YYYY-MM-DD&end=YYYY-MM-DD); errors name the
    parameter (mtm.forms.QueryForm)."""

    start = forms.DateField(label="From", widget=DateInput())
    end = forms.DateField(label="To", widget=DateInput())

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            if data["end"] < data["start"]:
                self.add_error("end", "The end of the period (“end”) is before its start (“start”).")
            elif (data["end"] - data["start"]).days > 366 * 3:
                self.add_error("end", "Choose a period of at most three years.")
        return data


class SummaryDeliveredForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    summary_delivered_on = forms.DateField(label="CMR summary given or sent on", widget=DateInput())


# --- The MTM program -------------------------------------------------------------------------------


class ProgramForm(VersionedForm):
    class Meta:
        model = MtmProgram
        fields = [
            "contract_number",
            "year",
            "name",
            "min_diseases",
            "min_drugs",
            "cost_threshold",
            "count_all_drugs",
        ]


class OfferForm(VersionedForm):
    class Meta:
        model = CmrOffer
        fields = ["offered_on", "method", "recipient"]
        widgets = {"offered_on": DateInput()}


class OptOutForm(VersionedForm):
    class Meta:
        model = Enrollment
        fields = ["opted_out_on", "opt_out_reason"]
        widgets = {"opted_out_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["opted_out_on"].required = True
        self.fields["opt_out_reason"].required = True


class ProgramQuery(QueryForm):
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
