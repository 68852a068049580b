"""No 500 from any input: a malformed request is a 400 or 404 with a message.

Several of these only failed on PostgreSQL (which refuses NUL characters in text and integers
past 2^31-1), so the whole file runs on both databases in CI."""

import pytest
from rest_framework.test import APIClient

from tests import factories

NUL = "%00"


@pytest.fixture
def api(pharmacist):
    client = APIClient()
    client.force_authenticate(pharmacist)
    return client


@pytest.fixture
def review(patient, pharmacist):
    from reviews.models import Review

    return Review.objects.create(patient=patient, organisation=patient.organisation, pharmacist=pharmacist)


def no_server_error(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    return response


# --- DRF format suffixes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/patients.json",
        "/api/v1/patients/search.json",
        "/api/v1/patients/{patient}.json",
        "/api/v1/patients/{patient}/screening.json",
        "/api/v1/patients/{patient}/medications.json",
        "/api/v1/patients/{patient}/medications/{medication}/stop.json",
        "/api/v1/reviews/{review}/findings.json",
        "/api/v1/reviews/{review}/assessments.json",
        "/api/v1/reviews/{review}/adherence.json",
        "/api/v1/reviews/{review}/summary.json",
        "/api/v1/recommendations/overdue.json",
        "/api/v1/follow-ups.json",
    ],
)
def test_format_suffixes_are_not_addresses(api, patient, review, path):
    """The API speaks JSON only; `.json` on an address was a second spelling of it that 500ed on
    the custom actions. It is a 404 now, answered in JSON like the rest of the API."""
    medication = factories.make_medication(patient)
    url = path.format(patient=patient.pk, medication=medication.pk, review=review.pk)
    for method in ("get", "post"):
        response = no_server_error(getattr(api, method)(url, {}, format="json"))
        assert response.status_code in (404, 405)
        assert response["Content-Type"] == "application/json"


def test_an_unknown_api_address_is_a_json_404(api):
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "There is nothing at this address."}


# --- version values ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["abc", "1.5", 2**31, 10**20, -1, 0, "", None, [1], {"a": 1}])
def test_a_version_that_is_not_a_version_is_a_400_naming_it(api, patient, version):
    medication = factories.make_medication(patient)
    url = f"/api/v1/patients/{patient.pk}/medications/{medication.pk}/"
    response = no_server_error(api.patch(url, {"version": version, "directions": "1 daily"}, format="json"))
    assert response.status_code == 400
    assert "version" in response.json()
    medication.refresh_from_db()
    assert medication.directions != "1 daily"


@pytest.mark.parametrize("version", ["abc", str(2**31), str(10**30), "-5", "0", NUL])
def test_a_version_in_the_query_string_is_checked_too(api, patient, version):
    prescriber = factories.make_prescriber(patient.organisation)
    from patients.models import CareTeamMember

    member = CareTeamMember.objects.create(patient=patient, prescriber=prescriber, role="Cardiology")
    url = f"/api/v1/patients/{patient.pk}/care-team/{member.pk}/?version={version}"
    response = no_server_error(api.delete(url))
    assert response.status_code == 400
    assert "version" in response.content.decode()
    assert CareTeamMember.objects.filter(pk=member.pk).exists()


# --- NUL characters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/d/{NUL}/",
        f"/d/abc{NUL}def/",
        f"/calendar/{NUL}.ics",
        f"/patients/?q={NUL}",
        f"/patients/?q=smith{NUL}",
        f"/audit/?action={NUL}",
        f"/audit/?user={NUL}",
        f"/audit/?patient={NUL}",
        f"/audit/?since={NUL}&until={NUL}",
        f"/reviews/?status={NUL}",
        f"/follow-ups/?staff={NUL}",
        f"/follow-ups/agenda/?day={NUL}",
        f"/medications/names/?q={NUL}",
        f"/icd10/options/?q={NUL}",
        f"/prescribers/?q={NUL}",
        f"/api/v1/patients/?search={NUL}",
        f"/api/v1/patients/search/?q={NUL}",
        f"/api/v1/prescribers/?search={NUL}",
        f"/account/login/?next={NUL}",
    ],
)
def test_nul_characters_in_an_address_are_a_400(admin_client_org, path):
    response = no_server_error(admin_client_org.get(path))
    assert response.status_code == 400
    assert "cannot contain" in response.content.decode()


def test_nul_characters_in_a_form_are_refused_by_the_form(pharmacist_client, patient):
    """Forms already refuse NUL per field (Django's CharField); the page says which field."""
    response = no_server_error(
        pharmacist_client.post(f"/patients/{patient.pk}/medications/add/", {"name": "lisi\x00nopril"})
    )
    assert response.status_code in (200, 400, 422)
    assert not patient.medications.filter(name__contains="lisi").exists()


def test_nul_characters_in_json_are_refused_naming_the_field(api, patient):
    response = no_server_error(
        api.post(f"/api/v1/patients/{patient.pk}/medications/", {"name": "lisi\x00nopril"}, format="json")
    )
    assert response.status_code == 400
    assert "name" in response.json()


def test_a_nul_in_the_sign_in_form_is_a_message(client, pharmacist):
    response = no_server_error(client.post("/account/login/", {"username": "a\x00b", "password": "x"}))
    assert response.status_code in (200, 400)


# --- Bodies that are not what they say -------------------------------------------------------


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("{", "application/json"),
        ("[" * 5000 + "]" * 5000, "application/json"),
        ('{"name": "' + "x" * 10 + '"', "application/json"),
        ("\xff\xfe", "application/json"),
        ("name=x", "text/plain"),
    ],
)
def test_a_body_that_is_not_json_is_a_400(api, patient, body, content_type):
    response = no_server_error(
        api.generic("POST", f"/api/v1/patients/{patient.pk}/medications/", body, content_type=content_type)
    )
    assert response.status_code in (400, 415)
    assert "detail" in response.json()


# --- Lists are pages, as the schema says -------------------------------------------------------


def test_overdue_recommendations_and_assessments_are_pages(api, review):
    for url in ("/api/v1/recommendations/overdue/", f"/api/v1/reviews/{review.pk}/assessments/"):
        body = api.get(url).json()
        assert set(body) == {"count", "count_capped", "next", "previous", "results"}, url
