import time
import zoneinfo
from urllib.parse import urlencode, urlsplit

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib.auth import SESSION_KEY as SESSION_AUTH_KEY
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, resolve_url
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme


def wants_fragment(request) -> bool:
    """A request made by the page's own scripts (htmx, autosave), not by the browser navigating."""
    return bool(getattr(request, "htmx", False)) or request.headers.get("X-MTM-Autosave") == "1"


def return_path(request) -> str:
    """Where to come back after signing in: the page itself for a GET. A form sent (POST) comes
    back to the page it was on: the address it was sent to only answers POSTs (a 404 otherwise)."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    page = request.headers.get("HX-Current-URL") or request.headers.get("Referer") or ""
    if page and url_has_allowed_host_and_scheme(page, allowed_hosts={request.get_host()}):
        parts = urlsplit(page)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def next_page(request, default: str) -> str:
    """The `next` sent with a form or in the address, when it is a path on this site; `default`
    otherwise. Only a path: "-1" or "home" would be taken for a view's name by redirect()."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def signed_out(request):
    """A request after the session ended. The page's own scripts get a 401 and keep the page as it
    is, with everything typed, while the user signs in again in place (static/js/app.js); a
    browser navigation goes to the sign-in page and comes back to the page it was on."""
    if wants_fragment(request):
        response = JsonResponse(
            {"signed_out": True, "login_url": resolve_url(settings.LOGIN_URL)}, status=401
        )
        response["X-MTM-Signed-Out"] = "1"
        return response
    return redirect_to_login(return_path(request))


class SignedOutMiddleware:
    """Views guarded by Django's own login_required answer an ended session with a redirect to
    the sign-in page; answer it as `signed_out` does instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 302
            and not request.user.is_authenticated
            and response.url.startswith(resolve_url(settings.LOGIN_URL))
            and (wants_fragment(request) or request.method not in ("GET", "HEAD"))
        ):
            return signed_out(request)
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


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """The policy (settings.CONTENT_SECURITY_POLICY) on HTML pages. Not on PDFs and other files: a
    policy there stops the browser's own PDF viewer."""

    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)


# Files that carry patient data whoever asks for them (a download link, a calendar feed).
_PRIVATE_FILES = ("application/pdf", "text/calendar")


class IdleSessionMiddleware:
    """The idle sign-out clock (SESSION_COOKIE_AGE, from SESSION_IDLE_MINUTES) restarts with the
    user's requests, but the session is written at most once every SESSION_REFRESH_SECONDS:
    writing it on every request (SESSION_SAVE_EVERY_REQUEST) made each page, even /healthz, pay
    for a database write and a new cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if session.get(SESSION_AUTH_KEY):
            now = int(time.time())
            if now - session.get(REFRESHED_KEY, 0) >= settings.SESSION_REFRESH_SECONDS:
                session[REFRESHED_KEY] = now  # modified: saved with a new expiry on the way out
        return self.get_response(request)


REFRESHED_KEY = "_mtm_refreshed"


class RejectNulCharacterMiddleware:
    """A NUL character (%00) in the address, the query string or a sent form is a 400 naming
    where it was. No page or API has a use for one, and PostgreSQL refuses it in any text, so
    letting it through turned a lookup such as `/d/%00/` or `?q=%00` into a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = _nul_character_in(request)
        if where is None:
            return self.get_response(request)
        message = f"{where} cannot contain a NUL character (%00)."
        if request.path.startswith("/api/") or wants_fragment(request):
            return JsonResponse({"detail": message}, status=400)
        return HttpResponse(render_to_string("400.html", {"message": message}, request), status=400)


def _nul_character_in(request) -> str | None:
    if "\x00" in request.path:
        return "The address"
    for source, label in ((request.GET, "The query parameter"), (_form_fields(request), "The field")):
        for name, values in source.lists():
            if "\x00" in name or any("\x00" in value for value in values if isinstance(value, str)):
                printable = name.replace("\x00", "")
                return f"{label} “{printable}”"
    return None


def _form_fields(request):
    """The fields of a sent form (urlencoded or multipart); nothing for JSON, whose fields the
    API's serializers check and name themselves."""
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return request.POST
    return QueryDict()


class PrivacyHeadersMiddleware:
    """Permissions-Policy on every response (no camera, microphone, location ...). Nothing with
    patient data stays in a browser's or a proxy's cache: every page and API answer to a signed-in
    user, and every PDF and calendar file, is `no-store`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if request.user.is_authenticated or response.get("Content-Type", "").startswith(_PRIVATE_FILES):
            add_never_cache_headers(response)
        return response


class SecondFactorMiddleware:
    """A signed-in user with a second factor not yet given in this session sees only the code page
    (and signing out); a pharmacist or admin whose organisation requires one and who has none yet,
    only the page that sets it up (mtm/second_factor.py)."""

    OPEN = ("/account/two-factor/", "/account/logout/", "/static/", "/healthz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from mtm.second_factor import SESSION_KEY, required_for

        user = request.user
        if user.is_authenticated and not request.path.startswith(self.OPEN):
            if request.session.get(SESSION_KEY) and not user.is_verified():
                return self._elsewhere(request, "second_factor_verify")
            if not request.session.get(SESSION_KEY) and required_for(user):
                return self._elsewhere(request, "second_factor")
        return self.get_response(request)

    @staticmethod
    def _elsewhere(request, url_name: str):
        target = f"{resolve_url(url_name)}?{urlencode({'next': return_path(request)})}"
        if request.path.startswith("/api/") or wants_fragment(request):
            return JsonResponse({"detail": "Give your second factor first.", "url": target}, status=403)
        return redirect(target)
