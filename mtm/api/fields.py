"""Serializer fields shared by the API's apps."""

from rest_framework import serializers
from rest_framework.exceptions import ValidationError


class RealDateField(serializers.DateField):
    """A date sent as YYYY-MM-DD. One that does not exist ("2026-02-31") or is not a date at all
    is refused with a message naming the field, as on the pages."""

    def bind(self, field_name, parent):
        super().bind(field_name, parent)
        label = str(self.label or field_name.replace("_", " ")).lower()
        self.error_messages = {
            **self.error_messages,
            "invalid": f"Enter a real date for “{label}”, as YYYY-MM-DD.",
        }


class VersionField(serializers.IntegerField):
    """The `version` of a record, sent back when changing it: a whole number the database can
    hold (1 to 2^31-1). Anything else is refused naming `version`, before any query."""

    MAX = 2**31 - 1

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The version you last read.")
        super().__init__(min_value=1, max_value=self.MAX, **kwargs)
        self.error_messages = {
            **self.error_messages,
            "invalid": "Send the version you last read, a whole number.",
            "min_value": "A version is a whole number from 1 up.",
            "max_value": "No record has a version that high: send the version you last read.",
            "max_string_length": "No record has a version that high: send the version you last read.",
            "required": "Send the version you last read to change this record.",
            "null": "Send the version you last read to change this record.",
        }


def version_from_query(request) -> int:
    """`?version=` on a DELETE, checked as the field is in a body."""
    try:
        return VersionField().run_validation(request.query_params.get("version", ""))
    except ValidationError as error:
        raise ValidationError({"version": error.detail}) from None
