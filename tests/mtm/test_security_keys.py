"""Security keys and passkeys (WebAuthn) as a second factor: each user sees, names and removes only
their own; the last one goes with the whole second factor (not when the organisation requires
one); a key the server refuses is audited and counts towards the lockout. The ceremony itself, with
a virtual authenticator, is in tests/e2e/test_security_keys.py."""

import os
import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from mtm import second_factor, security_keys
from mtm.models import AuditEvent
from tests.conftest import client_for
from tests.mtm.test_second_factor import sign_in


def make_key(user, name="Security key") -> WebAuthnCredential:
    """A key as the library saves it once the browser registered it (the keys themselves are fake)."""
    return WebAuthnCredential.objects.create(
        user=user, name=name, credential_id=os.urandom(32), public_key=b"not a real key", aaguid="0" * 36
    )


def verified_client(user, device) -> Client:
    """Signed in, second factor given with `device` in this session."""
    client = client_for(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[second_factor.SESSION_KEY] = True
    session.save()
    return client


def changes(user) -> list[str]:
    events = AuditEvent.objects.filter(object_id=str(user.pk)).order_by("at", "pk")
    return [e.changes["second factor"][1] for e in events if "second factor" in e.changes]


def test_the_page_lists_only_ones_own_keys(pharmacist, staff):
    key = make_key(pharmacist, "Blue key")
    make_key(staff, "Staff key")
    page = verified_client(pharmacist, key).get(reverse("second_factor")).content.decode()
    assert "Blue key" in page and "Staff key" not in page
    assert 'id="passkey-register-button"' in page and 'id="otp_webauthn_config"' in page


def test_naming_the_key_just_registered_makes_recovery_codes_once(pharmacist):
    key = make_key(pharmacist)
    client = verified_client(pharmacist, key)
    first = client.post(
        reverse("second_factor"), {"action": "key-added", "key": key.pk, "name": " Blue key "}
    )
    assert first.status_code == 200 and "Your security key is registered" in first.content.decode()
    assert len(re.findall(r"<li><code>([^<]+)</code></li>", first.content.decode())) == 10
    key.refresh_from_db()
    assert key.name == "Blue key"
    second = make_key(pharmacist)
    again = client.post(reverse("second_factor"), {"action": "key-added", "key": second.pk, "name": ""})
    assert again.status_code == 302  # codes left: none made, the page says the key is registered
    assert second_factor.recovery_codes_left(pharmacist) == 10
    assert changes(pharmacist) == ["recovery codes made"]


def test_another_users_key_cannot_be_named_or_removed(pharmacist, staff):
    own = make_key(pharmacist)
    theirs = make_key(staff, "Staff key")
    client = verified_client(pharmacist, own)
    named = client.post(
        reverse("second_factor"), {"action": "key-added", "key": theirs.pk, "name": "Mine now"}
    )
    assert named.status_code == 404
    assert client.post(reverse("security_key_remove", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Staff key"


def test_removing_one_of_two_keys_keeps_the_second_factor(pharmacist):
    blue, red = make_key(pharmacist, "Blue key"), make_key(pharmacist, "Red key")
    client = verified_client(pharmacist, blue)
    assert client.post(reverse("security_key_remove", args=[red.pk])).status_code == 302
    assert list(security_keys.keys_of(pharmacist)) == [blue]
    assert second_factor.has_second_factor(pharmacist)
    assert changes(pharmacist) == ["security key removed"]


def test_removing_the_last_key_removes_the_second_factor(pharmacist):
    key = make_key(pharmacist)
    second_factor.recovery_codes_renew(pharmacist)
    client = verified_client(pharmacist, key)
    assert client.post(reverse("security_key_remove", args=[key.pk])).status_code == 302
    assert not second_factor.has_second_factor(pharmacist)
    assert not StaticDevice.objects.filter(user=pharmacist).exists()
    assert client.get("/patients/").status_code == 200  # no code page any more
    assert changes(pharmacist) == ["removed (last security key removed)"]


def test_the_last_key_stays_when_the_organisation_requires_a_second_factor(pharmacist, org):
    org.require_second_factor = True
    org.save()
    key = make_key(pharmacist)
    client = verified_client(pharmacist, key)
    response = client.post(reverse("security_key_remove", args=[key.pk]), follow=True)
    assert "Your organisation requires a second factor" in response.content.decode()
    assert WebAuthnCredential.objects.filter(pk=key.pk).exists()


def test_a_password_alone_removes_no_key(pharmacist):
    key = make_key(pharmacist)
    client = sign_in(pharmacist.username)  # password only: the code page is next
    assert client.post(reverse("security_key_remove", args=[key.pk])).url == reverse("second_factor_verify")
    assert WebAuthnCredential.objects.filter(pk=key.pk).exists() and changes(pharmacist) == []


def test_a_password_alone_registers_no_key_for_a_user_who_has_a_second_factor(pharmacist):
    TOTPDevice.objects.create(user=pharmacist, name="Authenticator app", confirmed=True)
    client = sign_in(pharmacist.username)
    begin = client.post(reverse("otp_webauthn:credential-registration-begin"))
    assert begin.status_code == 403 and begin.json()["code"] == "user_not_verified"


def test_the_code_page_offers_the_key_with_the_librarys_scripts_and_no_inline_script(pharmacist):
    make_key(pharmacist)
    page = sign_in(pharmacist.username).get(reverse("second_factor_verify")).content.decode()
    assert 'id="passkey-verification-button"' in page and "Use your security key" in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert any("otp_webauthn_auth.js" in attributes for attributes in scripts)
    assert all("src=" in attributes or 'type="application/json"' in attributes for attributes in scripts)


def test_a_key_the_server_refuses_is_audited_and_counts_towards_the_lockout(pharmacist, settings):
    make_key(pharmacist)
    client = sign_in(pharmacist.username)
    begin, complete = (
        reverse("otp_webauthn:credential-authentication-begin"),
        reverse("otp_webauthn:credential-authentication-complete"),
    )
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert client.post(begin).status_code == 200
        refused = client.post(
            complete, {"id": "bm90IGEga2V5", "rawId": "bm90IGEga2V5"}, content_type="application/json"
        )
        assert refused.status_code >= 400
    assert changes(pharmacist) == ["security key refused"] * settings.AXES_FAILURE_LIMIT
    assert client.post(begin).status_code == 429
    assert client.get("/patients/").status_code == 302  # still not through


@pytest.mark.parametrize(
    ("host", "secure", "rp_id", "origin"),
    [
        ("localhost:8123", False, "localhost", "http://localhost:8123"),
        ("mtm.example.org", True, "mtm.example.org", "https://mtm.example.org"),
    ],
)
def test_the_relying_party_is_the_address_the_page_was_opened_at(settings, host, secure, rp_id, origin):
    settings.ALLOWED_HOSTS = [host.split(":")[0]]
    request = RequestFactory().get("/account/two-factor/", HTTP_HOST=host, secure=secure)
    assert security_keys.relying_party_id(request) == rp_id
    assert security_keys.WebAuthnHelper(request).get_allowed_origins() == [origin]


def test_an_admins_reset_removes_the_keys_too(pharmacist, org_admin):
    make_key(pharmacist)
    admin = client_for(org_admin)
    assert admin.post(reverse("team_second_factor_reset", args=[pharmacist.pk])).status_code == 302
    assert not WebAuthnCredential.objects.filter(user=pharmacist).exists()
