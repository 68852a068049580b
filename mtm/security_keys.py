"""Security keys and passkeys (WebAuthn) as a second factor, with django-otp-webauthn: a
django-otp device like the authenticator app, so signing in, the middleware, the admin's reset and
the audit trail treat both alike (mtm/second_factor.py).

The browser side is the library's own scripts (otp_webauthn_register.js, otp_webauthn_auth.js),
configured through a json_script block: nothing inline, as the Content-Security-Policy requires.
The relying party is the address the page was opened at (a name in ALLOWED_HOSTS): a key works on
the address it was registered on, and browsers refuse an IP address for it (open
http://localhost:8000 to try it on one's own machine).
"""

from django.db import transaction
from django.http.request import split_domain_port
from django_otp_webauthn import helpers
from django_otp_webauthn.models import WebAuthnCredential

from mtm import second_factor
from mtm.audit import Actor, audit_record
from mtm.models import AuditAction, User

DEFAULT_NAME = "Security key"


def relying_party_id(request) -> str:
    """OTP_WEBAUTHN_RP_ID_CALLABLE: the host name the page was opened at (Django has checked it
    against ALLOWED_HOSTS), without the port."""
    domain, _port = split_domain_port(request.get_host())
    return domain


class WebAuthnHelper(helpers.WebAuthnHelper):
    """OTP_WEBAUTHN_HELPER_CLASS: the origin a key is used from must be the one the page was opened
    at (scheme and host as Django sees them behind the TLS proxy), rather than a fixed list."""

    def get_allowed_origins(self) -> list[str]:
        return [f"{self.request.scheme}://{self.request.get_host()}"]

    def create_credential(self, *args, **kwargs) -> WebAuthnCredential:
        key = super().create_credential(*args, **kwargs)
        key.name = DEFAULT_NAME  # the user names it once registered (key_added)
        return key


def keys_of(user: User):
    return WebAuthnCredential.objects.filter(user=user).order_by("created_at", "pk")


@transaction.atomic
def key_registered(*, request, key: WebAuthnCredential, by: Actor) -> None:
    """Right after the browser registered a key (the library's view has saved it and verified the
    session): audited; the user now has a second factor."""
    request.session[second_factor.SESSION_KEY] = True
    audit_record(
        actor=by,
        action=AuditAction.CREATE,
        obj=key.user,
        changes={"second factor": [None, "security key registered"]},
    )


@transaction.atomic
def key_added(*, key: WebAuthnCredential, name: str, by: Actor) -> list[str] | None:
    """The name the user gave the key just registered. Returns new recovery codes (to be shown
    once) if the user has none left, as when setting up an authenticator app; None otherwise."""
    key.name = name.strip()[:64] or DEFAULT_NAME
    key.save(update_fields=["name"])
    if second_factor.recovery_codes_left(key.user):
        return None
    codes = second_factor.recovery_codes_renew(key.user)
    audit_record(
        actor=by,
        action=AuditAction.CREATE,
        obj=key.user,
        changes={"second factor": [None, "recovery codes made"]},
    )
    return codes


def is_last_way_in(key: WebAuthnCredential) -> bool:
    """No authenticator app and no other key: without this key only the recovery codes are left."""
    user = key.user
    return not second_factor.has_app(user) and not keys_of(user).exclude(pk=key.pk).exists()


@transaction.atomic
def key_remove(*, key: WebAuthnCredential, by: Actor) -> bool:
    """One of the user's keys goes. When it was their last way in (is_last_way_in), the second
    factor goes with it, recovery codes included: returns True."""
    user = key.user
    if is_last_way_in(key):
        second_factor.remove(user=user, by=by, reason="last security key removed")
        return True
    key.delete()
    audit_record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=user,
        changes={"second factor": [None, "security key removed"]},
    )
    return False
