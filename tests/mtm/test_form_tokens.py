"""A form sent twice (a double click, the back button, a second tab showing the same page) runs
once: the one-time token each form is rendered with (mtm.submissions)."""

import re

from django.urls import reverse

from mtm.models import FormSubmission, User
from mtm.submissions import submissions_forget_old
from patients.models import Patient


def token_of(page: str) -> str:
    return re.search(r'name="form_token" value="([0-9a-f-]+)"', page)[1]


def test_registering_a_patient_twice_from_one_form_registers_one(pharmacist_client):
    token = token_of(pharmacist_client.get(reverse("patient_create")).content.decode())
    data = {"first_name": "Ruth", "last_name": "Twice", "date_of_birth": "1950-02-03", "sex": "female",
            "preferred_language": "en", "form_token": token}  # fmt: skip
    first = pharmacist_client.post(reverse("patient_create"), data)
    again = pharmacist_client.post(reverse("patient_create"), data)
    patient = Patient.objects.get(last_name="Twice")
    assert first.status_code == again.status_code == 302
    assert first.url == again.url == reverse("patient_detail", args=[patient.pk])


def test_a_refused_form_can_be_corrected_and_sent_with_the_same_token(pharmacist_client):
    token = token_of(pharmacist_client.get(reverse("patient_create")).content.decode())
    data = {"first_name": "Ruth", "last_name": "", "date_of_birth": "1950-02-03", "sex": "female",
            "preferred_language": "en", "form_token": token}  # fmt: skip
    assert pharmacist_client.post(reverse("patient_create"), data).status_code == 422
    assert not FormSubmission.objects.exists()  # the refusal freed the token
    assert (
        pharmacist_client.post(reverse("patient_create"), {**data, "last_name": "Fixed"}).status_code == 302
    )
    assert Patient.objects.filter(last_name="Fixed").count() == 1


def test_adding_a_colleague_twice_adds_one(admin_client_org):
    token = token_of(admin_client_org.get(reverse("team_add")).content.decode())
    data = {"username": "newbie", "first_name": "New", "last_name": "Bie", "email": "newbie@example.org",
            "role": "staff", "form_token": token}  # fmt: skip
    assert admin_client_org.post(reverse("team_add"), data).status_code == 302
    again = admin_client_org.post(reverse("team_add"), data, follow=True)
    assert again.status_code == 200 and "already exists" not in again.content.decode()
    assert User.objects.filter(username="newbie").count() == 1


def test_old_tokens_are_forgotten(pharmacist_client):
    import datetime

    from django.utils import timezone

    FormSubmission.objects.create(token="6f1c1f7e-5a0e-4f57-9d55-3a1f3f0e7a11")
    assert submissions_forget_old(now=timezone.now() + datetime.timedelta(days=3)) == 1
