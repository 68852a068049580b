from rest_framework.permissions import SAFE_METHODS, BasePermission


class HasCapability(BasePermission):
    """One permission class for the whole API, driven by two view attributes:
    `read_capability` for safe methods and `write_capability` for the rest.
    A view that names neither is closed to everyone."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        name = "read_capability" if request.method in SAFE_METHODS else "write_capability"
        capability = getattr(view, name, None)
        return capability is not None and user.can(capability)
