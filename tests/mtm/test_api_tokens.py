"""API tokens: staff only, they expire, a new password ends them, and the token endpoint's throttle
counts across processes."""

import datetime
import os
import subprocess
import sys
import uuid
from pathlib import Path

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests import factories
from tests.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]


def token_of(username: str) -> Client:
    return Client().post("/api/v1/auth/token/", {"username": username, "password": factories.PASSWORD})


def api(key: str, path: str = "/api/v1/patients/"):
    return Client().get(path, HTTP_AUTHORIZATION=f"Token {key}")


def test_staff_get_a_token_that_says_when_it_expires(pharmacist, settings):
    response = token_of(pharmacist.username)
    assert response.status_code == 200
    expires = datetime.datetime.fromisoformat(response.json()["expires"].replace("Z", "+00:00"))
    assert abs(
        expires - (timezone.now() + datetime.timedelta(days=settings.API_TOKEN_DAYS))
    ) < datetime.timedelta(minutes=1)
    assert api(response.json()["token"]).status_code == 200


def test_a_patient_user_gets_no_token_and_no_api(patient_user):
    response = token_of(patient_user.username)
    assert response.status_code == 403 and "portal" in response.json()["detail"]
    assert not Token.objects.filter(user=patient_user).exists()
    key = Token.objects.create(user=patient_user).key  # however one came to exist
    assert api(key).status_code == 401


def test_an_expired_token_is_refused_and_a_new_one_issued(pharmacist, settings):
    token = Token.objects.create(user=pharmacist)
    Token.objects.filter(pk=token.pk).update(
        created=timezone.now() - datetime.timedelta(days=settings.API_TOKEN_DAYS + 1)
    )
    refused = api(token.key)
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    fresh = token_of(pharmacist.username).json()["token"]
    assert fresh != token.key and api(fresh).status_code == 200


def test_a_new_password_ends_the_users_tokens(pharmacist):
    key = token_of(pharmacist.username).json()["token"]
    pharmacist.set_password("a-brand-new-secret-42")
    pharmacist.save()
    assert api(key).status_code == 401
    other_change = factories.make_user(pharmacist.organisation, username="colleague")
    colleague_key = Token.objects.create(user=other_change).key
    other_change.first_name = "Renamed"
    other_change.save()  # any other change keeps the token
    assert api(colleague_key).status_code == 200


def test_patients_cannot_read_the_api_schema_or_its_documentation(patient_user, pharmacist):
    patient = client_for(patient_user)
    assert patient.get(reverse("api_schema")).status_code == 403
    assert patient.get(reverse("api_docs")).status_code == 403
    assert client_for(pharmacist).get(reverse("api_schema")).status_code == 200
    assert Client().get(reverse("api_schema")).status_code in (401, 403)


def test_the_token_throttle_counts_across_processes(db):
    for _ in range(10):  # the rate: 10 a minute
        assert (
            Client().post("/api/v1/auth/token/", {"username": uuid.uuid4().hex, "password": "x"}).status_code
            == 400
        )
    # The eleventh from another process (another gunicorn worker): refused too.
    other = subprocess.run(
        [sys.executable, "-c", (
            "import django; django.setup(); from django.test import Client; "
            "print(Client().post('/api/v1/auth/token/', {'username': 'someone', 'password': 'x'},"
            " HTTP_HOST='localhost').status_code)"
        )],
        cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "mtm.settings"}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert other.stdout.strip().splitlines()[-1] == "429", other.stderr[-2000:]
