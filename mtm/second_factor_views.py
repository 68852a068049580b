"""The pages of the second factor (mtm/second_factor.py): setting it up, giving the code after the
password, new recovery codes, removing it; and the sign-in page that takes the code too when the
page signs in again in place (static/js/app.js). Security keys (mtm/security_keys.py): the JSON
endpoints the library's scripts call, with our audit and lockout, and removing a key."""

import json

from axes.handlers.proxy import AxesProxyHandler
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn import views as webauthn_views

from mtm import second_factor, security_keys
from mtm.audit import actor_from_request
from mtm.forms import SecondFactorCodeForm, SecurityKeyNameForm
from mtm.middleware import next_page


def _next(request) -> str:
    return next_page(request, "/")


def _locked(request, user) -> bool:
    return AxesProxyHandler.is_locked(request, credentials={"username": user.username})


class SignInView(auth_views.LoginView):
    """Django's sign-in. The page's in-place sign-in (X-MTM-Signin) sends the password and, for a
    user with a second factor, the code in one request: both must match before the session is
    signed in again, since that request cannot follow a redirect to the code page."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if self.request.headers.get("X-MTM-Signin") and second_factor.has_second_factor(user):
            code = self.request.POST.get("otp_code", "")
            if not code:
                return JsonResponse({"error": "Enter the code from your authenticator app too."}, status=400)
            response = super().form_valid(form)  # signed in; not verified until the code matches
            if _locked(self.request, user) or not second_factor.verify(
                request=self.request, user=user, code=code
            ):
                self.request.session.flush()
                return JsonResponse({"error": "That code did not match. Try again."}, status=400)
            return response
        return super().form_valid(form)


@never_cache
@login_required
def second_factor_verify(request):
    """After the password: the code from the app, or a recovery code."""
    user = request.user
    if request.session.get(second_factor.SESSION_KEY) and not second_factor.has_second_factor(user):
        request.session[second_factor.SESSION_KEY] = False  # an admin reset it meanwhile
    if not request.session.get(second_factor.SESSION_KEY) or user.is_verified():
        return redirect(_next(request))
    form = SecondFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _locked(request, user):
            return render(request, "registration/locked_out.html", status=429)
        if second_factor.verify(request=request, user=user, code=form.cleaned_data["code"]):
            left = second_factor.recovery_codes_left(user)
            if left <= 3:
                messages.warning(
                    request,
                    f"{left} recovery code{'s' if left != 1 else ''} left: make new ones under Account, Second factor.",
                )
            return redirect(_next(request))
        wait = second_factor.seconds_to_wait(user)
        form.add_error(
            "code",
            f"That code did not match. Wait {wait} seconds, then type the code showing then."
            if wait
            else "That code did not match. Codes change every 30 seconds: try the one showing now.",
        )
        if _locked(request, user):
            return render(request, "registration/locked_out.html", status=429)
    context = {
        "form": form, "next": _next(request),
        "has_app": second_factor.has_app(user), "has_key": security_keys.keys_of(user).exists(),
    }  # fmt: skip
    return render(
        request, "registration/second_factor_verify.html", context, status=422 if form.errors else 200
    )


@never_cache
@login_required
def second_factor_setup(request):
    """The user's second factor: set it up (scan, type the first code; or register a security key),
    then see the recovery codes once; later, make new recovery codes, add or remove keys, or remove
    it all."""
    user = request.user
    has_one = bool(request.session.get(second_factor.SESSION_KEY)) and second_factor.has_second_factor(user)
    if has_one and not user.is_verified():
        return redirect("second_factor_verify")
    context = {
        "has_one": has_one, "required": second_factor.required_for(user), "next": _next(request),
        "keys": list(security_keys.keys_of(user)), "key_form": SecurityKeyNameForm(),
    }  # fmt: skip
    if request.method == "POST" and request.POST.get("action") == "key-added":
        return _security_key_added(request, context)
    if has_one:
        context.update(
            has_app=second_factor.has_app(user), codes_left=second_factor.recovery_codes_left(user)
        )
        if request.method == "POST" and request.POST.get("action") == "new-codes":
            context["codes"] = second_factor.recovery_codes_renew(user)
            context["codes_left"] = len(context["codes"])
        return render(request, "registration/second_factor.html", context)
    device = second_factor.totp_pending(user)
    form = SecondFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = second_factor.totp_confirm(
            request=request, device=device, code=form.cleaned_data["code"], by=actor_from_request(request)
        )
        if codes is not None:
            context.update(has_one=True, codes=codes, codes_left=len(codes), just_set_up="app")
            return render(request, "registration/second_factor.html", context)
        form.add_error(
            "code", "That code did not match. Check the time on your phone, then type the code showing now."
        )
    context.update(
        form=form, qr=second_factor.qr_code_data_uri(device), secret=second_factor.secret_text(device)
    )
    return render(request, "registration/second_factor.html", context, status=422 if form.errors else 200)


def _security_key_added(request, context):
    """static/js/security-keys.js sends the name typed for the key the browser has just registered:
    the key is named, and recovery codes are made and shown once if the user has none."""
    user = request.user
    form = SecurityKeyNameForm(request.POST)
    if not form.is_valid() or not user.is_verified():
        return redirect("second_factor")
    key = get_object_or_404(security_keys.keys_of(user), pk=form.cleaned_data["key"])
    codes = security_keys.key_added(key=key, name=form.cleaned_data["name"], by=actor_from_request(request))
    if codes is None:
        messages.success(request, f"Your security key “{key.name}” is registered.")
        return redirect("second_factor")
    context.update(has_one=True, codes=codes, codes_left=len(codes), just_set_up="key")
    return render(request, "registration/second_factor.html", context)


@never_cache
@login_required
@require_POST
def security_key_remove(request, key_id):
    """Remove one of one's own keys (another user's is a 404). The last way in goes only when the
    organisation does not require a second factor, and takes the recovery codes with it."""
    user = request.user
    if not user.is_verified():
        return redirect("second_factor_verify")
    key = get_object_or_404(security_keys.keys_of(user), pk=key_id)
    if second_factor.required_for(user) and security_keys.is_last_way_in(key):
        messages.warning(
            request,
            "Your organisation requires a second factor: add an authenticator app or another key before removing this one.",
        )
        return redirect("second_factor")
    name = key.name
    if security_keys.key_remove(key=key, by=actor_from_request(request)):
        request.session[second_factor.SESSION_KEY] = False
        messages.success(
            request,
            f"“{name}” was removed, and with it your second factor: you sign in with your password alone.",
        )
    else:
        messages.success(request, f"“{name}” was removed.")
    return redirect("second_factor")


@never_cache
@login_required
def second_factor_remove(request):
    """Remove one's own second factor (not when the organisation requires it; only once it was
    given in this session)."""
    user = request.user
    if request.method != "POST" or second_factor.required_for(user):
        return redirect("second_factor")
    if second_factor.has_second_factor(user) and not user.is_verified():
        return redirect("second_factor_verify")  # a password alone does not take it away
    second_factor.remove(user=user, by=actor_from_request(request), reason="by the user")
    request.session[second_factor.SESSION_KEY] = False
    messages.success(request, "Your second factor was removed. You sign in with your password alone.")
    return redirect("second_factor")


# --- Security keys: the library's endpoints (django_otp_webauthn.views), called by its scripts ---------


class SecurityKeyRegistrationComplete(webauthn_views.CompleteCredentialRegistrationView):
    """Saves the key the browser has just registered (the library's view), with our audit row."""

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)  # a key refused raises: the library answers 4xx
        key = security_keys.keys_of(self.request.user).get(pk=json.loads(response.content)["id"])
        security_keys.key_registered(request=self.request, key=key, by=actor_from_request(self.request))
        return response


