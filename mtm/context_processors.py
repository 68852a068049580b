from django.conf import settings

from mtm.permissions import Capability


def navigation(request):
    user = request.user
    signed_in = user.is_authenticated
    return {
        "nav": {
            "patients": signed_in and user.can(Capability.PATIENT_VIEW),
            "edit_patients": signed_in and user.can(Capability.PATIENT_EDIT),
            "audit": signed_in and user.can(Capability.AUDIT_VIEW),
            "team": signed_in and user.can(Capability.TEAM_MANAGE),
            "portal": signed_in and user.can(Capability.PORTAL),
            "reviews": signed_in and user.can(Capability.REVIEW_VIEW),
            "conduct_reviews": signed_in and user.can(Capability.REVIEW_CONDUCT),
            "reports": signed_in and user.can(Capability.REPORTS_VIEW),
        },
        "session_idle_minutes": settings.SESSION_IDLE_MINUTES,
    }
