"""Model fields shared by every app."""

from django import forms
from django.db import models

from mtm.validators import phone_number_normalise


class TelInput(forms.TextInput):
    input_type = "tel"  # the phone keypad on a touch screen

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "tel", **(attrs or {})})


class PhoneNumberField(models.CharField):
    """A telephone or fax number, checked and stored in one format (see mtm.validators).

    The rule lives in the model, so that pages, the API, imports and tasks all go through it:
    `full_clean()` refuses what is not a number and stores the normalised text.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(*args, **kwargs)

    def clean(self, value, model_instance):
        # Normalised here rather than in to_python(), which also runs on every query and save:
        # a stored value is never re-validated on its way to the database.
        return phone_number_normalise(super().clean(value, model_instance))

    def formfield(self, **kwargs):
        return super().formfield(**{"widget": TelInput, **kwargs})
