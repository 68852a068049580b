import re

from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

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


def test_sessions_expire_after_the_idle_timeout(pharmacist_client):
    response = pharmacist_client.get(reverse("patient_list"))
    assert response.status_code == 200
    session = pharmacist_client.session
    assert session.get_expiry_age() == settings.SESSION_IDLE_MINUTES * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST  # every request restarts the idle clock


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
