from rest_framework.permissions import SAFE_METHODS, BasePermission

from mtm.middleware import activate_organisation_time_zone


class IsStaff(BasePermission):
    """Signed-in staff of an organisation (the API schema and its documentation: not for patients)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and not user.is_patient_user)


class HasCapability(BasePermission):
    """One permission class for the whole API, driven by two view attributes:
    `read_capability` for safe methods and `write_capability` for the rest.
    A view that names neither is closed to everyone."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        # A token-authenticated user is known only now, after the middleware ran: "today" in
        # validation must be the organisation's, as on the pages.
        activate_organisation_time_zone(user)
        name = "read_capability" if request.method in SAFE_METHODS else "write_capability"
        capability = getattr(view, name, None)
        return capability is not None and user.can(capability)
