"""The database connection dropped in the middle of a request: the user gets a clear "try again"
(503), never a 500, and nothing of the change is half-saved."""

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from mtm.models import AuditEvent
from patients.models import Patient
from tests.conftest import client_for


class DropsOnTheSecondWrite:
    """What psycopg raises when the server goes away mid-transaction, on the request's second write."""

    def __init__(self):
        self.writes = 0

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            self.writes += 1
            if self.writes == 2:
                raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


REGISTRATION = {"first_name": "Nell", "last_name": "Gwynn", "date_of_birth": "1950-02-02", "sex": "female",
                "preferred_language": "en"}  # fmt: skip


@pytest.fixture
def staff_browser(staff):
    client = client_for(staff)
    client.raise_request_exception = False  # answer as the server would, not raise in the test
    return client


def test_a_page_request_says_try_again_and_saves_nothing(staff_browser, org):
    audit_before = AuditEvent.objects.count()
    with connection.execute_wrapper(DropsOnTheSecondWrite()):
        response = staff_browser.post(reverse("patient_create"), REGISTRATION)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    page = response.content.decode()
    assert "Please try again in a moment" in page and "nothing was saved from this request" in page
    assert not Patient.objects.filter(last_name="Gwynn").exists()
    assert AuditEvent.objects.count() == audit_before
    # The database back: the same form goes through.
    assert staff_browser.post(reverse("patient_create"), REGISTRATION).status_code == 302
    assert Patient.objects.filter(last_name="Gwynn").count() == 1


def test_the_api_and_the_pages_scripts_get_the_message_as_json(staff_browser, org):
    with connection.execute_wrapper(DropsOnTheSecondWrite()):
        response = staff_browser.post("/api/v1/patients/", REGISTRATION, content_type="application/json")
    assert response.status_code == 503 and "try again" in response.json()["detail"]
    assert not Patient.objects.filter(last_name="Gwynn").exists()


def test_any_other_error_is_still_a_plain_500(staff_browser, monkeypatch):
    monkeypatch.setattr("patients.views.services.patient_create", lambda **kwargs: 1 / 0)
    response = staff_browser.post(reverse("patient_create"), REGISTRATION)
    assert response.status_code == 500 and "Something went wrong" in response.content.decode()
