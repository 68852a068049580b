"""A second factor for staff: set up with an authenticator app, asked after the password, recovery
codes that work once, required by the organisation, reset by an admin, lockout and audit."""

import re
import time

from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from mtm.models import AuditEvent
from tests import factories
from tests.conftest import client_for


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """What the app shows now (or the next 30-second step: a code is accepted once)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def set_up(client: Client, user) -> list[str]:
    page = client.get(reverse("second_factor"))
    assert page.status_code == 200 and 'src="data:image/png;base64,' in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post(reverse("second_factor"), {"code": code(device)})
    assert done.status_code == 200, done.content.decode()[:3000]
    return re.findall(r"<li><code>([^<]+)</code></li>", done.content.decode())


def sign_in(username: str) -> Client:
    client = Client()
    response = client.post(
        reverse("login"), {"username": username, "password": factories.PASSWORD, "next": "/patients/"}
    )
    assert response.status_code == 302
    return client


def test_setting_up_then_signing_in_asks_for_the_code(pharmacist):
    codes = set_up(client_for(pharmacist), pharmacist)
    assert len(codes) == 10
    client = sign_in(pharmacist.username)
    asked = client.get("/patients/")
    assert asked.status_code == 302 and asked.url.startswith(reverse("second_factor_verify"))
    assert client.get("/api/v1/patients/").status_code == 403  # no way around it through the API
    wrong = client.post(asked.url, {"code": "000000", "next": "/patients/"})
    assert wrong.status_code == 422 and "did not match" in wrong.content.decode()
    assert re.search(r"Wait \d seconds", wrong.content.decode())
    time.sleep(2.1)  # django-otp refuses any code for a moment after a wrong one
    device = TOTPDevice.objects.get(user=pharmacist)
    right = client.post(asked.url, {"code": code(device, 1), "next": "/patients/"})
    assert right.status_code == 302 and right.url == "/patients/"
    assert client.get("/patients/").status_code == 200
    changes = [
        e.changes["second factor"][1]
        for e in AuditEvent.objects.filter(object_id=str(pharmacist.pk)).order_by("at", "pk")
        if "second factor" in e.changes
    ]
    assert changes == ["authenticator app set up", "wrong code", "authenticator app accepted"]


def test_a_recovery_code_works_once(pharmacist):
    codes = set_up(client_for(pharmacist), pharmacist)
    client = sign_in(pharmacist.username)
    assert client.post(reverse("second_factor_verify"), {"code": codes[0]}).status_code == 302
    assert client.get("/patients/").status_code == 200
    again = sign_in(pharmacist.username)
    assert again.post(reverse("second_factor_verify"), {"code": codes[0]}).status_code == 422
    assert again.get("/patients/").status_code == 302


def test_wrong_codes_lock_the_account_like_wrong_passwords(pharmacist, settings):
    set_up(client_for(pharmacist), pharmacist)
    client = sign_in(pharmacist.username)
    statuses = [
        client.post(reverse("second_factor_verify"), {"code": "123456"}).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses[-1] == 429
    device = TOTPDevice.objects.get(user=pharmacist)
    assert client.post(reverse("second_factor_verify"), {"code": code(device, 1)}).status_code == 429


def test_an_organisation_that_requires_it_sends_pharmacists_to_set_it_up(pharmacist, staff, org):
    org.require_second_factor = True
    org.save()
    client = sign_in(pharmacist.username)
    response = client.get("/patients/")
    assert response.status_code == 302 and response.url.startswith(reverse("second_factor"))
    assert "Your organisation asks pharmacists" in client.get(response.url).content.decode()
    set_up(client, pharmacist)
    assert client.get("/patients/").status_code == 200
    assert sign_in(staff.username).get("/patients/").status_code == 200  # clinic staff: not required


def test_a_password_alone_does_not_remove_the_second_factor(pharmacist):
    set_up(client_for(pharmacist), pharmacist)
    client = sign_in(pharmacist.username)  # the code page is next: /account/two-factor/ is open to it
    assert client.post(reverse("second_factor_remove")).url == reverse("second_factor_verify")
    assert TOTPDevice.objects.filter(user=pharmacist, confirmed=True).exists()


def test_an_admin_resets_a_colleagues_lost_second_factor(pharmacist, org_admin):
    set_up(client_for(pharmacist), pharmacist)
    admin = client_for(org_admin)
    assert (
        "Reset their second factor" in admin.get(reverse("team_edit", args=[pharmacist.pk])).content.decode()
    )
    assert admin.post(reverse("team_second_factor_reset", args=[pharmacist.pk])).status_code == 302
    assert not TOTPDevice.objects.filter(user=pharmacist).exists()
    assert sign_in(pharmacist.username).get("/patients/").status_code == 200
    assert AuditEvent.objects.filter(
        actor=org_admin, object_id=str(pharmacist.pk), changes__has_key="second factor"
    ).exists()


def test_the_api_token_needs_the_code_too(pharmacist):
    set_up(client_for(pharmacist), pharmacist)
    url = "/api/v1/auth/token/"
    without = Client().post(url, {"username": pharmacist.username, "password": factories.PASSWORD})
    assert without.status_code == 400 and "otp_code" in without.json()
    device = TOTPDevice.objects.get(user=pharmacist)
    data = {"username": pharmacist.username, "password": factories.PASSWORD, "otp_code": code(device, 1)}
    assert Client().post(url, data).status_code == 200


def test_signing_in_again_in_place_takes_the_password_and_the_code_together(pharmacist):
    set_up(client_for(pharmacist), pharmacist)
    device = TOTPDevice.objects.get(user=pharmacist)
    client = Client()
    again = {"username": pharmacist.username, "password": factories.PASSWORD}
    missing = client.post(reverse("login"), again, HTTP_X_MTM_SIGNIN="1")
    assert missing.status_code == 400 and "code" in missing.json()["error"]
    wrong = client.post(reverse("login"), {**again, "otp_code": "000000"}, HTTP_X_MTM_SIGNIN="1")
    assert wrong.status_code == 400 and client.get("/patients/").status_code == 302  # not signed in
    time.sleep(2.1)  # django-otp refuses any code for a moment after a wrong one
    right = client.post(reverse("login"), {**again, "otp_code": code(device, 1)}, HTTP_X_MTM_SIGNIN="1")
    assert right.status_code == 302 and client.get("/patients/").status_code == 200
