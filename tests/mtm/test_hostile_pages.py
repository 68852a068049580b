"""Every page, asked for with query values and form fields nobody would send on purpose, answers
with a page or a clear refusal (400/404/409...), never a 500. The API has its own, generated
version of this (test_api_schema.py); the pages are walked here from the URL configuration, so a
page added later is walked too."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from actionplans.models import IssuedDocument
from followups.models import FollowUp, Reminder
from mtm.models import Export, ExportStatus, User
from patients.models import (
    FhirImport,
    FhirImportPatient,
    ImportStatus,
    MedicationEntry,
    PatientMatch,
    Prescriber,
)
from reviews.models import Problem, Recommendation
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

HOSTILE_VALUES = [
    "",
    "x" * 5000,
    "-1",
    "0",
    "99999999999999999999999",
    "2026-02-31",
    "1e309",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "\uff11\uff12\uff13",  # full-width digits
    "null",
    "' OR 1=1 --",
    "00000000-0000-0000-0000-000000000000",
]
# Every query parameter and form field the pages read themselves (the forms check theirs).
PARAMETERS = [
    "q", "page", "next", "action", "day", "start", "end", "since", "until", "staff", "user", "patient",
    "view", "version", "finding_id", "kind", "name", "edit", "fields", "resolve", "usual", "show_patient",
    "status", "reason", "category", "priority", "audience", "text", "prescriber", "on", "sent_on",
    "response", "response_on", "scheduled_for", "assigned_to", "minutes_spent", "medication",
    "overdue_page", "today_page", "failed_page",
]  # fmt: skip
SKIPPED = {"logout", "healthz"}  # signing out would end the walk; healthz reads no input


def pages(resolver=None, prefix=""):
    """(route, name) of every page outside the API and the Django admin."""
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith(("api/", "admin/")):
                yield from pages(pattern, route)
        elif isinstance(pattern, URLPattern) and pattern.name not in SKIPPED and not route.startswith("api/"):
            yield route, pattern.name


def real_arguments(pharmacist) -> dict[str, str]:
    organisation = pharmacist.organisation
    problem = Problem.objects.filter(review__organisation=organisation).select_related("review").first()
    medication = MedicationEntry.objects.filter(patient=problem.review.patient).first()
    values = {
        "patient_id": problem.review.patient_id,
        "review_id": problem.review_id,
        "problem_id": problem.pk,
        "medication_id": medication.pk,
        "record_id": medication.pk,
        "section_slug": "medications",
        "prescriber_id": Prescriber.objects.filter(organisation=organisation).first().pk,
        "recommendation_id": Recommendation.objects.filter(patient__organisation=organisation).first().pk,
        "document_id": IssuedDocument.objects.filter(patient__organisation=organisation).first().pk,
        "follow_up_id": FollowUp.objects.filter(organisation=organisation).first().pk,
        "user_id": pharmacist.pk,
        "which": "problem",
        "export_id": Export.objects.create(
            organisation=organisation,
            requested_by=pharmacist,
            kind="billing",
            title="Billing",
            parameters={"start": "2026-01-01", "end": "2026-01-31"},
            status=ExportStatus.READY,
        ).pk,
    }
    job = FhirImport.objects.create(
        organisation=organisation, requested_by=pharmacist, source_system="EHR", status=ImportStatus.READY
    )
    values["import_id"] = job.pk
    values["import_patient_id"] = FhirImportPatient.objects.create(
        job=job, key="Patient/1", patient=problem.review.patient, match=PatientMatch.TARGET, name="x"
    ).pk
    reminder = Reminder.objects.filter(follow_up__organisation=organisation).first()
    if reminder is not None:
        values["reminder_id"] = reminder.pk
    return {name: str(value) for name, value in values.items()}


def address(route: str, arguments: dict[str, str]) -> str:
    path = "/" + route
    while "<" in path:
        start, end = path.index("<"), path.index(">")
        name = path[start + 1 : end].split(":")[-1]
        path = path[:start] + arguments.get(name, "x") + path[end + 1 :]
    return path


@pytest.mark.parametrize(
    "username, only",
    [("demo-pharmacist", ""), ("demo-admin", ("team/", "settings/", "audit/"))],  # the admin's own pages
)
def test_no_page_answers_hostile_input_with_a_server_error(demo_data, username, only):
    user = User.objects.get(username=username)
    client = client_for(user)
    client.raise_request_exception = False
    arguments = real_arguments(user)
    server_errors = []
    for route, name in pages():
        if not route.startswith(only):
            continue
        url = address(route, arguments)
        for value in HOSTILE_VALUES:
            fields = dict.fromkeys(PARAMETERS, value)
            for response in (
                client.get(url, fields),
                client.get(url, fields, headers={"HX-Request": "true"}),
                client.post(url, fields, headers={"HX-Request": "true"}),
            ):
                if response.status_code >= 500:
                    server_errors.append(f"{response.request['REQUEST_METHOD']} {name} {value[:30]!r}")
        if not client.session.get("_auth_user_id"):
            client = client_for(user)  # a page signed the user out (password change): go on
    assert not server_errors, "\n".join(server_errors)
