"""Page forms. They check shape and field rules; the services re-validate the whole record."""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from mtm.fields import TelInput
from mtm.forms import QueryForm, RealDatesMixin
from mtm.models import AuditAction
from patients.models import (
    PHENOTYPE_GROUPS,
    Allergy,
    CareTeamMember,
    Condition,
    GeneResult,
    Measurement,
    MeasurementKind,
    MedicationEntry,
    MedicationStatus,
    Patient,
    PatientFactor,
    PatientIdentifier,
    PharmacyFill,
    Prescriber,
    normalise_hla_allele,
)
from patients.services import UNIT_FACTORS, measurement_unit_check
from patients.validators import icd10cm_description, icd10cm_search, normalise_icd10cm


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class VersionedForm(RealDatesMixin, forms.ModelForm):
    """An edit form carries the version it was opened at, so a stale save is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields["version"].initial = self.instance.version
            self.fields["version"].required = True
        first_visible = next((f for f in self.fields.values() if not f.widget.is_hidden), None)
        if first_visible is not None:
            first_visible.widget.attrs.setdefault("autofocus", True)

    def data_for_service(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name != "version"}


class RecordForm(VersionedForm):
    """A form of the patient record. One sent back with errors puts focus on the first field to
    correct (the form's, the model's and the service's errors all arrive in add_error), not on its
    first field."""

    def add_error(self, field, error):
        super().add_error(field, error)
        first_wrong = next((name for name in self.fields if name in self._errors), None)
        if first_wrong is not None and not self.fields[first_wrong].widget.is_hidden:
            for name, form_field in self.fields.items():
                if name == first_wrong:
                    form_field.widget.attrs["autofocus"] = True
                else:
                    form_field.widget.attrs.pop("autofocus", None)


class PatientForm(RecordForm):
    class Meta:
        model = Patient
        fields = [
            "first_name", "last_name", "date_of_birth", "sex", "preferred_language",
            "phone", "mobile_phone", "email",
            "address_line1", "address_line2", "city", "state", "postal_code",
            "representative_name", "representative_relationship", "representative_phone", "representative_email",
            "consent_email_reminders", "consent_sms_reminders",
            "plan_name", "member_id", "no_known_allergies", "hospice",
        ]  # fmt: skip
        widgets = {"date_of_birth": DateInput()}


class PrescriberForm(RecordForm):
    class Meta:
        model = Prescriber
        fields = [
            "first_name",
            "last_name",
            "credentials",
            "specialty",
            "npi",
            "practice_name",
            "phone",
            "fax",
        ]


class CareTeamForm(RecordForm):
    """Add a prescriber from the directory, or a new one typed in here."""

    new_first_name = forms.CharField(label="First name", required=False, max_length=100)
    new_last_name = forms.CharField(label="Last name", required=False, max_length=100)
    new_credentials = forms.CharField(label="Credentials", required=False, max_length=40)
    new_specialty = forms.CharField(label="Specialty", required=False, max_length=100)
    new_npi = forms.CharField(label="NPI", required=False, max_length=10)
    # Checked by the model when the service adds the prescriber (mtm.fields.PhoneNumberField).
    new_phone = forms.CharField(label="Phone", required=False, max_length=40, widget=TelInput)
    new_fax = forms.CharField(label="Fax", required=False, max_length=40, widget=TelInput)

    NEW_FIELDS = ("first_name", "last_name", "credentials", "specialty", "npi", "phone", "fax")

    class Meta:
        model = CareTeamMember
        fields = ["prescriber", "role", "is_primary_care"]

    def __init__(self, *args, prescribers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prescriber"].queryset = prescribers
        self.fields["prescriber"].required = False
        self.fields["prescriber"].label = "Prescriber from your directory"
        if not self.instance._state.adding:
            for name in self.NEW_FIELDS:
                del self.fields[f"new_{name}"]
            self.fields["prescriber"].disabled = True

    def new_prescriber_data(self) -> dict | None:
        data = {name: self.cleaned_data.get(f"new_{name}", "") for name in self.NEW_FIELDS}
        return data if any(data.values()) else None

    def clean(self):
        cleaned = super().clean()
        if not self.instance._state.adding:
            return cleaned
        new = self.new_prescriber_data()
        if cleaned.get("prescriber") and new:
            raise ValidationError("Choose a prescriber from the directory or enter a new one, not both.")
        if not cleaned.get("prescriber") and not new:
            self.add_error("prescriber", "Choose a prescriber, or enter a new prescriber's name and NPI.")
        if new:
            for name in ("first_name", "last_name", "npi"):
                if not new[name]:
                    self.add_error(f"new_{name}", "This field is required for a new prescriber.")
        return cleaned

    def _get_validation_exclusions(self):
        # The prescriber may be created after validation, so the model must not insist on it here.
        return {*super()._get_validation_exclusions(), "prescriber"}

    def data_for_service(self) -> dict:
        return {"role": self.cleaned_data["role"], "is_primary_care": self.cleaned_data["is_primary_care"]}


class MedicationForm(RecordForm):
    class Meta:
        model = MedicationEntry
        fields = [
            "name", "strength_dose", "directions", "indication", "prescriber", "source",
            "start_date", "stop_date", "stop_reason", "notes",
        ]  # fmt: skip
        widgets = {
            "start_date": DateInput(),
            "stop_date": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, prescribers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prescriber"].queryset = prescribers
        # Names the drug knowledge base knows, suggested as the user types (their choice, never applied).
        self.fields["name"].widget.attrs.update(
            {
                "list": "medication-names",
                "autocomplete": "off",
                "hx-get": reverse("medication_names"),
                "hx-trigger": "input changed delay:250ms",
                "hx-sync": "this:replace",
                "hx-target": "#medication-names",
                "hx-swap": "innerHTML",
            }
        )
        if self.instance.status != MedicationStatus.STOPPED:
            # Stopping is its own action with a required reason.
            del self.fields["stop_date"]
            del self.fields["stop_reason"]


class MedicationStopForm(RecordForm):
    class Meta:
        model = MedicationEntry
        fields = ["stop_date", "stop_reason"]
        widgets = {"stop_date": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stop_date"].required = True
        self.initial["stop_date"] = self.initial.get("stop_date") or timezone.localdate()
        self.fields["stop_reason"].required = True


class AllergyForm(RecordForm):
    class Meta:
        model = Allergy
        fields = ["substance", "reaction", "severity", "kind", "noted_on"]
        widgets = {"noted_on": DateInput()}


class AllergyInactivateForm(RecordForm):
    class Meta:
        model = Allergy
        fields = ["inactive_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inactive_reason"].required = True


class ConditionForm(RecordForm):
    class Meta:
        model = Condition
        fields = ["icd10_code", "onset_date", "notes"]
        widgets = {"onset_date": DateInput()}
        help_texts = {"icd10_code": "Type a code or words of the diagnosis, then pick from the list"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Room to type words of the diagnosis (a code is at most 8 characters; the model checks it).
        code = self.fields["icd10_code"]
        self.fields["icd10_code"] = forms.CharField(
            label=code.label, help_text=code.help_text, max_length=100
        )
        # Suggestions come from the server as the user types, into the <datalist> of the section.
        self.fields["icd10_code"].widget.attrs.update(
            {
                "list": "icd10-options",
                "autocomplete": "off",
                "autofocus": True,
                "hx-get": reverse("icd10_options"),
                "hx-trigger": "input changed delay:250ms",
                "hx-sync": "this:replace",  # the newest text wins over a slower earlier answer
                "hx-target": "#icd10-options",
                "hx-swap": "innerHTML",
            }
        )

    def clean_icd10_code(self):
        # Without JavaScript there are no suggestions as one types: words of a diagnosis get the
        # matching codes back, to type one of them.
        text = self.cleaned_data["icd10_code"].strip()
        if icd10cm_description(normalise_icd10cm(text)) is not None:
            return text
        matches = icd10cm_search(text, limit=5)
        if matches:
            raise ValidationError(
                "“%(text)s” is not an ICD-10-CM code. Matching codes: %(matches)s. Enter the code.",
                code="icd10cm_words",
                params={"text": text, "matches": "; ".join(f"{code} {name}" for code, name in matches)},
            )
        return text


class ConditionResolveForm(RecordForm):
    class Meta:
        model = Condition
        fields = ["resolved_date"]
        widgets = {"resolved_date": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resolved_date"].required = True
        self.initial["resolved_date"] = self.initial.get("resolved_date") or timezone.localdate()


# The phenotype list grouped by the kind of gene it describes (the model refuses a mismatch).
PHENOTYPE_CHOICES = [
    ("", "— (none for HLA-A, HLA-B)"),
    *[
        (
            f"{title}: {', '.join(genes)}" if len(genes) > 1 else title,
            [(p.value, p.label) for p in phenotypes],
        )
        for title, genes, phenotypes in PHENOTYPE_GROUPS
    ],
]


class GeneResultForm(RecordForm):
    class Meta:
        model = GeneResult
        fields = ["gene", "phenotype", "allele", "result", "tested_on", "lab", "notes"]
        widgets = {"tested_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phenotype"].choices = PHENOTYPE_CHOICES
        self.fields["allele"].widget.attrs.update({"placeholder": "*57:01", "autocomplete": "off"})

    def clean_allele(self):
        return normalise_hla_allele(self.cleaned_data["allele"])


class GeneResultErrorForm(RecordForm):
    class Meta:
        model = GeneResult
        fields = ["error_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["error_reason"].required = True


class FactorForm(RecordForm):
    class Meta:
        model = PatientFactor
        fields = ["factor", "detail", "noted_on", "due_on"]
        widgets = {"noted_on": DateInput(), "due_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["noted_on"] = self.initial.get("noted_on") or timezone.localdate()


class FactorEndForm(RecordForm):
    class Meta:
        model = PatientFactor
        fields = ["ended_on"]
        widgets = {"ended_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ended_on"].required = True
        self.initial["ended_on"] = self.initial.get("ended_on") or timezone.localdate()


class UnitSelect(forms.Select):
    """The units grouped by the kind they measure, each option marked with its kind
    (data-kind) so that the page offers only the units of the chosen kind (static/js/forms.js)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        kind = UNIT_KINDS.get(value)
        if kind:
            option["attrs"]["data-kind"] = kind
        return option


UNIT_KINDS = {unit: str(kind) for kind, units in UNIT_FACTORS.items() for unit in units}
UNIT_CHOICES = [
    ("", "Usual unit (kg, cm, mg/dL, mmHg, %, mL/min/1.73m², mmol/L)"),
    *[
        (MeasurementKind(kind).label, [(unit, unit) for unit in units])
        for kind, units in UNIT_FACTORS.items()
    ],
]


class MeasurementForm(RecordForm):
    unit = forms.ChoiceField(
        choices=UNIT_CHOICES,
        required=False,
        widget=UnitSelect(attrs={"data-options-follow": "kind"}),
        help_text="Converted to kg, cm or mg/dL",
    )

    class Meta:
        model = Measurement
        fields = ["kind", "value", "unit", "diastolic", "measured_on", "note"]
        widgets = {"measured_on": DateInput()}
        labels = {"value": "Value", "diastolic": "Diastolic (blood pressure only)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["measured_on"] = self.initial.get("measured_on") or timezone.localdate()

    def _post_clean(self):
        kind, unit = self.cleaned_data.get("kind"), self.cleaned_data.get("unit")
        if kind:
            try:
                unit = measurement_unit_check(kind, unit)
            except ValidationError as error:
                self.add_error(None, error)
                return
        if kind and unit != next(iter(UNIT_FACTORS[MeasurementKind(kind)])):
            # The range is checked after conversion to the canonical unit, in the service.
            return
        super()._post_clean()

    def data_for_service(self) -> dict:
        data = super().data_for_service()
        data.pop("unit", None)
        return data


class FillForm(RecordForm):
    class Meta:
        model = PharmacyFill
        fields = [
            "drug_name",
            "medication",
            "fill_date",
            "days_supply",
            "quantity",
            "rx_number",
            "total_cost",
        ]
        widgets = {"fill_date": DateInput()}

    def __init__(self, *args, medications, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["medication"].queryset = medications
        self.fields["medication"].label = "Medication on the list"


class RemoveForm(RecordForm):
    """Confirms removing an item; carries only the version."""

    class Meta:
        model = CareTeamMember
        fields = []


class AuditQuery(QueryForm):
    """The audit trail's filters: ?patient=<id>&user=<user name>&action=<action>&since=&until=."""

    patient = forms.UUIDField(required=False)
    user = forms.CharField(required=False)
    action = forms.ChoiceField(choices=[("", "Any"), *AuditAction.choices], required=False)
    since = forms.DateField(label="From", required=False, input_formats=["%Y-%m-%d", "%m/%d/%Y"])
    until = forms.DateField(label="To", required=False, input_formats=["%Y-%m-%d", "%m/%d/%Y"])

    def __init__(self, data, *, usernames):
        super().__init__(data)
        self.usernames = set(usernames)
        self.fields["patient"].error_messages["invalid"] = "“patient” must be a patient's id."

    def clean_user(self):
        username = self.cleaned_data["user"].strip()
        if username and username not in self.usernames:
            raise ValidationError(
                "“user” must be the user name of someone in your pharmacy; “%(value)s” is not.",
                code="unknown_user",
                params={"value": username},
            )
        return username

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("until") and cleaned["until"] < cleaned["since"]:
            self.add_error("until", "“To” (“until”) is before “From” (“since”).")
        return cleaned


class IdentifierForm(RecordForm):
    class Meta:
        model = PatientIdentifier
        fields = ["system", "value"]


class IdentifierRemoveForm(RecordForm):
    """Confirms removing an identifier; carries only the version."""

    class Meta:
        model = PatientIdentifier
        fields = []
