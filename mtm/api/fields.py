"""Serializer fields shared by the API's apps."""

from rest_framework import serializers


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
