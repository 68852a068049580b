from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ".json,.ndjson,application/fhir+json"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class FhirImportForm(forms.Form):
    source_system = forms.CharField(
        label="Where the data comes from", max_length=200,
        help_text="The clinic's EHR, a health information exchange… A later import from the same source "
        "is recognised: it proposes only what changed.",
    )  # fmt: skip
    files = MultipleFileField(
        label="FHIR files",
        help_text="A Bundle or a resource (.json), or Bulk Data files (.ndjson); several at once.",
    )


class FillImportForm(forms.Form):
    file = forms.FileField(
        label="Fill file (CSV)", widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"})
    )
    identifier_system = forms.CharField(
        label="Patient identifiers from", max_length=200,
        help_text="The system whose patient numbers the patient_id column holds (e.g. “Main St Pharmacy”).",
    )  # fmt: skip
    mapping = forms.CharField(
        label="Other column names (optional)", required=False, max_length=1000,
        help_text="When the file names its columns differently: “Rx Date=fill_date,Qty=quantity”.",
    )  # fmt: skip
