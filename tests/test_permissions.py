"""Each role against each page and endpoint. Another organisation's objects are 404, never 403."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from mtm.permissions import Role
from tests import factories

ROLES = ["anonymous", "patient", "staff", "pharmacist", "org_admin", "other_org"]

# (method, path template, {role: expected status}); {p} is our patient, {m} its medication.
LOGIN = 302
PAGES = [
    (
        "get",
        "/today/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=200),
    ),
    (
        "get",
        "/patients/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=200),
    ),
    (
        "get",
        "/patients/new/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=403, other_org=200),
    ),
    (
        "get",
        "/patients/{p}/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "get",
        "/patients/{p}/details/?edit=1",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/patients/{p}/history/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "get",
        "/patients/{p}/medications/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "get",
        "/patients/{p}/medications/add/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/patients/{p}/medications/{m}/edit/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=403, other_org=404),
    ),
    (
        "post",
        "/patients/{p}/medications/{m}/end/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/patients/{p}/allergies/add/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/patients/{p}/conditions/add/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/patients/{p}/care-team/add/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/patients/{p}/measurements/add/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/patients/{p}/fills/add/",
        dict(anonymous=LOGIN, patient=403, staff=200, pharmacist=200, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/audit/",
        dict(anonymous=LOGIN, patient=403, staff=403, pharmacist=403, org_admin=200, other_org=403),
    ),
    (
        "get",
        "/portal/",
        dict(anonymous=LOGIN, patient=200, staff=403, pharmacist=403, org_admin=403, other_org=403),
    ),
]
API = [
    (
        "get",
        "/api/v1/patients/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=200),
    ),
    (
        "post",
        "/api/v1/patients/",
        dict(anonymous=401, patient=403, staff=400, pharmacist=400, org_admin=403, other_org=400),
    ),
    (
        "get",
        "/api/v1/patients/{p}/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "patch",
        "/api/v1/patients/{p}/",
        dict(anonymous=401, patient=403, staff=400, pharmacist=400, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/api/v1/patients/{p}/medications/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "post",
        "/api/v1/patients/{p}/medications/",
        dict(anonymous=401, patient=403, staff=400, pharmacist=400, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/api/v1/patients/{p}/medications/{m}/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "post",
        "/api/v1/patients/{p}/medications/{m}/stop/",
        dict(anonymous=401, patient=403, staff=400, pharmacist=400, org_admin=403, other_org=404),
    ),
    (
        "get",
        "/api/v1/patients/{p}/allergies/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "get",
        "/api/v1/patients/{p}/conditions/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "get",
        "/api/v1/patients/{p}/measurements/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "get",
        "/api/v1/patients/{p}/fills/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "get",
        "/api/v1/patients/{p}/care-team/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=404),
    ),
    (
        "get",
        "/api/v1/prescribers/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=200),
    ),
    (
        "post",
        "/api/v1/prescribers/",
        dict(anonymous=401, patient=403, staff=400, pharmacist=400, org_admin=403, other_org=400),
    ),
    (
        "get",
        "/api/schema/",
        dict(anonymous=401, patient=403, staff=200, pharmacist=200, org_admin=200, other_org=200),
    ),
]


@pytest.fixture
def world(db):
    org = factories.make_organisation()
    other = factories.make_organisation()
    patient = factories.make_patient(org)
    users = {
        "patient": factories.make_user(org, Role.PATIENT),
        "staff": factories.make_user(org, Role.STAFF),
        "pharmacist": factories.make_user(org, Role.PHARMACIST),
        "org_admin": factories.make_user(org, Role.ORG_ADMIN),
        "other_org": factories.make_user(other, Role.PHARMACIST),
    }
    patient.portal_user = users["patient"]
    patient.save()
    return {
        "patient": patient,
        "medication": factories.make_medication(patient),
        "prescriber": factories.make_prescriber(org),
        "users": users,
    }


def _path(template, world):
    return template.format(
        p=world["patient"].pk,
        m=world["medication"].pk,
        u=world["users"]["staff"].pk,
        r=world["prescriber"].pk,
    )


def _client(client_class, role, world):
    client = client_class()
    if role != "anonymous":
        client.force_login(world["users"][role])
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "template", "expected"), PAGES, ids=[f"{m} {t}" for m, t, _ in PAGES])
def test_pages(world, role, method, template, expected):
    client = _client(Client, role, world)
    if method == "post":  # the inline forms post through htmx
        data = {"stop_date": factories.today().isoformat(), "stop_reason": "test", "version": 1}
        response = client.post(_path(template, world), data, HTTP_HX_REQUEST="true")
    else:
        response = client.get(_path(template, world))
    if expected[role] == LOGIN and method == "post":
        # The page stays, with what was typed, and offers to sign in again (static/js/app.js).
        assert response.status_code == 401 and response.headers["X-MTM-Signed-Out"] == "1"
    else:
        assert response.status_code == expected[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "template", "expected"), API, ids=[f"{m} {t}" for m, t, _ in API])
def test_api(world, role, method, template, expected):
    client = _client(APIClient, role, world)
    response = getattr(client, method)(_path(template, world), {}, format="json")
    assert response.status_code == expected[role]
