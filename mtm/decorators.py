from functools import wraps

from django.core.exceptions import PermissionDenied

from mtm.middleware import signed_out
from mtm.permissions import Capability


def requires(capability: Capability):
    """Page views: sign-in required, then the capability. Patient users get 403 on staff pages."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return signed_out(request)
            if not request.user.can(capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
