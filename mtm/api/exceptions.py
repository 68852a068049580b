from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from mtm.errors import EditConflict


def exception_handler(exc, context):
    """Service errors become API errors: a Django ValidationError is a 400 naming the fields,
    an edit conflict is a 409."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            body = {
                ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
                for field, messages in exc.message_dict.items()
            }
        else:
            body = {"non_field_errors": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, EditConflict):
        return Response({"detail": str(exc), "code": "edit_conflict"}, status=status.HTTP_409_CONFLICT)
    return drf_exception_handler(exc, context)
