"""A second factor for staff sign-in (django-otp): a code from an authenticator app (TOTP, RFC 6238)
with ten single-use recovery codes for a lost phone.

django-otp was chosen over django-allauth's MFA (which would replace our whole sign-in) and
django-two-factor-auth (its own sign-in wizard and templates): it is the maintained core both build
on, and it leaves our sign-in page, in-place sign-in and lockout as they are. Security keys and
passkeys (WebAuthn) are another kind of django-otp device: mtm/security_keys.py.

The session remembers, at sign-in, whether the user has a second factor (SESSION_KEY), so that
pages do not ask the database on every request. mtm.middleware.SecondFactorMiddleware sends a user
with a second factor not yet verified in this session to the code page, and a pharmacist or admin
of an organisation that requires one and has none yet to set it up.
"""

import base64
import io

import segno
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mtm.audit import Actor, audit_record, client_ip
from mtm.models import AuditAction, User
from mtm.permissions import Role

SESSION_KEY = "mtm_second_factor"  # True: the user has one (then verified or asked for)
RECOVERY_CODES = 10
REQUIRED_ROLES = (Role.PHARMACIST, Role.ORG_ADMIN)


def has_second_factor(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def has_app(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def required_for(user: User) -> bool:
    """The user's organisation asks pharmacists and admins for a second factor."""
    organisation = user.organisation
    return bool(organisation and organisation.require_second_factor and user.role in REQUIRED_ROLES)


def remember_at_sign_in(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: what the middleware needs, kept in the session."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = has_second_factor(user)


user_logged_in.connect(remember_at_sign_in, dispatch_uid="mtm.second_factor.remember")


# --- Setting it up ---------------------------------------------------------------------------------


def totp_pending(user: User) -> TOTPDevice:
    """The authenticator app being set up (unconfirmed until a first code matches): the same secret
    while the page is reloaded, a new one once it is confirmed or removed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// address as a QR code image for the app to scan (a data: URI: nothing leaves
    the server, and the page's policy allows data: images)."""
    buffer = io.BytesIO()
    segno.make(device.config_url, error="m").save(buffer, kind="png", scale=5, border=2)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def secret_text(device: TOTPDevice) -> str:
    """The secret in the base32 an app asks for when typed by hand, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@transaction.atomic
def totp_confirm(*, request, device: TOTPDevice, code: str, by: Actor) -> list[str] | None:
    """The first code from the app: the device is confirmed, fresh recovery codes are made (and
    returned, to be shown once) and this session counts as verified. None if the code is wrong."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if device.confirmed or not device.verify_token(_digits(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=True).exclude(pk=device.pk).delete()  # one app
    codes = recovery_codes_renew(device.user)
    otp_login(request, device)
    request.session[SESSION_KEY] = True
    audit_record(
        actor=by,
        action=AuditAction.CREATE,
        obj=device.user,
        changes={"second factor": [None, "authenticator app set up"]},
    )
    return codes


def recovery_codes_renew(user: User) -> list[str]:
    """Ten new single-use codes; the old ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, defaults={"name": "Recovery codes"})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user).count()


@transaction.atomic
def remove(*, user: User, by: Actor, reason: str) -> None:
    """No second factor any more: the user's own choice, or an admin's reset for a lost phone."""
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    audit_record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=user,
        changes={"second factor": ["set up", f"removed ({reason})"]},
    )


# --- Signing in with it ----------------------------------------------------------------------------


def verify(*, request, user: User, code: str, session: bool = True) -> bool:
    """A code from the app, or a recovery code (used up). A wrong one counts towards the sign-in
    lockout (django-axes) like a wrong password; every use is audited. `session`: this browser
    session counts as verified from now on (not for an API token request)."""
    code = code.strip().replace(" ", "")
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            token = _digits(code) if isinstance(device, TOTPDevice) else code
            if token and device.verify_token(token):
                used = "recovery code" if isinstance(device, StaticDevice) else "authenticator app"
                accepted(request=request, device=device, what=used, session=session)
                return True
    refused(request=request, user=user, what="wrong code")
    return False


def accepted(*, request, device: Device, what: str, session: bool = True) -> None:
    """A second factor given (`what`: "authenticator app", "security key" ...): audited, and with
    `session` this browser session counts as verified from now on."""
    if session:
        otp_login(request, device)
        request.session[SESSION_KEY] = True
    audit_record(
        actor=Actor(user=device.user, ip_address=client_ip(request)),
        action=AuditAction.VIEW,
        obj=device.user,
        changes={"second factor": [None, f"{what} accepted"]},
    )


def refused(*, request, user: User, what: str) -> None:
    """A second factor that did not match: audited, and counted towards the sign-in lockout
    (django-axes listens to user_login_failed) like a wrong password."""
    user_login_failed.send(sender=__name__, credentials={"username": user.username}, request=request)
    audit_record(
        actor=Actor(user=user, ip_address=client_ip(request)),
        action=AuditAction.VIEW,
        obj=user,
        changes={"second factor": [None, what]},
    )


def seconds_to_wait(user: User) -> int:
    """After wrong codes django-otp refuses the next for a while (1, 2, 4 ... seconds): how long."""
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            return max(1, int((data["locked_until"] - timezone.now()).total_seconds()) + 1)
    return 0


def _digits(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit())
