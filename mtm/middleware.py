import zoneinfo

from django.conf import settings
from django.shortcuts import resolve_url
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect


class HtmxLoginRedirectMiddleware:
    """When a session has timed out, an htmx request would swap the sign-in page into a fragment.
    Send the whole browser to the sign-in page instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and response.url.startswith(resolve_url(settings.LOGIN_URL))
        ):
            return HttpResponseClientRedirect(response.url)
        return response


class OrganisationTimeZoneMiddleware:
    """Dates and times on pages, and "today" in validation, are those of the user's organisation."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        activate_organisation_time_zone(request.user)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()  # nothing after the response (or the next test) inherits it


def activate_organisation_time_zone(user) -> None:
    """The API calls this again once it has authenticated a token (mtm.api.permissions)."""
    organisation = getattr(user, "organisation", None) if user.is_authenticated else None
    if organisation is not None:
        timezone.activate(zoneinfo.ZoneInfo(organisation.time_zone))
    else:
        timezone.deactivate()
