"""The one place that decides which organisation's clinical data a user may reach."""

from django.db.models import QuerySet

from mtm.permissions import Capability


def scope_to_organisation(queryset: QuerySet, user, *, path: str = "organisation") -> QuerySet:
    """Rows of `queryset` that belong to the user's organisation, or none at all.

    `path` is the lookup from the model to its organisation, e.g. "patient__organisation".
    Patient users get nothing here: they reach their own record only through the portal.
    """
    if not user.is_authenticated or not user.can(Capability.PATIENT_VIEW):
        return queryset.none()
    return queryset.filter(**{path: user.organisation_id})
