import re
import time

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mtm import middleware
from mtm.models import AuditAction, AuditEvent
from tests import factories


def test_sign_in_sends_each_role_to_its_start_page(pharmacist, patient_user, org_admin):
    for user, start in [(pharmacist, "/today/"), (patient_user, "/portal/"), (org_admin, "/today/")]:
        client = Client()
        response = client.post(
            reverse("login"), {"username": user.username, "password": factories.PASSWORD}, follow=True
        )
        assert response.redirect_chain[-1][0] == start


def test_sign_in_and_out_are_audited(client, pharmacist):
    client.post(
        reverse("login"),
        {"username": "pharmacist", "password": factories.PASSWORD},
        REMOTE_ADDR="198.51.100.9",
    )
    client.post(reverse("logout"), REMOTE_ADDR="198.51.100.9")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "ip_address"))
    assert actions == [(AuditAction.SIGN_IN, "198.51.100.9"), (AuditAction.SIGN_OUT, "198.51.100.9")]


def test_repeated_wrong_passwords_lock_the_account_out(client, pharmacist):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("login"), {"username": "pharmacist", "password": "wrong"})
        assert response.status_code in (200, 429)
    # Even the right password is refused now.
    response = client.post(reverse("login"), {"username": "pharmacist", "password": factories.PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert (
        AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).count()
        >= settings.AXES_FAILURE_LIMIT - 1
    )


def test_api_token_endpoint_is_locked_out_too(client, pharmacist):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token/", {"username": "pharmacist", "password": "wrong"})
    response = client.post("/api/v1/auth/token/", {"username": "pharmacist", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "token" not in response.json()


def test_password_change(client, pharmacist):
    client.force_login(pharmacist)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": factories.PASSWORD,
            "new_password1": "a-much-longer-secret-42",
            "new_password2": "a-much-longer-secret-42",
        },
    )
    assert response.status_code == 302
    pharmacist.refresh_from_db()
    assert pharmacist.check_password("a-much-longer-secret-42")


def test_password_reset_by_email(client, pharmacist, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": pharmacist.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [pharmacist.email]
    link = re.search(r"http://testserver(/account/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-secret-77", "new_password2": "brand-new-secret-77"},
    )
    assert response.status_code == 302
    pharmacist.refresh_from_db()
    assert pharmacist.check_password("brand-new-secret-77")


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(
    client, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302 and mail.outbox == []


def session_writes(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return sum(1 for q in queries if "django_session" in q["sql"] and not q["sql"].startswith("SELECT"))


def test_sessions_expire_after_the_idle_timeout_restarted_by_requests(client, pharmacist, monkeypatch):
    """Each request restarts the idle clock, but the session is written at most once a minute: a
    write on every request made every page (and /healthz) pay for one."""
    clock = [time.time()]
    monkeypatch.setattr(middleware.time, "time", lambda: clock[0])
    client.force_login(pharmacist)
    assert session_writes(client, "/healthz") == 1  # the first request starts the clock
    expires = Session.objects.get().expire_date
    clock[0] += 30
    assert session_writes(client, reverse("patient_list")) == 0
    assert session_writes(client, "/healthz") == 0
    clock[0] += settings.SESSION_REFRESH_SECONDS
    time.sleep(0.01)  # the expiry is counted from the real clock: let it move
    assert session_writes(client, "/healthz") == 1  # a minute on: the clock restarts
    assert Session.objects.get().expire_date > expires
    assert client.session.get_expiry_age() == settings.SESSION_IDLE_MINUTES * 60


def test_an_anonymous_request_writes_no_session(client, db):
    assert session_writes(client, "/healthz") == 0
    assert not Session.objects.exists()


def test_an_htmx_request_after_the_session_ended_is_a_401_the_page_handles(client, patient):
    response = client.get(reverse("section_show", args=[patient.pk, "medications"]), HTTP_HX_REQUEST="true")
    assert response.status_code == 401 and response.headers["X-MTM-Signed-Out"] == "1"
    assert response.json() == {"signed_out": True, "login_url": reverse("login")}


def test_a_form_sent_after_the_session_ended_signs_in_again_back_to_its_page(client, patient):
    page = f"http://testserver{reverse('patient_detail', args=[patient.pk])}"
    response = client.post(
        reverse("section_add", args=[patient.pk, "medications"]), {"name": "x"}, HTTP_REFERER=page
    )
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse('patient_detail', args=[patient.pk])}"


def test_a_form_sent_from_another_site_does_not_choose_where_sign_in_leads(client, patient):
    response = client.post(
        reverse("section_add", args=[patient.pk, "medications"]), {}, HTTP_REFERER="https://evil.example/x"
    )
    assert response.url == f"{reverse('login')}?next={reverse('home')}"
