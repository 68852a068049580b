import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from mtm.models import AuditAction, AuditEvent, User
from mtm.permissions import Role
from tests import factories


def add(client, **overrides):
    data = {
        "username": "newpharm",
        "first_name": "Nia",
        "last_name": "Long",
        "email": "nia@example.org",
        "role": "pharmacist",
    }
    return client.post(reverse("team_add"), {**data, **overrides})


def test_admin_adds_a_colleague_who_chooses_a_password_from_the_email(
    admin_client_org, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = add(admin_client_org)
    assert response.status_code == 302
    member = User.objects.get(username="newpharm")
    assert (member.organisation, member.role, member.has_usable_password()) == (org, Role.PHARMACIST, False)
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(member.pk)).exists()
    assert "Your MTM account at Riverside Test Pharmacy" in mail.outbox[0].subject
    link = re.search(r"http://testserver(/account/password/reset/\S+/)", mail.outbox[0].body).group(1)
    client = Client()
    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "first-ever-secret-9", "new_password2": "first-ever-secret-9"},
    )
    response = Client().post(reverse("login"), {"username": "newpharm", "password": "first-ever-secret-9"})
    assert response.status_code == 302 and response.url == reverse("home")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": ""}, "This field is required."),
        ({"role": "patient"}, "Select a valid choice."),
        ({"username": "orgadmin"}, "already exists"),
    ],
)
def test_bad_colleague_details_are_refused(admin_client_org, overrides, message):
    response = add(admin_client_org, **overrides)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not User.objects.filter(first_name="Nia").exists()


def test_admin_changes_a_role_and_lets_someone_go(admin_client_org, pharmacist):
    url = reverse("team_edit", args=[pharmacist.pk])
    data = {
        "username": "pharmacist",
        "first_name": "P",
        "last_name": "Q",
        "email": "p@example.org",
        "role": "staff",
        "is_active": "",
    }
    assert admin_client_org.post(url, data).status_code == 302
    pharmacist.refresh_from_db()
    assert (pharmacist.role, pharmacist.is_active) == (Role.STAFF, False)
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(pharmacist.pk))
    assert event.changes["role"] == ["pharmacist", "staff"]


def test_the_last_admin_cannot_remove_their_own_access(admin_client_org, org_admin):
    data = {
        "username": "orgadmin",
        "first_name": "",
        "last_name": "",
        "email": "a@example.org",
        "role": "staff",
        "is_active": "on",
    }
    response = admin_client_org.post(reverse("team_edit", args=[org_admin.pk]), data)
    assert response.status_code == 422
    assert "own admin access" in response.content.decode()
    org_admin.refresh_from_db()
    assert org_admin.role == Role.ORG_ADMIN


def test_another_organisations_user_is_a_404(admin_client_org, other_pharmacist):
    assert admin_client_org.get(reverse("team_edit", args=[other_pharmacist.pk])).status_code == 404


def test_password_reset_works_for_an_account_that_never_chose_a_password(
    client, org, django_capture_on_commit_callbacks
):
    member = factories.make_user(org, Role.STAFF, email="fresh@example.org")
    member.set_unusable_password()
    member.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": "FRESH@example.org"})
    assert len(mail.outbox) == 1 and "reset" in mail.outbox[0].subject.lower()