class LockedOut(webauthn_errors.OTPWebAuthnApiError):
    status_code = 429
    default_detail = "Too many failed attempts: signing in is locked for a while."
    default_code = "locked_out"


class _NotWhenLockedOut:
    """A user locked out (django-axes) by wrong codes or keys gets no security key ceremony either.
    The library lets only a signed-in user (password given) in: OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN."""

    def check_can_authenticate(self):
        super().check_can_authenticate()
        user = self.request.user
        if user.is_authenticated and _locked(self.request, user):
            raise LockedOut()


class SecurityKeyAuthenticationBegin(_NotWhenLockedOut, webauthn_views.BeginCredentialAuthenticationView):
    pass


class SecurityKeyAuthenticationComplete(
    _NotWhenLockedOut, webauthn_views.CompleteCredentialAuthenticationView
):
    """The key's answer: accepted, the session is verified as with a code (audited); refused, it
    is audited and counts towards the lockout like a wrong code."""

    def post(self, *args, **kwargs):
        try:
            return super().post(*args, **kwargs)
        except webauthn_errors.OTPWebAuthnApiError:
            second_factor.refused(request=self.request, user=self.request.user, what="security key refused")
            raise

    def complete_auth(self, device):
        second_factor.accepted(request=self.request, device=device, what="security key")
